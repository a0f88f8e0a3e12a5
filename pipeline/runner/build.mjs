// @ts-check
// The CLI's build: the TypeScript sources (CLI, runner, stages, their helpers and the pure-JS packages
// they import) bundled by esbuild into a few ES modules, so a command starts in a fraction of what tsx
// takes to compile and load ~150 modules and ~800 package files one hook round-trip at a time, and a
// training worker starts without compiling the trainer again.
//
// What makes it safe to run instead of the sources:
//   - Never stale. The build records every file it was made from (each source, each bundled package
//     file and package.json, npm's installed lockfile, tsconfig.json, package.json, esbuild's own
//     package.json and this file) with its stat: size, mtime, ctime, inode, device, the stat cache's
//     trust model. Before each use every one is stat'ed again; any difference and the build is made
//     anew (or, if that fails, the CLI runs the sources through tsx, as without a build). A file that
//     changed within a clock tick of being read ("racily clean") makes a build that is used once and
//     not kept.
//   - What ran is what the fingerprint names. Each module keeps its own location: `import.meta.url`
//     is the source file's URL in the bundle too (so a stage's `module`, worker scripts, data beside the
//     code and package paths are those of the sources). The build remembers the sha256 of the bytes each
//     source was built from, and the CLI reports all of them as loaded when it starts (module-loads.mjs):
//     a stage whose code closure names other content than the build was made from is not run ("changed
//     after it was loaded"), exactly as for a module tsx loaded. Bundled packages are pinned at start to
//     the version and integrity they were built from. Packages with native code (DuckDB's bindings, resvg,
//     tfjs-node), tfjs (CommonJS) and the tools (esbuild, tsx) stay outside and load as before.
//   - Only the plain CLI uses it: PIPELINE_STAGES (another stage registry, loaded by path) and
//     PIPELINE_NO_BUILD=1 run the sources through tsx.
//
// `npm ci` makes it (the `prepare` script runs `node pipeline/runner/build.mjs`); a command that finds
// it missing or stale makes it first (about a second).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Bump when what a build contains or how it is made changes: older builds are then made anew. */
const FORMAT = 2;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRY = 'pipeline/cli/main.ts';
/** Worker scripts (named by new URL(…, import.meta.url) in the pools): built as entries of their own. */
const WORKERS = ['stages/lib/model/spread-worker.mjs', 'stages/lib/model/batch-worker.mjs', 'stages/lib/data/sample-worker.mjs'];
/**
 * Loaded from node_modules as they are: native addons, tfjs' CommonJS bundle, the tools. DuckDB's API
 * (@duckdb/node-api, plain CommonJS over the native @duckdb/node-bindings) is bundled: loaded from its
 * ~50 files it cost ~120 ms of module resolution and CommonJS export parsing on every command that
 * queries, a refresh's ingest included (the native addon itself loads in ~18 ms).
 */
const EXTERNAL = ['@duckdb/node-bindings', '@resvg/resvg-js', '@tensorflow/tfjs', '@tensorflow/tfjs-node', 'esbuild', 'tsx'];
/** The one module shared with bin/pipeline.mjs: the record of what this process loaded. */
const SHARED = join(ROOT, 'pipeline', 'runner', 'module-loads.mjs');
/** Clock slack for "racily clean" (see hash.ts racySlackMs). */
const racySlackMs = (/** @type {import('node:fs').Stats} */ st) => (st.mtimeMs % 1000 === 0 || st.ctimeMs % 1000 === 0 ? 2_000 : 50);

/** @typedef {[path: string, size: number, mtimeMs: number, ctimeMs: number, ino: number, dev: number]} Stamp */
/**
 * @typedef {{
 *   format: number, root: string, main: string, workers: Record<string, string>,
 *   inputs: Stamp[], modules: [string, string][], packages: [string, { name: string, version: string, integrity: string }][]
 * }} BuildManifest
 */

/** @param {string} path @returns {Stamp | undefined} */
function stampOf(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? [path, st.size, st.mtimeMs, st.ctimeMs, st.ino, st.dev] : undefined;
}

/** @param {Stamp} a @param {Stamp | undefined} b */
const sameStamp = (a, b) => b !== undefined && a.every((value, i) => value === b[i]);

/** Where this checkout's build lives: under its node_modules (never committed), one per checkout path. */
export function buildDir(root = ROOT) {
  const key = createHash('sha256').update(root).digest('hex').slice(0, 12);
  return join(realpathSync(join(root, 'node_modules')), '.cache', 'pipeline', `cli-${key}`);
}

/** @param {string} dir @returns {BuildManifest | undefined} */
function readManifest(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The build if every file it was made from is as it was, else undefined.
 * @param {string} [root]
 * @returns {BuildManifest | undefined}
 */
export function currentBuild(root = ROOT) {
  let dir;
  try {
    dir = buildDir(root);
  } catch {
    return undefined;
  }
  const manifest = readManifest(dir);
  if (!manifest || manifest.format !== FORMAT || manifest.root !== root) return undefined;
  for (const stamp of manifest.inputs) if (!sameStamp(stamp, stampOf(stamp[0]))) return undefined;
  if (!existsSync(fileURLToPath(manifest.main))) return undefined;
  return manifest;
}

/** The package folder (…/node_modules/name or …/node_modules/@scope/name) of a file inside one. */
function packageFolder(/** @type {string} */ path) {
  const parts = path.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  return parts.slice(0, at + (parts[at + 1]?.startsWith('@') ? 3 : 2)).join(sep);
}

/** What libraries.ts calls the installed package in `folder`: name, version, npm's integrity for it. */
function installedPackage(/** @type {string} */ folder) {
  /** @type {{ name?: string, version?: string }} */
  const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'));
  const parts = folder.split(sep);
  const installRoot = parts.slice(0, parts.indexOf('node_modules')).join(sep);
  const version = manifest.version ?? 'unknown';
  /** @type {Record<string, { version?: string, integrity?: string, resolved?: string }> | undefined} */
  let locked;
  try {
    locked = JSON.parse(readFileSync(join(installRoot, 'node_modules', '.package-lock.json'), 'utf8')).packages;
  } catch {
    locked = undefined;
  }
  const entry = locked?.[relative(installRoot, folder).split(sep).join('/')];
  const integrity = entry?.version === version ? (entry.integrity ?? entry.resolved ?? '') : '';
  return { name: manifest.name ?? relative(join(installRoot, 'node_modules'), folder), version, integrity };
}

const LOADERS = /** @type {const} */ ({ '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.jsx': 'jsx', '.js': 'js', '.mjs': 'js', '.cjs': 'js' });

/**
 * Makes the build anew. Returns it, or undefined when it cannot be made (then the CLI runs the sources).
 * @param {{ root?: string, keep?: boolean }} [options] keep: record it for later runs (unless racy)
 * @returns {Promise<BuildManifest | undefined>}
 */
export async function makeBuild({ root = ROOT, keep = true } = {}) {
  const dir = buildDir(root);
  const out = join(dir, `out-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`);
  const startedAt = Date.now();
  /** @type {Map<string, Stamp>} */
  const read = new Map();
  /** @type {Map<string, string>} */
  const hashes = new Map();
  let moved = false;
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [ENTRY, ...WORKERS],
    outdir: out,
    outbase: root,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    metafile: true,
    logLevel: 'silent',
    // Every module's side effects run as under Node: a package's "sideEffects": false must not drop the
    // imports that install its Node adapters (apache-arrow's toNodeStream, say).
    ignoreAnnotations: true,
    external: EXTERNAL,
    // Each module keeps its own import.meta.url (the source file's URL; see onLoad), and the worker
    // scripts know they are built (they skip registering tsx).
    define: { 'import.meta.url': '__pipeline_module_url', __PIPELINE_BUILD__: 'true' },
    // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
    banner: { js: "import { createRequire as __pipelineCreateRequire } from 'node:module'; const require = __pipelineCreateRequire(import.meta.url);" },
    plugins: [
      {
        name: 'pipeline-sources',
        setup(build) {
          build.onResolve({ filter: /module-loads\.mjs$/ }, (args) => {
            const path = join(args.resolveDir, args.path);
            return path === SHARED ? { path: SHARED, external: true } : undefined;
          });
          build.onLoad({ filter: /\.([mc]?[jt]s|[jt]sx)$/ }, (args) => {
            const before = stampOf(args.path);
            const bytes = readFileSync(args.path);
            const after = stampOf(args.path);
            if (!before || !sameStamp(before, after)) moved = true;
            if (after) read.set(args.path, after);
            if (!args.path.split(sep).includes('node_modules')) hashes.set(args.path, createHash('sha256').update(bytes).digest('hex'));
            // On the first line, so line numbers stay the source's.
            const url = `var __pipeline_module_url = ${JSON.stringify(pathToFileURL(args.path).href)};`;
            const text = bytes.toString('utf8');
            const contents = text.startsWith('#!') ? text.replace(/^#![^\n]*/, (line) => `//${line.slice(2)}\n${url}`) : url + text;
            return { contents, loader: LOADERS[/** @type {keyof typeof LOADERS} */ (extname(args.path))] ?? 'js' };
          });
        },
      },
    ],
  });
  if (moved) {
    rmSync(out, { recursive: true, force: true });
    return undefined;
  }
  // Every input as esbuild saw it (JSON files included), and what decided how it was read.
  for (const input of Object.keys(result.metafile.inputs)) {
    const path = join(root, input);
    if (!read.has(path)) {
      const stamp = stampOf(path);
      if (stamp) read.set(path, stamp);
    }
  }
  /** @type {Map<string, { name: string, version: string, integrity: string }>} */
  const packages = new Map();
  for (const path of [...read.keys()]) {
    const folder = packageFolder(path);
    if (folder && !packages.has(folder)) packages.set(folder, installedPackage(folder));
  }
  const extras = [
    join(root, 'package.json'),
    join(root, 'tsconfig.json'),
    join(root, 'node_modules', '.package-lock.json'),
    join(root, 'node_modules', 'esbuild', 'package.json'),
    fileURLToPath(import.meta.url),
    ...[...packages.keys()].map((folder) => join(folder, 'package.json')),
  ];
  for (const path of extras) {
    const stamp = stampOf(path);
    if (stamp) read.set(path, stamp);
  }
  const url = (/** @type {string} */ file) => pathToFileURL(join(out, file.replace(/\.[^./]+$/, '.mjs'))).href;
  /** @type {BuildManifest} */
  const manifest = {
    format: FORMAT,
    root,
    main: url(ENTRY),
    workers: Object.fromEntries(WORKERS.map((worker) => [pathToFileURL(join(root, worker)).href, url(worker)])),
    inputs: [...read.values()].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    modules: [...hashes].sort(),
    packages: [...packages].sort(),
  };
  const racy = manifest.inputs.some((stamp) => Math.max(stamp[2], stamp[3]) >= startedAt - racySlackMs(/** @type {any} */ ({ mtimeMs: stamp[2], ctimeMs: stamp[3] })));
  if (keep && !racy) {
    const tmp = join(dir, `manifest.${process.pid}.${randomBytes(3).toString('hex')}.tmp`);
    writeFileSync(tmp, JSON.stringify(manifest));
    renameSync(tmp, join(dir, 'manifest.json'));
    removeOldBuilds(dir, out);
  }
  return manifest;
}

/** Output folders of earlier builds, once no process can still be loading from them (an hour). */
function removeOldBuilds(/** @type {string} */ dir, /** @type {string} */ current) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!name.startsWith('out-') || path === current) continue;
    const st = statSync(path, { throwIfNoEntry: false });
    if (st && Date.now() - st.mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
  }
}

/**
 * The build to run: the recorded one when it is current, else a new one; undefined when none can be had
 * (esbuild missing or failing): then the CLI runs the sources through tsx.
 * @param {{ root?: string, env?: NodeJS.ProcessEnv }} [options]
 */
export async function cliBuild({ root = ROOT, env = process.env } = {}) {
  if (env.PIPELINE_NO_BUILD) return undefined;
  const current = currentBuild(root);
  if (current) return current;
  try {
    mkdirSync(buildDir(root), { recursive: true });
    return await makeBuild({ root });
  } catch (error) {
    if (/\bpipeline\b/.test(env.DEBUG ?? '')) process.stderr.write(`pipeline: no build (${error instanceof Error ? error.message : String(error)}); running the sources\n`);
    return undefined;
  }
}

// `node pipeline/runner/build.mjs` (npm's prepare script): make the build now unless it is current.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const made = currentBuild() ?? (mkdirSync(buildDir(), { recursive: true }), await makeBuild());
  if (!made) {
    process.stderr.write('pipeline: the CLI build could not be made; commands will run the sources through tsx\n');
  }
}
