#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npm ci && npx pipeline …` needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../pipeline/cli.ts');
process.exitCode = await main(process.argv.slice(2));
