import { expect, test } from 'vitest';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.ranChain()));

test('upstream rerun with byte-identical output leaves downstream skipped', async () => {
  // a's note param does not enter its output, so a reruns and rewrites the same bytes.
  await rig.write('pipeline.yaml', 'stages:\n  a: { note: changed }\n  b: { times: 2 }\n  c: {}\n');
  const result = await rig.run();
  expect(result.stages.map((s) => [s.stage, s.action])).toEqual([
    ['a', 'ran'],
    ['b', 'skipped'],
    ['c', 'skipped'],
  ]);
  expect(await rig.counts()).toEqual({ a: 2, b: 1, c: 1 });
});

test('a source edit that normalises to the same text stops at the first stage', async () => {
  // "  hello  " trims to the same HELLO: only a reruns.
  await rig.write('data/in.txt', '  hello  ');
  const result = await rig.run();
  expect(result.stages.map((s) => s.action)).toEqual(['ran', 'skipped', 'skipped']);
});
