import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
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

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const oldMetrics = {
  model: { rmse: 80, mae: 60, mape: 0.1, directional_accuracy: 0.5 },
  persistence: { rmse: 100, mae: 100, mape: 0.1741, directional_accuracy: 0.5 },
  rmse_ratio: 0.8,
};

function evaluateEntry(metricsText: string): LockEntry {
  return {
    fingerprint: sha('fingerprint'),
    code: sha('code'),
    params: {},
    libraries: {},
    inputs: {},
    outputs: { 'artifacts/evaluate/metrics.json': { size: Buffer.byteLength(metricsText), hash: sha(metricsText) } },
    duration: 1.5,
    finished: '2026-01-01T00:00:00.000Z',
  } as unknown as LockEntry;
}

async function cacheObject(text: string): Promise<void> {
  await mkdir(join(fixture.root, 'artifacts/.cache/objects'), { recursive: true });
  await writeFile(join(fixture.root, 'artifacts/.cache/objects', sha(text)), text);
}

interface DiffJson {
  baseline: string;
  diff: { key: string; old: unknown; new: unknown; change: number | null }[];
}

describe('pipeline metrics --diff', () => {
  test('compares with the metrics named by the pipeline.lock committed at HEAD', async () => {
    const text = JSON.stringify(oldMetrics);
    await writeFile(join(fixture.root, 'pipeline.lock'), formatLock({ version: 1, stages: { evaluate: evaluateEntry(text) } } as Lock));
    await cacheObject(text);
    initRepo(fixture.root);
    commitAll(fixture.root, 'baseline');

    const { code, stdout } = await runCli(['metrics', '--diff', '--json'], fixture.root);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as DiffJson;
    expect(result.baseline).toBe('git HEAD (pipeline.lock)');
    const m = fixture.metrics;
    // Only what changed, like dvc metrics diff; change = new − old.
    expect(result.diff).toEqual([
      { key: 'model.rmse', old: 80, new: m.model.rmse, change: m.model.rmse - 80 },
      { key: 'model.mae', old: 60, new: m.model.mae, change: m.model.mae - 60 },
      { key: 'model.mape', old: 0.1, new: m.model.mape, change: m.model.mape - 0.1 },
      { key: 'model.directional_accuracy', old: 0.5, new: m.model.directional_accuracy, change: m.model.directional_accuracy - 0.5 },
      { key: 'rmse_ratio', old: 0.8, new: m.rmse_ratio, change: m.rmse_ratio - 0.8 },
    ]);

    const all = JSON.parse((await runCli(['metrics', '--diff', 'HEAD', '--all', '--json'], fixture.root)).stdout) as DiffJson;
    expect(all.diff).toHaveLength(9);
    expect(all.diff.find((r) => r.key === 'persistence.rmse')).toEqual({ key: 'persistence.rmse', old: 100, new: 100, change: 0 });
  });

  test('without a committed lock, compares with the previous evaluate run in the run cache', async () => {
    const text = JSON.stringify(oldMetrics);
    await cacheObject(text);
    await mkdir(join(fixture.root, 'artifacts/.cache/runs'), { recursive: true });
    await writeFile(
      join(fixture.root, 'artifacts/.cache/runs', `${sha('fingerprint')}.json`),
      JSON.stringify({ stage: 'evaluate', saved: '2026-01-01T00:00:00.000Z', entry: evaluateEntry(text) }),
    );
    const { code, stdout, stderr } = await runCli(['metrics', '--diff', '--csv'], fixture.root);
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/comparing/); // the header line is for terminals only
    expect(stdout.split('\n')[0]).toBe('metric,old,new,change');
    expect(stdout).toContain(`model.rmse,80,${fixture.metrics.model.rmse},${fixture.metrics.model.rmse - 80}\n`);
    const table = await runCli(['metrics', '--diff'], fixture.root);
    expect(table.stderr).toMatch(/comparing with previous run \(2026-01-01T00:00:00.000Z\)/);
  });

  test('a committed lock whose metrics are gone from the run cache says how to get them back', async () => {
    const text = JSON.stringify(oldMetrics);
    await writeFile(join(fixture.root, 'pipeline.lock'), formatLock({ version: 1, stages: { evaluate: evaluateEntry(text) } } as Lock));
    initRepo(fixture.root);
    commitAll(fixture.root, 'baseline');
    const { code, stderr } = await runCli(['metrics', '--diff'], fixture.root);
    expect(code).toBe(2);
    expect(stderr).toMatch(/the metrics of HEAD \(sha256 [0-9a-f]{12}…\) are not in the run cache .*git checkout HEAD && pipeline run evaluate/);
  });

  test('on a fresh clone whose run cache lacks HEAD\'s metrics, no REV falls back to the previous run and says so', async () => {
    // HEAD's lock names metrics nobody has here; the run cache has an older evaluate run.
    const committed = JSON.stringify({ ...oldMetrics, rmse_ratio: 0.9 });
    await writeFile(join(fixture.root, 'pipeline.lock'), formatLock({ version: 1, stages: { evaluate: evaluateEntry(committed) } } as Lock));
    initRepo(fixture.root);
    commitAll(fixture.root, 'baseline');
    const previous = JSON.stringify(oldMetrics);
    await cacheObject(previous);
    await mkdir(join(fixture.root, 'artifacts/.cache/runs'), { recursive: true });
    await writeFile(
      join(fixture.root, 'artifacts/.cache/runs', `${sha('previous')}.json`),
      JSON.stringify({ stage: 'evaluate', saved: '2026-02-01T00:00:00.000Z', entry: evaluateEntry(previous) }),
    );

    const { code, stdout, stderr } = await runCli(['metrics', '--diff', '--json'], fixture.root);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^warning: HEAD's metrics are not in the run cache; comparing with the previous run$/m);
    const result = JSON.parse(stdout) as DiffJson;
    expect(result.baseline).toBe('previous run (2026-02-01T00:00:00.000Z)');
    expect(result.diff.find((r) => r.key === 'rmse_ratio')).toEqual({ key: 'rmse_ratio', old: 0.8, new: fixture.metrics.rmse_ratio, change: fixture.metrics.rmse_ratio - 0.8 });

    // Asked for HEAD by name, HEAD it is: no silent substitute.
    const explicit = await runCli(['metrics', '--diff', 'HEAD'], fixture.root);
    expect(explicit.code).toBe(2);
    expect(explicit.stderr).toMatch(/the metrics of HEAD \(sha256 [0-9a-f]{12}…\) are not in the run cache/);
  });

  test('an unknown revision exits 2 with git\'s reason', async () => {
    initRepo(fixture.root);
    commitAll(fixture.root, 'config only');
    const { code, stderr } = await runCli(['metrics', '--diff', 'no-such-rev'], fixture.root);
    expect(code).toBe(2);
    expect(stderr).toMatch(/no pipeline\.lock at no-such-rev: fatal: /);
  });
});
