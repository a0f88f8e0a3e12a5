// @ts-check
// Finding the project from wherever a command runs, as git, npm and dvc do: the nearest folder, from
// the working folder upward, that holds pipeline.yaml. Plain JS: the no-op fast path (fast-noop.mjs)
// needs it before any TypeScript is loaded, and project.ts uses the same function.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const CONFIG_FILE = 'pipeline.yaml';

/**
 * The project root: `cwd` or the nearest folder above it that holds pipeline.yaml.
 * @param {string} cwd
 * @returns {string | undefined} undefined when no folder up to the file system's root has one
 */
export function findProjectRoot(cwd) {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, CONFIG_FILE))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}
