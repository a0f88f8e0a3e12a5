import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';

const BIN = fileURLToPath(new URL('../bin/pipeline.mjs', import.meta.url));

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
});
afterAll(() => fixture.cleanup());

/** Runs the real binary with its stdout pipe closed by the reader before anything is written (`| head -0`). */
function withClosedStdout(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: fixture.root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('output into a pipe the reader has closed ends quietly, with the command\'s own exit code', async () => {
  const { code, stderr } = await withClosedStdout(['inspect', 'aggregate/daily', '--head', '5']);
  // The fixture was never run: a stale warning is all stderr may hold.
  expect(stderr).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
  expect(stderr).toMatch(/^warning: aggregate is stale/);
  expect(code).toBe(0);
});

test('a failing command into a closed pipe still says why on stderr and exits 2', async () => {
  const { code, stderr } = await withClosedStdout(['inspect', 'nosuchstage']);
  expect(stderr).toMatch(/nosuchstage/);
  expect(stderr).not.toMatch(/EPIPE/);
  expect(code).toBe(2);
});
