// Measures tfjs' WASM backend against its CPU backend for the train stage's model and step (custom loop,
// optimizer.minimize, batch 5), in a folder of its own, since @tensorflow/tfjs-backend-wasm is not a
// dependency of the project (the fused trainer beats both; see bench/train.ts):
//   mkdir /tmp/wasm && cd /tmp/wasm && npm init -y && npm i @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0
//   node /path/to/bench/train/wasm-probe.mjs /tmp/wasm
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(join(process.argv[2] ?? process.cwd(), 'package.json'));
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');

const rows = 2690;
const steps = 2 * Math.ceil(rows / 5);
const x = Float32Array.from({ length: rows }, (_, i) => 0.5 + 0.4 * Math.sin(i / 20));
const y = Float32Array.from({ length: rows }, (_, i) => 0.5 + 0.4 * Math.sin((i + 1) / 20));

for (const backend of ['cpu', 'wasm']) {
  await tf.setBackend(backend);
  await tf.ready();
  const model = tf.sequential();
  model.add(tf.layers.lstm({ units: 4, activation: 'sigmoid', recurrentActivation: 'sigmoid', inputShape: [1, 1] }));
  model.add(tf.layers.dense({ units: 1 }));
  const optimizer = tf.train.adam(0.001);
  const t0 = performance.now();
  for (let e = 0; e < 2; e++) {
    for (let s = 0; s < rows; s += 5) {
      tf.tidy(() => {
        const xs = tf.tensor3d(x.subarray(s, s + 5), [Math.min(5, rows - s), 1, 1]);
        const ys = tf.tensor2d(y.subarray(s, s + 5), [Math.min(5, rows - s), 1]);
        optimizer.minimize(() => tf.losses.meanSquaredError(ys, model.apply(xs, { training: true })));
      });
    }
  }
  const ms = performance.now() - t0;
  console.log(`${backend}: ${(ms / 1000).toFixed(2)} s for 2 epochs, ${((ms / steps) * 1000).toFixed(0)} µs/step, 30 epochs ~ ${((ms * 15) / 1000).toFixed(1)} s`);
  model.dispose();
  optimizer.dispose();
}
