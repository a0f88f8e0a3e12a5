import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { DateDay, Float64, Int64, Table, makeData, makeVector, tableToIPC } from 'apache-arrow';
import { loadTf } from '../lib/model/tf.ts';
import { predict, writeWeights } from '../lib/model/model.ts';
import { loadModel } from '../lib/model/model-files.ts';
import { isoDay, readDailyPrices, readPairs } from '../lib/data/pairs.ts';
import { forecastMetrics, METRIC_UNITS, persistenceMetrics, upDaysShare } from '../lib/evaluation/metrics.ts';
import { lossSpec, predictionSpec, renderSpec } from '../lib/charts/charts.ts';
import { paramLayout } from '../lib/model/lstm.ts';
import { readSpread, summarizeSpread, type Spread } from '../lib/model/seed-spread.ts';
import { readJson } from '../lib/data/json-file.ts';
import { TARGETS, toPrice } from '../lib/data/scaling.ts';
import type { StageContext } from '../../pipeline/contract/stage.ts';
import type { evaluate } from '../evaluate.ts';

const Scaler = z
  .object({
    // Written by scale since the log-return target; a scaler.json without it was fitted on prices.
    target: z.enum(TARGETS).default('price'),
    min: z.number(),
    max: z.number(),
    fit_from: z.string(),
    fit_to: z.string(),
  })
  .refine((s) => s.max > s.min, { message: '"max" must be greater than "min"' });
const History = z.object({ loss: z.array(z.number()) });

// The split copies scaled values, so a pair's inputs equal scaled.arrow's values up to float noise.
const SAME_SCALED = 1e-9;

/** One row per seed, the trained model's first: its final training loss, test RMSE (USD) and rmse_ratio. */
function seedsTable(seeds: readonly number[], finalLoss: readonly number[], rmse: readonly number[], persistenceRmse: number): Table {
  const floats = (values: readonly number[]) => makeVector(makeData({ type: new Float64(), length: values.length, data: Float64Array.from(values) }));
  return new Table({
    seed: makeVector(makeData({ type: new Int64(), length: seeds.length, data: BigInt64Array.from(seeds, BigInt) })),
    final_loss: floats(finalLoss),
    rmse: floats(rmse),
    rmse_ratio: floats(rmse.map((r) => r / persistenceRmse)),
  });
}

export async function run(ctx: StageContext<z.output<(typeof evaluate)['params']>>): Promise<void> {
  // Backend selection (and the quiet CPU fallback) before the model is loaded.
  await loadTf();
  const testPath = ctx.input('split', 'test.arrow');
  const dailyPath = ctx.input('scale', 'scaled.arrow');
  const test = await readPairs(testPath);
  const daily = await readDailyPrices(dailyPath);
  const scaler = await readJson(ctx.input('scale', 'scaler.json'), Scaler);
  const history = await readJson(ctx.input('train', 'history.json'), History);
  const n = test.rows;
  if (n === 0) throw new Error(`${testPath}: no test pairs`);

  // The notebook's protocol: every test day is predicted from the real previous day(s).
  const modelPath = ctx.input('train', 'model.json');
  const spreadPath = ctx.input('train', 'spread.json');
  const model = await loadModel(modelPath);
  let scaledPredictions: Float64Array;
  let spread: Spread;
  // The spread models' test predictions, made exactly as the model's: its layers with their weights.
  const spreadPredictions: Float64Array[] = [];
  try {
    const modelLookback = model.inputs[0]!.shape[1];
    if (modelLookback !== test.lookback) {
      throw new Error(`${modelPath}: the model takes ${String(modelLookback)} days per input, ${testPath} has ${test.lookback} (x1..x${test.lookback})`);
    }
    scaledPredictions = predict(model, test.x, n, test.lookback);
    spread = await readSpread(spreadPath);
    if (spread.runs.length > 0) {
      const shapes = (weights: readonly (readonly number[])[]) => weights.map((s) => `[${s.join(', ')}]`).join(' ');
      const modelShapes = shapes(model.getWeights().map((w) => w.shape));
      const spreadShapes = shapes(paramLayout(spread.spec).shapes);
      if (modelShapes !== spreadShapes) {
        throw new Error(`${spreadPath}: the spread models' weights ${spreadShapes} do not fit ${modelPath}'s ${modelShapes}`);
      }
    }
    for (const run of spread.runs) {
      writeWeights(model, spread.spec, run.theta);
      spreadPredictions.push(predict(model, test.x, n, test.lookback));
    }
  } finally {
    model.dispose();
  }

  const rowOfDay = new Map<number, number>();
  daily.days.forEach((day, i) => rowOfDay.set(day, i));
  const real = new Float64Array(n);
  const predicted = new Float64Array(n);
  const persistence = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const day = test.days[i]!;
    const row = rowOfDay.get(day);
    if (row === undefined || row === 0) {
      throw new Error(`${testPath}: row ${i + 1}: ${isoDay(day)} ${row === 0 ? 'has no previous day' : 'is not a day'} in ${dailyPath}`);
    }
    const xLast = test.x[i * test.lookback + test.lookback - 1]!;
    if (Math.abs(daily.scaled[row - 1]! - xLast) > SAME_SCALED || Math.abs(daily.scaled[row]! - test.y[i]!) > SAME_SCALED) {
      throw new Error(`${testPath}: row ${i + 1} (${isoDay(day)}): x${test.lookback} and y should equal ${dailyPath}'s scaled prices of ${isoDay(daily.days[row - 1]!)} and ${isoDay(day)}`);
    }
    real[i] = daily.price[row]!;
    persistence[i] = daily.price[row - 1]!;
    // The price, or the real day before moved by the predicted log return.
    predicted[i] = toPrice(scaler.target, scaler, scaledPredictions[i]!, persistence[i]!);
  }

  const table = new Table({
    date: makeVector(makeData({ type: new DateDay(), length: n, data: Int32Array.from(test.days) })),
    real: makeVector(makeData({ type: new Float64(), length: n, data: real })),
    predicted: makeVector(makeData({ type: new Float64(), length: n, data: predicted })),
    persistence: makeVector(makeData({ type: new Float64(), length: n, data: persistence })),
  });
  await writeFile(ctx.output('predictions.arrow'), tableToIPC(table, 'file'));

  const modelMetrics = forecastMetrics(real, predicted, persistence);
  const baselineMetrics = persistenceMetrics(real, persistence);
  const rmseRatio = modelMetrics.rmse / baselineMetrics.rmse;

  // The same config from other seeds, scored exactly like the model (USD, against the same persistence).
  const spreadRmse = spreadPredictions.map((scaledOut) => {
    let squared = 0;
    for (let i = 0; i < n; i++) squared += (toPrice(scaler.target, scaler, scaledOut[i]!, persistence[i]!) - real[i]!) ** 2;
    return Math.sqrt(squared / n);
  });
  const seedSpread = summarizeSpread(rmseRatio, spreadRmse.map((rmse) => rmse / baselineMetrics.rmse));
  await writeFile(
    ctx.output('seeds.arrow'),
    tableToIPC(
      seedsTable(
        [spread.seed, ...spread.runs.map((r) => r.seed)],
        [history.loss[history.loss.length - 1] ?? Number.NaN, ...spread.runs.map((r) => r.finalLoss)],
        [modelMetrics.rmse, ...spreadRmse],
        baselineMetrics.rmse,
      ),
      'file',
    ),
  );

  const metrics = {
    days: n,
    from: isoDay(test.days[0]!),
    to: isoDay(test.days[n - 1]!),
    model: modelMetrics,
    persistence: baselineMetrics,
    up_days_share: upDaysShare(real, persistence),
    rmse_ratio: rmseRatio,
    beats_persistence: rmseRatio < 1,
    seed_spread: seedSpread,
    units: {
      ...METRIC_UNITS,
      seed_spread: { seeds: 'models', within_10pct: 'share of seeds, 0..1', beats_persistence: 'share of seeds, 0..1', better_than_model: 'share of the other seeds, 0..1' },
    },
    notes: {
      persistence: 'the naive forecast: tomorrow = today (the real price of the day before)',
      rmse_ratio: 'model rmse / persistence rmse; below 1 beats the naive forecast',
      directional_accuracy:
        'share of days where sign(forecast - previous real) == sign(real - previous real); null for persistence, which forecasts no move; compare it with up_days_share',
      up_days_share: 'share of test days whose real price rose above the day before: the directional accuracy of always forecasting "up"',
      seed_spread:
        'rmse_ratio of the same config trained from other seeds (train.spread_seeds, seeds seed + 1000·k) and of this model: how much of the result is the luck of one random start and batch order; per seed in seeds.arrow; null when train.spread_seeds is 0',
    },
  };
  await writeFile(ctx.output('metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);

  const points = Array.from({ length: n }, (_, i) => ({
    date: isoDay(test.days[i]!),
    real: real[i]!,
    predicted: predicted[i]!,
    persistence: persistence[i]!,
  }));
  const chartWarning = (message: string) => ctx.info(`chart: ${message}`);
  const prediction = await renderSpec(predictionSpec(points), chartWarning);
  await writeFile(ctx.output('prediction.svg'), prediction.svg);
  await writeFile(ctx.output('prediction.png'), prediction.png);
  const loss = await renderSpec(lossSpec(history.loss), chartWarning);
  await writeFile(ctx.output('loss.svg'), loss.svg);
  await writeFile(ctx.output('loss.png'), loss.png);

  ctx.info(
    `${n} test days: model RMSE ${modelMetrics.rmse.toFixed(2)} USD, persistence ${baselineMetrics.rmse.toFixed(2)} USD, ratio ${rmseRatio.toFixed(3)}` +
      (rmseRatio < 1 ? '' : ' (does not beat "tomorrow = today")'),
  );
  if (seedSpread) {
    ctx.info(
      `over ${seedSpread.seeds} seeds of this config: ratio median ${seedSpread.rmse_ratio_median.toFixed(3)}, ` +
        `${seedSpread.rmse_ratio_min.toFixed(3)}..${seedSpread.rmse_ratio_max.toFixed(3)}; ${Math.round(seedSpread.beats_persistence * seedSpread.seeds)} of ${seedSpread.seeds} beat persistence`,
    );
  }
}
