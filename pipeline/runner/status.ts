// Fresh or stale, and why in words. A stage is fresh iff its fingerprint equals the locked one and
// every declared output exists with the locked size and hash.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatValue } from './config.ts';
import { effectiveParams, fingerprintData, fingerprintOf, type Fingerprint, type FingerprintData } from './fingerprint.ts';
import { folderState, isFolder, type Manifest } from './folder.ts';
import { artifactPath, type StageNode } from './graph.ts';
import { StatCache, type Sha256 } from './hash.ts';
import { closureChanges, libraryClosure, LibraryReader, recalledClosure, rememberClosure, type LibraryClosure } from './libraries.ts';
import { readLock, type Lock, type LockEntry, type LockedOutput } from './lock.ts';
import { codeHash } from './modules.ts';
import type { Project } from './project.ts';
import type { StageReads } from './verify.ts';

export interface StageStatus {
  readonly stage: string;
  readonly fresh: boolean;
  readonly reasons: string[];
}

export interface StageCheck {
  readonly stage: string;
  /** Undefined when an input is missing (the stage cannot run, so it has no fingerprint). */
  readonly fingerprint?: Fingerprint;
  readonly data?: FingerprintData;
  /** What the fingerprint was computed from, for the executor to check again after the run. */
  readonly reads?: StageReads;
  /** Inputs that do not exist, by path. */
  readonly missing: readonly string[];
  /** Fingerprint matches the lock and the outputs are intact. */
  readonly fresh: boolean;
  /** Why not (empty when fresh), not counting upstream stages. */
  readonly reasons: string[];
  /** Current size and hash of each declared output that exists, by path. */
  readonly outputs: Readonly<Record<string, LockedOutput>>;
  /** What the inputs and outputs are now, beyond their hashes: the bytes of each input, a file input's
   *  `appended` verdict, and the manifest of each folder (see incremental.ts). */
  readonly now: CurrentState;
}

export interface CurrentState {
  /** Input path -> bytes (a folder: of all its files). */
  readonly inputSizes: Readonly<Record<string, number>>;
  /** File inputs of an incremental stage that start with exactly the bytes the lock recorded, and grew. */
  readonly appended: ReadonlySet<string>;
  /** Folder inputs and outputs, by path -> their manifest. */
  readonly manifests: Readonly<Record<string, Manifest>>;
}

/** Size and hash of a file or folder input or output (with a file's prefix hash when asked), or undefined. */
async function pathState(stat: StatCache, abs: string, declared: string, prefix?: number) {
  if (isFolder(declared)) {
    const state = await folderState(stat, abs);
    return state && { size: state.size, hash: state.hash, files: state.files, manifest: state.manifest, prefix: undefined };
  }
  const state = await stat.state(abs, prefix);
  return state && { ...state, files: undefined, manifest: undefined };
}

export function statCacheFile(artifactsDir: string): string {
  return join(artifactsDir, '.cache', 'stat.json');
}

function formatParam(value: unknown): string {
  return typeof value === 'string' && /^[\w./:-]+$/.test(value) ? value : formatValue(value);
}

function changedKeys(
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
): string[] {
  const keys = [...new Set([...Object.keys(after), ...Object.keys(before)])].sort();
  return keys
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => {
      // A key the lock lacks is one the stage (or its library list) gained since that run.
      if (before[k] === undefined) return `${k} new: ${formatParam(after[k])}`;
      if (after[k] === undefined) return `${k} removed, was ${formatParam(before[k])}`;
      return `${k} ${formatParam(before[k])} → ${formatParam(after[k])}`;
    });
}

/** Compares one stage's current state with its lock entry. */
export async function checkStage(
  project: Project,
  node: StageNode,
  entry: LockEntry | undefined,
  stat: StatCache,
  /** Shared by stages checked together: each package manifest is read once. */
  reader = new LibraryReader(),
): Promise<StageCheck> {
  const name = node.stage.name;
  const inputs: Record<string, Sha256> = {};
  const files = new Map<string, { path: string; hash: Sha256; folder: boolean }>();
  const inputSizes: Record<string, number> = {};
  const appended = new Set<string>();
  const manifests: Record<string, Manifest> = {};
  const missing: string[] = [];
  for (const input of node.inputs) {
    // Only an incremental stage can use the verdict "appended"; for the others a grown file is changed.
    const previousSize = node.stage.incremental ? entry?.inputSizes?.[input.path] : undefined;
    const declared = input.kind === 'artifact' ? input.file : input.path;
    const state = await pathState(stat, input.abs, declared, previousSize);
    if (state === undefined) {
      missing.push(input.path);
      continue;
    }
    inputs[input.path] = state.hash;
    files.set(input.abs, { path: input.path, hash: state.hash, folder: isFolder(declared) });
    inputSizes[input.path] = state.size;
    if (state.manifest) manifests[input.path] = state.manifest;
    if (state.prefix !== undefined && state.prefix === entry?.inputs[input.path]) appended.add(input.path);
  }
  const outputs: Record<string, LockedOutput> = {};
  for (const file of node.outputs) {
    const state = await pathState(stat, join(project.artifactsDir, name, file), file);
    if (!state) continue;
    const path = artifactPath(name, file);
    outputs[path] = { size: state.size, hash: state.hash, ...(state.files === undefined ? {} : { files: state.files }) };
    if (state.manifest) manifests[path] = state.manifest;
  }
  const now: CurrentState = { inputSizes, appended, manifests };
  const code = await project.modules.closure(fileURLToPath(node.stage.module), { cwd: project.root });
  const libraries = await libraryClosure(node.stage.module, node.stage.libraries ?? [], reader);
  // Kept by hash on this machine, so a later `status` can say which package moved.
  await rememberClosure(cacheDir(project), libraries).catch(() => {});
  const params = effectiveParams(node.stage, project.params);
  let data: FingerprintData | undefined;
  let fingerprint: Fingerprint | undefined;
  let reads: StageReads | undefined;
  if (missing.length === 0) {
    data = fingerprintData({ stage: name, code: codeHash(code), params, inputs, libraries: libraries.versions, libraryClosure: libraries.hash });
    fingerprint = fingerprintOf(data);
    reads = { files, code, libraries };
  }
  if (!entry) return { stage: name, fingerprint, data, reads, missing, fresh: false, reasons: ['never run'], outputs, now };

  const reasons: string[] = [];
  if (codeHash(code) !== entry.code) reasons.push('code changed');
  const paramChanges = changedKeys(entry.params, params);
  if (paramChanges.length > 0) reasons.push(`params changed (${paramChanges.join(', ')})`);
  const versionChanges = changedKeys(entry.libraries, libraries.versions);
  for (const change of versionChanges) reasons.push(`library changed (${change})`);
  if (entry.libraryClosure !== libraries.hash) {
    for (const change of await closureReasons(project, entry, libraries, versionChanges.length > 0)) reasons.push(`library changed (${change})`);
  }
  for (const input of node.inputs) {
    if (missing.includes(input.path)) reasons.push(`input missing (${input.path})`);
    else if (!Object.hasOwn(entry.inputs, input.path)) reasons.push(`input added (${input.path})`);
    else if (entry.inputs[input.path] !== inputs[input.path]) {
      reasons.push(`input ${appended.has(input.path) ? 'appended' : 'changed'} (${input.path})`);
    }
  }
  for (const path of Object.keys(entry.inputs)) {
    if (!node.inputs.some((i) => i.path === path)) reasons.push(`input removed (${path})`);
  }
  if (reasons.length === 0 && fingerprint !== entry.fingerprint) reasons.push('fingerprint changed');
  for (const file of node.outputs) {
    const path = artifactPath(name, file);
    const locked = entry.outputs[path];
    const current = outputs[path];
    if (!current) reasons.push(`output missing (${path})`);
    else if (!locked) reasons.push(`output not recorded (${path})`);
    else if (locked.size !== current.size || locked.hash !== current.hash) reasons.push(`output modified (${path})`);
  }
  return { stage: name, fingerprint, data, reads, missing, fresh: reasons.length === 0, reasons, outputs, now };
}

function cacheDir(project: Project): string {
  return join(project.artifactsDir, '.cache');
}

/**
 * Which packages of the library closure differ from the locked one, named with the declared library
 * they come through. The lock holds only the closure's hash; the package list behind it is looked up on
 * this machine, where it was kept when that closure was current.
 */
async function closureReasons(project: Project, entry: LockEntry, now: LibraryClosure, versionsChanged: boolean): Promise<string[]> {
  // Gaining or losing every library is already said by the version changes.
  if (!now.hash || (versionsChanged && Object.keys(entry.libraries).length === 0)) return [];
  if (!entry.libraryClosure) return ['dependencies not recorded in pipeline.lock'];
  const before = await recalledClosure(cacheDir(project), entry.libraryClosure);
  if (before) {
    const changes = closureChanges(before, now);
    if (changes.length > 0 || versionsChanged) return changes;
  }
  if (versionsChanged) return [];
  const declared = Object.keys(now.versions).filter((l) => now.versions[l] !== 'absent');
  return [`a dependency of ${declared.join(', ')}; the earlier versions are not recorded on this machine`];
}

/** Every active stage, in order: fresh or stale, with the reasons. Reads only; takes no lock. */
export async function stageStatuses(project: Project, lock?: Lock): Promise<StageStatus[]> {
  const locked = lock ?? (await readLock(project.root));
  const stat = await StatCache.open(statCacheFile(project.artifactsDir));
  const reader = new LibraryReader();
  const stale = new Set<string>();
  const out: StageStatus[] = [];
  for (const name of project.graph.order) {
    const node = project.graph.nodes.get(name)!;
    const check = await checkStage(project, node, locked?.stages[name], stat, reader);
    const reasons = [...check.reasons];
    const staleUpstream = node.upstream.filter((u) => stale.has(u));
    if (staleUpstream.length > 0 && !reasons.includes('never run')) reasons.push(`upstream stale (${staleUpstream.join(', ')})`);
    if (reasons.length > 0) stale.add(name);
    out.push({ stage: name, fresh: reasons.length === 0, reasons });
  }
  await stat.save().catch(() => {});
  await project.modules.save().catch(() => {});
  return out;
}
