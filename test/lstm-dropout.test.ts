// tfjs' Dropout draws its mask from Math.random, so the fused trainer's dropout cannot be compared
// with tfjs; it is checked against central finite differences of its own loss instead, with the same
// masks for every evaluation (the random source is re-seeded each time). Weights are float32, so the
// step actually taken is fround(w + h) - fround(w - h), not 2h. Tolerance: 1e-4 * max(1, |g|).
import { expect, it } from 'vitest';
import { FusedLstm, paramLayout } from '../stages/lib/model/lstm.ts';
import { seededRandom } from '../stages/lib/model/batch-order.ts';

it('with dropout, fused gradients equal finite differences under the same masks', () => {
  const spec = { lookback: 3, units: 3, layers: 2, activation: 'tanh' as const, dropout: 0.3 };
  const size = paramLayout(spec).size;
  const theta = Float32Array.from({ length: size }, (_, i) => 0.6 * Math.sin(2.1 * i + 0.3));
  const batch = 4;
  const x = Float64Array.from({ length: batch * 3 }, (_, i) => Math.cos(0.9 * i));
  const y = Float64Array.from({ length: batch }, (_, i) => 0.3 * i - 0.2);
  const net = new FusedLstm(spec, batch);
  const grad = new Float64Array(size);
  const scratch = new Float64Array(size);
  const lossAt = (w: Float32Array) => net.lossAndGradient(w, x, y, batch, scratch, seededRandom(99));
  const base = net.lossAndGradient(theta, x, y, batch, grad, seededRandom(99));
  expect(base).toBeGreaterThan(0);

  let checked = 0;
  for (let i = 0; i < size; i++) {
    const w = Float32Array.from(theta);
    w[i] = theta[i]! + 1e-3;
    const up = w[i]!;
    const lossUp = lossAt(w);
    w[i] = theta[i]! - 1e-3;
    const down = w[i]!;
    const numeric = (lossUp - lossAt(w)) / (up - down);
    expect(Math.abs(grad[i]! - numeric)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(numeric)));
    if (Math.abs(numeric) > 1e-3) checked++;
  }
  expect(checked).toBeGreaterThan(size / 3);
});

it('inverted dropout changes each prediction but not their mean (one layer)', () => {
  // With one LSTM layer the Dense output is linear in the masked h, so with masks m / (1 - rate) the
  // mean prediction over many masks is the prediction without dropout. A prediction under a mask is
  // recovered from two losses with the same mask: L(a) - L(b) = (a² - b²) - 2 (a - b) yhat.
  const spec = { lookback: 2, units: 6, layers: 1, activation: 'sigmoid' as const, dropout: 0.4 };
  const size = paramLayout(spec).size;
  const theta = Float32Array.from({ length: size }, (_, i) => 0.7 * Math.cos(1.7 * i));
  const net = new FusedLstm(spec, 1);
  const x = new Float64Array([0.2, 0.9]);
  const grad = new Float64Array(size);
  const plain = net.predict(theta, x, 1)[0]!;
  const draws = 20000;
  let sum = 0;
  let differs = 0;
  for (let k = 0; k < draws; k++) {
    const la = net.lossAndGradient(theta, x, new Float64Array([1]), 1, grad, seededRandom(k));
    const lb = net.lossAndGradient(theta, x, new Float64Array([0]), 1, grad, seededRandom(k));
    const yhat = (1 - (la - lb)) / 2;
    sum += yhat;
    if (Math.abs(yhat - plain) > 1e-9) differs++;
  }
  expect(differs).toBeGreaterThan(draws * 0.9);
  // Standard error of the mean here is < 0.005; 0.02 leaves room without hiding a wrong scale (a
  // missing 1 / (1 - rate) would shift the mean by 40%).
  expect(Math.abs(sum / draws - plain)).toBeLessThan(0.02 * Math.max(0.1, Math.abs(plain)) + 0.01);
});
