#!/usr/bin/env node
// The `pipeline` command. It runs the CLI's build (pipeline/runner/build.mjs: the sources bundled by
// esbuild, made by `npm ci` and made anew whenever a file it was made from changes), or the TypeScript
// sources directly through tsx when there is no build to be had, so `npm ci` is all the set-up it needs.
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
  // Another stage registry (PIPELINE_STAGES, loaded by path) is TypeScript the build does not hold.
  const { cliBuild } = await import('../pipeline/runner/build.mjs');
  const build = process.env.PIPELINE_STAGES ? undefined : await cliBuild();
  const { recordBuild, recordModuleLoads } = await import('../pipeline/runner/module-loads.mjs');
  let main;
  if (build) {
    // What runs is what the build was made from: every source and bundled package counts as loaded now.
    recordBuild(build);
    globalThis[Symbol.for('pipeline.build.workers')] = new Map(Object.entries(build.workers));
    ({ main } = await import(build.main));
  } else {
    // Before tsx, so the recorder sees each module's source as loaded from disk: a module edited after
    // it was loaded still runs in its old form, and the runner must know (pipeline/runner/loaded.ts).
    recordModuleLoads();
    const { register } = await import('tsx/esm/api');
    register();
    ({ main } = await import('../pipeline/cli/main.ts'));
  }
  process.exitCode = await main(process.argv.slice(2));
}
