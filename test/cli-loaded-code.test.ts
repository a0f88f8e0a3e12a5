// Code already loaded into the process counts as what ran. The real binary in a child process, because
// what matters is Node's module cache: a module edited after the CLI loaded it runs in its old form.
import { expect, test } from 'vitest';
import { parseLock } from '../pipeline/runner/lock.ts';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.withInput()));

/** Runs the binary, holding `stage` until `during` has run. */
const runChanging = (stage: string, during: () => Promise<void>) => rig.holding(stage, () => rig.spawnCli(['run']).done, during);

test('a stage module edited after the CLI loaded it is neither run nor recorded', async () => {
  await rig.setStages([
    { name: 'a', inputs: [{ path: 'data/in.txt' }], transform: 'text.trim()' },
    { name: 'b', inputs: [{ stage: 'a', file: 'out.txt' }], transform: "text + ' v1'" },
  ]);
  // The CLI imported stages/b.ts before a began; b's module then changes on disk while a runs.
  const result = await runChanging('a', async () => {
    const source = await rig.read('stages/b.ts');
    await rig.write('stages/b.ts', source.replace("text + ' v1'", "text + ' v2'"));
  });
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/^ {2}a {2}50% \(1\/2 waiting\)\n✓ a {2}\d+\.\d s\n✗ b: stages\/b\.ts changed after it was loaded; not recorded\n$/);
  expect(Object.keys(parseLock(await rig.read('pipeline.lock')).stages)).toEqual(['a']);
  expect(rig.exists('artifacts/b/out.txt')).toBe(false);
  expect(await rig.counts()).toEqual({ a: 1, b: 0 });
  // A new process loads the module as it is now.
  const next = await rig.spawnCli(['run']).done;
  expect(next.code).toBe(0);
  expect(await rig.read('artifacts/b/out.txt')).toBe('hello v2');
}, 60_000);

test('a helper edited after an earlier stage loaded it is neither run nor recorded by a later stage', async () => {
  await rig.write('stages/helper.ts', "export const suffix = ' v1';\n");
  // a and b both load the helper when they run; m, between them, runs while the helper changes. Node
  // would hand b the helper a loaded, whatever the file says by then.
  const loadHelper = "const { suffix } = await import('./helper.ts');";
  await rig.setStages([
    { name: 'a', inputs: [{ path: 'data/in.txt' }], body: loadHelper, transform: 'text.trim() + suffix' },
    { name: 'm', inputs: [{ stage: 'a', file: 'out.txt' }] },
    { name: 'b', inputs: [{ stage: 'm', file: 'out.txt' }], body: loadHelper, transform: 'text + suffix' },
  ]);
  const result = await runChanging('m', () => rig.write('stages/helper.ts', "export const suffix = ' v2';\n"));
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/✓ m {2}\d+\.\d s\n✗ b: stages\/helper\.ts changed after it was loaded; not recorded\n$/);
  expect(Object.keys(parseLock(await rig.read('pipeline.lock')).stages)).toEqual(['a', 'm']);
  expect(rig.exists('artifacts/b/out.txt')).toBe(false);

  // The next process: a reruns (its helper changed), and so does b, both with the helper as it is now.
  const next = await rig.spawnCli(['run']).done;
  expect(next.code).toBe(0);
  expect(await rig.read('artifacts/a/out.txt')).toBe('hello v2');
  expect(await rig.read('artifacts/b/out.txt')).toBe('hello v2 v2');
}, 60_000);
