// Writes the witness the no-op fast path (pipeline/runner/fast-noop.mjs) checks: every file the verdict
// "all stages fresh" depended on, with its stamp (size, mtime, ctime, inode, device), and the paths
// whose absence it depended on.
import { existsSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesIn, isFolder } from './folder.ts';
import type { RunResult } from './events.ts';
import { racy, sameStamp, stampOf, type FileStamp } from './hash.ts';
import { libraryClosure, LibraryReader } from './libraries.ts';
import { LOCK_FILE } from './lock.ts';
import type { Project } from './project.ts';
import type { StageReads } from './verify.ts';
import { WITNESS_VERSION, witnessPath } from './fast-noop.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** The runner's own code, which decides freshness. */
const RUNNER_ENTRIES = [join(here, '..', 'cli', 'main.ts'), join(here, 'fast-noop.mjs'), join(here, '..', '..', 'bin', 'pipeline.mjs')];

/** The registry module a project's stages came from: PIPELINE_STAGES, or the built-in one. */
export function registryModule(cwd: string, stagesModule: string | undefined): string {
  return stagesModule ? resolve(cwd, stagesModule) : join(here, '..', '..', 'stages', 'index.ts');
}

export async function forgetNoopWitness(root: string): Promise<void> {
  await rm(witnessPath(root), { force: true });
}

/**
 * Records the witness after a plain `pipeline run` that skipped every stage. `verified` gives, for
 * inputs and outputs, the stat the freshness check trusted; if a file changed since, no witness.
 */
export async function recordNoopWitness(
  /** When the run command started, before it read any of the files (ms since the epoch). */
  startedAt: number,
  project: Project,
  /** PIPELINE_STAGES as given (the fast path only applies when it is the same), or undefined. */
  stagesModule: string | undefined,
  result: RunResult,
  verified: (path: string) => FileStamp | undefined,
  /** Lines the run printed after the stages' (the forecast line): the fast path prints them too. */
  closing: readonly string[] = [],
  /** What each stage's freshness was decided from (the run's checks); a stage without is computed here. */
  decidedFrom: ReadonlyMap<string, StageReads | undefined> = new Map(),
): Promise<boolean> {
  const root = project.root;
  if (result.dry || result.outcome !== 'success' || result.stages.some((s) => s.action !== 'skipped')) {
    await forgetNoopWitness(root);
    return false;
  }
  const files = new Set<string>([project.configPath, join(root, LOCK_FILE)]);
  const absent = new Set<string>();
  const checked = new Set<string>();
  const code = new Set<string>();
  for (const entry of [...RUNNER_ENTRIES, registryModule(root, stagesModule)]) if (existsSync(entry)) code.add(entry);
  for (const stage of project.stages) {
    // The closure the run's check read is the one to witness (the same files, read once).
    const reads = decidedFrom.get(stage.name);
    if (reads) {
      for (const file of reads.code.modules.keys()) files.add(file);
      for (const path of reads.code.absent) absent.add(path);
    } else code.add(fileURLToPath(stage.module));
  }
  for (const entry of code) {
    // The runner's own code loads the registry by a computed path on purpose: lenient.
    const closure = await project.modules.closure(entry, { lenient: true });
    for (const file of closure.modules.keys()) files.add(file);
    for (const path of closure.absent) absent.add(path);
  }
  // Packages the runner itself parses with (zod, yaml): npm rewrites this file on every install.
  for (const nm of [join(here, '..', '..', 'node_modules'), join(root, 'node_modules')]) {
    const marker = join(nm, '.package-lock.json');
    if (existsSync(marker)) files.add(marker);
    else absent.add(marker);
  }
  const reader = new LibraryReader();
  for (const stage of project.stages) {
    const libraries = decidedFrom.get(stage.name)?.libraries ?? (await libraryClosure(stage.module, stage.libraries ?? [], reader));
    for (const path of libraries.read) files.add(path);
    for (const path of libraries.absent) absent.add(path);
    const node = project.graph.nodes.get(stage.name)!;
    const paths = [
      ...node.inputs.map((input) => ({ abs: input.abs, folder: input.kind === 'artifact' && isFolder(input.file) })),
      ...node.outputs.map((file) => ({ abs: join(project.artifactsDir, stage.name, file), folder: isFolder(file) })),
    ];
    for (const { abs, folder } of paths) {
      if (!folder) {
        checked.add(abs);
        continue;
      }
      // A folder: each of its files, and the folder itself, whose mtime moves when one is added or removed.
      files.add(abs);
      for (const file of await filesIn(abs).catch(() => [])) checked.add(join(abs, file));
    }
  }
  const rows: [string, number, number, number, number, number][] = [];
  const row = (path: string, s: FileStamp) => rows.push([path, s.size, s.mtimeMs, s.ctimeMs, s.ino, s.dev]);
  for (const path of files) {
    const st = statSync(path, { throwIfNoEntry: false });
    // Changed after the run began (or just before, within the clock's granularity): the run may have
    // read the old content, so these stamps prove nothing about what it decided on.
    if (!st || racy(stampOf(st), startedAt)) {
      await forgetNoopWitness(root);
      return false;
    }
    row(path, stampOf(st));
  }
  for (const path of checked) {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st || !sameStamp(stampOf(st), verified(path))) {
      await forgetNoopWitness(root);
      return false;
    }
    row(path, stampOf(st));
  }
  // The runner's own modules were just analysed: keep that for the next run.
  await project.modules.save().catch(() => {});
  const target = witnessPath(root);
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  await writeFile(
    tmp,
    JSON.stringify({
      version: WITNESS_VERSION,
      root,
      stagesModule: stagesModule ?? '',
      stages: result.stages.map((s) => s.stage),
      closing,
      files: rows,
      absent: [...absent],
    }),
  );
  await rename(tmp, target);
  return true;
}
