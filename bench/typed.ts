// The `pipeline` command as the README's set-up gives it to the user: `npm link` puts a symlink named
// `pipeline` on PATH that points at bin/pipeline.mjs (whose `#!/usr/bin/env node` line runs it). The
// benchmarks make the same symlink in a folder of their own, put that folder first on PATH, and run
// `pipeline …` through the shell, as typed: no `node bin/pipeline.mjs`, no npx.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A folder holding `pipeline` -> <checkout>/bin/pipeline.mjs, and the environment with it first on PATH. */
export function pipelineOnPath(checkout: string): { bin: string; env: NodeJS.ProcessEnv } {
  const bin = join(tmpdir(), `pipeline-bench-bin-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  rmSync(bin, { recursive: true, force: true });
  mkdirSync(bin, { recursive: true });
  symlinkSync(join(checkout, 'bin', 'pipeline.mjs'), join(bin, 'pipeline'));
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
  // The command the shell finds must be ours.
  const found = execFileSync('sh', ['-c', 'command -v pipeline'], { env, encoding: 'utf8' }).trim();
  if (found !== join(bin, 'pipeline')) throw new Error(`bench: "pipeline" resolves to ${found}, not the benchmark's symlink`);
  return { bin, env };
}
