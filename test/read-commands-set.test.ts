// After `pipeline run --set …`, the read-only commands must not call the artifacts "from an earlier
// run" (issue 13, item 8): they take the same --set, and without it they say which parameters made
// the artifacts. A real pipeline on a tiny configuration (60 days, 2 epochs).
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { realProject } from './helpers/realProject.ts';

let root: string;

beforeAll(async () => {
  root = await realProject('stages:\n  sample: { days: 60 }\n  split: { test_days: 10 }\n  train: { epochs: 2, spread_seeds: 0 }\n  backtest: { folds: 2, horizon: 10 }\n');
  const run = await runCli(['run', '--set', 'train.epochs=3'], root);
  if (run.code !== 0) throw new Error(`pipeline run failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
}, 120_000);
afterAll(() => rm(root, { recursive: true, force: true }));

describe('after pipeline run --set train.epochs=3', () => {
  test.each([
    ['metrics'],
    ['query', 'SELECT count(*) AS n FROM evaluate.predictions'],
    ['inspect', 'evaluate/metrics'],
    ['inspect', 'train/history'],
    ['report', '--output', 'out/report.html'],
  ].map((argv) => ({ command: argv.join(' '), argv })))('$command with the same --set reads the artifacts as fresh: no warning', async ({ argv }) => {
    const { code, stderr } = await runCli([...argv, '--set', 'train.epochs=3'], root);
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/warning|stale|earlier run/);
  });

  test('without --set, metrics says which parameter made the metrics and how to read them as made', async () => {
    const { code, stderr } = await runCli(['metrics'], root);
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/earlier run/);
    // metrics reads evaluate's, forecast's and backtest's results: a line for each.
    expect(stderr).toBe(
      'warning: evaluate is stale (upstream stale (train)); its artifacts were made with train.epochs=3: ' +
        'add --set train.epochs=3 to read them as made, or "pipeline run evaluate" remakes them\n' +
        'warning: forecast is stale (params changed (train.epochs 3 → 2)); its artifacts were made with train.epochs=3: ' +
        'add --set train.epochs=3 to read them as made, or "pipeline run forecast" remakes them\n' +
        'warning: backtest is stale (params changed (train.epochs 3 → 2)); its artifacts were made with train.epochs=3: ' +
        'add --set train.epochs=3 to read them as made, or "pipeline run backtest" remakes them\n',
    );
  });

  test('without --set, query and inspect say the same of the stage they read', async () => {
    const query = await runCli(['query', 'SELECT count(*) FROM evaluate.predictions', '--csv'], root);
    expect(query.stderr).toMatch(/^warning: evaluate is stale \(upstream stale \(train\)\); its artifacts were made with train\.epochs=3: add --set train\.epochs=3/);
    const inspect = await runCli(['inspect', 'train/history'], root);
    expect(inspect.stderr).toMatch(/^warning: train is stale \(params changed \(epochs 3 → 2\)\); its artifacts were made with train\.epochs=3: add --set train\.epochs=3/);
  });

  test('a stage upstream of the override is fresh either way', async () => {
    const { stderr } = await runCli(['inspect', 'aggregate/daily'], root);
    expect(stderr).toBe('');
  });
});
