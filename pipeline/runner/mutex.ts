// One writer per project: `pipeline run` and `pipeline gc` hold artifacts/.run.lock (proper-lockfile:
// an atomic mkdir, refreshed while held, taken over only when stale, i.e. its holder died).
// `status`, `dag` and `run --dry` only read and never take it.
import { mkdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';

export class BusyError extends Error {
  constructor(
    message: string,
    readonly pid: number | undefined,
  ) {
    super(message);
    this.name = 'BusyError';
  }
}

export interface ProjectLock {
  /** Set when another process took the lock over (ours looked stale): the run must stop. */
  readonly compromised: () => Error | undefined;
  release(): Promise<void>;
}

export interface LockOptions {
  /** Wait for the other run (true) or refuse at once (false). */
  readonly wait: boolean;
  /** How long to wait before giving up. */
  readonly timeoutMs?: number;
  /** Called once when the lock is held by someone else and we start waiting. */
  readonly onWait?: (pid: number | undefined) => void;
  /** Ctrl-C while waiting: stop waiting at once (acquireProjectLock then throws WaitInterrupted). */
  readonly signal?: AbortSignal;
}

/** The wait for another run's lock was interrupted (Ctrl-C); nothing was written. */
export class WaitInterrupted extends Error {
  constructor() {
    super('interrupted while waiting for another pipeline run');
    this.name = 'WaitInterrupted';
  }
}

interface Owner {
  readonly pid?: number;
  readonly host?: string;
}

async function holder(ownerFile: string): Promise<Owner> {
  try {
    return JSON.parse(await readFile(ownerFile, 'utf8')) as Owner;
  } catch {
    return {};
  }
}

/** The holder was on this machine and its process is gone (killed without cleaning up). */
function isDead(owner: Owner): boolean {
  if (owner.pid === undefined || owner.host !== hostname()) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes the lock of a holder whose process is gone. Takeovers go through a second mkdir lock so two
 * waiters can't both decide the holder is dead and one remove the lock the other has just taken.
 */
async function takeOverFromDead(lockfilePath: string, ownerFile: string): Promise<boolean> {
  const guard = `${lockfilePath}.takeover`;
  try {
    await mkdir(guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Held for milliseconds; one older than a minute was left by a crash.
    const st = await stat(guard).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 60_000) await rm(guard, { recursive: true, force: true });
    return false;
  }
  try {
    if (!isDead(await holder(ownerFile))) return false;
    await unlink(ownerFile).catch(() => {});
    await rm(lockfilePath, { recursive: true, force: true });
    return true;
  } finally {
    await rm(guard, { recursive: true, force: true });
  }
}

export async function acquireProjectLock(artifactsDir: string, options: LockOptions): Promise<ProjectLock> {
  await mkdir(artifactsDir, { recursive: true });
  const lockfilePath = join(artifactsDir, '.run.lock');
  const ownerFile = join(artifactsDir, '.run.owner');
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const deadline = Date.now() + timeoutMs;
  let compromise: Error | undefined;
  let waiting = false;
  for (;;) {
    try {
      const release = await lockfile.lock(artifactsDir, {
        lockfilePath,
        realpath: false,
        retries: 0,
        // Generous: a stage may block the event loop (and so the lock's refresh) for a while. A holder
        // that died is detected sooner, by its pid, below.
        stale: 120_000,
        update: 10_000,
        onCompromised: (error) => {
          compromise = error;
        },
      });
      await writeFile(ownerFile, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      return {
        compromised: () => compromise,
        async release() {
          // A run that took the lock over from us (we looked dead) owns the file now: leave it.
          if ((await holder(ownerFile)).pid === process.pid) await unlink(ownerFile).catch(() => {});
          await release().catch(() => {});
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    }
    if (await takeOverFromDead(lockfilePath, ownerFile)) continue;
    const pid = (await holder(ownerFile)).pid;
    const who = pid === undefined ? 'another pipeline run' : `another pipeline run (pid ${pid})`;
    if (!options.wait) {
      throw new BusyError(`${who} is using this project; wait for it to finish, or run without --no-wait to queue`, pid);
    }
    if (Date.now() > deadline) {
      throw new BusyError(`gave up waiting for ${who} after ${Math.round(timeoutMs / 1000)} s`, pid);
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.(pid);
    }
    if (options.signal?.aborted) throw new WaitInterrupted();
    await sleep(200, undefined, { signal: options.signal }).catch(() => {});
    if (options.signal?.aborted) throw new WaitInterrupted();
  }
}
