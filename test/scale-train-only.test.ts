import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scale } from '../stages/scale.ts';
import { artifact, consecutiveDates, readJson, readRows, removeProject, runStage, tempProject, writeDailyArrow } from './data-helpers.ts';

let root: string;
beforeAll(async () => {
  root = await tempProject();
});
afterAll(() => removeProject(root));

describe('scale fits min-max on the training days only', () => {
  it('never sees the test days: an extreme test price does not move min or max', async () => {
    // 10 days; with test_days = 3 the scaler is fitted on the first 7. Day 9 is far above and day 10
    // far below everything before.
    const dates = consecutiveDates('2022-01-01', 10);
    const prices = [200, 180, 250, 240, 190.5, 260, 230, 1_000_000, 0.001, 215];
    await writeDailyArrow(root, dates, prices);
    await runStage(scale, root, { pipeline: { split: { test_days: 3, lookback: 1 } } });

    const scaler = await readJson(artifact(root, 'scale', 'scaler.json'));
    expect(scaler).toMatchObject({ min: 180, max: 260, fit_from: '2022-01-01', fit_to: '2022-01-07', days_fitted: 7 });

    // sklearn's MinMaxScaler, re-derived: scale_ = 1 / (max - min); min_ = -min * scale_; X * scale_ + min_.
    const scale_ = 1 / (260 - 180);
    const min_ = 0 - 180 * scale_;
    const rows = await readRows(artifact(root, 'scale', 'scaled.arrow'));
    expect(rows.map((r) => new Date(r.date!).toISOString().slice(0, 10))).toEqual(dates);
    expect(rows.map((r) => r.price)).toEqual(prices);
    rows.forEach((row, i) => {
      expect(row.scaled).toBe(prices[i]! * scale_ + min_);
      expect(Math.abs(row.scaled! - (prices[i]! - 180) / 80)).toBeLessThan(1e-12);
    });
    // Training days land in [0, 1]; the test days may leave it (that is the point of not peeking).
    expect(rows.slice(0, 7).every((r) => r.scaled! >= 0 && r.scaled! <= 1)).toBe(true);
    expect(rows[7]!.scaled).toBeGreaterThan(1000);
    expect(rows[8]!.scaled).toBeLessThan(0);
  });

  it('follows split.test_days from the pipeline parameters', async () => {
    await writeDailyArrow(root, consecutiveDates('2022-01-01', 5), [10, 20, 30, 40, 50]);
    await runStage(scale, root, { pipeline: { split: { test_days: 1, lookback: 1 } } });
    expect(await readJson(artifact(root, 'scale', 'scaler.json'))).toMatchObject({ min: 10, max: 40, fit_to: '2022-01-04', days_fitted: 4 });
  });

  it('refuses when test_days leaves fewer than two days to fit', async () => {
    await writeDailyArrow(root, consecutiveDates('2022-01-01', 31), Array.from({ length: 31 }, (_, i) => 100 + i));
    const error = await runStage(scale, root, { pipeline: { split: { test_days: 30, lookback: 1 } } }).catch((e: Error) => e);
    expect((error as Error).message).toBe(
      `split.test_days = 30 leaves 1 of the 31 days in ${artifact(root, 'aggregate', 'daily.arrow')} to fit the scaler; at least 2 are needed (lower split.test_days or use more days)`,
    );
  });
});
