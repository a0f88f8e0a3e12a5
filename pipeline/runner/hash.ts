// Content hashes. sha256 is streamed so a ~300 MB source CSV never sits in memory, and a stat cache
// (size, mtime, ctime, inode, device -> hash) spares rehashing a large file that has not been touched since.
import { createHash } from 'node:crypto';
import { existsSync, statSync, type Stats } from 'node:fs';
import { mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A hex sha256 of some content. Branded so a hash can't be confused with a path or a fingerprint. */
export type Sha256 = string & { readonly __brand: 'Sha256' };

let fileHashes = 0;
/** How many files were actually read and hashed in this process (the stat cache test counts them). */
export function fileHashCount(): number {
  return fileHashes;
}

export function sha256Text(text: string | Uint8Array): Sha256 {
  return createHash('sha256').update(text).digest('hex') as Sha256;
}

export async function sha256File(path: string): Promise<Sha256> {
  return (await sha256FileAndPrefix(path)).hash;
}

/** Bytes read at a time: a chunk is hashed while it is still in the CPU's cache, and the next one read meanwhile. */
const CHUNK = 1 << 20;

/**
 * Reads bytes [0, end) of a file (to its end when `end` is undefined) in order, handing each chunk to
 * `take`. Two buffers used in turn: the next chunk is read (on the thread pool) while `take` works on
 * this one, and no new memory is touched per chunk, which on a VM costs a host fault a page (a stream's
 * fresh buffer per chunk hashed the 207 MB source at half the speed). `take` must not keep the chunk.
 * Returns how many bytes were read.
 */
async function readChunks(path: string, take: (chunk: Buffer) => void, end?: number): Promise<number> {
  const file = await open(path, 'r');
  try {
    const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    let offset = 0;
    let turn = 0;
    const next = (at: number) => file.read(buffers[turn]!, 0, end === undefined ? CHUNK : Math.min(CHUNK, end - at), at);
    let reading = end === 0 ? undefined : next(0);
    while (reading) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      offset += bytesRead;
      turn ^= 1;
      reading = end !== undefined && offset >= end ? undefined : next(offset);
      // A failed read ahead surfaces at its await, not as an unhandled rejection meanwhile.
      reading?.catch(() => undefined);
      take(buffer.subarray(0, bytesRead));
    }
    return offset;
  } finally {
    await file.close();
  }
}

/**
 * The sha256 of a file and, in the same read, of its first `prefix` bytes (the hash state is copied
 * when the read reaches that offset). This is how a file that grew is recognised as the old one with
 * rows appended, for the price of hashing it once, which its new content needs anyway.
 */
export async function sha256FileAndPrefix(path: string, prefix?: number): Promise<{ hash: Sha256; prefix?: Sha256 }> {
  fileHashes++;
  const hash = createHash('sha256');
  let offset = 0;
  let prefixHash: Sha256 | undefined;
  const takePrefix = () => (prefixHash = hash.copy().digest('hex') as Sha256);
  if (prefix === 0) takePrefix();
  await readChunks(path, (chunk) => {
    if (prefix !== undefined && prefixHash === undefined && offset + chunk.length >= prefix) {
      hash.update(chunk.subarray(0, prefix - offset));
      takePrefix();
      hash.update(chunk.subarray(prefix - offset));
    } else {
      hash.update(chunk);
    }
    offset += chunk.length;
  });
  return { hash: hash.digest('hex') as Sha256, ...(prefixHash === undefined ? {} : { prefix: prefixHash }) };
}

/** The sha256 of the first `size` bytes of a file (undefined when it is shorter). */
async function sha256Prefix(path: string, size: number): Promise<Sha256 | undefined> {
  fileHashes++;
  const hash = createHash('sha256');
  const read = await readChunks(path, (chunk) => hash.update(chunk), size);
  return read === size ? (hash.digest('hex') as Sha256) : undefined;
}

/** JSON with object keys sorted at every level: equal data always gives equal text, hence equal hashes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/**
 * What a file's stat says about its content, as git's index keeps it. size, mtime and inode alone can be
 * put back after a change (`rm` + `cp -p` may get the same inode, `touch -d` the old mtime); ctime
 * can't be set by any user call and moves on every write, rename or chmod, and the device tells apart
 * two files with the same inode on different file systems.
 */
export interface FileStamp {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
  readonly dev: number;
}

export function stampOf(st: Stats): FileStamp {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, dev: st.dev };
}

export function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs &&
    a.ino === b.ino &&
    a.dev === b.dev
  );
}

/**
 * How long before a moment a file must have last changed for its stamp to vouch for the content read at
 * that moment. The kernel stamps files from a coarse clock (a few ms behind the real one), so a second
 * write in the same tick keeps the stamp; file systems with 1 s or 2 s resolution (FAT, HFS+) round
 * further, and give themselves away by whole-second times.
 */
export function racySlackMs(stamp: Pick<FileStamp, 'mtimeMs' | 'ctimeMs'>): number {
  return stamp.mtimeMs % 1000 === 0 || stamp.ctimeMs % 1000 === 0 ? 2_000 : 50;
}

/** True when the file changed too close to `at` for its stamp to tell a later same-tick write apart (git's "racily clean"). */
export function racy(stamp: FileStamp, at: number): boolean {
  return Math.max(stamp.mtimeMs, stamp.ctimeMs) >= at - racySlackMs(stamp);
}

interface StatEntry extends FileStamp {
  readonly hash: Sha256;
  /** The hash of the file's first `size` bytes, when a caller asked for it (see `state`). */
  readonly prefix?: { readonly size: number; readonly hash: Sha256 };
}

export interface FileState {
  readonly size: number;
  readonly hash: Sha256;
  /** The sha256 of the first `prefix` bytes asked for, when the file is longer than that. */
  readonly prefix?: Sha256;
}

/**
 * Remembers the hash of each file together with its stamp (size, mtime, ctime, inode, device). The
 * trade-off, as in git and dvc: a file whose stamp is unchanged is taken as unchanged; with ctime in
 * the stamp that takes a change of the clock or of the file system's own metadata, not a user command.
 * A file hashed within a clock tick of its last change is not remembered ("racily clean" in git): a
 * second write in the same tick would keep its stamp, so it is hashed again next time. Machine-local
 * (inodes and times mean nothing elsewhere), so it lives in artifacts/.cache/stat.json and never in
 * pipeline.lock.
 */
export class StatCache {
  private dirty = false;

  private constructor(
    private readonly file: string,
    private readonly entries: Map<string, StatEntry>,
  ) {}

  static async open(file: string): Promise<StatCache> {
    let entries = new Map<string, StatEntry>();
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as Record<string, StatEntry>;
      entries = new Map(Object.entries(parsed));
    } catch {
      // Missing or corrupt: it is only a cache, start empty.
    }
    return new StatCache(file, entries);
  }

  /**
   * Size and hash of a file, or undefined when it does not exist. With `prefix` (a size the file had
   * before), also the hash of its first `prefix` bytes when it is longer now: computed in the same read
   * as the whole hash, and remembered with it.
   */
  async state(path: string, prefix?: number): Promise<FileState | undefined> {
    // Sync: a stat is a few microseconds, a trip through the thread pool far more, and a check stats
    // hundreds of files (a folder output of monthly parts) one after another.
    let st;
    try {
      st = statSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (!st.isFile()) return undefined;
    const stamp = stampOf(st);
    const wanted = prefix !== undefined && prefix < st.size ? prefix : undefined;
    const known = this.entries.get(path);
    if (sameStamp(known, stamp)) {
      if (wanted === undefined) return { size: st.size, hash: known!.hash };
      if (known!.prefix?.size === wanted) return { size: st.size, hash: known!.hash, prefix: known!.prefix.hash };
      // Known, but not this prefix: read just the prefix (rare: every check of a growing input asks).
      const prefixHash = await sha256Prefix(path, wanted);
      if (prefixHash === undefined) return { size: st.size, hash: known!.hash };
      if (sameStamp(stampOf(await stat(path)), stamp)) {
        this.entries.set(path, { ...known!, prefix: { size: wanted, hash: prefixHash } });
        this.dirty = true;
      }
      return { size: st.size, hash: known!.hash, prefix: prefixHash };
    }
    const readAt = Date.now();
    const hashed = await sha256FileAndPrefix(path, wanted);
    // Stat again: a file that changed while it was read must not be cached under the old stamp.
    if (sameStamp(stampOf(await stat(path)), stamp) && !racy(stamp, readAt)) {
      const kept = hashed.prefix === undefined ? {} : { prefix: { size: wanted!, hash: hashed.prefix } };
      this.entries.set(path, { ...stamp, hash: hashed.hash, ...kept });
      this.dirty = true;
    } else if (known) {
      this.entries.delete(path);
      this.dirty = true;
    }
    return { size: st.size, ...hashed };
  }

  /** Records a hash just computed elsewhere (outputs are hashed in staging, then renamed into place). */
  remember(path: string, hash: Sha256, st: Stats): void {
    this.entries.set(path, { ...stampOf(st), hash });
    this.dirty = true;
  }

  /** The hash recorded for a file with the stamp it was trusted for, if any (the caller compares the stamp). */
  recorded(path: string): (FileStamp & { readonly hash: Sha256 }) | undefined {
    return this.entries.get(path);
  }

  /** The stamp a recorded hash was trusted for, if any. */
  entry(path: string): FileStamp | undefined {
    return this.entries.get(path);
  }

  async hash(path: string): Promise<Sha256 | undefined> {
    return (await this.state(path))?.hash;
  }

  /** Forgets files that no longer exist (gc); returns how many entries went. */
  prune(): number {
    let gone = 0;
    for (const path of [...this.entries.keys()]) {
      if (!existsSync(path)) {
        this.entries.delete(path);
        gone++;
      }
    }
    if (gone > 0) this.dirty = true;
    return gone;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries([...this.entries].sort(([a], [b]) => (a < b ? -1 : 1)))));
    await rename(tmp, this.file);
    this.dirty = false;
  }
}
