import { writeFile } from 'node:fs/promises';
import { dateDay, dateDayColumn, float64, float64Column, isoDate, readArrowTable, schemaOf, writeArrowFile, type ColumnData } from '../lib/data/arrow.ts';
import { pairsOf } from '../lib/data/scaling.ts';
import type { StageContext } from '../../pipeline/contract/stage.ts';
import { count } from '../../pipeline/contract/text.ts';
import type { z } from 'zod';
import type { split } from '../split.ts';

/** train.arrow / test.arrow: `date` of the target day, features x1 (oldest) .. xL (the day before), `y`. */
export function pairsSchema(lookback: number) {
  return schemaOf([
    ['date', dateDay(), false],
    ...Array.from({ length: lookback }, (_, k) => [`x${k + 1}`, float64(), false] as const),
    ['y', float64(), false],
  ]);
}

export interface SplitReport {
  lookback: number;
  train_rows: number;
  test_rows: number;
  train_from: string;
  train_to: string;
  test_from: string;
  test_to: string;
}

export async function run(ctx: StageContext<z.output<(typeof split)['params']>>): Promise<void> {
  const path = ctx.inputs[0]!;
  const { test_days: testDays, lookback } = ctx.params;
  const table = await readArrowTable(path);
  const dates = dateDayColumn(table, 'date', path);
  const scaled = float64Column(table, 'scaled', path);

  // One pair per target day i >= lookback; the last `test_days` pairs are the test set. Scale fitted
  // the scaler on every day before those targets, so no test price leaks into training.
  //
  // With lookback 1 the training pairs are the notebook's X_train = train[:-1], y_train = train[1:]
  // (train = all days but the last 30). The notebook then feeds the 30 test days themselves as inputs,
  // so its "predictions" are for the day after each test day, plotted against the test day itself.
  // Here the test set is the 30 test days as targets, each with the real day before as input: the first
  // test pair's x is the last training day, and each prediction is compared with the day it predicts.
  const pairs = scaled.length - lookback;
  const trainRows = pairs - testDays;
  if (trainRows < 1) {
    throw new Error(
      `split.test_days = ${testDays} with split.lookback = ${lookback} needs at least ${testDays + lookback + 1} days, but ${path} has ${scaled.length}`,
    );
  }
  const schema = pairsSchema(lookback);
  // Targets from..to of the series (the forecast and backtest stages make their pairs the same way).
  const write = (file: string, from: number, to: number) => {
    const pairs = pairsOf(scaled, lookback, from, to);
    const columns: ColumnData[] = [{ type: schema.fields[0]!.type, values: dates.slice(from, to) }];
    for (let k = 0; k < lookback; k++) {
      const xk = Float64Array.from({ length: pairs.rows }, (_, n) => pairs.x[n * lookback + k]!);
      columns.push({ type: schema.fields[k + 1]!.type, values: xk });
    }
    columns.push({ type: schema.fields[lookback + 1]!.type, values: pairs.y });
    return writeArrowFile(ctx.output(file), schema, pairs.rows, columns);
  };
  await write('train.arrow', lookback, lookback + trainRows);
  await write('test.arrow', lookback + trainRows, scaled.length);

  const report: SplitReport = {
    lookback,
    train_rows: trainRows,
    test_rows: testDays,
    train_from: isoDate(dates[lookback]!),
    train_to: isoDate(dates[lookback + trainRows - 1]!),
    test_from: isoDate(dates[lookback + trainRows]!),
    test_to: isoDate(dates[scaled.length - 1]!),
  };
  await writeFile(ctx.output('report.json'), `${JSON.stringify(report, null, 2)}\n`);
  ctx.info(
    `${count(trainRows, 'training pair')} (${report.train_from} .. ${report.train_to}), ${count(testDays, 'test pair')} (${report.test_from} .. ${report.test_to})`,
  );
  if (trainRows === 1) {
    ctx.warn(
      `only 1 training pair (${report.train_from}): the model is fitted to a single example and its forecasts mean little; ` +
        `give it more days (sample.days, or a longer ingest.source) or fewer test days (split.test_days = ${testDays})`,
    );
  }
}
