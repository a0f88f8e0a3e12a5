// The arithmetic of a rolling-origin (walk-forward) backtest: where each fold's test window lies, and the
// Diebold–Mariano test of equal accuracy of the model and persistence over all the windows' days.
import { cumulativeNormal } from 'vega-statistics';
import { count, formatP } from '../../../pipeline/contract/text.ts';

export interface FoldWindow {
  /** 1..K, oldest first. */
  readonly fold: number;
  /** First target (index into the series) of the window. */
  readonly start: number;
  /** One past the last target of the window. */
  readonly end: number;
}

/**
 * Fold k of K tests the `horizon` targets that end (K − k)·horizon before the series' last value: the
 * last fold's window is the last `horizon` values, the one before it the `horizon` before those, and so
 * on. Windows never overlap and leave no gap.
 */
export function foldWindows(length: number, folds: number, horizon: number): FoldWindow[] {
  return Array.from({ length: folds }, (_, i) => {
    const fold = i + 1;
    const end = length - (folds - fold) * horizon;
    return { fold, start: end - horizon, end };
  });
}

/**
 * How many values of the series K folds of `horizon` need: before the first window, the scaler needs two
 * values to fit and the model one pair, whose target comes after its `lookback` inputs.
 */
export function valuesNeeded(folds: number, horizon: number, lookback: number): number {
  return folds * horizon + Math.max(2, lookback + 1);
}

export interface DieboldMariano {
  /** mean(d) / sqrt(var(d) / n), var with n − 1; null when it is not a finite number (n < 2, or var(d) = 0 with mean(d) ≠ 0). */
  readonly statistic: number | null;
  /** Two-sided, from the standard normal; null when n < 2. */
  readonly p_value: number | null;
  readonly n: number;
}

/**
 * The Diebold–Mariano test for one-step-ahead forecasts on the squared-error loss differential
 * d_t = e_model,t² − e_persistence,t². With h = 1 no autocovariance terms enter the variance.
 */
export function dieboldMariano(real: ArrayLike<number>, model: ArrayLike<number>, persistence: ArrayLike<number>): DieboldMariano {
  const n = real.length;
  if (model.length !== n || persistence.length !== n) throw new Error(`expected ${n} model and persistence forecasts, got ${model.length} and ${persistence.length}`);
  if (n < 2) return { statistic: null, p_value: null, n };
  const d = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    d[i] = (model[i]! - real[i]!) ** 2 - (persistence[i]! - real[i]!) ** 2;
    sum += d[i]!;
  }
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (d[i]! - mean) ** 2;
  const variance = squares / (n - 1);
  if (variance === 0) return mean === 0 ? { statistic: 0, p_value: 1, n } : { statistic: null, p_value: 0, n };
  const statistic = mean / Math.sqrt(variance / n);
  // The lower tail at −|z|, doubled: computed directly, so a tiny p keeps its digits (1 − Φ(z) would not).
  return { statistic, p_value: Math.min(1, 2 * cumulativeNormal(-Math.abs(statistic))), n };
}

/** The level below which the backtest calls a difference significant. */
export const SIGNIFICANCE = 0.05;

export type Verdict = 'beats persistence' | 'worse than persistence' | 'no evidence either way';

export function verdictOf(rmseRatio: number, pValue: number | null): Verdict {
  if (pValue === null || !(pValue < SIGNIFICANCE)) return 'no evidence either way';
  return rmseRatio < 1 ? 'beats persistence' : 'worse than persistence';
}

/** "over 360 days the model's error is 4.2% above persistence's; Diebold–Mariano p = 0.31: no evidence either way" */
export function backtestSentence(days: number, rmseRatio: number, pValue: number | null): string {
  const percent = (rmseRatio - 1) * 100;
  const size = Math.abs(percent);
  const shown = size < 10 ? size.toFixed(1) : size.toFixed(0);
  const error = shown === '0.0' ? "the same as persistence's" : `${shown}% ${percent > 0 ? 'above' : 'below'} persistence's`;
  const verdict = verdictOf(rmseRatio, pValue);
  const conclusion =
    verdict === 'beats persistence'
      ? 'the model beats persistence'
      : verdict === 'worse than persistence'
        ? 'the model is significantly worse than persistence'
        : 'no evidence either way';
  const p = pValue === null ? 'Diebold–Mariano p not defined' : `Diebold–Mariano p = ${formatP(pValue)}`;
  return `over ${count(days, 'day')} the model's error is ${error}; ${p}: ${conclusion}`;
}
