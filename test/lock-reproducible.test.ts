// A fresh clone's first `pipeline run` leaves the committed pipeline.lock byte for byte as it was
// (issue 13, item 11): the lock records what produced each artifact, never how long it took or when.
// Timings go to artifacts/.cache/timings.json, machine-local. "Fresh clone" here: the committed files
// (pipeline.yaml, pipeline.lock, code, data) without artifacts/, which git ignores.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { realProject } from './helpers/realProject.ts';
import { Rig, rigPerTest } from './rig.ts';

describe('on the runner', () => {
  let rig: Rig;
  rigPerTest(async () => (rig = await Rig.ranChain()));

  test('running again from nothing but the committed files rewrites pipeline.lock byte for byte the same', async () => {
    const committed = await rig.read('pipeline.lock');
    await rm(rig.path('artifacts'), { recursive: true, force: true });
    const result = await rig.run();
    expect(result.stages.map((s) => s.action)).toEqual(['ran', 'ran', 'ran']);
    expect(await rig.read('pipeline.lock')).toBe(committed);
    expect(committed).not.toMatch(/duration|finished/);
  });

  test('the timings are kept machine-local, in artifacts/.cache/timings.json', async () => {
    const timings = JSON.parse(await rig.read('artifacts/.cache/timings.json')) as { version: number; stages: Record<string, { seconds: number; finished: string }> };
    expect(timings.version).toBe(1);
    expect(Object.keys(timings.stages)).toEqual(['a', 'b', 'c']);
    for (const t of Object.values(timings.stages)) {
      expect(t.seconds).toBeGreaterThanOrEqual(0);
      expect(t.finished).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });

  test('a stage restored from the run cache records the original run\'s seconds as a restore', async () => {
    await rig.run({ set: ['b.times=3'] });
    await rig.run(); // back to times=2: restored, not rerun
    const timings = JSON.parse(await rig.read('artifacts/.cache/timings.json')) as { stages: Record<string, { restored?: boolean }> };
    expect(timings.stages.b!.restored).toBe(true);
  });
});

describe('on the real stages', () => {
  let root: string;
  beforeAll(async () => {
    root = await realProject('stages:\n  sample: { days: 60, seed: 7 }\n  split: { test_days: 10 }\n  train: { epochs: 2, spread_seeds: 2 }\n  backtest: { folds: 2, horizon: 10 }\n');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  test('a second machine (no artifacts/) running the committed lock leaves it byte for byte unchanged', async () => {
    const first = await runCli(['run'], root);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const committed = await readFile(join(root, 'pipeline.lock'), 'utf8');
    await rm(join(root, 'artifacts'), { recursive: true, force: true });
    const second = await runCli(['run'], root);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).not.toMatch(/skipped/); // everything really ran again
    expect(await readFile(join(root, 'pipeline.lock'), 'utf8')).toBe(committed);
  }, 180_000);
});
