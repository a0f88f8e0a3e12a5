import { rm, truncate, writeFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.ranChain()));

test('a deleted artifact reruns its stage, and downstream stays skipped when the output comes back equal', async () => {
  await rm(rig.path('artifacts/b/out.txt'));
  const result = await rig.run();
  expect(result.stages.map((s) => s.action)).toEqual(['skipped', 'restored', 'skipped']);
  expect(result.stages[1]!.reasons).toEqual(['output missing (artifacts/b/out.txt)']);
  expect(await rig.read('artifacts/b/out.txt')).toBe('HELLOHELLO');
});

test('an artifact edited by hand is detected and its stage reruns', async () => {
  await writeFile(rig.path('artifacts/a/out.txt'), 'HACKED');
  const result = await rig.run({ force: false });
  expect(result.stages[0]!.reasons).toEqual(['output modified (artifacts/a/out.txt)']);
  expect(await rig.read('artifacts/a/out.txt')).toBe('HELLO');
});

test('a truncated artifact is detected, and without a run cache the stage executes again', async () => {
  await truncate(rig.path('artifacts/a/out.txt'), 2);
  await rm(rig.path('artifacts/.cache/runs'), { recursive: true });
  const result = await rig.run();
  expect(result.stages.map((s) => s.action)).toEqual(['ran', 'skipped', 'skipped']);
  expect(await rig.counts()).toEqual({ a: 2, b: 1, c: 1 });
  expect(await rig.read('artifacts/a/out.txt')).toBe('HELLO');
});

test('an input the lock has no record of (the stage gained it) is named as added, not changed', async () => {
  const lock = await rig.read('pipeline.lock');
  const without = lock.replace(/(\n  b:\n(?:    .*\n)*?    inputs:)\n      artifacts\/a\/out\.txt: [0-9a-f]{64}\n/, '$1 {}\n');
  expect(without).not.toBe(lock);
  await rig.write('pipeline.lock', without);
  const status = await rig.cli(['status']);
  expect(status.stdout).toMatch(/^b: input added \(artifacts\/a\/out\.txt\)$/m);
  const result = await rig.run();
  expect(result.stages[1]!.reasons).toEqual(['input added (artifacts/a/out.txt)']);
  // The run records it: the next status has nothing to say about b.
  expect((await rig.run()).stages[1]!.reasons).toEqual([]);
});
