#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npm ci && npx pipeline …` needs no build step.
import { tryNoopFastPath } from '../pipeline/runner/fast-noop.mjs';

// A reader that stops early (`pipeline inspect … | head`) closes the pipe: what is left to print has
// nowhere to go, and that is not an error. Drop it quietly (a run still finishes and cleans up) instead
// of dying on an unhandled EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    // Anything else (a full disk: ENOSPC) is a real failure: one line, not a stack trace.
    if (stream === process.stdout) process.stderr.write(`pipeline: cannot write the output: ${error.code ?? error.message}\n`);
    process.exit(1);
  });
}

// A plain `pipeline run` with nothing changed is answered from a stat-checked witness, before any
// TypeScript is compiled (see pipeline/runner/fast-noop.mjs); anything else takes the full path.
if (!(await tryNoopFastPath(process.argv.slice(2)))) {
  // Before tsx, so the recorder sees each module's source as loaded from disk: a module edited after it
  // was loaded still runs in its old form, and the runner must know (pipeline/runner/loaded.ts).
  const { recordModuleLoads } = await import('../pipeline/runner/module-loads.mjs');
  recordModuleLoads();
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../pipeline/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
