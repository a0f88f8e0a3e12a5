import { writeFile } from 'node:fs/promises';
import { dateDay, dateDayColumn, float64, float64Column, isoDate, readArrowTable, schemaOf, writeArrowFile } from '../lib/data/arrow.ts';
import type { StageContext } from '../../pipeline/contract/stage.ts';
import { count } from '../../pipeline/contract/text.ts';
import type { z } from 'zod';
import type { scale } from '../scale.ts';

export const SCALED_SCHEMA = schemaOf([
  ['date', dateDay(), false],
  ['price', float64(), false],
  ['scaled', float64(), false],
]);

export interface Scaler {
  min: number;
  max: number;
  /** First and last training day the scaler was fitted on (ISO dates, UTC). */
  fit_from: string;
  fit_to: string;
  days_fitted: number;
  /** sklearn's fitted attributes: scaled = price * scale + offset (sklearn's `scale_` and `min_`). */
  scale: number;
  offset: number;
}

/**
 * sklearn's MinMaxScaler(feature_range=(0, 1)) fitted on `prices`, in its own operation order:
 * scale_ = 1 / data_range (a zero range counts as 1), min_ = 0 - data_min * scale_, X * scale_ + min_.
 * Same order, same float64 rounding, so the results equal sklearn's bit for bit.
 */
export function fitMinMax(prices: Float64Array): { min: number; max: number; scale: number; offset: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const price of prices) {
    if (price < min) min = price;
    if (price > max) max = price;
  }
  const range = max - min;
  const scale = 1 / (range === 0 ? 1 : range);
  return { min, max, scale, offset: 0 - min * scale };
}

export async function run(ctx: StageContext<z.output<(typeof scale)['params']>>): Promise<void> {
  const path = ctx.inputs[0]!;
  const testDays = ctx.pipeline.split?.test_days;
  if (typeof testDays !== 'number' || !Number.isInteger(testDays) || testDays < 1) {
    throw new Error(`split.test_days must be a positive integer, got ${JSON.stringify(testDays)}`);
  }
  const table = await readArrowTable(path);
  const dates = dateDayColumn(table, 'date', path);
  const prices = float64Column(table, 'price', path);
  // The test days are the last `test_days` dates; the scaler must never see them (no leak of their range).
  const fitted = prices.length - testDays;
  if (fitted < 2) {
    throw new Error(
      `split.test_days = ${testDays} leaves ${Math.max(0, fitted)} of the ${prices.length} days in ${path} to fit the scaler; at least 2 are needed (lower split.test_days or use more days)`,
    );
  }
  const fit = fitMinMax(prices.subarray(0, fitted));
  const scaled = new Float64Array(prices.length);
  for (let i = 0; i < prices.length; i++) scaled[i] = prices[i]! * fit.scale + fit.offset;

  await writeArrowFile(ctx.output('scaled.arrow'), SCALED_SCHEMA, prices.length, [
    { type: SCALED_SCHEMA.fields[0]!.type, values: dates },
    { type: SCALED_SCHEMA.fields[1]!.type, values: prices },
    { type: SCALED_SCHEMA.fields[2]!.type, values: scaled },
  ]);
  const scaler: Scaler = {
    min: fit.min,
    max: fit.max,
    fit_from: isoDate(dates[0]!),
    fit_to: isoDate(dates[fitted - 1]!),
    days_fitted: fitted,
    scale: fit.scale,
    offset: fit.offset,
  };
  await writeFile(ctx.output('scaler.json'), `${JSON.stringify(scaler, null, 2)}\n`);
  ctx.info(`fitted on ${count(fitted, 'day')} (${scaler.fit_from} .. ${scaler.fit_to}): min ${fit.min.toFixed(2)}, max ${fit.max.toFixed(2)} USD`);
  if (fit.max === fit.min) {
    ctx.warn(
      `the price is the same on all ${count(fitted, 'training day')} (${fit.min} USD): there is no range to scale, so every ` +
        `training day scales to 0 (sklearn's rule for a zero range) and the model can only learn a constant`,
    );
  }
}
