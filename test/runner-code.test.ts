import { mkdir, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { Rig } from './rig.ts';

let rig: Rig;
afterEach(async () => {
  await rig.cleanup();
});

test('editing a stage module reruns that stage', async () => {
  rig = await Rig.chain();
  await rig.run();
  await rig.editStage('b');
  const result = await rig.run();
  expect(result.stages.map((s) => s.action)).toEqual(['skipped', 'ran', 'skipped']);
  expect(result.stages[1]!.reasons).toEqual(['code changed']);
  expect(await rig.counts()).toEqual({ a: 1, b: 2, c: 1 });
});

test('editing a module a stage imports relatively reruns it; an import type does not count', async () => {
  rig = await Rig.chain();
  await rig.write('stages/helper.ts', 'export const factor = 1;\n');
  await rig.write('stages/types.ts', 'export type Nothing = never;\n');
  await rig.editStage('c', "import { factor } from './helper.ts';\nimport type { Nothing } from './types.ts';\nexport const uses = factor;\n");
  await rig.run();
  await rig.write('stages/types.ts', 'export type Nothing = undefined;\n');
  expect((await rig.run()).stages.map((s) => s.action)).toEqual(['skipped', 'skipped', 'skipped']);
  await rig.write('stages/helper.ts', 'export const factor = 2;\n');
  const result = await rig.run();
  expect(result.stages.map((s) => s.action)).toEqual(['skipped', 'skipped', 'ran']);
  expect(result.stages[2]!.reasons).toEqual(['code changed']);
});

test('a new version of a declared library reruns the stage and says which', async () => {
  rig = await Rig.create();
  await rig.write('data/in.txt', 'x');
  await rig.setStages([{ name: 'a', inputs: [{ path: 'data/in.txt' }], libraries: ['fake-lib'] }]);
  await rig.write('pipeline.yaml', 'stages: {}\n');
  await rig.run();
  await mkdir(rig.path('node_modules/fake-lib'), { recursive: true });
  await writeFile(rig.path('node_modules/fake-lib/package.json'), '{"name":"fake-lib","version":"1.2.3"}');
  const result = await rig.run();
  expect(result.stages[0]!.reasons).toEqual(['library changed (fake-lib absent → 1.2.3)']);
});
