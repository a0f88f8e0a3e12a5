// gc (issue 13, item 10): --dry says what would go and removes nothing; by default gc keeps what the
// lock committed at HEAD refers to, so `metrics --diff` (which reads HEAD's metrics from the run
// cache) and going back to the committed parameters keep working after a gc.
import { readdir } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { commitAll, initRepo } from './helpers/git.ts';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => {
  rig = await Rig.ranChain();
  await rig.write('.gitignore', 'artifacts/\n');
  initRepo(rig.root);
  commitAll(rig.root, 'b.times 2, run');
  // Then a run with other parameters, not committed: b and c at times 3.
  await rig.write('pipeline.yaml', 'stages:\n  a: {}\n  b: { times: 3 }\n  c: {}\n');
  await rig.run();
  return rig;
});

const listing = async () => ({
  runs: (await readdir(rig.path('artifacts/.cache/runs'))).sort(),
  objects: (await readdir(rig.path('artifacts/.cache/objects'))).sort(),
});

test('gc keeps the runs and objects the committed lock at HEAD refers to', async () => {
  const before = await listing();
  expect(before.runs).toHaveLength(5); // a; b and c at times 2 (HEAD) and at times 3 (working lock)
  const { code, stdout } = await rig.cli(['gc']);
  expect(code).toBe(0);
  expect(stdout).toBe("gc: pruned runs neither pipeline.lock nor HEAD's pipeline.lock refers to: removed 0 runs and 0 objects, freed 0 B\n");
  expect(await listing()).toEqual(before);
  // Back to the committed parameters: restored from the run cache, not executed again.
  await rig.write('pipeline.yaml', 'stages:\n  a: {}\n  b: { times: 2 }\n  c: {}\n');
  const counts = await rig.counts();
  const back = await rig.run();
  expect(back.stages.map((s) => s.action)).toEqual(['skipped', 'restored', 'restored']);
  expect(await rig.counts()).toEqual(counts);
});

test('a run neither lock refers to is pruned', async () => {
  await rig.write('pipeline.yaml', 'stages:\n  a: {}\n  b: { times: 4 }\n  c: {}\n');
  await rig.run(); // times 4 is now the working lock; times 3 is in neither
  const { stdout } = await rig.cli(['gc']);
  expect(stdout).toMatch(/^gc: pruned runs neither pipeline\.lock nor HEAD's pipeline\.lock refers to: removed 2 runs and 2 objects, freed (\d+ B|\d+\.\d KiB)\n$/);
  expect((await listing()).runs).toHaveLength(5);
});

test('gc --dry says what gc would remove, and removes nothing', async () => {
  await rig.write('pipeline.yaml', 'stages:\n  a: {}\n  b: { times: 4 }\n  c: {}\n');
  await rig.run();
  const before = await listing();
  const dry = await rig.cli(['gc', '--dry']);
  expect(dry.code).toBe(0);
  const would = /^gc --dry: would remove 2 runs and 2 objects \(runs neither pipeline\.lock nor HEAD's pipeline\.lock refers to\), (\d+ B|\d+\.\d KiB); nothing removed\n$/.exec(dry.stdout);
  expect(would, dry.stdout).not.toBeNull();
  expect(await listing()).toEqual(before);
  const real = await rig.cli(['gc']);
  expect(real.stdout).toContain(`removed 2 runs and 2 objects, freed ${would![1]}`);
  const all = await rig.cli(['gc', '--all', '--dry']);
  expect(all.stdout).toMatch(/^gc --dry: would remove 5 runs and \d+ objects \(the whole run cache\), (\d+ B|\d+\.\d KiB); nothing removed\n$/);
  expect((await listing()).runs).toHaveLength(5);
});
