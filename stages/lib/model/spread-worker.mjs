// A worker thread of the seed-spread pool (stages/lib/model/spread-pool.ts): trains the models it is sent,
// one at a time (on the pool's pairs, or on the pairs that come with the job), with the same fused
// trainer as the main thread, so a model is bit for bit what a sequential run gives. Plain JS.
import { parentPort, workerData } from 'node:worker_threads';

// From the CLI's build (pipeline/runner/build.mjs) this script and what it imports are plain JavaScript
// already; from the sources, tsx compiles them (a worker does not inherit the main thread's loader).
if (typeof __PIPELINE_BUILD__ === 'undefined') (await import('tsx/esm/api')).register();
const { trainFused } = await import('./trainer.ts');
const { spec, data, options } = workerData;

parentPort.on('message', async (job) => {
  try {
    const theta = job.theta;
    const result = await trainFused(spec, theta, job.data ?? data, {
      ...options,
      seed: job.seed,
      onEpoch: (epoch) => parentPort.postMessage({ type: 'epoch', index: job.index, epoch }),
      // The pool's first job times its first steps for the stage's estimate line.
      onProbe: job.probe ? (probe) => parentPort.postMessage({ type: 'probe', probe }) : undefined,
    });
    parentPort.postMessage({ type: 'done', index: job.index, theta, loss: result.loss }, [theta.buffer]);
  } catch (error) {
    parentPort.postMessage({ type: 'failed', index: job.index, message: error instanceof Error ? error.message : String(error) });
  }
});
parentPort.postMessage({ type: 'ready' });
