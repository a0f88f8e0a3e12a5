import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../stages/aggregate.ts';
import { ingest } from '../stages/ingest.ts';
import { scale } from '../stages/scale.ts';
import { artifact, consecutiveDates, readJson, readRows, removeProject, runStage, tempProject, utc, writeDailyArrow } from './data-helpers.ts';

const HEADER = 'Timestamp,Open,High,Low,Close,Volume_(BTC),Volume_(Currency),Weighted_Price';
const t0 = utc('2020-05-01', 10);
const all = (text: string) => Array.from({ length: 7 }, () => text).join(',');

let root: string;
beforeAll(async () => {
  root = await tempProject();
  await mkdir(join(root, 'data'));
});
afterAll(() => removeProject(root));

describe('NaN in any spelling is a missing value, never a trade; infinities are dropped', () => {
  it('reads -nan, NAN and " NaN" as missing, counts all-missing rows as NaN rows and drops inf rows', async () => {
    const lines = [
      `${t0},100,101,99,100,1,100,100`,
      `${t0 + 60},${all('-nan')}`,
      `${t0 + 120},${all('NAN')}`,
      `${t0 + 180},${all(' NaN')}`,
      `${t0 + 240},90,91,89,90,2,180,-nan`, // a bar whose Weighted_Price is missing: no trade for the price
      `${t0 + 300},200,201,199,200,1,200,200`,
      `${t0 + 360},200,201,199,200,inf,200,200`,
      `${t0 + 420},200,201,199,200,1,200,-inf`,
      `${t0 + 480},200,Infinity,199,200,1,200,200`,
      `${t0 + 540},NAN,NAN,NAN,NAN,NAN,NAN,300`,
    ];
    const csv = join(root, 'data', 'nan.csv');
    await writeFile(csv, `${HEADER}\n${lines.join('\n')}\n`);
    await runStage(ingest, root, { inputs: [csv] });

    // By hand, as pandas reads a float column (NaN = missing, skipped by mean()), with the three rows
    // holding an infinity dropped: 7 rows kept, 3 of them with no value at all.
    const report = await readJson(artifact(root, 'ingest', 'report.json'));
    expect(report).toMatchObject({ rows_read: 10, rows_kept: 7, nan_rows: 3, duplicates: 0, dropped: { high_below_low: 0, non_positive_price: 0, non_finite: 3 } });
    const rows = await readRows(artifact(root, 'ingest', 'minutes.arrow'));
    expect(rows.map((r) => (r.timestamp! / 1000 - t0) / 60)).toEqual([0, 1, 2, 3, 4, 5, 9]);
    expect(rows.map((r) => r.weighted_price)).toEqual([100, null, null, null, null, 200, 300]);
    expect(rows.map((r) => r.open)).toEqual([100, null, null, null, 90, 200, null]);
    expect(rows.map((r) => r.volume_btc)).toEqual([1, null, null, null, 2, 1, null]);

    // The day's price is the mean of the present Weighted_Price values: (100 + 200 + 300) / 3.
    await runStage(aggregate, root);
    const [day] = await readRows(artifact(root, 'aggregate', 'daily.arrow'));
    expect(day).toMatchObject({ price: 200, minutes: 3, open: 100, close: 200, volume_btc: 4 });
  });

  it('stops a non-finite daily price at the next stage with the file and column', async () => {
    const dates = consecutiveDates('2022-01-01', 6);
    await writeDailyArrow(root, dates, [10, 20, NaN, 40, Infinity, 60]);
    const error = await runStage(scale, root, { pipeline: { split: { test_days: 1, lookback: 1 } } }).then(
      () => new Error('scale succeeded'),
      (e: unknown) => e as Error,
    );
    expect(error.message).toBe(
      `${artifact(root, 'aggregate', 'daily.arrow')}: column "price" has 2 non-finite values (the first, at row 3 of 6, is NaN); expected finite numbers`,
    );
  });
});
