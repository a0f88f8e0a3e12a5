#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npm ci && npx pipeline …` needs no build step.
import { tryNoopFastPath } from '../pipeline/fast-noop.mjs';

// A plain `pipeline run` with nothing changed is answered from a stat-checked witness, before any
// TypeScript is compiled (see pipeline/fast-noop.mjs); anything else takes the full path.
if (!(await tryNoopFastPath(process.argv.slice(2)))) {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../pipeline/cli.ts');
  process.exitCode = await main(process.argv.slice(2));
}
