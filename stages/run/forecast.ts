import { writeFile } from 'node:fs/promises';
import type { StageContext } from '../../pipeline/contract/stage.ts';
import { dateDayColumn, float64Column, isoDate, readArrowTable } from '../lib/data/arrow.ts';
import { applyMinMax, fitMinMax, pairsOf, targetOf, targetSeries, toPrice } from '../lib/data/scaling.ts';
import { loadTf } from '../lib/model/tf.ts';
import { buildModel, predict, withWarningsTo, writeWeights } from '../lib/model/model.ts';
import { saveModel } from '../lib/model/model-files.ts';
import { spreadSeeds } from '../lib/model/spread-seeds.ts';
import { resolveSpreadSeeds, trainingFlops } from '../lib/model/cost.ts';
import { lookbackOf, specOf, trainModels, trainParamsOf } from '../lib/model/train-models.ts';
import type { z } from 'zod';
import type { forecast } from '../forecast.ts';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function run(ctx: StageContext<z.output<(typeof forecast)['params']>>): Promise<void> {
  await loadTf();
  const path = ctx.input('aggregate', 'daily.arrow');
  const table = await readArrowTable(path);
  const days = dateDayColumn(table, 'date', path);
  const prices = float64Column(table, 'price', path);
  const p = trainParamsOf(ctx.pipeline);
  const lookback = lookbackOf(ctx.pipeline);
  const target = targetOf(ctx.pipeline);
  const n = prices.length;

  // As scale and split do, but through the last day: the scaler sees every day's value, the pairs'
  // targets run to the last day, and the input of tomorrow's forecast is the last `lookback` real values.
  const series = targetSeries(prices, target);
  const values = series.values;
  if (values.length < lookback + 1) {
    const needed = lookback + 1 + series.firstDay;
    throw new Error(`${path}: ${n} days; a forecast with split.lookback = ${lookback} and scale.target = ${target} needs at least ${needed} (one training pair)`);
  }
  const fit = fitMinMax(values, 0, values.length);
  const scaled = applyMinMax(fit, values);
  const pairs = pairsOf(scaled, lookback, lookback, values.length);
  const input = scaled.slice(values.length - lookback);
  const dayOf = (k: number) => days[k + series.firstDay]!;

  // The model (train.seed) and, like train, the seed spread: each trained on every pair. spread_seeds:
  // auto is resolved by train's rule on these pairs (cost.ts).
  const spreadPlan = resolveSpreadSeeds(p.spread_seeds, trainingFlops(specOf(p, lookback), pairs.rows, p.epochs));
  if (spreadPlan.fewer) ctx.info(`seed spread: ${spreadPlan.fewer}`);
  const seeds = [p.seed, ...spreadSeeds(p.seed, spreadPlan.count)];
  const warn = (message: string) => ctx.info(`tfjs: ${message}`);
  const started = performance.now();
  const trained = await trainModels(
    p,
    lookback,
    seeds.map((seed) => ({ seed, data: pairs })),
    {
      name: 'forecast model',
      signal: ctx.signal,
      warn,
      estimate: { say: (line) => ctx.info(line), spreadSeeds: spreadPlan.count, auto: p.spread_seeds === 'auto' },
      onEpoch: (done, total, index, epoch) =>
        ctx.progress({ done, total, label: index === 0 ? `model, epoch ${epoch}/${p.epochs}` : `seed spread ${index}/${seeds.length - 1}, epoch ${epoch}/${p.epochs}` }),
    },
  );
  const trainSeconds = (performance.now() - started) / 1000;

  const spec = specOf(p, lookback);
  const model = withWarningsTo(warn, () => buildModel({ ...spec, seed: p.seed }));
  let forecasts: number[];
  try {
    forecasts = trained.results.map((result) => {
      writeWeights(model, spec, result.theta);
      return toPrice(target, fit, predict(model, input, 1, lookback)[0]!, prices[n - 1]!);
    });
    // The saved model is the one of train.seed: load it, feed it the last day(s) (their log returns with
    // that target) scaled by scaler.json, and `price` comes back.
    writeWeights(model, spec, trained.results[0]!.theta);
    await saveModel(model, ctx.output('model.json'), ctx.output('weights.bin'));
  } finally {
    model.dispose();
  }

  const lastDay = days[n - 1]!;
  const price = forecasts[0]!;
  const lastPrice = prices[n - 1]!;
  const spread =
    seeds.length > 1
      ? { seed_min: Math.min(...forecasts), seed_median: median(forecasts), seed_max: Math.max(...forecasts) }
      : {};
  const result = {
    date: isoDate(lastDay + 1),
    price,
    last_date: isoDate(lastDay),
    last_price: lastPrice,
    change: price - lastPrice,
    change_pct: (100 * (price - lastPrice)) / lastPrice,
    ...spread,
    trained_from: isoDate(dayOf(pairs.targets[0]!)),
    trained_to: isoDate(dayOf(pairs.targets[pairs.rows - 1]!)),
    pairs: pairs.rows,
    seed: p.seed,
    // What was trained: spread_seeds: auto is resolved on these pairs, so it may differ from train's.
    spread_seeds: spreadPlan.count,
    spread_rule: spreadPlan.rule,
    target,
    lookback,
    ...(seeds.length > 1 ? { seed_prices: seeds.map((seed, i) => ({ seed, price: forecasts[i]! })) } : {}),
    units: { price: 'USD', last_price: 'USD', change: 'USD', change_pct: 'percent' },
    notes: {
      price:
        target === 'price'
          ? "the model (the train config and seed) trained on every day, fed the last day(s): tomorrow's daily mean price"
          : "the model (the train config and seed) trained on every day's log return, fed the last day(s)' returns: the last price times exp(the predicted return), tomorrow's daily mean price",
      last_price: 'the last day\'s price: the persistence forecast ("tomorrow = today")',
      trained_from: 'first and last target day of the training pairs (trained_to is the last day of data)',
      ...(seeds.length > 1
        ? { seed_min: `the lowest, median and highest forecast of the model and the ${seeds.length - 1} spread seeds (train.spread_seeds, seeds seed + 1000·k)` }
        : {}),
    },
  };
  await writeFile(ctx.output('forecast.json'), `${JSON.stringify(result, null, 2)}\n`);
  const scaler = {
    target,
    min: fit.min,
    max: fit.max,
    fit_from: isoDate(dayOf(0)),
    fit_to: isoDate(lastDay),
    days_fitted: values.length,
    scale: fit.scale,
    offset: fit.offset,
  };
  await writeFile(ctx.output('scaler.json'), `${JSON.stringify(scaler, null, 2)}\n`);
  ctx.info(
    `trained ${seeds.length === 1 ? 'the model' : `the model and ${seeds.length - 1} spread seeds`} on ${pairs.rows} pairs (${result.trained_from} .. ${result.trained_to}) ` +
      `in ${trainSeconds.toFixed(2)} s${trained.threads > 1 ? ` on ${trained.threads} threads` : ''}${trained.threads < trained.planned ? ' (no worker thread could start)' : ''}`,
  );
}
