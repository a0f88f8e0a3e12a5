// A throw-away project whose artifacts are written by hand with apache-arrow, so the inspect/query/
// metrics tests know every value they should see (and compute the expected figures themselves).
// No lock is written: for the runner every stage is "never run", i.e. stale.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DateDay, Field, Float64, RecordBatch, Schema, Struct, Table, TimestampSecond, makeData, tableToIPC, type DataType } from 'apache-arrow';
import { PNG } from 'pngjs';

const repo = fileURLToPath(new URL('../..', import.meta.url));

interface Scores {
  rmse: number;
  mae: number;
  mape: number;
  directional_accuracy: number;
}

/** The fixture's own pipeline.yaml, every parameter spelled out, so that no test depends on the
 *  values in the repository's pipeline.yaml. */
export const FIXTURE_CONFIG = `stages:
  sample:    { days: 0, seed: 7 }
  ingest:    { source: sample }
  aggregate: { gaps: ffill }
  scale:     { target: price }
  split:     { test_days: 30, lookback: 1 }
  train:     { units: 4, layers: 1, activation: sigmoid, dropout: 0, epochs: 30, batch_size: 5, learning_rate: 0.001, shuffle: true, seed: 42 }
  evaluate:  {}
  forecast:  {}
  backtest:  { folds: 12, horizon: 30 }
`;

export interface Fixture {
  readonly root: string;
  /** Daily rows as written: day number since 1970-01-01 and the price (null = missing). */
  readonly days: Int32Array;
  readonly price: (number | null)[];
  readonly volume: number[];
  readonly predictions: { day: number; real: number; predicted: number; persistence: number }[];
  readonly metrics: { model: Scores; persistence: Scores; rmse_ratio: number; units: Record<string, string>; notes: Record<string, string> };
  readonly minuteTimestamps: number[];
  readonly minuteClose: (number | null)[];
  cleanup(): Promise<void>;
}

function column(type: DataType, values: Float64Array | Int32Array | BigInt64Array, nulls?: readonly boolean[]) {
  const length = values.length;
  if (!nulls || !nulls.some(Boolean)) return makeData({ type: type as Float64, length, data: values as Float64Array });
  const bitmap = new Uint8Array(Math.ceil(length / 8));
  nulls.forEach((isNull, i) => {
    if (!isNull) bitmap[i >> 3] = (bitmap[i >> 3] ?? 0) | (1 << (i & 7));
  });
  return makeData({
    type: type as Float64,
    length,
    nullCount: nulls.filter(Boolean).length,
    nullBitmap: bitmap,
    data: values as Float64Array,
  });
}

function batch(schema: Schema, children: ReturnType<typeof column>[]): RecordBatch {
  const length = children[0]?.length ?? 0;
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

/** Writes an Arrow IPC file of the given batches. */
async function writeArrow(path: string, batches: RecordBatch[]): Promise<void> {
  await writeFile(path, tableToIPC(new Table(batches), 'file'));
}

export async function makeFixture(): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'pipeline-inspect-'));
  const artifacts = join(root, 'artifacts');
  await writeFile(join(root, 'pipeline.yaml'), FIXTURE_CONFIG);
  await mkdir(join(root, 'data'), { recursive: true });
  await copyFile(join(repo, 'data', 'btc-usd-daily.csv'), join(root, 'data', 'btc-usd-daily.csv'));
  for (const stage of ['sample', 'ingest', 'aggregate', 'scale', 'split', 'train', 'evaluate']) {
    await mkdir(join(artifacts, stage), { recursive: true });
  }

  // aggregate/daily.arrow: 40 days from 2021-03-01 in two record batches (25 + 15), two missing prices.
  const n = 40;
  const firstDay = Date.UTC(2021, 2, 1) / 86_400_000;
  const days = Int32Array.from({ length: n }, (_, i) => firstDay + i);
  const price = Array.from({ length: n }, (_, i) => (i === 3 || i === 30 ? null : 50_000 + 250 * i + (i % 3) * 17.5));
  const volume = Array.from({ length: n }, (_, i) => 1000 + i * i);
  const dailySchema = new Schema([
    new Field('date', new DateDay(), false),
    new Field('price', new Float64(), true),
    new Field('volume_btc', new Float64(), false),
  ]);
  const dailyBatch = (from: number, to: number) =>
    batch(dailySchema, [
      column(new DateDay(), days.slice(from, to)),
      column(new Float64(), Float64Array.from(price.slice(from, to), (p) => p ?? 0), price.slice(from, to).map((p) => p === null)),
      column(new Float64(), Float64Array.from(volume.slice(from, to))),
    ]);
  await writeArrow(join(artifacts, 'aggregate', 'daily.arrow'), [dailyBatch(0, 25), dailyBatch(25, n)]);
  await writeFile(
    join(artifacts, 'aggregate', 'report.json'),
    JSON.stringify({ gap_days: ['2021-03-04', '2021-03-31'], gap_count: 2, days: n, first_date: '2021-03-01', last_date: '2021-04-09' }),
  );

  // ingest/minutes.arrow: six minutes of 2021-03-01 with a UTC timestamp and one missing close.
  const minuteTimestamps = Array.from({ length: 6 }, (_, i) => Date.UTC(2021, 2, 1, 0, i) / 1000);
  const minuteClose = [50_000, 50_010.5, null, 50_020, 50_005.25, 49_990];
  const minutesSchema = new Schema([
    new Field('timestamp', new TimestampSecond('UTC'), false),
    new Field('close', new Float64(), true),
  ]);
  await writeArrow(join(artifacts, 'ingest', 'minutes.arrow'), [
    batch(minutesSchema, [
      column(new TimestampSecond('UTC'), BigInt64Array.from(minuteTimestamps, (t) => BigInt(t))),
      column(new Float64(), Float64Array.from(minuteClose, (c) => c ?? 0), minuteClose.map((c) => c === null)),
    ]),
  ]);

  // evaluate: ten test days.
  const predictions = Array.from({ length: 10 }, (_, i) => ({
    day: firstDay + 30 + i,
    real: 57_000 + 100 * i,
    predicted: 56_950 + 100 * i + (i % 2 ? 40 : -25),
    persistence: 56_900 + 100 * i,
  }));
  const predictionSchema = new Schema([
    new Field('date', new DateDay(), false),
    new Field('real', new Float64(), false),
    new Field('predicted', new Float64(), false),
    new Field('persistence', new Float64(), false),
  ]);
  await writeArrow(join(artifacts, 'evaluate', 'predictions.arrow'), [
    batch(predictionSchema, [
      column(new DateDay(), Int32Array.from(predictions, (p) => p.day)),
      column(new Float64(), Float64Array.from(predictions, (p) => p.real)),
      column(new Float64(), Float64Array.from(predictions, (p) => p.predicted)),
      column(new Float64(), Float64Array.from(predictions, (p) => p.persistence)),
    ]),
  ]);
  const metrics = {
    model: { rmse: 61.25, mae: 52.5, mape: 0.0921, directional_accuracy: 0.6667 },
    persistence: { rmse: 100, mae: 100, mape: 0.1741, directional_accuracy: 0.5 },
    rmse_ratio: 0.6125,
    units: { rmse: 'USD', mae: 'USD', mape: 'percent' },
    notes: { rmse_ratio: 'model rmse / persistence rmse; below 1 beats the naive forecast' },
  };
  await writeFile(join(artifacts, 'evaluate', 'metrics.json'), JSON.stringify(metrics, null, 2));
  const png = new PNG({ width: 64, height: 48 });
  png.data.fill(255);
  await writeFile(join(artifacts, 'evaluate', 'prediction.png'), PNG.sync.write(png));
  await writeFile(
    join(artifacts, 'evaluate', 'prediction.svg'),
    '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300" viewBox="0 0 400 300"><rect x="10" y="10" width="380" height="280" fill="#4c78a8"/></svg>',
  );
  await writeFile(
    join(artifacts, 'evaluate', 'loss.svg'),
    '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><polyline points="0,10 100,80 200,120 300,140" stroke="#f58518" fill="none" stroke-width="3"/></svg>',
  );
  await writeFile(join(artifacts, 'train', 'summary.txt'), 'Layer (type)   Output shape   Param #\nlstm (LSTM)    [null,4]       96\ndense (Dense)  [null,1]       5\n');
  await writeFile(join(artifacts, 'train', 'history.json'), JSON.stringify({ loss: [0.05, 0.02, 0.01] }));
  await writeFile(
    join(artifacts, 'sample', 'minutes.csv'),
    'Timestamp,Open,High,Low,Close,Volume_(BTC),Volume_(Currency),Weighted_Price\n' +
      '1614556800,50000,50010,49990,50005,1.5,75000,50001\n' +
      '1614556860,NaN,NaN,NaN,NaN,NaN,NaN,NaN\n' +
      '1614556920,50005,50020,50000,50015,2,100020,50010\n',
  );

  return {
    root,
    days,
    price,
    volume,
    predictions,
    metrics,
    minuteTimestamps,
    minuteClose,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
