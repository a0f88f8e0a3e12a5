// pipeline.lock: what produced each artifact. YAML with a fixed key order so diffs stay small and a
// reviewer can read them; meant to be committed next to pipeline.yaml, like dvc.lock.
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './config.ts';
import type { Fingerprint } from './fingerprint.ts';
import type { Sha256 } from './hash.ts';

export const LOCK_FILE = 'pipeline.lock';

export interface LockedOutput {
  /** Bytes; for a folder output, of all its files. */
  readonly size: number;
  /** sha256 of the content; for a folder output, of its manifest (see folder.ts). */
  readonly hash: Sha256;
  /** Folder outputs only: how many files the folder holds. */
  readonly files?: number;
}

export interface LockEntry {
  readonly fingerprint: Fingerprint;
  /** The fingerprint's parts, kept so `status` can say what changed, not just that something did. */
  readonly code: Sha256;
  readonly params: Readonly<Record<string, unknown>>;
  readonly libraries: Readonly<Record<string, string>>;
  /** sha256 of the libraries' whole installed closure (`library_closure` in the file). One hash keeps the
   *  lock small; the package list behind it stays on the machine (artifacts/.cache/libraries/) for
   *  `status` to name the package that changed. Absent for a stage without libraries. */
  readonly libraryClosure?: Sha256;
  /** Input path (relative to the project root) -> content hash. */
  readonly inputs: Readonly<Record<string, Sha256>>;
  /** Incremental stages only: input path -> bytes, so that a file that grew can be recognised as this
   *  one with rows appended (its first `size` bytes hash to the recorded hash). */
  readonly inputSizes?: Readonly<Record<string, number>>;
  /** Output path (artifacts/<stage>/<file>) -> size and content hash. */
  readonly outputs: Readonly<Record<string, LockedOutput>>;
  // No timings: they differ from machine to machine and run to run, and a committed lock must come out
  // byte for byte the same from the same inputs. They live in artifacts/.cache/timings.json (timings.ts).
}

export interface Lock {
  readonly version: 1;
  /** Stage name -> entry, in pipeline order. */
  readonly stages: Readonly<Record<string, LockEntry>>;
}

const hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a 64-digit hex sha256');
const entrySchema = z.object({
  fingerprint: hex,
  code: hex,
  params: z.record(z.string(), z.unknown()),
  libraries: z.record(z.string(), z.string()),
  library_closure: hex.optional(),
  inputs: z.record(z.string(), hex),
  input_sizes: z.record(z.string(), z.int().nonnegative()).optional(),
  outputs: z.record(z.string(), z.object({ size: z.int().nonnegative(), hash: hex, files: z.int().nonnegative().optional() })),
  // Locks written before timings moved out still carry `duration` and `finished`: dropped on reading.
});
const lockSchema = z.object({
  version: z.literal(1),
  stages: z.record(z.string(), entrySchema).nullish(),
});

/** Parses the text of a pipeline.lock (e.g. from `git show HEAD:pipeline.lock`). */
export function parseLock(text: string, label = LOCK_FILE): Lock {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new ConfigError([{ location: label, message: `not valid YAML: ${(error as Error).message.split('\n')[0]}` }]);
  }
  const result = lockSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError([
      {
        location: label,
        message: `${issue.path.join('.') || 'the file'} ${issue.message}; delete ${LOCK_FILE} to start afresh`,
      },
    ]);
  }
  const stages: Record<string, LockEntry> = {};
  for (const [name, { library_closure, input_sizes, ...entry }] of Object.entries(result.data.stages ?? {})) {
    stages[name] = {
      ...(entry as Omit<LockEntry, 'libraryClosure' | 'inputSizes'>),
      ...(library_closure ? { libraryClosure: library_closure as Sha256 } : {}),
      ...(input_sizes === undefined ? {} : { inputSizes: input_sizes }),
    };
  }
  return { version: 1, stages };
}

export async function readLock(root: string): Promise<Lock | undefined> {
  let text: string;
  try {
    text = await readFile(join(root, LOCK_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseLock(text);
}

function sorted<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Stable text: stages in `order` (then any others by name), fields in declaration order, maps sorted. */
export function formatLock(lock: Lock, order: readonly string[] = []): string {
  const names = Object.keys(lock.stages).sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    if (ia !== ib) return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib);
    return a < b ? -1 : 1;
  });
  const stages: Record<string, unknown> = {};
  for (const name of names) {
    const e = lock.stages[name]!;
    stages[name] = {
      fingerprint: e.fingerprint,
      code: e.code,
      params: sorted(e.params),
      libraries: sorted(e.libraries),
      ...(e.libraryClosure ? { library_closure: e.libraryClosure } : {}),
      inputs: sorted(e.inputs),
      ...(e.inputSizes === undefined ? {} : { input_sizes: sorted(e.inputSizes) }),
      outputs: Object.fromEntries(
        Object.entries(sorted(e.outputs)).map(([k, v]) => [k, { size: v.size, hash: v.hash, ...(v.files === undefined ? {} : { files: v.files }) }]),
      ),
    };
  }
  return (
    '# Written by `pipeline run`: what produced each artifact. Commit it with pipeline.yaml.\n' +
    stringify({ version: 1, stages }, { lineWidth: 0, sortMapEntries: false })
  );
}

/** Writes the lock atomically (temp file + rename): a crash leaves the old lock or the new, never half. */
export async function writeLock(root: string, lock: Lock, order: readonly string[] = []): Promise<void> {
  const target = join(root, LOCK_FILE);
  const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(tmp, formatLock(lock, order));
    await rename(tmp, target);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    throw error;
  }
}
