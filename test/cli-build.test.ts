// The CLI's build (pipeline/runner/build.mjs): made from the sources, used only while every file it was
// made from is as it was, and what it was made from is what the loaded-code check compares with.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildDir, currentBuild, makeBuild } from '../pipeline/runner/build.mjs';
import { codeLoadedOtherwise, libraryLoadedOtherwise } from '../pipeline/runner/loaded.ts';
import { recordBuild } from '../pipeline/runner/module-loads.mjs';
import type { Sha256 } from '../pipeline/runner/hash.ts';
import { parseLock } from '../pipeline/runner/lock.ts';

const exec = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** A copy of this checkout's code (node_modules linked), so its build and edits touch nothing here. */
let copy: string;
beforeAll(async () => {
  copy = await mkdtemp(join(tmpdir(), 'pipeline-build-'));
  for (const item of ['package.json', 'tsconfig.json', 'pipeline.yaml', 'bin', 'pipeline', 'stages', 'data']) {
    await cp(join(repo, item), join(copy, item), { recursive: true });
  }
  await symlink(join(repo, 'node_modules'), join(copy, 'node_modules'));
  // Past the "racily clean" window: a file changed within a clock tick of the build is not vouched for.
  await new Promise((resolve) => setTimeout(resolve, 100));
});
afterAll(async () => {
  await rm(buildDir(copy), { recursive: true, force: true });
  await rm(copy, { recursive: true, force: true });
});

test('a build records the bytes of every source it bundles and is current until one of them changes', async () => {
  const made = await makeBuild({ root: copy });
  expect(made).toBeDefined();
  const modules = new Map(made!.modules);
  for (const file of ['stages/ingest.ts', 'stages/run/ingest.ts', 'pipeline/runner/executor.ts', 'stages/lib/model/trainer.ts', 'stages/lib/data/minute-sample.ts']) {
    expect(modules.get(join(copy, file))).toBe(sha256(await readFile(join(copy, file))));
  }
  // Worker scripts are built too, each under its source's URL.
  expect(Object.keys(made!.workers)).toContain(pathToFileURL(join(copy, 'stages/lib/model/spread-worker.mjs')).href);
  // Made more than a clock tick after the sources were written, it is kept and current.
  expect(currentBuild(copy)?.main).toBe(made!.main);

  // Any change to a file it was made from (here a comment) makes it stale: it is never used again.
  const split = join(copy, 'stages/split.ts');
  await writeFile(split, `${await readFile(split, 'utf8')}// edited\n`);
  expect(currentBuild(copy)).toBeUndefined();
}, 60_000);

test('the CLI makes a new build when the one recorded is stale, and runs from it', async () => {
  const cli = (args: string[]) => exec(process.execPath, [join(copy, 'bin', 'pipeline.mjs'), ...args], { cwd: copy, env: { ...process.env, NO_COLOR: '1' } });
  await cli(['dag']);
  const first = currentBuild(copy);
  expect(first).toBeDefined();
  const helper = join(copy, 'stages/lib/data/pairs.ts');
  await writeFile(helper, `${await readFile(helper, 'utf8')}// edited\n`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const { stdout } = await cli(['dag']);
  expect(stdout).toMatch(/^sample {5}Synthesize/);
  // The build made now holds the edited helper as it is on disk.
  const second = currentBuild(copy);
  expect(second?.main).not.toBe(first!.main);
  expect(new Map(second!.modules).get(helper)).toBe(sha256(await readFile(helper)));
}, 60_000);

test('run from a build, a module of a stage that differs from what the build was made from counts as changed after it was loaded', async () => {
  const file = join(copy, 'stages/lib/data/x.ts');
  recordBuild({ modules: [[file, 'a'.repeat(64)]], packages: [[join(copy, 'node_modules', 'left-pad'), { name: 'left-pad', version: '1.0.0', integrity: 'sha512-old' }]] });
  const closure = { entry: file, modules: new Map([[file, 'b'.repeat(64) as Sha256]]), data: new Map(), absent: [] };
  expect(await codeLoadedOtherwise(closure)).toBe(file);
  expect(await codeLoadedOtherwise({ ...closure, modules: new Map([[file, 'a'.repeat(64) as Sha256]]) })).toBeUndefined();
  // A bundled package whose installed version moved since the build.
  const folder = join(copy, 'node_modules', 'left-pad');
  const libraries = { versions: {}, packages: [], hash: undefined, folders: new Map([[folder, { name: 'left-pad', version: '1.0.1', integrity: 'sha512-new' }]]), read: [], absent: [] };
  expect(libraryLoadedOtherwise(libraries)?.was.version).toBe('1.0.0');
});

test('the CLI run from its build computes every artifact the sources compute through tsx, worker threads included', async () => {
  // 1000 days: enough for the sample's worker thread and the seed spread's worker pool.
  await writeFile(join(copy, 'pipeline.yaml'), 'stages:\n  sample: { days: 1000 }\n');
  const run = (env: NodeJS.ProcessEnv) =>
    exec(process.execPath, [join(copy, 'bin', 'pipeline.mjs'), 'run'], { cwd: copy, env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 1 << 24 });
  const outputs = async () => {
    const lock = parseLock(await readFile(join(copy, 'pipeline.lock'), 'utf8'));
    // train/report.json records wall-clock seconds.
    return Object.fromEntries(Object.entries(lock.stages).map(([stage, entry]) => [stage, Object.fromEntries(Object.entries(entry.outputs).filter(([path]) => !path.endsWith('train/report.json')))]));
  };
  // On two cores or more the spread trains on worker threads (built ones, from the build).
  const threads = availableParallelism() >= 2 ? /on [2-8] threads/ : /on 1 thread/;
  const built = await run({});
  expect(currentBuild(copy)).toBeDefined();
  expect(built.stdout).toMatch(new RegExp(`seed spread: 20 more seeds of the same config in [\\d.]+ s ${threads.source}`));
  const fromBuild = await outputs();
  await rm(join(copy, 'artifacts'), { recursive: true, force: true });
  await rm(join(copy, 'pipeline.lock'), { force: true });
  const sources = await run({ PIPELINE_NO_BUILD: '1' });
  expect(sources.stdout).toMatch(new RegExp(`seed spread: 20 more seeds of the same config in [\\d.]+ s ${threads.source}`));
  expect(await outputs()).toEqual(fromBuild);
  expect(Object.keys(fromBuild)).toEqual(['sample', 'ingest', 'aggregate', 'scale', 'split', 'train', 'evaluate', 'forecast', 'backtest']);
}, 180_000);
