// Issue 16's figure, part of `npm run bench -- quality`: the 12-fold walk-forward backtest (30-day folds,
// scaler and model refitted before each, one step ahead) of the default config for both targets, `price`
// and `log_return`: ours (the backtest stage's own code: its folds, the train-models pool, tfjs predict)
// from the default seed and the default seed spread's 20 seeds, next to PyTorch training the same model
// (bench/train/torch_lstm.py, Keras cell and initialisers) on the same folds' pairs from 3 seeds.
// Goal: with log_return, the pooled ratio is below 1 for the default seed and for the median seed.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { foldsOf, type Fold } from '../stages/run/backtest.ts';
import { targetSeries, toPrice, type Target } from '../stages/lib/data/scaling.ts';
import { dieboldMariano, verdictOf } from '../stages/lib/evaluation/backtest.ts';
import { buildModel, predict, writeWeights } from '../stages/lib/model/model.ts';
import { spreadSeeds } from '../stages/lib/model/spread-seeds.ts';
import { specOf, trainModels, type TrainParams } from '../stages/lib/model/train-models.ts';
import { PYTHON } from './train.ts';

const run = promisify(execFile);
const FOLDS = 12;
const HORIZON = 30;
const LOOKBACK = 1;
const TARGETS: readonly Target[] = ['price', 'log_return'];
const DEFAULT_SEED = 42;
/** The default seed and the default seed spread's (42 + 1000·k, k = 1..20). */
const OURS_SEEDS = [DEFAULT_SEED, ...spreadSeeds(DEFAULT_SEED, 20)];
const TORCH_SEEDS = [0, 1, 2];
const TRAIN: TrainParams = { units: 4, layers: 1, activation: 'sigmoid', dropout: 0, epochs: 30, batch_size: 5, learning_rate: 0.001, shuffle: true, seed: DEFAULT_SEED, spread_seeds: 0 };

export interface Outcome {
  readonly seed: number;
  readonly pooled_ratio: number;
  readonly statistic: number | null;
  readonly p_value: number | null;
  readonly fold_ratios: number[];
  readonly verdict: string;
}

/** Scores one seed's forecasts (scaled model outputs per fold) as the backtest stage does, in USD. */
function score(target: Target, folds: readonly Fold[], prices: Float64Array, firstDay: number, outputs: readonly ArrayLike<number>[], seed: number): Outcome {
  const real: number[] = [];
  const model: number[] = [];
  const persistence: number[] = [];
  const foldRatios = folds.map((fold, f) => {
    let m = 0;
    let p = 0;
    for (let n = 0; n < fold.test.rows; n++) {
      const day = fold.test.targets[n]! + firstDay;
      const predicted = toPrice(target, fold.fit, outputs[f]![n]!, prices[day - 1]!);
      real.push(prices[day]!);
      model.push(predicted);
      persistence.push(prices[day - 1]!);
      m += (predicted - prices[day]!) ** 2;
      p += (prices[day - 1]! - prices[day]!) ** 2;
    }
    return Math.sqrt(m / p);
  });
  let m = 0;
  let p = 0;
  for (let i = 0; i < real.length; i++) {
    m += (model[i]! - real[i]!) ** 2;
    p += (persistence[i]! - real[i]!) ** 2;
  }
  const ratio = Math.sqrt(m / p);
  const dm = dieboldMariano(real, model, persistence);
  return { seed, pooled_ratio: ratio, statistic: dm.statistic, p_value: dm.p_value, fold_ratios: foldRatios, verdict: verdictOf(ratio, dm.p_value) };
}

function csv(x: Float64Array, y: Float64Array, rows: number): string {
  const lines = Array.from({ length: rows }, (_, n) => `${x[n]},${y[n]}`);
  return `x1,y\n${lines.join('\n')}\n`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface TorchRun {
  name: string;
  seed: number;
  test_predictions: number[];
}

export async function backtestQuality(prices: Float64Array, work: string): Promise<Record<string, unknown>> {
  const perTarget = TARGETS.map((target) => {
    const series = targetSeries(prices, target);
    return { target, firstDay: series.firstDay, folds: foldsOf(series.values, LOOKBACK, FOLDS, HORIZON) };
  });

  // PyTorch in its own process (the second core), all folds of both targets from each of its seeds.
  const dir = join(work, 'backtest');
  await mkdir(dir, { recursive: true });
  const manifest: { name: string; csv: string; test: string }[] = [];
  for (const { target, folds } of perTarget) {
    for (const fold of folds) {
      const name = `${target}-${fold.window.fold}`;
      const trainCsv = join(dir, `${name}-train.csv`);
      const testCsv = join(dir, `${name}-test.csv`);
      await writeFile(trainCsv, csv(fold.train.x, fold.train.y, fold.train.rows));
      await writeFile(testCsv, csv(fold.test.x, fold.test.y, fold.test.rows));
      manifest.push({ name, csv: trainCsv, test: testCsv });
    }
  }
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const torchStarted = performance.now();
  const torchArgs = [
    join(import.meta.dirname, 'train', 'torch_lstm.py'),
    ...['--manifest', join(dir, 'manifest.json'), '--cell', 'keras', '--units', '4', '--activation', 'sigmoid'],
    ...['--epochs', String(TRAIN.epochs), '--batch', String(TRAIN.batch_size), '--lr', String(TRAIN.learning_rate), '--seeds', TORCH_SEEDS.join(',')],
  ];
  const torchPending = run(PYTHON, torchArgs, { maxBuffer: 1 << 26 }).then(
    ({ stdout }) => ({ ok: true as const, out: JSON.parse(stdout.trim().split('\n').at(-1)!) as { torch: string; runs: TorchRun[] }, wall: (performance.now() - torchStarted) / 1000 }),
    (error: unknown) => ({ ok: false as const, reason: (error as Error).message.split('\n')[0]! }),
  );

  // Ours: the backtest stage's folds and pool, each seed's 12 fold models, predicted through tfjs.
  const oursStarted = performance.now();
  const ours: Record<string, Outcome[]> = {};
  const spec = specOf(TRAIN, LOOKBACK);
  const model = buildModel({ ...spec, seed: DEFAULT_SEED });
  try {
    for (const { target, firstDay, folds } of perTarget) {
      ours[target] = [];
      for (const seed of OURS_SEEDS) {
        const trained = await trainModels({ ...TRAIN, seed }, LOOKBACK, folds.map((f) => ({ seed, data: f.train })), { name: 'backtest fold' });
        const outputs = folds.map((fold, f) => {
          writeWeights(model, spec, trained.results[f]!.theta);
          return predict(model, fold.test.x, fold.test.rows, LOOKBACK);
        });
        ours[target]!.push(score(target, folds, prices, firstDay, outputs, seed));
      }
    }
  } finally {
    model.dispose();
  }
  const oursSeconds = (performance.now() - oursStarted) / 1000;

  const torchResult = await torchPending;
  const torch: Record<string, Outcome[]> = {};
  if (torchResult.ok) {
    for (const { target, firstDay, folds } of perTarget) {
      torch[target] = TORCH_SEEDS.map((seed) => {
        const outputs = folds.map((fold) => torchResult.out.runs.find((r) => r.name === `${target}-${fold.window.fold}` && r.seed === seed)!.test_predictions);
        return score(target, folds, prices, firstDay, outputs, seed);
      });
    }
  }

  const f3 = (v: number) => v.toFixed(3);
  const fp = (p: number | null) => (p === null ? 'n/a' : p < 0.001 ? p.toExponential(1) : p.toFixed(3));
  const days = FOLDS * HORIZON;
  const from = perTarget[0]!.folds[0]!.window;
  console.log(`\n### walk-forward backtest: ${FOLDS} folds of ${HORIZON} days (${days} days), refitted per fold, one step ahead\n`);
  console.log(`(first window starts ${from.start} days into the series; figures: pooled rmse_ratio = model RMSE / persistence RMSE in USD; Diebold–Mariano on squared errors)\n`);
  console.log('| target | implementation | seeds | pooled ratio, default seed (p) | median pooled ratio | min..max | significantly better / worse / neither |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const line = (target: Target, name: string, outcomes: Outcome[], defaultSeed: number | undefined) => {
    const ratios = outcomes.map((o) => o.pooled_ratio);
    const d = outcomes.find((o) => o.seed === defaultSeed);
    const count = (v: string) => outcomes.filter((o) => o.verdict === v).length;
    console.log(
      `| ${target} | ${name} | ${outcomes.length} | ${d ? `${f3(d.pooled_ratio)} (p ${fp(d.p_value)})` : '—'} | ${f3(median(ratios))} | ${f3(Math.min(...ratios))}..${f3(Math.max(...ratios))} | ` +
        `${count('beats persistence')} / ${count('worse than persistence')} / ${count('no evidence either way')} |`,
    );
  };
  for (const target of TARGETS) {
    line(target, 'ours', ours[target]!, DEFAULT_SEED);
    if (torchResult.ok) line(target, `PyTorch ${torchResult.out.torch}`, torch[target]!, undefined);
  }
  if (!torchResult.ok) console.log(`\nPyTorch: not measured (${torchResult.reason})`);
  if (torchResult.ok) {
    console.log(`\nPyTorch per seed (pooled ratio, p):`);
    for (const target of TARGETS) console.log(`  ${target}: ${torch[target]!.map((o) => `seed ${o.seed} ${f3(o.pooled_ratio)} (p ${fp(o.p_value)})`).join('; ')}`);
  }

  console.log(`\nper-fold rmse_ratio, ours, seed ${DEFAULT_SEED}:\n`);
  console.log(`| target | ${Array.from({ length: FOLDS }, (_, k) => k + 1).join(' | ')} | pooled | Diebold–Mariano |`);
  console.log(`| --- |${' --- |'.repeat(FOLDS + 2)}`);
  for (const target of TARGETS) {
    const d = ours[target]!.find((o) => o.seed === DEFAULT_SEED)!;
    console.log(`| ${target} | ${d.fold_ratios.map(f3).join(' | ')} | ${f3(d.pooled_ratio)} | statistic ${d.statistic === null ? 'n/a' : d.statistic.toFixed(2)}, p = ${fp(d.p_value)} |`);
  }

  const logReturn = ours.log_return!;
  const defaultRatio = logReturn.find((o) => o.seed === DEFAULT_SEED)!.pooled_ratio;
  const medianRatio = median(logReturn.map((o) => o.pooled_ratio));
  console.log(
    `\ngoal "log_return: pooled ratio below 1 for the default seed and for the median seed": ${defaultRatio < 1 && medianRatio < 1 ? 'met' : 'NOT met'} ` +
      `(default seed ${f3(defaultRatio)}, median of ${logReturn.length} seeds ${f3(medianRatio)})`,
  );
  console.log(
    `time: ours ${OURS_SEEDS.length} seeds x ${FOLDS} folds x ${TARGETS.length} targets = ${OURS_SEEDS.length * FOLDS * TARGETS.length} models in ${oursSeconds.toFixed(1)} s` +
      (torchResult.ok ? `; PyTorch ${torchResult.out.runs.length} models in ${torchResult.wall.toFixed(1)} s (alongside ours)` : ''),
  );

  return {
    folds: FOLDS,
    horizon: HORIZON,
    lookback: LOOKBACK,
    config: TRAIN,
    ours: { seeds: OURS_SEEDS, ...ours, seconds: oursSeconds },
    torch: torchResult.ok ? { version: torchResult.out.torch, seeds: TORCH_SEEDS, ...torch, wall_seconds: torchResult.wall } : { error: torchResult.reason },
    goal_log_return_below_1: { default_seed: defaultRatio, median_seed: medianRatio, met: defaultRatio < 1 && medianRatio < 1 },
  };
}
