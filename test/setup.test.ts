// The README's set-up gives the user a `pipeline` command that does not go through npx: `npm link` puts
// a symlink to bin/pipeline.mjs on PATH. Checked as the user gets it: npm link into a temp prefix (so
// this machine's global folder is not touched), then `pipeline` found by the shell.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const exec = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));

test("the README's main set-up command is one line that links the pipeline command and runs it, and no example uses npx", async () => {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const setUp = /## Set up\n\n```sh\n([^\n]*)\n/.exec(readme)?.[1];
  expect(setUp).toMatch(/^npm ci && npm link && pipeline run +#/);
  expect(readme).not.toMatch(/^\$ npx /m);
  const manifest = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
  expect(manifest.bin).toEqual({ pipeline: 'bin/pipeline.mjs' });
  expect(manifest.scripts.prepare).toBe('node pipeline/runner/build.mjs');
});

test('npm link gives a pipeline command on PATH that the shell runs from any folder', async () => {
  const prefix = await mkdtemp(join(tmpdir(), 'pipeline-link-'));
  try {
    const env = { ...process.env, npm_config_prefix: prefix, PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}` };
    // --ignore-scripts: the link alone (npm ci already ran prepare here).
    await exec('npm', ['link', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: repo, env });
    const { stdout: found } = await exec('sh', ['-c', 'command -v pipeline'], { env, cwd: tmpdir() });
    expect(found.trim()).toBe(join(prefix, 'bin', 'pipeline'));
    const { version } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string };
    const { stdout } = await exec('sh', ['-c', 'pipeline --version'], { env, cwd: tmpdir() });
    expect(stdout.trim()).toBe(version);
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
}, 60_000);
