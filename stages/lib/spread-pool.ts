// Trains the seed spread's models (stages/lib/seed-spread.ts) side by side on worker threads when there is
// enough work to pay for starting them, else one after another here. Either way every model is trained
// by trainFused from its own seed and starting weights, so the result is bit for bit the same.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { LstmSpec } from './lstm.ts';
import { abortError, trainFused, type TrainData } from './trainer.ts';

export interface SpreadJob {
  readonly seed: number;
  /** Starting weights (the model's getWeights() order); not modified. */
  readonly theta: Float32Array;
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
}

// A worker takes ~0.3 s to start (tsx compiles the trainer in it); below this many row-epochs in all,
// the threads would cost more than they save. The default sample's spread is ~1.6M.
const PARALLEL_WORK = 500_000;

export function spreadThreads(jobs: number, rows: number, epochs: number): number {
  if (jobs < 2 || jobs * rows * epochs < PARALLEL_WORK) return 1;
  return Math.max(1, Math.min(jobs, availableParallelism()));
}

export async function trainSpread(spec: LstmSpec, data: TrainData, jobs: readonly SpreadJob[], options: SpreadOptions): Promise<SpreadResult[]> {
  const threads = options.threads ?? spreadThreads(jobs.length, data.rows, options.epochs);
  if (threads > 1) {
    const pooled = await inWorkers(spec, data, jobs, options, threads);
    if (pooled !== 'no workers') return pooled;
  }
  const results: SpreadResult[] = [];
  for (const [index, job] of jobs.entries()) {
    const theta = Float32Array.from(job.theta);
    let loss: number[];
    try {
      ({ loss } = await trainFused(spec, theta, data, { ...trainOptions(options), seed: job.seed, signal: options.signal, onEpoch: (epoch) => options.onEpoch?.(index, epoch) }));
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw failure(jobs, index, (error as Error).message, error);
    }
    results.push({ seed: job.seed, theta, loss });
  }
  return results;
}

function trainOptions(options: SpreadOptions) {
  const { epochs, batchSize, learningRate, shuffle } = options;
  return { epochs, batchSize, learningRate, shuffle };
}

function failure(jobs: readonly SpreadJob[], index: number, message: string, cause?: unknown): Error {
  return new Error(`seed spread ${index + 1}/${jobs.length} (seed ${jobs[index]!.seed}): ${message}`, { cause });
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'epoch'; index: number; epoch: number }
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
    const give = (worker: Worker) => {
      if (next >= jobs.length) return;
      const index = next++;
      const theta = Float32Array.from(jobs[index]!.theta);
      worker.postMessage({ index, seed: jobs[index]!.seed, theta }, [theta.buffer]);
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    for (let t = 0; t < threads; t++) {
      const worker = new Worker(new URL('./spread-worker.mjs', import.meta.url), { workerData });
      workers.push(worker);
      worker.on('message', (message: WorkerMessage) => {
        if (settled) return;
        if (message.type === 'ready') {
          started = true;
          give(worker);
        } else if (message.type === 'epoch') {
          options.onEpoch?.(message.index, message.epoch);
        } else if (message.type === 'done') {
          results[message.index] = { seed: jobs[message.index]!.seed, theta: message.theta, loss: message.loss };
          if (++finished === jobs.length) settle(() => resolve(results));
          else give(worker);
        } else {
          settle(() => reject(failure(jobs, message.index, message.message)));
        }
      });
      // A worker that cannot start (no tsx where it runs) leaves the work to the caller's thread.
      worker.on('error', (error) => settle(() => (started ? reject(error) : resolve('no workers'))));
      worker.on('exit', (code) => {
        if (code !== 0) settle(() => (started ? reject(new Error(`a seed spread worker stopped (exit code ${code})`)) : resolve('no workers')));
      });
    }
  });
}
