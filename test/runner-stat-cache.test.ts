import { stat, utimes, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { fileHashCount, StatCache } from '../pipeline/runner/hash.ts';
import { statCacheFile } from '../pipeline/runner/status.ts';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => {
  rig = await Rig.create();
  // A few MB stands in for the ~300 MB CSV: what matters is whether it is read at all.
  await rig.write('data/big.csv', 'x'.repeat(4_000_000));
  await rig.setStages([{ name: 'a', inputs: [{ path: 'data/big.csv' }], transform: 'String(text.length)' }]);
  await rig.write('pipeline.yaml', 'stages: {}\n');
  // A file hashed within 50 ms of its last change is hashed again next time (see the last test).
  await sleep(60);
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

test('an edit that keeps size, mtime and inode is seen by its ctime', async () => {
  // What `rm` + `cp -p` can give: the same size, the old mtime put back, and (here for certain, by
  // rewriting in place) the same inode. Only ctime, which no user call can set back, moves.
  const atime = new Date('2024-01-01T00:00:00.250Z');
  const mtime = new Date('2024-01-02T00:00:00.125Z');
  await utimes(rig.path('data/big.csv'), atime, mtime);
  await sleep(60);
  expect((await rig.run()).stages[0]!.action).toBe('skipped');
  // The stat cache now vouches for the file by its stamp: the next check will not read it unless the stamp moved.
  const cached = (await StatCache.open(statCacheFile(rig.path('artifacts')))).entry(rig.path('data/big.csv'));
  const before = await stat(rig.path('data/big.csv'));
  expect(cached).toMatchObject({ size: before.size, mtimeMs: before.mtimeMs, ino: before.ino, ctimeMs: before.ctimeMs });

  await writeFile(rig.path('data/big.csv'), 'y'.repeat(4_000_000));
  await utimes(rig.path('data/big.csv'), atime, mtime);
  const after = await stat(rig.path('data/big.csv'));
  expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
  expect(after.ctimeMs).not.toBe(before.ctimeMs);
  const result = await rig.run();
  expect(result.stages[0]!.reasons).toEqual(['input changed (data/big.csv)']);
  expect(await rig.read('artifacts/a/out.txt')).toBe('4000000');
});

test('a file changed within a clock tick of being hashed is hashed again next time', async () => {
  // Racily clean, as git calls it: a second write in the same tick as the first keeps every part of
  // the stamp, so a stamp that recent can't vouch for the content. A time in the future (a clock stepped
  // back) is always that recent.
  const big = rig.path('data/big.csv');
  const cache = await StatCache.open(statCacheFile(rig.path('artifacts')));
  const future = new Date(Date.now() + 60_000);
  await utimes(big, future, future);
  const before = fileHashCount();
  await cache.state(big);
  await cache.state(big);
  expect(fileHashCount()).toBe(before + 2);
  expect(cache.entry(big)).toBeUndefined();
  // Once its last change (ctime included: utimes sets it to now) is older than a tick, the stamp is trusted.
  const past = new Date(Date.now() - 60_000);
  await utimes(big, past, past);
  await sleep(60);
  await cache.state(big);
  await cache.state(big);
  expect(fileHashCount()).toBe(before + 3);
  expect(cache.entry(big)).toBeDefined();
});
