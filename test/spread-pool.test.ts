// The seed spread on worker threads: the same models, bit for bit, as training them one by one here; an
// abort stops the workers; a failing model names its seed. The threads are forced on: the stage itself
// starts them only when the work pays for their start-up, which tiny test data never does.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModuleGraph } from '../pipeline/runner/modules.ts';
import { train } from '../stages/train.ts';
import { buildModel, readWeights } from '../stages/lib/model/model.ts';
import { readPairs, type Pairs } from '../stages/lib/data/pairs.ts';
import { spreadThreads, trainSpread, type SpreadJob } from '../stages/lib/model/spread-pool.ts';
import { trainFused } from '../stages/lib/model/trainer.ts';
import { writeFixture, type Fixture } from './model-helpers.ts';

const spec = { lookback: 2, units: 4, layers: 1, activation: 'sigmoid', dropout: 0.25 } as const;
const options = { epochs: 3, batchSize: 5, learningRate: 0.001, shuffle: true } as const;

let fixture: Fixture;
let pairs: Pairs;
let jobs: SpreadJob[];

beforeAll(async () => {
  fixture = await writeFixture({ count: 60, testDays: 10, lookback: 2 });
  pairs = await readPairs(`${fixture.root}/artifacts/split/train.arrow`);
  jobs = [1042, 2042, 3042, 4042, 5042].map((seed) => {
    const model = buildModel({ ...spec, seed });
    try {
      return { seed, theta: readWeights(model, spec) };
    } finally {
      model.dispose();
    }
  });
});
afterAll(() => fixture.cleanup());

it('models trained on 2 worker threads equal each seed trained alone here, bit for bit', async () => {
  const epochs: string[] = [];
  const run = await trainSpread(spec, pairs, jobs, { ...options, threads: 2, onEpoch: (index, epoch) => epochs.push(`${index}:${epoch}`) });
  expect(run.threads).toBe(2);
  const pooled = run.results;
  expect(pooled.map((r) => r.seed)).toEqual(jobs.map((j) => j.seed));
  for (const [index, job] of jobs.entries()) {
    const theta = Float32Array.from(job.theta);
    const alone = await trainFused(spec, theta, pairs, { ...options, seed: job.seed });
    expect(pooled[index]!.theta).toEqual(theta);
    expect(pooled[index]!.loss).toEqual(alone.loss);
  }
  // Every epoch of every model was reported once, in order within each model.
  expect([...epochs].sort()).toEqual(jobs.flatMap((_, i) => [1, 2, 3].map((e) => `${i}:${e}`)).sort());
  for (let i = 0; i < jobs.length; i++) expect(epochs.filter((e) => e.startsWith(`${i}:`))).toEqual([`${i}:1`, `${i}:2`, `${i}:3`]);
  // The starting weights are the caller's and stay untouched.
  const fresh = buildModel({ ...spec, seed: 1042 });
  expect(jobs[0]!.theta).toEqual(readWeights(fresh, spec));
  fresh.dispose();
});

it("the first model's probe comes back from its worker (for the estimate line), once, with the workers' count", async () => {
  const probes: { steps: number; threads: number; parallel: number }[] = [];
  await trainSpread(spec, pairs, jobs.slice(0, 3), { ...options, threads: 2, onProbe: (probe, parallel) => probes.push({ steps: probe.steps, threads: probe.threads, parallel }) });
  // 48 pairs in batches of 5: 10 steps an epoch, 3 epochs; a worker trains a model on one thread.
  expect(pairs.rows).toBe(48);
  expect(probes).toEqual([{ steps: 30, threads: 1, parallel: 2 }]);
  // Trained here, one after another: parallel 1.
  probes.length = 0;
  await trainSpread(spec, pairs, jobs.slice(0, 2), { ...options, threads: 1, onProbe: (probe, parallel) => probes.push({ steps: probe.steps, threads: probe.threads, parallel }) });
  expect(probes).toEqual([{ steps: 30, threads: 1, parallel: 1 }]);
});

it('one thread trains the same models in this thread', async () => {
  const pooled = (await trainSpread(spec, pairs, jobs.slice(0, 2), { ...options, threads: 2 })).results;
  const here = await trainSpread(spec, pairs, jobs.slice(0, 2), { ...options, threads: 1 });
  expect(here.threads).toBe(1);
  expect(here.results.map((r) => r.theta)).toEqual(pooled.map((r) => r.theta));
});

it('an abort stops the workers and rejects with an AbortError', async () => {
  const controller = new AbortController();
  let after = 0;
  const run = trainSpread(spec, pairs, jobs, {
    ...options,
    epochs: 200,
    threads: 2,
    signal: controller.signal,
    onEpoch: () => {
      if (controller.signal.aborted) after++;
      else controller.abort();
    },
  });
  await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(after).toBe(0);
});

it('a model that fails names its place and seed', async () => {
  await expect(trainSpread(spec, pairs, jobs.slice(0, 3), { ...options, learningRate: 3e38, threads: 2 })).rejects.toThrow(
    /^seed spread [123]\/3 \(seed [123]042\): training diverged: loss is (NaN|Infinity) in epoch \d+$/,
  );
  await expect(trainSpread(spec, pairs, jobs.slice(0, 3), { ...options, learningRate: 3e38, threads: 1 })).rejects.toThrow(
    /^seed spread 1\/3 \(seed 1042\): training diverged: loss is (NaN|Infinity) in epoch \d+$/,
  );
});

it('threads start only when the work pays for them, and never more than the jobs', () => {
  expect(spreadThreads(20, 49, 3)).toBe(1);
  expect(spreadThreads(1, 1_000_000, 30)).toBe(1);
  const many = spreadThreads(20, 2692, 30);
  expect(many).toBeGreaterThanOrEqual(1);
  expect(many).toBeLessThanOrEqual(20);
  expect(spreadThreads(2, 2692, 100)).toBeLessThanOrEqual(2);
});

/** A module graph with no cache file behind it (none is written: save() is never called). */
const graph = () => ModuleGraph.open(join(tmpdir(), 'pipeline-no-modules-cache.json'));

it('the worker script is part of the train stage\'s code hash', async () => {
  const files = [...(await (await graph()).closure(fileURLToPath(train.module))).modules.keys()];
  expect(files.some((f) => f.endsWith('stages/lib/model/spread-worker.mjs'))).toBe(true);
  expect(files.some((f) => f.endsWith('stages/lib/model/trainer.ts'))).toBe(true);
});

describe('workers that misbehave', () => {
  let dir: string;
  const script = async (name: string, source: string) => {
    const path = join(dir, name);
    await writeFile(path, source);
    return pathToFileURL(path);
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pipeline-workers-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('a worker that cannot start leaves the models to this thread, and says so in threads', async () => {
    const broken = await script('broken.mjs', "throw new Error('no tsx here');\n");
    const run = await trainSpread(spec, pairs, jobs.slice(0, 2), { ...options, threads: 2, workerScript: broken });
    expect(run.threads).toBe(1);
    const here = await trainSpread(spec, pairs, jobs.slice(0, 2), { ...options, threads: 1 });
    expect(run.results.map((r) => r.theta)).toEqual(here.results.map((r) => r.theta));
  });

  it('a worker that quits mid-job, even with exit code 0, fails the spread and names the job', async () => {
    const quitter = await script(
      'quitter.mjs',
      "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(0));\nparentPort.postMessage({ type: 'ready' });\n",
    );
    await expect(trainSpread(spec, pairs, jobs.slice(0, 2), { ...options, threads: 2, workerScript: quitter })).rejects.toThrow(
      /^seed spread [12]\/2 \(seed [12]042\): its worker stopped \(exit code 0\)$/,
    );
  });

  it('no jobs: no workers, no models', async () => {
    const quitter = await script('never.mjs', "throw new Error('must not start');\n");
    expect(await trainSpread(spec, pairs, [], { ...options, threads: 2, workerScript: quitter })).toEqual({ results: [], threads: 1 });
  });
});

it('a relative file a module refers to but that is missing is named with the module referring to it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pipeline-closure-'));
  try {
    await writeFile(join(dir, 'stage.ts'), "const worker = new URL('./gone.mjs', import.meta.url);\nexport { worker };\n");
    await expect((await graph()).closure(join(dir, 'stage.ts'), { cwd: dir })).rejects.toThrow(
      `stage.ts:1:16: cannot find './gone.mjs' (${join(dir, 'gone.mjs')})`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
