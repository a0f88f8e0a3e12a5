// The same training step computed by tfjs itself (layers model + autodiff + tfjs' Adam): the reference
// the fused trainer is tested against, and the slower alternatives measured in bench/train.ts.
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf.ts';

function trainableVariables(model: tfTypes.LayersModel): tfTypes.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tfTypes.Variable);
}

function batchTensors(x: Float64Array, y: Float64Array, rows: number, lookback: number) {
  const xs = tf.tensor3d(Float32Array.from(x.subarray(0, rows * lookback)), [rows, lookback, 1]);
  const ys = tf.tensor2d(Float32Array.from(y.subarray(0, rows)), [rows, 1]);
  return { xs, ys };
}

function mseOf(model: tfTypes.LayersModel, xs: tfTypes.Tensor, ys: tfTypes.Tensor): tfTypes.Scalar {
  return tf.losses.meanSquaredError(ys, model.apply(xs, { training: true }) as tfTypes.Tensor) as tfTypes.Scalar;
}

/** Loss and gradients by tfjs autodiff, flattened in getWeights() order. */
export function autodiffGradients(
  model: tfTypes.LayersModel,
  x: Float64Array,
  y: Float64Array,
  rows: number,
  lookback: number,
): { loss: number; grad: Float32Array } {
  const vars = trainableVariables(model);
  return tf.tidy(() => {
    const { xs, ys } = batchTensors(x, y, rows, lookback);
    const { value, grads } = tf.variableGrads(() => mseOf(model, xs, ys), vars);
    const flat = new Float32Array(vars.reduce((n, v) => n + v.size, 0));
    let offset = 0;
    for (const v of vars) {
      flat.set(grads[v.name]!.dataSync() as Float32Array, offset);
      offset += v.size;
    }
    return { loss: value.dataSync()[0]!, grad: flat };
  });
}

/** One optimizer.minimize step on a batch; returns the batch loss. */
export function autodiffStep(
  model: tfTypes.LayersModel,
  optimizer: tfTypes.Optimizer,
  x: Float64Array,
  y: Float64Array,
  rows: number,
  lookback: number,
): number {
  const vars = trainableVariables(model);
  return tf.tidy(() => {
    const { xs, ys } = batchTensors(x, y, rows, lookback);
    const loss = optimizer.minimize(() => mseOf(model, xs, ys), true, vars);
    return loss!.dataSync()[0]!;
  });
}
