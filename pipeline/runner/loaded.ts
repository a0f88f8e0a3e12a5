// What this process has already loaded, and so what a stage executed in it really runs. Node keeps a
// module once loaded: a stage module edited after the registry imported it, or a helper edited after
// an earlier stage of the same run loaded it, runs in its old form whatever the file says now; a
// library loaded by one stage stays loaded for the next. A stage's result can be recorded only if the
// code its fingerprint names is the code that ran:
//   - ES modules: the bytes each was loaded from, reported by loader hooks the CLI registers before tsx
//     (module-loads.mjs). A process that doesn't register them (an in-process caller of runPipeline)
//     is checked against the files on disk only.
//   - CommonJS modules (require, createRequire): Node's require cache lists what was loaded; a file of
//     a stage's closure found there after the stage ran is pinned to the content its verified
//     fingerprint saw.
//   - packages: a package folder something was loaded from is pinned, after a stage that needs it ran,
//     to the version and integrity that stage's fingerprint saw.
//   - the CLI's build (build.mjs): every source it bundles counts as loaded at start with the bytes it
//     was built from, and every bundled package in the version and integrity it was built from.
import { createRequire } from 'node:module';
import { sep } from 'node:path';
import type { Sha256 } from './hash.ts';
import type { InstalledPackage, LibraryClosure } from './libraries.ts';
import type { CodeClosure } from './modules.ts';
import { builtPackage, loadedHashes, packageLoaded, settleModuleLoads } from './module-loads.mjs';

const requireCache = createRequire(import.meta.url).cache;
const pinnedCode = new Map<string, Sha256>();
const pinnedPackages = new Map<string, InstalledPackage>();

function packageFolder(path: string): string | undefined {
  const parts = path.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  return parts.slice(0, at + (parts[at + 1]?.startsWith('@') ? 3 : 2)).join(sep);
}

/** A module of `code` this process loaded with other content than the closure's (absolute path). */
export async function codeLoadedOtherwise(code: CodeClosure): Promise<string | undefined> {
  await settleModuleLoads();
  for (const [file, hash] of code.modules) {
    const loaded = loadedHashes(file);
    if (loaded && [...loaded].some((h) => h !== hash)) return file;
    const pinned = pinnedCode.get(file);
    if (pinned !== undefined && pinned !== hash) return file;
  }
  return undefined;
}

/** A package of `libraries` this process loaded in another version or with other content. */
export function libraryLoadedOtherwise(libraries: LibraryClosure): { was: InstalledPackage; now: InstalledPackage } | undefined {
  for (const [folder, now] of libraries.folders) {
    // A package bundled into the CLI's build was loaded when the process started, as it was built.
    const was = pinnedPackages.get(folder) ?? builtPackage(folder);
    if (was && (was.version !== now.version || was.integrity !== now.integrity)) return { was, now };
  }
  return undefined;
}

/** After a stage ran and its result was verified: what it may have loaded is pinned to what it was computed from. */
export function pinLoaded(code: CodeClosure, libraries: LibraryClosure): void {
  for (const [file, hash] of code.modules) if (requireCache[file] && !pinnedCode.has(file)) pinnedCode.set(file, hash);
  const required = new Set(Object.keys(requireCache).map(packageFolder));
  for (const [folder, installed] of libraries.folders) {
    if (!pinnedPackages.has(folder) && (packageLoaded(folder) || required.has(folder))) pinnedPackages.set(folder, installed);
  }
}
