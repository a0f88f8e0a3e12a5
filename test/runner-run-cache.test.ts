import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.ranChain()));

const times = (n: number) => `stages:\n  a: {}\n  b: { times: ${n} }\n  c: {}\n`;

test('going back to an earlier param restores the outputs from the run cache without executing', async () => {
  await rig.write('pipeline.yaml', times(3));
  await rig.run();
  expect(await rig.counts()).toEqual({ a: 1, b: 2, c: 2 });

  await rig.write('pipeline.yaml', times(2));
  const back = await rig.run();
  expect(back.stages.map((s) => [s.stage, s.action])).toEqual([
    ['a', 'skipped'],
    ['b', 'restored'],
    ['c', 'restored'],
  ]);
  expect(await rig.counts()).toEqual({ a: 1, b: 2, c: 2 });
  expect(await rig.read('artifacts/b/out.txt')).toBe('HELLOHELLO');
  expect(await rig.read('artifacts/c/out.txt')).toBe('length 10');
  // And the restored state is fresh.
  expect((await rig.run()).stages.map((s) => s.action)).toEqual(['skipped', 'skipped', 'skipped']);
});

test('cached objects are named by the sha256 of their content and are copies, not links', async () => {
  const objects = await readdir(rig.path('artifacts/.cache/objects'));
  const expected = ['HELLO', 'HELLOHELLO', 'length 10'].map((t) => createHash('sha256').update(t).digest('hex'));
  expect(objects.sort()).toEqual(expected.sort());
  // Editing an artifact in place must not reach the cached copy.
  await writeFile(rig.path('artifacts/b/out.txt'), 'EDITED');
  const hash = createHash('sha256').update('HELLOHELLO').digest('hex');
  expect(await readFile(rig.path(`artifacts/.cache/objects/${hash}`), 'utf8')).toBe('HELLOHELLO');
});

test('--force executes even when the run cache could restore', async () => {
  const result = await rig.run({ targets: ['b'], force: true });
  expect(result.stages.map((s) => [s.stage, s.action])).toEqual([
    ['a', 'skipped'],
    ['b', 'ran'],
  ]);
  expect(result.stages[1]!.reasons).toEqual(['forced']);
  expect(await rig.counts()).toEqual({ a: 1, b: 2, c: 1 });
});

test('gc prunes runs the lock no longer refers to, and then going back executes again', async () => {
  await rig.write('pipeline.yaml', times(3));
  await rig.run();
  expect(await readdir(rig.path('artifacts/.cache/runs'))).toHaveLength(5);
  const gc = await rig.cli(['gc']);
  expect(gc.code).toBe(0);
  // b and c at times 2 are pruned; their three objects minus HELLO (a's, still referenced) go too.
  // Sizes in binary units, named as such (issue 13, item 9): bytes, KiB, MiB.
  expect(gc.stdout).toMatch(/^gc: pruned runs pipeline.lock does not refer to: removed 2 runs and 2 objects, freed (\d+ B|\d+\.\d [KMG]iB)\n$/);
  expect(await readdir(rig.path('artifacts/.cache/runs'))).toHaveLength(3);
  await rig.write('pipeline.yaml', times(2));
  const back = await rig.run();
  expect(back.stages.map((s) => s.action)).toEqual(['skipped', 'ran', 'ran']);
});

test('gc --keep 1 keeps the newest run of each stage besides the locked ones; --all empties the cache', async () => {
  await rig.write('pipeline.yaml', times(3));
  await rig.run();
  await rig.write('pipeline.yaml', times(4));
  await rig.run();
  expect(await readdir(rig.path('artifacts/.cache/runs'))).toHaveLength(7);
  expect((await rig.cli(['gc', '--keep', '1'])).code).toBe(0);
  // Locked: a, b@4, c@4; --keep 1 keeps those as the newest per stage too, so b@2, b@3, c@2, c@3 go.
  expect(await readdir(rig.path('artifacts/.cache/runs'))).toHaveLength(3);
  const all = await rig.cli(['gc', '--all']);
  expect(all.stdout).toMatch(/^gc: emptied the run cache: removed 3 runs and 3 objects/);
  expect(await readdir(rig.path('artifacts/.cache/objects'))).toEqual([]);
});
