import { expect, test } from 'vitest';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.ranChain()));

test('a param change reruns that stage and downstream, never upstream', async () => {
  await rig.write('pipeline.yaml', 'stages:\n  a: {}\n  b: { times: 3 }\n  c: {}\n');
  const result = await rig.run();
  expect(result.stages.map((s) => [s.stage, s.action])).toEqual([
    ['a', 'skipped'],
    ['b', 'ran'],
    ['c', 'ran'],
  ]);
  expect(result.stages[1]!.reasons).toEqual(['params changed (times 2 → 3)']);
  expect(result.stages[2]!.reasons).toEqual(['input changed (artifacts/b/out.txt)']);
  expect(await rig.counts()).toEqual({ a: 1, b: 2, c: 2 });
  expect(await rig.read('artifacts/c/out.txt')).toBe('length 15');
});

test('a default written out explicitly is the same params and reruns nothing', async () => {
  // b's default is times: 2, which the rig's pipeline.yaml already spells out; a's note defaults to "none".
  await rig.write('pipeline.yaml', 'stages:\n  a: { note: none }\n  b: {}\n');
  const result = await rig.run();
  expect(result.stages.map((s) => s.action)).toEqual(['skipped', 'skipped', 'skipped']);
});

test('a --set override reruns like an edit and is recorded in the lock params', async () => {
  const result = await rig.run({ set: ['b.times=4'] });
  expect(result.stages.map((s) => s.action)).toEqual(['skipped', 'ran', 'ran']);
  expect(await rig.read('artifacts/b/out.txt')).toBe('HELLO'.repeat(4));
  expect(await rig.read('pipeline.lock')).toMatch(/\n  b:\n(?:    .*\n)*?    params:\n      times: 4\n/);
  // Without the override the file's value applies again.
  const back = await rig.run();
  expect(back.stages[1]!.reasons).toEqual(['params changed (times 4 → 2)']);
});

test('a parameter the lock has not recorded (the stage gained it) is named as new', async () => {
  const lock = await rig.read('pipeline.lock');
  const without = lock.replace(/(\n  b:\n(?:    .*\n)*?    params:)\n      times: 2\n/, '$1 {}\n');
  expect(without).not.toBe(lock);
  await rig.write('pipeline.lock', without);
  const result = await rig.run();
  expect(result.stages[1]!.reasons).toEqual(['params changed (times new: 2)']);
});

test('a parameter only the lock has (the stage dropped it) is named as removed with its old value', async () => {
  const lock = await rig.read('pipeline.lock');
  const extra = lock.replace(/(\n  b:\n(?:    .*\n)*?    params:\n)(      times: 2\n)/, '$1      old: 1\n$2');
  expect(extra).not.toBe(lock);
  await rig.write('pipeline.lock', extra);
  const result = await rig.run();
  expect(result.stages[1]!.reasons).toEqual(['params changed (old removed, was 1)']);
});
