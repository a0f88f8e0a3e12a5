// Trains the seed spread's models (stages/lib/model/seed-spread.ts) side by side on worker threads when there is
// enough work to pay for starting them, else one after another here. Either way every model is trained
// by trainFused from its own seed and starting weights, so the result is bit for bit the same. The
// forecast's models and the backtest's folds (each fold on its own pairs) train through it too.
import { Worker } from 'node:worker_threads';
import type { LstmSpec } from './lstm.ts';
import { abortError, trainFused, type Probe, type TrainData } from './trainer.ts';
import { cores } from './cost.ts';
import { workerScript } from '../../../pipeline/contract/worker.ts';

export interface SpreadJob {
  readonly seed: number;
  /** Starting weights (the model's getWeights() order); not modified. */
  readonly theta: Float32Array;
  /** The pairs this model trains on when they are not the pool's (a backtest fold's own). */
  readonly data?: TrainData;
}

export interface SpreadResult {
  readonly seed: number;
  readonly theta: Float32Array;
  /** Mean training loss of each epoch. */
  readonly loss: number[];
}

export interface SpreadOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly shuffle: boolean;
  readonly signal?: AbortSignal;
  /** After every epoch of every model, with the job's index. Parallel jobs interleave. */
  readonly onEpoch?: (index: number, epoch: number) => void;
  /** Worker threads; 1 trains here. Default: from the amount of work and the cores. */
  readonly threads?: number;
  /** Threads for each step of a model trained here (trainFused's `threads`); default 1. */
  readonly stepThreads?: number;
  /** The workers' script (tests put broken ones here); default spread-worker.mjs beside this file. */
  readonly workerScript?: URL;
  /** What a job is called in messages, e.g. "backtest fold"; default "seed spread". */
  readonly name?: string;
  /**
   * The first job's probe (trainFused's onProbe), wherever it trains, with how many models train side by
   * side: the workers', or 1 here.
   */
  readonly onProbe?: (probe: Probe, parallel: number) => void;
}

// A worker takes ~0.3 s to start (tsx compiles the trainer in it); below this many row-epochs in all,
// the threads would cost more than they save. The default sample's spread is ~1.6M. Big models pay for
// them with fewer rows: PARALLEL_FLOPS of arithmetic in all (see cost.ts) is a few seconds' work too.
const PARALLEL_WORK = 500_000;
const PARALLEL_FLOPS = 3e9;
// Each worker holds its own compiler and heap (~30–40 MB), and a container's CPU quota may be far below
// the host's core count that availableParallelism() reports.
const MAX_THREADS = 8;

/** `modelFlops`: one model's training arithmetic (cost.ts trainingFlops), when known. */
export function spreadThreads(jobs: number, rows: number, epochs: number, modelFlops = 0): number {
  if (jobs < 2 || (jobs * rows * epochs < PARALLEL_WORK && jobs * modelFlops < PARALLEL_FLOPS)) return 1;
  return Math.max(1, Math.min(jobs, cores(), MAX_THREADS));
}

export interface SpreadRun {
  readonly results: SpreadResult[];
  /** Threads the models were trained on: 1 when asked for, or when no worker could start. */
  readonly threads: number;
}

export async function trainSpread(spec: LstmSpec, data: TrainData, jobs: readonly SpreadJob[], options: SpreadOptions): Promise<SpreadRun> {
  if (jobs.length === 0) return { results: [], threads: 1 };
  const threads = Math.min(options.threads ?? spreadThreads(jobs.length, data.rows, options.epochs), jobs.length);
  if (threads > 1) {
    const pooled = await inWorkers(spec, data, jobs, options, threads);
    if (pooled !== 'no workers') return { results: pooled, threads };
  }
  const results: SpreadResult[] = [];
  for (const [index, job] of jobs.entries()) {
    const theta = Float32Array.from(job.theta);
    let loss: number[];
    try {
      ({ loss } = await trainFused(spec, theta, job.data ?? data, {
        ...trainOptions(options),
        seed: job.seed,
        signal: options.signal,
        threads: options.stepThreads,
        onEpoch: (epoch) => options.onEpoch?.(index, epoch),
        onProbe: index === 0 && options.onProbe ? (probe) => options.onProbe!(probe, 1) : undefined,
      }));
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw failure(options, jobs, index, (error as Error).message, error);
    }
    results.push({ seed: job.seed, theta, loss });
  }
  return { results, threads: 1 };
}

function trainOptions(options: SpreadOptions) {
  const { epochs, batchSize, learningRate, shuffle } = options;
  return { epochs, batchSize, learningRate, shuffle };
}

function failure(options: SpreadOptions, jobs: readonly SpreadJob[], index: number, message: string, cause?: unknown): Error {
  return new Error(`${options.name ?? 'seed spread'} ${index + 1}/${jobs.length} (seed ${jobs[index]!.seed}): ${message}`, { cause });
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'epoch'; index: number; epoch: number }
  | { type: 'probe'; probe: Probe }
  | { type: 'done'; index: number; theta: Float32Array; loss: number[] }
  | { type: 'failed'; index: number; message: string };

/** The jobs on `threads` workers, each taking the next job when done; 'no workers' if none could start. */
function inWorkers(
  spec: LstmSpec,
  data: TrainData,
  jobs: readonly SpreadJob[],
  options: SpreadOptions,
  threads: number,
): Promise<SpreadResult[] | 'no workers'> {
  const { lookback, units, layers, activation, dropout } = spec;
  const workerData = {
    spec: { lookback, units, layers, activation, dropout },
    data: { x: data.x, y: data.y, rows: data.rows },
    options: trainOptions(options),
  };
  return new Promise((resolve, reject) => {
    const results: SpreadResult[] = [];
    const workers: Worker[] = [];
    let next = 0;
    let finished = 0;
    let started = false;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      for (const worker of workers) void worker.terminate();
      outcome();
    };
    const onAbort = () => settle(() => reject(abortError(options.signal!)));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // Which job each worker is on, so a worker that dies can be named by it.
    const current = new Map<Worker, number>();
    const lost = (worker: Worker, what: string) => {
      const index = current.get(worker);
      return index === undefined ? new Error(`a ${options.name ?? 'seed spread'} worker ${what}`) : failure(options, jobs, index, `its worker ${what}`);
    };
    const give = (worker: Worker) => {
      if (next >= jobs.length) return;
      const index = next++;
      current.set(worker, index);
      const job = jobs[index]!;
      const theta = Float32Array.from(job.theta);
      // A job's own pairs are copied to the worker with the message (the pool's came with workerData).
      const own = job.data === undefined ? undefined : { x: job.data.x, y: job.data.y, rows: job.data.rows };
      worker.postMessage({ index, seed: job.seed, theta, data: own, probe: index === 0 && options.onProbe !== undefined }, [theta.buffer]);
    };
    for (let t = 0; t < threads && !settled; t++) {
      let worker: Worker;
      try {
        worker = new Worker(options.workerScript ?? workerScript(new URL('./spread-worker.mjs', import.meta.url)), { workerData });
      } catch (error) {
        settle(() => (started ? reject(error) : resolve('no workers')));
        break;
      }
      workers.push(worker);
      worker.on('message', (message: WorkerMessage) => {
        if (settled) return;
        if (message.type === 'ready') {
          started = true;
          give(worker);
        } else if (message.type === 'epoch') {
          options.onEpoch?.(message.index, message.epoch);
        } else if (message.type === 'probe') {
          options.onProbe?.(message.probe, threads);
        } else if (message.type === 'done') {
          results[message.index] = { seed: jobs[message.index]!.seed, theta: message.theta, loss: message.loss };
          current.delete(worker);
          if (++finished === jobs.length) settle(() => resolve(results));
          else give(worker);
        } else {
          settle(() => reject(failure(options, jobs, message.index, message.message)));
        }
      });
      // A worker that cannot start (no tsx where it runs) leaves the work to the caller's thread. Once
      // work has started, any error or exit (even code 0) before the last job is done is a failure.
      worker.on('error', (error) => settle(() => (started ? reject(lost(worker, `failed: ${error.message}`)) : resolve('no workers'))));
      worker.on('messageerror', (error) => settle(() => reject(lost(worker, `sent a message that could not be read: ${error.message}`))));
      worker.on('exit', (code) => settle(() => (started ? reject(lost(worker, `stopped (exit code ${code})`)) : resolve('no workers'))));
    }
  });
}
