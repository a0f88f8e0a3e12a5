// A worker thread of a training step (stages/lib/model/batch-team.ts): builds its own view of the step's
// shared memory and runs its part of every step until told to quit. Plain JS.
import { parentPort, workerData } from 'node:worker_threads';

// From the CLI's build (pipeline/runner/build.mjs) this script and what it imports are plain JavaScript
// already; from the sources, tsx compiles them (a worker does not inherit the main thread's loader).
if (typeof __PIPELINE_BUILD__ === 'undefined') (await import('tsx/esm/api')).register();
const { LstmCore } = await import('./lstm-core.ts');
const { serveSteps } = await import('./batch-team.ts');
const { spec, maxBatch, memory, control, index } = workerData;

serveSteps(new LstmCore(spec, maxBatch, memory), control, index, (message) => parentPort.postMessage({ type: 'failed', message }));
