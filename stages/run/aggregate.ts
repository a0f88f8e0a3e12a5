import { readFile, writeFile } from 'node:fs/promises';
import { DataType, TimeUnit, type RecordBatch } from 'apache-arrow';
import { ArrowFileSink, batchOf, dateDay, dateDayColumn, float64, isFloat64, isoDate, readArrowTable, schemaOf } from '../lib/data/arrow.ts';
import { listParts, monthOfPart, readParts, type Month } from '../lib/data/minute-parts.ts';
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
  /** `append`: only the days of the minutes that changed were computed, the others taken over. */
  mode: 'full' | 'append';
  /** Rows of daily.arrow taken over from the previous output (0 in a full run). */
  reused_days: number;
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

  /** Minutes before `since` (unix seconds) are skipped: a refresh takes their days over. */
  constructor(
    readonly path: string,
    readonly since = -Infinity,
  ) {}

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

  /** Adds a record batch of the part of `month`, whose minutes must all lie in that month. */
  add(batch: RecordBatch, month: Month): void {
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
    const at = (i: number) => (words[2 * i]! >>> 0) + words[2 * i + 1]! * 4294967296;
    // The first row from `since` on (rows are sorted): the ones before belong to days taken over.
    let begin = 0;
    if (n > 0 && at(0) < this.since) {
      let high = n;
      while (begin < high) {
        const mid = (begin + high) >>> 1;
        if (at(mid) < this.since) begin = mid + 1;
        else high = mid;
      }
    }

    // Pass 1: split the batch into runs of one UTC day (rows are sorted, so each day is one run).
    const runStart: number[] = [];
    const runRow: number[] = [];
    let dayEnd = (this.#current + 1) * 86_400;
    let last = this.#lastTimestamp;
    for (let i = begin; i < n; i++) {
      const t = at(i);
      if (t <= last) throw new Error(`${this.path}: timestamps must be strictly increasing, found ${t} after ${last}`);
      last = t;
      if (t >= dayEnd || i === begin) {
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
    if (begin < n) {
      const first = at(begin);
      if (first < month.start || last >= month.end) {
        throw new Error(`${this.path}${month.name}: holds minutes outside its month (${new Date(first * 1000).toISOString()} .. ${new Date(last * 1000).toISOString()})`);
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

  /**
   * Fills calendar gaps (missing dates and dates without trades) by carrying the last day, or drops them.
   * From the first day with minutes; or, continuing earlier output (`resume`), from `resume.from` with
   * that output's last row to carry.
   */
  finish(gaps: 'ffill' | 'drop', resume?: { from: number; carry?: Carry }): Daily {
    const s = this.#sums;
    const first = resume ? resume.from : this.#length > 0 ? this.#day[0]! : 0;
    const span = this.#length > 0 ? this.#day[this.#length - 1]! - first + 1 : 0;
    const date = new Int32Array(span);
    const columns = Object.fromEntries(DAILY_COLUMNS.map((name) => [name, new Float64Array(span)])) as Daily['columns'];
    const gapDays: number[] = [];
    const filledDays: number[] = [];
    const droppedDays: number[] = [];
    let out = 0;
    let source = 0;
    let minutesWithTrades = 0;
    let carry = resume?.carry;
    for (let day = first; day < first + span; day++) {
      const present = source < this.#length && this.#day[source] === day;
      const row = present ? source++ : -1;
      const traded = row >= 0 && s.priceCount[row]! > 0;
      if (!traded) {
        gapDays.push(day);
        // A leading gap has nothing to carry: it is dropped whatever `gaps` says.
        if (gaps === 'drop' || carry === undefined) {
          droppedDays.push(day);
          continue;
        }
        filledDays.push(day);
        // The series the model learns (price) and vwap carry their last value; the bar is flat at the last close.
        date[out] = day;
        columns.price[out] = carry.price;
        columns.vwap[out] = carry.vwap;
        for (const name of ['open', 'high', 'low', 'close'] as const) columns[name][out] = carry.close;
        columns.volume_btc[out] = 0;
        columns.volume_usd[out] = 0;
        columns.minutes[out] = 0;
        out++;
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
      carry = { price: columns.price[out]!, vwap: columns.vwap[out]!, close: columns.close[out]! };
      out++;
    }
    const trimmed = Object.fromEntries(DAILY_COLUMNS.map((name) => [name, columns[name].subarray(0, out)])) as Daily['columns'];
    return { length: out, date: date.subarray(0, out), columns: trimmed, gapDays, filledDays, droppedDays, minutesWithTrades };
  }
}

/** What a day without trades carries over from the last day with a price. */
interface Carry {
  readonly price: number;
  readonly vwap: number;
  readonly close: number;
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

/** Feeds the parts (in order) into the accumulator. */
async function accumulate(ctx: Context, dir: string, parts: readonly string[], days: DailyAccumulator): Promise<void> {
  let rows = 0;
  for await (const { part, batches } of readParts(dir, parts)) {
    const month = monthOfPart(part)!;
    for (const batch of batches) {
      ctx.signal.throwIfAborted();
      days.add(batch, month);
      rows += batch.numRows;
      ctx.progress({ done: rows, label: 'minutes' });
    }
  }
}

/** daily.arrow's rows, by column, as `Daily` holds them. */
interface Rows {
  readonly length: number;
  readonly date: Int32Array;
  readonly columns: Daily['columns'];
}

/** The first `count` rows of a previous daily.arrow. */
function headOf(previous: Rows, count: number): Rows {
  const columns = Object.fromEntries(DAILY_COLUMNS.map((name) => [name, previous.columns[name].subarray(0, count)])) as Daily['columns'];
  return { length: count, date: previous.date.subarray(0, count), columns };
}

function concatRows(a: Rows, b: Rows): Rows {
  const join2 = <A extends Float64Array | Int32Array>(x: A, y: A, make: (n: number) => A) => {
    const out = make(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  };
  const columns = Object.fromEntries(
    DAILY_COLUMNS.map((name) => [name, join2(a.columns[name], b.columns[name], (n) => new Float64Array(n))]),
  ) as Daily['columns'];
  return { length: a.length + b.length, date: join2(a.date, b.date, (n) => new Int32Array(n)), columns };
}

const dayOf = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;

type Context = StageContext<z.output<(typeof aggregate)['params']>>;

/**
 * The refresh: only some parts of minutes.arrow changed (or were added) since the previous run.
 * - When ingest declared the minutes only appended to (every earlier minute unchanged, every new one
 *   after them all; `appended`, vouched for by the runner across the runs in between), every day before
 *   the previous data's last day has exactly the minutes it had: its row is taken over, even inside the
 *   month whose part was rebuilt. That last day may have been incomplete: it and the new days are
 *   computed, from the minutes of that day on (the earlier rows of its part are skipped).
 * - Otherwise each part holds one month, so every day before the first changed month has exactly the
 *   minutes it had, and the days from that month on (at least from the day after the previous data's
 *   end) are computed again.
 * The last taken-over row is carried into any gap. Returns why not when nothing can be vouched for or
 * taken over; the caller then computes every day.
 */
async function appendRun(ctx: Context, dir: string, parts: readonly string[]): Promise<{ daily: Rows; report: AggregateReport } | string> {
  const previous = ctx.previous!;
  const change = previous.inputs[0];
  if (change?.kind !== 'files') return 'the minutes are not the folder of monthly parts';
  if (change.removed.length > 0) return `a part of the minutes was removed (${change.removed[0]})`;
  const touched = new Set([...change.changed, ...change.added]);
  const firstChanged = parts.findIndex((part) => touched.has(part));
  if (firstChanged < 0) return 'no part of the minutes changed';
  let before: AggregateReport;
  let old: Rows;
  try {
    before = JSON.parse(await readFile(previous.output('report.json'), 'utf8')) as AggregateReport;
    const table = await readArrowTable(previous.output('daily.arrow'));
    const date = dateDayColumn(table, 'date', 'daily.arrow');
    const columns = Object.fromEntries(DAILY_COLUMNS.map((name) => [name, table.getChild(name)!.toArray() as Float64Array])) as Daily['columns'];
    old = { length: date.length, date, columns };
  } catch {
    return 'the previous outputs are not readable';
  }
  if (before.gaps !== ctx.params.gaps || old.length !== before.days) return 'the previous outputs do not match their report';
  const gapDays = before.gap_days.map(dayOf);
  // The previous data's first and last day with minutes: its output rows and its gap days span them.
  const dataFirst = Math.min(dayOf(before.first_date), ...gapDays);
  const dataLast = Math.max(dayOf(before.last_date), ...gapDays);
  const from = change.appended ? dataLast : Math.min(monthOfPart(parts[firstChanged]!)!.start / 86_400, dataLast + 1);
  if (from <= dataFirst) return 'the changed minutes reach back to the first day';
  let reused = 0;
  while (reused < old.length && old.date[reused]! < from) reused++;
  if (reused === 0) return 'no earlier day to take over';

  const since = from * 86_400;
  const days = new DailyAccumulator(dir, since);
  await accumulate(
    ctx,
    dir,
    parts.filter((part) => monthOfPart(part)!.end > since),
    days,
  );
  const last = reused - 1;
  const carry = last >= 0 ? { price: old.columns.price[last]!, vwap: old.columns.vwap[last]!, close: old.columns.close[last]! } : undefined;
  const fresh = days.finish(ctx.params.gaps, { from, carry });
  const daily = concatRows(headOf(old, reused), fresh);
  const kept = (list: readonly string[]) => list.filter((day) => dayOf(day) < from);
  let reusedMinutes = 0;
  for (let i = 0; i < reused; i++) reusedMinutes += old.columns.minutes[i]!;
  const report = reportOf(ctx.params.gaps, daily, {
    gapDays: [...kept(before.gap_days), ...fresh.gapDays.map(isoDate)],
    filledDays: [...kept(before.filled_days), ...fresh.filledDays.map(isoDate)],
    droppedDays: [...kept(before.dropped_days), ...fresh.droppedDays.map(isoDate)],
    minutesWithTrades: reusedMinutes + fresh.minutesWithTrades,
    mode: 'append',
    reused,
  });
  return { daily, report };
}

function reportOf(
  gaps: 'ffill' | 'drop',
  daily: Rows,
  rest: { gapDays: string[]; filledDays: string[]; droppedDays: string[]; minutesWithTrades: number; mode: 'full' | 'append'; reused: number },
): AggregateReport {
  return {
    gaps,
    days: daily.length,
    first_date: daily.length > 0 ? isoDate(daily.date[0]!) : '',
    last_date: daily.length > 0 ? isoDate(daily.date[daily.length - 1]!) : '',
    gap_count: rest.gapDays.length,
    gap_days: rest.gapDays,
    filled_days: rest.filledDays,
    dropped_days: rest.droppedDays,
    minutes_with_trades: rest.minutesWithTrades,
    mode: rest.mode,
    reused_days: rest.reused,
  };
}

export async function run(ctx: Context): Promise<void> {
  const dir = ctx.inputs[0]!;
  const parts = await listParts(dir);
  let result: { daily: Rows; report: AggregateReport } | undefined;
  if (ctx.previous) {
    const appended = await appendRun(ctx, dir, parts);
    if (typeof appended !== 'string') result = appended;
    else ctx.info(`full run: ${appended}`);
  }
  if (!result) {
    const days = new DailyAccumulator(dir);
    await accumulate(ctx, dir, parts, days);
    const daily = days.finish(ctx.params.gaps);
    const report = reportOf(ctx.params.gaps, daily, {
      gapDays: daily.gapDays.map(isoDate),
      filledDays: daily.filledDays.map(isoDate),
      droppedDays: daily.droppedDays.map(isoDate),
      minutesWithTrades: daily.minutesWithTrades,
      mode: 'full',
      reused: 0,
    });
    result = { daily, report };
  }
  const { daily, report } = result;
  if (daily.length === 0) throw new Error(`${dir}: no minute has a trade; nothing to aggregate`);

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

  await writeFile(ctx.output('report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const reuse = report.mode === 'append' ? `; computed ${report.days - report.reused_days}, reused ${report.reused_days} (append)` : '';
  ctx.info(`${count(report.days, 'day')} from ${report.first_date} to ${report.last_date}, ${report.gap_count} without trades (${report.gaps})${reuse}`);
}
