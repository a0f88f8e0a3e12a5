// What training a config costs, in arithmetic (machine-independent) and, from a timed probe of its
// first steps, in seconds on this machine. Dependency-free: the train stage's declaration uses it too.
//
// The rules that keep big configs usable, both from the arithmetic alone so that the same config
// trains the same models on every machine:
// - `spread_seeds: auto` (the default) trains the seed spread's full 20 seeds while they cost at most
//   SPREAD_BUDGET_FLOPS together, and as many as fit otherwise (0 when one model alone is over it).
//   On this project's 2-core development machine the budget is about 2 minutes of spread.
// - A step of at least PARALLEL_STEP_FLOPS is split over worker threads (batch rows, then gradient rows;
//   the weights come out the same whatever the thread count), one per core, at most MAX_THREADS.

import { availableParallelism } from 'node:os';

export interface CostSpec {
  readonly lookback: number;
  readonly units: number;
  readonly layers: number;
}

/**
 * Floating-point operations of one training pair through the model and back: per LSTM layer and time
 * step, the gate pre-activations ((inputDim + units) × 4·units multiply-adds), the gradient with respect
 * to the layer's input and state (as many), and the weight gradients (as many); 2 operations each.
 * Element-wise work (activations, cell state) is a few percent of it from 8 units up and left out.
 */
export function flopsPerPair(spec: CostSpec): number {
  const g = 4 * spec.units;
  let flops = 0;
  for (let k = 0; k < spec.layers; k++) {
    const inputDim = k === 0 ? 1 : spec.units;
    flops += 3 * 2 * (inputDim + spec.units) * g * spec.lookback;
  }
  return flops + 3 * 2 * spec.units;
}

/** Floating-point operations of training one model: every pair through the model, every epoch. */
export function trainingFlops(spec: CostSpec, rows: number, epochs: number): number {
  return flopsPerPair(spec) * rows * epochs;
}

export const MAX_AUTO_SPREAD = 20;
/** 2.4 TFLOP: ~2 minutes on 2 cores at the ~10 GFLOP/s a core reaches here (bench/train.ts). */
export const SPREAD_BUDGET_FLOPS = 2.4e12;

/** spread_seeds: auto — every seed up to 20 that fits the budget. */
export function autoSpreadSeeds(modelFlops: number): number {
  if (modelFlops <= 0) return MAX_AUTO_SPREAD;
  return Math.max(0, Math.min(MAX_AUTO_SPREAD, Math.floor(SPREAD_BUDGET_FLOPS / modelFlops)));
}

/**
 * The number of spread seeds a `spread_seeds` value means for a model of `modelFlops` (trainingFlops),
 * with the words that say why: `rule` for train/report.json, `fewer` for the log when auto keeps fewer
 * than 20. Every stage that trains the spread (train, forecast) resolves it here, so they agree.
 */
export function resolveSpreadSeeds(param: number | 'auto', modelFlops: number): { count: number; rule: string; fewer?: string } {
  if (param !== 'auto') return { count: param, rule: `${param} as set` };
  const count = autoSpreadSeeds(modelFlops);
  const budget = `${SPREAD_BUDGET_FLOPS / 1e12} TFLOP`;
  return {
    count,
    rule: `auto: ${count} seeds of ${(modelFlops / 1e9).toPrecision(3)} GFLOP each within the ${budget} spread budget (at most ${MAX_AUTO_SPREAD})`,
    ...(count < MAX_AUTO_SPREAD
      ? {
          fewer: `${count} seed${count === 1 ? '' : 's'}, not ${MAX_AUTO_SPREAD} (spread_seeds auto: ${MAX_AUTO_SPREAD} would be ${((MAX_AUTO_SPREAD * modelFlops) / 1e12).toPrecision(2)} TFLOP of training, over the ${budget} budget; set train.spread_seeds to choose)`,
        }
      : {}),
  };
}

/**
 * Below this, a step is over in about half a millisecond, and waking another thread for it (twice a
 * step) does not pay on a busy machine: measured at 32 / 7 / 16 (2.8 MFLOP a step), 2 threads took
 * 4.13 s and 1 thread 3.48 s; at 64 / 30 / 32 (96 MFLOP), 16.1 s against 23.9 s (bench/train-grid.ts).
 */
export const PARALLEL_STEP_FLOPS = 5e6;
/** Each worker holds its own compiler and heap (~30–40 MB). */
export const MAX_THREADS = 8;

/**
 * Cores training may use: availableParallelism(), or fewer with PIPELINE_THREADS=N in the environment
 * (a shared machine, a benchmark on one core). Threads never change results, so this is no parameter.
 */
export function cores(env: NodeJS.ProcessEnv = process.env): number {
  const all = availableParallelism();
  const limit = Number(env.PIPELINE_THREADS);
  return Number.isInteger(limit) && limit >= 1 ? Math.min(all, limit) : all;
}

/** Threads for one model's steps: 1, or one per core when a step is big enough (never more than rows). */
export function stepThreads(spec: CostSpec, batchSize: number, cores: number): number {
  if (flopsPerPair(spec) * batchSize < PARALLEL_STEP_FLOPS) return 1;
  return Math.max(1, Math.min(cores, MAX_THREADS, batchSize));
}

/** "about 14 min", "about 50 s", "about 2.1 h". */
export function aboutDuration(seconds: number): string {
  if (seconds < 90) return `about ${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `about ${Math.round(seconds / 60)} min`;
  return `about ${(seconds / 3600).toFixed(1)} h`;
}

/** Models that other training stages of this pipeline will train (forecast, backtest), from their params. */
export interface LaterTrainings {
  readonly models: number;
  readonly forecast: number;
  readonly backtestFolds: number;
}

/**
 * The forecast stage trains the model and its spread again on every pair (1 + spread_seeds models); the
 * backtest stage trains one model per fold. Counted when the pipeline has those stages.
 */
export function otherTrainings(pipeline: Readonly<Record<string, Readonly<Record<string, unknown>> | undefined>>, spreadSeeds: number): LaterTrainings {
  const forecast = pipeline.forecast ? 1 + spreadSeeds : 0;
  const folds = pipeline.backtest?.folds;
  const backtestFolds = typeof folds === 'number' && Number.isInteger(folds) && folds > 0 ? folds : 0;
  return { models: forecast + backtestFolds, forecast, backtestFolds };
}

/** Above this, `pipeline run` says what training will cost before it starts. */
export const ESTIMATE_SECONDS = 60;

export interface Estimate {
  readonly seconds: number;
  /** Models this stage trains: train's or forecast's model and its spread, or the backtest's folds. */
  readonly models: number;
  readonly weights: number;
  /** The seed spread among those models (train, forecast); undefined for the backtest, which trains none. */
  readonly spreadSeeds?: number;
  /** spread_seeds was auto. */
  readonly auto?: boolean;
  /** The backtest's folds, when those models are them (one model each). */
  readonly folds?: number;
  readonly later: LaterTrainings;
}

/** Nothing trained after this stage (forecast and backtest say their own line). */
export const NO_LATER: LaterTrainings = { models: 0, forecast: 0, backtestFolds: 0 };

/**
 * `about 14 min for 21 models of 16961 weights (spread_seeds 20; set train.spread_seeds: 0 for one
 * model)`, or undefined when the estimate is within ESTIMATE_SECONDS.
 */
export function estimateLine(e: Estimate): string | undefined {
  if (!(e.seconds > ESTIMATE_SECONDS)) return undefined;
  const models = e.models + e.later.models;
  const parts = e.spreadSeeds === undefined ? [] : [`spread_seeds ${e.auto ? `auto: ${e.spreadSeeds}` : e.spreadSeeds}`];
  if (e.folds !== undefined) parts.push(`${e.folds} fold${e.folds === 1 ? '' : 's'}, one model each`);
  if (e.later.forecast > 0) parts.push(`forecast ${e.later.forecast}`);
  if (e.later.backtestFolds > 0) parts.push(`backtest ${e.later.backtestFolds} fold${e.later.backtestFolds === 1 ? '' : 's'}`);
  // What trains fewer models: the spread (always optional) and the backtest's folds (the user's choice of
  // test windows, so never cut automatically; they train side by side on the worker pool).
  const folds = e.later.backtestFolds > 0 || (e.folds ?? 0) > 0;
  if ((e.spreadSeeds ?? 0) > 0) parts.push(`set train.spread_seeds: 0${folds ? ' or fewer backtest.folds' : ''} for ${e.later.models > 0 ? 'fewer models' : 'one model'}`);
  else if (folds) parts.push('set fewer backtest.folds for fewer models');
  return `${aboutDuration(e.seconds)} for ${models} model${models === 1 ? '' : 's'} of ${e.weights} weights (${parts.join('; ')})`;
}
