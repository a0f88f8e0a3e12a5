// What the forecast and backtest stages cost on the default project: each as the user reruns it
// (`pipeline run forecast --force`, `pipeline run backtest --force`, whole processes, upstream fresh), the
// first run of a fresh checkout with every stage, and the stages' models alone on one thread against the
// worker pool the stages use (bit for bit the same models). Figures also go to bench/results/forecast.json.
//
// The project is copied to bench/results/forecast/ (gitignored; node_modules linked) so this project's own
// artifacts are left alone.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dateDayColumn, float64Column, readArrowTable } from '../stages/lib/data/arrow.ts';
import { applyMinMax, fitMinMax, pairsOf } from '../stages/lib/data/scaling.ts';
import { loadTf } from '../stages/lib/model/tf.ts';
import { spreadSeeds } from '../stages/lib/model/spread-seeds.ts';
import { trainModels, type TrainParams } from '../stages/lib/model/train-models.ts';
import { foldsOf } from '../stages/run/backtest.ts';
import { pipelineOnPath } from './typed.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(repo, 'bench', 'results', 'forecast');
const RUNS = 3;

const TRAIN = { units: 4, layers: 1, activation: 'sigmoid', dropout: 0, epochs: 30, batch_size: 5, learning_rate: 0.001, shuffle: true, seed: 42, spread_seeds: 20 } satisfies TrainParams;

/** `pipeline …` as typed: the command the README's set-up puts on PATH, run by the shell. */
let typed: NodeJS.ProcessEnv | undefined;
function pipeline(args: string[]): string {
  typed ??= pipelineOnPath(work).env;
  return execFileSync('sh', ['-c', `pipeline ${args.join(' ')}`], { cwd: work, env: { ...typed, NO_COLOR: '1' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function prepare(): void {
  mkdirSync(work, { recursive: true });
  for (const item of ['package.json', 'pipeline.yaml', 'bin', 'pipeline', 'stages', 'data']) {
    cpSync(join(repo, item), join(work, item), { recursive: true, preserveTimestamps: true });
  }
  if (!existsSync(join(work, 'node_modules'))) symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'));
}

/** Wall seconds of `run`, each of RUNS times: min, median, max. */
function wall(run: () => unknown): { min: number; median: number; max: number; runs: number[] } {
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    run();
    runs.push((performance.now() - t0) / 1000);
  }
  const sorted = [...runs].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[RUNS >> 1]!, max: sorted.at(-1)!, runs };
}

/** The stage's own lines of a `pipeline run` output ("  backtest: …" and "✓ backtest  2.4 s"). */
function stageLines(output: string, stage: string): string[] {
  return output.split('\n').filter((l) => l.startsWith(`  ${stage}: `) || l.startsWith(`✓ ${stage} `));
}

export async function bench(): Promise<void> {
  prepare();
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  // The first run of a fresh checkout: every stage, from the sample on.
  rmSync(join(work, 'artifacts'), { recursive: true, force: true });
  rmSync(join(work, 'pipeline.lock'), { force: true });
  const t0 = performance.now();
  const first = pipeline(['run']);
  const firstSeconds = (performance.now() - t0) / 1000;
  const stageSeconds = Object.fromEntries([...first.matchAll(/^✓ (\w+)\s+([\d.]+) s$/gm)].map((m) => [m[1]!, Number(m[2])]));
  console.log(`\nfirst run of a fresh checkout (every stage): ${firstSeconds.toFixed(1)} s whole process`);
  console.log(`  stages: ${Object.entries(stageSeconds).map(([s, t]) => `${s} ${t} s`).join(', ')}`);

  let lastOutput = '';
  const forecastRuns = wall(() => (lastOutput = pipeline(['run', 'forecast', '--force'])));
  const forecastLines = stageLines(lastOutput, 'forecast');
  const backtestRuns = wall(() => (lastOutput = pipeline(['run', 'backtest', '--force'])));
  const backtestLines = stageLines(lastOutput, 'backtest');

  // The models alone, in this process: one thread against the pool's choice.
  await loadTf();
  const path = join(work, 'artifacts', 'aggregate', 'daily.arrow');
  const table = await readArrowTable(path);
  dateDayColumn(table, 'date', path);
  const prices = float64Column(table, 'price', path);
  const scaled = applyMinMax(fitMinMax(prices), prices);
  const all = pairsOf(scaled, 1, 1, prices.length);
  const forecastJobs = [TRAIN.seed, ...spreadSeeds(TRAIN.seed, TRAIN.spread_seeds)].map((seed) => ({ seed, data: all }));
  const foldJobs = foldsOf(prices, 1, 12, 30).map((fold) => ({ seed: TRAIN.seed, data: fold.train }));
  const models = async (jobs: typeof foldJobs, threads: number | undefined) => {
    const t = performance.now();
    const run = await trainModels(TRAIN, 1, jobs, { name: 'bench', threads });
    return { seconds: (performance.now() - t) / 1000, threads: run.threads, thetas: run.results.map((r) => r.theta) };
  };
  const forecastOne = await models(forecastJobs, 1);
  const forecastPool = await models(forecastJobs, undefined);
  const foldsOne = await models(foldJobs, 1);
  const foldsPool = await models(foldJobs, undefined);
  const same = (a: Float32Array[], b: Float32Array[]) => a.every((t, i) => Buffer.from(t.buffer).equals(Buffer.from(b[i]!.buffer)));

  const f = (r: { min: number; median: number; max: number }) => `${r.median.toFixed(2)} s (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
  console.log(`\n### forecast and backtest, default config (${RUNS} runs each, median (min–max))\n`);
  console.log('| what | wall time |');
  console.log('| --- | --- |');
  console.log(`| \`pipeline run forecast --force\`, whole process (the model + 20 spread seeds on ${prices.length - 1} pairs) | ${f(forecastRuns)} |`);
  console.log(`| \`pipeline run backtest --force\`, whole process (12 folds of 30 days) | ${f(backtestRuns)} |`);
  console.log(`| forecast's 21 models alone: one thread | ${forecastOne.seconds.toFixed(2)} s |`);
  console.log(`| forecast's 21 models alone: ${forecastPool.threads} worker thread(s), as the stage trains them | ${forecastPool.seconds.toFixed(2)} s |`);
  console.log(`| backtest's 12 fold models alone: one thread | ${foldsOne.seconds.toFixed(2)} s |`);
  console.log(`| backtest's 12 fold models alone: ${foldsPool.threads} worker thread(s), as the stage trains them | ${foldsPool.seconds.toFixed(2)} s |`);
  console.log(`\nthreads give the same models bit for bit: forecast ${same(forecastOne.thetas, forecastPool.thetas) ? 'yes' : 'NO'}, backtest ${same(foldsOne.thetas, foldsPool.thetas) ? 'yes' : 'NO'}`);
  console.log(`stage log (last forced run):\n${[...forecastLines, ...backtestLines].map((l) => `  ${l}`).join('\n')}`);
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  mkdirSync(join(repo, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(repo, 'bench', 'results', 'forecast.json'),
    `${JSON.stringify(
      {
        first_run_seconds: firstSeconds,
        first_run_stage_seconds: stageSeconds,
        forecast_force_seconds: forecastRuns,
        backtest_force_seconds: backtestRuns,
        forecast_models: { one_thread_seconds: forecastOne.seconds, pool_seconds: forecastPool.seconds, pool_threads: forecastPool.threads },
        backtest_models: { one_thread_seconds: foldsOne.seconds, pool_seconds: foldsPool.seconds, pool_threads: foldsPool.threads },
        load_average: loadavg(),
      },
      null,
      2,
    )}\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
