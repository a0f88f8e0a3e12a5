import { mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import type { DuckDBConnection, DuckDBResult } from '@duckdb/node-api';
import { ArrowFileSink, batchOf, float64, schemaOf, timestampSecondUtc } from '../lib/data/arrow.ts';
import { findLine, readFirstLine, splitCsvFields } from '../lib/data/csv-header.ts';
import { chunkFloat64, chunkInt64, chunkInt8, chunkValidity, quotedIdentifier, quotedString, withDuckDB } from '../lib/data/duckdb.ts';
import type { StageContext } from '../../pipeline/contract/stage.ts';
import type { z } from 'zod';
import type { ingest } from '../ingest.ts';

/** The Kaggle bitstampUSD 1-min columns, in file order, and their names in minutes.arrow. */
export const KAGGLE_COLUMNS = [
  ['Timestamp', 'timestamp'],
  ['Open', 'open'],
  ['High', 'high'],
  ['Low', 'low'],
  ['Close', 'close'],
  ['Volume_(BTC)', 'volume_btc'],
  ['Volume_(Currency)', 'volume_usd'],
  ['Weighted_Price', 'weighted_price'],
] as const;

const VALUE_COLUMNS = KAGGLE_COLUMNS.length - 1;

/**
 * minutes.arrow: `timestamp` is Arrow Timestamp(SECOND, "UTC") (int64 unix seconds underneath), sorted
 * ascending and unique; the seven value columns are float64, null where the minute had no trade.
 */
export const MINUTES_SCHEMA = schemaOf([
  ['timestamp', timestampSecondUtc(), false],
  ...KAGGLE_COLUMNS.slice(1).map(([, name]) => [name, float64(), true] as const),
]);

/** Rows per Arrow record batch: large enough for cheap IPC framing, small enough to keep memory flat. */
const BATCH_ROWS = 64 * 1024;

/** Why a row is dropped; the codes are computed in SQL, the names are the report's keys. */
const DROP_REASONS = ['high_below_low', 'non_positive_price', 'non_finite'] as const;
/** Not a drop reason: a timestamp that is not an integer, reported as a parse error. */
const BAD_TIMESTAMP = 9;

export interface IngestReport {
  source: string;
  rows_read: number;
  rows_kept: number;
  /** Rows kept with no trade (all seven values NaN). */
  nan_rows: number;
  /** Rows dropped because an earlier-kept row had the same timestamp. */
  duplicates: number;
  dropped: Record<(typeof DROP_REASONS)[number], number>;
  /** True when a timestamp goes backwards in the file (it was sorted); repeated timestamps alone don't set it. */
  out_of_order: boolean;
  first_timestamp: string;
  last_timestamp: string;
  first_unix: number;
  last_unix: number;
  /** Distinct UTC dates with at least one row. */
  days_covered: number;
}


function displayPath(root: string, path: string): string {
  const inside = relative(root, path);
  return inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
}

async function checkHeader(path: string, shown: string): Promise<void> {
  const expected = KAGGLE_COLUMNS.map(([name]) => name);
  const header = await readFirstLine(path).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${shown}: cannot read the file (${error.code ?? error.message})`);
  });
  if (header === null) throw new Error(`${shown}: the file is empty; expected the header line ${expected.join(',')}`);
  if (header === '') throw new Error(`${shown}:1: line 1 is blank; expected the header line ${expected.join(',')}`);
  const found = splitCsvFields(header).map((name) => name.trim().replace(/^"(.*)"$/, '$1'));
  if (found.join(',') === expected.join(',')) return;
  const missing = expected.filter((name) => !found.includes(name));
  const unexpected = found.filter((name) => !(expected as readonly string[]).includes(name));
  const details = [
    missing.length > 0 ? `missing ${missing.map((n) => `"${n}"`).join(', ')}` : '',
    unexpected.length > 0 ? `unexpected ${unexpected.map((n) => `"${n}"`).join(', ')}` : '',
    missing.length === 0 && unexpected.length === 0 ? 'same columns in another order' : '',
  ].filter((part) => part !== '');
  throw new Error(`${shown}:1: wrong columns (${details.join('; ')}): expected ${expected.join(',')}, found ${found.join(',')}`);
}

/**
 * The read_csv query: the explicit Kaggle schema (no sniffing), NaN and empty fields as NULL (except the
 * timestamp, which must be there), malformed rows collected in a rejects table instead of failing at once,
 * and a drop-reason code per row. `sorted` orders by timestamp with a tie-break on every value so that the
 * row kept among duplicates does not depend on the file's order (a row with a trade sorts first).
 *
 * `nullstr` matches whole fields exactly, but DuckDB's float parser also reads `-nan`, `NAN`, ` NaN`... as a
 * NaN double: those become NULL too (pandas reads `-nan` as missing and cannot parse the others at all), so
 * no NaN ever passes as a trade. Infinite values are dropped (`non_finite`). The timestamp is read as a
 * double because DuckDB's integer parser silently rounds `1600000060.5`: a non-integer one is flagged
 * (code BAD_TIMESTAMP) and the caller turns it into a parse error with its line.
 */
function readSql(path: string, name: string, sorted: boolean): string {
  const columns = KAGGLE_COLUMNS.map(([column]) => `${quotedString(column)}: ${quotedString('DOUBLE')}`);
  const q = (i: number) => quotedIdentifier(KAGGLE_COLUMNS[i]![0]);
  const prices = [1, 2, 3, 4, 7].map(q).join(', ');
  const options = [
    'header = true',
    // Small read buffers: DuckDB's default (tens of MB per thread) costs RSS and, on 2 cores, speed.
    'buffer_size = 8000000',
    'auto_detect = false',
    `delim = ','`,
    `quote = '"'`,
    `columns = {${columns.join(', ')}}`,
    `nullstr = ['NaN', 'nan', '']`,
    `force_not_null = [${quotedString('Timestamp')}]`,
    'store_rejects = true',
    `rejects_table = ${quotedString(`rejects_${name}`)}`,
    `rejects_scan = ${quotedString(`scans_${name}`)}`,
  ];
  const nan = `${quotedString('NaN')}::DOUBLE`;
  const cleaned = [
    `${q(0)}`,
    ...KAGGLE_COLUMNS.slice(1).map((_, i) => `nullif(${q(i + 1)}, ${nan}) AS ${q(i + 1)}`),
  ];
  // Integers of up to 53 bits are exact in a double (and in the stream's two-int32 reading).
  const badTimestamp = `(NOT isfinite(${q(0)}) OR ${q(0)} <> trunc(${q(0)}) OR abs(${q(0)}) > 9007199254740991)`;
  const infinite = KAGGLE_COLUMNS.slice(1).map((_, i) => `isinf(${q(i + 1)})`).join(' OR ');
  const select = [
    `(CASE WHEN ${badTimestamp} THEN 0 ELSE ${q(0)} END)::BIGINT AS ${q(0)}`,
    ...KAGGLE_COLUMNS.slice(1).map((_, i) => q(i + 1)),
    `(CASE WHEN ${badTimestamp} THEN ${BAD_TIMESTAMP} WHEN ${infinite} THEN 3 WHEN ${q(2)} < ${q(3)} THEN 1 WHEN least(${prices}) <= 0 THEN 2 ELSE 0 END)::TINYINT AS drop_reason`,
  ];
  const order = sorted ? ` ORDER BY ${KAGGLE_COLUMNS.map((_, i) => `${q(i)} NULLS LAST`).join(', ')}` : '';
  return `SELECT ${select.join(', ')} FROM (SELECT ${cleaned.join(', ')} FROM read_csv(${quotedString(path)}, ${options.join(', ')}))${order}`;
}

/** The fast pass met a timestamp that does not increase: the caller reruns sorted. */
interface Restart {
  /** A timestamp went backwards somewhere (not only repeated timestamps). */
  readonly backwards: boolean;
}

/** A row flagged BAD_TIMESTAMP: the caller finds its line in the file (DuckDB's result has no line numbers). */
class BadTimestamp extends Error {}

/**
 * Streams the query's chunks into minutes.arrow. Returns a Restart (and writes nothing valid) when `mode`
 * is 'fast' and a timestamp does not increase: the caller then reruns sorted. After a repeated timestamp
 * the fast pass reads on, timestamps only, to tell whether the file also goes backwards.
 */
async function convert(
  connection: DuckDBConnection,
  sql: string,
  output: string,
  ctx: { signal: AbortSignal; progress: (p: { done: number; label?: string }) => void },
  shown: string,
  mode: 'fast' | 'sorted',
): Promise<IngestReport | Restart> {
  const result = await connection.stream(sql);
  const sink = new ArrowFileSink(output, MINUTES_SCHEMA);
  const batch = new MinuteBatch();
  let rowsRead = 0;
  let kept = 0;
  let nanRows = 0;
  let duplicates = 0;
  const dropped = [0, 0, 0, 0];
  let previous = -Infinity;
  let first = 0;
  let days = 0;
  let lastDay = -1;
  let completed = false;
  try {
    for (;;) {
      ctx.signal.throwIfAborted();
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const n = chunk.rowCount;
      // Timestamps as two int32 halves: no BigInt per row (all unix seconds here fit in 53 bits).
      const int64 = chunkInt64(chunk, 0);
      const ts = new Int32Array(int64.buffer, int64.byteOffset, 2 * n);
      const values: Float64Array[] = [];
      const validity: (Uint8Array | null)[] = [];
      for (let c = 1; c <= VALUE_COLUMNS; c++) {
        values.push(chunkFloat64(chunk, c));
        validity.push(chunkValidity(chunk, c));
      }
      const reason = chunkInt8(chunk, VALUE_COLUMNS + 1);
      rowsRead += n;

      // Common case first: nothing to drop, timestamps increasing, batch position byte-aligned. Then the
      // chunk is copied column by column (typed-array set + validity bytes) instead of row by row.
      if (batch.length % 8 === 0 && batch.length + n <= BATCH_ROWS) {
        const scan = scanChunk(ts, reason, n, previous, lastDay);
        if (scan !== null) {
          if (kept === 0) first = (ts[0]! >>> 0) + ts[1]! * 4294967296;
          nanRows += batch.copy(ts, values, validity, n);
          kept += n;
          previous = scan.last;
          days += scan.newDays;
          lastDay = scan.lastDay;
          if (batch.length === BATCH_ROWS) {
            sink.write(batch.take());
            ctx.progress({ done: rowsRead, label: 'rows' });
          }
          continue;
        }
      }

      for (let i = 0; i < n; i++) {
        const code = reason[i]!;
        if (code !== 0) {
          if (code === BAD_TIMESTAMP) throw new BadTimestamp();
          dropped[code]!++;
          continue;
        }
        const t = (ts[2 * i]! >>> 0) + ts[2 * i + 1]! * 4294967296;
        if (t <= previous) {
          if (mode === 'fast') return { backwards: t < previous || (await goesBackwards(result, ctx.signal, ts, reason, i + 1, n, previous)) };
          duplicates++;
          continue;
        }
        if (kept === 0) first = t;
        previous = t;
        kept++;
        const day = Math.floor(t / 86_400);
        if (day !== lastDay) {
          days++;
          lastDay = day;
        }
        if (batch.push(ts[2 * i]!, ts[2 * i + 1]!, values, validity, i)) nanRows++;
        if (batch.length === BATCH_ROWS) {
          sink.write(batch.take());
          ctx.progress({ done: rowsRead, label: 'rows' });
        }
      }
    }
    if (batch.length > 0) sink.write(batch.take());
    ctx.progress({ done: rowsRead, label: 'rows' });
    await sink.close();
    completed = true;
  } finally {
    if (!completed) await sink.abort();
  }

  await throwOnRejects(connection, mode === 'fast' ? 'fast' : 'sorted', shown);
  if (rowsRead === 0) throw new Error(`${shown}: has a header but no data rows`);
  if (kept === 0) throw new Error(`${shown}: all ${rowsRead} rows were dropped (${describeDropped(dropped)})`);
  return {
    source: shown,
    rows_read: rowsRead,
    rows_kept: kept,
    nan_rows: nanRows,
    duplicates,
    dropped: { high_below_low: dropped[1]!, non_positive_price: dropped[2]!, non_finite: dropped[3]! },
    out_of_order: false,
    first_timestamp: new Date(first * 1000).toISOString(),
    last_timestamp: new Date(previous * 1000).toISOString(),
    first_unix: first,
    last_unix: previous,
    days_covered: days,
  };
}

/**
 * Reads the rest of the stream (from row `from` of the current chunk) for a kept timestamp below the
 * largest seen so far.
 */
async function goesBackwards(
  result: DuckDBResult,
  signal: AbortSignal,
  ts: Int32Array,
  reason: Int8Array,
  from: number,
  n: number,
  largest: number,
): Promise<boolean> {
  for (;;) {
    for (let i = from; i < n; i++) {
      if (reason[i] === BAD_TIMESTAMP) throw new BadTimestamp();
      if (reason[i] !== 0) continue;
      const t = (ts[2 * i]! >>> 0) + ts[2 * i + 1]! * 4294967296;
      if (t < largest) return true;
      largest = t;
    }
    signal.throwIfAborted();
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) return false;
    n = chunk.rowCount;
    from = 0;
    const int64 = chunkInt64(chunk, 0);
    ts = new Int32Array(int64.buffer, int64.byteOffset, 2 * n);
    reason = chunkInt8(chunk, VALUE_COLUMNS + 1);
  }
}

/**
 * Whether a chunk can be copied whole: no row to drop and timestamps strictly increasing from `previous`.
 * Returns its last timestamp, its last UTC day and how many days it starts, or null.
 */
function scanChunk(ts: Int32Array, reason: Int8Array, n: number, previous: number, lastDay: number): { last: number; lastDay: number; newDays: number } | null {
  let last = previous;
  let newDays = 0;
  let dayEnd = (lastDay + 1) * 86_400;
  for (let i = 0; i < n; i++) {
    const t = (ts[2 * i]! >>> 0) + ts[2 * i + 1]! * 4294967296;
    if (reason[i] !== 0 || t <= last) return null;
    last = t;
    if (t >= dayEnd) {
      newDays++;
      dayEnd = (Math.floor(t / 86_400) + 1) * 86_400;
    }
  }
  return { last, lastDay: dayEnd / 86_400 - 1, newDays };
}

function describeDropped(dropped: readonly number[]): string {
  return DROP_REASONS.map((name, i) => `${name}: ${dropped[i + 1]}`).join(', ');
}

/** The first malformed line, as `file:line: what`, plus how many lines were malformed in all. */
async function throwOnRejects(connection: DuckDBConnection, name: string, shown: string): Promise<void> {
  const table = quotedIdentifier(`rejects_${name}`);
  const reader = await connection.runAndReadAll(
    `SELECT line::DOUBLE AS line, column_idx::DOUBLE AS column_idx, column_name, error_type::VARCHAR AS error_type, csv_line, error_message,
            count(DISTINCT line) OVER ()::DOUBLE AS lines
     FROM ${table} ORDER BY line, column_idx LIMIT 1`,
  );
  const row = reader.getRowObjectsJS()[0];
  if (row === undefined) return;
  const line = Number(row.line);
  const columnIndex = Number(row.column_idx);
  const columnName = String(row.column_name ?? '');
  const csvLine = String(row.csv_line ?? '');
  let what: string;
  switch (String(row.error_type)) {
    case 'CAST': {
      const text = splitCsvFields(csvLine)[columnIndex - 1] ?? '';
      what = `column "${columnName}": cannot parse "${text}" as ${columnName === 'Timestamp' ? 'an integer (unix seconds)' : 'a number'}`;
      break;
    }
    case 'MISSING COLUMNS':
    case 'TOO MANY COLUMNS':
      what = `expected ${KAGGLE_COLUMNS.length} fields, found ${splitCsvFields(csvLine).length}`;
      break;
    default:
      what = String(row.error_message);
  }
  const more = Number(row.lines) > 1 ? ` (${Number(row.lines)} malformed lines in all)` : '';
  throw new Error(`${shown}:${line}: ${what}${more}`);
}

/** Kept rows gathered into the columns of one record batch; fresh arrays per batch (the writer keeps them). */
class MinuteBatch {
  length = 0;
  #timestamps = new Int32Array(2 * BATCH_ROWS);
  #values = fresh(() => new Float64Array(BATCH_ROWS));
  #validity = fresh(() => new Uint8Array(BATCH_ROWS / 8));
  #nulls = new Array<number>(VALUE_COLUMNS).fill(0);

  /** Appends row `i` of a DuckDB chunk; returns true when all its values are null (a minute without trade). */
  push(low: number, high: number, values: readonly Float64Array[], validity: readonly (Uint8Array | null)[], i: number): boolean {
    const at = this.length++;
    this.#timestamps[2 * at] = low;
    this.#timestamps[2 * at + 1] = high;
    let nulls = 0;
    for (let c = 0; c < VALUE_COLUMNS; c++) {
      const valid = validity[c];
      if (valid === null || ((valid![i >> 3]! >> (i & 7)) & 1) === 1) {
        this.#values[c]![at] = values[c]![i]!;
        this.#validity[c]![at >> 3]! |= 1 << (at & 7);
      } else {
        this.#nulls[c]!++;
        nulls++;
      }
    }
    return nulls === VALUE_COLUMNS;
  }

  /**
   * Appends the first `n` rows of a chunk whole (the caller checked them); `this.length` must be a multiple
   * of 8 so validity bytes line up. Returns how many rows have no value at all (minutes without trade).
   */
  copy(ts: Int32Array, values: readonly Float64Array[], validity: readonly (Uint8Array | null)[], n: number): number {
    const at = this.length;
    this.#timestamps.set(ts.subarray(0, 2 * n), 2 * at);
    const bytes = Math.ceil(n / 8);
    const tail = n % 8 === 0 ? 0xff : (1 << (n % 8)) - 1;
    const any = new Uint8Array(bytes);
    let allColumnsValid = false;
    for (let c = 0; c < VALUE_COLUMNS; c++) {
      const target = this.#values[c]!;
      target.set(values[c]!.subarray(0, n), at);
      const bits = this.#validity[c]!;
      const valid = validity[c];
      if (valid === null || valid === undefined) {
        bits.fill(0xff, at >> 3, (at >> 3) + bytes);
        bits[(at >> 3) + bytes - 1] = tail;
        allColumnsValid = true;
        continue;
      }
      let nulls = 0;
      for (let b = 0; b < bytes; b++) {
        const byte = valid[b]! & (b === bytes - 1 ? tail : 0xff);
        bits[(at >> 3) + b] = byte;
        any[b]! |= byte;
        if (byte !== 0xff) {
          // What DuckDB leaves in a null slot is unspecified: zero it so the file's bytes are reproducible.
          for (let k = 0; k < 8 && 8 * b + k < n; k++) {
            if (((byte >> k) & 1) === 0) {
              target[at + 8 * b + k] = 0;
              nulls++;
            }
          }
        }
      }
      this.#nulls[c]! += nulls;
    }
    this.length += n;
    if (allColumnsValid) return 0;
    let empty = 0;
    for (let b = 0; b < bytes; b++) {
      const byte = any[b]!;
      if (byte === 0xff) continue;
      for (let k = 0; k < 8 && 8 * b + k < n; k++) if (((byte >> k) & 1) === 0) empty++;
    }
    return empty;
  }

  take() {
    const length = this.length;
    const columns = [
      { type: MINUTES_SCHEMA.fields[0]!.type, values: new BigInt64Array(this.#timestamps.buffer, 0, length) },
      ...this.#values.map((values, c) => ({
        type: MINUTES_SCHEMA.fields[c + 1]!.type,
        values: values.subarray(0, length),
        validity: this.#validity[c]!.subarray(0, Math.ceil(length / 8)),
        nullCount: this.#nulls[c]!,
      })),
    ];
    const batch = batchOf(MINUTES_SCHEMA, length, columns);
    this.length = 0;
    this.#timestamps = new Int32Array(2 * BATCH_ROWS);
    this.#values = fresh(() => new Float64Array(BATCH_ROWS));
    this.#validity = fresh(() => new Uint8Array(BATCH_ROWS / 8));
    this.#nulls = new Array<number>(VALUE_COLUMNS).fill(0);
    return batch;
  }
}

function fresh<T>(make: () => T): T[] {
  return Array.from({ length: VALUE_COLUMNS }, make);
}

/** A timestamp that is not an integer of unix seconds, as the read query's BAD_TIMESTAMP flags it. */
function badTimestamp(text: string): boolean {
  const value = text.trim() === '' ? NaN : Number(text);
  return !Number.isInteger(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER;
}

async function badTimestampError(path: string, shown: string): Promise<Error> {
  const found = await findLine(path, (fields) => badTimestamp(fields[0] ?? ''));
  if (found === null) return new Error(`${shown}: column "Timestamp": a value is not an integer (unix seconds)`);
  return new Error(`${shown}:${found.line}: column "Timestamp": cannot parse "${found.fields[0]}" as an integer (unix seconds)`);
}

export async function run(ctx: StageContext<z.output<(typeof ingest)['params']>>): Promise<void> {
  const path = ctx.inputs[0]!;
  const shown = displayPath(ctx.root, path);
  await checkHeader(path, shown);

  const spill = await mkdtemp(join(tmpdir(), 'pipeline-ingest-'));
  const output = ctx.output('minutes.arrow');
  // DuckDB reads a path with `*`, `?` or `[` as a glob (and could merge other files): it is given a
  // pattern-free link to the real file instead; messages name the file as the user did.
  const source = join(spill, path.endsWith('.gz') ? 'source.csv.gz' : 'source.csv');
  try {
    await symlink(await realpath(path), source);
    const report = await withDuckDB({ memoryLimit: '256MB' }, async (connection) => {
      await connection.run(`SET temp_directory = ${quotedString(spill)}`);
      // Lets the scan run ahead of the consumer on all threads; the default (~1 MB) serializes it.
      await connection.run(`SET streaming_buffer_size = ${quotedString('32MB')}`);
      // Fast path: a well-formed file is already strictly increasing, and is streamed in file order.
      // Anything else (a step back or a repeated timestamp) restarts the scan sorted by DuckDB.
      const inOrder = await convert(connection, readSql(source, 'fast', false), output, ctx, shown, 'fast');
      if ('rows_read' in inOrder) return inOrder;
      ctx.info(`${shown}: timestamps not strictly increasing; sorting`);
      const sorted = await convert(connection, readSql(source, 'sorted', true), output, ctx, shown, 'sorted');
      return { ...(sorted as IngestReport), out_of_order: inOrder.backwards };
    }).catch(async (error: unknown) => {
      if (error instanceof BadTimestamp) throw await badTimestampError(path, shown);
      if (error instanceof Error && error.message.includes(source)) error.message = error.message.split(source).join(shown);
      throw error;
    });
    report.source = shown;
    await writeFile(ctx.output('report.json'), `${JSON.stringify(report, null, 2)}\n`);
    ctx.info(`${report.rows_kept} minutes kept of ${report.rows_read}, ${report.days_covered} days`);
  } catch (error) {
    await rm(output, { force: true });
    throw error;
  } finally {
    await rm(spill, { recursive: true, force: true });
  }
}
