import { rm, writeFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { stageStatuses } from '../pipeline/runner/status.ts';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.chain()));

test('status before any run says never run for every stage', async () => {
  const { code, stdout } = await rig.cli(['status']);
  expect(code).toBe(0);
  expect(stdout).toBe('a: never run\nb: never run\nc: never run\n');
});

test('status names each reason in words', async () => {
  await rig.run();
  expect((await rig.cli(['status'])).stdout).toBe('a: fresh\nb: fresh\nc: fresh\n');

  await rig.write('pipeline.yaml', 'stages:\n  a: {}\n  b: { times: 3 }\n  c: {}\n');
  expect((await rig.cli(['status'])).stdout).toBe('a: fresh\nb: params changed (times 2 → 3)\nc: upstream stale (b)\n');

  await rig.write('pipeline.yaml', 'stages:\n  b: { times: 2 }\n');
  await rig.editStage('a');
  await writeFile(rig.path('artifacts/b/out.txt'), 'HELLO!');
  expect((await rig.cli(['status'])).stdout).toBe(
    'a: code changed\n' +
      'b: output modified (artifacts/b/out.txt); upstream stale (a)\n' +
      'c: input changed (artifacts/b/out.txt); upstream stale (b)\n',
  );

  await rm(rig.path('artifacts/c/out.txt'));
  expect((await rig.cli(['status', '--json'])).stdout).toBe(
    JSON.stringify(
      {
        stages: [
          { stage: 'a', fresh: false, reasons: ['code changed'] },
          { stage: 'b', fresh: false, reasons: ['output modified (artifacts/b/out.txt)', 'upstream stale (a)'] },
          { stage: 'c', fresh: false, reasons: ['input changed (artifacts/b/out.txt)', 'output missing (artifacts/c/out.txt)', 'upstream stale (b)'] },
        ],
      },
      null,
      2,
    ) + '\n',
  );
});

test('stageStatuses reports an input changed by an upstream rerun with --single', async () => {
  await rig.run();
  await rig.write('data/in.txt', 'other');
  await rig.run({ targets: ['a'], single: true });
  const statuses = await stageStatuses(await rig.project());
  expect(statuses).toEqual([
    { stage: 'a', fresh: true, reasons: [] },
    { stage: 'b', fresh: false, reasons: ['input changed (artifacts/a/out.txt)'] },
    // c's input is unchanged so far, but b will rerun first.
    { stage: 'c', fresh: false, reasons: ['upstream stale (b)'] },
  ]);
});

test('--dry prints the plan with the reason for each stage and runs nothing', async () => {
  await rig.run();
  await rig.write('pipeline.yaml', 'stages:\n  b: { times: 3 }\n');
  const dry = await rig.cli(['run', '--dry']);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toBe('a  skip (unchanged)\nb  run: params changed (times 2 → 3)\nc  run: upstream stale (b)\n');
  expect(await rig.counts()).toEqual({ a: 1, b: 1, c: 1 });

  await rig.run();
  await rig.write('pipeline.yaml', 'stages:\n  b: { times: 2 }\n');
  expect((await rig.cli(['run', '--dry'])).stdout).toBe(
    'a  skip (unchanged)\nb  restore from run cache: params changed (times 3 → 2)\nc  run: upstream stale (b)\n',
  );
  expect((await rig.cli(['run', '--dry', '--single', 'b'])).stdout).toBe(
    'b  restore from run cache: params changed (times 3 → 2)\n',
  );
  // --force executes instead of restoring.
  expect((await rig.cli(['run', '--dry', '--force', 'b'])).stdout).toBe(
    'a  skip (unchanged)\nb  run: params changed (times 3 → 2)\n',
  );
});
