// Content hashes. sha256 is streamed so a ~300 MB source CSV never sits in memory, and a stat cache
// (size, mtime, inode -> hash) spares rehashing a large file that has not been touched since.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
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
  fileHashes++;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex') as Sha256;
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

interface StatEntry {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly hash: Sha256;
}

export interface FileState {
  readonly size: number;
  readonly hash: Sha256;
}

/**
 * Remembers the hash of each file together with its size, mtime and inode. The trade-off, as in make,
 * git and dvc: a file rewritten with the same size and then given back its old mtime on the same inode
 * is taken as unchanged. Machine-local (inodes and mtimes mean nothing elsewhere), so it lives in
 * artifacts/.cache/stat.json and never in pipeline.lock.
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

  /** Size and hash of a file, or undefined when it does not exist. */
  async state(path: string): Promise<FileState | undefined> {
    let st;
    try {
      st = await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (!st.isFile()) return undefined;
    const known = this.entries.get(path);
    if (known && known.size === st.size && known.mtimeMs === st.mtimeMs && known.ino === st.ino) {
      return { size: st.size, hash: known.hash };
    }
    const hash = await sha256File(path);
    // Stat again: a file that changed while it was read must not be cached under the old stat.
    const after = await stat(path);
    if (after.size === st.size && after.mtimeMs === st.mtimeMs && after.ino === st.ino) {
      this.entries.set(path, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, hash });
      this.dirty = true;
    }
    return { size: st.size, hash };
  }

  /** Records a hash just computed elsewhere (outputs are hashed in staging, then renamed into place). */
  remember(path: string, hash: Sha256, st: { size: number; mtimeMs: number; ino: number }): void {
    this.entries.set(path, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, hash });
    this.dirty = true;
  }

  /** The stat a recorded hash was trusted for, if any. */
  entry(path: string): { size: number; mtimeMs: number; ino: number } | undefined {
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
