import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scale } from '../stages/scale.ts';
import { split } from '../stages/split.ts';
import { artifact, consecutiveDates, readJson, readRows, removeProject, runStage, tempProject, writeDailyArrow } from './data-helpers.ts';

let root: string;
const dates = consecutiveDates('2021-12-20', 12);
const prices = [5, 9, 1, 7, 3, 8, 2, 6, 4, 10, 11, 0.5];

beforeAll(async () => {
  root = await tempProject();
  await writeDailyArrow(root, dates, prices);
});
afterAll(() => removeProject(root));

async function splitWith(testDays: number, lookback: number) {
  const pipeline = { split: { test_days: testDays, lookback } };
  await runStage(scale, root, { pipeline });
  await runStage(split, root, { pipeline, params: { test_days: testDays, lookback } });
  const scaled = (await readRows(artifact(root, 'scale', 'scaled.arrow'))).map((r) => r.scaled!);
  return {
    scaled,
    train: await readRows(artifact(root, 'split', 'train.arrow')),
    test: await readRows(artifact(root, 'split', 'test.arrow')),
    report: await readJson(artifact(root, 'split', 'report.json')),
  };
}

const day = (ms: number | null | undefined) => new Date(ms!).toISOString().slice(0, 10);

describe('split makes (previous days -> day) pairs and holds out the last test days', () => {
  it("with lookback 1 equals the notebook's X_train = train[:-1], y_train = train[1:]", async () => {
    const { scaled, train, test, report } = await splitWith(3, 1);
    // The notebook: train = all days but the last 3 (here), scaled by a scaler fitted on them.
    const trainSet = scaled.slice(0, 12 - 3);
    expect(train.map((r) => r.x1)).toEqual(trainSet.slice(0, -1));
    expect(train.map((r) => r.y)).toEqual(trainSet.slice(1));
    expect(train.map((r) => day(r.date))).toEqual(dates.slice(1, 9));
    // Test pairs: the 3 test days as targets, each with the real day before (the first is the last training day).
    expect(test.map((r) => day(r.date))).toEqual(dates.slice(9));
    expect(test.map((r) => r.x1)).toEqual(scaled.slice(8, 11));
    expect(test.map((r) => r.y)).toEqual(scaled.slice(9));
    expect(report).toEqual({
      lookback: 1,
      train_rows: 8,
      test_rows: 3,
      train_from: '2021-12-21',
      train_to: '2021-12-28',
      test_from: '2021-12-29',
      test_to: '2021-12-31',
    });
  });

  it('with lookback 3 puts the oldest day in x1 and the day before in x3', async () => {
    const { scaled, train, test, report } = await splitWith(2, 3);
    expect(Object.keys(train[0]!)).toEqual(['date', 'x1', 'x2', 'x3', 'y']);
    expect(train).toHaveLength(12 - 3 - 2);
    expect(test).toHaveLength(2);
    const all = [...train, ...test];
    all.forEach((pair, k) => {
      const target = k + 3;
      expect(day(pair.date)).toBe(dates[target]);
      expect([pair.x1, pair.x2, pair.x3, pair.y]).toEqual([scaled[target - 3], scaled[target - 2], scaled[target - 1], scaled[target]]);
    });
    expect(report).toMatchObject({ lookback: 3, train_rows: 7, test_rows: 2, train_from: '2021-12-23', test_from: '2021-12-30', test_to: '2021-12-31' });
  });

  it('refuses too few days for test_days + lookback, naming split.test_days', async () => {
    await runStage(scale, root, { pipeline: { split: { test_days: 9, lookback: 3 } } });
    const error = await runStage(split, root, { pipeline: { split: { test_days: 9, lookback: 3 } }, params: { test_days: 9, lookback: 3 } }).catch((e: Error) => e);
    expect((error as Error).message).toBe(
      `split.test_days = 9 with split.lookback = 3 needs at least 13 days, but ${artifact(root, 'scale', 'scaled.arrow')} has 12`,
    );
  });
});
