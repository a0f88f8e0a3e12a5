import { rm, stat, utimes, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { tryNoopFastPath } from '../pipeline/runner/fast-noop.mjs';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => {
  rig = await Rig.chain();
  await rig.cli(['run']);
  return rig;
});

async function fastPath(argv: readonly string[] = ['run']): Promise<string | undefined> {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  const done = await tryNoopFastPath(argv, { cwd: rig.root, env: { NO_COLOR: '1', PIPELINE_STAGES: rig.indexFile() }, out: sink });
  return done ? out : undefined;
}

/** The witness is only written when the files it vouches for are older than the run (by 50 ms). */
async function plainRun(): Promise<string> {
  await sleep(60);
  return (await rig.cli(['run'])).stdout;
}

const skippedLines = '✓ a  skipped (unchanged)\n✓ b  skipped (unchanged)\n✓ c  skipped (unchanged)\n';

test('after a plain run that skipped everything, the fast path prints the same lines without the runner', async () => {
  // The first run executed the stages: no witness yet.
  expect(await fastPath()).toBeUndefined();
  const full = await plainRun();
  expect(full).toBe(skippedLines);
  expect(await fastPath()).toBe(full);
  // Only a bare `run` is answered this way.
  expect(await fastPath(['run', 'b'])).toBeUndefined();
  expect(await fastPath(['status'])).toBeUndefined();
});

test('a file changed while the no-op run was checking leaves no witness', async () => {
  await sleep(60);
  // Stamped after the run began: the run may have read the content from before the change.
  const { utimes } = await import('node:fs/promises');
  const future = new Date(Date.now() + 10_000);
  await utimes(rig.path('stages/b.ts'), future, future);
  await rig.cli(['run']);
  expect(await fastPath()).toBeUndefined();
});

test('any change the full check would see sends the fast path back to the runner', async () => {
  await plainRun();
  const changes: (() => Promise<void>)[] = [
    () => writeFile(rig.path('data/in.txt'), 'other\n'),
    () => writeFile(rig.path('pipeline.yaml'), 'stages:\n  b: { times: 3 }\n'),
    () => rig.editStage('c'),
    () => rm(rig.path('artifacts/c/out.txt')),
    () => writeFile(rig.path('artifacts/b/out.txt'), 'HELLOHELLO'), // same bytes, new mtime: must be rechecked
    () => utimes(rig.path('pipeline.lock'), new Date(), new Date(Date.now() + 5000)),
  ];
  for (const change of changes) {
    expect(await fastPath()).toBe(skippedLines);
    await change();
    expect(await fastPath()).toBeUndefined();
    // The full runner brings everything up to date; one more plain run re-records the witness.
    await rig.cli(['run']);
    await plainRun();
  }
});

test('a same-size rewrite that keeps mtime and inode (only ctime moves) sends the fast path back', async () => {
  const input = rig.path('data/in.txt');
  const atime = new Date('2024-01-01T00:00:00.250Z');
  const mtime = new Date('2024-01-02T00:00:00.125Z');
  await utimes(input, atime, mtime);
  await rig.cli(['run']);
  await plainRun();
  expect(await fastPath()).toBe(skippedLines);
  const before = await stat(input);
  await writeFile(input, 'HELLO\n');
  await utimes(input, atime, mtime);
  const after = await stat(input);
  expect([after.size, after.mtimeMs, after.ino, after.dev]).toEqual([before.size, before.mtimeMs, before.ino, before.dev]);
  expect(await fastPath()).toBeUndefined();
  // The full runner sees the new content: a reruns (same output, so b and c stay fresh by early cutoff).
  expect((await rig.cli(['run'])).stdout).toMatch(/^✓ a {2}\d+\.\d s\n✓ b {2}skipped \(unchanged\)\n✓ c {2}skipped \(unchanged\)\n$/);
});

test('a run in progress (the project lock held) is left to the full runner', async () => {
  await plainRun();
  expect(await fastPath()).toBe(skippedLines);
  await writeFile(rig.path('HANG_b'), '');
  // Forced: nothing the witness covers has changed by the time b hangs, only the lock is held.
  const running = rig.run({ targets: ['b'], force: true });
  for (let i = 0; i < 500 && !rig.exists('STARTED_b'); i++) await new Promise((r) => setTimeout(r, 10));
  expect(await fastPath()).toBeUndefined();
  await rig.write('RELEASE_b', '');
  await running;
});
