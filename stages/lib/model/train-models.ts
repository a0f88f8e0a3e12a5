// The `train` stage's config trained outside the train stage (forecast, backtest): each model built with
// tfjs' seeded initialisers and trained by the fused trainer on the worker pool (spread-pool.ts), exactly
// as train trains its model and its seed spread. The same seed on the same pairs gives train's model,
// bit for bit.
import type { z } from 'zod';
import type { PipelineParams } from '../../../pipeline/contract/stage.ts';
import type { train } from '../../train.ts';
import type { LstmSpec } from './lstm.ts';
import { buildModel, readWeights, withWarningsTo } from './model.ts';
import { spreadThreads, trainSpread, type SpreadJob, type SpreadResult } from './spread-pool.ts';
import type { Probe, TrainData } from './trainer.ts';
import { cores, estimateLine, NO_LATER, stepThreads, trainingFlops, type Estimate } from './cost.ts';

export type TrainParams = z.output<(typeof train)['params']>;

/** The train stage's params among the pipeline's (the calling stage declares them in its `uses`). */
export function trainParamsOf(pipeline: PipelineParams): TrainParams {
  const p = pipeline.train;
  if (p === undefined) throw new Error("the train stage's parameters are missing from the pipeline's");
  return p as TrainParams;
}

/** split.lookback among the pipeline's params. */
export function lookbackOf(pipeline: PipelineParams): number {
  const lookback = pipeline.split?.lookback;
  if (typeof lookback !== 'number' || !Number.isInteger(lookback) || lookback < 1) {
    throw new Error(`split.lookback must be a positive integer, got ${JSON.stringify(lookback)}`);
  }
  return lookback;
}

export function specOf(p: TrainParams, lookback: number): LstmSpec {
  return { lookback, units: p.units, layers: p.layers, activation: p.activation, dropout: p.dropout };
}

export interface ModelJob {
  readonly seed: number;
  readonly data: TrainData;
}

export interface TrainModelsOptions {
  /** What one model is called in messages: "backtest fold", "forecast model". */
  readonly name: string;
  readonly signal?: AbortSignal;
  /** After every epoch of every model: epochs done of all, their total, the model's index and epoch. */
  readonly onEpoch?: (done: number, total: number, index: number, epoch: number) => void;
  /** tfjs' initialiser warnings, each said once. */
  readonly warn?: (message: string) => void;
  /** Worker threads; default the pool's rule for this much work. */
  readonly threads?: number;
  /**
   * Say what the training will cost, as train does: the first model's first steps are timed, and when
   * all the models will take over a minute, `say` gets cost.ts' estimate line (with what these models
   * are) before any epoch is reported.
   */
  readonly estimate?: { readonly say: (line: string) => void } & Pick<Estimate, 'spreadSeeds' | 'auto' | 'folds'>;
}

export interface TrainedModels {
  /** In the order of the jobs. */
  readonly results: readonly SpreadResult[];
  /** Threads the models trained on (1 when no worker could start). */
  readonly threads: number;
  /** Threads that were planned for this much work. */
  readonly planned: number;
}

/** Trains one model of the train config per job, from the job's seed, on the job's pairs. */
export async function trainModels(p: TrainParams, lookback: number, jobs: readonly ModelJob[], options: TrainModelsOptions): Promise<TrainedModels> {
  if (jobs.length === 0) return { results: [], threads: 1, planned: 1 };
  const spec = specOf(p, lookback);
  const said = new Set<string>();
  const warn = (message: string) => {
    if (!said.has(message)) options.warn?.(message);
    said.add(message);
  };
  const shared = jobs[0]!.data;
  const poolJobs: SpreadJob[] = jobs.map((job) => {
    const model = withWarningsTo(warn, () => buildModel({ ...spec, seed: job.seed }));
    try {
      // Only pairs other than the pool's travel with the job.
      return { seed: job.seed, theta: readWeights(model, spec), ...(job.data === shared ? {} : { data: job.data }) };
    } finally {
      model.dispose();
    }
  });
  const rows = jobs.reduce((sum, job) => sum + job.data.rows, 0) / jobs.length;
  const planned = options.threads ?? spreadThreads(jobs.length, Math.round(rows), p.epochs, trainingFlops(spec, rows, p.epochs));
  const total = p.epochs * jobs.length;
  let done = 0;
  // Epochs finished before the estimate is said are reported after it, so the line comes before the bar.
  let held: [number, number][] | undefined = options.estimate ? [] : undefined;
  const report = (index: number, epoch: number) => options.onEpoch?.(++done, total, index, epoch);
  const release = () => {
    const waiting = held ?? [];
    held = undefined;
    for (const [index, epoch] of waiting) report(index, epoch);
  };
  const estimate = options.estimate;
  const onProbe = estimate
    ? (probe: Probe, parallel: number) => {
        // Every model's steps at the first model's pace, `parallel` models at a time.
        const steps = jobs.reduce((sum, job) => sum + p.epochs * Math.ceil(job.data.rows / Math.min(p.batch_size, job.data.rows)), 0);
        const { say, ...what } = estimate;
        const line = estimateLine({ ...what, seconds: (probe.secondsPerStep * steps) / parallel, models: jobs.length, weights: poolJobs[0]!.theta.length, later: NO_LATER });
        if (line) say(line);
        release();
      }
    : undefined;
  const { results, threads } = await trainSpread(spec, shared, poolJobs, {
    epochs: p.epochs,
    batchSize: p.batch_size,
    learningRate: p.learning_rate,
    shuffle: p.shuffle,
    signal: options.signal,
    threads: planned,
    // A model trained here (one job, or no worker) splits its steps over threads as train's model does.
    stepThreads: stepThreads(spec, Math.min(p.batch_size, Math.round(rows)), cores()),
    name: options.name,
    onEpoch: (index, epoch) => (held ? held.push([index, epoch]) : report(index, epoch)),
    onProbe,
  });
  release();
  return { results, threads, planned };
}
