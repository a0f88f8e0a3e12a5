// The fused trainer's gradients against tfjs autodiff of the same LayersModel (tf.variableGrads over
// model.apply). tfjs computes in float32, the fused pass in float64 from the same float32 weights, so
// they agree to float32 rounding: |fused - tfjs| <= 1e-6 + 1e-5 * |tfjs| per weight.
import { afterAll, describe, expect, it } from 'vitest';
import { loadTf } from '../stages/lib/model/tf.ts';
import { buildModel, readWeights } from '../stages/lib/model/model.ts';
import { FusedLstm, type Activation } from '../stages/lib/model/lstm.ts';
import { autodiffGradients } from '../stages/lib/model/autodiff.ts';

const { tf } = await loadTf();
const before = tf.memory().numTensors;

const cases: { name: string; lookback: number; units: number; layers: number; activation: Activation }[] = [
  { name: 'the notebook model: LSTM(4, sigmoid), 1 day', lookback: 1, units: 4, layers: 1, activation: 'sigmoid' },
  { name: 'two stacked tanh layers over 3 days', lookback: 3, units: 3, layers: 2, activation: 'tanh' },
  { name: 'three relu layers over 2 days', lookback: 2, units: 4, layers: 3, activation: 'relu' },
  { name: 'a linear layer over 4 days', lookback: 4, units: 5, layers: 1, activation: 'linear' },
];

describe('fused gradients equal tfjs autodiff of the layers model', () => {
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(before);
  });
  for (const c of cases) {
    it(c.name, () => {
      const spec = { ...c, dropout: 0, seed: 3 };
      const model = buildModel(spec);
      try {
        const theta = readWeights(model, spec);
        const batch = 5;
        const x = Float64Array.from({ length: batch * c.lookback }, (_, i) => 0.9 * Math.sin(1.3 * i + 0.2));
        const y = Float64Array.from({ length: batch }, (_, i) => 0.5 + 0.4 * Math.cos(0.7 * i));
        const grad = new Float64Array(theta.length);
        const loss = new FusedLstm(spec, batch).lossAndGradient(theta, x, y, batch, grad);
        const reference = autodiffGradients(model, x, y, batch, c.lookback);
        expect(loss).toBeCloseTo(reference.loss, 6);
        expect(grad.length).toBe(reference.grad.length);
        let nonZero = 0;
        for (let i = 0; i < grad.length; i++) {
          const want = reference.grad[i]!;
          expect(Math.abs(grad[i]! - want)).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(want));
          if (Math.abs(want) > 1e-4) nonZero++;
        }
        // Guards against a comparison of (nearly) all-zero vectors. With one time step the recurrent
        // kernel's gradient is zero by construction (h0 = 0), so not every weight can count.
        expect(nonZero).toBeGreaterThanOrEqual(10);
      } finally {
        model.dispose();
      }
    });
  }
});
