// What the model sees of the daily prices, in one place for every stage that fits it or undoes it
// (scale, split, evaluate, forecast, backtest): the target series (the price itself, or its daily log
// return), the min-max scaler, the supervised pairs, and the way back to USD. The same operations in
// the same order give the same doubles, which is what makes the backtest's last fold equal evaluate's
// predictions number for number.
import type { PipelineParams } from '../../../pipeline/contract/stage.ts';

/**
 * What the model learns to predict: `price` (the notebook: the price level, min-max scaled) or
 * `log_return` (r_t = ln p_t − ln p_{t−1}, min-max scaled, turned back into a price from the real day
 * before: p̂_t = p_{t−1} · exp(r̂_t)).
 */
export type Target = 'price' | 'log_return';

export const TARGETS = ['price', 'log_return'] as const satisfies readonly Target[];

/** scale.target among the pipeline's params (a stage that uses it declares it in its `uses`). */
export function targetOf(pipeline: PipelineParams): Target {
  const target = pipeline.scale?.target ?? 'price';
  if (!(TARGETS as readonly unknown[]).includes(target)) throw new Error(`scale.target must be one of ${TARGETS.join(', ')}, got ${JSON.stringify(target)}`);
  return target as Target;
}

/** The target's values, one per day from day `firstDay` on (the first day has no return). */
export interface TargetSeries {
  readonly target: Target;
  /** values[k] belongs to day k + firstDay. */
  readonly values: Float64Array;
  /** 0 for price, 1 for log_return. */
  readonly firstDay: number;
}

export function targetSeries(prices: Float64Array, target: Target): TargetSeries {
  if (target === 'price') return { target, values: prices, firstDay: 0 };
  const values = new Float64Array(Math.max(0, prices.length - 1));
  for (let k = 0; k < values.length; k++) values[k] = Math.log(prices[k + 1]!) - Math.log(prices[k]!);
  return { target, values, firstDay: 1 };
}

/**
 * A model output (scaled) back to a price in USD: the price itself for `price`, or for `log_return` the
 * real previous day's price moved by the predicted return, p_{t−1} · exp(r̂).
 */
export function toPrice(target: Target, fit: { readonly min: number; readonly max: number }, scaled: number, previousPrice: number): number {
  const value = invertMinMax(fit, scaled);
  return target === 'price' ? value : previousPrice * Math.exp(value);
}

/** A fitted min-max scaler: scaled = value · scale + offset (sklearn's `scale_` and `min_`). */
export interface MinMax {
  readonly min: number;
  readonly max: number;
  readonly scale: number;
  readonly offset: number;
}

/**
 * sklearn's MinMaxScaler(feature_range=(0, 1)) fitted on values[from..to), in its own operation order:
 * scale_ = 1 / data_range (a zero range counts as 1), min_ = 0 - data_min * scale_, X * scale_ + min_.
 * Same order, same float64 rounding, so the results equal sklearn's bit for bit.
 */
export function fitMinMax(values: ArrayLike<number>, from = 0, to = values.length): MinMax {
  let min = Infinity;
  let max = -Infinity;
  for (let i = from; i < to; i++) {
    const value = values[i]!;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const range = max - min;
  const scale = 1 / (range === 0 ? 1 : range);
  return { min, max, scale, offset: 0 - min * scale };
}

/** Every value through the scaler (the days after the fitted ones too: they are the model's inputs). */
export function applyMinMax(fit: MinMax, values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! * fit.scale + fit.offset;
  return out;
}

/** A model output back in the scaler's units: scaled · (max − min) + min. */
export function invertMinMax(fit: { readonly min: number; readonly max: number }, scaled: number): number {
  return scaled * (fit.max - fit.min) + fit.min;
}

/** Supervised pairs over a series: row-major x (x1 oldest … xL the day before the target) and y. */
export interface SeriesPairs {
  /** Index into the series of each row's target. */
  readonly targets: Int32Array;
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly rows: number;
  readonly lookback: number;
}

/**
 * The pairs whose targets are series[from..to): x(k+1) of target i is series[i − lookback + k], y is
 * series[i]. The split stage writes exactly these as train.arrow and test.arrow.
 */
export function pairsOf(series: Float64Array, lookback: number, from: number, to: number): SeriesPairs {
  if (from < lookback) throw new Error(`a pair needs ${lookback} earlier values: the first target can be index ${lookback}, not ${from}`);
  const rows = Math.max(0, to - from);
  const targets = new Int32Array(rows);
  const x = new Float64Array(rows * lookback);
  const y = new Float64Array(rows);
  for (let n = 0; n < rows; n++) {
    const i = from + n;
    targets[n] = i;
    y[n] = series[i]!;
    for (let k = 0; k < lookback; k++) x[n * lookback + k] = series[i - lookback + k]!;
  }
  return { targets, x, y, rows, lookback };
}
