// The walk-forward backtest on a small series (80 days, 3 folds of 7, lookback 2): its windows, the
// persistence column and each fold's scaler checked by hand; nothing of a window reaching its fold; the
// last fold equal to evaluate's predictions; the pooled scores and Diebold–Mariano recomputed here another
// way, and so is the verdict sentence; the chart's bars and fold boundaries those of metrics.json; folds on
// worker threads equal to folds trained one after another; too few days a located config error.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scale } from '../stages/scale.ts';
import { split } from '../stages/split.ts';
import { train } from '../stages/train.ts';
import { evaluate } from '../stages/evaluate.ts';
import { backtest } from '../stages/backtest.ts';
import { forecast } from '../stages/forecast.ts';
import { foldsOf } from '../stages/run/backtest.ts';
import { dieboldMariano } from '../stages/lib/evaluation/backtest.ts';
import { trainModels } from '../stages/lib/model/train-models.ts';
import { consecutiveDates, readJson, removeProject, tempProject, writeDailyArrow } from './data-helpers.ts';
import { pipelineParams, stageContext } from './model-helpers.ts';
import { runCli } from './helpers/cli.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const N = 80;
const FOLDS = 3;
const HORIZON = 7;
const LOOKBACK = 2;
const dates = consecutiveDates('2021-01-01', N);
// A trend, a wave and some noise: the model neither trivially wins nor trivially loses.
const prices = dates.map((_, i) => 20_000 + 90 * i + 1500 * Math.sin(i / 5) + ((i * 37) % 13) * 40);
const overrides = {
  split: { test_days: HORIZON, lookback: LOOKBACK },
  train: { epochs: 3, spread_seeds: 0, seed: 42 },
  backtest: { folds: FOLDS, horizon: HORIZON },
};

interface Row {
  fold: number;
  date: number;
  real: number;
  predicted: number;
  persistence: number;
}

async function rows(path: string): Promise<Row[]> {
  const table = tableFromIPC(await readFile(path));
  return table.toArray().map((r) => {
    const o = r.toJSON() as Record<string, unknown>;
    return { fold: Number(o.fold ?? 0), date: Number(o.date), real: Number(o.real), predicted: Number(o.predicted), persistence: Number(o.persistence) };
  });
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function runBacktest(root: string, series: readonly number[]): Promise<void> {
  await writeDailyArrow(root, dates, series);
  const { ctx } = await stageContext(backtest, root, overrides);
  await backtest.run(ctx);
}

let root: string;
let spiked: string;
let predictions: Row[];
let metrics: {
  folds: { fold: number; from: string; to: string; model_rmse: number; persistence_rmse: number; rmse_ratio: number; train_pairs: number; scaler: { min: number; max: number; fit_from: string; fit_to: string } }[];
  pooled: { days: number; rmse_ratio: number; model: Record<string, number>; persistence: Record<string, number | null>; up_days_share: number };
  diebold_mariano: { statistic: number; p_value: number; n: number };
  beats_persistence: boolean;
  verdict: string;
};

beforeAll(async () => {
  root = await tempProject();
  await writeDailyArrow(root, dates, prices);
  // The notebook's path for the last window: scale, split, train, evaluate.
  for (const stage of [scale, split, train, evaluate] as const) {
    const { ctx } = await stageContext(stage as typeof scale, root, overrides);
    await stage.run(ctx as never);
  }
  await runBacktest(root, prices);
  predictions = await rows(join(root, 'artifacts', 'backtest', 'predictions.arrow'));
  metrics = await readJson(join(root, 'artifacts', 'backtest', 'metrics.json'));
  // The same series with the last window's prices tripled: far above anything before it.
  spiked = await tempProject();
  await runBacktest(
    spiked,
    prices.map((p, i) => (i >= N - HORIZON ? 3 * p : p)),
  );
}, 60_000);
afterAll(async () => {
  await removeProject(root);
  await removeProject(spiked);
});

describe('backtest windows and baselines', () => {
  it('fold k tests the 7 days that end (3 − k)·7 days before the last day, oldest fold first', () => {
    expect(predictions).toHaveLength(FOLDS * HORIZON);
    for (let k = 1; k <= FOLDS; k++) {
      const end = N - (FOLDS - k) * HORIZON; // one past the window's last day
      const expected = dates.slice(end - HORIZON, end);
      const got = predictions.filter((r) => r.fold === k).map((r) => iso(r.date));
      expect(got).toEqual(expected);
      expect(metrics.folds[k - 1]).toMatchObject({ fold: k, from: expected[0], to: expected[HORIZON - 1] });
    }
    // The last fold ends on the last day.
    expect(iso(predictions.at(-1)!.date)).toBe(dates[N - 1]);
  });

  it("real is the day's price and persistence the real price of the day before", () => {
    for (const row of predictions) {
      const i = dates.indexOf(iso(row.date));
      expect(row.real).toBe(prices[i]);
      expect(row.persistence).toBe(prices[i - 1]);
    }
  });

  it("each fold's scaler is fitted on the days before its window, and its model on the pairs whose target lies before it", () => {
    for (const fold of metrics.folds) {
      const start = dates.indexOf(fold.from);
      const before = prices.slice(0, start);
      expect(fold.scaler).toEqual({ min: Math.min(...before), max: Math.max(...before), fit_from: dates[0], fit_to: dates[start - 1] });
      // Targets from the third day (two days of inputs) up to the day before the window.
      expect(fold.train_pairs).toBe(start - LOOKBACK);
    }
  });

  it("nothing of a window reaches its fold: tripling the last window's prices changes no earlier fold, nor the last fold's scaler or its first forecast", async () => {
    const other = await rows(join(spiked, 'artifacts', 'backtest', 'predictions.arrow'));
    const otherMetrics = await readJson<typeof metrics>(join(spiked, 'artifacts', 'backtest', 'metrics.json'));
    const early = (r: Row[]) => r.filter((row) => row.fold < FOLDS);
    expect(early(other)).toEqual(early(predictions));
    expect(otherMetrics.folds[FOLDS - 1]!.scaler).toEqual(metrics.folds[FOLDS - 1]!.scaler);
    // The window's first day is predicted from the two days before the window: the same model, the same inputs.
    const first = (r: Row[]) => r.find((row) => row.fold === FOLDS)!;
    expect(first(other).predicted).toBe(first(predictions).predicted);
    // Later days are predicted from the (tripled) real days before them.
    expect(other.at(-1)!.predicted).not.toBe(predictions.at(-1)!.predicted);
  });
});

describe('the last fold is evaluate', () => {
  it("gives evaluate's predictions for its test days, number for number", async () => {
    const evaluated = await rows(join(root, 'artifacts', 'evaluate', 'predictions.arrow'));
    const last = predictions.filter((r) => r.fold === FOLDS).map(({ fold: _, ...rest }) => rest);
    expect(evaluated.map(({ fold: _, ...rest }) => rest)).toEqual(last);
    const evaluateMetrics = await readJson<{ rmse_ratio: number }>(join(root, 'artifacts', 'evaluate', 'metrics.json'));
    expect(metrics.folds[FOLDS - 1]!.rmse_ratio).toBe(evaluateMetrics.rmse_ratio);
  });
});

/** Standard normal upper tail by Simpson's rule on the density from |z| to |z| + 12 (the rest is < 1e-40). */
function upperTail(z: number): number {
  const a = Math.abs(z);
  const b = a + 12;
  const steps = 20_000;
  const h = (b - a) / steps;
  const f = (x: number) => Math.exp(-(x * x) / 2) / Math.sqrt(2 * Math.PI);
  let sum = f(a) + f(b);
  for (let i = 1; i < steps; i++) sum += (i % 2 === 1 ? 4 : 2) * f(a + i * h);
  return (sum * h) / 3;
}

describe('pooled scores and Diebold–Mariano', () => {
  it('the pooled figures are those of all backtest days, recomputed from predictions.arrow', () => {
    const n = predictions.length;
    const rmse = (key: 'predicted' | 'persistence') => Math.sqrt(predictions.reduce((s, r) => s + (r[key] - r.real) ** 2, 0) / n);
    const mae = (key: 'predicted' | 'persistence') => predictions.reduce((s, r) => s + Math.abs(r[key] - r.real), 0) / n;
    expect(metrics.pooled.days).toBe(21);
    expect(metrics.pooled.model.rmse).toBeCloseTo(rmse('predicted'), 9);
    expect(metrics.pooled.persistence.rmse).toBeCloseTo(rmse('persistence'), 9);
    expect(metrics.pooled.model.mae).toBeCloseTo(mae('predicted'), 9);
    expect(metrics.pooled.rmse_ratio).toBeCloseTo(rmse('predicted') / rmse('persistence'), 12);
    const up = predictions.filter((r) => r.real > r.persistence).length;
    expect(metrics.pooled.up_days_share).toBe(up / n);
    const sameDirection = predictions.filter((r) => Math.sign(r.predicted - r.persistence) === Math.sign(r.real - r.persistence)).length;
    expect(metrics.pooled.model.directional_accuracy).toBe(sameDirection / n);
    expect(metrics.pooled.persistence.directional_accuracy).toBeNull();
  });

  it('Diebold–Mariano: the statistic from sums of squares, the p-value by integrating the normal density', () => {
    const d = predictions.map((r) => (r.predicted - r.real) ** 2 - (r.persistence - r.real) ** 2);
    const n = d.length;
    const sum = d.reduce((a, b) => a + b, 0);
    const sumSquares = d.reduce((a, b) => a + b * b, 0);
    // var with n − 1 as (Σd² − (Σd)²/n) / (n − 1): the one-pass textbook form.
    const variance = (sumSquares - (sum * sum) / n) / (n - 1);
    const statistic = sum / n / Math.sqrt(variance / n);
    expect(metrics.diebold_mariano.n).toBe(21);
    expect(metrics.diebold_mariano.statistic).toBeCloseTo(statistic, 6);
    expect(metrics.diebold_mariano.p_value).toBeCloseTo(2 * upperTail(statistic), 9);
    expect(metrics.beats_persistence).toBe(metrics.pooled.rmse_ratio < 1 && metrics.diebold_mariano.p_value < 0.05);
  });

  it("metrics.verdict says the days, the error against persistence's, p and the conclusion, all recomputed from predictions.arrow", () => {
    const n = predictions.length;
    const sumSq = (key: 'predicted' | 'persistence') => predictions.reduce((s, r) => s + (r[key] - r.real) ** 2, 0);
    const ratio = Math.sqrt(sumSq('predicted') / sumSq('persistence'));
    const d = predictions.map((r) => (r.predicted - r.real) ** 2 - (r.persistence - r.real) ** 2);
    const mean = d.reduce((a, b) => a + b, 0) / n;
    const p = 2 * upperTail(mean / Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) / n));
    const m = /^over (\d+) days the model's error is (\d+(?:\.\d)?)% (above|below) persistence's; Diebold–Mariano p = ([\d.e-]+): (.+)$/.exec(metrics.verdict);
    expect(m, metrics.verdict).not.toBeNull();
    const [, days, percent, side, shownP, conclusion] = m!;
    expect(Number(days)).toBe(21);
    expect(side).toBe(ratio > 1 ? 'above' : 'below');
    // The percentage to a tenth under 10%, else whole.
    expect(Math.abs(Number(percent) - 100 * Math.abs(ratio - 1))).toBeLessThanOrEqual(Math.abs(ratio - 1) < 0.1 ? 0.05 : 0.5);
    // Two significant digits of p.
    const unit = 10 ** (Math.floor(Math.log10(p)) - 1);
    expect(Math.abs(Number(shownP) - p)).toBeLessThanOrEqual(unit / 2 + 1e-12);
    // Scientific below 0.001 only.
    expect(shownP).toMatch(p < 0.001 ? /^\d\.\de-\d+$/ : /^0\.\d+$|^1$/);
    expect(conclusion).toBe(p >= 0.05 ? 'no evidence either way' : ratio < 1 ? 'the model beats persistence' : 'the model is significantly worse than persistence');
  });

  it('a hand calculation: model errors 1, 2, 2, 3 against persistence errors of 1 give d = 0, 3, 3, 8', () => {
    // mean 3.5; var = (12.25 + 0.25 + 0.25 + 20.25) / 3 = 11; statistic = 3.5 / sqrt(11 / 4).
    const dm = dieboldMariano([0, 0, 0, 0], [1, -2, 2, 3], [1, 1, -1, 1]);
    expect(dm.n).toBe(4);
    expect(dm.statistic).toBeCloseTo(3.5 / Math.sqrt(11 / 4), 14);
    expect(dm.p_value).toBeCloseTo(2 * upperTail(3.5 / Math.sqrt(11 / 4)), 10);
    // Identical forecasts: no difference at all.
    expect(dieboldMariano([1, 2, 3], [1, 2, 4], [1, 2, 4])).toEqual({ statistic: 0, p_value: 1, n: 3 });
  });
});

describe('the backtest chart of the run', () => {
  it("draws a bar per fold with that fold's RMSE ratio from metrics.json, and the boundaries between the folds", async () => {
    const svg = await readFile(join(root, 'artifacts', 'backtest', 'backtest.svg'), 'utf8');
    const bars = [...svg.matchAll(/aria-label="Fold: (\d+);[^"]*rmse_ratio: ([\d.]+)" role="graphics-symbol" aria-roledescription="bar"/g)].map((m) => [Number(m[1]), m[2]]);
    expect(bars.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(metrics.folds.map((f) => [f.fold, f.rmse_ratio.toFixed(3)]));
    const starts = [...svg.matchAll(/fold: (\d+); starts: ([\d-]+)" role="graphics-symbol" aria-roledescription="rule mark"/g)].map((m) => [Number(m[1]), m[2]]);
    expect(starts).toEqual(metrics.folds.slice(1).map((f) => [f.fold, f.from]));
    expect((await readFile(join(root, 'artifacts', 'backtest', 'backtest.png'))).subarray(1, 4).toString('latin1')).toBe('PNG');
  });
});

describe('folds on worker threads', () => {
  it('train bit for bit the same models as one after another', async () => {
    const p = (await pipelineParams(overrides)).train as Parameters<typeof trainModels>[0];
    const folds = foldsOf(Float64Array.from(prices), LOOKBACK, FOLDS, HORIZON);
    const jobs = folds.map((f) => ({ seed: 42, data: f.train }));
    const pooled = await trainModels(p, LOOKBACK, jobs, { name: 'backtest fold', threads: 2 });
    const serial = await trainModels(p, LOOKBACK, jobs, { name: 'backtest fold', threads: 1 });
    expect(pooled.threads).toBe(2);
    expect(serial.threads).toBe(1);
    expect(pooled.results.map((r) => r.theta)).toEqual(serial.results.map((r) => r.theta));
    // Each fold really trained on its own pairs.
    expect(pooled.results[0]!.theta).not.toEqual(pooled.results[FOLDS - 1]!.theta);
  });
});

describe('what the backtest and the forecast depend on', () => {
  it('both declare every train parameter they train with (the backtest all but the seed spread), split.lookback and scale.target', () => {
    const keys = Object.keys((train.params as unknown as { shape: Record<string, unknown> }).shape).map((k) => `train.${k}`);
    expect(keys.length).toBeGreaterThan(5);
    expect([...(forecast.uses ?? [])].sort()).toEqual([...keys, 'split.lookback', 'scale.target'].sort());
    expect([...(backtest.uses ?? [])].sort()).toEqual([...keys.filter((k) => k !== 'train.spread_seeds'), 'split.lookback', 'scale.target'].sort());
  });
});

describe('too few days for the folds', () => {
  let project: string;
  beforeAll(async () => {
    project = await tempProject();
    await mkdir(join(project, 'data'));
    await copyFile(join(repo, 'data', 'btc-usd-daily.csv'), join(project, 'data', 'btc-usd-daily.csv'));
    await writeFile(join(project, 'pipeline.yaml'), 'stages:\n  split: { test_days: 7, lookback: 2 }\n  backtest: { folds: 12, horizon: 30 }\n');
    await writeDailyArrow(project, dates, prices);
  });
  afterAll(() => removeProject(project));

  it('is a configuration error at backtest.folds that says how many days are needed (exit 2)', async () => {
    const { code, stderr } = await runCli(['run', 'backtest', '--single'], project);
    expect(code).toBe(2);
    // 12 × 30 test days and 3 before them: two days of inputs and one pair to train on.
    expect(stderr).toContain('pipeline.yaml:3:15: backtest.folds = 12 of backtest.horizon = 30 days need at least 363 days');
    expect(stderr).toContain('but artifacts/aggregate/daily.arrow has 80; lower backtest.folds or backtest.horizon');
    expect(stderr).toContain('3 |   backtest: { folds: 12, horizon: 30 }\n  |               ^^^^^^^^^');
  });

  it('names the --set that asked for them', async () => {
    const { code, stderr } = await runCli(['run', 'backtest', '--single', '--set', 'backtest.horizon=40'], project);
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe(
      '--set backtest.horizon=40: backtest.folds = 12 of backtest.horizon = 40 days need at least 483 days (480 to test, and 3 before them to fit the scaler and train on one pair with split.lookback = 2), but artifacts/aggregate/daily.arrow has 80; lower backtest.folds or backtest.horizon',
    );
  });

  it('with the defaults, not written in pipeline.yaml, the file itself is named', async () => {
    await writeFile(join(project, 'pipeline.yaml'), 'stages:\n  split: { test_days: 7, lookback: 2 }\n');
    const { code, stderr } = await runCli(['run', 'backtest', '--single'], project);
    await writeFile(join(project, 'pipeline.yaml'), 'stages:\n  split: { test_days: 7, lookback: 2 }\n  backtest: { folds: 12, horizon: 30 }\n');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^pipeline\.yaml: backtest\.folds = 12 of backtest\.horizon = 30 days need at least 363 days/);
  });

  it('the forecast stage is not held back by it', async () => {
    const { ctx } = await stageContext(forecast, project, { split: { lookback: 2 }, train: { epochs: 1, spread_seeds: 0 } });
    await forecast.run(ctx);
    expect((await readJson<{ date: string }>(join(project, 'artifacts', 'forecast', 'forecast.json'))).date).toBe('2021-03-22');
  });
});
