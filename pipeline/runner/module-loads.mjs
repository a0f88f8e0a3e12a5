// @ts-check
// Which files this process has loaded as modules, with the content it loaded (see loaded.ts for why).
// bin/pipeline.mjs calls recordModuleLoads() before it registers tsx, so the hooks in
// module-loads-hook.mjs see every ES module's source as read from disk; they report on a message port.
// Plain JS: it starts before TypeScript can be loaded.
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

/** path -> sha256 of each content loaded from it (a module may be loaded again under another URL query). */
const modules = new Map();
/** Package folders (…/node_modules/name) something was loaded from. */
const packages = new Set();
/** Packages bundled into the CLI's build (build.mjs): folder -> the version and integrity it was made from. */
const built = new Map();
/** @type {import('node:worker_threads').MessagePort | undefined} */
let port;
/** @type {Map<number, () => void>} */
const waiting = new Map();
let nextId = 0;

/** Starts recording (once per process). */
export function recordModuleLoads() {
  if (port) return;
  const channel = new MessageChannel();
  port = channel.port1;
  port.on('message', (message) => {
    if (message.type === 'module') {
      const seen = modules.get(message.path) ?? new Set();
      seen.add(message.hash);
      modules.set(message.path, seen);
    } else if (message.type === 'package') {
      packages.add(message.folder);
    } else if (message.type === 'settled') {
      waiting.get(message.id)?.();
      waiting.delete(message.id);
    }
  });
  port.unref();
  register('./module-loads-hook.mjs', import.meta.url, { data: { port: channel.port2 }, transferList: [channel.port2] });
}

/**
 * The CLI runs from its build (build.mjs): every source the build was made from counts as loaded, with
 * the content it was built from, and every bundled package as loaded in the version it was built from.
 * @param {{ modules: [string, string][], packages: [string, { name: string, version: string, integrity: string }][] }} build
 */
export function recordBuild(build) {
  for (const [path, hash] of build.modules) {
    const seen = modules.get(path) ?? new Set();
    seen.add(hash);
    modules.set(path, seen);
  }
  for (const [folder, installed] of build.packages) {
    built.set(folder, installed);
    packages.add(folder);
  }
}

/** @param {string} folder @returns {{ name: string, version: string, integrity: string } | undefined} */
export function builtPackage(folder) {
  return built.get(folder);
}

/** True when this process records its module loads (the CLI does; an in-process caller may not). */
export function recordingModuleLoads() {
  return port !== undefined || built.size > 0;
}

/** Resolves once every load reported before this call has arrived. */
export async function settleModuleLoads() {
  const current = port;
  if (!current) return;
  const id = ++nextId;
  current.ref();
  try {
    await new Promise((resolve) => {
      waiting.set(id, () => resolve(undefined));
      current.postMessage({ type: 'settle', id });
    });
  } finally {
    if (waiting.size === 0) current.unref();
  }
}

/** @param {string} path @returns {ReadonlySet<string> | undefined} */
export function loadedHashes(path) {
  return modules.get(path);
}

/** @param {string} folder */
export function packageLoaded(folder) {
  return packages.has(folder);
}
