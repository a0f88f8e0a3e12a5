// The training loop: seeded batch order, fused forward/backward, tfjs-equivalent Adam. Pure arithmetic on
// typed arrays, so the same inputs give the same weights bit for bit on every run and machine.
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
}

export interface TrainResult {
  /** Mean training loss of each epoch, weighted by batch size, as Keras' History records it. */
  readonly loss: number[];
  readonly steps: number;
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
  const net = new FusedLstm(spec, batchSize);
  const adam = new Adam(theta.length, { learningRate: options.learningRate });
  const grad = new Float64Array(theta.length);
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  const shuffleRandom = seededRandom(options.seed ^ SHUFFLE_STREAM);
  const dropoutRandom = seededRandom(options.seed ^ DROPOUT_STREAM);
  const bx = new Float64Array(batchSize * steps);
  const by = new Float64Array(batchSize);
  const history: number[] = [];
  let stepCount = 0;

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
      const loss = net.lossAndGradient(theta, bx, by, size, grad, dropoutRandom);
      if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} in epoch ${epoch}`);
      adam.step(theta, grad);
      sum += loss * size;
      stepCount++;
    }
    history.push(sum / rows);
    await options.onEpoch?.(epoch, sum / rows);
    // Give the event loop a turn so Ctrl-C (an abort) can land between epochs.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (options.signal?.aborted) throw abortError(options.signal);
  return { loss: history, steps: stepCount };
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('training aborted');
  error.name = 'AbortError';
  return error;
}
