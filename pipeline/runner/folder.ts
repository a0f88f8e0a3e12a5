// Folder outputs, as DVC's directory outputs: a stage declares an output whose name ends in "/" and
// writes any files inside it. The folder is recorded as ONE output whose hash is the sha256 of its
// manifest, the sorted list of (path inside the folder, size, sha256) of its files; the manifest itself
// is kept in the run cache as an object under that hash. Each file goes through the stat cache, so an
// unchanged file of a large folder is never read again, and a file carried over from the previous run
// by a hard link (same inode, same mtime) is not even rehashed. A stage that reads the folder is told
// which of its files changed since it last read it (see incremental.ts).
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { canonicalJson, sha256File, sha256Text, type Sha256, type StatCache } from './hash.ts';

/** `minutes.arrow/` declares a folder output (or input); any other name a file. */
export function isFolder(name: string): boolean {
  return name.endsWith('/');
}

export interface ManifestEntry {
  readonly size: number;
  readonly hash: Sha256;
}

/** Path inside the folder ('/'-separated) -> size and hash, sorted by path. */
export type Manifest = Readonly<Record<string, ManifestEntry>>;

export interface FolderState {
  /** Total bytes of the files. */
  readonly size: number;
  /** sha256 of the canonical manifest: equal folders, equal hashes, whatever the file system's order. */
  readonly hash: Sha256;
  readonly files: number;
  readonly manifest: Manifest;
}

/** The canonical text of a manifest: its sha256 is the folder's hash, and the run cache stores it. */
export function manifestText(manifest: Manifest): string {
  return canonicalJson(manifest);
}

export function folderStateOf(manifest: Manifest): FolderState {
  const sorted = Object.fromEntries(Object.entries(manifest).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const entries = Object.values(sorted);
  return {
    size: entries.reduce((sum, e) => sum + e.size, 0),
    hash: sha256Text(manifestText(sorted)),
    files: entries.length,
    manifest: sorted,
  };
}

/** Every regular file under `dir`, as '/'-separated paths relative to it, sorted. */
export async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    files.push(relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'));
  }
  return files.sort();
}

/**
 * The state of a folder: each file's hash from the stat cache (read only when its size, mtime or inode
 * moved). Undefined when there is no folder there (a file at that path is not the folder either).
 */
export async function folderState(stat: StatCache, dir: string): Promise<FolderState | undefined> {
  const st = await statOrUndefined(dir);
  if (!st?.isDirectory()) return undefined;
  const manifest: Record<string, ManifestEntry> = {};
  for (const file of await filesIn(dir)) {
    const state = await stat.state(join(dir, file));
    if (state) manifest[file] = { size: state.size, hash: state.hash };
  }
  return folderStateOf(manifest);
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** Which files of a folder differ between two manifests, by path inside it. */
export function manifestDiff(before: Manifest, after: Manifest): { changed: string[]; added: string[]; removed: string[] } {
  const changed: string[] = [];
  const added: string[] = [];
  for (const [path, entry] of Object.entries(after)) {
    const old = before[path];
    if (!old) added.push(path);
    else if (old.hash !== entry.hash || old.size !== entry.size) changed.push(path);
  }
  const removed = Object.keys(before).filter((path) => !Object.hasOwn(after, path));
  return { changed: changed.sort(), added: added.sort(), removed: removed.sort() };
}

/** A file carried over unchanged: its recorded size and hash, and the stat they were trusted for. */
export interface KnownFile extends ManifestEntry {
  readonly trusted: { readonly size: number; readonly mtimeMs: number; readonly ino: number } | undefined;
}

/**
 * The state of a folder a stage just wrote. Files in `known` (by path inside the folder) whose stat is
 * still the one their hash was trusted for are not read (a hard link shares the inode and mtime);
 * every other file is hashed.
 */
export async function hashFolder(dir: string, known: ReadonlyMap<string, KnownFile> = new Map()): Promise<FolderState | undefined> {
  const st = await statOrUndefined(dir);
  if (!st?.isDirectory()) return undefined;
  const manifest: Record<string, ManifestEntry> = {};
  for (const file of await filesIn(dir)) {
    const path = join(dir, file);
    const now = await stat(path);
    const kept = known.get(file);
    const t = kept?.trusted;
    if (kept && t && now.size === kept.size && now.size === t.size && now.mtimeMs === t.mtimeMs && now.ino === t.ino) {
      manifest[file] = { size: kept.size, hash: kept.hash };
    } else {
      manifest[file] = { size: now.size, hash: await sha256File(path) };
    }
  }
  return folderStateOf(manifest);
}
