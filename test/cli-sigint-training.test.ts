// Ctrl-C during a long training, on the real binary and the real stages: the run stops within seconds
// (the trainer gives the event loop a turn every 50 ms, also mid-epoch and with its worker threads
// busy), exits 130, and the previous run's train artifacts and lock entry are untouched. The first run
// trains for real on a tiny configuration; the second asks for a million epochs of a 64-unit model in
// batches of 64 (59 rows: steps big enough for worker threads), which the estimate line announces before it is
// interrupted.
import { spawn } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseLock } from '../pipeline/runner/lock.ts';
import { runCli } from './helpers/cli.ts';
import { realProject } from './helpers/realProject.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(repo, 'bin', 'pipeline.mjs');
let root: string;

beforeAll(async () => {
  root = await realProject(
    `stages:
  sample:    { days: 70, seed: 7 }
  ingest:    { source: sample }
  aggregate: { gaps: ffill }
  scale:     {}
  split:     { test_days: 10, lookback: 1 }
  train:     { units: 4, epochs: 2, batch_size: 5, seed: 42, spread_seeds: 0 }
  evaluate:  {}
  forecast:  {}
  backtest:  { folds: 2, horizon: 10 }
`,
    'pipeline-sigint-train-',
  );
  const run = await runCli(['run'], root);
  if (run.code !== 0) throw new Error(`pipeline run failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
}, 120_000);
afterAll(() => rm(root, { recursive: true, force: true }));

async function snapshot(dir: string): Promise<Record<string, string>> {
  const files = (await readdir(dir)).sort();
  return Object.fromEntries(await Promise.all(files.map(async (f) => [f, (await readFile(join(dir, f))).toString('base64')] as const)));
}

test('Ctrl-C during a long training exits 130 and keeps the previous artifacts', async () => {
  const trainDir = join(root, 'artifacts', 'train');
  const before = await snapshot(trainDir);
  const lockBefore = parseLock(await readFile(join(root, 'pipeline.lock'), 'utf8'));
  const child = spawn(
    process.execPath,
    [BIN, 'run', 'train', '--set', 'train.epochs=1000000', '--set', 'train.units=64', '--set', 'train.batch_size=64'],
    { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 3000 && !stdout.includes('train: about'); i++) await sleep(20);
  // The forecast (1 model) and backtest (2 folds) of this pipeline train the same config: 4 models.
  expect(stdout).toMatch(/ {2}train: about \d+(\.\d)? (min|h) for 4 models of 16961 weights \(spread_seeds 0; forecast 1; backtest 2 folds; set fewer backtest\.folds for fewer models\)\n/);
  const interrupted = Date.now();
  child.kill('SIGINT');
  const code = await exited;
  expect(Date.now() - interrupted).toBeLessThan(10_000);
  expect(code).toBe(130);
  expect(stderr).toBe('\ninterrupting: stopping the current stage (Ctrl-C again to quit at once)\n');
  expect(stdout).toMatch(/✗ train interrupted; its partial outputs were removed\n$/);
  // The previous run's train outputs, byte for byte, and its lock entry.
  expect(await snapshot(trainDir)).toEqual(before);
  expect(parseLock(await readFile(join(root, 'pipeline.lock'), 'utf8')).stages.train).toEqual(lockBefore.stages.train);
  expect(await readdir(join(root, 'artifacts', '.staging'))).toEqual([]);
}, 120_000);
