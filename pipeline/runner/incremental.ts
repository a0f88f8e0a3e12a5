// Incremental runs: a stale stage that declares `incremental` gets its previous run handed over
// (`ctx.previous`) when what changed is only its inputs, and only by growing. The runner decides what
// it can vouch for, from the lock and the hashes it computes anyway:
//   - the code, params, library versions and library closure are the lock's, and the lock entry is self-consistent (its
//     fingerprint recomputes from its own fields: a hand-edited or older-format entry is not trusted);
//   - every output is there with the size and hash the lock recorded;
//   - each input is unchanged, a file whose first bytes hash to the recorded hash at the recorded size
//     (rows appended; the prefix hash comes out of the same read as the new file's hash), or a folder
//     whose previous manifest the run cache still holds, so that its changed files can be named; and
//     when the upstream stage declared, at each run since, that its new folder is the previous one with
//     records appended (PreviousRun.appended, remembered in the run cache), the stage is told so.
// Anything else is a run from scratch, and so is any run under --force. The stage then decides what it
// can reuse; the property it owes (tested per stage) is that the result equals a run from scratch.
import { copyFile, link, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunCache } from './cache.ts';
import { fingerprintData, fingerprintOf } from './fingerprint.ts';
import { isFolder, manifestDiff, type Manifest, type ManifestEntry } from './folder.ts';
import { artifactPath, type StageNode } from './graph.ts';
import { canonicalJson } from './hash.ts';
import type { LockEntry } from './lock.ts';
import type { StageCheck } from './status.ts';
import type { InputChange, PreviousRun } from '../contract/stage.ts';

export interface PreviousOffer {
  readonly inputs: readonly InputChange[];
  /** Each folder output of the previous run (as declared, e.g. 'minutes.arrow/') -> its manifest. */
  readonly folders: ReadonlyMap<string, Manifest>;
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** What the runner can hand a rerunning incremental stage of its previous run, or undefined. */
export async function offerPrevious(node: StageNode, entry: LockEntry | undefined, check: StageCheck, cache: RunCache): Promise<PreviousOffer | undefined> {
  const data = check.data;
  if (!node.stage.incremental || !entry || !data) return undefined;
  if (data.code !== entry.code || !same(data.params, entry.params) || !same(data.libraries, entry.libraries)) return undefined;
  if (data.libraryClosure !== entry.libraryClosure) return undefined;
  const recorded = fingerprintData({
    stage: data.stage,
    code: entry.code,
    params: entry.params,
    inputs: entry.inputs,
    libraries: entry.libraries,
    libraryClosure: entry.libraryClosure,
  });
  if (fingerprintOf(recorded) !== entry.fingerprint) return undefined;

  const folders = new Map<string, Manifest>();
  for (const file of node.outputs) {
    const path = artifactPath(node.stage.name, file);
    const locked = entry.outputs[path];
    const current = check.outputs[path];
    if (!locked || !current || locked.size !== current.size || locked.hash !== current.hash) return undefined;
    if (isFolder(file)) {
      const manifest = check.now.manifests[path];
      if (!manifest) return undefined;
      folders.set(file, manifest);
    }
  }

  if (!same(Object.keys(entry.inputs).sort(), node.inputs.map((i) => i.path).sort())) return undefined;
  const inputs: InputChange[] = [];
  for (const input of node.inputs) {
    const before = entry.inputs[input.path]!;
    // Data beside the stage's code is not one of ctx.inputs: it must simply be unchanged.
    if (input.kind === 'beside-code') {
      if (before !== data.inputs[input.path]) return undefined;
      continue;
    }
    if (before === data.inputs[input.path]) {
      inputs.push({ kind: 'unchanged' });
    } else if (check.now.appended.has(input.path)) {
      inputs.push({ kind: 'appended', previousSize: entry.inputSizes![input.path]!, size: check.now.inputSizes[input.path]! });
    } else if (input.kind === 'artifact' && isFolder(input.file)) {
      const previous = await cache.manifest(before);
      const current = check.now.manifests[input.path];
      if (!previous || !current) return undefined;
      const appended = await cache.isAppendedTo(data.inputs[input.path]!, before);
      inputs.push({ kind: 'files', ...manifestDiff(previous, current), appended });
    } else {
      return undefined;
    }
  }
  return { inputs, folders };
}

/** The declared folder output that holds `file` ('minutes.arrow/2014-09.arrow' -> 'minutes.arrow/'), if any. */
export function folderOf(declared: Iterable<string>, file: string): string | undefined {
  for (const name of declared) if (isFolder(name) && file.startsWith(name) && file.length > name.length) return name;
  return undefined;
}

/** A file kept from the previous run: its recorded size and hash, trusted while its stat holds. */
export interface KeptFile extends ManifestEntry {
  readonly from: string;
}

/**
 * `ctx.previous` for one execution: reads go to artifacts/<stage>/, kept files are hard-linked into the
 * staging folder and listed in `kept` (path inside the stage folder -> recorded hash) so the runner does
 * not hash them again.
 */
export function previousRun(
  offer: PreviousOffer,
  stageDir: string,
  staging: string,
  declared: readonly string[],
): { previous: PreviousRun; kept: Map<string, KeptFile>; appended: Set<string> } {
  const kept = new Map<string, KeptFile>();
  const appended = new Set<string>();
  const previous: PreviousRun = {
    inputs: offer.inputs,
    output(file) {
      if (!declared.includes(file) && folderOf(declared, file) === undefined) {
        throw new Error(`previous.output(${JSON.stringify(file)}): not one of the declared outputs (${declared.join(', ')})`);
      }
      return join(stageDir, file);
    },
    async keep(file) {
      const folder = folderOf(declared, file);
      const entry = folder === undefined ? undefined : offer.folders.get(folder)?.[file.slice(folder.length)];
      if (entry === undefined) throw new Error(`previous.keep(${JSON.stringify(file)}): not a file of a previous folder output`);
      const from = join(stageDir, file);
      const to = join(staging, file);
      await mkdir(dirname(to), { recursive: true });
      await link(from, to).catch(async (error: NodeJS.ErrnoException) => {
        // A file system without hard links: a copy (a reflink where possible), hashed again later.
        if (!['EPERM', 'EXDEV', 'ENOTSUP', 'EMLINK'].includes(error.code ?? '')) throw error;
        await copyFile(from, to, constants.COPYFILE_FICLONE);
      });
      kept.set(file, { ...entry, from });
    },
    appended(file) {
      if (!isFolder(file) || !offer.folders.has(file)) throw new Error(`previous.appended(${JSON.stringify(file)}): not a previous folder output`);
      appended.add(file);
    },
  };
  return { previous, kept, appended };
}
