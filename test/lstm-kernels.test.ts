// The trainer's matrix kernels (gemm.wasm through stages/lib/model/lstm-core.ts) against the plain
// per-element loops they replaced (test/helpers/reference-lstm.ts): the same loss, gradient and
// predictions, bit for bit (Object.is on every float64), for shapes that hit every tile of the kernels
// (4-row bands and single rows; 4-, 2- and 1-column tiles; padded rows from 64 columns), several layers,
// dropout, and a last batch smaller than the others.
import { describe, expect, it } from 'vitest';
import { FusedLstm, paramLayout, type Activation } from '../stages/lib/model/lstm.ts';
import { seededRandom } from '../stages/lib/model/batch-order.ts';
import { ReferenceLstm } from './helpers/reference-lstm.ts';

const cases: { lookback: number; units: number; layers: number; activation: Activation; dropout: number; batch: number }[] = [
  { lookback: 1, units: 4, layers: 1, activation: 'sigmoid', dropout: 0, batch: 5 },
  { lookback: 3, units: 5, layers: 2, activation: 'tanh', dropout: 0.3, batch: 7 },
  { lookback: 7, units: 17, layers: 1, activation: 'relu', dropout: 0, batch: 13 },
  { lookback: 4, units: 3, layers: 3, activation: 'linear', dropout: 0.2, batch: 6 },
  { lookback: 5, units: 33, layers: 2, activation: 'sigmoid', dropout: 0.1, batch: 9 },
  { lookback: 3, units: 64, layers: 1, activation: 'tanh', dropout: 0, batch: 10 },
];

function differing(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}

describe('the matrix kernels give exactly what the per-element loops give', () => {
  for (const c of cases) {
    it(`${c.layers} × LSTM(${c.units}, ${c.activation}) over ${c.lookback} steps, dropout ${c.dropout}, batch ${c.batch}`, () => {
      const size = paramLayout(c).size;
      const random = seededRandom(c.units * 31 + c.lookback);
      const theta = Float32Array.from({ length: size }, () => random() - 0.5);
      const x = Float64Array.from({ length: c.batch * c.lookback }, () => random());
      const y = Float64Array.from({ length: c.batch }, () => random());
      const fused = new FusedLstm(c, c.batch);
      const reference = new ReferenceLstm(c, c.batch);
      for (const batch of [c.batch, c.batch - 2]) {
        const got = new Float64Array(size);
        const want = new Float64Array(size);
        const loss = fused.lossAndGradient(theta, x, y, batch, got, seededRandom(5));
        const wantLoss = reference.lossAndGradient(theta, x, y, batch, want, seededRandom(5));
        expect(Object.is(loss, wantLoss)).toBe(true);
        expect(differing(got, want)).toEqual([]);
        // Not a comparison of zeros (with one time step the recurrent kernel's gradient is zero).
        expect(want.filter((g) => g !== 0).length).toBeGreaterThan(size / 4);
        expect(differing(fused.predict(theta, x, batch), reference.predict(theta, x, batch))).toEqual([]);
      }
    });
  }
});
