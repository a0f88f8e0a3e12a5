// Speed and quality of the train stage on the default config, side by side with PyTorch training the
// same model on the same pairs (bench/train/torch_lstm.py, Debian's python3-torch, on one thread), plus
// the tfjs training strategies the fused trainer was chosen over; then the same across model sizes
// (bench/train-grid.ts).
//
// Data: this project's artifacts/split + artifacts/scale when `pipeline run` has produced them, else the
// default pipeline run up to split in a scratch copy of the project, else (if that fails) the bundled
// daily Close prices split and scaled here as the notebook does. Figures also go to bench/results/train.json.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type * as tfTypes from '@tensorflow/tfjs';
import { tableFromIPC } from 'apache-arrow';
import { train } from '../stages/train.ts';
import { evaluate } from '../stages/evaluate.ts';
import { loadTf } from '../stages/lib/model/tf.ts';
import { buildModel, readWeights } from '../stages/lib/model/model.ts';
import { FusedLstm, paramLayout } from '../stages/lib/model/lstm.ts';
import { autodiffStep } from '../stages/lib/model/autodiff.ts';
import { trainFused } from '../stages/lib/model/trainer.ts';
import { readPairs, type Pairs } from '../stages/lib/data/pairs.ts';
import { contextFor, writeFixture } from '../test/model-helpers.ts';
import { grid } from './train-grid.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
export const DEFAULT = { units: 4, layers: 1, activation: 'sigmoid', dropout: 0, epochs: 30, batch_size: 5, learning_rate: 0.001, seed: 42 } as const;
/** Epochs run by the slow tfjs strategies; their 30-epoch time is extrapolated from these. */
const PROBE_EPOCHS = 2;

async function bundledPrices(): Promise<{ prices: number[]; firstDay: number }> {
  const lines = (await readFile(join(root, 'data', 'btc-usd-daily.csv'), 'utf8')).trim().split('\n').slice(1);
  const rows = lines.map((l) => l.split(','));
  const firstDay = Date.parse(`${rows[0]![0]}T00:00:00Z`) / 86_400_000;
  rows.forEach((r, i) => {
    if (Date.parse(`${r[0]}T00:00:00Z`) / 86_400_000 !== firstDay + i) throw new Error(`data/btc-usd-daily.csv: day ${r[0]} is not consecutive`);
  });
  return { prices: rows.map((r) => Number(r[4])), firstDay };
}

const HAVE = ['split/train.arrow', 'split/test.arrow', 'scale/scaled.arrow', 'scale/scaler.json'];

/** A project root whose artifacts/split and artifacts/scale hold the default pairs. */
export async function dataRoot(): Promise<{ root: string; source: string; cleanup: () => Promise<void> }> {
  if (HAVE.every((f) => existsSync(join(root, 'artifacts', f)))) {
    return { root, source: 'this project\'s artifacts (artifacts/split, artifacts/scale)', cleanup: async () => {} };
  }
  // The default pipeline (bundled sample -> ... -> split) in a scratch copy of the project.
  const scratch = await mkdtemp(join(tmpdir(), 'pipeline-bench-'));
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  try {
    for (const entry of ['bin', 'pipeline', 'stages', 'data', 'pipeline.yaml', 'package.json']) {
      await cp(join(root, entry), join(scratch, entry), { recursive: true });
    }
    await symlink(join(root, 'node_modules'), join(scratch, 'node_modules'), 'dir');
    await run(process.execPath, [join(scratch, 'bin', 'pipeline.mjs'), 'run', 'split'], { cwd: scratch, maxBuffer: 1 << 24 });
    if (HAVE.every((f) => existsSync(join(scratch, 'artifacts', f)))) {
      return { root: scratch, source: 'the default pipeline (`pipeline run split` in a scratch copy)', cleanup };
    }
    throw new Error('pipeline run split wrote no split/scale artifacts');
  } catch (error) {
    await cleanup();
    console.log(`(pipeline run failed: ${(error as Error).message.split('\n')[0]}; using the bundled daily Close instead)`);
  }
  const { prices, firstDay } = await bundledPrices();
  const fixture = await writeFixture({ prices, firstDay, testDays: 30, lookback: 1 });
  return { root: fixture.root, source: 'data/btc-usd-daily.csv Close, split and scaled here', cleanup: fixture.cleanup };
}

export function pairsCsv(p: Pairs): string {
  const header = [...Array.from({ length: p.lookback }, (_, i) => `x${i + 1}`), 'y'].join(',');
  const lines = Array.from({ length: p.rows }, (_, n) => [...p.x.subarray(n * p.lookback, (n + 1) * p.lookback), p.y[n]].join(','));
  return `${header}\n${lines.join('\n')}\n`;
}

/** RMSE of predictions over RMSE of persistence, in scaled units (the ratio is the same in USD). */
export function rmseRatio(test: Pairs, predicted: ArrayLike<number>): number {
  let model = 0;
  let naive = 0;
  for (let i = 0; i < test.rows; i++) {
    const y = test.y[i]!;
    model += (predicted[i]! - y) ** 2;
    naive += (test.x[i * test.lookback + test.lookback - 1]! - y) ** 2;
  }
  return Math.sqrt(model / naive);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface TorchResult {
  wall: number;
  train_seconds: number;
  import_seconds: number;
  final_loss: number;
  threads: number;
  torch: string;
  test_predictions: number[] | null;
}

async function torchRun(csv: string, testCsv: string, cell: string): Promise<TorchResult> {
  const started = performance.now();
  const args = ['--csv', csv, '--test', testCsv, '--cell', cell, '--epochs', String(DEFAULT.epochs), '--batch', String(DEFAULT.batch_size), '--seed', String(DEFAULT.seed), '--threads', '1'];
  const { stdout } = await run(PYTHON, [join(root, 'bench', 'train', 'torch_lstm.py'), ...args]);
  const wall = performance.now() - started;
  return { wall, ...JSON.parse(stdout.trim().split('\n').at(-1)!) };
}

function batches(pairs: Pairs, epochs: number, each: (x: Float64Array, y: Float64Array, size: number) => void) {
  const bs = DEFAULT.batch_size;
  const bx = new Float64Array(bs * pairs.lookback);
  const by = new Float64Array(bs);
  for (let e = 0; e < epochs; e++) {
    for (let s = 0; s < pairs.rows; s += bs) {
      const size = Math.min(bs, pairs.rows - s);
      for (let n = 0; n < size; n++) {
        by[n] = pairs.y[s + n]!;
        for (let t = 0; t < pairs.lookback; t++) bx[n * pairs.lookback + t] = pairs.x[(s + n) * pairs.lookback + t]!;
      }
      each(bx, by, size);
    }
  }
}

async function strategies(pairs: Pairs): Promise<[string, number][]> {
  const { tf } = await loadTf();
  const spec = { lookback: pairs.lookback, units: DEFAULT.units, layers: 1, activation: DEFAULT.activation, dropout: 0, seed: DEFAULT.seed };
  const out: [string, number][] = [];

  // (1) model.compile + model.fit (shuffle: Math.random, so not reproducible).
  {
    const model = buildModel(spec);
    model.compile({ optimizer: tf.train.adam(DEFAULT.learning_rate), loss: 'meanSquaredError' });
    const xs = tf.tensor3d(Float32Array.from(pairs.x), [pairs.rows, pairs.lookback, 1]);
    const ys = tf.tensor2d(Float32Array.from(pairs.y), [pairs.rows, 1]);
    const t0 = performance.now();
    await model.fit(xs, ys, { batchSize: DEFAULT.batch_size, epochs: PROBE_EPOCHS, shuffle: true, verbose: 0 });
    out.push(['(1) tfjs model.fit', performance.now() - t0]);
    tf.dispose([xs, ys]);
    model.dispose();
  }
  // A custom loop, optimizer.minimize over model.apply (tfjs autodiff, tfjs Adam), on the current backend.
  const customLoop = (label: string) => {
    const model = buildModel(spec);
    const optimizer = tf.train.adam(DEFAULT.learning_rate);
    const t0 = performance.now();
    batches(pairs, PROBE_EPOCHS, (x, y, size) => autodiffStep(model, optimizer, x, y, size, pairs.lookback));
    out.push([label, performance.now() - t0]);
    optimizer.dispose();
    model.dispose();
  };
  // (2) the custom loop.
  customLoop('(2) tfjs custom loop, optimizer.minimize');
  // (4) fused forward/backward as one tf.customGrad op, tfjs Adam applying its gradients.
  {
    const model = buildModel(spec);
    const optimizer = tf.train.adam(DEFAULT.learning_rate);
    const vars = model.trainableWeights.map((w) => w.read() as tfTypes.Variable);
    const layout = paramLayout(spec);
    const net = new FusedLstm(spec, DEFAULT.batch_size);
    const theta = new Float32Array(layout.size);
    const grad = new Float64Array(layout.size);
    const t0 = performance.now();
    batches(pairs, PROBE_EPOCHS, (x, y, size) => {
      const fused = tf.customGrad((...inputs) => {
        let offset = 0;
        for (const v of inputs.slice(0, vars.length) as tfTypes.Tensor[]) {
          theta.set(v.dataSync() as Float32Array, offset);
          offset += v.size;
        }
        const loss = net.lossAndGradient(theta, x, y, size, grad);
        return {
          value: tf.scalar(loss),
          gradFunc: (dy: tfTypes.Tensor) => {
            let o = 0;
            return vars.map((v) => {
              const g = tf.tensor(Float32Array.from(grad.subarray(o, o + v.size)), v.shape);
              o += v.size;
              return tf.mul(g, dy);
            });
          },
        };
      });
      tf.tidy(() => {
        optimizer.minimize(() => fused(...vars) as tfTypes.Scalar, false, vars);
      });
    });
    out.push(['(4) fused tf.customGrad op + tfjs Adam', performance.now() - t0]);
    optimizer.dispose();
    model.dispose();
  }
  // (3) WASM backend: @tensorflow/tfjs-backend-wasm, a devDependency for the benchmarks.
  try {
    const wasm = '@tensorflow/tfjs-backend-wasm';
    await import(wasm);
    await tf.setBackend('wasm');
    customLoop('(3) WASM backend, custom loop');
    await tf.setBackend('cpu');
  } catch {
    console.log(`(3) WASM backend: @tensorflow/tfjs-backend-wasm (a devDependency) did not load; run npm ci`);
    await tf.setBackend('cpu');
  }
  // The fused trainer as the stage runs it (typed arrays + its own tfjs-equivalent Adam), same epochs.
  {
    const model = buildModel(spec);
    const t0 = performance.now();
    const { trainFused } = await import('../stages/lib/model/trainer.ts');
    const theta0 = readWeights(model, spec);
    await trainFused(spec, theta0, pairs, { epochs: PROBE_EPOCHS, batchSize: DEFAULT.batch_size, learningRate: DEFAULT.learning_rate, shuffle: true, seed: DEFAULT.seed });
    out.push(['(5) fused typed-array loop + Adam (the stage)', performance.now() - t0]);
    model.dispose();
  }
  return out;
}

function meanGap(bytes: Buffer): string {
  const table = tableFromIPC(bytes);
  const p = table.getChild('predicted')!.toArray() as Float64Array;
  const q = table.getChild('persistence')!.toArray() as Float64Array;
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += p[i]! - q[i]!;
  return (sum / p.length).toFixed(0);
}

export async function bench(): Promise<void> {
  const data = await dataRoot();
  try {
    console.log(`data: ${data.source}`);
    const pairs = await readPairs(join(data.root, 'artifacts', 'split', 'train.arrow'));
    console.log(`train pairs: ${pairs.rows}, lookback ${pairs.lookback}; default config: LSTM(4, sigmoid) -> Dense(1), Adam 0.001, batch 5, 30 epochs`);

    // The train stage, default params, one run, into a scratch output folder.
    // Scratch outputs go under bench/results/ (gitignored), never into the project's tree.
    const work = join(root, 'bench', 'results', 'train-work');
    await mkdir(work, { recursive: true });
    const outDir = join(work, 'train');
    // One model, as the notebook trains (spread_seeds 0): what PyTorch is compared with.
    const ctx = await contextFor(train, data.root, { ...DEFAULT, spread_seeds: 0 }, outDir);
    const t0 = performance.now();
    await train.run(ctx.ctx);
    const stageMs = performance.now() - t0;
    const report = JSON.parse(await readFile(join(outDir, 'report.json'), 'utf8'));
    // The training loop alone (train/report.json holds no timings: they would change its hash on every run).
    const loopSpec = { lookback: pairs.lookback, units: DEFAULT.units, layers: 1, activation: DEFAULT.activation, dropout: 0, seed: DEFAULT.seed } as const;
    const loopModel = buildModel(loopSpec);
    const loopTheta = readWeights(loopModel, loopSpec);
    loopModel.dispose();
    const tLoop = performance.now();
    await trainFused(loopSpec, loopTheta, pairs, { epochs: DEFAULT.epochs, batchSize: DEFAULT.batch_size, learningRate: DEFAULT.learning_rate, shuffle: true, seed: DEFAULT.seed });
    const loopMs = performance.now() - tLoop;
    // The stage as `pipeline run` runs it: the model plus the default seed spread (20 more seeds).
    const spreadDir = join(work, 'train-spread');
    const spreadCtx = await contextFor(train, data.root, { ...DEFAULT }, spreadDir);
    const t1 = performance.now();
    await train.run(spreadCtx.ctx);
    const spreadStageMs = performance.now() - t1;
    const spreadReport = JSON.parse(await readFile(join(spreadDir, 'report.json'), 'utf8'));
    // The spread's 20 models on one thread against the stage's worker threads (same models, bit for bit).
    const { trainSpread } = await import('../stages/lib/model/spread-pool.ts');
    const spreadSpec = { lookback: pairs.lookback, units: DEFAULT.units, layers: 1, activation: DEFAULT.activation, dropout: 0 } as const;
    const spreadJobs = Array.from({ length: spreadReport.spread_seeds as number }, (_, k) => {
      const seed = DEFAULT.seed + 1000 * (k + 1);
      const model = buildModel({ ...spreadSpec, seed });
      const theta = readWeights(model, spreadSpec);
      model.dispose();
      return { seed, theta };
    });
    const spreadRun = { epochs: DEFAULT.epochs, batchSize: DEFAULT.batch_size, learningRate: DEFAULT.learning_rate, shuffle: true };
    const t2 = performance.now();
    await trainSpread(spreadSpec, pairs, spreadJobs, { ...spreadRun, threads: 1 });
    const oneThreadMs = performance.now() - t2;
    const t3 = performance.now();
    const threaded = await trainSpread(spreadSpec, pairs, spreadJobs, spreadRun);
    const threadedMs = performance.now() - t3;

    const testPairs = await readPairs(join(data.root, 'artifacts', 'split', 'test.arrow'));
    const csv = join(work, 'pairs.csv');
    const testCsv = join(work, 'test-pairs.csv');
    await writeFile(csv, pairsCsv(pairs));
    await writeFile(testCsv, pairsCsv(testPairs));
    let torchKeras: TorchResult | undefined;
    let torchNn: TorchResult | undefined;
    try {
      torchKeras = await torchRun(csv, testCsv, 'keras');
      torchNn = await torchRun(csv, testCsv, 'nn');
    } catch (error) {
      console.log(`PyTorch: not measured (${(error as Error).message.split('\n')[0]})`);
    }

    console.log('\n### speed: 30 epochs, default config\n');
    console.log('| run | wall time | final loss |');
    console.log('| --- | --- | --- |');
    console.log(`| train stage (backend ${report.backend}, engine ${report.engine}): whole run() incl. model build, save, summary, diagram PNG | ${seconds(stageMs)} | ${report.final_loss.toPrecision(4)} |`);
    console.log(`| train stage: training loop only | ${seconds(loopMs)} | |`);
    console.log(`| train stage with the default seed spread (the model + ${spreadReport.spread_seeds} more seeds, as \`pipeline run\` trains), whole run() | ${seconds(spreadStageMs)} | |`);
    console.log(`| the spread's ${spreadJobs.length} models alone: one thread | ${seconds(oneThreadMs)} | |`);
    console.log(`| the spread's ${spreadJobs.length} models alone: ${threaded.threads} worker thread(s), as the stage runs them | ${seconds(threadedMs)} | |`);
    if (torchKeras && torchNn) {
      console.log(`| PyTorch ${torchKeras.torch}, same model (hand-written Keras cell, sigmoid), ${torchKeras.threads} thread(s): training loop | ${seconds(torchKeras.train_seconds * 1000)} | ${torchKeras.final_loss.toPrecision(4)} |`);
      console.log(`| PyTorch, same, whole process (import torch + load CSV + train) | ${seconds(torchKeras.wall)} | |`);
      console.log(`| PyTorch nn.LSTM (fused C++ cell, tanh), training loop | ${seconds(torchNn.train_seconds * 1000)} | ${torchNn.final_loss.toPrecision(4)} |`);
      const goal = stageMs <= torchKeras.train_seconds * 1000 ? 'met' : 'NOT met';
      console.log(`\ngoal "train stage wall time <= PyTorch's": ${goal} (${(torchKeras.train_seconds * 1000 / stageMs).toFixed(1)}x)`);
    }

    console.log(`\n### tfjs training strategies, ${PROBE_EPOCHS} epochs each (x${DEFAULT.epochs / PROBE_EPOCHS} for 30 epochs)\n`);
    console.log('| strategy | measured | per step | 30 epochs (extrapolated) |');
    console.log('| --- | --- | --- | --- |');
    const steps = PROBE_EPOCHS * Math.ceil(pairs.rows / DEFAULT.batch_size);
    const measured = await strategies(pairs);
    for (const [name, ms] of measured) {
      console.log(`| ${name} | ${seconds(ms)} | ${((ms / steps) * 1000).toFixed(1)} µs | ${seconds((ms * DEFAULT.epochs) / PROBE_EPOCHS)} |`);
    }

    // Quality: evaluate the stage's model on the 30 test days against persistence.
    const trainDir = join(data.root, 'artifacts', 'train');
    if (data.root !== root) {
      await mkdir(trainDir, { recursive: true });
      await cp(outDir, trainDir, { recursive: true });
    }
    const evalDir = join(work, 'evaluate');
    const ev = await contextFor(evaluate, data.root, {}, evalDir);
    if (data.root === root) {
      // Read the model just trained, not whatever artifacts/train holds.
      Object.assign(ev.ctx, { input: (stage: string, file: string) => (stage === 'train' ? join(outDir, file) : join(root, 'artifacts', stage, file)) });
    }
    await evaluate.run(ev.ctx);
    const metrics = JSON.parse(await readFile(join(evalDir, 'metrics.json'), 'utf8'));
    console.log(`\n### quality: ${metrics.days} test days, ${metrics.from} .. ${metrics.to}\n`);
    console.log('| forecast | RMSE (USD) | MAE (USD) | MAPE (%) | directional accuracy |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const name of ['model', 'persistence'] as const) {
      const m = metrics[name];
      console.log(`| ${name} | ${m.rmse.toFixed(2)} | ${m.mae.toFixed(2)} | ${m.mape.toFixed(3)} | ${m.directional_accuracy === null ? 'n/a' : m.directional_accuracy.toFixed(3)} |`);
    }
    const within = Math.abs(metrics.rmse_ratio - 1) <= 0.1;
    console.log(`\nrmse_ratio (model / persistence) = ${metrics.rmse_ratio.toFixed(4)}: ${within ? 'within' : 'NOT within'} 10% of persistence`);
    console.log(`mean (predicted - persistence) = ${meanGap(await readFile(join(evalDir, 'predictions.arrow')))} USD`);
    if (torchKeras?.test_predictions) {
      console.log(`PyTorch, same model and data, seed ${DEFAULT.seed}: rmse_ratio ${rmseRatio(testPairs, torchKeras.test_predictions).toFixed(4)}`);
    }
    console.log('(rmse_ratio over seeds, ours and PyTorch: `npm run bench -- quality`)');

    await mkdir(join(root, 'bench', 'results'), { recursive: true });
    const results = {
      data: data.source,
      train_rows: pairs.rows,
      stage_seconds: stageMs / 1000,
      stage_train_seconds: loopMs / 1000,
      stage_with_spread_seconds: spreadStageMs / 1000,
      spread_one_thread_seconds: oneThreadMs / 1000,
      spread_threaded_seconds: threadedMs / 1000,
      spread_threads: threaded.threads,
      spread_seeds: spreadReport.spread_seeds,
      stage_final_loss: report.final_loss,
      torch: torchKeras && torchNn ? { keras_cell: { ...torchKeras, test_predictions: undefined }, nn_lstm: { ...torchNn, test_predictions: undefined } } : null,
      strategies_ms_for_probe_epochs: Object.fromEntries(measured),
      probe_epochs: PROBE_EPOCHS,
      metrics,
    };
    await writeFile(join(root, 'bench', 'results', 'train.json'), `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await data.cleanup();
  }
  // Every model size of the grid, whole process against PyTorch (bench/train-grid.ts).
  await grid();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
