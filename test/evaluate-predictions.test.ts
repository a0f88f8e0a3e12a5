import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadTf } from '../stages/lib/model/tf.ts';
import { DAY_MS, trainAndEvaluate, type Fixture } from './model-helpers.ts';

const { tf } = await loadTf();
let fixture: Fixture;
let dir: string;
let trainDir: string;
let tensorsBefore = 0;
let tensorsAfter = 0;

beforeAll(async () => {
  tensorsBefore = tf.memory().numTensors;
  ({ fixture, dir, trainDir } = await trainAndEvaluate({ count: 60, testDays: 12, lookback: 3 }));
  tensorsAfter = tf.memory().numTensors;
});
afterAll(() => fixture.cleanup());

async function predictions() {
  const table = tableFromIPC(await readFile(join(dir, 'predictions.arrow')));
  const col = (name: string) => Array.from({ length: table.numRows }, (_, i) => table.getChild(name)!.get(i) as number);
  return { table, date: col('date'), real: col('real'), predicted: col('predicted'), persistence: col('persistence') };
}

it('predictions.arrow has one row per test day with date, real, predicted, persistence', async () => {
  const { table, date } = await predictions();
  expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
    'date:Date32<DAY>',
    'real:Float64',
    'predicted:Float64',
    'persistence:Float64',
  ]);
  expect(table.numRows).toBe(12);
  // Each row is dated with the day it predicts: the last 12 days of the series.
  expect(date).toEqual(fixture.testTargets.map((t) => fixture.days[t]! * DAY_MS));
});

it('real is the day’s price and persistence exactly the previous day’s price', async () => {
  const { real, persistence } = await predictions();
  expect(real).toEqual(fixture.testTargets.map((t) => fixture.prices[t]));
  expect(persistence).toEqual(fixture.testTargets.map((t) => fixture.prices[t - 1]));
});

it('the saved model loads with tf.loadLayersModel and predicts the same values', async () => {
  // Loaded through tfjs' own in-memory handler, independently of the stage's file handler.
  const modelJson = JSON.parse(await readFile(join(trainDir, 'model.json'), 'utf8'));
  const weights = await readFile(join(trainDir, modelJson.weightsManifest[0].paths[0]));
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest[0].weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  );
  try {
    const inputs = fixture.testTargets.flatMap((t) => [fixture.scaled[t - 3]!, fixture.scaled[t - 2]!, fixture.scaled[t - 1]!]);
    const scaled = tf.tidy(() => (model.predict(tf.tensor3d(inputs, [12, 3, 1])) as ReturnType<typeof tf.tensor>).dataSync());
    const expected = Array.from(scaled, (s) => s * (fixture.max - fixture.min) + fixture.min);
    const { predicted } = await predictions();
    predicted.forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 6));
  } finally {
    model.dispose();
  }
});

it('training and evaluating leave no tensors behind', () => {
  expect(tensorsAfter).toBe(tensorsBefore);
});
