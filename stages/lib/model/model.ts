// The forecaster as a tfjs LayersModel with Keras' defaults (where tfjs' differ, they are set here),
// and the bridge between its weights and the flat vector the fused trainer works on.
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf.ts';
import { paramLayout, type LstmSpec } from './lstm.ts';
import { orthogonalInitializer } from './orthogonal.ts';

export interface ModelSpec extends LstmSpec {
  readonly seed: number;
}

/**
 * LSTM layer(s) -> [Dropout] -> Dense(1), input [lookback, 1]. Keras' LSTM defaults that tfjs does not
 * share: recurrent activation sigmoid (tfjs: hardSigmoid), unit_forget_bias true (tfjs: false). Every
 * initialiser gets its own seed derived from `seed`, so the initial weights are reproducible.
 */
export function buildModel(spec: ModelSpec): tfTypes.Sequential {
  // tfjs' unitForgetBias initialiser leaves its intermediate tensors behind; tidy frees them (the
  // layer variables themselves survive a tidy).
  const model = tf.sequential({ name: 'sequential' });
  tf.tidy(() => addLayers(model, spec));
  return model;
}

/**
 * Runs `build` with console.warn sent to `warn` instead (restored afterwards, even on a throw). tfjs'
 * initialisers talk on the console (Orthogonal warns of "slowness" on matrices over 2,000 elements,
 * i.e. from 23 units), and stages never print.
 */
export function withWarningsTo<T>(warn: (message: string) => void, build: () => T): T {
  const original = console.warn;
  console.warn = (...args: unknown[]) => warn(args.map(String).join(' '));
  try {
    return build();
  } finally {
    console.warn = original;
  }
}

function addLayers(model: tfTypes.Sequential, spec: ModelSpec): void {
  let seed = spec.seed;
  const nextSeed = () => seed++;
  for (let k = 0; k < spec.layers; k++) {
    const last = k === spec.layers - 1;
    model.add(
      tf.layers.lstm({
        name: k === 0 ? 'lstm' : `lstm_${k}`,
        units: spec.units,
        activation: spec.activation,
        recurrentActivation: 'sigmoid',
        unitForgetBias: true,
        kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
        recurrentInitializer: orthogonalInitializer(nextSeed()),
        biasInitializer: 'zeros',
        returnSequences: !last,
        ...(k === 0 ? { inputShape: [spec.lookback, 1] } : {}),
      }),
    );
    if (spec.dropout > 0) model.add(tf.layers.dropout({ name: k === 0 ? 'dropout' : `dropout_${k}`, rate: spec.dropout }));
  }
  model.add(
    tf.layers.dense({
      name: 'dense',
      units: 1,
      kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
      biasInitializer: 'zeros',
    }),
  );
}

/** The model's weights as one float32 vector in getWeights() order (the fused trainer's layout). */
export function readWeights(model: tfTypes.LayersModel, spec: LstmSpec): Float32Array {
  const layout = paramLayout(spec);
  const weights = model.getWeights();
  if (weights.length !== layout.shapes.length) {
    throw new Error(`model has ${weights.length} weight tensors, expected ${layout.shapes.length}`);
  }
  const theta = new Float32Array(layout.size);
  let offset = 0;
  weights.forEach((w, i) => {
    const expected = layout.shapes[i]!;
    if (w.shape.join(',') !== expected.join(',')) {
      throw new Error(`weight ${i} has shape [${w.shape.join(', ')}], expected [${expected.join(', ')}]`);
    }
    theta.set(w.dataSync() as Float32Array, offset);
    offset += w.size;
  });
  return theta;
}

export function writeWeights(model: tfTypes.LayersModel, spec: LstmSpec, theta: Float32Array): void {
  const layout = paramLayout(spec);
  if (theta.length !== layout.size) throw new Error(`expected ${layout.size} weights, got ${theta.length}`);
  const tensors: tfTypes.Tensor[] = [];
  try {
    let offset = 0;
    for (const shape of layout.shapes) {
      const size = shape.reduce((a, b) => a * b, 1);
      tensors.push(tf.tensor(theta.subarray(offset, offset + size), [...shape], 'float32'));
      offset += size;
    }
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}

/** Trainable parameter count, the way Keras' summary counts it. */
export function countParams(model: tfTypes.LayersModel): number {
  return model.countParams();
}

/** tfjs' own model.summary() (Keras' layout: layer (type), output shape, param #, totals), as text. */
export function summaryText(model: tfTypes.LayersModel): string {
  const lines: string[] = [];
  model.summary(undefined, undefined, (line?: unknown) => lines.push(String(line ?? '')));
  return `Model: "${model.name}"\n${lines.join('\n')}\n`;
}

/** Predictions for rows of x1..xL (scaled), as float64 numbers. */
export function predict(model: tfTypes.LayersModel, x: Float64Array, rows: number, lookback: number): Float64Array {
  if (rows === 0) return new Float64Array(0);
  const out = tf.tidy(() => {
    const input = tf.tensor3d(Float32Array.from(x.subarray(0, rows * lookback)), [rows, lookback, 1]);
    return (model.predict(input) as tfTypes.Tensor).dataSync();
  });
  return Float64Array.from(out);
}
