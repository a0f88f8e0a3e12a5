import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { trainAndEvaluate, type Fixture } from './model-helpers.ts';

let fixture: Fixture;
let dir: string;
let info: string[];

beforeAll(async () => {
  const result = await trainAndEvaluate({ count: 38, testDays: 8 });
  ({ fixture, dir } = result);
  info = result.evaluated.info;
});
afterAll(() => fixture.cleanup());

it('metrics.json scores model and persistence on the same days, as recomputed here', async () => {
  const metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8'));
  const table = tableFromIPC(await readFile(join(dir, 'predictions.arrow')));
  const predicted = Array.from({ length: table.numRows }, (_, i) => table.getChild('predicted')!.get(i) as number);
  const real = fixture.testTargets.map((t) => fixture.prices[t]!);
  const previous = fixture.testTargets.map((t) => fixture.prices[t - 1]!);
  const n = real.length;
  const mean = (f: (i: number) => number) => real.reduce((s, _, i) => s + f(i), 0) / n;

  const rmse = Math.sqrt(mean((i) => (predicted[i]! - real[i]!) ** 2));
  expect(metrics.model.rmse).toBeCloseTo(rmse, 9);
  expect(metrics.model.mae).toBeCloseTo(mean((i) => Math.abs(predicted[i]! - real[i]!)), 9);
  expect(metrics.model.mape).toBeCloseTo(100 * mean((i) => Math.abs(predicted[i]! - real[i]!) / real[i]!), 9);
  expect(metrics.model.directional_accuracy).toBeCloseTo(
    mean((i) => (predicted[i]! > previous[i]! === real[i]! > previous[i]! ? 1 : 0)),
    12,
  );

  const persistenceRmse = Math.sqrt(mean((i) => (previous[i]! - real[i]!) ** 2));
  expect(metrics.persistence.rmse).toBeCloseTo(persistenceRmse, 9);
  expect(metrics.persistence.mae).toBeCloseTo(mean((i) => Math.abs(previous[i]! - real[i]!)), 9);
  expect(metrics.persistence.mape).toBeCloseTo(100 * mean((i) => Math.abs(previous[i]! - real[i]!) / real[i]!), 9);
  // "Tomorrow = today" forecasts no direction; the naive direction baseline is "always up".
  expect(metrics.persistence).toHaveProperty('directional_accuracy', null);
  expect(metrics.up_days_share).toBe(real.filter((r, i) => r > previous[i]!).length / n);
  // The test days' synthetic prices rise on 4 of the 8 days (day indices 32, 34, 35 and 37).
  expect(metrics.up_days_share).toBe(0.5);
  expect(metrics.units.up_days_share).toBe('share of days, 0..1');
  expect(metrics.notes.up_days_share).toContain('always forecasting "up"');
  expect(metrics.rmse_ratio).toBeCloseTo(rmse / persistenceRmse, 9);
  expect(metrics.beats_persistence).toBe(rmse < persistenceRmse);
  expect(metrics.days).toBe(8);
  expect(metrics.from).toBe('2020-01-31');
  expect(metrics.to).toBe('2020-02-07');
  expect(metrics.units.mape).toBe('percent');
});

it('the log line says whether the model beats persistence', () => {
  expect(info).toHaveLength(2);
  expect(info[0]).toMatch(/^8 test days: model RMSE [\d.]+ USD, persistence [\d.]+ USD, ratio [\d.]+/);
  // train.spread_seeds defaults to 20: the model and 20 more seeds.
  expect(info[1]).toMatch(/^over 21 seeds of this config: ratio median /);
});
