import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../pipeline/runner/config.ts';
import { sample } from '../stages/sample.ts';
import { artifact, removeProject, runStage, tempProject } from './data-helpers.ts';

// A hand-written daily file: three days of late 2014 (sparse trading) and three of 2022 (dense), with a
// day whose Open is its High and one whose Close is its Low (the path must still stay inside).
const DAILY = `Date,Open,High,Low,Close,Adj Close,Volume
2014-09-17,465.864014,468.174011,452.421997,457.334015,457.334015,21056800
2014-09-18,456.859985,456.859985,413.104004,424.440002,424.440002,34483200
2014-09-19,424.102997,427.834991,384.532013,394.795990,394.795990,37919700
2022-02-27,39098.699219,39778.941406,37268.976563,37709.785156,37709.785156,23450127612
2022-02-28,37706.000000,43760.457031,37518.214844,43193.234375,43193.234375,35690014104
2022-03-01,43194.503906,44793.601563,43112.871094,44354.636719,44354.636719,32479047645`;

interface Day {
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
}

const days: Day[] = DAILY.split('\n')
  .slice(1)
  .map((line) => {
    const [date, open, high, low, close] = line.split(',');
    return { date: date!, open: Number(open), high: Number(high), low: Number(low), close: Number(close) };
  });

const HEADER = 'Timestamp,Open,High,Low,Close,Volume_(BTC),Volume_(Currency),Weighted_Price';

let root: string;
let daily: string;

async function sampleCsv(params: Record<string, unknown>): Promise<string> {
  const run = await runStage(sample, root, { params, inputs: [daily], publish: false });
  return readFile(join(run.staging, 'minutes.csv'), 'utf8');
}

beforeAll(async () => {
  root = await tempProject();
  daily = join(root, 'daily.csv');
  await writeFile(daily, DAILY);
});
afterAll(() => removeProject(root));

describe('sample synthesizes Kaggle-schema minutes around the real days', () => {
  let lines: string[];
  beforeAll(async () => {
    await runStage(sample, root, { params: { seed: 7 }, inputs: [daily] });
    lines = (await readFile(artifact(root, 'sample', 'minutes.csv'), 'utf8')).trimEnd().split('\n');
  });

  it('writes the exact Kaggle header and 1440 rows per day, one per minute, in unix seconds', () => {
    expect(lines[0]).toBe(HEADER);
    expect(lines.length - 1).toBe(days.length * 1440);
    days.forEach((day, d) => {
      const midnight = Date.UTC(Number(day.date.slice(0, 4)), Number(day.date.slice(5, 7)) - 1, Number(day.date.slice(8, 10))) / 1000;
      for (let m = 0; m < 1440; m++) {
        expect(lines[1 + d * 1440 + m]!.split(',')[0]).toBe(String(midnight + 60 * m));
      }
    });
  });

  it('opens each day at its real Open, closes at its real Close and stays within Low..High', () => {
    days.forEach((day, d) => {
      const rows = lines.slice(1 + d * 1440, 1 + (d + 1) * 1440).map((line) => line.split(','));
      expect(rows[0]![1], `${day.date} first Open`).not.toBe('NaN');
      expect(rows[1439]![4], `${day.date} last Close`).not.toBe('NaN');
      expect(Number(rows[0]![1])).toBe(day.open);
      expect(Number(rows[1439]![4])).toBe(day.close);
      // Violations are collected (one expect per day): thousands of expect calls would dominate the run.
      const wrong: string[] = [];
      for (const row of rows) {
        if (row[1] === 'NaN') {
          if (row.slice(1).some((field) => field !== 'NaN')) wrong.push(`partly NaN: ${row.join(',')}`);
          continue;
        }
        const [open, high, low, close, btc, usd, weighted] = row.slice(1).map(Number) as [number, number, number, number, number, number, number];
        if ([open, high, low, close, weighted].some((price) => !(price >= day.low && price <= day.high))) wrong.push(`outside Low..High: ${row.join(',')}`);
        if (low > Math.min(open, close, weighted) || high < Math.max(open, close, weighted)) wrong.push(`inconsistent bar: ${row.join(',')}`);
        if (!(btc > 0)) wrong.push(`no volume: ${row.join(',')}`);
        if (Math.abs(usd - btc * weighted) > 0.005 + 1e-9 * usd) wrong.push(`currency volume != btc * price: ${row.join(',')}`);
      }
      expect(wrong, day.date).toEqual([]);
    });
  });

  it('has many minutes without trades in 2014 and few in 2022', () => {
    const share = (from: number) => {
      const rows = lines.slice(1 + from * 1440, 1 + (from + 3) * 1440);
      return rows.filter((line) => line.endsWith(',NaN')).length / rows.length;
    };
    expect(share(0)).toBeGreaterThan(0.25);
    expect(share(0)).toBeLessThan(0.5);
    expect(share(3)).toBeGreaterThan(0);
    expect(share(3)).toBeLessThan(0.06);
  });
});

describe('sample is deterministic', () => {
  it('gives the same bytes for the same seed and different data for another seed', async () => {
    const first = await sampleCsv({ seed: 3, days: 2 });
    const again = await sampleCsv({ seed: 3, days: 2 });
    const other = await sampleCsv({ seed: 4, days: 2 });
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect(other.split('\n').length).toBe(first.split('\n').length);
  });

  it('keeps the last N days with `days`, identical to the same days of a longer run', async () => {
    const two = (await sampleCsv({ seed: 3, days: 2 })).trimEnd().split('\n');
    const four = (await sampleCsv({ seed: 3, days: 4 })).trimEnd().split('\n');
    expect(two.length - 1).toBe(2 * 1440);
    expect(two[1]!.split(',')[0]).toBe(String(Date.UTC(2022, 1, 28) / 1000));
    expect(two.slice(1)).toEqual(four.slice(1 + 2 * 1440));
  });

  it('takes seeds that fit the 32-bit generator and refuses larger ones rather than repeating their data', async () => {
    // 2^32 + 3 would wrap round to seed 3: the same minutes under another name.
    expect(await sampleCsv({ seed: 0xffffffff, days: 1 })).not.toBe(await sampleCsv({ seed: 3, days: 1 }));
    const error = (() => {
      try {
        parseConfig('pipeline.yaml', 'stages:\n  sample: { seed: 4294967299 }\n', [sample]);
      } catch (e) {
        return e as Error;
      }
      return new Error('accepted');
    })();
    expect(error.message).toBe('pipeline.yaml:2:13: sample.seed must be an integer from 0 to 4294967295, got 4294967299');
  });
});
