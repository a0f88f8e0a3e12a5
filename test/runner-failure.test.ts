import { readdir, rm } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { parseLock } from '../pipeline/runner/lock.ts';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.chain()));

test('a failed stage keeps the earlier results recorded and the rerun resumes at it', async () => {
  await rig.write('FAIL_b', '');
  const failed = await rig.run();
  expect(failed.outcome).toBe('failed');
  expect(failed.stages.map((s) => [s.stage, s.action])).toEqual([
    ['a', 'ran'],
    ['b', 'failed'],
    ['c', 'not-run'],
  ]);
  expect(failed.stages[1]!.error).toBe('b broke on purpose');
  const lock = parseLock(await rig.read('pipeline.lock'));
  expect(Object.keys(lock.stages)).toEqual(['a']);
  expect(rig.exists('artifacts/b')).toBe(false);
  expect(await readdir(rig.path('artifacts/.staging'))).toEqual([]);

  await rm(rig.path('FAIL_b'));
  const resumed = await rig.run();
  expect(resumed.outcome).toBe('success');
  expect(resumed.stages.map((s) => s.action)).toEqual(['skipped', 'ran', 'ran']);
  expect(await rig.counts()).toEqual({ a: 1, b: 2, c: 1 });
});

test('a stage that fails on a rerun leaves its previous outputs and lock entry in place', async () => {
  await rig.run();
  const before = parseLock(await rig.read('pipeline.lock')).stages.b;
  await rig.write('pipeline.yaml', 'stages:\n  b: { times: 5 }\n');
  await rig.write('FAIL_b', '');
  const failed = await rig.run();
  expect(failed.outcome).toBe('failed');
  expect(await rig.read('artifacts/b/out.txt')).toBe('HELLOHELLO');
  expect(parseLock(await rig.read('pipeline.lock')).stages.b).toEqual(before);
});

test('a stage that does not write a declared output fails and leaves nothing behind', async () => {
  await rig.setStages([{ name: 'a', inputs: [{ path: 'data/in.txt' }], outputs: ['one.txt', 'two.txt'], writes: ['one.txt'] }]);
  await rig.write('pipeline.yaml', 'stages: {}\n');
  const result = await rig.run();
  expect(result.outcome).toBe('failed');
  expect(result.stages[0]!.error).toBe('finished without writing two.txt (declared in its outputs())');
  expect(rig.exists('artifacts/a')).toBe(false);
  expect(await readdir(rig.path('artifacts/.staging'))).toEqual([]);
});

test('a stage throwing something other than an Error is reported with what was thrown', async () => {
  await rig.setStages([{ name: 'a', inputs: [{ path: 'data/in.txt' }], transform: `(() => { throw { code: 7 }; })()` }]);
  await rig.write('pipeline.yaml', 'stages: {}\n');
  const { code, stdout } = await rig.cli(['run']);
  expect(code).toBe(1);
  expect(stdout).toBe('✗ a failed: a non-Error value was thrown: {"code":7}\n');
});
