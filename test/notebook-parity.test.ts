// Parity with the Kaggle notebook "LSTM tutorial with Bitcoin price": the same minute CSV goes through our
// ingest -> aggregate -> scale -> split (through the runner) and through the notebook's own pandas + sklearn
// lines, run by /usr/bin/python3. The notebook's numbers are the reference; nothing of ours is fed back.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../pipeline/runner/executor.ts';
import { loadProject } from '../pipeline/runner/project.ts';
import { aggregate } from '../stages/aggregate.ts';
import { ingest } from '../stages/ingest.ts';
import { sample } from '../stages/sample.ts';
import { scale } from '../stages/scale.ts';
import { split } from '../stages/split.ts';
import { artifact, minutesProject, readJson, readRows, removeProject, utc, type Minute } from './data-helpers.ts';

const python = '/usr/bin/python3';
const hasPython =
  existsSync(python) &&
  (() => {
    try {
      execFileSync(python, ['-c', 'import pandas, sklearn'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

const TEST_DAYS = 7;

// 22 calendar days across the 2020 leap day; 2020-03-04 has no rows at all. pandas has no group for it and
// `gaps: drop` leaves it out too, so both series have the same 21 days. There is deliberately NO day made
// only of no-trade (NaN) minutes: pandas' groupby mean keeps such a day as NaN, the notebook would carry
// that NaN into MinMaxScaler (nanmin ignores it, and the LSTM would then train on a NaN pair), while
// `gaps: drop` removes the day: the two are not comparable there (aggregate-daily.test.ts covers it).
// There are no repeated timestamps either: ingest keeps one row per minute, pandas would average both.
const FIRST = '2020-02-20';
const CALENDAR_DAYS = 22;
const MISSING_DAY = '2020-03-04';

// Every Weighted_Price is a multiple of 1/8 below 2^20, printed with at most 3 decimals: DuckDB and
// pandas' parser read it exactly, and every partial sum of a day (< 2^27, step 1/8) is exact in float64
// whatever the summation order or compensation. Each daily mean is then the single correctly rounded
// division sum / count on both sides: the same double. This is what lets scaler min/max be compared
// exactly; other figures keep a 1e-12 margin for float operation order (e.g. sklearn's transform).
function dayPrice(day: number): number {
  // A dip in the middle of the training days, and test days (the last 7) above the training maximum, so
  // scaling on the wrong days moves min/max and test values land outside [0, 1] (sklearn does not clip).
  return 9000 + 40 * day - (day >= 5 && day <= 8 ? 700 : 0) + (day >= CALENDAR_DAYS - TEST_DAYS ? 400 : 0);
}

function isoDay(day: number): string {
  return new Date(Date.parse(`${FIRST}T00:00:00Z`) + day * 86_400_000).toISOString().slice(0, 10);
}

function minutesOfDay(day: number): Minute[] {
  const date = isoDay(day);
  // Minutes near UTC midnight on both sides (00:00, 00:01, 23:58, 23:59) plus a spread through the day.
  const times = [utc(date, 0, 0), utc(date, 0, 1), ...Array.from({ length: 40 }, (_, i) => utc(date, 1 + Math.floor(i / 2), (i * 29) % 60)), utc(date, 23, 58), utc(date, 23, 59)];
  return times.map((t, i) => {
    // Every 5th minute has no trade (NaN in every value column), never all of them.
    if (i % 5 === 2) return { t };
    const wp = dayPrice(day) + ((i * 37) % 23) * 1.125 - ((i * 11) % 7) * 0.375;
    return { t, wp, open: wp - 0.5, high: wp + 1.25, low: wp - 2, close: wp + 0.25, btc: 0.125 * (1 + (i % 4)) };
  });
}

// Rows out of order: days interleaved back to front, and within each day odd rows first, then even rows.
// A timestamp at 23:59 of one day is followed by rows of another day, so the midnight edges matter.
const minutes: Minute[] = [];
for (let day = CALENDAR_DAYS - 1; day >= 0; day--) {
  if (isoDay(day) === MISSING_DAY) continue;
  const rows = minutesOfDay(day);
  minutes.push(...rows.filter((_, i) => i % 2 === 1), ...rows.filter((_, i) => i % 2 === 0));
}

// The notebook's lines (prediction_days = 30 there; 7 here to keep the file small), verbatim in spirit.
const NOTEBOOK = `
import sys, json
import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler

df = pd.read_csv(sys.argv[1])
df['date'] = pd.to_datetime(df['Timestamp'], unit='s').dt.date
Real_Price = df.groupby('date')['Weighted_Price'].mean()
prediction_days = int(sys.argv[2])
df_train = Real_Price[:len(Real_Price)-prediction_days]
df_test = Real_Price[len(Real_Price)-prediction_days:]
training_set = df_train.values
training_set = np.reshape(training_set, (len(training_set), 1))
sc = MinMaxScaler()
training_set = sc.fit_transform(training_set)
X_train = training_set[0:len(training_set)-1]
y_train = training_set[1:len(training_set)]
test_set = df_test.values
inputs = np.reshape(test_set, (len(test_set), 1))
inputs = sc.transform(inputs)

# allow_nan=False: a NaN anywhere (e.g. an all-NaN day) fails loudly instead of slipping through.
print(json.dumps({
    'dates': [str(d) for d in Real_Price.index],
    'real_price': Real_Price.values.tolist(),
    'data_min': sc.data_min_.tolist(),
    'data_max': sc.data_max_.tolist(),
    'training_set': training_set[:, 0].tolist(),
    'X_train': X_train[:, 0].tolist(),
    'y_train': y_train[:, 0].tolist(),
    'inputs': inputs[:, 0].tolist(),
}, allow_nan=False))
`;

interface Notebook {
  dates: string[];
  real_price: number[];
  data_min: number[];
  data_max: number[];
  training_set: number[];
  X_train: number[];
  y_train: number[];
  inputs: number[];
}

const iso = (ms: number | null | undefined) => new Date(ms!).toISOString().slice(0, 10);

/** |a - b| <= tolerance * scale, with the failing index in the message. */
function expectSeries(actual: readonly (number | null | undefined)[], expected: readonly number[], tolerance: number, label: string, relative = false) {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  expected.forEach((want, i) => {
    const got = actual[i];
    expect(typeof got, `${label}[${i}]: ours ${got}`).toBe('number');
    const error = Math.abs(got! - want) / (relative ? Math.abs(want) : 1);
    expect(error, `${label}[${i}]: ours ${got}, notebook ${want}`).toBeLessThanOrEqual(tolerance);
  });
}

let root: string;
let notebook: Notebook;
beforeAll(async () => {
  let csv: string;
  ({ root, csv } = await minutesProject(minutes));
  await writeFile(
    join(root, 'pipeline.yaml'),
    `stages:\n  ingest: { source: data/minutes.csv }\n  aggregate: { gaps: drop }\n  split: { test_days: ${TEST_DAYS}, lookback: 1 }\n`,
  );
  if (!hasPython) {
    if (!process.env.CI) return;
    throw new Error(`CI needs ${python} with pandas and scikit-learn for the notebook parity test (Debian: python3-pandas python3-sklearn)`);
  }
  // TZ is set far from UTC: neither side may let the machine's zone move a minute to another date.
  notebook = JSON.parse(
    execFileSync(python, ['-c', NOTEBOOK, csv, String(TEST_DAYS)], { encoding: 'utf8', env: { ...process.env, TZ: 'Pacific/Kiritimati' } }),
  ) as Notebook;
  const project = await loadProject({ cwd: root, stages: [sample, ingest, aggregate, scale, split] });
  const result = await runPipeline(project, { targets: ['split'] });
  expect(result.outcome).toBe('success');
});
afterAll(() => removeProject(root));

describe("the data stages reproduce the notebook's pandas + sklearn preprocessing", () => {
  it.skipIf(!hasPython && !process.env.CI)('daily prices and their dates equal the notebook\'s Real_Price', async () => {
    // The file really is out of order and has no-trade rows, all kept (none are duplicates or bad rows).
    expect(await readJson(artifact(root, 'ingest', 'report.json'))).toMatchObject({
      rows_read: minutes.length,
      rows_kept: minutes.length,
      nan_rows: minutes.filter((m) => m.wp === undefined).length,
      duplicates: 0,
      out_of_order: true,
    });
    const daily = await readRows(artifact(root, 'aggregate', 'daily.arrow'));
    // Our own expectation of the calendar, independent of both sides: 22 days less the one without rows.
    const calendar = Array.from({ length: CALENDAR_DAYS }, (_, day) => isoDay(day)).filter((date) => date !== MISSING_DAY);
    expect(notebook.dates).toEqual(calendar);
    expect(daily.map((d) => iso(d.date))).toEqual(notebook.dates);
    // 1e-12 relative: equal to the bit here (see dayPrice); with arbitrary prices a mean of ~35 values near
    // 1e4 summed in another order differs by a few ulps (~1e-16 relative each), while a real difference
    // (a NaN counted, a minute on the wrong date) is > 1e-5.
    expectSeries(
      daily.map((d) => d.price),
      notebook.real_price,
      1e-12,
      'price',
      true,
    );
  });

  it.skipIf(!hasPython && !process.env.CI)("scaler.json is the notebook's MinMaxScaler fitted on df_train", async () => {
    const scaler = await readJson<{ min: number; max: number; fit_from: string; fit_to: string; days_fitted: number }>(artifact(root, 'scale', 'scaler.json'));
    // Exact: min and max pick one daily mean each, and the means are the same doubles (see dayPrice).
    expect(scaler.min).toBe(notebook.data_min[0]);
    expect(scaler.max).toBe(notebook.data_max[0]);
    const trainDays = notebook.dates.length - TEST_DAYS;
    expect(scaler).toMatchObject({ fit_from: notebook.dates[0], fit_to: notebook.dates[trainDays - 1], days_fitted: trainDays });
  });

  it.skipIf(!hasPython && !process.env.CI)("with lookback 1 the training pairs are the notebook's X_train / y_train", async () => {
    const train = await readRows(artifact(root, 'split', 'train.arrow'));
    // Same doubles in, the same X * scale_ + min_ out; 1e-12 absolute on values of order 1 leaves room for
    // an operation-order difference only (a pair shifted by one day moves a value by > 0.01 here).
    expectSeries(
      train.map((p) => p.x1),
      notebook.X_train,
      1e-12,
      'x1 vs X_train',
    );
    expectSeries(
      train.map((p) => p.y),
      notebook.y_train,
      1e-12,
      'y vs y_train',
    );
    // Row i pairs training day i (x) with day i + 1 (y, whose date the row carries).
    expect(train.map((p) => iso(p.date))).toEqual(notebook.dates.slice(1, notebook.dates.length - TEST_DAYS));
  });

  it.skipIf(!hasPython && !process.env.CI)("the test pairs' targets are the notebook's scaled test days; their inputs are the day before", async () => {
    const test = await readRows(artifact(root, 'split', 'test.arrow'));
    const testDates = notebook.dates.slice(-TEST_DAYS);
    expect(test.map((p) => iso(p.date))).toEqual(testDates);
    // The notebook's `inputs` = sc.transform(df_test): the test days themselves, scaled by the training fit.
    expectSeries(
      test.map((p) => p.y),
      notebook.inputs,
      1e-12,
      'test y vs inputs',
    );
    // A deliberate difference: the notebook predicts from inputs[j] (test day j) and plots that against
    // test day j, i.e. each "prediction" is really for day j + 1. Our pair j predicts test day j from the
    // real day before: x of the first test pair is the last training day (training_set[-1]), then x of
    // pair j is the notebook's inputs[j - 1]. The last test day is never an input here.
    expectSeries(
      test.map((p) => p.x1),
      [notebook.training_set.at(-1)!, ...notebook.inputs.slice(0, -1)],
      1e-12,
      'test x1 vs previous day',
    );
    // The test days lie above the training range, so sklearn's transform gives values > 1 and so must we.
    expect(Math.min(...notebook.inputs)).toBeGreaterThan(1);
  });
});
