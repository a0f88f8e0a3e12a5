// The whole built-in pipeline, sample to backtest, on a tiny configuration: a forced rerun writes every
// artifact byte for byte again (nothing of the moment, like a timing, is in a hashed file), and the run
// ends with the forecast line, on the full path and on the no-op fast path alike.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { tryNoopFastPath } from '../pipeline/runner/fast-noop.mjs';
import { runCli } from './helpers/cli.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
let root: string;
let first: { code: number; stdout: string; stderr: string };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pipeline-rerun-'));
  await mkdir(join(root, 'data'));
  await copyFile(join(repo, 'data', 'btc-usd-daily.csv'), join(root, 'data', 'btc-usd-daily.csv'));
  await writeFile(
    join(root, 'pipeline.yaml'),
    `stages:
  sample:    { days: 45, seed: 7 }
  split:     { test_days: 5, lookback: 1 }
  train:     { epochs: 2, spread_seeds: 2 }
  backtest:  { folds: 2, horizon: 5 }
`,
  );
  first = await runCli(['run'], root);
  if (first.code !== 0) throw new Error(`pipeline run failed (${first.code}):\n${first.stdout}\n${first.stderr}`);
}, 120_000);
afterAll(() => rm(root, { recursive: true, force: true }));

/** sha256 of every file under artifacts/ but the run cache, by path. */
async function artifactHashes(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.cache') await walk(path);
      } else if (!entry.name.startsWith('.')) {
        out[relative(root, path)] = createHash('sha256').update(await readFile(path)).digest('hex');
      }
    }
  };
  await walk(join(root, 'artifacts'));
  return out;
}

test('the run ends with the forecast line, in whole dollars, from forecast.json', async () => {
  const forecast = JSON.parse(await readFile(join(root, 'artifacts', 'forecast', 'forecast.json'), 'utf8')) as Record<string, number | string>;
  const last = first.stdout.trimEnd().split('\n').at(-1);
  const usd = (key: string) => String(Math.round(forecast[key] as number));
  expect(last).toBe(`forecast for ${forecast.date}: ${usd('price')} USD (last day ${usd('last_price')}; seeds ${usd('seed_min')}..${usd('seed_max')})`);
  // The sample's 45 days end on the bundled file's last day.
  const daily = (await readFile(join(repo, 'data', 'btc-usd-daily.csv'), 'utf8')).trim().split('\n').at(-1)!.split(',')[0]!;
  expect(forecast.last_date).toBe(daily);
});

test('a forced rerun of every stage leaves every artifact byte-identical', async () => {
  const before = await artifactHashes();
  // Every stage wrote something, and the new ones are among them.
  for (const file of ['train/report.json', 'forecast/forecast.json', 'forecast/weights.bin', 'backtest/predictions.arrow', 'backtest/backtest.png']) {
    expect(Object.keys(before)).toContain(`artifacts/${file}`);
  }
  const again = await runCli(['run', '--force'], root);
  expect(again.code).toBe(0);
  expect(again.stdout).not.toContain('skipped');
  expect(await artifactHashes()).toEqual(before);
}, 120_000);

test('a run that skips everything still ends with the forecast line, and so does the no-op fast path', async () => {
  // The no-op witness only vouches for files older than the run that writes it.
  await sleep(60);
  const skipped = await runCli(['run'], root);
  const lines = skipped.stdout.trimEnd().split('\n');
  expect(lines.slice(0, -1).every((line) => line.endsWith('skipped (unchanged)'))).toBe(true);
  expect(lines.at(-1)).toBe(first.stdout.trimEnd().split('\n').at(-1));
  let fast = '';
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      fast += chunk.toString();
      done();
    },
  });
  expect(await tryNoopFastPath(['run'], { cwd: root, env: { NO_COLOR: '1' }, out })).toBe(true);
  expect(fast).toBe(skipped.stdout);
  // --json and --dry print no such line.
  expect((await runCli(['run', '--dry'], root)).stdout).not.toContain('forecast for');
}, 60_000);

test('with scale.target log_return too: a forced rerun leaves every artifact byte-identical', async () => {
  const set = ['--set', 'scale.target=log_return'];
  const run = await runCli(['run', ...set], root);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/scale: fitted on \d+ daily log returns/);
  const scaler = JSON.parse(await readFile(join(root, 'artifacts', 'scale', 'scaler.json'), 'utf8')) as { target: string };
  expect(scaler.target).toBe('log_return');
  const before = await artifactHashes();
  const again = await runCli(['run', '--force', ...set], root);
  expect(again.code).toBe(0);
  expect(await artifactHashes()).toEqual(before);
  expect(again.stdout.trimEnd().split('\n').at(-1)).toBe(run.stdout.trimEnd().split('\n').at(-1));
}, 120_000);
