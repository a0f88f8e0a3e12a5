// Verify after the stage runs: whatever a stage's fingerprint read (an input, a module of its code, a
// package of its libraries) that moves while the stage runs makes its result unrecordable. The change
// is made deterministic by a stage that waits (HANG_<stage>) until the test has made it.
import { readdir, rename, writeFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { Rig, rigPerTest, type FakeStage } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.ranChain()));

/** `pipeline run` (in-process CLI) with `stage` held until `during` has run; returns the CLI's result. */
const runChanging = (stage: string, during: () => Promise<void>, argv: readonly string[] = ['run']) =>
  rig.holding(stage, () => rig.cli(argv), during);

/** The chain with stage a replaced by `a` (b and c keep no parameters), run once. */
async function ranChainWith(a: Omit<FakeStage, 'name' | 'inputs'>): Promise<void> {
  await rig.setStages([
    { name: 'a', inputs: [{ path: 'data/in.txt' }], ...a },
    { name: 'b', inputs: [{ stage: 'a', file: 'out.txt' }] },
    { name: 'c', inputs: [{ stage: 'b', file: 'out.txt' }] },
  ]);
  await rig.write('pipeline.yaml', 'stages: {}\n');
  await rig.run();
}

/** The line the waiting fake stage's progress prints (not a terminal: plain lines per quarter). */
const WAITING_A = '  a  50% (1/2 waiting)\n';

async function cachedRuns(): Promise<string[]> {
  return (await readdir(rig.path('artifacts/.cache/runs')).catch(() => [] as string[])).sort();
}

test('a source file replaced while its stage runs is not recorded; artifacts, lock and run cache stay as they were', async () => {
  await rig.write('data/in.txt', 'second\n');
  const lock = await rig.read('pipeline.lock');
  const runs = await cachedRuns();
  // The stage has read "second" when the file is replaced (atomically, as an editor saves).
  const result = await runChanging('a', async () => {
    await writeFile(rig.path('data/in.tmp'), 'third\n');
    await rename(rig.path('data/in.tmp'), rig.path('data/in.txt'));
  });
  expect(result.code).toBe(1);
  expect(result.stdout).toBe(WAITING_A + '✗ a: data/in.txt changed while the stage ran; not recorded\n');
  expect(await rig.read('pipeline.lock')).toBe(lock);
  expect(await rig.read('artifacts/a/out.txt')).toBe('HELLO');
  expect(await cachedRuns()).toEqual(runs);
  expect(await readdir(rig.path('artifacts/.staging'))).toEqual([]);

  // The next run computes from what the file holds now; nothing of the discarded run comes back.
  const next = await rig.run();
  expect(next.stages.map((s) => s.action)).toEqual(['ran', 'ran', 'ran']);
  expect(await rig.read('artifacts/a/out.txt')).toBe('THIRD');
  expect(await rig.read('artifacts/c/out.txt')).toBe('length 10');
  expect((await rig.cli(['status'])).stdout).toBe('a: fresh\nb: fresh\nc: fresh\n');
});

test('a source file rewritten in place with the same size while its stage runs is not recorded', async () => {
  await rig.write('data/in.txt', 'second\n');
  const lock = await rig.read('pipeline.lock');
  const result = await runChanging('a', () => writeFile(rig.path('data/in.txt'), 'thirds\n'));
  expect(result.stdout).toBe(WAITING_A + '✗ a: data/in.txt changed while the stage ran; not recorded\n');
  expect(result.code).toBe(1);
  expect(await rig.read('pipeline.lock')).toBe(lock);
});

test('an artifact input changed while the stage reading it runs is not recorded', async () => {
  await rig.write('data/in.txt', 'second\n');
  await rig.run({ targets: ['a'] });
  const result = await runChanging('b', () => writeFile(rig.path('artifacts/a/out.txt'), 'OTHER'));
  expect(result.stdout).toBe('✓ a  skipped (unchanged)\n  b  50% (1/2 waiting)\n✗ b: artifacts/a/out.txt changed while the stage ran; not recorded\n');
  expect(result.code).toBe(1);
  expect(await rig.read('artifacts/b/out.txt')).toBe('HELLOHELLO');
});

test('a stage module edited while the stage runs is not recorded', async () => {
  await rig.write('data/in.txt', 'second\n');
  const lock = await rig.read('pipeline.lock');
  const result = await runChanging('a', () => rig.editStage('a'));
  expect(result.stdout).toBe(WAITING_A + '✗ a: stages/a.ts changed while the stage ran; not recorded\n');
  expect(result.code).toBe(1);
  expect(await rig.read('pipeline.lock')).toBe(lock);
  expect(await rig.read('artifacts/a/out.txt')).toBe('HELLO');
});

test('a module the stage imports, edited while it runs, is not recorded', async () => {
  await rig.write('stages/helper.ts', "export const suffix = '!';\n");
  await ranChainWith({ header: "import { suffix } from './helper.ts';", transform: 'text.trim() + suffix' });
  const lock = await rig.read('pipeline.lock');
  await rig.write('data/in.txt', 'second\n');
  const result = await runChanging('a', () => rig.write('stages/helper.ts', "export const suffix = '?';\n"));
  expect(result.stdout).toBe(WAITING_A + '✗ a: stages/helper.ts changed while the stage ran; not recorded\n');
  expect(await rig.read('pipeline.lock')).toBe(lock);
});

test('a library that changes while the stage runs is not recorded', async () => {
  const install = async (version: string) => {
    await rig.write('node_modules/fake-lib/package.json', JSON.stringify({ name: 'fake-lib', version }));
    await rig.write(
      'node_modules/.package-lock.json',
      JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/fake-lib': { version, integrity: `sha512-${version}` } } }),
    );
  };
  await install('1.0.0');
  await ranChainWith({ libraries: ['fake-lib'] });
  const lock = await rig.read('pipeline.lock');
  await rig.write('data/in.txt', 'second\n');
  const result = await runChanging('a', () => install('1.0.1'));
  expect(result.stdout).toBe(WAITING_A + '✗ a: library fake-lib changed while the stage ran (1.0.0 → 1.0.1); not recorded\n');
  expect(result.code).toBe(1);
  expect(await rig.read('pipeline.lock')).toBe(lock);
  // With the library settled, the stage runs and is recorded against 1.0.1.
  expect((await rig.run()).stages[0]!.reasons).toEqual(['library changed (fake-lib 1.0.0 → 1.0.1)', 'input changed (data/in.txt)']);
});

test('--json reports the discarded stage as failed with the reason', async () => {
  await rig.write('data/in.txt', 'second\n');
  const result = await runChanging('a', () => writeFile(rig.path('data/in.txt'), 'third\n'), ['run', '--json']);
  const doc = JSON.parse(result.stdout) as { outcome: string; stages: { stage: string; action: string; error?: string }[] };
  expect(doc.outcome).toBe('failed');
  expect(doc.stages[0]).toMatchObject({ stage: 'a', action: 'failed', error: 'data/in.txt changed while the stage ran; not recorded' });
  expect(doc.stages.slice(1).map((s) => s.action)).toEqual(['not-run', 'not-run']);
});
