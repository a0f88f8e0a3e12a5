// The run cache: outputs of every successful run kept content-addressed, so a stale stage whose new
// fingerprint was seen before is restored by copying instead of recomputed.
//   artifacts/.cache/objects/<sha256>        one file per distinct output content
//   artifacts/.cache/runs/<fingerprint>.json  the lock entry that run produced
// Objects are copies (reflinks where the file system can), never hard links: someone editing an
// artifact in place must not corrupt the cached copy.
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Fingerprint } from './fingerprint.ts';
import { fileInStage } from './graph.ts';
import { sha256File, type Sha256 } from './hash.ts';
import type { LockEntry } from './lock.ts';

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

  /** Keeps a copy of each output of a finished run (files live in `stageDir`, named by the entry). */
  async save(stage: string, entry: LockEntry, stageDir: string, seconds?: number): Promise<void> {
    await mkdir(join(this.dir, 'objects'), { recursive: true });
    await mkdir(join(this.dir, 'runs'), { recursive: true });
    for (const [path, out] of Object.entries(entry.outputs)) {
      const object = this.objectPath(out.hash);
      const existing = await stat(object).catch(() => undefined);
      if (existing?.size === out.size) continue;
      const tmp = tmpName(object);
      await copyFile(join(stageDir, fileInStage(stage, path)), tmp, constants.COPYFILE_FICLONE);
      await rename(tmp, object);
    }
    const record: RunRecord = { stage, saved: new Date().toISOString(), entry, seconds };
    const file = this.runPath(entry.fingerprint);
    const tmp = tmpName(file);
    await writeFile(tmp, JSON.stringify(record, null, 2));
    await rename(tmp, file);
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
    for (const out of Object.values(record.entry.outputs)) {
      const st = await stat(this.objectPath(out.hash)).catch(() => undefined);
      if (st?.size !== out.size) return undefined;
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
      await mkdir(dirname(target), { recursive: true });
      await copyFile(this.objectPath(out.hash), target, constants.COPYFILE_FICLONE);
      if ((await sha256File(target)) !== out.hash) {
        await unlink(this.runPath(record.entry.fingerprint)).catch(() => {});
        await unlink(this.objectPath(out.hash)).catch(() => {});
        return false;
      }
    }
    return true;
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
        for (const out of Object.values(r.record!.entry.outputs)) liveObjects.add(out.hash);
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
    return { runs, objects, bytes };
  }
}
