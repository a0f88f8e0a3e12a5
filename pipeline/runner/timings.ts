// How long each stage took and when it finished: machine-local, in artifacts/.cache/timings.json, never
// in pipeline.lock. The lock is committed and must come out byte for byte the same wherever the same
// inputs are run (a fresh clone's first `pipeline run` leaves it untouched); durations never would.
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface StageTiming {
  /** Seconds the stage's run took; for a restore from the run cache, the original run's. */
  readonly seconds: number;
  /** ISO 8601 UTC time the outputs were put in place. */
  readonly finished: string;
  /** True when the outputs came from the run cache instead of a run. */
  readonly restored?: boolean;
}

export type Timings = Readonly<Record<string, StageTiming>>;

export function timingsFile(artifactsDir: string): string {
  return join(artifactsDir, '.cache', 'timings.json');
}

/** The recorded timings; none when the file is missing or unreadable (it is only informative). */
export async function readTimings(artifactsDir: string): Promise<Timings> {
  try {
    const data = JSON.parse(await readFile(timingsFile(artifactsDir), 'utf8')) as { version?: number; stages?: Record<string, StageTiming> };
    return data.version === 1 && data.stages && typeof data.stages === 'object' ? data.stages : {};
  } catch {
    return {};
  }
}

/** Records one stage's timing (read, update, temp file + rename). Callers hold the project lock. */
export async function recordTiming(artifactsDir: string, stage: string, timing: StageTiming): Promise<void> {
  const file = timingsFile(artifactsDir);
  const stages = { ...(await readTimings(artifactsDir)), [stage]: timing };
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify({ version: 1, stages }, null, 2)}\n`);
    await rename(tmp, file);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    throw error;
  }
}
