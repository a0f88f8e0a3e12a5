// Training steps of the fused trainer against tfjs doing the same steps itself: optimizer.minimize
// with tf.train.adam on the layers model, same batches in the same order. Both run in float32 storage;
// after 40 steps the weights agree to 2e-6 (the update of each step is ~1e-3).
import { expect, it } from 'vitest';
import { loadTf } from '../stages/lib/model/tf.ts';
import { buildModel, readWeights } from '../stages/lib/model/model.ts';
import { Adam, FusedLstm } from '../stages/lib/model/lstm.ts';
import { autodiffStep } from '../stages/lib/model/autodiff.ts';

const { tf } = await loadTf();

it('fused steps with its Adam follow tfjs autodiff with tfjs Adam', () => {
  const before = tf.memory().numTensors;
  const spec = { lookback: 2, units: 4, layers: 1, activation: 'sigmoid' as const, dropout: 0, seed: 11 };
  const model = buildModel(spec);
  const optimizer = tf.train.adam(0.01);
  try {
    const theta = readWeights(model, spec);
    const start = Float32Array.from(theta);
    const net = new FusedLstm(spec, 5);
    const adam = new Adam(theta.length, { learningRate: 0.01 });
    const grad = new Float64Array(theta.length);
    for (let step = 0; step < 40; step++) {
      const x = Float64Array.from({ length: 10 }, (_, i) => 0.5 + 0.45 * Math.sin(0.37 * (step * 10 + i)));
      const y = Float64Array.from({ length: 5 }, (_, i) => 0.5 + 0.45 * Math.sin(0.37 * (step * 10 + 2 * i + 2)));
      const fusedLoss = net.lossAndGradient(theta, x, y, 5, grad);
      adam.step(theta, grad);
      const tfLoss = autodiffStep(model, optimizer, x, y, 5, spec.lookback);
      expect(Math.abs(fusedLoss - tfLoss)).toBeLessThan(1e-5);
    }
    const reference = readWeights(model, spec);
    let moved = 0;
    for (let i = 0; i < theta.length; i++) {
      expect(Math.abs(theta[i]! - reference[i]!)).toBeLessThan(2e-6);
      moved = Math.max(moved, Math.abs(theta[i]! - start[i]!));
    }
    // The weights did move (lr 0.01, 40 steps), so the agreement above is not trivial.
    expect(moved).toBeGreaterThan(0.05);
  } finally {
    model.dispose();
    optimizer.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
});
