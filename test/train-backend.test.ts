import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

it('without tfjs-node the CPU backend is used and no "install tfjs-node" banner is printed', async () => {
  // A fresh process: the banner is printed once per process, on the CPU backend's first tensor.
  const script = [
    "const { loadTf } = await import('./stages/lib/model/tf.ts');",
    'const { tf, backend } = await loadTf();',
    'tf.tidy(() => tf.add(tf.tensor([1, 2]), 1).dataSync());',
    'console.log(JSON.stringify({ backend, prod: tf.env().getBool("PROD") }));',
  ].join('\n');
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root });
  expect(stderr).not.toContain('tfjs-node');
  expect(stdout).not.toContain('tfjs-node');
  // Prod mode is not left on: later tfjs warnings still reach the user.
  expect(JSON.parse(stdout.trim())).toEqual({ backend: 'cpu', prod: false });
});
