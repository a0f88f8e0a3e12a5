// The train stage across model sizes, as a user runs it, next to a one-thread PyTorch training the same
// model on the same pairs: `pipeline run train --force --set ...` as a whole process (Node start, tfjs
// load, training, saving, the model diagram), against `python3 torch_lstm.py` as a whole process (import
// torch, read the pairs, train). Epochs: BENCH_EPOCHS (the notebook's 30 by default: a user changes only the size); no seed
// spread (spread_seeds 0), one model each. Also the stage limited to one thread (PIPELINE_THREADS=1)
// where it would use more, and tfjs' own model.fit on its CPU and WASM backends, timed over a few steps
// and extrapolated (the engines the fused trainer was weighed against).
//
// Data: the default pipeline (the bundled sample) up to split, in a scratch copy of the project, once
// per lookback. Figures go to bench/results/train-grid.json.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readPairs, type Pairs } from '../stages/lib/data/pairs.ts';
import { flopsPerPair, stepThreads } from '../stages/lib/model/cost.ts';
import { loadTf } from '../stages/lib/model/tf.ts';
import { buildModel } from '../stages/lib/model/model.ts';
import { pipelineOnPath } from './typed.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = '/usr/bin/python3';

export const GRID = [
  { units: 4, lookback: 1, batch: 5 },
  { units: 16, lookback: 7, batch: 16 },
  { units: 32, lookback: 7, batch: 16 },
  { units: 64, lookback: 30, batch: 32 },
  { units: 128, lookback: 60, batch: 64 },
] as const;

type Config = (typeof GRID)[number];
const label = (c: Config) => `${c.units} / ${c.lookback} / ${c.batch}`;

async function timed<T>(what: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await what();
  return { seconds: (performance.now() - t0) / 1000, value };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function scratchProject(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'pipeline-bench-grid-'));
  for (const entry of ['bin', 'pipeline', 'stages', 'data', 'pipeline.yaml', 'package.json']) {
    await cp(join(root, entry), join(dir, entry), { recursive: true });
  }
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

function sets(c: Config, epochs: number): string[] {
  return [
    ['split.lookback', c.lookback],
    ['train.units', c.units],
    ['train.batch_size', c.batch],
    ['train.epochs', epochs],
    ['train.spread_seeds', 0],
  ].flatMap(([k, v]) => ['--set', `${k}=${v}`]);
}

function pairsCsv(p: Pairs): string {
  const header = [...Array.from({ length: p.lookback }, (_, i) => `x${i + 1}`), 'y'].join(',');
  const lines = Array.from({ length: p.rows }, (_, n) => [...p.x.subarray(n * p.lookback, (n + 1) * p.lookback), p.y[n]].join(','));
  return `${header}\n${lines.join('\n')}\n`;
}

/** tfjs model.fit on `backend`, seconds per step over a few steps after one warm-up step. */
async function tfjsSecondsPerStep(backend: 'cpu' | 'wasm', c: Config, pairs: Pairs): Promise<number | undefined> {
  const { tf } = await loadTf();
  try {
    if (backend === 'wasm') {
      const wasm = '@tensorflow/tfjs-backend-wasm';
      await import(wasm);
    }
    if (!(await tf.setBackend(backend))) return undefined;
    await tf.ready();
  } catch {
    await tf.setBackend('cpu');
    return undefined;
  }
  const spec = { lookback: c.lookback, units: c.units, layers: 1, activation: 'sigmoid' as const, dropout: 0, seed: 42 };
  const model = buildModel(spec);
  try {
    model.compile({ optimizer: tf.train.adam(0.001), loss: 'meanSquaredError' });
    const fit = async (steps: number) => {
      const rows = Math.min(pairs.rows, steps * c.batch);
      const xs = tf.tensor3d(Float32Array.from(pairs.x.subarray(0, rows * c.lookback)), [rows, c.lookback, 1]);
      const ys = tf.tensor2d(Float32Array.from(pairs.y.subarray(0, rows)), [rows, 1]);
      const t0 = performance.now();
      await model.fit(xs, ys, { batchSize: c.batch, epochs: 1, shuffle: false, verbose: 0 });
      tf.dispose([xs, ys]);
      return (performance.now() - t0) / 1000 / Math.ceil(rows / c.batch);
    };
    await fit(1);
    // Enough steps for a second or so of the slow backends, at least 3.
    const first = await fit(3);
    return first > 0.3 ? first : await fit(Math.max(3, Math.min(50, Math.round(1 / first))));
  } finally {
    model.dispose();
    await tf.setBackend('cpu');
  }
}

interface Row {
  config: Config;
  flops_per_epoch: number;
  threads: number;
  ours_seconds: number;
  ours_one_thread_seconds: number | null;
  torch_seconds: number | null;
  torch_train_seconds: number | null;
  tfjs_cpu_seconds: number | null;
  tfjs_wasm_seconds: number | null;
  ratio: number | null;
  ratio_one_thread: number | null;
}

/** Where ratio first crosses `limit` between grid points (interpolated on log FLOP per epoch). */
export function crossover(rows: { flops: number; ratio: number | null }[], limit: number): string {
  const sorted = rows.filter((r) => r.ratio !== null).sort((a, b) => a.flops - b.flops);
  if (sorted.length === 0) return 'not measured';
  if (sorted.every((r) => r.ratio! <= limit)) return `at or under ${limit}× on the whole grid`;
  if (sorted[0]!.ratio! > limit) return `over ${limit}× already at the smallest config`;
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (a.ratio! <= limit && b.ratio! > limit) {
      const f = (limit - a.ratio!) / (b.ratio! - a.ratio!);
      const flops = Math.exp(Math.log(a.flops) + f * (Math.log(b.flops) - Math.log(a.flops)));
      return `crosses ${limit}× at about ${(flops / 1e9).toPrecision(2)} GFLOP an epoch`;
    }
  }
  return `at or under ${limit}× up to the largest config`;
}

export async function grid(): Promise<void> {
  const epochs = Number(process.env.BENCH_EPOCHS ?? 30);
  const project = await scratchProject();
  // `pipeline …` as typed: the command the README's set-up puts on PATH, run by the shell.
  const typed = pipelineOnPath(project.dir).env;
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    run('sh', ['-c', `pipeline ${args.join(' ')}`], { cwd: project.dir, env: { ...typed, NO_COLOR: '1', ...env }, maxBuffer: 1 << 24 });
  const rows: Row[] = [];
  try {
    console.log(`\n### train stage across model sizes: ${epochs} epochs, one model (spread_seeds 0), whole process\n`);
    for (const c of GRID) {
      // Untimed: the pairs for this lookback (the first time, the whole default pipeline up to split).
      await cli(['run', 'split', '--set', `split.lookback=${c.lookback}`]);
      const pairs = await readPairs(join(project.dir, 'artifacts', 'split', 'train.arrow'));
      const spec = { lookback: c.lookback, units: c.units, layers: 1 };
      const flops = flopsPerPair(spec) * pairs.rows;
      const threads = stepThreads(spec, c.batch, (await import('node:os')).availableParallelism());
      const repeats = flops * epochs < 5e10 ? 3 : 1;
      const oursRuns: number[] = [];
      for (let r = 0; r < repeats; r++) oursRuns.push((await timed(() => cli(['run', 'train', '--force', ...sets(c, epochs)]))).seconds);
      const ours = median(oursRuns);
      const oneThread = threads > 1 ? (await timed(() => cli(['run', 'train', '--force', ...sets(c, epochs)], { PIPELINE_THREADS: '1' }))).seconds : null;

      const csv = join(root, 'bench', 'results', `pairs-${c.lookback}.csv`);
      await mkdir(join(root, 'bench', 'results'), { recursive: true });
      await writeFile(csv, pairsCsv(pairs));
      let torch: number | null = null;
      let torchTrain: number | null = null;
      try {
        const torchRuns: { seconds: number; train: number }[] = [];
        for (let r = 0; r < repeats; r++) {
          const t = await timed(() =>
            run(PYTHON, [join(root, 'bench', 'train', 'torch_lstm.py'), '--csv', csv, '--units', String(c.units), '--batch', String(c.batch), '--epochs', String(epochs), '--threads', '1']),
          );
          torchRuns.push({ seconds: t.seconds, train: JSON.parse(t.value.stdout.trim().split('\n').at(-1)!).train_seconds });
        }
        torch = median(torchRuns.map((t) => t.seconds));
        torchTrain = median(torchRuns.map((t) => t.train));
      } catch (error) {
        console.log(`PyTorch at ${label(c)}: not measured (${(error as Error).message.split('\n')[0]})`);
      }
      const stepsPerRun = epochs * Math.ceil(pairs.rows / c.batch);
      const cpu = await tfjsSecondsPerStep('cpu', c, pairs);
      const wasm = await tfjsSecondsPerStep('wasm', c, pairs);
      const row: Row = {
        config: c,
        flops_per_epoch: flops,
        threads,
        ours_seconds: ours,
        ours_one_thread_seconds: oneThread,
        torch_seconds: torch,
        torch_train_seconds: torchTrain,
        tfjs_cpu_seconds: cpu === undefined ? null : cpu * stepsPerRun,
        tfjs_wasm_seconds: wasm === undefined ? null : wasm * stepsPerRun,
        ratio: torch === null ? null : ours / torch,
        ratio_one_thread: torch === null ? null : (oneThread ?? ours) / torch,
      };
      rows.push(row);
      console.log(`${label(c)}: ours ${ours.toFixed(2)} s (${threads} thread${threads > 1 ? 's' : ''}), PyTorch ${torch?.toFixed(2) ?? '—'} s`);
    }

    const s = (x: number | null) => (x === null ? '—' : `${x.toFixed(2)} s`);
    const x = (r: number | null) => (r === null ? '—' : `${r.toFixed(2)}×`);
    console.log('\n| units / lookback / batch | GFLOP an epoch | ours: `pipeline run train`, whole process | ours on 1 thread | PyTorch 1 thread, whole process (training loop) | ours / PyTorch | ours on 1 thread / PyTorch | tfjs-cpu `model.fit` (extrapolated) | tfjs-wasm `model.fit` (extrapolated) |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(
        `| ${label(r.config)} | ${(r.flops_per_epoch / 1e9).toPrecision(2)} | ${s(r.ours_seconds)}${r.threads > 1 ? ` (${r.threads} threads)` : ''} | ${r.ours_one_thread_seconds === null ? 'same' : s(r.ours_one_thread_seconds)} | ${s(r.torch_seconds)} (${s(r.torch_train_seconds)}) | ${x(r.ratio)} | ${x(r.ratio_one_thread)} | ${s(r.tfjs_cpu_seconds)} | ${s(r.tfjs_wasm_seconds)} |`,
      );
    }
    const points = (key: 'ratio' | 'ratio_one_thread') => rows.map((r) => ({ flops: r.flops_per_epoch, ratio: r[key] }));
    console.log(`\nours / PyTorch: ${crossover(points('ratio'), 1)}; ${crossover(points('ratio'), 2)}`);
    console.log(`ours on 1 thread / PyTorch: ${crossover(points('ratio_one_thread'), 1)}; ${crossover(points('ratio_one_thread'), 2)}`);
    const tfjsFaster = rows.filter((r) => [r.tfjs_cpu_seconds, r.tfjs_wasm_seconds].some((t) => t !== null && t < r.ours_seconds));
    console.log(
      tfjsFaster.length === 0
        ? 'tfjs (cpu, wasm) is slower than the fused trainer at every grid point: no other engine is kept.'
        : `tfjs is faster at ${tfjsFaster.map((r) => label(r.config)).join(', ')}`,
    );
    await writeFile(join(root, 'bench', 'results', 'train-grid.json'), `${JSON.stringify({ epochs, rows }, null, 2)}\n`);
  } finally {
    await project.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await grid();
