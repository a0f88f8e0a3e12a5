// Keras' 'orthogonal' initialiser for the recurrent kernels, fast at every size.
//
// tfjs' Orthogonal draws a seeded normal matrix and takes the Q of its QR decomposition, with the signs
// that make R's diagonal positive. Its QR runs as a few tensor ops per column on an m × m matrix, which
// takes seconds from 64 units and tens of seconds at 128 (it warns of "slowness" above 2,000 elements),
// longer than training such a model. Above that size the same Q is computed here: the same seeded normal
// draws (tfjs' randomNormal), a float64 Householder QR on typed arrays (milliseconds), the same sign rule.
// Q with a positive R diagonal is unique, so this is tfjs' matrix up to float32 rounding (their
// difference is checked in test/lstm-initialisers.test.ts), and closer to orthogonal. At 2,000 elements
// and below (the notebook's 4 units: 64) tfjs' own code runs, so those weights are tfjs' bit for bit.
// The layer keeps tfjs' Orthogonal as its initializer, so model.json names it as Keras does.
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf.ts';

/** tfjs' own threshold for its slowness warning; above it the QR runs here. */
const TFJS_SIZE = 2000;

export function orthogonalInitializer(seed: number): ReturnType<typeof tf.initializers.orthogonal> {
  const init = tf.initializers.orthogonal({ gain: 1, seed });
  const tfjsApply = init.apply.bind(init);
  init.apply = (shape, dtype) => {
    if (shape.length !== 2 || shape[0]! * shape[1]! <= TFJS_SIZE || (dtype !== undefined && dtype !== 'float32')) return tfjsApply(shape, dtype);
    return tf.tensor2d(orthogonal(shape[0]!, shape[1]!, seed), [shape[0]!, shape[1]!], 'float32');
  };
  return init;
}

/** The rows × cols matrix tfjs' Orthogonal(gain 1, seed) approximates, row-major float32. */
export function orthogonal(rows: number, cols: number, seed: number): Float32Array {
  const m = Math.max(rows, cols);
  const n = Math.min(rows, cols);
  const drawn = tf.tidy(() => tf.randomNormal([m, n], 0, 1, 'float32', seed).dataSync() as Float32Array);
  const q = thinQ(Float64Array.from(drawn), m, n);
  const out = new Float32Array(rows * cols);
  // Q is m × n; a wide matrix (rows < cols) is its transpose.
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[rows < cols ? j * cols + i : i * cols + j] = q[i * n + j]!;
  return out;
}

/** Q (m × n, row-major) of A = QR with R's diagonal positive, by Householder reflections (m ≥ n). */
export function thinQ(a: Float64Array, m: number, n: number): Float64Array {
  const vs: Float64Array[] = [];
  const betas: number[] = [];
  const signs: number[] = [];
  for (let j = 0; j < n; j++) {
    let norm = 0;
    for (let i = j; i < m; i++) norm += a[i * n + j]! ** 2;
    norm = Math.sqrt(norm);
    const x0 = a[j * n + j]!;
    const alpha = x0 > 0 ? -norm : norm;
    const v = new Float64Array(m - j);
    for (let i = j; i < m; i++) v[i - j] = a[i * n + j]!;
    v[0] = x0 - alpha;
    let vv = 0;
    for (let i = 0; i < v.length; i++) vv += v[i]! ** 2;
    const beta = vv > 0 ? 2 / vv : 0;
    for (let k = j; k < n; k++) {
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i - j]! * a[i * n + k]!;
      const s = beta * dot;
      for (let i = j; i < m; i++) a[i * n + k] = a[i * n + k]! - s * v[i - j]!;
    }
    vs.push(v);
    betas.push(beta);
    // R[j][j] is now alpha (or x0 when the column was already zero below the diagonal).
    signs.push((beta > 0 ? alpha : x0) < 0 ? -1 : 1);
  }
  // Q = H_0 · H_1 ⋯ H_{n-1} applied to the first n columns of the identity, last reflection first.
  const q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) q[j * n + j] = 1;
  for (let j = n - 1; j >= 0; j--) {
    const v = vs[j]!;
    const beta = betas[j]!;
    if (beta === 0) continue;
    for (let k = 0; k < n; k++) {
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i - j]! * q[i * n + k]!;
      const s = beta * dot;
      if (s !== 0) for (let i = j; i < m; i++) q[i * n + k] = q[i * n + k]! - s * v[i - j]!;
    }
  }
  // Columns whose R diagonal came out negative change sign (tfjs: Q · sign(diag R)).
  for (let j = 0; j < n; j++) if (signs[j] === -1) for (let i = 0; i < m; i++) q[i * n + j] = -q[i * n + j]!;
  return q;
}
