// `metrics --diff` and `params diff`: what an earlier state recorded against what is here now, like
// `dvc metrics diff` / `dvc params diff`.
//
// Where the earlier metrics come from: pipeline.lock records, per output, its sha256; the run cache
// keeps every output it has seen content-addressed under artifacts/.cache/objects/<sha256>. So the
// lock committed at a git revision names the exact metrics.json of that revision, and the cache
// (normally) still holds its bytes — no runner change, no extra file. Without a committed lock, the
// baseline is the previous evaluate run the cache recorded (artifacts/.cache/runs/*.json).
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sha256File } from '../runner/hash.ts';
import { LOCK_FILE, parseLock, readLock, type Lock, type LockEntry } from '../runner/lock.ts';
import type { RunRecord } from '../runner/cache.ts';

export type Leaf = number | string | boolean | null;

/** Leaves of a JSON value keyed by their dotted path (`model.rmse`); arrays count as leaves. */
export function flatten(value: unknown, prefix = '', out = new Map<string, Leaf>()): Map<string, Leaf> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      flatten(child, prefix ? `${prefix}.${key}` : key, out);
    }
  } else if (prefix) {
    out.set(prefix, typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' || value === null ? value : JSON.stringify(value));
  }
  return out;
}

export interface DiffRow {
  readonly key: string;
  readonly old: Leaf | undefined;
  readonly new: Leaf | undefined;
  /** new − old when both are numbers. */
  readonly change: number | null;
  readonly changed: boolean;
}

/**
 * When two recomputed figures count as the same: within a relative 1e-9 of the larger, or 1e-12 of
 * each other near zero (Python's math.isclose defaults, with an absolute floor). Summing the same
 * numbers in another order moves a result by a few units in the last place (1465.19 ± 1.4e-12), far
 * inside this; any change a model or data edit makes is far outside it.
 */
export interface Tolerance {
  readonly relative: number;
  readonly absolute: number;
}

export const METRIC_TOLERANCE: Tolerance = { relative: 1e-9, absolute: 1e-12 };

export function sameNumber(a: number, b: number, tolerance: Tolerance = METRIC_TOLERANCE): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= Math.max(tolerance.relative * Math.max(Math.abs(a), Math.abs(b)), tolerance.absolute);
}

/** Old against new, leaf by leaf; with `tolerance`, numbers that close count as unchanged (metrics, not params). */
export function diffLeaves(
  before: ReadonlyMap<string, Leaf>,
  after: ReadonlyMap<string, Leaf>,
  tolerance?: Tolerance,
): DiffRow[] {
  const keys = [...after.keys(), ...[...before.keys()].filter((k) => !after.has(k))];
  return keys.map((key) => {
    const old = before.get(key);
    const now = after.get(key);
    const numbers = typeof old === 'number' && typeof now === 'number';
    return {
      key,
      old,
      new: now,
      change: numbers ? now - old : null,
      changed: numbers && tolerance ? !sameNumber(old, now, tolerance) : JSON.stringify(old) !== JSON.stringify(now),
    };
  });
}

export type GitShow = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

/** `git show REV:./file` in `cwd`; the reason says what git said when it could not. */
export async function gitShow(cwd: string, rev: string, file: string): Promise<GitShow> {
  if (rev.startsWith('-')) return { ok: false, reason: `"${rev}" is not a revision` };
  try {
    const { stdout } = await promisify(execFile)('git', ['show', `${rev}:./${file}`], { cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' });
    return { ok: true, text: stdout };
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message).trim();
    return { ok: false, reason: stderr.split('\n')[0] || 'git failed' };
  }
}

export interface Baseline<T> {
  /** Where the old values come from, for the header line: "git HEAD (pipeline.lock)". */
  readonly source: string;
  readonly value: T;
  /** Why the baseline is not the one normally used (printed as a warning). */
  readonly note?: string;
}

export class BaselineMissing extends Error {}

export const METRICS_OUTPUT = 'artifacts/evaluate/metrics.json';

/** The pipeline.lock committed at `rev`, or why there is none (what git said). */
export async function lockAtRevision(root: string, rev: string): Promise<Lock | string> {
  const shown = await gitShow(root, rev, LOCK_FILE);
  if (!shown.ok) return shown.reason;
  return parseLock(shown.text, `${rev}:${LOCK_FILE}`);
}

async function cachedObject(artifactsDir: string, hash: string): Promise<string | undefined> {
  try {
    return await readFile(join(artifactsDir, '.cache', 'objects', hash), 'utf8');
  } catch {
    return undefined;
  }
}

async function runRecords(artifactsDir: string, stage: string): Promise<RunRecord[]> {
  const dir = join(artifactsDir, '.cache', 'runs');
  const names = await readdir(dir).catch(() => [] as string[]);
  const records: RunRecord[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    try {
      const record = JSON.parse(await readFile(join(dir, name), 'utf8')) as RunRecord;
      if (record.stage === stage && record.entry?.outputs) records.push(record);
    } catch {
      // a half-written or foreign file is not a run record
    }
  }
  return records.sort((a, b) => (a.saved < b.saved ? 1 : a.saved > b.saved ? -1 : 0));
}

/** The metrics text a cached object holds, parsed; a damaged object is named. */
function parseCached(artifactsDir: string, hash: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BaselineMissing(`${join(artifactsDir, '.cache', 'objects', hash)}: not valid JSON: ${(error as Error).message}`);
  }
}

/** The evaluate run before the current one, from the run cache (artifacts/.cache/runs). */
async function previousRun(root: string, artifactsDir: string): Promise<Baseline<unknown> | undefined> {
  const current = await readLock(root);
  const currentHash = current?.stages.evaluate?.outputs[METRICS_OUTPUT]?.hash ?? (await sha256File(join(root, METRICS_OUTPUT)).catch(() => undefined));
  for (const record of await runRecords(artifactsDir, 'evaluate')) {
    const output = record.entry.outputs[METRICS_OUTPUT];
    if (!output || output.hash === currentHash) continue;
    const text = await cachedObject(artifactsDir, output.hash);
    if (text !== undefined) return { source: `previous run (${record.saved})`, value: parseCached(artifactsDir, output.hash, text) };
  }
  return undefined;
}

/**
 * The metrics recorded at `rev` (default HEAD). With no revision asked for, when HEAD has no lock
 * (or no git at all) or its metrics cannot be had (a fresh clone's run cache lacks them), the
 * previous evaluate run in the run cache instead, with a note saying so.
 */
export async function metricsBaseline(root: string, artifactsDir: string, rev: string | undefined): Promise<Baseline<unknown>> {
  const wanted = rev ?? 'HEAD';
  const lock = await lockAtRevision(root, wanted);
  let unavailable: string;
  let note: string | undefined;
  if (typeof lock !== 'string') {
    const entry: LockEntry | undefined = lock.stages.evaluate;
    const output = entry?.outputs[METRICS_OUTPUT];
    if (!output) {
      unavailable = `${wanted}:${LOCK_FILE} records no ${METRICS_OUTPUT} (evaluate had not run when it was committed)`;
      note = `${wanted}'s ${LOCK_FILE} records no metrics; comparing with the previous run`;
    } else {
      const text = await cachedObject(artifactsDir, output.hash);
      if (text !== undefined) return { source: `git ${wanted} (${LOCK_FILE})`, value: parseCached(artifactsDir, output.hash, text) };
      unavailable =
        `the metrics of ${wanted} (sha256 ${output.hash.slice(0, 12)}…) are not in the run cache (artifacts/.cache/objects); ` +
        `they come back after "git checkout ${wanted} && pipeline run evaluate"`;
      note = `${wanted}'s metrics are not in the run cache; comparing with the previous run`;
    }
  } else {
    unavailable = `no ${LOCK_FILE} at ${wanted}: ${lock}`;
  }
  // An explicit revision means that revision or nothing.
  if (rev !== undefined) throw new BaselineMissing(unavailable);
  const previous = await previousRun(root, artifactsDir);
  if (previous) return { ...previous, note };
  throw new BaselineMissing(
    typeof lock === 'string'
      ? `nothing to compare with: no ${LOCK_FILE} at HEAD (${lock}) and no earlier evaluate run in the run cache`
      : `${unavailable}; and there is no earlier evaluate run in the run cache to compare with instead`,
  );
}

/** Per-stage params recorded at `rev` (default HEAD); without a committed lock, the last run's lock. */
export async function paramsBaseline(root: string, rev: string | undefined): Promise<Baseline<Record<string, Readonly<Record<string, unknown>>>>> {
  const wanted = rev ?? 'HEAD';
  const lock = await lockAtRevision(root, wanted);
  const paramsOf = (l: Lock) => Object.fromEntries(Object.entries(l.stages).map(([stage, entry]) => [stage, entry.params]));
  if (typeof lock !== 'string') return { source: `git ${wanted} (${LOCK_FILE})`, value: paramsOf(lock) };
  if (rev !== undefined) throw new BaselineMissing(`no ${LOCK_FILE} at ${rev}: ${lock}`);
  const last = await readLock(root);
  if (!last) throw new BaselineMissing(`nothing to compare with: no ${LOCK_FILE} at HEAD (${lock}) and the pipeline has not run here`);
  return { source: `last run (${LOCK_FILE})`, value: paramsOf(last) };
}
