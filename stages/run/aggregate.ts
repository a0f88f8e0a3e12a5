import { writeFile } from 'node:fs/promises';
import { DataType, TimeUnit, type RecordBatch } from 'apache-arrow';
import { ArrowFileSink, batchOf, dateDay, float64, isFloat64, isoDate, readArrowBatches, schemaOf } from '../lib/data/arrow.ts';
import type { StageContext } from '../../pipeline/contract/stage.ts';
import { count } from '../../pipeline/contract/text.ts';
import type { z } from 'zod';
import type { aggregate } from '../aggregate.ts';

/** daily.arrow: one row per UTC date, every value column float64 (`minutes` too, for uniform consumers). */
export const DAILY_COLUMNS = ['price', 'open', 'high', 'low', 'close', 'volume_btc', 'volume_usd', 'vwap', 'minutes'] as const;
export const DAILY_SCHEMA = schemaOf([['date', dateDay(), false], ...DAILY_COLUMNS.map((name) => [name, float64(), false] as const)]);

const MINUTE_COLUMNS = ['open', 'high', 'low', 'close', 'volume_btc', 'volume_usd', 'weighted_price'] as const;

export interface AggregateReport {
  gaps: 'ffill' | 'drop';
  /** Rows in daily.arrow. */
  days: number;
  first_date: string;
  last_date: string;
  /**
   * Dates from the first to the last date with minutes that have no trade at all (no row, or only rows
   * without trades), whatever became of them; `gap_count` is their number. Each is in exactly one of
   * `filled_days` (kept, carrying the last price: `gaps: ffill`) and `dropped_days` (not in daily.arrow:
   * `gaps: drop`, or a leading day with no earlier price to carry, under either setting).
   */
  gap_count: number;
  gap_days: string[];
  filled_days: string[];
  dropped_days: string[];
  minutes_with_trades: number;
}


interface Daily {
  length: number;
  date: Int32Array;
  columns: Record<(typeof DAILY_COLUMNS)[number], Float64Array>;
  gapDays: number[];
  filledDays: number[];
  droppedDays: number[];
  minutesWithTrades: number;
}

/**
 * Per-day sums in plain typed-array loops. Minutes arrive sorted by timestamp (ingest guarantees it), so a
 * day is complete once a later day starts. A minute "has a trade" when its Weighted_Price is not null;
 * each other column skips its own nulls, as pandas' NaN-skipping reductions do.
 */
class DailyAccumulator {
  #capacity = 4096;
  #length = 0;
  #day = new Int32Array(this.#capacity);
  #sums = this.#allocate();
  #current = NaN;
  #lastTimestamp = -Infinity;

  constructor(readonly path: string) {}

  #allocate() {
    const c = this.#capacity;
    return {
      priceSum: new Float64Array(c),
      priceCount: new Float64Array(c),
      open: new Float64Array(c).fill(NaN),
      high: new Float64Array(c).fill(-Infinity),
      low: new Float64Array(c).fill(Infinity),
      close: new Float64Array(c).fill(NaN),
      volumeBtc: new Float64Array(c),
      volumeUsd: new Float64Array(c),
    };
  }

  #grow() {
    const old = this.#sums;
    const oldDay = this.#day;
    this.#capacity *= 2;
    this.#sums = this.#allocate();
    this.#day = new Int32Array(this.#capacity);
    this.#day.set(oldDay);
    for (const key of Object.keys(old) as (keyof typeof old)[]) this.#sums[key].set(old[key]);
  }

  add(batch: RecordBatch): void {
    const ts = batch.getChildAt(0);
    if (ts === null || !DataType.isTimestamp(ts.type) || ts.type.unit !== TimeUnit.SECOND) {
      throw new Error(`${this.path}: expected the first column "timestamp" as an Arrow timestamp in seconds, found ${String(ts?.type)}`);
    }
    const columns = MINUTE_COLUMNS.map((name) => {
      const column = batch.getChild(name);
      if (column === null || !isFloat64(column.type)) throw new Error(`${this.path}: expected a float64 column "${name}"`);
      return column.data[0]!;
    });
    const tsData = ts.data[0]!;
    // int64 seconds read as two int32 halves: no BigInt per row.
    const raw = tsData.values as BigInt64Array;
    const words = new Int32Array(raw.buffer, raw.byteOffset, raw.length * 2);
    const values = columns.map((data) => data.values as Float64Array);
    const valid = columns.map((data) => (data.nullCount > 0 ? (data.nullBitmap as Uint8Array) : null));
    const n = batch.numRows;

    // Pass 1: split the batch into runs of one UTC day (rows are sorted, so each day is one run).
    const runStart: number[] = [];
    const runRow: number[] = [];
    let dayEnd = (this.#current + 1) * 86_400;
    let last = this.#lastTimestamp;
    for (let i = 0; i < n; i++) {
      const t = (words[2 * i]! >>> 0) + words[2 * i + 1]! * 4294967296;
      if (t <= last) throw new Error(`${this.path}: timestamps must be strictly increasing, found ${t} after ${last}`);
      last = t;
      if (t >= dayEnd || i === 0) {
        const day = Math.floor(t / 86_400);
        dayEnd = (day + 1) * 86_400;
        if (day !== this.#current) {
          if (this.#length === this.#capacity) this.#grow();
          this.#day[this.#length] = day;
          this.#length++;
          this.#current = day;
        }
        runStart.push(i);
        runRow.push(this.#length - 1);
      }
    }
    this.#lastTimestamp = last;
    runStart.push(n);

    // Pass 2: one tight loop per column and day run.
    const s = this.#sums;
    const [open, high, low, close, volumeBtc, volumeUsd, weighted] = [0, 1, 2, 3, 4, 5, 6].map((c) => ({ values: values[c]!, bits: valid[c]! }));
    for (let r = 0; r < runRow.length; r++) {
      const row = runRow[r]!;
      const from = runStart[r]!;
      const to = runStart[r + 1]!;
      s.priceSum[row]! += sumValid(weighted!, from, to);
      s.priceCount[row]! += countValid(weighted!.bits, from, to);
      if (Number.isNaN(s.open[row]!)) {
        const i = firstValid(open!.bits, from, to);
        if (i >= 0) s.open[row] = open!.values[i]!;
      }
      s.high[row] = Math.max(s.high[row]!, extremeValid(high!, from, to, 1));
      s.low[row] = Math.min(s.low[row]!, extremeValid(low!, from, to, -1));
      const j = lastValid(close!.bits, from, to);
      if (j >= 0) s.close[row] = close!.values[j]!;
      s.volumeBtc[row]! += sumValid(volumeBtc!, from, to);
      s.volumeUsd[row]! += sumValid(volumeUsd!, from, to);
    }
  }

  /** Fills calendar gaps (missing dates and dates without trades) by carrying the last day, or drops them. */
  finish(gaps: 'ffill' | 'drop'): Daily {
    const s = this.#sums;
    const first = this.#length > 0 ? this.#day[0]! : 0;
    const span = this.#length > 0 ? this.#day[this.#length - 1]! - first + 1 : 0;
    const date = new Int32Array(span);
    const columns = Object.fromEntries(DAILY_COLUMNS.map((name) => [name, new Float64Array(span)])) as Daily['columns'];
    const gapDays: number[] = [];
    const filledDays: number[] = [];
    const droppedDays: number[] = [];
    let out = 0;
    let source = 0;
    let minutesWithTrades = 0;
    let last = -1;
    for (let day = first; day < first + span; day++) {
      const present = source < this.#length && this.#day[source] === day;
      const row = present ? source++ : -1;
      const traded = row >= 0 && s.priceCount[row]! > 0;
      if (!traded) {
        gapDays.push(day);
        // A leading gap has nothing to carry: it is dropped whatever `gaps` says.
        if (gaps === 'drop' || last < 0) {
          droppedDays.push(day);
          continue;
        }
        filledDays.push(day);
        // The series the model learns (price) and vwap carry their last value; the bar is flat at the last close.
        date[out] = day;
        columns.price[out] = columns.price[last]!;
        columns.vwap[out] = columns.vwap[last]!;
        for (const name of ['open', 'high', 'low', 'close'] as const) columns[name][out] = columns.close[last]!;
        columns.volume_btc[out] = 0;
        columns.volume_usd[out] = 0;
        columns.minutes[out] = 0;
        last = out++;
        continue;
      }
      const count = s.priceCount[row]!;
      minutesWithTrades += count;
      date[out] = day;
      columns.price[out] = s.priceSum[row]! / count;
      columns.open[out] = s.open[row]!;
      columns.high[out] = s.high[row]!;
      columns.low[out] = s.low[row]!;
      columns.close[out] = s.close[row]!;
      columns.volume_btc[out] = s.volumeBtc[row]!;
      columns.volume_usd[out] = s.volumeUsd[row]!;
      columns.vwap[out] = s.volumeBtc[row]! > 0 ? s.volumeUsd[row]! / s.volumeBtc[row]! : columns.price[out]!;
      columns.minutes[out] = count;
      last = out++;
    }
    const trimmed = Object.fromEntries(DAILY_COLUMNS.map((name) => [name, columns[name].subarray(0, out)])) as Daily['columns'];
    return { length: out, date: date.subarray(0, out), columns: trimmed, gapDays, filledDays, droppedDays, minutesWithTrades };
  }
}

/** A float64 column of one batch: values plus validity bits (null when every value is present). */
interface Column {
  readonly values: Float64Array;
  readonly bits: Uint8Array | null;
}

const isValid = (bits: Uint8Array, i: number) => ((bits[i >> 3]! >> (i & 7)) & 1) === 1;

function sumValid({ values, bits }: Column, from: number, to: number): number {
  let sum = 0;
  if (bits === null) for (let i = from; i < to; i++) sum += values[i]!;
  else for (let i = from; i < to; i++) if (isValid(bits, i)) sum += values[i]!;
  return sum;
}

function countValid(bits: Uint8Array | null, from: number, to: number): number {
  if (bits === null) return to - from;
  let count = 0;
  for (let i = from; i < to; i++) if (isValid(bits, i)) count++;
  return count;
}

/** Largest (sign 1) or smallest (sign -1) present value; -Infinity / Infinity when none. */
function extremeValid({ values, bits }: Column, from: number, to: number, sign: 1 | -1): number {
  let best = -Infinity;
  for (let i = from; i < to; i++) {
    if (bits !== null && !isValid(bits, i)) continue;
    const v = sign * values[i]!;
    if (v > best) best = v;
  }
  return sign * best;
}

function firstValid(bits: Uint8Array | null, from: number, to: number): number {
  if (bits === null) return from < to ? from : -1;
  for (let i = from; i < to; i++) if (isValid(bits, i)) return i;
  return -1;
}

function lastValid(bits: Uint8Array | null, from: number, to: number): number {
  if (bits === null) return to > from ? to - 1 : -1;
  for (let i = to - 1; i >= from; i--) if (isValid(bits, i)) return i;
  return -1;
}

export async function run(ctx: StageContext<z.output<(typeof aggregate)['params']>>): Promise<void> {
  const path = ctx.inputs[0]!;
  const days = new DailyAccumulator(path);
  let rows = 0;
  for await (const batch of readArrowBatches(path)) {
    ctx.signal.throwIfAborted();
    days.add(batch);
    rows += batch.numRows;
    ctx.progress({ done: rows, label: 'minutes' });
  }
  const daily = days.finish(ctx.params.gaps);
  if (daily.length === 0) throw new Error(`${path}: no minute has a trade; nothing to aggregate`);

  const sink = new ArrowFileSink(ctx.output('daily.arrow'), DAILY_SCHEMA);
  try {
    sink.write(
      batchOf(DAILY_SCHEMA, daily.length, [
        { type: DAILY_SCHEMA.fields[0]!.type, values: daily.date },
        ...DAILY_COLUMNS.map((name, i) => ({ type: DAILY_SCHEMA.fields[i + 1]!.type, values: daily.columns[name] })),
      ]),
    );
  } catch (error) {
    await sink.abort();
    throw error;
  }
  await sink.close();

  const report: AggregateReport = {
    gaps: ctx.params.gaps,
    days: daily.length,
    first_date: isoDate(daily.date[0]!),
    last_date: isoDate(daily.date[daily.length - 1]!),
    gap_count: daily.gapDays.length,
    gap_days: daily.gapDays.map(isoDate),
    filled_days: daily.filledDays.map(isoDate),
    dropped_days: daily.droppedDays.map(isoDate),
    minutes_with_trades: daily.minutesWithTrades,
  };
  await writeFile(ctx.output('report.json'), `${JSON.stringify(report, null, 2)}\n`);
  ctx.info(`${count(report.days, 'day')} from ${report.first_date} to ${report.last_date}, ${report.gap_count} without trades (${report.gaps})`);
}
