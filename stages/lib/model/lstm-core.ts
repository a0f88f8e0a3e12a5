// The arithmetic of one training step of the forecaster (stacked Keras-style LSTM layers, optional
// dropout, Dense(1), mean squared error), laid out for matrix kernels and for several threads.
//
// Every number lives in one shared WebAssembly memory, as float64. The products of a whole batch with a
// weight matrix (gate pre-activations, the recurrent gradient, the weight gradients) run in gemm.wasm
// (./wasm/gemm-wat.mjs: f64x2 SIMD, register-blocked tiles); the element-wise gate arithmetic and
// activations run here in JavaScript. Each sum is accumulated in exactly the order of the plain per-element
// loops this replaces (test/helpers/reference-lstm.ts): a weight's gradient over time steps from the
// last to the first and, within a step, over the batch rows in order; a gate's pre-activation as bias,
// then input terms, then recurrent terms. So the result is bit for bit the same as those loops, on any
// machine (IEEE float64 adds and multiplies, no fused multiply-add, fdlibm's exp and tanh in V8).
//
// Threads: the rows of a batch are independent until the weight gradients are summed over them, so a
// step is split in two phases. Phase 1 (forward and backward through time) gives each thread its own
// rows. Phase 2 (the weight gradients) gives each thread its own gradient rows, each summed over every
// batch row in the fixed order above. No sum is ever split between threads, so the weights come out
// the same whatever the number of threads.
//
// Time-major storage, last step first: row r = s·batch + n holds batch row n at time step
// t = lookback − 1 − s. Then the rows of the gradient sums (t descending, n ascending) are consecutive,
// and the previous time step of row r is row r + batch.
import { GEMM_WASM_BASE64 } from './wasm/gemm-wasm.ts';

export type Activation = 'sigmoid' | 'tanh' | 'relu' | 'linear';

export interface LstmSpec {
  /** Time steps per sample (the pair's x1..xL). */
  readonly lookback: number;
  readonly units: number;
  readonly layers: number;
  readonly activation: Activation;
  /** Rate of the Dropout after each LSTM layer (training only); 0 = none. */
  readonly dropout: number;
}

/** Where one LSTM layer's weights sit in the flat parameter vector (tfjs getWeights() order). */
export interface LstmSlots {
  readonly inputDim: number;
  readonly kernel: number;
  readonly recurrent: number;
  readonly bias: number;
}

export interface ParamLayout {
  readonly lstm: readonly LstmSlots[];
  readonly denseKernel: number;
  readonly denseBias: number;
  readonly size: number;
  /** Shapes in the order of LayersModel.getWeights(). */
  readonly shapes: readonly (readonly number[])[];
}

export function paramLayout(spec: LstmSpec): ParamLayout {
  const u = spec.units;
  const g = 4 * u;
  const lstm: LstmSlots[] = [];
  const shapes: number[][] = [];
  let offset = 0;
  for (let k = 0; k < spec.layers; k++) {
    const inputDim = k === 0 ? 1 : u;
    const kernel = offset;
    offset += inputDim * g;
    const recurrent = offset;
    offset += u * g;
    const bias = offset;
    offset += g;
    lstm.push({ inputDim, kernel, recurrent, bias });
    shapes.push([inputDim, g], [u, g], [g]);
  }
  const denseKernel = offset;
  offset += u;
  const denseBias = offset;
  offset += 1;
  shapes.push([u, 1], [1]);
  return { lstm, denseKernel, denseBias, size: offset, shapes };
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function activationOf(kind: Activation): (x: number) => number {
  switch (kind) {
    case 'sigmoid':
      return sigmoid;
    case 'tanh':
      return Math.tanh;
    case 'relu':
      return (x) => (x > 0 ? x : 0);
    case 'linear':
      return (x) => x;
  }
}

/** The derivative expressed through the activation's output y = f(x) (all four allow it). */
export function derivativeOf(kind: Activation): (y: number) => number {
  switch (kind) {
    case 'sigmoid':
      return (y) => y * (1 - y);
    case 'tanh':
      return (y) => 1 - y * y;
    case 'relu':
      return (y) => (y > 0 ? 1 : 0);
    case 'linear':
      return () => 1;
  }
}

type Gemm = (m: number, n: number, k: number, a: number, ars: number, aks: number, b: number, ldb: number, c: number, ldc: number) => void;

let compiled: WebAssembly.Module | undefined;

function gemmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(GEMM_WASM_BASE64, 'base64'));
  return compiled;
}

/**
 * The row length (in elements) of a stored matrix with `columns` columns. Rows of 4 KiB and its
 * multiples would map every row of a kernel's panel to the same L1 cache set; 8 spare elements spread
 * them out (measured: 10.7 → 14.2 GFLOP/s for 64 × 512 × 128).
 */
function rowLength(columns: number): number {
  return columns >= 64 ? columns + 8 : columns;
}

/** Offsets (in float64 elements) of one LSTM layer's buffers in the shared memory. */
interface LayerBuffers {
  readonly dim: number;
  /** Row lengths of the 4u-column matrices (kernel, recurrent, gates, dz) and of recurrentT. */
  readonly ldg: number;
  readonly ldu: number;
  /** Weights as float64: kernel [dim][4u], recurrent [u][4u], bias [4u], and the transposes [4u][dim], [4u][u]. */
  readonly kernel: number;
  readonly recurrent: number;
  readonly bias: number;
  readonly kernelT: number;
  readonly recurrentT: number;
  /** Per row (see the header): gate activations [4u], cell state, act(cell), h, h after dropout, mask. */
  readonly gates: number;
  readonly cells: number;
  readonly acts: number;
  readonly hs: number;
  readonly outs: number;
  readonly masks: number;
  /** Gradient of the loss with respect to the gate pre-activations, per row [4u]. */
  readonly dz: number;
}

/** Where every buffer of a step lives in the shared memory; the same for every thread. */
export interface CoreLayout {
  readonly one: number;
  readonly layers: readonly LayerBuffers[];
  readonly input: number;
  readonly denseKernel: number;
  readonly denseBias: number;
  readonly y: number;
  readonly yhat: number;
  readonly dy: number;
  readonly dSeqA: number;
  readonly dSeqB: number;
  readonly dhNext: number;
  readonly dcNext: number;
  readonly grad: number;
  /** Float64 elements in all. */
  readonly size: number;
}

export function coreLayout(spec: LstmSpec, maxBatch: number): CoreLayout {
  const { lookback: t, units: u } = spec;
  const g = 4 * u;
  const seq = t * maxBatch;
  let next = 0;
  // Each buffer starts on a 16-byte boundary, so the kernels' f64x2 loads of a row stay aligned.
  const take = (size: number) => {
    const at = next;
    next += size + (size % 2);
    return at;
  };
  const one = take(1);
  const layers: LayerBuffers[] = [];
  for (let k = 0; k < spec.layers; k++) {
    const dim = k === 0 ? 1 : u;
    const ldg = rowLength(g);
    const ldu = rowLength(u);
    const hs = take(seq * u);
    layers.push({
      dim,
      ldg,
      ldu,
      kernel: take(dim * ldg),
      recurrent: take(u * ldg),
      bias: take(g),
      kernelT: take(g * dim),
      recurrentT: take(g * ldu),
      gates: take(seq * ldg),
      cells: take(seq * u),
      acts: take(seq * u),
      hs,
      outs: spec.dropout > 0 ? take(seq * u) : hs,
      masks: spec.dropout > 0 ? take(seq * u) : -1,
      dz: take(seq * ldg),
    });
  }
  return {
    one,
    layers,
    input: take(seq),
    denseKernel: take(u),
    denseBias: take(1),
    y: take(maxBatch),
    yhat: take(maxBatch),
    dy: take(maxBatch),
    dSeqA: take(seq * u),
    dSeqB: spec.layers > 1 ? take(seq * u) : -1,
    dhNext: take(maxBatch * u),
    dcNext: take(maxBatch * u),
    grad: take(paramLayout(spec).size),
    size: next,
  };
}

const PAGE = 65536;

/** A shared memory big enough for the layout (float64 elements). */
export function coreMemory(layout: CoreLayout): WebAssembly.Memory {
  const pages = Math.ceil((layout.size * 8) / PAGE);
  if (pages > 65536) {
    throw new Error(`the model needs ${((layout.size * 8) / 2 ** 30).toFixed(1)} GiB of training buffers; WebAssembly memory ends at 4 GiB (lower units, lookback or batch_size)`);
  }
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

/** A gradient row: one row of one weight matrix's gradient, summed over every batch row. */
interface GradientRows {
  readonly layer: number;
  readonly which: 'bias' | 'kernel' | 'recurrent';
  readonly rows: number;
}

/**
 * The phases of a step over one shared memory. The thread that owns the memory creates it with
 * `coreMemory`; every other thread builds its own LstmCore over the same memory (its own instance of
 * the kernels, the same buffers).
 */
export class LstmCore {
  readonly layout: CoreLayout;
  readonly params: ParamLayout;
  readonly f64: Float64Array;
  private readonly gemm: Gemm;
  private readonly act: (x: number) => number;
  private readonly dAct: (y: number) => number;
  private readonly gradientRows: readonly GradientRows[];

  constructor(
    readonly spec: LstmSpec,
    readonly maxBatch: number,
    readonly memory: WebAssembly.Memory,
  ) {
    this.layout = coreLayout(spec, maxBatch);
    this.params = paramLayout(spec);
    if (memory.buffer.byteLength < this.layout.size * 8) throw new Error('shared memory smaller than the layout');
    this.f64 = new Float64Array(memory.buffer);
    const instance = new WebAssembly.Instance(gemmModule(), { env: { memory } });
    this.gemm = instance.exports.gemm as Gemm;
    this.act = activationOf(spec.activation);
    this.dAct = derivativeOf(spec.activation);
    this.f64[this.layout.one] = 1;
    this.gradientRows = this.layout.layers.flatMap((l, layer) => [
      { layer, which: 'bias' as const, rows: 1 },
      { layer, which: 'kernel' as const, rows: l.dim },
      { layer, which: 'recurrent' as const, rows: spec.units },
    ]);
  }

  /** Rows of all gradient matrices together (phase 2 splits them between threads). */
  get gradientRowCount(): number {
    return this.gradientRows.reduce((n, g) => n + g.rows, 0);
  }

  /** Copies the float32 weights in as float64, with the transposes the backward pass reads. */
  loadWeights(theta: Float32Array): void {
    const F = this.f64;
    const u = this.spec.units;
    const g = 4 * u;
    for (const [k, slots] of this.params.lstm.entries()) {
      const l = this.layout.layers[k]!;
      const dim = slots.inputDim;
      for (let d = 0; d < dim; d++) {
        for (let c = 0; c < g; c++) {
          const w = theta[slots.kernel + d * g + c]!;
          F[l.kernel + d * l.ldg + c] = w;
          F[l.kernelT + c * dim + d] = w;
        }
      }
      for (let j = 0; j < u; j++) {
        for (let c = 0; c < g; c++) {
          const w = theta[slots.recurrent + j * g + c]!;
          F[l.recurrent + j * l.ldg + c] = w;
          F[l.recurrentT + c * l.ldu + j] = w;
        }
      }
      for (let i = 0; i < g; i++) F[l.bias + i] = theta[slots.bias + i]!;
    }
    for (let j = 0; j < u; j++) F[this.layout.denseKernel + j] = theta[this.params.denseKernel + j]!;
    F[this.layout.denseBias] = theta[this.params.denseBias]!;
  }

  /** Copies a batch in: x row-major [batch][lookback] into the time-major input rows, and the targets. */
  loadBatch(x: Float64Array, y: Float64Array | undefined, batch: number): void {
    const F = this.f64;
    const steps = this.spec.lookback;
    for (let n = 0; n < batch; n++) {
      for (let t = 0; t < steps; t++) F[this.layout.input + (steps - 1 - t) * batch + n] = x[n * steps + t]!;
      if (y) F[this.layout.y + n] = y[n]!;
    }
  }

  /**
   * Draws the dropout masks (inverted dropout, as Keras) in the order of the per-element loops: layer
   * by layer, then time step, batch row and unit ascending.
   */
  drawMasks(batch: number, random: () => number): void {
    const F = this.f64;
    const { lookback: steps, units: u, dropout } = this.spec;
    const keep = 1 - dropout;
    for (const l of this.layout.layers) {
      for (let t = 0; t < steps; t++) {
        const base = l.masks + (steps - 1 - t) * batch * u;
        for (let i = 0; i < batch * u; i++) F[base + i] = random() < keep ? 1 / keep : 0;
      }
    }
  }

  /** Phase 1, forward: every layer and the Dense output for batch rows n0..n1-1. */
  forward(n0: number, n1: number, batch: number, dropout: boolean): void {
    const F = this.f64;
    const { lookback: steps, units: u } = this.spec;
    const g = 4 * u;
    const m = n1 - n0;
    const act = this.act;
    const L = this.layout;
    let input = L.input;
    for (const l of L.layers) {
      const { dim, ldg } = l;
      for (let s = steps - 1; s >= 0; s--) {
        const r0 = s * batch + n0;
        // Pre-activations: bias, + input · kernel, + h(t−1) · recurrent kernel (none at the first step).
        for (let n = 0; n < m; n++) F.copyWithin(l.gates + (r0 + n) * ldg, l.bias, l.bias + g);
        this.gemm(m, g, dim, input + r0 * dim, dim, 1, l.kernel, ldg, l.gates + r0 * ldg, ldg);
        if (s < steps - 1) this.gemm(m, g, u, l.hs + (r0 + batch) * u, u, 1, l.recurrent, ldg, l.gates + r0 * ldg, ldg);
        for (let r = r0; r < r0 + m; r++) {
          const gb = l.gates + r * ldg;
          // i and f, then the candidate, then o: [i | f | c | o].
          for (let c = gb; c < gb + 2 * u; c++) F[c] = 1 / (1 + Math.exp(-F[c]!));
          for (let c = gb + 2 * u; c < gb + 3 * u; c++) F[c] = act(F[c]!);
          for (let c = gb + 3 * u; c < gb + g; c++) F[c] = 1 / (1 + Math.exp(-F[c]!));
          const prev = (r + batch) * u;
          const first = s === steps - 1;
          for (let j = 0; j < u; j++) {
            const cPrev = first ? 0 : F[l.cells + prev + j]!;
            const cell = F[gb + u + j]! * cPrev + F[gb + j]! * F[gb + 2 * u + j]!;
            const a = act(cell);
            F[l.cells + r * u + j] = cell;
            F[l.acts + r * u + j] = a;
            F[l.hs + r * u + j] = F[gb + 3 * u + j]! * a;
          }
        }
        if (dropout) for (let i = r0 * u; i < (r0 + m) * u; i++) F[l.outs + i] = F[l.hs + i]! * F[l.masks + i]!;
      }
      input = dropout ? l.outs : l.hs;
    }
    // Dense(1) on the last time step (rows 0..batch-1) of the top layer.
    for (let n = n0; n < n1; n++) F[L.yhat + n] = F[L.denseBias]!;
    this.gemm(m, 1, u, input + n0 * u, u, 1, L.denseKernel, 1, L.yhat + n0, 1);
  }

  /** Phase 1, backward: d loss / d gate pre-activations of batch rows n0..n1-1, every layer and step. */
  backward(n0: number, n1: number, batch: number, dropout: boolean): void {
    const F = this.f64;
    const { lookback: steps, units: u, layers } = this.spec;
    const g = 4 * u;
    const m = n1 - n0;
    const dAct = this.dAct;
    const L = this.layout;
    for (let n = n0; n < n1; n++) F[L.dy + n] = (2 * (F[L.yhat + n]! - F[L.y + n]!)) / batch;
    let dOut = L.dSeqA;
    for (let s = 0; s < steps; s++) F.fill(0, dOut + (s * batch + n0) * u, dOut + (s * batch + n1) * u);
    for (let n = n0; n < n1; n++) {
      for (let j = 0; j < u; j++) F[dOut + n * u + j] = F[L.dy + n]! * F[L.denseKernel + j]!;
    }
    for (let k = layers - 1; k >= 0; k--) {
      const l = L.layers[k]!;
      const { dim, ldg } = l;
      if (dropout) {
        for (let s = 0; s < steps; s++) {
          for (let i = (s * batch + n0) * u; i < (s * batch + n1) * u; i++) F[dOut + i] = F[dOut + i]! * F[l.masks + i]!;
        }
      }
      const dIn = k > 0 ? (dOut === L.dSeqA ? L.dSeqB : L.dSeqA) : -1;
      F.fill(0, L.dhNext + n0 * u, L.dhNext + n1 * u);
      F.fill(0, L.dcNext + n0 * u, L.dcNext + n1 * u);
      for (let s = 0; s < steps; s++) {
        const r0 = s * batch + n0;
        const last = s === steps - 1;
        for (let n = n0; n < n1; n++) {
          const r = s * batch + n;
          const gb = l.gates + r * ldg;
          const zb = l.dz + r * ldg;
          for (let j = 0; j < u; j++) {
            const idx = r * u + j;
            const i = F[gb + j]!;
            const f = F[gb + u + j]!;
            const cand = F[gb + 2 * u + j]!;
            const o = F[gb + 3 * u + j]!;
            const a = F[l.acts + idx]!;
            const dh = F[dOut + idx]! + F[L.dhNext + n * u + j]!;
            const dc = F[L.dcNext + n * u + j]! + dh * o * dAct(a);
            const cPrev = last ? 0 : F[l.cells + idx + batch * u]!;
            F[L.dcNext + n * u + j] = dc * f;
            F[zb + j] = dc * cand * i * (1 - i);
            F[zb + u + j] = dc * cPrev * f * (1 - f);
            F[zb + 2 * u + j] = dc * i * dAct(cand);
            F[zb + 3 * u + j] = dh * a * o * (1 - o);
          }
        }
        if (!last) {
          F.fill(0, L.dhNext + n0 * u, L.dhNext + n1 * u);
          this.gemm(m, u, g, l.dz + r0 * ldg, ldg, 1, l.recurrentT, l.ldu, L.dhNext + n0 * u, u);
        }
        if (dIn >= 0) {
          F.fill(0, dIn + r0 * dim, dIn + (r0 + m) * dim);
          this.gemm(m, dim, g, l.dz + r0 * ldg, ldg, 1, l.kernelT, dim, dIn + r0 * dim, dim);
        }
      }
      if (dIn >= 0) dOut = dIn;
    }
  }

  /**
   * Phase 2: gradient rows part/parts of all layers (each the sum over every batch row and step, in
   * the fixed order), and with part 0 the Dense layer's gradient. Zeroes the rows it writes first.
   */
  gradients(part: number, parts: number, batch: number, dropout: boolean): void {
    const F = this.f64;
    const { lookback: steps, units: u } = this.spec;
    const g = 4 * u;
    const L = this.layout;
    const total = this.gradientRowCount;
    const from = Math.floor((total * part) / parts);
    const to = Math.floor((total * (part + 1)) / parts);
    let at = 0;
    for (const block of this.gradientRows) {
      const lo = Math.max(from, at) - at;
      const hi = Math.min(to, at + block.rows) - at;
      at += block.rows;
      if (hi <= lo) continue;
      const l = L.layers[block.layer]!;
      const slots = this.params.lstm[block.layer]!;
      const input = block.layer === 0 ? L.input : dropout ? L.layers[block.layer - 1]!.outs : L.layers[block.layer - 1]!.hs;
      if (block.which === 'bias') {
        const c = L.grad + slots.bias;
        F.fill(0, c, c + g);
        this.gemm(1, g, steps * batch, L.one, 0, 0, l.dz, l.ldg, c, g);
      } else if (block.which === 'kernel') {
        const c = L.grad + slots.kernel + lo * g;
        F.fill(0, c, c + (hi - lo) * g);
        this.gemm(hi - lo, g, steps * batch, input + lo, 1, l.dim, l.dz, l.ldg, c, g);
      } else {
        const c = L.grad + slots.recurrent + lo * g;
        F.fill(0, c, c + (hi - lo) * g);
        this.gemm(hi - lo, g, (steps - 1) * batch, l.hs + batch * u + lo, 1, u, l.dz, l.ldg, c, g);
      }
    }
    if (part === 0) {
      const top = dropout ? L.layers[L.layers.length - 1]!.outs : L.layers[L.layers.length - 1]!.hs;
      const dk = L.grad + this.params.denseKernel;
      const db = L.grad + this.params.denseBias;
      F.fill(0, dk, dk + u);
      F[db] = 0;
      this.gemm(1, u, batch, L.dy, 0, 1, top, u, dk, u);
      this.gemm(1, 1, batch, L.one, 0, 0, L.dy, 1, db, 1);
    }
  }

  /** Mean squared error of the batch, summed over the rows in order. */
  loss(batch: number): number {
    const F = this.f64;
    let loss = 0;
    for (let n = 0; n < batch; n++) {
      const e = F[this.layout.yhat + n]! - F[this.layout.y + n]!;
      loss += e * e;
    }
    return loss / batch;
  }
}
