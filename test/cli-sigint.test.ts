import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { parseLock } from '../pipeline/runner/lock.ts';
import { Rig, rigPerTest } from './rig.ts';

const BIN = fileURLToPath(new URL('../bin/pipeline.mjs', import.meta.url));

let rig: Rig;
rigPerTest(async () => (rig = await Rig.chain()));

test('Ctrl-C on the real binary stops the stage, removes its partial files and exits 130', async () => {
  await rig.write('HANG_b', '');
  // The rig's current registry file; the CLI reads it from PIPELINE_STAGES.
  const index = (await readdir(rig.path('stages'))).filter((f) => f.startsWith('index-')).sort().at(-1)!;
  const child = spawn(process.execPath, [BIN, 'run'], {
    cwd: rig.root,
    env: { ...process.env, NO_COLOR: '1', PIPELINE_STAGES: `stages/${index}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 1500 && !rig.exists('STARTED_b'); i++) await sleep(20);
  expect(rig.exists('STARTED_b')).toBe(true);
  child.kill('SIGINT');
  const code = await exited;
  expect({ code, stderr }).toEqual({
    code: 130,
    stderr: '\ninterrupting: stopping the current stage (Ctrl-C again to quit at once)\n',
  });
  // Not a terminal: progress is a plain line when it crosses a quarter (the fake reports 1 of 2).
  expect(stdout).toMatch(/^✓ a {2}\d+\.\d s\n {2}b {2}50% \(1\/2 waiting\)\n✗ b interrupted; its partial outputs were removed\n$/);
  expect(await readdir(rig.path('artifacts/.staging'))).toEqual([]);
  expect(Object.keys(parseLock(await rig.read('pipeline.lock')).stages)).toEqual(['a']);
  // The project lock was released: the next run resumes at b.
  await rm(rig.path('HANG_b'));
  const resumed = await rig.run({ wait: false });
  expect(resumed.stages.map((s) => s.action)).toEqual(['skipped', 'ran', 'ran']);
}, 60_000);
