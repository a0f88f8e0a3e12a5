// A worker thread of the sample stage (stages/sample.ts): makes the CSV bytes of the blocks of days it is
// sent, one at a time, with the same generator as the stage's own thread. Plain JS.
import { parentPort } from 'node:worker_threads';

// From the CLI's build (pipeline/runner/build.mjs) this script and what it imports are plain JavaScript
// already; from the sources, tsx compiles them (a worker does not inherit the main thread's loader).
if (typeof __PIPELINE_BUILD__ === 'undefined') (await import('tsx/esm/api')).register();
const { blockCsv } = await import('./minute-sample.ts');

// Each request brings the buffer to fill; it goes back with the block in it.
parentPort.on('message', ({ id, days, seed, layout, buffer }) => {
  const bytes = blockCsv(days, seed, layout, new Uint8Array(buffer));
  parentPort.postMessage({ id, buffer, length: bytes.length }, [buffer]);
});
