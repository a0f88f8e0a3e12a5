// Forecast error measures, computed the same way for the model and for the persistence baseline.

export interface ForecastMetrics {
  /** Root mean squared error, USD. */
  readonly rmse: number;
  /** Mean absolute error, USD. */
  readonly mae: number;
  /** Mean absolute percentage error, in percent (3.2 means 3.2 %). */
  readonly mape: number;
  /**
   * Share of days (0..1) where the forecast moves in the direction the price moved:
   * sign(forecast - previous real) == sign(real - previous real). Read it against upDaysShare: a model
   * that always forecasts "up" scores exactly that share.
   */
  readonly directional_accuracy: number;
}

/**
 * The persistence baseline's scores. "Tomorrow = today" forecasts no direction at all, so it has no
 * directional accuracy (null, rather than the 0 that sign 0 would score by construction).
 */
export interface BaselineMetrics extends Omit<ForecastMetrics, 'directional_accuracy'> {
  readonly directional_accuracy: null;
}

/** The units of these scores and of upDaysShare, as metrics.json's `units` says them (evaluate, backtest). */
export const METRIC_UNITS = {
  rmse: 'USD',
  mae: 'USD',
  mape: 'percent',
  directional_accuracy: 'share of days, 0..1',
  up_days_share: 'share of days, 0..1',
} as const;

export function forecastMetrics(real: ArrayLike<number>, forecast: ArrayLike<number>, previous: ArrayLike<number>): ForecastMetrics {
  const n = real.length;
  if (n === 0) throw new Error('no days to score');
  if (forecast.length !== n || previous.length !== n) {
    throw new Error(`expected ${n} forecasts and previous prices, got ${forecast.length} and ${previous.length}`);
  }
  let squared = 0;
  let absolute = 0;
  let percent = 0;
  let sameDirection = 0;
  for (let i = 0; i < n; i++) {
    const r = real[i]!;
    const e = forecast[i]! - r;
    squared += e * e;
    absolute += Math.abs(e);
    percent += Math.abs(e / r);
    if (Math.sign(forecast[i]! - previous[i]!) === Math.sign(r - previous[i]!)) sameDirection++;
  }
  return {
    rmse: Math.sqrt(squared / n),
    mae: absolute / n,
    mape: (100 * percent) / n,
    directional_accuracy: sameDirection / n,
  };
}

export function persistenceMetrics(real: ArrayLike<number>, previous: ArrayLike<number>): BaselineMetrics {
  return { ...forecastMetrics(real, previous, previous), directional_accuracy: null };
}

/** Share of days (0..1) whose real price rose above the previous day's: the naive "always up" score. */
export function upDaysShare(real: ArrayLike<number>, previous: ArrayLike<number>): number {
  const n = real.length;
  if (n === 0) throw new Error('no days to score');
  if (previous.length !== n) throw new Error(`expected ${n} previous prices, got ${previous.length}`);
  let up = 0;
  for (let i = 0; i < n; i++) if (real[i]! > previous[i]!) up++;
  return up / n;
}
