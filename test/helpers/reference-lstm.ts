// The forecaster's forward and backward pass as plain per-element loops over Float64Arrays: the trainer
// before its matrix kernels (stages/lib/model/lstm-core.ts), kept as the reference those kernels must
// equal bit for bit (test/lstm-kernels.test.ts). Every sum here runs in the order the kernels promise
// to keep: a gate's pre-activation as bias, input terms, recurrent terms; a weight's gradient over time
// steps from the last to the first and, within a step, over the batch rows in order.
import { activationOf, derivativeOf, paramLayout, type LstmSpec, type ParamLayout } from '../../stages/lib/model/lstm-core.ts';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Forward and backward passes with preallocated buffers for batches of up to `maxBatch` rows.
 * Inputs `x` are row-major [batch, lookback] (one feature per time step, as in the split's x1..xL).
 */
export class ReferenceLstm {
  readonly layout: ParamLayout;
  private readonly act: (x: number) => number;
  private readonly dAct: (y: number) => number;
  private readonly input0: Float64Array;
  private readonly gates: Float64Array[];
  private readonly cells: Float64Array[];
  private readonly acts: Float64Array[];
  private readonly hs: Float64Array[];
  private readonly outs: Float64Array[];
  private readonly masks: Float64Array[];
  private readonly yhat: Float64Array;
  private readonly dy: Float64Array;
  private readonly dz: Float64Array;
  private readonly dhNext: Float64Array;
  private readonly dcNext: Float64Array;
  private readonly dSeqA: Float64Array;
  private readonly dSeqB: Float64Array;

  constructor(
    readonly spec: LstmSpec,
    readonly maxBatch: number,
  ) {
    this.layout = paramLayout(spec);
    this.act = activationOf(spec.activation);
    this.dAct = derivativeOf(spec.activation);
    const t = spec.lookback;
    const u = spec.units;
    const seq = t * maxBatch * u;
    this.input0 = new Float64Array(t * maxBatch);
    const perLayer = (size: number) => Array.from({ length: spec.layers }, () => new Float64Array(size));
    this.gates = perLayer(seq * 4);
    this.cells = perLayer(seq);
    this.acts = perLayer(seq);
    this.hs = perLayer(seq);
    this.outs = spec.dropout > 0 ? perLayer(seq) : this.hs;
    this.masks = spec.dropout > 0 ? perLayer(seq) : [];
    this.yhat = new Float64Array(maxBatch);
    this.dy = new Float64Array(maxBatch);
    this.dz = new Float64Array(maxBatch * 4 * u);
    this.dhNext = new Float64Array(maxBatch * u);
    this.dcNext = new Float64Array(maxBatch * u);
    this.dSeqA = new Float64Array(seq);
    this.dSeqB = new Float64Array(seq);
  }

  /** Predictions for `batch` rows, without dropout (inference). */
  predict(theta: Float32Array, x: Float64Array, batch: number): Float64Array {
    this.check(theta, x, batch);
    this.forward(theta, x, batch, false);
    return this.yhat.slice(0, batch);
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
    if (this.spec.dropout > 0) {
      if (!random) throw new Error('dropout > 0 needs a seeded random source for its masks');
      this.drawMasks(batch, random);
    }
    this.forward(theta, x, batch, this.spec.dropout > 0);
    const { lookback: steps, units: u, layers } = this.spec;
    const g = 4 * u;
    const L = this.layout;
    grad.fill(0);

    let loss = 0;
    for (let n = 0; n < batch; n++) {
      const e = this.yhat[n]! - y[n]!;
      loss += e * e;
      this.dy[n] = (2 * e) / batch;
    }
    loss /= batch;

    // Dense(1) on the last time step of the top layer.
    const top = this.outs[layers - 1]!;
    const last = (steps - 1) * batch;
    let dOut = this.dSeqA;
    dOut.fill(0, 0, steps * batch * u);
    for (let n = 0; n < batch; n++) {
      const dyn = this.dy[n]!;
      grad[L.denseBias] = grad[L.denseBias]! + dyn;
      for (let j = 0; j < u; j++) {
        grad[L.denseKernel + j] = grad[L.denseKernel + j]! + top[(last + n) * u + j]! * dyn;
        dOut[(last + n) * u + j] = dyn * theta[L.denseKernel + j]!;
      }
    }

    for (let k = layers - 1; k >= 0; k--) {
      const slots = L.lstm[k]!;
      const dim = slots.inputDim;
      const gates = this.gates[k]!;
      const cells = this.cells[k]!;
      const acts = this.acts[k]!;
      const hs = this.hs[k]!;
      const input = k === 0 ? this.input0 : this.outs[k - 1]!;
      if (this.spec.dropout > 0) {
        const mask = this.masks[k]!;
        for (let i = 0; i < steps * batch * u; i++) dOut[i] = dOut[i]! * mask[i]!;
      }
      const dIn = k > 0 ? (dOut === this.dSeqA ? this.dSeqB : this.dSeqA) : undefined;
      this.dhNext.fill(0, 0, batch * u);
      this.dcNext.fill(0, 0, batch * u);
      for (let t = steps - 1; t >= 0; t--) {
        for (let n = 0; n < batch; n++) {
          const row = t * batch + n;
          for (let j = 0; j < u; j++) {
            const idx = row * u + j;
            const gb = row * g;
            const i = gates[gb + j]!;
            const f = gates[gb + u + j]!;
            const cand = gates[gb + 2 * u + j]!;
            const o = gates[gb + 3 * u + j]!;
            const a = acts[idx]!;
            const dh = dOut[idx]! + this.dhNext[n * u + j]!;
            const dc = this.dcNext[n * u + j]! + dh * o * this.dAct(a);
            const cPrev = t > 0 ? cells[((t - 1) * batch + n) * u + j]! : 0;
            this.dcNext[n * u + j] = dc * f;
            const zb = n * g;
            this.dz[zb + j] = dc * cand * i * (1 - i);
            this.dz[zb + u + j] = dc * cPrev * f * (1 - f);
            this.dz[zb + 2 * u + j] = dc * i * this.dAct(cand);
            this.dz[zb + 3 * u + j] = dh * a * o * (1 - o);
          }
        }
        for (let n = 0; n < batch; n++) {
          const row = t * batch + n;
          const zb = n * g;
          for (let c = 0; c < g; c++) {
            const dzc = this.dz[zb + c]!;
            grad[slots.bias + c] = grad[slots.bias + c]! + dzc;
            for (let d = 0; d < dim; d++) grad[slots.kernel + d * g + c] = grad[slots.kernel + d * g + c]! + input[row * dim + d]! * dzc;
            if (t > 0) {
              const prev = ((t - 1) * batch + n) * u;
              for (let j = 0; j < u; j++) grad[slots.recurrent + j * g + c] = grad[slots.recurrent + j * g + c]! + hs[prev + j]! * dzc;
            }
          }
          for (let j = 0; j < u; j++) {
            let s = 0;
            for (let c = 0; c < g; c++) s += this.dz[zb + c]! * theta[slots.recurrent + j * g + c]!;
            this.dhNext[n * u + j] = s;
          }
          if (dIn) {
            for (let d = 0; d < dim; d++) {
              let s = 0;
              for (let c = 0; c < g; c++) s += this.dz[zb + c]! * theta[slots.kernel + d * g + c]!;
              dIn[row * dim + d] = s;
            }
          }
        }
      }
      if (dIn) dOut = dIn;
    }
    return loss;
  }

  private check(theta: Float32Array, x: Float64Array, batch: number): void {
    if (theta.length !== this.layout.size) throw new Error(`expected ${this.layout.size} weights, got ${theta.length}`);
    if (!Number.isInteger(batch) || batch < 1 || batch > this.maxBatch) {
      throw new Error(`batch must be 1..${this.maxBatch} rows, got ${batch}`);
    }
    if (x.length < batch * this.spec.lookback) throw new Error(`expected ${batch * this.spec.lookback} inputs, got ${x.length}`);
  }

  private drawMasks(batch: number, random: () => number): void {
    const keep = 1 - this.spec.dropout;
    const size = this.spec.lookback * batch * this.spec.units;
    for (const mask of this.masks) {
      for (let i = 0; i < size; i++) mask[i] = random() < keep ? 1 / keep : 0;
    }
  }

  private forward(theta: Float32Array, x: Float64Array, batch: number, dropout: boolean): void {
    const { lookback: steps, units: u, layers } = this.spec;
    const g = 4 * u;
    const act = this.act;
    // Inference reads the layers' raw outputs; only training goes through the masked copies.
    const outs = dropout ? this.outs : this.hs;
    // Time-major copy of the input, so every layer reads its input as [t][n][d].
    for (let n = 0; n < batch; n++) for (let t = 0; t < steps; t++) this.input0[t * batch + n] = x[n * steps + t]!;

    for (let k = 0; k < layers; k++) {
      const slots = this.layout.lstm[k]!;
      const dim = slots.inputDim;
      const input = k === 0 ? this.input0 : outs[k - 1]!;
      const gates = this.gates[k]!;
      const cells = this.cells[k]!;
      const acts = this.acts[k]!;
      const hs = this.hs[k]!;
      for (let t = 0; t < steps; t++) {
        for (let n = 0; n < batch; n++) {
          const row = t * batch + n;
          const gb = row * g;
          const prev = ((t - 1) * batch + n) * u;
          for (let c = 0; c < g; c++) {
            let z = theta[slots.bias + c]!;
            for (let d = 0; d < dim; d++) z += input[row * dim + d]! * theta[slots.kernel + d * g + c]!;
            if (t > 0) for (let j = 0; j < u; j++) z += hs[prev + j]! * theta[slots.recurrent + j * g + c]!;
            gates[gb + c] = c >= 2 * u && c < 3 * u ? act(z) : sigmoid(z);
          }
          for (let j = 0; j < u; j++) {
            const cPrev = t > 0 ? cells[prev + j]! : 0;
            const cell = gates[gb + u + j]! * cPrev + gates[gb + j]! * gates[gb + 2 * u + j]!;
            const a = act(cell);
            cells[row * u + j] = cell;
            acts[row * u + j] = a;
            hs[row * u + j] = gates[gb + 3 * u + j]! * a;
          }
        }
      }
      if (dropout) {
        const out = this.outs[k]!;
        const mask = this.masks[k]!;
        for (let i = 0; i < steps * batch * u; i++) out[i] = hs[i]! * mask[i]!;
      }
    }

    const top = outs[layers - 1]!;
    const last = (steps - 1) * batch;
    const L = this.layout;
    for (let n = 0; n < batch; n++) {
      let s = theta[L.denseBias]!;
      for (let j = 0; j < u; j++) s += top[(last + n) * u + j]! * theta[L.denseKernel + j]!;
      this.yhat[n] = s;
    }
  }
}

