// The guard against changes during a run (Bazel's, for the same reason). A fingerprint is taken before
// a stage runs; if an input, a module of its code or a package of its libraries changes while it runs,
// the outputs come from the old state and the fingerprint names the new one, and recording them would
// make `status` say fresh about results a rerun would change; early cutoff and the run cache would
// make the mistake permanent. So after the run, before its outputs are swapped in, recorded in the lock
// or kept in the run cache, everything the fingerprint read is read again; anything that moved
// discards the result. Code already loaded into the process counts as what ran (loaded.ts), checked
// before the stage executes and again after.
import { isAbsolute, relative, sep } from 'node:path';
import { folderState } from './folder.ts';
import type { StatCache, Sha256 } from './hash.ts';
import { libraryClosure, type LibraryClosure } from './libraries.ts';
import { codeLoadedOtherwise, libraryLoadedOtherwise } from './loaded.ts';
import type { CodeClosure, ModuleGraph } from './modules.ts';
import type { Stage } from '../contract/stage.ts';

/** What a stage's fingerprint was computed from. */
export interface StageReads {
  /** The files the stage reads (its inputs, data beside its code) by absolute path: how messages and
   *  the lock name each, and the content hash the fingerprint used. */
  readonly files: ReadonlyMap<string, { readonly path: string; readonly hash: Sha256; readonly folder?: boolean }>;
  readonly code: CodeClosure;
  readonly libraries: LibraryClosure;
}

function shown(root: string, file: string): string {
  const rel = relative(root, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : file;
}

/**
 * Why the code this process would run for the stage is not the code `reads` names (a module or a
 * package changed after the process loaded it), or undefined. Checked before the stage executes.
 */
export async function loadedOtherwise(reads: StageReads, root: string): Promise<string | undefined> {
  const file = await codeLoadedOtherwise(reads.code);
  if (file) return `${shown(root, file)} changed after it was loaded`;
  const library = libraryLoadedOtherwise(reads.libraries);
  if (library) return `library ${library.now.name} changed after it was loaded (${versionChange(library.was, library.now)})`;
  return undefined;
}

function versionChange(was: { version: string; integrity: string }, now: { version: string; integrity: string }): string {
  return was.version === now.version ? `${now.version}, new integrity` : `${was.version} → ${now.version}`;
}

/** What moved since `reads` was taken, in words (`data/src.csv changed while the stage ran`), or undefined. */
export async function movedSince(reads: StageReads, stage: Stage, modules: ModuleGraph, stat: StatCache, root: string): Promise<string | undefined> {
  for (const [abs, { path, hash, folder }] of reads.files) {
    const now = folder ? (await folderState(stat, abs))?.hash : await stat.hash(abs);
    if (now === undefined) return `${path} was removed while the stage ran`;
    if (now !== hash) return `${path} changed while the stage ran`;
  }
  const code = await modules.closure(reads.code.entry, { lenient: true, fresh: true });
  for (const file of new Set([...reads.code.modules.keys(), ...code.modules.keys()])) {
    if (reads.code.modules.get(file) !== code.modules.get(file)) return `${shown(root, file)} changed while the stage ran`;
  }
  const loaded = await loadedOtherwise(reads, root);
  if (loaded) return loaded;
  const libraries = await libraryClosure(stage.module, stage.libraries ?? []);
  if (libraries.hash !== reads.libraries.hash) {
    for (const folder of new Set([...reads.libraries.folders.keys(), ...libraries.folders.keys()])) {
      const was = reads.libraries.folders.get(folder);
      const now = libraries.folders.get(folder);
      if (was && now && (was.version !== now.version || was.integrity !== now.integrity)) {
        return `library ${now.name} changed while the stage ran (${versionChange(was, now)})`;
      }
      if (!was || !now) return `library ${(was ?? now)!.name} was ${was ? 'removed' : 'installed'} while the stage ran`;
    }
    return 'its libraries changed while the stage ran';
  }
  return undefined;
}
