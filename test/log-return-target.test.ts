// scale.target: log_return. The transform and its inverse against a hand calculation; the scaler never
// sees a return whose day lies in the test window or in a backtest window; evaluate, forecast and backtest
// turn predicted returns back into prices from the real day before, and the backtest's last fold still
// equals evaluate; on a series with built-in momentum the backtest beats persistence, on a random walk it
// does not, significantly.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scale } from '../stages/scale.ts';
import { split } from '../stages/split.ts';
import { train } from '../stages/train.ts';
import { evaluate } from '../stages/evaluate.ts';
import { forecast } from '../stages/forecast.ts';
import { backtest } from '../stages/backtest.ts';
import { targetSeries, toPrice } from '../stages/lib/data/scaling.ts';
import { loadTf } from '../stages/lib/model/tf.ts';
import { predict } from '../stages/lib/model/model.ts';
import { fileLoadHandler, loadModel } from '../stages/lib/model/model-files.ts';
import { readPairs } from '../stages/lib/data/pairs.ts';
import { consecutiveDates, readJson, removeProject, tempProject, writeDailyArrow } from './data-helpers.ts';
import { stageContext } from './model-helpers.ts';

const LN_1_1 = 0.09531017980432486; // ln 1.1
const LN_0_9 = -0.10536051565782628; // ln 0.9

describe('the log-return transform', () => {
  it('turns prices into ln p_t − ln p_{t−1}, one fewer than the days, and a predicted return back into a price', () => {
    const series = targetSeries(Float64Array.from([100, 110, 99]), 'log_return');
    expect(series.firstDay).toBe(1);
    expect(series.values).toHaveLength(2);
    expect(series.values[0]).toBeCloseTo(LN_1_1, 15);
    expect(series.values[1]).toBeCloseTo(LN_0_9, 15);
    // The scaler of those two returns maps ln 1.1 to 1 and ln 0.9 to 0; back from the real day before:
    const fit = { min: LN_0_9, max: LN_1_1 };
    expect(toPrice('log_return', fit, 1, 100)).toBeCloseTo(110, 11);
    expect(toPrice('log_return', fit, 0, 110)).toBeCloseTo(99, 11);
    // Halfway between is exp((ln 1.1 + ln 0.9) / 2) = sqrt(0.99) times the day before.
    expect(toPrice('log_return', fit, 0.5, 200)).toBeCloseTo(200 * Math.sqrt(0.99), 11);
    // The price target is min-max only; the day before plays no part.
    expect(toPrice('price', { min: 50, max: 150 }, 0.25, 1e9)).toBe(75);
    expect(targetSeries(Float64Array.from([100, 110, 99]), 'price').values).toEqual(Float64Array.from([100, 110, 99]));
  });
});

// 40 days, the last 6 the test days: a wave with a trend.
const dates = consecutiveDates('2021-06-01', 40);
const prices = dates.map((_, i) => 30_000 + 120 * i + 2000 * Math.sin(i / 4) + ((i * 13) % 7) * 60);
const TEST_DAYS = 6;
const overrides = {
  scale: { target: 'log_return' },
  split: { test_days: TEST_DAYS, lookback: 2 },
  train: { epochs: 3, spread_seeds: 0 },
  backtest: { folds: 3, horizon: TEST_DAYS },
};

async function runStages(root: string, series: readonly number[], stages: readonly { run: (ctx: never) => Promise<void> }[], params = overrides): Promise<void> {
  await writeDailyArrow(root, dates, series);
  for (const stage of stages) {
    const { ctx } = await stageContext(stage as typeof scale, root, params);
    await stage.run(ctx as never);
  }
}

interface Scaler {
  target: string;
  min: number;
  max: number;
  fit_from: string;
  fit_to: string;
  days_fitted: number;
  scale: number;
  offset: number;
}

async function rows(path: string): Promise<Record<string, number>[]> {
  return tableFromIPC(await readFile(path))
    .toArray()
    .map((r) => Object.fromEntries(Object.entries(r.toJSON() as Record<string, unknown>).map(([k, v]) => [k, Number(v)])));
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** ln(p_t / p_{t−1}): the same return by another formula than the stage's ln p_t − ln p_{t−1}. */
const ret = (t: number, series: readonly number[] = prices) => Math.log(series[t]! / series[t - 1]!);

let root: string;
beforeAll(async () => {
  await loadTf();
  root = await tempProject();
  await runStages(root, prices, [scale, split, train, evaluate, backtest, forecast]);
}, 60_000);
afterAll(() => removeProject(root));

describe('scale with target log_return', () => {
  it('writes the returns from the second day, fitted on the training days’ returns only', async () => {
    const scaler = await readJson<Scaler>(join(root, 'artifacts', 'scale', 'scaler.json'));
    // Returns of days 1..33: the 34 training days' (day 0 has none); the test days are 34..39.
    const fitted = Array.from({ length: 33 }, (_, k) => ret(k + 1));
    expect(scaler).toMatchObject({ target: 'log_return', fit_from: dates[1], fit_to: dates[33], days_fitted: 33 });
    expect(scaler.min).toBeCloseTo(Math.min(...fitted), 14);
    expect(scaler.max).toBeCloseTo(Math.max(...fitted), 14);
    const scaled = await rows(join(root, 'artifacts', 'scale', 'scaled.arrow'));
    expect(scaled).toHaveLength(39);
    scaled.forEach((row, k) => {
      expect(iso(row.date!)).toBe(dates[k + 1]);
      expect(row.price).toBe(prices[k + 1]);
      expect(row.log_return).toBeCloseTo(ret(k + 1), 14);
      expect(row.scaled).toBeCloseTo((ret(k + 1) - scaler.min) / (scaler.max - scaler.min), 12);
    });
  });

  it('never sees a return whose day is a test day: not even the first, whose return is against the last training day', async () => {
    const before = await readFile(join(root, 'artifacts', 'scale', 'scaler.json'), 'utf8');
    const other = await tempProject();
    try {
      // The first test day (index 34) tripled: its return ln 3 would be the largest by far.
      await runStages(other, prices.map((p, i) => (i === 34 ? 3 * p : p)), [scale]);
      expect(await readFile(join(other, 'artifacts', 'scale', 'scaler.json'), 'utf8')).toBe(before);
    } finally {
      await removeProject(other);
    }
  });
});

describe('evaluate, backtest and forecast with log returns', () => {
  it("evaluate's prediction is the real day before moved by the model's return, and the last backtest fold is evaluate's", async () => {
    const scaler = await readJson<Scaler>(join(root, 'artifacts', 'scale', 'scaler.json'));
    const test = await readPairs(join(root, 'artifacts', 'split', 'test.arrow'));
    const model = await loadModel(join(root, 'artifacts', 'train', 'model.json'));
    const out = predict(model, test.x, test.rows, 2);
    model.dispose();
    const evaluated = await rows(join(root, 'artifacts', 'evaluate', 'predictions.arrow'));
    expect(evaluated).toHaveLength(TEST_DAYS);
    evaluated.forEach((row, i) => {
      const t = 34 + i;
      expect(iso(row.date!)).toBe(dates[t]);
      expect(row.persistence).toBe(prices[t - 1]);
      const r = out[i]! * (scaler.max - scaler.min) + scaler.min;
      expect(row.predicted! / (prices[t - 1]! * Math.exp(r))).toBeCloseTo(1, 14);
    });
    const last = (await rows(join(root, 'artifacts', 'backtest', 'predictions.arrow'))).filter((r) => r.fold === 3).map(({ fold: _, ...rest }) => rest);
    expect(last).toEqual(evaluated);
  });

  it("each backtest fold's scaler saw the returns of the days before its window only, and no window reaches its fold", async () => {
    const metrics = await readJson<{ target: string; folds: { from: string; scaler: { min: number; max: number; fit_from: string; fit_to: string } }[] }>(
      join(root, 'artifacts', 'backtest', 'metrics.json'),
    );
    expect(metrics.target).toBe('log_return');
    const starts = metrics.folds.map((f) => dates.indexOf(f.from));
    expect(starts).toEqual([22, 28, 34]);
    for (const [k, fold] of metrics.folds.entries()) {
      const returns = Array.from({ length: starts[k]! - 1 }, (_, j) => ret(j + 1));
      expect(fold.scaler.min).toBeCloseTo(Math.min(...returns), 14);
      expect(fold.scaler.max).toBeCloseTo(Math.max(...returns), 14);
      expect(fold.scaler).toMatchObject({ fit_from: dates[1], fit_to: dates[starts[k]! - 1] });
    }
    // Tripling the first day of a window changes neither its fold's scaler and model nor any earlier fold.
    const predictions = await rows(join(root, 'artifacts', 'backtest', 'predictions.arrow'));
    for (const [k, start] of starts.entries()) {
      const other = await tempProject();
      try {
        await runStages(other, prices.map((p, i) => (i === start ? 3 * p : p)), [backtest]);
        const otherMetrics = await readJson<typeof metrics>(join(other, 'artifacts', 'backtest', 'metrics.json'));
        expect(otherMetrics.folds[k]!.scaler).toEqual(metrics.folds[k]!.scaler);
        const otherRows = await rows(join(other, 'artifacts', 'backtest', 'predictions.arrow'));
        expect(otherRows.filter((r) => r.fold! < k + 1)).toEqual(predictions.filter((r) => r.fold! < k + 1));
        // The window's first day is predicted from the returns before it, by an unchanged model: only its
        // real price (tripled) differs.
        const first = (r: Record<string, number>[]) => r.find((row) => row.fold === k + 1)!;
        expect(first(otherRows).predicted).toBe(first(predictions).predicted);
        expect(first(otherRows).real).toBe(3 * first(predictions).real!);
      } finally {
        await removeProject(other);
      }
    }
  });

  it('the saved forecast model fed the last days’ returns, scaled by scaler.json, gives price back', async () => {
    const { tf } = await loadTf();
    const dir = join(root, 'artifacts', 'forecast');
    const result = await readJson<{ price: number; last_price: number; date: string }>(join(dir, 'forecast.json'));
    const scaler = await readJson<Scaler>(join(dir, 'scaler.json'));
    expect(scaler).toMatchObject({ target: 'log_return', fit_from: dates[1], fit_to: dates[39], days_fitted: 39 });
    expect(result.last_price).toBe(prices[39]);
    expect(result.date).toBe('2021-07-11');
    const model = await tf.loadLayersModel(fileLoadHandler(join(dir, 'model.json')));
    try {
      const input = [ret(38), ret(39)].map((r) => (r - scaler.min) / (scaler.max - scaler.min));
      const out = (model.predict(tf.tensor3d(input, [1, 2, 1])) as import('@tensorflow/tfjs').Tensor).dataSync()[0]!;
      const price = prices[39]! * Math.exp(out * (scaler.max - scaler.min) + scaler.min);
      expect(Math.abs(price - result.price) / result.price).toBeLessThan(1e-6);
    } finally {
      model.dispose();
    }
  });
});

/** mulberry32: a small seeded generator, so the series are the same on every machine. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Prices whose daily log returns follow r_t = φ·r_{t−1} + 0.03·ε_t (φ = 0: a random walk). */
function arPrices(n: number, phi: number, seed: number): number[] {
  const u = random(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const out = [10_000];
  let r = 0;
  for (let t = 1; t < n; t++) {
    r = phi * r + 0.03 * normal();
    out.push(out[t - 1]! * Math.exp(r));
  }
  return out;
}

describe('the backtest with log returns', () => {
  const params = {
    scale: { target: 'log_return' },
    split: { test_days: 30, lookback: 2 },
    train: { epochs: 20, learning_rate: 0.01, spread_seeds: 0 },
    backtest: { folds: 6, horizon: 30 },
  };
  const backtestOf = async (series: number[]) => {
    const project = await tempProject();
    try {
      await writeDailyArrow(project, consecutiveDates('2019-01-01', series.length), series);
      const { ctx } = await stageContext(backtest, project, params);
      await backtest.run(ctx);
      return await readJson<{ pooled: { rmse_ratio: number }; diebold_mariano: { p_value: number }; beats_persistence: boolean }>(
        join(project, 'artifacts', 'backtest', 'metrics.json'),
      );
    } finally {
      await removeProject(project);
    }
  };

  it('beats persistence, significantly, on a series with momentum (φ = 0.7)', async () => {
    // The best forecast's error is sqrt(1 − φ²) ≈ 0.71 of persistence's.
    const m = await backtestOf(arPrices(500, 0.7, 1));
    expect(m.pooled.rmse_ratio).toBeLessThan(0.9);
    expect(m.diebold_mariano.p_value).toBeLessThan(0.01);
    expect(m.beats_persistence).toBe(true);
  });

  it('does not, significantly, on a random walk', async () => {
    for (const seed of [4, 5]) {
      const m = await backtestOf(arPrices(500, 0, seed));
      expect(m.beats_persistence).toBe(false);
      expect(m.pooled.rmse_ratio < 1 && m.diebold_mariano.p_value < 0.05).toBe(false);
    }
  });
});
