import { expect, it } from 'vitest';
import { forecastMetrics, persistenceMetrics, upDaysShare } from '../stages/lib/evaluation/metrics.ts';

// Four days, worked by hand:
//   previous  real  forecast  error  |error|/real      direction (forecast vs real)
//   100       110   105       -5     5/110             up / up     -> same
//   110       99    108       9      9/99              down / down -> same
//   99        99    101       2      2/99              up / flat   -> differs
//   99        120   95        -25    25/120            down / up   -> differs
// rmse = sqrt((25 + 81 + 4 + 625) / 4) = sqrt(183.75); mae = 41 / 4 = 10.25
// mape = 100 * (5/110 + 9/99 + 2/99 + 25/120) / 4
// up days (real > previous): 110 > 100 and 120 > 99, not 99 < 110 nor 99 = 99 -> 2 / 4
const previous = [100, 110, 99, 99];
const real = [110, 99, 99, 120];
const forecast = [105, 108, 101, 95];

it('forecast metrics match a hand calculation', () => {
  const m = forecastMetrics(real, forecast, previous);
  expect(m.rmse).toBeCloseTo(Math.sqrt(183.75), 12);
  expect(m.mae).toBeCloseTo(10.25, 12);
  expect(m.mape).toBeCloseTo((100 * (5 / 110 + 9 / 99 + 2 / 99 + 25 / 120)) / 4, 12);
  expect(m.directional_accuracy).toBe(0.5);
});

it('persistence has errors but no directional accuracy: it forecasts no direction', () => {
  const m = persistenceMetrics(real, previous);
  expect(m.directional_accuracy).toBeNull();
  expect(m.rmse).toBeCloseTo(Math.sqrt((100 + 121 + 0 + 441) / 4), 12);
  expect(m.mae).toBeCloseTo((10 + 11 + 0 + 21) / 4, 12);
  expect(m.mape).toBeCloseTo((100 * (10 / 110 + 11 / 99 + 0 + 21 / 120)) / 4, 12);
});

it('the up-days share is the directional accuracy of always forecasting "up"', () => {
  expect(upDaysShare(real, previous)).toBe(0.5);
  // Forecasting "up" by 1 every day scores exactly that share: a flat day counts for neither.
  const alwaysUp = previous.map((p) => p + 1);
  expect(forecastMetrics(real, alwaysUp, previous).directional_accuracy).toBe(0.5);
  expect(() => upDaysShare([], [])).toThrow('no days to score');
  expect(() => upDaysShare([1, 2], [1])).toThrow('expected 2 previous prices, got 1');
});

it('a perfect forecast has zero error and full directional accuracy', () => {
  expect(forecastMetrics(real, real, previous)).toEqual({ rmse: 0, mae: 0, mape: 0, directional_accuracy: 1 });
});

it('an empty or ragged input is an error that says what was expected', () => {
  expect(() => forecastMetrics([], [], [])).toThrow('no days to score');
  expect(() => forecastMetrics([1, 2], [1], [1, 2])).toThrow('expected 2 forecasts and previous prices, got 1 and 2');
});
