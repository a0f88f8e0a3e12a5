// The forecast and backtest stages' results as people see them: the run's last line, their rows in
// `pipeline metrics`, and the report's opening. Read leniently (a field added later is ignored) but a
// damaged file is named, never mistaken for a missing one.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ArtifactError } from './artifacts.ts';
import { readJson } from '../../stages/lib/data/json-file.ts';
import type { Cell } from './table.ts';
import type { Leaf } from './compare.ts';
import { metricCell } from './metricsTable.ts';

export const FORECAST_OUTPUT = 'artifacts/forecast/forecast.json';
export const BACKTEST_OUTPUT = 'artifacts/backtest/metrics.json';

const ForecastFile = z.object({
  date: z.string(),
  price: z.number(),
  last_date: z.string(),
  last_price: z.number(),
  change: z.number(),
  change_pct: z.number(),
  seed_min: z.number().optional(),
  seed_median: z.number().optional(),
  seed_max: z.number().optional(),
  trained_from: z.string(),
  trained_to: z.string(),
  pairs: z.number(),
  seed: z.number(),
  /** What the model predicted (scale.target); absent in files from before the log-return target. */
  target: z.enum(['price', 'log_return']).optional(),
});
export type Forecast = z.infer<typeof ForecastFile>;

const Scores = z.object({ rmse: z.number(), mae: z.number(), mape: z.number(), directional_accuracy: z.number().nullable() });
const BacktestFile = z.object({
  target: z.enum(['price', 'log_return']).optional(),
  folds: z.array(
    z.object({ fold: z.number(), from: z.string(), to: z.string(), model_rmse: z.number(), persistence_rmse: z.number(), rmse_ratio: z.number() }),
  ),
  pooled: z.object({
    days: z.number(),
    rmse_ratio: z.number(),
    model: Scores,
    persistence: Scores,
    up_days_share: z.number(),
  }),
  diebold_mariano: z.object({ statistic: z.number().nullable(), p_value: z.number().nullable(), n: z.number() }),
  beats_persistence: z.boolean(),
  verdict: z.string(),
});
export type Backtest = z.infer<typeof BacktestFile>;

async function readResult<T>(root: string, output: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const path = join(root, output);
  if (!existsSync(path)) return undefined;
  try {
    return await readJson(path, schema);
  } catch (error) {
    // Named as the project names it, not by its absolute path.
    throw new ArtifactError((error as Error).message.split(path).join(output));
  }
}

/** artifacts/forecast/forecast.json, or undefined when the stage has not written it. */
export function readForecast(root: string): Promise<Forecast | undefined> {
  return readResult(root, FORECAST_OUTPUT, ForecastFile);
}

/** artifacts/backtest/metrics.json, or undefined when the stage has not written it. */
export function readBacktest(root: string): Promise<Backtest | undefined> {
  return readResult(root, BACKTEST_OUTPUT, BacktestFile);
}

const usd = (value: number) => String(Math.round(value));

/** `forecast for 2022-03-02: 44120 USD (last day 43813; seeds 43500..44900)` */
export function forecastLine(f: Forecast): string {
  const seeds = f.seed_min !== undefined && f.seed_max !== undefined ? `; seeds ${usd(f.seed_min)}..${usd(f.seed_max)}` : '';
  return `forecast for ${f.date}: ${usd(f.price)} USD (last day ${usd(f.last_price)}${seeds})`;
}

/** A metrics-table row, its numbers rounded for reading as evaluate's are (exact in CSV and JSON). */
function row(name: string, model: Leaf | undefined, persistence: Leaf | undefined, unit: string | null): Cell[] {
  return [name, metricCell(name, unit ?? undefined, model), metricCell(name, unit ?? undefined, persistence), unit];
}

/** Rows for the metrics table (metric, model, persistence, unit): the forecast beside "tomorrow = today". */
export function forecastRows(f: Forecast): Cell[][] {
  const rows: Cell[][] = [
    row('forecast.date', f.date, null, null),
    // Persistence forecasts the last day's price.
    row('forecast.price', f.price, f.last_price, 'USD'),
    row('forecast.last_date', f.last_date, null, null),
    row('forecast.change', f.change, null, 'USD'),
    row('forecast.change_pct', f.change_pct, null, 'percent'),
  ];
  if (f.seed_min !== undefined) rows.push(row('forecast.seed_min', f.seed_min, null, 'USD'), row('forecast.seed_median', f.seed_median ?? null, null, 'USD'), row('forecast.seed_max', f.seed_max ?? null, null, 'USD'));
  rows.push(row('forecast.trained_from', f.trained_from, null, null), row('forecast.trained_to', f.trained_to, null, null), row('forecast.pairs', f.pairs, null, 'pairs'));
  return rows;
}

/** Rows for the metrics table: the backtest's pooled scores beside persistence's, then its test. */
export function backtestRows(b: Backtest): Cell[][] {
  const m = b.pooled.model;
  const p = b.pooled.persistence;
  return [
    row('backtest.folds', b.folds.length, null, 'folds'),
    row('backtest.days', b.pooled.days, null, 'days'),
    row('backtest.rmse', m.rmse, p.rmse, 'USD'),
    row('backtest.mae', m.mae, p.mae, 'USD'),
    row('backtest.mape', m.mape, p.mape, 'percent'),
    row('backtest.directional_accuracy', m.directional_accuracy, p.directional_accuracy, 'share of days, 0..1'),
    row('backtest.up_days_share', b.pooled.up_days_share, null, 'share of days, 0..1'),
    row('backtest.rmse_ratio', b.pooled.rmse_ratio, null, null),
    row('backtest.diebold_mariano.statistic', b.diebold_mariano.statistic, null, null),
    row('backtest.diebold_mariano.p_value', b.diebold_mariano.p_value, null, null),
    row('backtest.beats_persistence', b.beats_persistence, null, null),
  ];
}
