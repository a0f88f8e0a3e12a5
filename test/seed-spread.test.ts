// The seed spread: train.spread_seeds more models of the same config, scored by evaluate. Each spread
// model must be exactly the model a run with its seed trains, and its scores must match predictions made
// here through tfjs from its weights, with the metrics recomputed by hand.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { train } from '../stages/train.ts';
import { evaluate } from '../stages/evaluate.ts';
import { loadTf } from '../stages/lib/model/tf.ts';
import { loadModel } from '../stages/lib/model/model-files.ts';
import { contextFor, trainInto, writeFixture, type Fixture } from './model-helpers.ts';

interface SpreadFile {
  seed: number;
  weights_encoding: string;
  spec: { lookback: number; units: number; layers: number; activation: string; dropout: number };
  runs: { seed: number; final_loss: number; weights: string }[];
}

/** A spread run's weights: base64 of little-endian float32s, decoded here byte by byte. */
function weightsOf(run: { weights: string }): number[] {
  const bytes = Buffer.from(run.weights, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => new DataView(bytes.buffer, bytes.byteOffset + i * 4, 4).getFloat32(0, true));
}

let fixture: Fixture;
let spread: SpreadFile;
let trainProgress: { done: number; total?: number; label?: string }[];
let evaluateInfo: string[];
const trainDir = () => join(fixture.root, 'artifacts', 'train');
const evalDir = () => join(fixture.root, 'artifacts', 'evaluate');

beforeAll(async () => {
  fixture = await writeFixture({ count: 60, testDays: 10, lookback: 2 });
  const trained = await contextFor(train, fixture.root, { epochs: 3, seed: 5, spread_seeds: 3 });
  await train.run(trained.ctx);
  trainProgress = trained.progress;
  spread = JSON.parse(await readFile(join(trainDir(), 'spread.json'), 'utf8')) as SpreadFile;
  const evaluated = await contextFor(evaluate, fixture.root);
  await evaluate.run(evaluated.ctx);
  evaluateInfo = evaluated.info;
});
afterAll(() => fixture.cleanup());

it('spread.json holds the spread models at seeds seed + 1000, + 2000, + 3000', () => {
  expect(spread.seed).toBe(5);
  expect(spread.runs.map((r) => r.seed)).toEqual([1005, 2005, 3005]);
  expect(spread.spec).toEqual({ lookback: 2, units: 4, layers: 1, activation: 'sigmoid', dropout: 0 });
  expect(spread.weights_encoding).toBe('float32 little-endian, base64');
  // LSTM(4) on 1 feature: 4·(4·(1+4)+4) = 96 weights, Dense(1): 5; 4 bytes each.
  for (const run of spread.runs) expect(Buffer.from(run.weights, 'base64')).toHaveLength(101 * 4);
});

it('a spread model is bit for bit the model a run with its seed trains', async () => {
  const solo = await trainInto(fixture, 'solo-2005', { epochs: 3, seed: 2005, spread_seeds: 0 });
  const soloWeights = new Float32Array(solo.weights.buffer, solo.weights.byteOffset, solo.weights.byteLength / 4);
  expect(Float32Array.from(weightsOf(spread.runs[1]!))).toEqual(soloWeights);
  const history = JSON.parse(solo.history) as { loss: number[] };
  expect(spread.runs[1]!.final_loss).toBe(history.loss[2]);
});

it('spread models differ from each other and from the trained model', async () => {
  const main = await readFile(join(trainDir(), 'weights.bin'));
  const mainWeights = Array.from(new Float32Array(main.buffer, main.byteOffset, main.byteLength / 4));
  const all = [mainWeights, ...spread.runs.map(weightsOf)];
  for (let a = 0; a < all.length; a++) for (let b = a + 1; b < all.length; b++) expect(all[a]).not.toEqual(all[b]);
});

it('progress counts the epochs of every model: the model\'s 3, then 3 per spread seed', () => {
  const steps = trainProgress.filter((p) => p.done > 0);
  expect(steps.map((p) => p.done)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  expect(trainProgress.every((p) => p.total === 12)).toBe(true);
  expect(steps[2]!.label).toMatch(/^epoch 3\/3, loss /);
  expect(steps[3]!.label).toBe('seed spread 1/3, epoch 1/3');
  expect(steps[11]!.label).toBe('seed spread 3/3, epoch 3/3');
});

it('seeds.arrow and seed_spread score every seed as predicted here through tfjs', async () => {
  const { tf } = await loadTf();
  const model = await loadModel(join(trainDir(), 'model.json'));
  const shapes = model.getWeights().map((w) => w.shape);
  const real = fixture.testTargets.map((t) => fixture.prices[t]!);
  const previous = fixture.testTargets.map((t) => fixture.prices[t - 1]!);
  const inputs = fixture.testTargets.flatMap((t) => [fixture.scaled[t - 2]!, fixture.scaled[t - 1]!]);
  const rmseOf = (forecast: number[]) => Math.sqrt(forecast.reduce((s, f, i) => s + (f - real[i]!) ** 2, 0) / real.length);
  const persistenceRmse = rmseOf(previous);
  const predictions = (weights: number[]) => {
    let offset = 0;
    const tensors = shapes.map((shape) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const t = tf.tensor(weights.slice(offset, offset + size), shape);
      offset += size;
      return t;
    });
    model.setWeights(tensors);
    tf.dispose(tensors);
    const scaled = tf.tidy(() => Array.from((model.predict(tf.tensor3d(inputs, [real.length, 2, 1])) as typeof tensors[0]).dataSync()));
    return scaled.map((s) => s * (fixture.max - fixture.min) + fixture.min);
  };
  const main = await readFile(join(trainDir(), 'weights.bin'));
  const ratios = [Array.from(new Float32Array(main.buffer, main.byteOffset, main.byteLength / 4)), ...spread.runs.map(weightsOf)].map(
    (w) => rmseOf(predictions(w)) / persistenceRmse,
  );
  model.dispose();

  const table = tableFromIPC(await readFile(join(evalDir(), 'seeds.arrow')));
  expect(table.numRows).toBe(4);
  expect(Array.from(table.getChild('seed')!.toArray(), Number)).toEqual([5, 1005, 2005, 3005]);
  const tableRatios = Array.from(table.getChild('rmse_ratio')!.toArray() as Float64Array);
  tableRatios.forEach((r, i) => expect(r).toBeCloseTo(ratios[i]!, 10));
  const tableRmse = Array.from(table.getChild('rmse')!.toArray() as Float64Array);
  tableRmse.forEach((r, i) => expect(r / persistenceRmse).toBeCloseTo(ratios[i]!, 10));
  expect(Array.from(table.getChild('final_loss')!.toArray() as Float64Array).slice(1)).toEqual(spread.runs.map((r) => r.final_loss));

  const metrics = JSON.parse(await readFile(join(evalDir(), 'metrics.json'), 'utf8'));
  const sorted = [...ratios].sort((a, b) => a - b);
  expect(metrics.seed_spread.seeds).toBe(4);
  expect(metrics.seed_spread.rmse_ratio_min).toBeCloseTo(sorted[0]!, 5);
  expect(metrics.seed_spread.rmse_ratio_median).toBeCloseTo((sorted[1]! + sorted[2]!) / 2, 5);
  expect(metrics.seed_spread.rmse_ratio_max).toBeCloseTo(sorted[3]!, 5);
  expect(metrics.seed_spread.within_10pct).toBe(ratios.filter((r) => Math.abs(r - 1) <= 0.1).length / 4);
  expect(metrics.seed_spread.beats_persistence).toBe(ratios.filter((r) => r < 1).length / 4);
  expect(metrics.seed_spread.better_than_model).toBe(ratios.slice(1).filter((r) => r < ratios[0]!).length / 3);
  expect(metrics.rmse_ratio).toBeCloseTo(ratios[0]!, 5);
  expect(evaluateInfo[1]).toMatch(/^over 4 seeds of this config: ratio median [\d.]+, [\d.]+\.\.[\d.]+; \d of 4 beat persistence$/);
});

it('spread_seeds 0 trains one model: no spread in the metrics, one row in seeds.arrow', async () => {
  const other = await writeFixture({ count: 40, testDays: 8 });
  try {
    const trained = await contextFor(train, other.root, { epochs: 2, seed: 9, spread_seeds: 0 });
    await train.run(trained.ctx);
    const file = JSON.parse(await readFile(join(other.root, 'artifacts', 'train', 'spread.json'), 'utf8')) as SpreadFile;
    expect(file.runs).toEqual([]);
    const evaluated = await contextFor(evaluate, other.root);
    await evaluate.run(evaluated.ctx);
    const metrics = JSON.parse(await readFile(join(other.root, 'artifacts', 'evaluate', 'metrics.json'), 'utf8'));
    expect(metrics.seed_spread).toBeNull();
    const table = tableFromIPC(await readFile(join(other.root, 'artifacts', 'evaluate', 'seeds.arrow')));
    expect(table.numRows).toBe(1);
    expect(Number(table.getChild('seed')!.get(0))).toBe(9);
    expect(table.getChild('rmse_ratio')!.get(0)).toBeCloseTo(metrics.rmse_ratio, 12);
    expect(evaluated.info).toHaveLength(1);
  } finally {
    await other.cleanup();
  }
});

it('a spread.json whose weights do not fit its spec is refused with the key named', async () => {
  const path = join(trainDir(), 'spread.json');
  const original = await readFile(path, 'utf8');
  const broken = JSON.parse(original) as SpreadFile;
  broken.runs[2]!.weights = Buffer.from(broken.runs[2]!.weights, 'base64').subarray(0, 100 * 4).toString('base64');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path, JSON.stringify(broken));
  try {
    const evaluated = await contextFor(evaluate, fixture.root, {}, join(fixture.root, 'eval-broken'));
    await expect(evaluate.run(evaluated.ctx)).rejects.toThrow(`${path}: key "runs.2.weights": 100 weights; the spec's model has 101`);
  } finally {
    await writeFile(path, original);
  }
});

it('a seed spread past the largest 32-bit seed is a config error naming both keys', () => {
  const last = train.params.safeParse({ seed: 4294967295 - 19_999, spread_seeds: 20 });
  expect(last.success).toBe(false);
  expect(last.error!.issues[0]!.path).toEqual(['spread_seeds']);
  expect(last.error!.issues[0]!.message).toBe(
    'would train seeds up to seed + 1000·spread_seeds = 4294967296, past the largest seed 4294967295; lower train.seed or train.spread_seeds',
  );
  // One below: the last spread seed is exactly 2^32 - 1.
  expect(train.params.safeParse({ seed: 4294967295 - 20_000, spread_seeds: 20 }).success).toBe(true);
  const seed = train.params.safeParse({ seed: 2 ** 32, spread_seeds: 0 });
  expect(seed.error!.issues[0]!.message).toBe('must be an integer from 0 to 4294967295');
});

it('23-unit spread models build without tfjs slowness warnings (the orthogonal initialiser runs in float64 here)', async () => {
  // Orthogonal warns of slowness above 2,000 elements: 23 units give a 23 x 92 recurrent kernel (2,116).
  const trained = await contextFor(train, fixture.root, { units: 23, epochs: 1, spread_seeds: 2 }, join(fixture.root, 'wide'));
  await train.run(trained.ctx);
  expect(trained.info.filter((m) => m.startsWith('tfjs:'))).toEqual([]);
});
