import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../stages/ingest.ts';
import { artifact, readJson, readRows, removeProject, runStage, tempProject, utc, writeMinutesCsv } from './data-helpers.ts';

let root: string;
beforeAll(async () => {
  root = await tempProject();
  await mkdir(join(root, 'data'));
});
afterAll(() => removeProject(root));

const t0 = utc('2020-03-01', 23, 58);

// Written by hand: a trade, a NaN minute, an empty-field minute (also no trade), then a trade after midnight.
const CSV = `Timestamp,Open,High,Low,Close,Volume_(BTC),Volume_(Currency),Weighted_Price
${t0},8500.5,8510,8490.25,8505,1.5,12750.75,8500.5
${t0 + 60},NaN,NaN,NaN,NaN,NaN,NaN,NaN
${t0 + 120},,,,,,,
${t0 + 180},8600,8601,8599,8600.5,0.25,2150.1,8600.4
`;

describe('ingest reads the Kaggle CSV into minutes.arrow', () => {
  it('keeps every value, turns NaN and empty fields into nulls, and stores UTC unix seconds', async () => {
    const path = join(root, 'data', 'minutes.csv');
    await writeFile(path, CSV);
    await runStage(ingest, root, { params: { source: 'data/minutes.csv' }, inputs: [path] });

    // One Arrow file per UTC month: these four minutes are all in March 2020.
    expect(await readdir(artifact(root, 'ingest', 'minutes.arrow'))).toEqual(['2020-03.arrow']);
    const table = tableFromIPC(await readFile(artifact(root, 'ingest', 'minutes.arrow/2020-03.arrow')));
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'timestamp:Timestamp<SECOND, UTC>',
      'open:Float64',
      'high:Float64',
      'low:Float64',
      'close:Float64',
      'volume_btc:Float64',
      'volume_usd:Float64',
      'weighted_price:Float64',
    ]);
    const none = { open: null, high: null, low: null, close: null, volume_btc: null, volume_usd: null, weighted_price: null };
    expect(await readRows(artifact(root, 'ingest', 'minutes.arrow'))).toEqual([
      { timestamp: Date.UTC(2020, 2, 1, 23, 58), open: 8500.5, high: 8510, low: 8490.25, close: 8505, volume_btc: 1.5, volume_usd: 12750.75, weighted_price: 8500.5 },
      { timestamp: Date.UTC(2020, 2, 1, 23, 59), ...none },
      { timestamp: Date.UTC(2020, 2, 2, 0, 0), ...none },
      { timestamp: Date.UTC(2020, 2, 2, 0, 1), open: 8600, high: 8601, low: 8599, close: 8600.5, volume_btc: 0.25, volume_usd: 2150.1, weighted_price: 8600.4 },
    ]);

    expect(await readJson(artifact(root, 'ingest', 'report.json'))).toEqual({
      source: 'data/minutes.csv',
      layout: 'legacy',
      mode: 'full',
      reused_rows: 0,
      rows_read: 4,
      rows_kept: 4,
      nan_rows: 2,
      duplicates: 0,
      dropped: { high_below_low: 0, non_positive_price: 0, non_finite: 0 },
      out_of_order: false,
      first_timestamp: '2020-03-01T23:58:00.000Z',
      last_timestamp: '2020-03-02T00:01:00.000Z',
      first_unix: t0,
      last_unix: t0 + 180,
      days_covered: 2,
    });
  });

  it('reads a gzipped CSV the same as the plain one', async () => {
    const plain = join(root, 'data', 'plain.csv');
    await writeMinutesCsv(plain, [
      { t: t0, wp: 100, open: 99, high: 101, low: 98, close: 100.5, btc: 2 },
      { t: t0 + 60 },
      { t: t0 + 120, wp: 102 },
    ]);
    execFileSync('gzip', ['-k', plain]);
    const a = await runStage(ingest, root, { inputs: [plain], publish: false });
    const b = await runStage(ingest, root, { inputs: [`${plain}.gz`], publish: false });
    const rows = await readRows(join(a.staging, 'minutes.arrow'));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({ open: 99, high: 101, low: 98, close: 100.5, volume_btc: 2, volume_usd: 200, weighted_price: 100 });
    expect(await readRows(join(b.staging, 'minutes.arrow'))).toEqual(rows);
  });

  it('writes record batches of at most 64K rows on a large input', async () => {
    const big = join(root, 'data', 'big.csv');
    // Every 20 s from 2020-03-02: 70,000 rows in one month, so one file holds them all.
    const start = utc('2020-03-02');
    const minutes = Array.from({ length: 70_000 }, (_, i) => (i % 3 === 1 ? { t: start + 20 * i } : { t: start + 20 * i, wp: 1000 + (i % 17) }));
    await writeMinutesCsv(big, minutes);
    const run = await runStage(ingest, root, { inputs: [big], publish: false });
    expect(await readdir(join(run.staging, 'minutes.arrow'))).toEqual(['2020-03.arrow']);
    const table = tableFromIPC(await readFile(join(run.staging, 'minutes.arrow/2020-03.arrow')));
    expect(table.numRows).toBe(70_000);
    expect(table.batches.map((b) => b.numRows)).toEqual([65_536, 70_000 - 65_536]);
    const wp = table.getChild('weighted_price')!;
    expect(wp.nullCount).toBe(minutes.filter((m) => m.wp === undefined).length);
    expect(wp.get(69_999)).toBe(1000 + (69_999 % 17));
    expect(wp.get(65_536)).toBe(null); // 65536 % 3 == 1: the second batch starts with a null
    expect(wp.get(65_537)).toBe(1000 + (65_537 % 17));
    expect(Number(table.getChild('timestamp')!.get(69_999))).toBe((start + 20 * 69_999) * 1000);

    // The same input gives byte-identical files (outputs are compared by hash downstream).
    const again = await runStage(ingest, root, { inputs: [big], publish: false });
    const [a, b] = [await readFile(join(run.staging, 'minutes.arrow/2020-03.arrow')), await readFile(join(again.staging, 'minutes.arrow/2020-03.arrow'))];
    expect(a.equals(b)).toBe(true);
  });
});
