import { expect, test } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusyError } from '../pipeline/runner/mutex.ts';
import { Rig, rigPerTest, until } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.chain()));

test('a second run with --no-wait refuses while the first holds the project', async () => {
  await rig.write('HANG_b', '');
  const first = rig.run();
  await until(() => rig.exists('STARTED_b'));
  const refused = rig.run({ wait: false });
  await expect(refused).rejects.toThrow(BusyError);
  await expect(refused).rejects.toThrow(`another pipeline run (pid ${process.pid}) is using this project`);
  await rig.write('RELEASE_b', '');
  expect((await first).outcome).toBe('success');
  expect(await rig.counts()).toEqual({ a: 1, b: 1, c: 1 });
});

test('a second run waits for the first, then finds everything fresh: never both write', async () => {
  await rig.write('HANG_b', '');
  const first = rig.run();
  await until(() => rig.exists('STARTED_b'));
  const second = rig.run();
  await sleep(300);
  // Still waiting: it has not touched a (a second execution would show in the counts).
  expect(await rig.counts()).toEqual({ a: 1, b: 1, c: 0 });
  await rig.write('RELEASE_b', '');
  const [one, two] = await Promise.all([first, second]);
  expect(one.stages.map((s) => s.action)).toEqual(['ran', 'ran', 'ran']);
  expect(two.events[0]).toEqual({ type: 'waiting', pid: process.pid });
  expect(two.stages.map((s) => s.action)).toEqual(['skipped', 'skipped', 'skipped']);
  expect(await rig.counts()).toEqual({ a: 1, b: 1, c: 1 });
});

test('a lock left by a run that was killed is taken over at once', async () => {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { hostname } = await import('node:os');
  const { spawnSync } = await import('node:child_process');
  // A pid that existed and is gone now: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  await mkdir(rig.path('artifacts/.run.lock'), { recursive: true });
  await writeFile(rig.path('artifacts/.run.owner'), JSON.stringify({ pid: dead, host: hostname() }));
  const started = Date.now();
  const result = await rig.run({ wait: false });
  expect(result.outcome).toBe('success');
  expect(Date.now() - started).toBeLessThan(5000);
});
