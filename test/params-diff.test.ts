import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { formatLock, type Lock, type LockEntry } from '../pipeline/runner/lock.ts';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';
import { commitAll, initRepo } from './helpers/git.ts';

let fixture: Fixture;
beforeEach(async () => {
  fixture = await makeFixture();
});
afterEach(() => fixture.cleanup());

const hex = (c: string) => c.repeat(64);

// The parameters of the fixture's own pipeline.yaml (FIXTURE_CONFIG) as a run's lock records them.
const recorded: Record<string, Record<string, unknown>> = {
  sample: { days: 0, seed: 7, layout: 'legacy' },
  ingest: { source: 'sample', layout: 'auto' },
  aggregate: { gaps: 'ffill' },
  scale: { target: 'price', 'split.test_days': 30 },
  split: { test_days: 30, lookback: 1 },
  train: { units: 4, layers: 1, activation: 'sigmoid', dropout: 0, epochs: 30, batch_size: 5, learning_rate: 0.001, shuffle: true, seed: 42, spread_seeds: 'auto' },
  evaluate: {},
  forecast: { 'scale.target': 'price', 'split.lookback': 1, ...trainUses(true) },
  backtest: { folds: 12, horizon: 30, 'scale.target': 'price', 'split.lookback': 1, ...trainUses(false) },
};

/** The train params forecast and backtest declare in their `uses` (backtest: not the seed spread). */
function trainUses(withSpread: boolean): Record<string, unknown> {
  const train = { units: 4, layers: 1, activation: 'sigmoid', dropout: 0, epochs: 30, batch_size: 5, learning_rate: 0.001, shuffle: true, seed: 42, ...(withSpread ? { spread_seeds: 'auto' } : {}) };
  return Object.fromEntries(Object.entries(train).map(([key, value]) => [`train.${key}`, value]));
}

async function commitLock(root: string): Promise<void> {
  const stages = Object.fromEntries(
    Object.entries(recorded).map(([stage, params]) => [
      stage,
      { fingerprint: hex('a'), code: hex('b'), params, libraries: {}, inputs: {}, outputs: {}, duration: 0, finished: '2026-01-01T00:00:00.000Z' } as unknown as LockEntry,
    ]),
  );
  await writeFile(join(root, 'pipeline.lock'), formatLock({ version: 1, stages } as Lock));
  initRepo(root);
  commitAll(root, 'baseline');
}

describe('pipeline params diff', () => {
  test('nothing changed since the committed lock', async () => {
    await commitLock(fixture.root);
    const { code, stdout, stderr } = await runCli(['params', 'diff'], fixture.root);
    expect(code).toBe(0);
    expect(stdout).toBe('no parameter changed\n');
    expect(stderr).toBe('comparing with git HEAD (pipeline.lock)\n');
  });

  test('an edited pipeline.yaml and a --set show up with old, new and the change', async () => {
    await commitLock(fixture.root);
    const config = join(fixture.root, 'pipeline.yaml');
    await writeFile(config, (await readFile(config, 'utf8')).replace('epochs: 30', 'epochs: 50'));
    const { code, stdout } = await runCli(['params', 'diff', '--set', 'split.test_days=10', '--json'], fixture.root);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      baseline: 'git HEAD (pipeline.lock)',
      diff: [
        // scale depends on split.test_days (it fits the scaler on the training days only).
        { key: 'scale.split.test_days', old: 30, new: 10, change: -20 },
        { key: 'split.test_days', old: 30, new: 10, change: -20 },
        { key: 'train.epochs', old: 30, new: 50, change: 20 },
        // The forecast and the backtest train the train config.
        { key: 'forecast.train.epochs', old: 30, new: 50, change: 20 },
        { key: 'backtest.train.epochs', old: 30, new: 50, change: 20 },
      ],
    });
  });

  test('without git, compares with the last run\'s pipeline.lock', async () => {
    const stages = { train: { fingerprint: hex('a'), code: hex('b'), params: { ...recorded.train, units: 8 }, libraries: {}, inputs: {}, outputs: {}, duration: 0, finished: 'x' } };
    await writeFile(join(fixture.root, 'pipeline.lock'), formatLock({ version: 1, stages } as unknown as Lock));
    const { code, stdout, stderr } = await runCli(['params', 'diff', '--csv'], fixture.root);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    // Stages the last run never reached appear as new parameters (old empty).
    expect(stdout).toContain('train.units,8,4,-4\n');
    expect(stdout).toContain('split.test_days,,30,\n');
  });
});
