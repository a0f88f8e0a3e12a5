// The forecaster's training arithmetic: a fused forward + backward pass of the whole model (stacked
// Keras-style LSTM layers, optional dropout, Dense(1), mean squared error) and tfjs' Adam update, on
// typed arrays and WebAssembly matrix kernels (lstm-core.ts).
//
// Why: through tfjs ops, a training step spends nearly all its time in per-op overhead (hundreds of
// small kernels and tensor allocations per step) for the notebook's ~100 weights, and in single-threaded
// unblocked loops for bigger models. The same arithmetic as a few batched matrix products and one loop
// nest is far faster (see bench/train.ts for the figures). The result is still a tfjs LayersModel:
// weights are initialised by tfjs' seeded initialisers, copied in here, trained, and copied back.
// test/lstm-gradients.test.ts checks these gradients against tfjs autodiff of the layers model,
// test/lstm-adam.test.ts the update against tfjs' Adam, and test/lstm-kernels.test.ts that every number
// is bit for bit what the plain per-element loops give, on 1 thread or several.
//
// Gate order and formulas follow Keras (and tfjs-layers' LSTMCell): columns [i | f | c | o] of the
// kernel, recurrent kernel and bias; i, f, o use the recurrent activation (sigmoid), the candidate and
// the cell output use `activation`.
import { coreMemory, coreLayout, LstmCore, type LstmSpec, type ParamLayout } from './lstm-core.ts';
import { BatchTeam } from './batch-team.ts';

export { paramLayout, type Activation, type LstmSlots, type LstmSpec, type ParamLayout } from './lstm-core.ts';

/**
 * Forward and backward passes with preallocated buffers for batches of up to `maxBatch` rows.
 * Inputs `x` are row-major [batch, lookback] (one feature per time step, as in the split's x1..xL).
 */
export class FusedLstm {
  readonly layout: ParamLayout;
  private readonly core: LstmCore;
  private readonly team: BatchTeam | undefined;
  /** Threads the last step ran on. */
  lastThreads = 1;

  /**
   * `threads` > 1 starts that many − 1 worker threads for the steps (they join once started; call
   * dispose() to stop them). The results do not depend on it.
   */
  constructor(
    readonly spec: LstmSpec,
    readonly maxBatch: number,
    options: { threads?: number; workerScript?: URL } = {},
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`maxBatch must be a positive integer, got ${maxBatch}`);
    this.core = new LstmCore(spec, maxBatch, coreMemory(coreLayout(spec, maxBatch)));
    this.layout = this.core.params;
    const threads = Math.min(options.threads ?? 1, maxBatch);
    this.team = threads > 1 ? new BatchTeam(this.core, spec, threads - 1, options.workerScript) : undefined;
  }

  /** Waits until every worker thread has started (they join the steps as they start anyway). */
  async ready(timeoutMs?: number): Promise<number> {
    return 1 + ((await this.team?.ready(timeoutMs)) ?? 0);
  }

  /** Stops the worker threads, if any. */
  async dispose(): Promise<void> {
    await this.team?.dispose();
  }

  /** Predictions for `batch` rows, without dropout (inference). */
  predict(theta: Float32Array, x: Float64Array, batch: number): Float64Array {
    this.check(theta, x, batch);
    const core = this.core;
    core.loadWeights(theta);
    core.loadBatch(x, undefined, batch);
    core.forward(0, batch, batch, false);
    return core.f64.slice(core.layout.yhat, core.layout.yhat + batch);
  }

  /**
   * Mean squared error of one batch and its gradient with respect to every weight, written into
   * `grad` (same layout as `theta`). With dropout, `random` draws the masks (inverted dropout, as Keras).
   */
  lossAndGradient(
    theta: Float32Array,
    x: Float64Array,
    y: Float64Array,
    batch: number,
    grad: Float64Array,
    random?: () => number,
  ): number {
    this.check(theta, x, batch);
    if (grad.length !== this.layout.size) throw new Error(`gradient buffer has ${grad.length} slots, expected ${this.layout.size}`);
    const dropout = this.spec.dropout > 0;
    if (dropout && !random) throw new Error('dropout > 0 needs a seeded random source for its masks');
    if (y.length < batch) throw new Error(`expected ${batch} targets, got ${y.length}`);
    const core = this.core;
    core.loadWeights(theta);
    core.loadBatch(x, y, batch);
    if (dropout) core.drawMasks(batch, random!);
    if (this.team) {
      this.lastThreads = this.team.step(batch, dropout);
    } else {
      core.forward(0, batch, batch, dropout);
      core.backward(0, batch, batch, dropout);
      core.gradients(0, 1, batch, dropout);
    }
    grad.set(core.f64.subarray(core.layout.grad, core.layout.grad + this.layout.size));
    return core.loss(batch);
  }

  private check(theta: Float32Array, x: Float64Array, batch: number): void {
    if (theta.length !== this.layout.size) throw new Error(`expected ${this.layout.size} weights, got ${theta.length}`);
    if (!Number.isInteger(batch) || batch < 1 || batch > this.maxBatch) {
      throw new Error(`batch must be 1..${this.maxBatch} rows, got ${batch}`);
    }
    if (x.length < batch * this.spec.lookback) throw new Error(`expected ${batch * this.spec.lookback} inputs, got ${x.length}`);
  }
}

export interface AdamConfig {
  readonly learningRate: number;
  readonly beta1?: number;
  readonly beta2?: number;
  /** tfjs' default is the backend's epsilon, 1e-7 in float32 (also Keras' default). */
  readonly epsilon?: number;
}

const f32 = Math.fround;

/**
 * tfjs' AdamOptimizer.applyGradients, op for op, on float32 storage: every intermediate tensor of
 * that implementation is a float32 array, so each step is rounded here where tfjs rounds.
 */
export class Adam {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly oneMinusBeta1: number;
  private readonly oneMinusBeta2: number;
  private readonly epsilon: number;
  private readonly negLearningRate: number;
  private accBeta1: number;
  private accBeta2: number;

  constructor(size: number, config: AdamConfig) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
    this.beta1 = f32(config.beta1 ?? 0.9);
    this.beta2 = f32(config.beta2 ?? 0.999);
    this.oneMinusBeta1 = f32(1 - (config.beta1 ?? 0.9));
    this.oneMinusBeta2 = f32(1 - (config.beta2 ?? 0.999));
    this.epsilon = f32(config.epsilon ?? 1e-7);
    this.negLearningRate = f32(-config.learningRate);
    this.accBeta1 = this.beta1;
    this.accBeta2 = this.beta2;
  }

  step(theta: Float32Array, grad: Float64Array): void {
    const c1 = f32(1 - this.accBeta1);
    const c2 = f32(1 - this.accBeta2);
    for (let i = 0; i < theta.length; i++) {
      const g = f32(grad[i]!);
      const m = f32(f32(this.m[i]! * this.beta1) + f32(g * this.oneMinusBeta1));
      const v = f32(f32(this.v[i]! * this.beta2) + f32(f32(g * g) * this.oneMinusBeta2));
      this.m[i] = m;
      this.v[i] = v;
      const mHat = f32(m / c1);
      const vHat = f32(v / c2);
      const update = f32(f32(mHat / f32(f32(Math.sqrt(vHat)) + this.epsilon)) * this.negLearningRate);
      theta[i] = f32(update + theta[i]!);
    }
    this.accBeta1 = f32(this.accBeta1 * this.beta1);
    this.accBeta2 = f32(this.accBeta2 * this.beta2);
  }
}
