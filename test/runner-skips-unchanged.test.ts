import { expect, test } from 'vitest';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.chain()));

test('first run executes every stage in order and writes the transformed artifacts', async () => {
  const result = await rig.run();
  expect(result.outcome).toBe('success');
  expect(result.stages.map((s) => [s.stage, s.action])).toEqual([
    ['a', 'ran'],
    ['b', 'ran'],
    ['c', 'ran'],
  ]);
  // data/in.txt is "hello\n": a trims and upper-cases, b repeats twice, c counts 10 characters.
  expect(await rig.read('artifacts/a/out.txt')).toBe('HELLO');
  expect(await rig.read('artifacts/b/out.txt')).toBe('HELLOHELLO');
  expect(await rig.read('artifacts/c/out.txt')).toBe('length 10');
  expect(await rig.counts()).toEqual({ a: 1, b: 1, c: 1 });
});

test('unchanged project skips every stage on the second run', async () => {
  await rig.run();
  const second = await rig.run();
  expect(second.stages.map((s) => s.action)).toEqual(['skipped', 'skipped', 'skipped']);
  expect(await rig.counts()).toEqual({ a: 1, b: 1, c: 1 });
});

test('changing the source file reruns the stage that reads it and its downstream', async () => {
  await rig.run();
  await rig.write('data/in.txt', 'bye\n');
  const second = await rig.run();
  expect(second.stages.map((s) => s.action)).toEqual(['ran', 'ran', 'ran']);
  expect(second.stages[0]!.reasons).toEqual(['input changed (data/in.txt)']);
  expect(await rig.read('artifacts/c/out.txt')).toBe('length 6');
});
