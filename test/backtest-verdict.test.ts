// The backtest's verdict sentence on hand-made fold errors, one case per verdict (the model clearly
// better, clearly worse, no evidence either way, too few days for a test), every figure of the sentence
// worked out by hand here; and the p-value format that the verdict, `pipeline metrics` and the report
// share (pipeline/contract/text.ts), against hand-written texts.
import { describe, expect, it } from 'vitest';
import { backtestSentence, dieboldMariano, verdictOf } from '../stages/lib/evaluation/backtest.ts';
import { formatP } from '../pipeline/contract/text.ts';
import { metricText } from '../pipeline/inspect/metricsTable.ts';

/** Four days around 100 USD, each forecast off by the given error. */
function days(modelErrors: number[], persistenceErrors: number[]) {
  const real = [100, 103, 101, 106];
  return {
    real,
    model: real.map((r, i) => r + modelErrors[i]!),
    persistence: real.map((r, i) => r + persistenceErrors[i]!),
  };
}

function sentence(modelErrors: number[], persistenceErrors: number[], ratio: number) {
  const { real, model, persistence } = days(modelErrors, persistenceErrors);
  const dm = dieboldMariano(real, model, persistence);
  return { dm, verdict: verdictOf(ratio, dm.p_value), text: backtestSentence(real.length, ratio, dm.p_value) };
}

describe('the verdict sentence', () => {
  // Errors of 1, 2, 2, 3 against errors of 1: d = e² − e'² = 0, 3, 3, 8; mean 3.5, var (n − 1) = 33/3 = 11,
  // statistic 3.5 / √(11/4) = 2.1106, two-sided p = erfc(2.1106 / √2) = 0.03481. RMSE √(18/4) = 2.1213
  // against 1: 112% above.
  it('the model clearly worse than persistence: significantly worse', () => {
    const { dm, verdict, text } = sentence([1, -2, 2, -3], [1, 1, -1, 1], Math.sqrt(4.5));
    expect(dm.statistic).toBeCloseTo(2.1105794, 6);
    expect(dm.p_value).toBeCloseTo(0.0348085, 6);
    expect(verdict).toBe('worse than persistence');
    expect(text).toBe("over 4 days the model's error is 112% above persistence's; Diebold–Mariano p = 0.035: the model is significantly worse than persistence");
  });

  // The same errors the other way round: d = 0, −3, −3, −8, statistic −2.1106, the same p; RMSE ratio
  // 1 / 2.1213 = 0.4714: 53% below.
  it('the model clearly better than persistence: beats it', () => {
    const { dm, verdict, text } = sentence([1, 1, -1, 1], [1, -2, 2, -3], 1 / Math.sqrt(4.5));
    expect(dm.statistic).toBeCloseTo(-2.1105794, 6);
    expect(verdict).toBe('beats persistence');
    expect(text).toBe("over 4 days the model's error is 53% below persistence's; Diebold–Mariano p = 0.035: the model beats persistence");
  });

  // Errors of 1, 3, 1, 3 against errors of 2: d = −3, 5, −3, 5; mean 1, var 64/3, statistic
  // 1 / √(64/12) = 0.4330, p = erfc(0.4330 / √2) = 0.665. RMSE √5 / 2 = 1.118: 12% above, but no evidence.
  it('a difference within the noise: no evidence either way, whichever side the ratio is on', () => {
    const { dm, verdict, text } = sentence([1, -3, 1, 3], [2, -2, 2, 2], Math.sqrt(5) / 2);
    expect(dm.p_value).toBeCloseTo(0.6650055, 6);
    expect(verdict).toBe('no evidence either way');
    expect(text).toBe("over 4 days the model's error is 12% above persistence's; Diebold–Mariano p = 0.67: no evidence either way");
    expect(backtestSentence(4, 0.97, 0.2)).toBe("over 4 days the model's error is 3.0% below persistence's; Diebold–Mariano p = 0.2: no evidence either way");
  });

  it('at the level itself (p = 0.05) a difference is not called significant; below it, it is', () => {
    expect(verdictOf(1.3, 0.05)).toBe('no evidence either way');
    expect(verdictOf(1.3, 0.0499)).toBe('worse than persistence');
    expect(verdictOf(0.7, 0.0499)).toBe('beats persistence');
  });

  it('one day is too few for the test: p is not defined, and nothing is concluded', () => {
    const dm = dieboldMariano([100], [101], [103]);
    expect(dm).toEqual({ statistic: null, p_value: null, n: 1 });
    expect(backtestSentence(1, 1 / 3, dm.p_value)).toBe("over 1 day the model's error is 67% below persistence's; Diebold–Mariano p not defined: no evidence either way");
  });

  it("an error equal to persistence's to a tenth of a percent is said to be the same", () => {
    expect(backtestSentence(360, 1.0004, 0.9)).toBe("over 360 days the model's error is the same as persistence's; Diebold–Mariano p = 0.9: no evidence either way");
  });
});

describe('p-values for people', () => {
  it('two significant digits, scientific below 0.001', () => {
    expect(formatP(0.31)).toBe('0.31');
    expect(formatP(0.0348085)).toBe('0.035');
    expect(formatP(0.016)).toBe('0.016');
    expect(formatP(0.05)).toBe('0.05');
    expect(formatP(0.001)).toBe('0.001');
    expect(formatP(0.00083)).toBe('8.3e-4');
    expect(formatP(4.321e-10)).toBe('4.3e-10');
    expect(formatP(1)).toBe('1');
    expect(formatP(0)).toBe('0');
  });

  it('`pipeline metrics` and the report write a p-value as the verdict does (0.00083 was 0.0008 in the table)', () => {
    for (const p of [0.00083, 0.0348085, 0.31, 4.321e-10]) {
      const inSentence = /p = ([^:]+):/.exec(backtestSentence(20, 1.1, p))![1];
      expect(metricText('backtest.diebold_mariano.p_value', undefined, p)).toBe(inSentence);
      expect(metricText('p_value', undefined, p)).toBe(inSentence);
    }
    expect(metricText('backtest.diebold_mariano.p_value', undefined, 0.00083)).toBe('8.3e-4');
  });
});
