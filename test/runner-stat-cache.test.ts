import { stat, utimes, writeFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { fileHashCount } from '../pipeline/runner/hash.ts';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => {
  rig = await Rig.create();
  // A few MB stands in for the ~300 MB CSV: what matters is whether it is read at all.
  await rig.write('data/big.csv', 'x'.repeat(4_000_000));
  await rig.setStages([{ name: 'a', inputs: [{ path: 'data/big.csv' }], transform: 'String(text.length)' }]);
  await rig.write('pipeline.yaml', 'stages: {}\n');
  await rig.run();
  return rig;
});

test('an unchanged large input is not rehashed on a no-op run', async () => {
  const before = fileHashCount();
  const result = await rig.run();
  expect(result.stages[0]!.action).toBe('skipped');
  expect(fileHashCount()).toBe(before);
});

test('touching the input (new mtime) rehashes it; same content keeps the stage fresh', async () => {
  const later = new Date(Date.now() + 60_000);
  await utimes(rig.path('data/big.csv'), later, later);
  const before = fileHashCount();
  const result = await rig.run();
  expect(fileHashCount()).toBe(before + 1);
  expect(result.stages[0]!.action).toBe('skipped');
});

test('the trade-off: same size, mtime and inode restored after an edit is taken as unchanged', async () => {
  // Whole seconds, so utimes can put back exactly the mtime the stat cache recorded.
  const atime = new Date('2024-01-01T00:00:00Z');
  const mtime = new Date('2024-01-02T00:00:00Z');
  await utimes(rig.path('data/big.csv'), atime, mtime);
  await rig.run();
  const { ino } = await stat(rig.path('data/big.csv'));
  await writeFile(rig.path('data/big.csv'), 'y'.repeat(4_000_000));
  await utimes(rig.path('data/big.csv'), atime, mtime);
  expect((await stat(rig.path('data/big.csv'))).ino).toBe(ino);
  expect((await rig.run()).stages[0]!.action).toBe('skipped');
  // Any other stat change exposes the edit.
  await utimes(rig.path('data/big.csv'), atime, new Date(mtime.getTime() + 1000));
  const result = await rig.run();
  expect(result.stages[0]!.reasons).toEqual(['input changed (data/big.csv)']);
});
