// The training loop: seeded batch order, fused forward/backward, tfjs-equivalent Adam. Pure arithmetic on
// typed arrays and WebAssembly, so the same inputs give the same weights bit for bit on every run and
// machine, on one thread or several.
import { Adam, FusedLstm, type LstmSpec } from './lstm.ts';
import { seededRandom, shuffleInPlace } from './batch-order.ts';

export interface TrainData {
  /** Row-major [rows, lookback] scaled inputs (x1 oldest … xL the day before). */
  readonly x: Float64Array;
  /** Scaled target of each row. */
  readonly y: Float64Array;
  readonly rows: number;
}

export interface TrainOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly signal?: AbortSignal;
  /** Called after each epoch with its mean loss; may be async (the loop awaits it). */
  readonly onEpoch?: (epoch: number, loss: number) => void | Promise<void>;
  /** Threads for each step (this one + workers; see batch-team.ts). Default 1. Results do not depend on it. */
  readonly threads?: number;
  /** Start only once every worker thread is up (tests, benchmarks); by default they join as they start. */
  readonly awaitThreads?: boolean;
  /** Called once, after the first PROBE_SECONDS of steps or the first epoch, whichever ends first. */
  readonly onProbe?: (probe: Probe) => void;
}

/** What the first steps of a training run measured. */
export interface Probe {
  /**
   * Wall-clock seconds of a step: the median over the later half of the timed steps, so that the first
   * ones (compiling the kernels, worker threads starting up beside them) do not count.
   */
  readonly secondsPerStep: number;
  /** Steps of the whole run. */
  readonly steps: number;
  /** Threads of those steps (the median). */
  readonly threads: number;
  /** True when the whole run was measured (it ended within the probe). */
  readonly complete: boolean;
}

/** How long the steps are timed before onProbe is told (or the first epoch, when shorter). */
export const PROBE_SECONDS = 1;
/** The longest the loop computes without giving the event loop a turn (Ctrl-C, progress, workers). */
const YIELD_SECONDS = 0.05;

export interface TrainResult {
  /** Mean training loss of each epoch, weighted by batch size, as Keras' History records it. */
  readonly loss: number[];
  readonly steps: number;
  /** The most threads a step ran on (workers join once started). */
  readonly threads: number;
}

// Batch order and dropout masks draw from streams seeded apart from the initialisers' seeds.
const SHUFFLE_STREAM = 0x5eed0001;
const DROPOUT_STREAM = 0x5eed0002;

/** Trains `theta` (the model's weights in getWeights() order) in place. */
export async function trainFused(spec: LstmSpec, theta: Float32Array, data: TrainData, options: TrainOptions): Promise<TrainResult> {
  const { rows } = data;
  const steps = spec.lookback;
  if (rows < 1) throw new Error('no training rows');
  if (data.x.length !== rows * steps || data.y.length !== rows) {
    throw new Error(`training data: expected ${rows * steps} inputs and ${rows} targets, got ${data.x.length} and ${data.y.length}`);
  }
  const batchSize = Math.min(options.batchSize, rows);
  const net = new FusedLstm(spec, batchSize, { threads: options.threads ?? 1 });
  try {
    if (options.awaitThreads) await net.ready();
    return await trainLoop(spec, theta, data, options, net, batchSize);
  } finally {
    await net.dispose();
  }
}

async function trainLoop(spec: LstmSpec, theta: Float32Array, data: TrainData, options: TrainOptions, net: FusedLstm, batchSize: number): Promise<TrainResult> {
  const { rows } = data;
  const steps = spec.lookback;
  const adam = new Adam(theta.length, { learningRate: options.learningRate });
  const grad = new Float64Array(theta.length);
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  const shuffleRandom = seededRandom(options.seed ^ SHUFFLE_STREAM);
  const dropoutRandom = seededRandom(options.seed ^ DROPOUT_STREAM);
  const bx = new Float64Array(batchSize * steps);
  const by = new Float64Array(batchSize);
  const history: number[] = [];
  let stepCount = 0;
  const totalSteps = options.epochs * Math.ceil(rows / batchSize);
  const started = performance.now();
  let lastYield = started;
  const timed: { seconds: number; threads: number }[] = [];
  let probed = options.onProbe === undefined;
  let maxThreads = 1;

  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    if (options.shuffle) shuffleInPlace(order, shuffleRandom);
    let sum = 0;
    for (let start = 0; start < rows; start += batchSize) {
      if (options.signal?.aborted) throw abortError(options.signal);
      const size = Math.min(batchSize, rows - start);
      for (let n = 0; n < size; n++) {
        const row = order[start + n]!;
        by[n] = data.y[row]!;
        for (let t = 0; t < steps; t++) bx[n * steps + t] = data.x[row * steps + t]!;
      }
      const stepStarted = probed ? 0 : performance.now();
      const loss = net.lossAndGradient(theta, bx, by, size, grad, dropoutRandom);
      if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} in epoch ${epoch}`);
      adam.step(theta, grad);
      sum += loss * size;
      stepCount++;
      maxThreads = Math.max(maxThreads, net.lastThreads);
      const now = performance.now();
      if (!probed) {
        timed.push({ seconds: (now - stepStarted) / 1000, threads: net.lastThreads });
        const epochEnd = start + batchSize >= rows;
        if ((stepCount >= 5 && now - started >= PROBE_SECONDS * 1000) || epochEnd) {
          probed = true;
          const later = timed.slice(Math.floor(timed.length / 2));
          options.onProbe!({
            secondsPerStep: median(later.map((t) => t.seconds)),
            steps: totalSteps,
            threads: median(later.map((t) => t.threads)),
            complete: stepCount === totalSteps,
          });
        }
      }
      if (now - lastYield >= YIELD_SECONDS * 1000) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    history.push(sum / rows);
    await options.onEpoch?.(epoch, sum / rows);
    // Give the event loop a turn so Ctrl-C (an abort) can land between epochs.
    await new Promise<void>((resolve) => setImmediate(resolve));
    lastYield = performance.now();
  }
  if (options.signal?.aborted) throw abortError(options.signal);
  return { loss: history, steps: stepCount, threads: maxThreads };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('training aborted');
  error.name = 'AbortError';
  return error;
}
