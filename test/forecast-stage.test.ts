// The forecast stage on a hand-built series: tomorrow's date, persistence and the scaler by hand, the saved
// model and scaler giving `price` back through tf.loadLayersModel, and the model being exactly the train
// config trained on every day's pairs (built here with sklearn's MinMaxScaler arithmetic).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forecast } from '../stages/forecast.ts';
import { loadTf } from '../stages/lib/model/tf.ts';
import { buildModel, predict, readWeights, writeWeights } from '../stages/lib/model/model.ts';
import { fileLoadHandler } from '../stages/lib/model/model-files.ts';
import { trainFused } from '../stages/lib/model/trainer.ts';
import { consecutiveDates, readJson, removeProject, tempProject, writeDailyArrow } from './data-helpers.ts';
import { stageContext } from './model-helpers.ts';

// 30 days ending on 2020-02-28: tomorrow is the leap day.
const dates = consecutiveDates('2020-01-30', 30);
const prices = dates.map((_, i) => 8000 + 120 * i + 300 * Math.sin(i / 3) + ((i * 7) % 5) * 11);
const LOOKBACK = 2;
const TRAIN = { epochs: 3, spread_seeds: 2, seed: 42 };

interface ForecastJson {
  date: string;
  price: number;
  last_date: string;
  last_price: number;
  change: number;
  change_pct: number;
  seed_min?: number;
  seed_median?: number;
  seed_max?: number;
  trained_from: string;
  trained_to: string;
  pairs: number;
  seed: number;
  seed_prices?: { seed: number; price: number }[];
}

let root: string;
let result: ForecastJson;
let scaler: { min: number; max: number; fit_from: string; fit_to: string; days_fitted: number; scale: number; offset: number };
const dir = () => join(root, 'artifacts', 'forecast');

beforeAll(async () => {
  await loadTf();
  root = await tempProject();
  await writeDailyArrow(root, dates, prices);
  const { ctx } = await stageContext(forecast, root, { split: { lookback: LOOKBACK }, train: TRAIN });
  await forecast.run(ctx);
  result = await readJson<ForecastJson>(join(dir(), 'forecast.json'));
  scaler = await readJson(join(dir(), 'scaler.json'));
});
afterAll(() => removeProject(root));

/** sklearn's MinMaxScaler over every day: scale_ = 1 / (max − min), min_ = −min · scale_, X · scale_ + min_. */
function sklearnScaled(): number[] {
  const min = Math.min(...prices);
  const max = Math.max(...prices);
  const scale = 1 / (max - min);
  const offset = 0 - min * scale;
  return prices.map((p) => p * scale + offset);
}

/** Every day's pairs, x = the two days before, y = the day, as row-major arrays. */
function pairs(scaled: number[]) {
  const x: number[] = [];
  const y: number[] = [];
  for (let t = LOOKBACK; t < scaled.length; t++) {
    x.push(scaled[t - 2]!, scaled[t - 1]!);
    y.push(scaled[t]!);
  }
  return { x: Float64Array.from(x), y: Float64Array.from(y), rows: y.length };
}

describe('forecast stage', () => {
  it("forecasts the day after the last day, beside the last price (persistence's forecast)", () => {
    expect(result.date).toBe('2020-02-29');
    expect(result.last_date).toBe('2020-02-28');
    expect(result.last_price).toBe(prices[29]);
    expect(result.change).toBe(result.price - prices[29]!);
    expect(result.change_pct).toBeCloseTo((100 * (result.price - prices[29]!)) / prices[29]!, 12);
    expect(result.pairs).toBe(28);
    expect(result.trained_from).toBe('2020-02-01');
    expect(result.trained_to).toBe('2020-02-28');
    expect(result.seed).toBe(42);
  });

  it('fits the scaler on every day, through the last', () => {
    expect(scaler).toMatchObject({ min: Math.min(...prices), max: Math.max(...prices), fit_from: '2020-01-30', fit_to: '2020-02-28', days_fitted: 30 });
  });

  it('the saved model fed the last days, scaled by scaler.json, gives price back', async () => {
    const { tf } = await loadTf();
    const model = await tf.loadLayersModel(fileLoadHandler(join(dir(), 'model.json')));
    try {
      // As a user would scale them: (p − min) / (max − min), and back: s · (max − min) + min.
      const input = [prices[28]!, prices[29]!].map((p) => (p - scaler.min) / (scaler.max - scaler.min));
      const out = (model.predict(tf.tensor3d(input, [1, 2, 1])) as import('@tensorflow/tfjs').Tensor).dataSync()[0]!;
      const price = out * (scaler.max - scaler.min) + scaler.min;
      expect(Math.abs(price - result.price) / result.price).toBeLessThan(1e-6);
      // With scaler.json's own scale and offset (sklearn's scale_ and min_): the same number exactly.
      const exact = predict(model, Float64Array.from([prices[28]!, prices[29]!].map((p) => p * scaler.scale + scaler.offset)), 1, 2)[0]!;
      expect(exact * (scaler.max - scaler.min) + scaler.min).toBe(result.price);
      // Not persistence in disguise.
      expect(result.price).not.toBe(result.last_price);
    } finally {
      model.dispose();
    }
  });

  it("the model is the train config trained on every day's pairs from train.seed, and the seeds' range covers it and the spread", async () => {
    const spec = { lookback: LOOKBACK, units: 4, layers: 1, activation: 'sigmoid', dropout: 0 } as const;
    const data = pairs(sklearnScaled());
    const predictions: number[] = [];
    const saved = new Uint8Array(await readFile(join(dir(), 'weights.bin')));
    const model = buildModel({ ...spec, seed: 42 });
    try {
      for (const seed of [42, 1042, 2042]) {
        const start = buildModel({ ...spec, seed });
        const theta = readWeights(start, spec);
        start.dispose();
        await trainFused(spec, theta, data, { epochs: 3, batchSize: 5, learningRate: 0.001, shuffle: true, seed });
        if (seed === 42) expect(new Uint8Array(theta.buffer)).toEqual(saved);
        writeWeights(model, spec, theta);
        const min = Math.min(...prices);
        const max = Math.max(...prices);
        const input = sklearnScaled().slice(-2);
        predictions.push(predict(model, Float64Array.from(input), 1, 2)[0]! * (max - min) + min);
      }
    } finally {
      model.dispose();
    }
    expect(result.price).toBe(predictions[0]);
    expect(result.seed_prices).toEqual([42, 1042, 2042].map((seed, i) => ({ seed, price: predictions[i] })));
    const sorted = [...predictions].sort((a, b) => a - b);
    expect([result.seed_min, result.seed_median, result.seed_max]).toEqual(sorted);
  });

  it('without a seed spread there is no seed range', async () => {
    const { ctx } = await stageContext(forecast, root, { split: { lookback: LOOKBACK }, train: { ...TRAIN, spread_seeds: 0 } }, join(root, 'alone'));
    await forecast.run(ctx);
    const alone = await readJson<ForecastJson>(join(root, 'alone', 'forecast.json'));
    expect(alone.price).toBe(result.price);
    for (const key of ['seed_min', 'seed_median', 'seed_max', 'seed_prices']) expect(alone).not.toHaveProperty(key);
  });
});
