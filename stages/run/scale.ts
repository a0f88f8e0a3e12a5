import { writeFile } from 'node:fs/promises';
import { dateDay, dateDayColumn, float64, float64Column, isoDate, readArrowTable, schemaOf, writeArrowFile } from '../lib/data/arrow.ts';
import { applyMinMax, fitMinMax, targetSeries, type Target } from '../lib/data/scaling.ts';
import type { StageContext } from '../../pipeline/contract/stage.ts';
import { count } from '../../pipeline/contract/text.ts';
import type { z } from 'zod';
import type { scale } from '../scale.ts';

export const SCALED_SCHEMA = schemaOf([
  ['date', dateDay(), false],
  ['price', float64(), false],
  ['scaled', float64(), false],
]);

/** With target log_return: the day's price, its log return (unscaled) and the scaled return. */
export const SCALED_RETURNS_SCHEMA = schemaOf([
  ['date', dateDay(), false],
  ['price', float64(), false],
  ['log_return', float64(), false],
  ['scaled', float64(), false],
]);

export interface Scaler {
  /** What was scaled: the price, or the daily log return ln p_t − ln p_{t−1}. */
  target: Target;
  /** Of the target's values (USD for price, a log return for log_return). */
  min: number;
  max: number;
  /** First and last training day whose value the scaler was fitted on (ISO dates, UTC). */
  fit_from: string;
  fit_to: string;
  days_fitted: number;
  /** sklearn's fitted attributes: scaled = value * scale + offset (sklearn's `scale_` and `min_`). */
  scale: number;
  offset: number;
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
  const target = ctx.params.target;
  // One value per day (a log return from the second day on). The test days are the last `test_days`:
  // the scaler must never see their values (no leak of their range) — with log_return not even the
  // return of the first test day, which is its price against the last training day's.
  const series = targetSeries(prices, target);
  const values = series.values;
  const fitted = values.length - testDays;
  if (fitted < 2) {
    const what = target === 'price' ? 'days' : 'daily log returns (one fewer than days)';
    throw new Error(
      `split.test_days = ${testDays} leaves ${Math.max(0, fitted)} of the ${values.length} ${what} in ${path} to fit the scaler; at least 2 are needed (lower split.test_days or use more days)`,
    );
  }
  const fit = fitMinMax(values, 0, fitted);
  const scaled = applyMinMax(fit, values);
  const rows = values.length;
  const days = dates.subarray(series.firstDay);
  const dayPrices = prices.subarray(series.firstDay);

  if (target === 'price') {
    await writeArrowFile(ctx.output('scaled.arrow'), SCALED_SCHEMA, rows, [
      { type: SCALED_SCHEMA.fields[0]!.type, values: days },
      { type: SCALED_SCHEMA.fields[1]!.type, values: dayPrices },
      { type: SCALED_SCHEMA.fields[2]!.type, values: scaled },
    ]);
  } else {
    await writeArrowFile(ctx.output('scaled.arrow'), SCALED_RETURNS_SCHEMA, rows, [
      { type: SCALED_RETURNS_SCHEMA.fields[0]!.type, values: days },
      { type: SCALED_RETURNS_SCHEMA.fields[1]!.type, values: dayPrices },
      { type: SCALED_RETURNS_SCHEMA.fields[2]!.type, values },
      { type: SCALED_RETURNS_SCHEMA.fields[3]!.type, values: scaled },
    ]);
  }
  const scaler: Scaler = {
    target,
    min: fit.min,
    max: fit.max,
    fit_from: isoDate(days[0]!),
    fit_to: isoDate(days[fitted - 1]!),
    days_fitted: fitted,
    scale: fit.scale,
    offset: fit.offset,
  };
  await writeFile(ctx.output('scaler.json'), `${JSON.stringify(scaler, null, 2)}\n`);
  const [what, shown] =
    target === 'price'
      ? [count(fitted, 'day'), (v: number) => `${v.toFixed(2)} USD`]
      : [count(fitted, 'daily log return'), (v: number) => v.toPrecision(4)];
  ctx.info(`fitted on ${what} (${scaler.fit_from} .. ${scaler.fit_to}): min ${shown(fit.min)}, max ${shown(fit.max)}`);
  if (fit.max === fit.min) {
    const [series, value] = target === 'price' ? ['price', `${fit.min} USD`] : ['daily log return', String(fit.min)];
    ctx.warn(
      `the ${series} is the same on all ${count(fitted, 'training day')} (${value}): there is no range to scale, so every ` +
        `training day scales to 0 (sklearn's rule for a zero range) and the model can only learn a constant`,
    );
  }
}
