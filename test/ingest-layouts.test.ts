// Both Kaggle layouts through ingest and aggregate: the daily price against a computation from the CSV
// values done here, float timestamps, Volume 0 minutes, a whole day without trades, and the header
// errors that list both accepted headers.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../stages/aggregate.ts';
import { ingest } from '../stages/ingest.ts';
import { sample } from '../stages/sample.ts';
import { artifact, readJson, readRows, removeProject, runStage, tempProject, utc } from './data-helpers.ts';
import { barLine, csvText, expectedDailyPrice, minuteBars, type LayoutName } from './helpers/minuteFiles.ts';

const LEGACY = 'Timestamp,Open,High,Low,Close,Volume_(BTC),Volume_(Currency),Weighted_Price';
const CURRENT = 'Timestamp,Open,High,Low,Close,Volume';

let root: string;
beforeAll(async () => {
  root = await tempProject();
  await mkdir(join(root, 'data'));
});
afterAll(() => removeProject(root));

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** ingest then aggregate on data/<name> holding `text`; the daily rows and both reports. */
async function pipeline(name: string, text: string, params: { layout?: string; gaps?: string } = {}) {
  const path = join(root, 'data', name);
  await writeFile(path, text);
  await runStage(ingest, root, { params: { source: `data/${name}`, layout: params.layout ?? 'auto' }, inputs: [path] });
  await runStage(aggregate, root, { params: { gaps: params.gaps ?? 'ffill' } });
  return {
    minutes: await readRows(artifact(root, 'ingest', 'minutes.arrow')),
    daily: await readRows(artifact(root, 'aggregate', 'daily.arrow')),
    ingest: await readJson(artifact(root, 'ingest', 'report.json')),
    aggregate: await readJson(artifact(root, 'aggregate', 'report.json')),
  };
}

async function failure(name: string, text: string, layout = 'auto'): Promise<string> {
  const path = join(root, 'data', name);
  await writeFile(path, text);
  const error = await runStage(ingest, root, { params: { source: `data/${name}`, layout }, inputs: [path], publish: false }).then(
    () => new Error('ingest succeeded'),
    (e: unknown) => e as Error,
  );
  return error.message;
}

describe('the current layout (Timestamp,Open,High,Low,Close,Volume)', () => {
  // Written by hand: float timestamps, a Volume 0 minute at the last close on 03-01, all of 03-02
  // without trades, 03-03 trading again.
  const t0 = utc('2024-03-01', 23, 58);
  const day3 = utc('2024-03-03', 0, 0);
  const CSV = `${CURRENT}
${t0}.0,60000,60030,59970,60012,0.5
${t0 + 60}.0,60012,60012,60012,60012,0.0
${utc('2024-03-02', 0, 0)}.0,60012,60012,60012,60012,0
${utc('2024-03-02', 12, 0)}.0,60012,60012,60012,60012,0.0
${day3}.0,60100,60150,60090,60120,2
${day3 + 60},60120,60121,60100,60101,0.25
`;

  it('reads Volume as volume_btc; a trade when Volume > 0, priced at (High + Low + Close) / 3', async () => {
    const { minutes, ingest: report } = await pipeline('current.csv', CSV);
    const typical = (h: number, l: number, c: number) => (h + l + c) / 3;
    const quiet = { open: 60012, high: 60012, low: 60012, close: 60012, volume_btc: 0, volume_usd: 0, weighted_price: null };
    expect(minutes).toEqual([
      { timestamp: t0 * 1000, open: 60000, high: 60030, low: 59970, close: 60012, volume_btc: 0.5, volume_usd: 0.5 * typical(60030, 59970, 60012), weighted_price: typical(60030, 59970, 60012) },
      { timestamp: (t0 + 60) * 1000, ...quiet },
      { timestamp: utc('2024-03-02', 0, 0) * 1000, ...quiet },
      { timestamp: utc('2024-03-02', 12, 0) * 1000, ...quiet },
      { timestamp: day3 * 1000, open: 60100, high: 60150, low: 60090, close: 60120, volume_btc: 2, volume_usd: 2 * typical(60150, 60090, 60120), weighted_price: typical(60150, 60090, 60120) },
      { timestamp: (day3 + 60) * 1000, open: 60120, high: 60121, low: 60100, close: 60101, volume_btc: 0.25, volume_usd: 0.25 * typical(60121, 60100, 60101), weighted_price: typical(60121, 60100, 60101) },
    ]);
    expect(report).toMatchObject({ layout: 'current', mode: 'full', rows_read: 6, rows_kept: 6, nan_rows: 0, days_covered: 3 });
  });

  it('a day without any trade follows aggregate.gaps, like an all-NaN day of the legacy file', async () => {
    const filled = await pipeline('current.csv', CSV, { gaps: 'ffill' });
    expect(filled.daily.map((r) => isoDate(r.date!))).toEqual(['2024-03-01', '2024-03-02', '2024-03-03']);
    expect(filled.daily[1]).toMatchObject({ price: filled.daily[0]!.price, minutes: 0, volume_btc: 0 });
    expect(filled.daily[0]!.price).toBe((60030 + 59970 + 60012) / 3);
    expect(filled.daily[2]!.price).toBe(((60150 + 60090 + 60120) / 3 + (60121 + 60100 + 60101) / 3) / 2);
    expect(filled.aggregate).toMatchObject({ gap_days: ['2024-03-02'], filled_days: ['2024-03-02'], minutes_with_trades: 3 });
    const dropped = await pipeline('current.csv', CSV, { gaps: 'drop' });
    expect(dropped.daily.map((r) => isoDate(r.date!))).toEqual(['2024-03-01', '2024-03-03']);
  });

  it('reads a gzipped current file the same as the plain one', async () => {
    const plain = join(root, 'data', 'zipped.csv');
    await writeFile(plain, CSV);
    execFileSync('gzip', ['-kf', plain]);
    const a = await runStage(ingest, root, { inputs: [plain], publish: false });
    const b = await runStage(ingest, root, { inputs: [`${plain}.gz`], publish: false });
    expect(await readRows(join(b.staging, 'minutes.arrow'))).toEqual(await readRows(join(a.staging, 'minutes.arrow')));
  });

  it('validates the current layout as the legacy one: file, line and column of a bad value', async () => {
    expect(await failure('bad.csv', `${CURRENT}\n${t0}.0,1,2,0.5,1,1\n${t0 + 60}.0,1,2,0.5,1,x\n`)).toBe('data/bad.csv:3: column "Volume": cannot parse "x" as a number');
    expect(await failure('frac.csv', `${CURRENT}\n${t0}.0,1,2,0.5,1,1\n${t0 + 60}.5,1,2,0.5,1,1\n`)).toBe(
      `data/frac.csv:3: column "Timestamp": cannot parse "${t0 + 60}.5" as an integer (unix seconds)`,
    );
    expect(await failure('short.csv', `${CURRENT}\n${t0}.0,1,2,0.5,1\n`)).toBe('data/short.csv:2: expected 6 fields, found 5');
  });
});

describe('both layouts against the daily price computed from the CSV values', () => {
  // Six days across a month's end; 2022-01-31 without any trade; about 10% of the other minutes too.
  const bars = minuteBars({ first: '2022-01-29', days: 6, seed: 3, silent: ['2022-01-31'] });

  for (const layout of ['legacy', 'current'] as LayoutName[]) {
    it(`${layout}: the mean price of each day's traded minutes, a filled silent day`, async () => {
      const { daily, ingest: report, aggregate: aggregated } = await pipeline(`${layout}.csv`, csvText(bars, layout));
      const expected = expectedDailyPrice(bars, layout);
      expect(report).toMatchObject({ layout, rows_kept: bars.length, days_covered: 6 });
      expect(daily.map((r) => isoDate(r.date!))).toEqual(['2022-01-29', '2022-01-30', '2022-01-31', '2022-02-01', '2022-02-02', '2022-02-03']);
      for (const row of daily) {
        const date = isoDate(row.date!);
        const want = expected.get(date) ?? expected.get('2022-01-30')!;
        expect(Math.abs(row.price! - want) / want, date).toBeLessThan(1e-12);
        expect(row.minutes, date).toBe(bars.filter((b) => b.traded && isoDate(b.t * 1000) === date).length);
      }
      expect(aggregated).toMatchObject({ filled_days: ['2022-01-31'], minutes_with_trades: bars.filter((b) => b.traded).length });
    });
  }

  it('the auto layout takes each file by its header; an explicit layout must match it', async () => {
    const current = csvText(bars.slice(0, 3), 'current');
    expect((await pipeline('auto.csv', current, { layout: 'current' })).ingest).toMatchObject({ layout: 'current' });
    expect(await failure('explicit.csv', current, 'legacy')).toBe(
      `data/explicit.csv:1: wrong columns (ingest.layout is legacy: missing "Volume_(BTC)", "Volume_(Currency)", "Weighted_Price"; unexpected "Volume"): ` +
        `expected ${LEGACY} (legacy), found ${CURRENT}; that is the current layout: set ingest.layout to current or auto`,
    );
  });

  it('any other header is the located "wrong columns" error listing both accepted headers', async () => {
    const both = `${LEGACY} (legacy) or ${CURRENT} (current)`;
    const row = barLine(bars[0]!, 'current');
    expect(await failure('five.csv', `Timestamp,Open,High,Low,Close\n${row}\n`)).toBe(
      `data/five.csv:1: wrong columns (closest to the current layout: missing "Volume"): expected ${both}, found Timestamp,Open,High,Low,Close`,
    );
    expect(await failure('lower.csv', `timestamp,open,high,low,close,volume\n${row}\n`)).toContain(`: expected ${both}, found timestamp,open,high,low,close,volume`);
  });
});

describe('the sample in either layout', () => {
  it('is the same minutes written both ways, and aggregates to the price computed from its own CSV', async () => {
    const csv: Record<string, string> = {};
    for (const layout of ['legacy', 'current'] as LayoutName[]) {
      await runStage(sample, root, { params: { days: 3, layout }, inputs: [join(process.cwd(), 'data', 'btc-usd-daily.csv')] });
      csv[layout] = await (await import('node:fs/promises')).readFile(artifact(root, 'sample', 'minutes.csv'), 'utf8');
    }
    const legacy = csv.legacy!.trim().split('\n');
    const current = csv.current!.trim().split('\n');
    expect(current[0]).toBe(CURRENT);
    expect(current).toHaveLength(legacy.length);
    let lastClose = '';
    for (let i = 1; i < legacy.length; i++) {
      const l = legacy[i]!.split(',');
      const c = current[i]!.split(',');
      expect(c[0]).toBe(`${l[0]}.0`);
      if (l[1] === 'NaN') {
        // No trade: Volume 0 at the last close.
        expect(c.slice(1)).toEqual([lastClose, lastClose, lastClose, lastClose, '0.0']);
      } else {
        expect(c.slice(1)).toEqual(l.slice(1, 6));
        lastClose = l[4]!;
      }
    }
    // The daily price from the current file's own values, computed here.
    const sums = new Map<string, [number, number]>();
    for (const line of current.slice(1)) {
      const [t, , h, l, c, v] = line.split(',').map(Number) as [number, number, number, number, number, number];
      if (!(v > 0)) continue;
      const date = isoDate(t * 1000);
      const [sum, count] = sums.get(date) ?? [0, 0];
      sums.set(date, [sum + (h + l + c) / 3, count + 1]);
    }
    await runStage(ingest, root, { inputs: [artifact(root, 'sample', 'minutes.csv')] });
    await runStage(aggregate, root, { params: { gaps: 'ffill' } });
    const daily = await readRows(artifact(root, 'aggregate', 'daily.arrow'));
    expect(daily.map((r) => isoDate(r.date!))).toEqual([...sums.keys()]);
    for (const row of daily) {
      const [sum, count] = sums.get(isoDate(row.date!))!;
      expect(Math.abs(row.price! - sum / count) / (sum / count)).toBeLessThan(1e-12);
    }
  });
});
