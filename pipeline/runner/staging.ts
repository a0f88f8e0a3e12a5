// A stage writes into artifacts/.staging/<stage>-<random>/; only a complete, successful run is swapped
// into artifacts/<stage>/, so an interrupted or failed stage never leaves half-written artifacts behind.
import { rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const STAGING = '.staging';

/** Staging folders in use, so a second Ctrl-C can remove them synchronously before exiting. */
export const activeStagingDirs = new Set<string>();

export async function createStaging(artifactsDir: string, stage: string): Promise<string> {
  const dir = join(artifactsDir, STAGING, `${stage}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  activeStagingDirs.add(dir);
  return dir;
}

export async function discardStaging(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  activeStagingDirs.delete(dir);
}

export function discardAllStagingSync(): void {
  for (const dir of activeStagingDirs) rmSync(dir, { recursive: true, force: true });
  activeStagingDirs.clear();
}

/**
 * Replaces artifacts/<stage>/ with the staging folder: rename the old away, the new in, drop the old.
 * `beforeDrop` sees the old folder first (the run cache takes the big files it has no copy of yet).
 */
export async function swapIn(artifactsDir: string, stage: string, stagingDir: string, beforeDrop?: (old: string) => Promise<void>): Promise<void> {
  const target = join(artifactsDir, stage);
  const old = `${stagingDir}.old`;
  let moved = false;
  try {
    await rename(target, old);
    moved = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await rename(stagingDir, target);
  activeStagingDirs.delete(stagingDir);
  if (!moved) return;
  // Only an optimisation: whatever it could not take goes with the folder.
  await beforeDrop?.(old).catch(() => undefined);
  await rm(old, { recursive: true, force: true });
}

/** Leftovers of runs killed without a chance to clean up (SIGKILL, power loss); only under the project lock. */
export async function removeStaleStaging(artifactsDir: string): Promise<void> {
  await rm(join(artifactsDir, STAGING), { recursive: true, force: true });
}
