import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.chain()));

test('run prints one line per stage and exits 0', async () => {
  const first = await rig.cli(['run']);
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/^✓ a {2}\d+\.\d s\n✓ b {2}\d+\.\d s\n✓ c {2}\d+\.\d s\n$/);
  const second = await rig.cli(['run']);
  expect(second.stdout).toBe('✓ a  skipped (unchanged)\n✓ b  skipped (unchanged)\n✓ c  skipped (unchanged)\n');
  expect(second.stderr).toBe('');
});

test('a failing stage prints its message without a stack and exits 1', async () => {
  await rig.write('FAIL_b', '');
  const { code, stdout, stderr } = await rig.cli(['run']);
  expect(code).toBe(1);
  expect(stdout).toMatch(/^✓ a {2}\d+\.\d s\n✗ b failed: b broke on purpose\n$/);
  expect(stderr).toBe('');
  const debug = await rig.cli(['run'], { DEBUG: 'pipeline' });
  expect(debug.stderr).toMatch(/^Error: b broke on purpose\n {4}at /);
});

test('restored stages say so', async () => {
  await rig.cli(['run']);
  await rig.cli(['run', '--set', 'b.times=1']);
  const back = await rig.cli(['run']);
  expect(back.stdout).toBe('✓ a  skipped (unchanged)\n✓ b  restored from run cache\n✓ c  restored from run cache\n');
});

test('--json prints one JSON document', async () => {
  const { code, stdout } = await rig.cli(['run', '--json', 'b']);
  expect(code).toBe(0);
  const doc = JSON.parse(stdout) as { outcome: string; stages: { stage: string; action: string; reasons: string[] }[] };
  expect(doc.outcome).toBe('success');
  expect(doc.stages.map((s) => [s.stage, s.action, s.reasons])).toEqual([
    ['a', 'ran', ['never run']],
    ['b', 'ran', ['never run']],
  ]);
});

test('named stages run with their stale upstream only; --single runs just them; --from forces downstream', async () => {
  await rig.cli(['run', 'b']);
  expect(await rig.counts()).toEqual({ a: 1, b: 1, c: 0 });
  await rig.write('data/in.txt', 'bye');
  await rig.cli(['run', '--single', 'c']);
  // c ran on the b output already there; a and b were not looked at.
  expect(await rig.counts()).toEqual({ a: 1, b: 1, c: 1 });
  expect(await rig.read('artifacts/c/out.txt')).toBe('length 10');
  await rig.cli(['run', '--from', 'b']);
  // a is stale (input changed) so it runs; b and c are forced.
  expect(await rig.counts()).toEqual({ a: 2, b: 2, c: 2 });
  expect(await rig.read('artifacts/c/out.txt')).toBe('length 6');
  await rig.cli(['run', '--force']);
  expect(await rig.counts()).toEqual({ a: 3, b: 3, c: 3 });
});

test('usage errors exit 2 and list the valid stages', async () => {
  const unknown = await rig.cli(['run', 'bb']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toBe('pipeline run: unknown stage "bb"; did you mean "b"? (stages: a, b, c)\n');
  const single = await rig.cli(['run', '--single']);
  expect(single.code).toBe(2);
  expect(single.stderr).toBe('pipeline run: --single needs the stage names to run\n');
  const badOption = await rig.cli(['run', '--forse']);
  expect(badOption.code).toBe(2);
  // A mistyped option gets a suggestion (issue 13, item 7).
  expect(badOption.stderr).toMatch(/^pipeline: unknown option --forse; did you mean --force\?\n/);
  expect((await rig.cli(['stat'])).code).toBe(2);
  expect(await rig.counts()).toEqual({ a: 0, b: 0, c: 0 });
});

test('a missing source file fails its stage with a clear message', async () => {
  await rm(rig.path('data/in.txt'));
  const missing = await rig.cli(['run']);
  expect(missing.code).toBe(1);
  expect(missing.stdout).toBe('✗ a failed: input not found: data/in.txt\n');
});

test('--no-wait refuses with exit 1 while another run holds the project', async () => {
  await rig.write('HANG_b', '');
  const first = rig.run();
  for (let i = 0; i < 500 && !rig.exists('STARTED_b'); i++) await sleep(10);
  const refused = await rig.cli(['run', '--no-wait']);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toBe(
    `pipeline run: another pipeline run (pid ${process.pid}) is using this project; wait for it to finish, or run without --no-wait to queue\n`,
  );
  await rig.write('RELEASE_b', '');
  await first;
});

test('dag draws each stage with what it reads and writes', async () => {
  const { code, stdout } = await rig.cli(['dag']);
  expect(code).toBe(0);
  expect(stdout).toBe(
    [
      'a  test stage a',
      '  ◀ data/in.txt',
      '  ▶ artifacts/a/out.txt  (to b)',
      '  │',
      '  ▼',
      'b  test stage b',
      '  ◀ artifacts/a/out.txt  (from a)',
      '  ▶ artifacts/b/out.txt  (to c)',
      '  │',
      '  ▼',
      'c  test stage c',
      '  ◀ artifacts/b/out.txt  (from b)',
      '  ▶ artifacts/c/out.txt',
      '',
    ].join('\n'),
  );
});
