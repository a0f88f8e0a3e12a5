// The train stage end to end against tfjs training the same layers model itself: tf.train.adam and
// autodiff (optimizer.minimize), the stage's default params, the batch order re-derived here from the
// seed. 23 training pairs in batches of 5 leave a partial last batch of 3 rows, so a history weighted by
// the nominal batch size, a skipped shuffle or an untrained weights.bin all show.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { train } from '../stages/train.ts';
import { loadTf } from '../stages/lib/model/tf.ts';
import { buildModel, readWeights } from '../stages/lib/model/model.ts';
import { autodiffStep } from '../stages/lib/model/autodiff.ts';
import { contextFor, writeFixture, type Fixture } from './model-helpers.ts';

const { tf } = await loadTf();
const EPOCHS = 4;
const SEED = 42;
const BATCH = 5;
// The trainer's batch order stream: mulberry32 seeded with seed ^ 0x5eed0001, Fisher–Yates each epoch.
const SHUFFLE_STREAM = 0x5eed0001;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let fixture: Fixture;
let stageWeights: Float32Array;
let stageHistory: number[];

beforeAll(async () => {
  // 30 days, 6 test days, lookback 1: targets 1..23 are the 23 training pairs.
  fixture = await writeFixture({ count: 30, testDays: 6, lookback: 1 });
  const { ctx } = await contextFor(train, fixture.root, { epochs: EPOCHS });
  await train.run(ctx);
  const dir = join(fixture.root, 'artifacts', 'train');
  const bytes = await readFile(join(dir, 'weights.bin'));
  stageWeights = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  stageHistory = JSON.parse(await readFile(join(dir, 'history.json'), 'utf8')).loss;
});
afterAll(() => fixture.cleanup());

it('weights.bin and history.json equal tfjs Adam + autodiff training on the same batches', () => {
  expect(fixture.trainTargets).toHaveLength(23);
  const before = tf.memory().numTensors;
  const spec = { lookback: 1, units: 4, layers: 1, activation: 'sigmoid' as const, dropout: 0, seed: SEED };
  const model = buildModel(spec);
  const optimizer = tf.train.adam(0.001);
  try {
    const initial = readWeights(model, spec);
    const rows = fixture.trainTargets.length;
    const x = fixture.trainTargets.map((t) => fixture.scaled[t - 1]!);
    const y = fixture.trainTargets.map((t) => fixture.scaled[t]!);
    const order = Array.from({ length: rows }, (_, i) => i);
    const random = mulberry32(SEED ^ SHUFFLE_STREAM);
    const history: number[] = [];
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      for (let i = rows - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      let sum = 0;
      for (let start = 0; start < rows; start += BATCH) {
        const batch = order.slice(start, start + BATCH);
        const loss = autodiffStep(model, optimizer, Float64Array.from(batch, (r) => x[r]!), Float64Array.from(batch, (r) => y[r]!), batch.length, 1);
        sum += loss * batch.length;
      }
      history.push(sum / rows);
    }
    const reference = readWeights(model, spec);

    expect(stageWeights).toHaveLength(reference.length);
    let moved = 0;
    for (let i = 0; i < reference.length; i++) {
      expect(Math.abs(stageWeights[i]! - reference[i]!)).toBeLessThan(1e-6);
      moved = Math.max(moved, Math.abs(reference[i]! - initial[i]!));
    }
    // 20 Adam steps of lr 0.001 move weights by ~0.02: far beyond the tolerance above.
    expect(moved).toBeGreaterThan(0.01);
    expect(stageHistory).toHaveLength(EPOCHS);
    stageHistory.forEach((loss, i) => expect(Math.abs(loss - history[i]!)).toBeLessThan(1e-7));
  } finally {
    model.dispose();
    optimizer.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
});
