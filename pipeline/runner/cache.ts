// The run cache: outputs of every successful run kept content-addressed, so a stale stage whose new
// fingerprint was seen before is restored by copying instead of recomputed.
//   artifacts/.cache/objects/<sha256>        one file per distinct output content
//   artifacts/.cache/runs/<fingerprint>.json  the lock entry that run produced
// Objects are copies (reflinks where the file system can), never hard links: someone editing an
// artifact in place must not corrupt the cached copy. A big output file (1 MiB and more: the minute CSV,
// the monthly parts) is not copied after its run, while it is the current artifact: it is moved into
// the cache when a later run replaces it (adopt), if the stat cache still vouches that it holds the
// bytes recorded for it. Copying half a gigabyte of fresh page cache after every first run would cost
// more than the stages themselves on a small machine; going back to an earlier parameter value still
// restores the earlier outputs, which were moved here when they were replaced. A folder output is stored as its files' objects
// plus its manifest as one more object, under the folder's hash (the sha256 of the manifest's text),
// as DVC stores a directory: files already in the cache are not copied again.
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Fingerprint } from './fingerprint.ts';
import { isFolder, manifestText, type Manifest } from './folder.ts';
import { fileInStage } from './graph.ts';
import { sha256File, sha256Text, type Sha256 } from './hash.ts';
import type { LockEntry, LockedOutput } from './lock.ts';

export interface RunRecord {
  readonly stage: string;
  readonly saved: string;
  readonly entry: LockEntry;
  /** Seconds the run took (what a restore reports as its timing); absent in older records. */
  readonly seconds?: number;
}

export interface GcResult {
  readonly runs: number;
  readonly objects: number;
  readonly bytes: number;
}

/** Files of at least this size are kept when replaced, not copied after their run. */
export const DEFER_BYTES = 1 << 20;

function tmpName(path: string): string {
  return `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
}

export class RunCache {
  readonly dir: string;

  constructor(artifactsDir: string) {
    this.dir = join(artifactsDir, '.cache');
  }

  private objectPath(hash: Sha256): string {
    return join(this.dir, 'objects', hash);
  }

  private runPath(fingerprint: Fingerprint): string {
    return join(this.dir, 'runs', `${fingerprint}.json`);
  }

  /**
   * Keeps a copy of each output of a finished run (files live in `stageDir`, named by the entry);
   * `manifests` holds the manifest of each folder output, by its path in the entry.
   */
  async save(stage: string, entry: LockEntry, stageDir: string, seconds?: number, manifests: Readonly<Record<string, Manifest>> = {}): Promise<void> {
    await mkdir(join(this.dir, 'objects'), { recursive: true });
    await mkdir(join(this.dir, 'runs'), { recursive: true });
    for (const [path, out] of Object.entries(entry.outputs)) {
      const source = join(stageDir, fileInStage(stage, path));
      if (!isFolder(path)) {
        if (out.size < DEFER_BYTES) await this.keepObject(source, out);
        continue;
      }
      const manifest = manifests[path];
      if (!manifest) throw new Error(`no manifest for the folder output ${path}`);
      for (const [file, entry] of Object.entries(manifest)) if (entry.size < DEFER_BYTES) await this.keepObject(join(source, file), entry);
      await this.saveManifest(manifest);
    }
    const record: RunRecord = { stage, saved: new Date().toISOString(), entry, seconds };
    const file = this.runPath(entry.fingerprint);
    const tmp = tmpName(file);
    await writeFile(tmp, JSON.stringify(record, null, 2));
    await rename(tmp, file);
  }

  private async hasObject(out: { size: number; hash: Sha256 }): Promise<boolean> {
    const existing = await stat(this.objectPath(out.hash)).catch(() => undefined);
    return existing?.size === out.size;
  }

  private async keepObject(source: string, out: { size: number; hash: Sha256 }): Promise<void> {
    if (await this.hasObject(out)) return;
    const object = this.objectPath(out.hash);
    const tmp = tmpName(object);
    await copyFile(source, tmp, constants.COPYFILE_FICLONE);
    await rename(tmp, object);
  }

  /**
   * The big files of a run's outputs that are being replaced (`oldDir`: what was artifacts/<stage>/),
   * moved in as objects when the cache has none yet. Only a file that `vouched` says still holds its
   * recorded bytes (its stamp unchanged since its hash was recorded), and only one with no other link (a
   * file the new outputs share by a hard link is not the cache's to take).
   */
  async adopt(
    stage: string,
    entry: LockEntry,
    oldDir: string,
    vouched: (livePath: string, file: string, hash: Sha256) => Promise<boolean>,
  ): Promise<void> {
    await mkdir(join(this.dir, 'objects'), { recursive: true });
    for (const [path, out] of Object.entries(entry.outputs)) {
      const inStage = fileInStage(stage, path);
      const files = isFolder(path) ? await this.manifest(out.hash) : { '': out };
      for (const [file, object] of Object.entries(files ?? {})) {
        if (object.size < DEFER_BYTES || (await this.hasObject(object))) continue;
        const inside = file === '' ? inStage : join(inStage, file);
        const old = join(oldDir, inside);
        const st = await stat(old).catch(() => undefined);
        if (!st || st.nlink !== 1 || st.size !== object.size) continue;
        if (!(await vouched(inside, old, object.hash))) continue;
        await rename(old, this.objectPath(object.hash));
      }
    }
  }

  /** Stores a folder's manifest as the object named by the folder's hash. */
  async saveManifest(manifest: Manifest): Promise<Sha256> {
    const text = manifestText(manifest);
    const hash = sha256Text(text);
    const object = this.objectPath(hash);
    if (await this.hasObject({ hash, size: Buffer.byteLength(text) })) return hash;
    await mkdir(join(this.dir, 'objects'), { recursive: true });
    const tmp = tmpName(object);
    await writeFile(tmp, text);
    await rename(tmp, object);
    return hash;
  }

  /** The manifest of a folder with this hash, if the cache holds it intact. */
  async manifest(hash: Sha256): Promise<Manifest | undefined> {
    let text: string;
    try {
      text = await readFile(this.objectPath(hash), 'utf8');
    } catch {
      return undefined;
    }
    if (sha256Text(text) !== hash) return undefined;
    try {
      return JSON.parse(text) as Manifest;
    } catch {
      return undefined;
    }
  }

  /**
   * Remembers that the folder with hash `to` is the folder with hash `from` with records appended
   * (a stage declared it: PreviousRun.appended): artifacts/.cache/appended/<to>.json lists every such
   * `from`. A fact about contents, so it holds however the folder comes back (a rerun, a restore).
   */
  async saveAppended(to: Sha256, from: Sha256): Promise<void> {
    if (to === from) return;
    const file = join(this.dir, 'appended', `${to}.json`);
    const known = await this.appendedFrom(to);
    if (known.includes(from)) return;
    await mkdir(dirname(file), { recursive: true });
    const tmp = tmpName(file);
    await writeFile(tmp, JSON.stringify([...known, from].sort()));
    await rename(tmp, file);
  }

  private async appendedFrom(to: Sha256): Promise<Sha256[]> {
    try {
      const parsed = JSON.parse(await readFile(join(this.dir, 'appended', `${to}.json`), 'utf8')) as unknown;
      return Array.isArray(parsed) ? parsed.filter((h): h is Sha256 => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)) : [];
    } catch {
      return [];
    }
  }

  /**
   * True when the folder with hash `to` is the one with hash `from` with records appended, in one step
   * or through a chain of them (refreshes upstream while this stage did not run), as recorded by
   * saveAppended. Follows at most `limit` records.
   */
  async isAppendedTo(to: Sha256, from: Sha256, limit = 1000): Promise<boolean> {
    const seen = new Set<Sha256>([to]);
    const queue: Sha256[] = [to];
    while (queue.length > 0 && seen.size <= limit) {
      for (const earlier of await this.appendedFrom(queue.shift()!)) {
        if (earlier === from) return true;
        if (!seen.has(earlier)) {
          seen.add(earlier);
          queue.push(earlier);
        }
      }
    }
    return false;
  }

  /** The objects an output needs: the file's, or a folder's manifest and its files'. */
  private async objectsOf(path: string, out: LockedOutput): Promise<{ size: number; hash: Sha256 }[] | undefined> {
    if (!isFolder(path)) return [out];
    const manifest = await this.manifest(out.hash);
    return manifest && Object.values(manifest);
  }

  /** Every object the outputs of a lock entry need: each file's, and for a folder its manifest and files'. */
  async objectsOfOutputs(outputs: Readonly<Record<string, LockedOutput>>): Promise<Sha256[]> {
    const hashes: Sha256[] = [];
    for (const [path, out] of Object.entries(outputs)) {
      hashes.push(out.hash);
      if (isFolder(path)) for (const object of (await this.objectsOf(path, out)) ?? []) hashes.push(object.hash);
    }
    return hashes;
  }

  /** The record of an earlier run with this fingerprint, if all its objects are still there. */
  async lookup(fingerprint: Fingerprint): Promise<RunRecord | undefined> {
    let record: RunRecord;
    try {
      record = JSON.parse(await readFile(this.runPath(fingerprint), 'utf8')) as RunRecord;
    } catch {
      return undefined;
    }
    if (record.entry?.fingerprint !== fingerprint) return undefined;
    for (const [path, out] of Object.entries(record.entry.outputs)) {
      const objects = await this.objectsOf(path, out);
      if (!objects) return undefined;
      for (const object of objects) if (!(await this.hasObject(object))) return undefined;
    }
    return record;
  }

  /**
   * Copies a run's outputs into `dir`, checking each copy's hash: a damaged object drops the entry and
   * returns false so the stage is executed instead.
   */
  async restoreInto(record: RunRecord, dir: string): Promise<boolean> {
    for (const [path, out] of Object.entries(record.entry.outputs)) {
      const target = join(dir, fileInStage(record.stage, path));
      const files = isFolder(path) ? await this.manifest(out.hash) : { '': out };
      if (!files) {
        await unlink(this.runPath(record.entry.fingerprint)).catch(() => {});
        return false;
      }
      for (const [file, object] of Object.entries(files)) {
        const copy = file === '' ? target : join(target, file);
        await mkdir(dirname(copy), { recursive: true });
        await copyFile(this.objectPath(object.hash), copy, constants.COPYFILE_FICLONE);
        if ((await sha256File(copy)) !== object.hash) {
          await unlink(this.runPath(record.entry.fingerprint)).catch(() => {});
          await unlink(this.objectPath(object.hash)).catch(() => {});
          return false;
        }
      }
    }
    return true;
  }

  /** The manifests of a run's folder outputs (to remember their files after a restore), by path. */
  async manifestsOf(entry: LockEntry): Promise<Record<string, Manifest>> {
    const out: Record<string, Manifest> = {};
    for (const [path, output] of Object.entries(entry.outputs)) {
      if (!isFolder(path)) continue;
      const manifest = await this.manifest(output.hash);
      if (manifest) out[path] = manifest;
    }
    return out;
  }

  /**
   * Deletes run records not in `keep` (unless among the `keepRecent` newest of their stage), then every
   * object no remaining record or `keepObjects` refers to, and every kept library closure
   * (libraries/<hash>.json) no remaining record or `keepClosures` refers to. `all` empties the cache;
   * `dry` only counts what would go.
   */
  async gc(
    keep: ReadonlySet<string>,
    keepObjects: ReadonlySet<string>,
    options: { all?: boolean; keepRecent?: number; keepClosures?: ReadonlySet<string>; dry?: boolean } = {},
  ): Promise<GcResult> {
    const runsDir = join(this.dir, 'runs');
    const objectsDir = join(this.dir, 'objects');
    const records: { file: string; fingerprint: string; record?: RunRecord }[] = [];
    for (const file of await readdir(runsDir).catch(() => [] as string[])) {
      const fingerprint = file.replace(/\.json$/, '');
      let record: RunRecord | undefined;
      try {
        record = JSON.parse(await readFile(join(runsDir, file), 'utf8')) as RunRecord;
      } catch {
        record = undefined;
      }
      records.push({ file, fingerprint, record });
    }
    const recent = new Set<string>();
    const perStage = new Map<string, { fingerprint: string; saved: string }[]>();
    for (const r of records) {
      if (!r.record) continue;
      const list = perStage.get(r.record.stage) ?? [];
      list.push({ fingerprint: r.fingerprint, saved: r.record.saved });
      perStage.set(r.record.stage, list);
    }
    for (const list of perStage.values()) {
      list.sort((a, b) => (a.saved < b.saved ? 1 : -1));
      for (const item of list.slice(0, options.keepRecent ?? 0)) recent.add(item.fingerprint);
    }

    let runs = 0;
    let objects = 0;
    let bytes = 0;
    const liveObjects = new Set(options.all ? [] : keepObjects);
    const liveClosures = new Set(options.all ? [] : (options.keepClosures ?? []));
    for (const r of records) {
      const kept = !options.all && r.record && (keep.has(r.fingerprint) || recent.has(r.fingerprint));
      if (kept) {
        for (const [path, out] of Object.entries(r.record!.entry.outputs)) {
          liveObjects.add(out.hash);
          for (const object of (await this.objectsOf(path, out)) ?? []) liveObjects.add(object.hash);
        }
        if (r.record!.entry.libraryClosure) liveClosures.add(r.record!.entry.libraryClosure);
        continue;
      }
      const path = join(runsDir, r.file);
      bytes += (await stat(path).catch(() => undefined))?.size ?? 0;
      if (!options.dry) await rm(path, { force: true });
      runs++;
    }
    for (const file of await readdir(objectsDir).catch(() => [] as string[])) {
      if (liveObjects.has(file)) continue;
      const path = join(objectsDir, file);
      bytes += (await stat(path).catch(() => undefined))?.size ?? 0;
      if (!options.dry) await rm(path, { force: true });
      objects++;
    }
    const closuresDir = join(this.dir, 'libraries');
    for (const file of await readdir(closuresDir).catch(() => [] as string[])) {
      if (liveClosures.has(file.replace(/\.json$/, ''))) continue;
      const path = join(closuresDir, file);
      bytes += (await stat(path).catch(() => undefined))?.size ?? 0;
      if (!options.dry) await rm(path, { force: true });
    }
    // What folders grew from what: a few bytes a refresh, kept for as long as the cache is (any of
    // them may be what a downstream stage last read), dropped when it is emptied.
    if (options.all) {
      const appendedDir = join(this.dir, 'appended');
      for (const file of await readdir(appendedDir).catch(() => [] as string[])) {
        const path = join(appendedDir, file);
        bytes += (await stat(path).catch(() => undefined))?.size ?? 0;
        if (!options.dry) await rm(path, { force: true });
      }
    }
    return { runs, objects, bytes };
  }
}
