import { readdir, rm } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { parseLock } from '../pipeline/runner/lock.ts';
import { Rig, rigPerTest, until } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.chain()));

test('an interrupted run removes the partial files of the current stage and the next run resumes there', async () => {
  await rig.write('HANG_b', '');
  const controller = new AbortController();
  const running = rig.run({ signal: controller.signal });
  await until(() => rig.exists('STARTED_b'));
  // The hanging stage has written a partial output into its staging folder by now.
  const staging = await readdir(rig.path('artifacts/.staging'));
  expect(staging).toHaveLength(1);
  controller.abort();
  const result = await running;
  expect(result.outcome).toBe('interrupted');
  expect(result.stages.map((s) => s.action)).toEqual(['ran', 'interrupted', 'not-run']);
  expect(await readdir(rig.path('artifacts/.staging'))).toEqual([]);
  expect(rig.exists('artifacts/b')).toBe(false);
  expect(Object.keys(parseLock(await rig.read('pipeline.lock')).stages)).toEqual(['a']);

  await rm(rig.path('HANG_b'));
  const resumed = await rig.run();
  expect(resumed.stages.map((s) => s.action)).toEqual(['skipped', 'ran', 'ran']);
  expect(await rig.read('artifacts/b/out.txt')).toBe('HELLOHELLO');
});

test('an abort before a stage starts runs nothing', async () => {
  const controller = new AbortController();
  controller.abort();
  const result = await rig.run({ signal: controller.signal });
  expect(result.outcome).toBe('interrupted');
  expect(await rig.counts()).toEqual({ a: 0, b: 0, c: 0 });
});
