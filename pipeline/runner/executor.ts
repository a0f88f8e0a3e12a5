// Runs the stale stages in order. Per stage: fingerprint it, skip it when fresh, restore it from the
// run cache when this fingerprint was computed before, otherwise execute it into a staging folder,
// check that nothing it was computed from moved meanwhile (verify.ts), and swap the result in. The lock
// is written after each stage, so a failure or Ctrl-C later on keeps everything finished so far, and
// the next run resumes where this one stopped.
import { mkdirSync } from 'node:fs';
import { stat as statFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RunCache } from './cache.ts';
import { ConfigError, suggestion } from './config.ts';
import type { PipelineEvent, RunResult, StageOutcome } from './events.ts';
import { filesIn, hashFolder, isFolder, type KnownFile, type Manifest } from './folder.ts';
import { artifactPath, withDownstream, withUpstream, type StageNode } from './graph.ts';
import { sameStamp, sha256File, stampOf, StatCache, type Sha256 } from './hash.ts';
import { folderOf, offerPrevious, previousRun, type PreviousOffer } from './incremental.ts';
import { readLock, writeLock, type Lock, type LockEntry, type LockedOutput } from './lock.ts';
import { acquireProjectLock, WaitInterrupted, type ProjectLock } from './mutex.ts';
import type { Project } from './project.ts';
import { createStaging, discardStaging, removeStaleStaging, swapIn } from './staging.ts';
import type { StageContext } from '../contract/stage.ts';
import { checkStage, statCacheFile, type StageCheck } from './status.ts';
import { LibraryReader } from './libraries.ts';
import { pinLoaded } from './loaded.ts';
import { loadedOtherwise, movedSince, type StageReads } from './verify.ts';
import { recordTiming, type StageTiming } from './timings.ts';
import { WrittenOutputs } from './written.ts';

export interface RunOptions {
  /** Stage names; default every active stage. */
  readonly targets?: readonly string[];
  /** Rerun the targets (or all stages) even when fresh. */
  readonly force?: boolean;
  /** Run only the targets, on the inputs already there; upstream stages are not looked at. */
  readonly single?: boolean;
  /** Force this stage and everything downstream of it. */
  readonly from?: string;
  /** Only compute the plan and its reasons. */
  readonly dry?: boolean;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: PipelineEvent) => void;
  /** When another run holds the project: wait for it (default) or refuse at once. */
  readonly wait?: boolean;
  readonly waitTimeoutMs?: number;
  /** Each stage checked, with what its fingerprint was read from (the no-op witness lists those files). */
  readonly onChecked?: (stage: string, reads: StageReads | undefined) => void;
}

/** Usage errors in the run options: exit code 2, like config errors. */
function usage(message: string): ConfigError {
  return new ConfigError([{ location: 'pipeline run', message }]);
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return `a non-Error value was thrown: ${typeof error === 'string' ? error : JSON.stringify(error) ?? String(error)}`;
}

interface Plan {
  readonly stages: readonly string[];
  readonly forced: ReadonlySet<string>;
}

function plan(project: Project, opts: RunOptions): Plan {
  const { graph } = project;
  const names = project.registry.map((s) => s.name);
  const check = (name: string, what: string) => {
    if (graph.nodes.has(name)) return;
    if (names.includes(name)) {
      throw usage(`${what} ${name} is not part of this pipeline: no active stage reads its outputs (active: ${graph.order.join(', ')})`);
    }
    throw usage(`unknown ${what} "${name}"${suggestion(name, graph.order, false)} (stages: ${graph.order.join(', ')})`);
  };
  const targets = [...new Set(opts.targets ?? [])];
  targets.forEach((t) => check(t, 'stage'));
  if (opts.from !== undefined) check(opts.from, 'stage');
  if (opts.single && targets.length === 0) throw usage('--single needs the stage names to run');
  if (opts.single && opts.from !== undefined) throw usage('--single and --from cannot be combined');

  const fromSet = opts.from === undefined ? [] : withDownstream(graph, [opts.from]);
  const forced = new Set<string>(fromSet);
  if (opts.force) (targets.length > 0 ? targets : graph.order).forEach((n) => forced.add(n));
  let stages: string[];
  if (opts.single) stages = graph.order.filter((n) => targets.includes(n));
  else if (targets.length > 0) stages = withUpstream(graph, [...targets, ...fromSet]);
  else stages = [...graph.order];
  return { stages, forced };
}

export async function runPipeline(project: Project, opts: RunOptions = {}): Promise<RunResult> {
  const thePlan = plan(project, opts);
  const emit = opts.onEvent ?? (() => {});
  if (opts.dry) return dryRun(project, thePlan);

  let mutex: ProjectLock | undefined;
  let stat: StatCache | undefined;
  try {
    try {
      mutex = await acquireProjectLock(project.artifactsDir, {
        wait: opts.wait ?? true,
        timeoutMs: opts.waitTimeoutMs,
        onWait: (pid) => emit({ type: 'waiting', pid }),
        signal: opts.signal,
      });
    } catch (error) {
      if (!(error instanceof WaitInterrupted)) throw error;
      return { outcome: 'interrupted', dry: false, stages: thePlan.stages.map((stage) => ({ stage, action: 'not-run', reasons: [] })) };
    }
    // Under the project lock nobody else writes: a staging folder still here is a killed run's leftover.
    await removeStaleStaging(project.artifactsDir);
    stat = await StatCache.open(statCacheFile(project.artifactsDir));
    // Read under the mutex: the run we may have waited for has just rewritten it.
    const lock: Lock = (await readLock(project.root)) ?? { version: 1, stages: {} };
    emit({ type: 'plan', stages: thePlan.stages });
    return await execute(project, thePlan, opts, lock, stat, mutex, emit);
  } finally {
    await stat?.save().catch(() => {});
    await project.modules.save().catch(() => {});
    await mutex?.release();
  }
}

async function execute(
  project: Project,
  thePlan: Plan,
  opts: RunOptions,
  initial: Lock,
  stat: StatCache,
  mutex: ProjectLock,
  emit: (e: PipelineEvent) => void,
): Promise<RunResult> {
  const cache = new RunCache(project.artifactsDir);
  const stages: Record<string, LockEntry> = { ...initial.stages };
  const outcomes: StageOutcome[] = [];
  let outcome: RunResult['outcome'] = 'success';
  // Package manifests are read once for the stages checked in a row; after a stage ran, afresh (what
  // it was computed from is checked against the disk as it is then anyway: verify.ts).
  let reader = new LibraryReader();
  const commit = async (name: string, entry: LockEntry, timing: StageTiming) => {
    stages[name] = entry;
    await writeLock(project.root, { version: 1, stages }, project.registry.map((s) => s.name));
    // Timings are informative only: failing to record one must not fail a finished stage.
    await recordTiming(project.artifactsDir, name, timing).catch(() => {});
  };

  for (const name of thePlan.stages) {
    if (outcome !== 'success') {
      outcomes.push({ stage: name, action: 'not-run', reasons: [] });
      continue;
    }
    if (opts.signal?.aborted) {
      outcome = 'interrupted';
      outcomes.push({ stage: name, action: 'not-run', reasons: [] });
      continue;
    }
    const node = project.graph.nodes.get(name)!;
    const check = await checkStage(project, node, stages[name], stat, reader);
    opts.onChecked?.(name, check.reads);
    const forced = thePlan.forced.has(name);
    if (check.fresh && !forced) {
      emit({ type: 'skipped', stage: name });
      outcomes.push({ stage: name, action: 'skipped', reasons: [] });
      continue;
    }
    const reasons = forced && check.fresh ? ['forced'] : check.reasons;
    if (check.missing.length > 0 || !check.fingerprint || !check.data) {
      const message = `input not found: ${check.missing.join(', ')}`;
      emit({ type: 'failed', stage: name, message, error: undefined });
      outcomes.push({ stage: name, action: 'failed', reasons, error: message });
      outcome = 'failed';
      continue;
    }

    if (!forced) {
      const record = await cache.lookup(check.fingerprint);
      if (record) {
        const staging = await createStaging(project.artifactsDir, name);
        let restored = false;
        try {
          restored = await cache.restoreInto(record, staging);
          if (restored) await swapIn(project.artifactsDir, name, staging, adoptReplaced(cache, stat, project, name, stages[name]));
        } finally {
          // After a successful swap the folder is gone and this is a no-op.
          await discardStaging(staging);
        }
        if (restored) {
          const manifests = await cache.manifestsOf(record.entry);
          for (const [path, out] of Object.entries(record.entry.outputs)) await rememberOutput(stat, project, path, out, manifests[path]);
          await commit(name, record.entry, { seconds: record.seconds ?? 0, finished: new Date().toISOString(), restored: true });
          emit({ type: 'restored', stage: name, reasons });
          outcomes.push({ stage: name, action: 'restored', reasons });
          continue;
        }
      }
    }

    // Code this process loaded before in another form would run instead of the code the fingerprint names.
    const unloadable = await loadedOtherwise(check.reads!, project.root);
    if (unloadable) {
      const message = `${unloadable}; not recorded`;
      emit({ type: 'discarded', stage: name, message });
      outcomes.push({ stage: name, action: 'failed', reasons, error: message });
      outcome = 'failed';
      continue;
    }

    // An incremental stage may update its previous outputs instead of starting over; never under --force.
    const offer = forced ? undefined : await offerPrevious(node, stages[name], check, cache);
    emit({ type: 'start', stage: name, reasons });
    const result = await executeStage(project, node, check, opts.signal, emit, mutex, stat, offer, stages[name]);
    reader = new LibraryReader();
    // A parameter only the data shows to be unusable: a configuration error, reported at its place in
    // pipeline.yaml (exit 2). The stages before it are recorded; this one left nothing behind.
    if (result.kind === 'params') throw new ConfigError([project.issueAt(result.keys, result.message)]);
    if (result.kind === 'failed' || result.kind === 'discarded' || result.kind === 'interrupted') {
      if (result.kind === 'failed') {
        emit({ type: 'failed', stage: name, message: result.message, error: result.error });
        outcomes.push({ stage: name, action: 'failed', reasons, error: result.message });
        outcome = 'failed';
      } else if (result.kind === 'discarded') {
        emit({ type: 'discarded', stage: name, message: result.message });
        outcomes.push({ stage: name, action: 'failed', reasons, error: result.message });
        outcome = 'failed';
      } else {
        emit({ type: 'interrupted', stage: name });
        outcomes.push({ stage: name, action: 'interrupted', reasons });
        outcome = 'interrupted';
      }
      continue;
    }
    pinLoaded(check.reads!.code, check.reads!.libraries);
    for (const [path, out] of Object.entries(result.entry.outputs)) await rememberOutput(stat, project, path, out, result.manifests[path]);
    await commit(name, result.entry, { seconds: result.seconds, finished: new Date().toISOString() });
    // The run cache is an optimisation: failing to fill it (a full disk) must not fail a finished stage.
    await cache.save(name, result.entry, join(project.artifactsDir, name), result.seconds, result.manifests).catch((error: unknown) =>
      emit({ type: 'info', stage: name, message: `outputs not kept in the run cache: ${errorMessage(error)}` }),
    );
    // A folder the stage declared grown from its previous one: downstream stages may take over more.
    for (const [to, from] of result.appended) {
      await cache.saveAppended(to, from).catch((error: unknown) => emit({ type: 'info', stage: name, message: `not remembered as appended: ${errorMessage(error)}` }));
    }
    await stat.save().catch(() => {});
    emit({ type: 'done', stage: name, seconds: result.seconds });
    outcomes.push({ stage: name, action: 'ran', reasons, seconds: result.seconds, ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}) });
  }
  return { outcome, dry: false, stages: outcomes };
}

/**
 * What swapIn hands the outputs it replaces to: the run cache moves in the big files it has no copy of
 * (see RunCache.adopt), each vouched for by the stat cache as it was recorded under artifacts/<stage>/.
 */
function adoptReplaced(cache: RunCache, stat: StatCache, project: Project, name: string, previous: LockEntry | undefined) {
  if (!previous) return undefined;
  return (oldDir: string) =>
    cache.adopt(name, previous, oldDir, async (inside, old, hash) => {
      const known = stat.recorded(join(project.artifactsDir, name, inside));
      const now = await statFile(old).catch(() => undefined);
      return known !== undefined && known.hash === hash && now !== undefined && sameStamp(known, stampOf(now));
    });
}

async function rememberOutput(stat: StatCache, project: Project, path: string, out: LockedOutput, manifest?: Manifest): Promise<void> {
  if (!isFolder(path)) {
    stat.remember(join(project.root, path), out.hash, await statFile(join(project.root, path)));
    return;
  }
  // Each file of a folder, stat'ed where it now lives (after the swap, which also dropped the old links).
  for (const [file, entry] of Object.entries(manifest ?? {})) {
    const abs = join(project.root, path, file);
    stat.remember(abs, entry.hash, await statFile(abs));
  }
}

type StageResult =
  | {
      readonly kind: 'ran';
      readonly entry: LockEntry;
      readonly seconds: number;
      readonly warnings: readonly string[];
      readonly manifests: Readonly<Record<string, Manifest>>;
      /** (new hash, previous hash) of each folder output the stage declared as the previous one with records appended. */
      readonly appended: readonly (readonly [Sha256, Sha256])[];
    }
  | { readonly kind: 'failed'; readonly message: string; readonly error: unknown }
  /** It ran, but something its fingerprint read moved meanwhile: the outputs were thrown away. */
  | { readonly kind: 'discarded'; readonly message: string }
  | { readonly kind: 'params'; readonly keys: readonly string[]; readonly message: string }
  | { readonly kind: 'interrupted' };

/** A stage's ParamsError (pipeline/contract/stage.ts), recognised by shape: a stage module may come
 *  from another copy of the contract (a test registry, PIPELINE_STAGES). */
function paramsError(error: unknown): { keys: readonly string[]; message: string } | undefined {
  if (!(error instanceof Error) || error.name !== 'ParamsError') return undefined;
  const keys = (error as Error & { keys?: unknown }).keys;
  return Array.isArray(keys) && keys.every((k) => typeof k === 'string') ? { keys, message: error.message } : undefined;
}

async function executeStage(
  project: Project,
  node: StageNode,
  check: StageCheck,
  signal: AbortSignal | undefined,
  emit: (e: PipelineEvent) => void,
  mutex: ProjectLock,
  stat: StatCache,
  offer: PreviousOffer | undefined,
  /** The lock's record of the outputs this run replaces. */
  previousEntry: LockEntry | undefined,
): Promise<StageResult> {
  const name = node.stage.name;
  const staging = await createStaging(project.artifactsDir, name);
  const declared = new Set(node.outputs);
  const declaredInputs = node.inputs.filter((i) => i.kind !== 'beside-code');
  const readable = new Set(declaredInputs.map((i) => i.abs));
  const warnings: string[] = [];
  const stageDir = join(project.artifactsDir, name);
  const incremental = offer && previousRun(offer, stageDir, staging, node.outputs);
  // A rerun that computes a file the current artifacts already hold (by the stat cache's vouched hash)
  // links it instead of writing it again.
  const written = new WrittenOutputs(async (path, hash, size) => {
    const current = join(stageDir, relative(staging, path));
    const known = stat.recorded(current);
    if (!known || known.hash !== hash || known.size !== size) return undefined;
    const now = await statFile(current).catch(() => undefined);
    return now && sameStamp(known, stampOf(now)) ? current : undefined;
  });
  const ctx: StageContext<unknown> = {
    name,
    params: project.params[name] ?? {},
    pipeline: project.params,
    root: project.root,
    inputs: declaredInputs.map((i) => i.abs),
    input(stage, file) {
      const path = join(project.artifactsDir, stage, file);
      if (!readable.has(path)) {
        throw new Error(`${name} reads ${artifactPath(stage, file)}, which its inputs() do not declare`);
      }
      return path;
    },
    output(file) {
      if (!declared.has(file) && folderOf(declared, file) === undefined) {
        throw new Error(`${name} writes ${file}, which its outputs() do not declare (declared: ${[...declared].join(', ')})`);
      }
      const path = join(staging, file);
      mkdirSync(isFolder(file) ? path : dirname(path), { recursive: true });
      return path;
    },
    async writer(file) {
      if (isFolder(file)) throw new Error(`${name}: writer(${file}) names a folder; name a file inside it`);
      return written.writer(ctx.output(file));
    },
    async writeFile(file, bytes) {
      if (isFolder(file)) throw new Error(`${name}: writeFile(${file}) names a folder; name a file inside it`);
      await written.writeFile(ctx.output(file), bytes);
    },
    ...(incremental ? { previous: incremental.previous } : {}),
    signal: signal ?? new AbortController().signal,
    progress: (progress) => emit({ type: 'progress', stage: name, progress }),
    info: (message) => emit({ type: 'info', stage: name, message }),
    warn: (message) => {
      warnings.push(message);
      emit({ type: 'warning', stage: name, message });
    },
  };
  const started = performance.now();
  try {
    try {
      await node.stage.run(ctx as never);
    } catch (error) {
      if (signal?.aborted) return { kind: 'interrupted' };
      const params = paramsError(error);
      if (params) return { kind: 'params', ...params };
      return { kind: 'failed', message: errorMessage(error), error };
    }
    if (signal?.aborted) return { kind: 'interrupted' };
    const compromised = mutex.compromised();
    if (compromised) return { kind: 'failed', message: `lost the project lock: ${compromised.message}`, error: compromised };
    const seconds = (performance.now() - started) / 1000;
    const outputs: Record<string, LockedOutput> = {};
    const manifests: Record<string, Manifest> = {};
    const absent: string[] = [];
    for (const file of node.outputs) {
      const path = join(staging, file);
      if (isFolder(file)) {
        const known = new Map<string, KnownFile>();
        for (const [kept, entry] of incremental?.kept ?? []) {
          if (kept.startsWith(file)) known.set(kept.slice(file.length), { ...entry, trusted: stat.entry(entry.from) });
        }
        // Files the stage wrote through ctx.writer were hashed on the way (hashFolder checks their stat).
        const inside = await filesIn(path).catch(() => [] as string[]);
        for (const part of inside) {
          const wrote = written.known(join(path, part));
          if (wrote && !known.has(part)) known.set(part, wrote);
        }
        const folder = await hashFolder(path, known);
        if (!folder) {
          absent.push(file);
          continue;
        }
        outputs[artifactPath(name, file)] = { size: folder.size, hash: folder.hash, files: folder.files };
        manifests[artifactPath(name, file)] = folder.manifest;
        continue;
      }
      const st = await statFile(path).catch(() => undefined);
      if (!st?.isFile()) {
        absent.push(file);
        continue;
      }
      outputs[artifactPath(name, file)] = { size: st.size, hash: (await written.hashIfUnchanged(path)) ?? (await sha256File(path)) };
    }
    if (absent.length > 0) {
      const message = `finished without writing ${absent.join(', ')} (declared in its outputs())`;
      return { kind: 'failed', message, error: new Error(message) };
    }
    // Last moment to refuse: after this the outputs are in place, then recorded and cached.
    const moved = await movedSince(check.reads!, node.stage, project.modules, stat, project.root);
    if (moved) return { kind: 'discarded', message: `${moved}; not recorded` };
    await swapIn(project.artifactsDir, name, staging, adoptReplaced(new RunCache(project.artifactsDir), stat, project, name, previousEntry));
    const data = check.data!;
    const entry: LockEntry = {
      fingerprint: check.fingerprint!,
      code: data.code,
      params: data.params,
      libraries: data.libraries,
      libraryClosure: data.libraryClosure,
      inputs: data.inputs,
      // What an incremental stage's next run needs to recognise a file that only grew.
      ...(node.stage.incremental ? { inputSizes: check.now.inputSizes } : {}),
      outputs,
    };
    const appended: [Sha256, Sha256][] = [];
    for (const file of incremental?.appended ?? []) {
      const path = artifactPath(name, file);
      const before = previousEntry?.outputs[path];
      if (before && outputs[path]) appended.push([outputs[path].hash, before.hash]);
    }
    return { kind: 'ran', entry, seconds: Math.round(seconds * 1000) / 1000, warnings, manifests, appended };
  } finally {
    // Gone after a successful swap; removes the partial files of a failed or interrupted run.
    await discardStaging(staging);
  }
}

async function dryRun(project: Project, thePlan: Plan): Promise<RunResult> {
  const lock = await readLock(project.root);
  const stat = await StatCache.open(statCacheFile(project.artifactsDir));
  const cache = new RunCache(project.artifactsDir);
  const reader = new LibraryReader();
  const willRun = new Set<string>();
  const outcomes: StageOutcome[] = [];
  for (const name of thePlan.stages) {
    const node = project.graph.nodes.get(name)!;
    const check = await checkStage(project, node, lock?.stages[name], stat, reader);
    const forced = thePlan.forced.has(name);
    const reasons = [...check.reasons];
    const upstream = node.upstream.filter((u) => willRun.has(u));
    if (upstream.length > 0 && !reasons.includes('never run')) reasons.push(`upstream stale (${upstream.join(', ')})`);
    if (forced && reasons.length === 0) reasons.push('forced');
    if (reasons.length === 0) {
      outcomes.push({ stage: name, action: 'would-skip', reasons });
      continue;
    }
    willRun.add(name);
    const restorable =
      !forced && upstream.length === 0 && check.fingerprint !== undefined && (await cache.lookup(check.fingerprint)) !== undefined;
    outcomes.push({ stage: name, action: restorable ? 'would-restore' : 'would-run', reasons });
  }
  await stat.save().catch(() => {});
  return { outcome: 'success', dry: true, stages: outcomes };
}
