// The model starts from Keras' LSTM initialisers, checked by their defining properties:
//   bias: zeros, except the forget gate's ones (unit_forget_bias; gate order i, f, c, o);
//   recurrent kernel R (u x 4u): 'orthogonal' of a wide matrix has orthonormal rows, R·Rᵀ = I_u;
//   kernels: glorot_uniform, inside ±sqrt(6 / (fan_in + fan_out)).
import { expect, it } from 'vitest';
import { loadTf } from '../stages/lib/model/tf.ts';
import { buildModel } from '../stages/lib/model/model.ts';

const { tf } = await loadTf();

function weightsOf(spec: Parameters<typeof buildModel>[0]): { shape: number[]; values: number[] }[] {
  const model = buildModel(spec);
  try {
    return model.getWeights().map((w) => ({ shape: w.shape, values: Array.from(w.dataSync()) }));
  } finally {
    model.dispose();
  }
}

const glorotLimit = (fanIn: number, fanOut: number) => Math.sqrt(6 / (fanIn + fanOut));

/** Max |(R·Rᵀ - I)_ij| for R of shape [rows, cols], row-major. */
function offIdentity(values: readonly number[], rows: number, cols: number): number {
  let worst = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      let dot = 0;
      for (let k = 0; k < cols; k++) dot += values[i * cols + k]! * values[j * cols + k]!;
      worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

for (const units of [4, 7]) {
  it(`LSTM(${units}) x 2 layers and Dense(1) start from Keras' initialisers`, () => {
    const before = tf.memory().numTensors;
    const u = units;
    const weights = weightsOf({ lookback: 2, units: u, layers: 2, activation: 'sigmoid', dropout: 0, seed: 5 });
    expect(weights.map((w) => w.shape)).toEqual([[1, 4 * u], [u, 4 * u], [4 * u], [u, 4 * u], [u, 4 * u], [4 * u], [u, 1], [1]]);
    for (const layer of [0, 1]) {
      const [kernel, recurrent, bias] = weights.slice(3 * layer, 3 * layer + 3);
      const inputDim = layer === 0 ? 1 : u;
      expect(bias!.values).toEqual([...Array(u).fill(0), ...Array(u).fill(1), ...Array(2 * u).fill(0)]);
      expect(offIdentity(recurrent!.values, u, 4 * u)).toBeLessThan(1e-5);
      const limit = glorotLimit(inputDim, 4 * u);
      expect(Math.max(...kernel!.values.map(Math.abs))).toBeLessThanOrEqual(limit);
      // Not all near zero: a uniform draw of 4u+ values reaches past half the limit.
      expect(Math.max(...kernel!.values.map(Math.abs))).toBeGreaterThan(limit / 2);
    }
    const [denseKernel, denseBias] = weights.slice(6);
    expect(Math.max(...denseKernel!.values.map(Math.abs))).toBeLessThanOrEqual(glorotLimit(u, 1));
    expect(denseBias!.values).toEqual([0]);
    expect(tf.memory().numTensors).toBe(before);
  });
}

// Above 2,000 elements the recurrent kernel's orthogonal initialiser runs in float64 here instead of
// tfjs' tensor-op QR (seconds to minutes from 64 units): the same matrix up to float32 rounding, and at
// most 2,000 elements tfjs' own, bit for bit.
for (const units of [4, 23, 40]) {
  it(`LSTM(${units})'s recurrent kernel is tfjs' Orthogonal(seed) ${units === 4 ? 'bit for bit' : 'to float32 rounding'}`, () => {
    const spec = { lookback: 1, units, layers: 1, activation: 'sigmoid' as const, dropout: 0, seed: 8 };
    const recurrent = weightsOf(spec)[1]!;
    // The model's initialiser seeds are seed (kernel), seed + 1 (recurrent kernel), seed + 2 (dense).
    const warn = console.warn;
    console.warn = () => {};
    const tfjs = tf.tidy(() => Array.from(tf.initializers.orthogonal({ gain: 1, seed: 9 }).apply([units, 4 * units], 'float32').dataSync()));
    console.warn = warn;
    const worst = Math.max(...recurrent.values.map((v, i) => Math.abs(v - tfjs[i]!)));
    if (units === 4) expect(worst).toBe(0);
    else expect(worst).toBeLessThan(1e-6);
    expect(offIdentity(recurrent.values, units, 4 * units)).toBeLessThan(units === 4 ? 1e-5 : 1e-6);
  });
}

it('model.json still names the recurrent initialiser Orthogonal, as Keras does', () => {
  const model = buildModel({ lookback: 1, units: 64, layers: 1, activation: 'sigmoid', dropout: 0, seed: 8 });
  try {
    const config = model.getLayer('lstm').getConfig() as { recurrentInitializer: { className: string; config: { seed: number } } };
    expect(config.recurrentInitializer.className).toBe('Orthogonal');
    expect(config.recurrentInitializer.config.seed).toBe(9);
  } finally {
    model.dispose();
  }
});
