// The libraries a stage's results depend on, as the whole installed closure: each declared package and
// every package it needs, transitively, with the version and integrity hash npm resolved for it. A new
// vega-scenegraph under the same vega changes the charts as surely as a new vega does.
//
// Where the versions come from: npm's installed lockfile, node_modules/.package-lock.json, which npm
// rewrites on every install with each package's resolved version and integrity (the sha512 of its
// tarball). The graph is walked the way Node loads it (each dependency resolved from the folder of the
// package that needs it, nearest node_modules first), reading each package's package.json; a version
// on disk that the lockfile doesn't list (a folder copied in by hand, pnpm, yarn) is taken from
// package.json with no integrity. A package edited in place without a new version is not seen
// (`pipeline run --force` reruns).
//
// Left out, so a committed lock stays fresh on a teammate's machine: packages restricted to an OS or
// CPU (the platform builds of DuckDB or esbuild: their version is fixed by the package that requires
// them) and optional dependencies that are not installed. Kept: a declared library that is not
// installed, as "absent" (tfjs-node present or not decides which kernels compute the numbers).
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJson, sha256Text, type Sha256 } from './hash.ts';

export interface LibraryPackage {
  readonly name: string;
  readonly version: string;
  /** npm's integrity hash of the installed tarball; "" when npm's lockfile doesn't vouch for this version. */
  readonly integrity: string;
  /** The declared libraries this package is reached from. */
  readonly via: readonly string[];
}

export interface InstalledPackage {
  readonly name: string;
  readonly version: string;
  readonly integrity: string;
}

export interface LibraryClosure {
  /** Each declared library's installed version, or "absent". */
  readonly versions: Readonly<Record<string, string>>;
  /** Every installed package the declared libraries need (themselves included), by name and version. */
  readonly packages: readonly LibraryPackage[];
  /** sha256 of the versions and packages; undefined when the stage declares no library. */
  readonly hash: Sha256 | undefined;
  /** Package folder (absolute, machine-local) -> what is installed there, to compare with what a process loaded. */
  readonly folders: ReadonlyMap<string, InstalledPackage>;
  /** Files read to compute this, and paths whose absence it relied on (the no-op witness). */
  readonly read: readonly string[];
  readonly absent: readonly string[];
}

interface Manifest {
  readonly name?: string;
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly os?: unknown;
  readonly cpu?: unknown;
}

interface LockedPackage {
  readonly version?: string;
  readonly integrity?: string;
  readonly resolved?: string;
}

// Sync reads: a closure is a few hundred tiny files, where the promise machinery would cost more than the reads.
function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The project folder a package folder was installed into: what precedes its first node_modules. */
function installRoot(folder: string): string {
  const parts = folder.split(sep);
  return parts.slice(0, parts.indexOf('node_modules')).join(sep);
}

/**
 * Reads package manifests and npm's lockfiles, each once. One reader serves the closures of all stages
 * checked together (their libraries overlap: Arrow is in five); a check that must see the disk as it is
 * now (after a stage ran) takes a new one.
 */
export class LibraryReader {
  private readonly located = new Map<string, { folder: string | undefined; probed: readonly string[] }>();
  private readonly manifests = new Map<string, Manifest | undefined>();
  private readonly lockfiles = new Map<string, { packages: Record<string, LockedPackage> | undefined; exists: boolean }>();

  /** The folder Node would load `name` from, looking up from `from`, and the manifests looked for in vain first. */
  locate(from: string, name: string): { folder: string | undefined; probed: readonly string[] } {
    const key = `${from}\0${name}`;
    let found = this.located.get(key);
    if (!found) {
      const probed: string[] = [];
      let folder: string | undefined;
      for (let dir = from; folder === undefined; dir = dirname(dir)) {
        if (dir.split(sep).at(-1) !== 'node_modules') {
          const manifest = join(dir, 'node_modules', name, 'package.json');
          if (existsSync(manifest)) folder = dirname(manifest);
          else probed.push(manifest);
        }
        if (dirname(dir) === dir) break;
      }
      found = { folder, probed };
      this.located.set(key, found);
    }
    return found;
  }

  manifest(folder: string): Manifest | undefined {
    const path = join(folder, 'package.json');
    if (!this.manifests.has(path)) this.manifests.set(path, readJson<Manifest>(path));
    return this.manifests.get(path);
  }

  lockfile(path: string): { packages: Record<string, LockedPackage> | undefined; exists: boolean } {
    let lock = this.lockfiles.get(path);
    if (!lock) {
      lock = { exists: existsSync(path), packages: readJson<{ packages?: Record<string, LockedPackage> }>(path)?.packages };
      this.lockfiles.set(path, lock);
    }
    return lock;
  }
}

/** One closure's walk over a reader, noting what it read and what it relied on being absent. */
class Walk {
  readonly read = new Set<string>();
  readonly absent = new Set<string>();

  constructor(private readonly reader: LibraryReader) {}

  locate(from: string, name: string): string | undefined {
    const { folder, probed } = this.reader.locate(from, name);
    for (const path of probed) this.absent.add(path);
    return folder;
  }

  manifest(folder: string): Manifest | undefined {
    this.read.add(join(folder, 'package.json'));
    return this.reader.manifest(folder);
  }

  /** What npm's installed lockfile says about the package in `folder`, if it has one. */
  locked(folder: string): LockedPackage | undefined {
    const root = installRoot(folder);
    const path = join(root, 'node_modules', '.package-lock.json');
    const lock = this.reader.lockfile(path);
    (lock.exists ? this.read : this.absent).add(path);
    return lock.packages?.[relative(root, folder).split(sep).join('/')];
  }
}

/**
 * The closure of `libraries` as Node resolves them from the stage module. Declared libraries are looked
 * up from the module's folder; their dependencies from their own folders.
 */
export async function libraryClosure(moduleUrl: string, libraries: readonly string[], reader = new LibraryReader()): Promise<LibraryClosure> {
  const walker = new Walk(reader);
  const versions: Record<string, string> = {};
  const byFolder = new Map<string, { name: string; version: string; integrity: string; via: Set<string> }>();
  const from = dirname(fileURLToPath(moduleUrl));
  for (const library of [...libraries].sort()) {
    const root = walker.locate(from, library);
    if (!root) {
      versions[library] = 'absent';
      continue;
    }
    const pending = [root];
    while (pending.length > 0) {
      const folder = pending.pop()!;
      const known = byFolder.get(folder);
      if (known) {
        known.via.add(library);
        continue;
      }
      const manifest = walker.manifest(folder);
      const version = manifest?.version ?? 'unknown';
      if (folder === root) versions[library] = version;
      if (manifest?.os !== undefined || manifest?.cpu !== undefined) continue;
      const locked = walker.locked(folder);
      const integrity = locked?.version === version ? (locked.integrity ?? locked.resolved ?? '') : '';
      byFolder.set(folder, { name: manifest?.name ?? relative(join(installRoot(folder), 'node_modules'), folder), version, integrity, via: new Set([library]) });
      const needs = { ...manifest?.peerDependencies, ...manifest?.optionalDependencies, ...manifest?.dependencies };
      for (const dependency of Object.keys(needs).sort()) {
        const found = walker.locate(folder, dependency);
        if (found) pending.push(found);
      }
    }
  }
  // One entry per name, version and integrity: the same package installed twice (nested) counts once,
  // and where npm put it (hoisted or not) does not change the hash.
  const unique = new Map<string, LibraryPackage & { via: string[] }>();
  for (const p of byFolder.values()) {
    const key = `${p.name}@${p.version} ${p.integrity}`;
    const entry = unique.get(key);
    if (entry) {
      for (const v of p.via) if (!entry.via.includes(v)) entry.via.push(v);
    } else {
      unique.set(key, { name: p.name, version: p.version, integrity: p.integrity, via: [...p.via] });
    }
  }
  const order = (p: LibraryPackage) => [p.name, p.version, p.integrity].join('\0');
  const packages = [...unique.values()].map((p) => ({ ...p, via: [...p.via].sort() })).sort((a, b) => (order(a) < order(b) ? -1 : 1));
  const hash =
    libraries.length === 0
      ? undefined
      : sha256Text(canonicalJson({ versions, packages: packages.map((p) => `${p.name}@${p.version} ${p.integrity}`) }));
  const folders = new Map([...byFolder].map(([folder, p]) => [folder, { name: p.name, version: p.version, integrity: p.integrity }]));
  return { versions, packages, hash, folders, read: [...walker.read].sort(), absent: [...walker.absent].sort() };
}

// The lock keeps one hash of a stage's closure, not its ~100 packages: what the packages were is kept on
// this machine, by that hash, in artifacts/.cache/libraries/, so `status` can name the one that moved.
function closureFile(cacheDir: string, hash: Sha256): string {
  return join(cacheDir, 'libraries', `${hash}.json`);
}

interface StoredClosure {
  readonly versions: Readonly<Record<string, string>>;
  readonly packages: readonly LibraryPackage[];
}

/** Keeps the package list of a closure under its hash (once). */
export async function rememberClosure(cacheDir: string, closure: LibraryClosure): Promise<void> {
  if (!closure.hash) return;
  const file = closureFile(cacheDir, closure.hash);
  if (existsSync(file)) return;
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const stored: StoredClosure = { versions: closure.versions, packages: closure.packages };
  await writeFile(tmp, JSON.stringify(stored, null, 1));
  await rename(tmp, file);
}

export async function recalledClosure(cacheDir: string, hash: Sha256): Promise<StoredClosure | undefined> {
  try {
    return JSON.parse(await readFile(closureFile(cacheDir, hash), 'utf8')) as StoredClosure;
  } catch {
    return undefined;
  }
}

function describeVersions(list: readonly LibraryPackage[]): string {
  return [...new Set(list.map((p) => p.version))].join(', ');
}

/**
 * The packages that differ between two closures, in words: `vega-scenegraph 5.3.0 → 5.3.1, via vega`,
 * `d3-color new: 3.1.0, via vega`, `robust-predicates removed, was 3.0.2, via vega`, or `x 1.0.0 (new
 * integrity), via y` for the same version with other content. Declared libraries are named without
 * "via" (`status` already reports their own version changes).
 */
export function closureChanges(before: StoredClosure, after: StoredClosure): string[] {
  const group = (closure: StoredClosure) => {
    const out = new Map<string, LibraryPackage[]>();
    for (const p of closure.packages) out.set(p.name, [...(out.get(p.name) ?? []), p]);
    return out;
  };
  const old = group(before);
  const now = group(after);
  const changes: string[] = [];
  for (const name of [...new Set([...old.keys(), ...now.keys()])].sort()) {
    const a = old.get(name) ?? [];
    const b = now.get(name) ?? [];
    const same = (x: LibraryPackage[], y: LibraryPackage[]) =>
      x.map((p) => `${p.version} ${p.integrity}`).sort().join('|') === y.map((p) => `${p.version} ${p.integrity}`).sort().join('|');
    if (same(a, b)) continue;
    if (Object.hasOwn(after.versions, name) || Object.hasOwn(before.versions, name)) {
      if (after.versions[name] !== before.versions[name]) continue;
    }
    const via = [...new Set([...a, ...b].flatMap((p) => p.via))].filter((v) => v !== name).sort();
    const suffix = via.length > 0 ? `, via ${via.join(', ')}` : '';
    if (a.length === 0) changes.push(`${name} new: ${describeVersions(b)}${suffix}`);
    else if (b.length === 0) changes.push(`${name} removed, was ${describeVersions(a)}${suffix}`);
    else if (describeVersions(a) === describeVersions(b)) changes.push(`${name} ${describeVersions(b)} (new integrity)${suffix}`);
    else changes.push(`${name} ${describeVersions(a)} → ${describeVersions(b)}${suffix}`);
  }
  return changes;
}
