// @ts-check
// Node loader hooks (module.register) that report every file this process loads as an ES module, with
// the sha256 of the bytes loaded, to pipeline/runner/module-loads.mjs on the main thread. Registered
// before tsx, they run inside tsx's hooks: they see the source on disk, before it is compiled. A file
// inside node_modules is reported once, as its package's folder (the library closure covers its content).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** @type {import('node:worker_threads').MessagePort | undefined} */
let port;
const packages = new Set();

/** @param {{ port: import('node:worker_threads').MessagePort }} data */
export function initialize(data) {
  port = data.port;
  // A round trip on the same port: every report posted before the answer arrives before it.
  port.on('message', (message) => {
    if (message?.type === 'settle') port?.postMessage({ type: 'settled', id: message.id });
  });
  port.unref();
}

/** The folder of the package that holds `path` (…/node_modules/name or …/node_modules/@scope/name). */
function packageFolder(path) {
  const parts = path.split(sep);
  const at = parts.lastIndexOf('node_modules');
  const scoped = parts[at + 1]?.startsWith('@');
  return parts.slice(0, at + (scoped ? 3 : 2)).join(sep);
}

/** @type {import('node:module').LoadHook} */
export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (port && url.startsWith('file:')) {
    try {
      const path = fileURLToPath(url);
      if (path.split(sep).includes('node_modules')) {
        const folder = packageFolder(path);
        if (!packages.has(folder)) {
          packages.add(folder);
          port.postMessage({ type: 'package', folder });
        }
      } else {
        // CommonJS loaded through import comes back without its source: the CommonJS loader reads it.
        const source = result.source ?? readFileSync(path);
        const bytes = typeof source === 'string' || ArrayBuffer.isView(source) ? source : new Uint8Array(source);
        const hash = createHash('sha256').update(bytes).digest('hex');
        port.postMessage({ type: 'module', path, hash });
      }
    } catch {
      // Only a record: never break a load.
    }
  }
  return result;
}
