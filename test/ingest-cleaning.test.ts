import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../stages/ingest.ts';
import { readJson, readRows, removeProject, runStage, tempProject, utc } from './data-helpers.ts';

const HEADER = 'Timestamp,Open,High,Low,Close,Volume_(BTC),Volume_(Currency),Weighted_Price';
const t0 = utc('2019-12-31', 23, 59);

let root: string;
beforeAll(async () => {
  root = await tempProject();
  await mkdir(join(root, 'data'));
});
afterAll(() => removeProject(root));

async function ingestLines(name: string, lines: string[]) {
  const path = join(root, 'data', name);
  await writeFile(path, `${HEADER}\n${lines.join('\n')}\n`);
  const run = await runStage(ingest, root, { inputs: [path], publish: false });
  return {
    rows: await readRows(join(run.staging, 'minutes.arrow')),
    report: await readJson(join(run.staging, 'report.json')),
  };
}

describe('ingest cleans what it can and counts it', () => {
  it('drops rows with High < Low or a non-positive price and counts each reason', async () => {
    const { rows, report } = await ingestLines('bad-prices.csv', [
      `${t0},10,11,9,10,1,10,10`,
      `${t0 + 60},10,9,11,10,1,10,10`, // High < Low
      `${t0 + 120},0,11,9,10,1,10,10`, // Open 0
      `${t0 + 180},10,11,9,10,1,10,-3`, // negative Weighted_Price
      `${t0 + 240},10,11,9,10,1,10,10`,
    ]);
    expect(rows.map((r) => r.timestamp)).toEqual([t0 * 1000, (t0 + 240) * 1000]);
    expect(report).toMatchObject({ rows_read: 5, rows_kept: 2, dropped: { high_below_low: 1, non_positive_price: 2, non_finite: 0 }, duplicates: 0, out_of_order: false });
  });

  it('sorts rows that are out of order', async () => {
    const { rows, report } = await ingestLines('unsorted.csv', [
      `${t0 + 120},12,12,12,12,1,12,12`,
      `${t0},10,10,10,10,1,10,10`,
      `${t0 + 60},11,11,11,11,1,11,11`,
    ]);
    expect(rows.map((r) => [r.timestamp, r.close])).toEqual([
      [t0 * 1000, 10],
      [(t0 + 60) * 1000, 11],
      [(t0 + 120) * 1000, 12],
    ]);
    expect(report).toMatchObject({ rows_read: 3, rows_kept: 3, duplicates: 0, out_of_order: true, days_covered: 2 });
  });

  it('keeps one row per duplicate timestamp, preferring the one with a trade, and counts the rest', async () => {
    const { rows, report } = await ingestLines('duplicates.csv', [
      `${t0},10,10,10,10,1,10,10`,
      `${t0 + 60},NaN,NaN,NaN,NaN,NaN,NaN,NaN`,
      `${t0 + 60},11,11,11,11,1,11,11`,
      `${t0},10,10,10,10,1,10,10`,
      `${t0 + 120},12,12,12,12,1,12,12`,
    ]);
    expect(rows.map((r) => [r.timestamp, r.weighted_price])).toEqual([
      [t0 * 1000, 10],
      [(t0 + 60) * 1000, 11],
      [(t0 + 120) * 1000, 12],
    ]);
    expect(report).toMatchObject({ rows_read: 5, rows_kept: 3, duplicates: 2, nan_rows: 0, out_of_order: true });
  });

  it('does not call a file out of order when it only repeats timestamps', async () => {
    const { rows, report } = await ingestLines('repeats.csv', [
      `${t0},10,10,10,10,1,10,10`,
      `${t0 + 60},11,11,11,11,1,11,11`,
      `${t0 + 60},11,11,11,11,1,11,11`,
      `${t0 + 120},12,12,12,12,1,12,12`,
    ]);
    expect(rows.map((r) => r.timestamp)).toEqual([t0 * 1000, (t0 + 60) * 1000, (t0 + 120) * 1000]);
    expect(report).toMatchObject({ rows_read: 4, rows_kept: 3, duplicates: 1, out_of_order: false });
  });

  it('calls a file out of order when a timestamp goes backwards after a repeated one', async () => {
    const { report } = await ingestLines('repeat-then-back.csv', [
      `${t0},10,10,10,10,1,10,10`,
      `${t0},10,10,10,10,1,10,10`,
      `${t0 + 120},12,12,12,12,1,12,12`,
      `${t0 + 60},11,11,11,11,1,11,11`,
    ]);
    expect(report).toMatchObject({ rows_read: 4, rows_kept: 3, duplicates: 1, out_of_order: true });
  });

  it('gives the same minutes whatever the row order', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => (i % 4 === 2 ? `${t0 + 60 * i},NaN,NaN,NaN,NaN,NaN,NaN,NaN` : `${t0 + 60 * i},${i},${i + 1},${i},${i},1,${i},${i + 0.5}`));
    // A fixed permutation (i * 17 mod 50 visits every row once since gcd(17, 50) = 1).
    const shuffled = lines.map((_, i) => lines[(i * 17) % 50]!);
    const sorted = await ingestLines('sorted.csv', lines);
    const mixed = await ingestLines('shuffled.csv', shuffled);
    expect(mixed.rows).toEqual(sorted.rows);
    expect(sorted.report.out_of_order).toBe(false);
    expect(mixed.report.out_of_order).toBe(true);
    expect({ ...mixed.report, out_of_order: false, source: '' }).toEqual({ ...sorted.report, source: '' });
  });
});
