import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { DateDay, Float64, Int32, Table, makeData, makeVector, tableToIPC } from 'apache-arrow';
import { ParamsError, type StageContext } from '../../pipeline/contract/stage.ts';
import { dateDayColumn, float64Column, isoDate, readArrowTable } from '../lib/data/arrow.ts';
import { applyMinMax, fitMinMax, pairsOf, targetOf, targetSeries, toPrice, type MinMax, type SeriesPairs } from '../lib/data/scaling.ts';
import { loadTf } from '../lib/model/tf.ts';
import { buildModel, predict, withWarningsTo, writeWeights } from '../lib/model/model.ts';
import { lookbackOf, specOf, trainModels, trainParamsOf } from '../lib/model/train-models.ts';
import { forecastMetrics, METRIC_UNITS, persistenceMetrics, upDaysShare } from '../lib/evaluation/metrics.ts';
import { backtestSentence, dieboldMariano, foldWindows, valuesNeeded, verdictOf, type FoldWindow } from '../lib/evaluation/backtest.ts';
import { backtestSpec, renderSpec } from '../lib/charts/charts.ts';
import type { z } from 'zod';
import type { backtest } from '../backtest.ts';

export interface Fold {
  readonly window: FoldWindow;
  /** Fitted on the values before the window only. */
  readonly fit: MinMax;
  /** Pairs whose target lies before the window. */
  readonly train: SeriesPairs;
  /** The window's targets, each with the real value(s) before it as input. */
  readonly test: SeriesPairs;
}

/**
 * Each fold sees only what lay before its window: the scaler's range and the training pairs' targets
 * (with log returns: only returns whose day lies before the window). Inside the window every day is
 * predicted from the real value(s) before it, scaled the fold's way. Indices are the series'.
 */
export function foldsOf(series: Float64Array, lookback: number, count: number, horizon: number): Fold[] {
  return foldWindows(series.length, count, horizon).map((window) => {
    const fit = fitMinMax(series, 0, window.start);
    const scaled = applyMinMax(fit, series);
    return { window, fit, train: pairsOf(scaled, lookback, lookback, window.start), test: pairsOf(scaled, lookback, window.start, window.end) };
  });
}

export async function run(ctx: StageContext<z.output<(typeof backtest)['params']>>): Promise<void> {
  await loadTf();
  const path = ctx.input('aggregate', 'daily.arrow');
  const shown = relative(ctx.root, path) || path;
  const table = await readArrowTable(path);
  const days = dateDayColumn(table, 'date', path);
  const prices = float64Column(table, 'price', path);
  const p = trainParamsOf(ctx.pipeline);
  const lookback = lookbackOf(ctx.pipeline);
  const target = targetOf(ctx.pipeline);
  const { folds: count, horizon } = ctx.params;

  // One value per day from day `firstDay` on: series index k is day k + firstDay.
  const series = targetSeries(prices, target);
  const first = series.firstDay;
  const needed = valuesNeeded(count, horizon, lookback) + first;
  if (prices.length < needed) {
    const returns = first > 0 ? ' (the first day has no log return)' : '';
    throw new ParamsError(
      ['backtest.folds', 'backtest.horizon'],
      `backtest.folds = ${count} of backtest.horizon = ${horizon} days need at least ${needed} days (${count * horizon} to test, ` +
        `and ${needed - count * horizon} before them to fit the scaler and train on one pair with split.lookback = ${lookback}${returns}), ` +
        `but ${shown} has ${prices.length}; lower backtest.folds or backtest.horizon`,
    );
  }

  const folds = foldsOf(series.values, lookback, count, horizon);

  const warn = (message: string) => ctx.info(`tfjs: ${message}`);
  const started = performance.now();
  const trained = await trainModels(
    p,
    lookback,
    folds.map((fold) => ({ seed: p.seed, data: fold.train })),
    {
      name: 'backtest fold',
      signal: ctx.signal,
      warn,
      estimate: { say: (line) => ctx.info(line), folds: count },
      onEpoch: (done, total, index, epoch) => ctx.progress({ done, total, label: `fold ${index + 1}/${count}, epoch ${epoch}/${p.epochs}` }),
    },
  );
  const trainSeconds = (performance.now() - started) / 1000;

  const rows = count * horizon;
  const foldColumn = new Int32Array(rows);
  const date = new Int32Array(rows);
  const real = new Float64Array(rows);
  const predicted = new Float64Array(rows);
  const persistence = new Float64Array(rows);
  const spec = specOf(p, lookback);
  const model = withWarningsTo(warn, () => buildModel({ ...spec, seed: p.seed }));
  try {
    folds.forEach((fold, f) => {
      // Predicted as evaluate predicts: the model's layers with these weights, then back to USD.
      writeWeights(model, spec, trained.results[f]!.theta);
      const out = predict(model, fold.test.x, fold.test.rows, lookback);
      for (let n = 0; n < fold.test.rows; n++) {
        const row = f * horizon + n;
        const day = fold.test.targets[n]! + first;
        foldColumn[row] = fold.window.fold;
        date[row] = days[day]!;
        real[row] = prices[day]!;
        persistence[row] = prices[day - 1]!;
        // The price, or the real day before moved by the predicted log return.
        predicted[row] = toPrice(target, fold.fit, out[n]!, prices[day - 1]!);
      }
    });
  } finally {
    model.dispose();
  }

  const predictionsTable = new Table({
    fold: makeVector(makeData({ type: new Int32(), length: rows, data: foldColumn })),
    date: makeVector(makeData({ type: new DateDay(), length: rows, data: date })),
    real: makeVector(makeData({ type: new Float64(), length: rows, data: real })),
    predicted: makeVector(makeData({ type: new Float64(), length: rows, data: predicted })),
    persistence: makeVector(makeData({ type: new Float64(), length: rows, data: persistence })),
  });
  await writeFile(ctx.output('predictions.arrow'), tableToIPC(predictionsTable, 'file'));

  const foldMetrics = folds.map((fold, f) => {
    const from = f * horizon;
    const to = from + horizon;
    const model = forecastMetrics(real.subarray(from, to), predicted.subarray(from, to), persistence.subarray(from, to));
    const baseline = persistenceMetrics(real.subarray(from, to), persistence.subarray(from, to));
    return {
      fold: fold.window.fold,
      from: isoDate(days[fold.window.start + first]!),
      to: isoDate(days[fold.window.end - 1 + first]!),
      model_rmse: model.rmse,
      persistence_rmse: baseline.rmse,
      rmse_ratio: model.rmse / baseline.rmse,
      train_pairs: fold.train.rows,
      scaler: { min: fold.fit.min, max: fold.fit.max, fit_from: isoDate(days[first]!), fit_to: isoDate(days[fold.window.start - 1 + first]!) },
    };
  });
  const pooledModel = forecastMetrics(real, predicted, persistence);
  const pooledBaseline = persistenceMetrics(real, persistence);
  const pooledRatio = pooledModel.rmse / pooledBaseline.rmse;
  const dm = dieboldMariano(real, predicted, persistence);
  const verdict = backtestSentence(rows, pooledRatio, dm.p_value);
  const metrics = {
    target,
    folds: foldMetrics,
    pooled: {
      days: rows,
      from: isoDate(date[0]!),
      to: isoDate(date[rows - 1]!),
      rmse_ratio: pooledRatio,
      model: pooledModel,
      persistence: pooledBaseline,
      up_days_share: upDaysShare(real, persistence),
    },
    diebold_mariano: dm,
    beats_persistence: verdictOf(pooledRatio, dm.p_value) === 'beats persistence',
    verdict,
    units: METRIC_UNITS,
    notes: {
      target: 'what the model predicted (scale.target): the price, or the log return turned into a price from the real day before; every figure here is in USD on prices',
      folds: `fold k of ${count} tests the ${horizon} days ending (${count} − k)·${horizon} days before the last day; its scaler is fitted on the days before the window and its model (the train config and seed) trained on the pairs whose target lies before the window; each window day is predicted from the real day(s) before it`,
      persistence: 'the naive forecast: tomorrow = today (the real price of the day before)',
      rmse_ratio: 'model rmse / persistence rmse; below 1 beats the naive forecast',
      diebold_mariano:
        'test of equal accuracy on d = e_model² − e_persistence² over all backtest days: statistic = mean(d) / sqrt(var(d) / n), var with n − 1; p_value two-sided from the standard normal',
      beats_persistence: 'pooled rmse_ratio < 1 and Diebold–Mariano p_value < 0.05',
    },
  };
  await writeFile(ctx.output('metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);

  const points = Array.from({ length: rows }, (_, i) => ({ date: isoDate(date[i]!), real: real[i]!, predicted: predicted[i]!, persistence: persistence[i]! }));
  const chart = await renderSpec(
    backtestSpec(
      points,
      foldMetrics.map((f) => ({ fold: f.fold, from: f.from, to: f.to, rmse_ratio: f.rmse_ratio })),
    ),
    (message) => ctx.info(`chart: ${message}`),
  );
  await writeFile(ctx.output('backtest.svg'), chart.svg);
  await writeFile(ctx.output('backtest.png'), chart.png);

  ctx.info(
    `${count} folds of ${horizon} days (${metrics.pooled.from} .. ${metrics.pooled.to}): ${count} models in ${trainSeconds.toFixed(2)} s` +
      `${trained.threads > 1 ? ` on ${trained.threads} threads` : ''}${trained.threads < trained.planned ? ' (no worker thread could start)' : ''}`,
  );
  ctx.info(verdict);
}
