import { mkdir, mkdtemp, open, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import type { DuckDBConnection, DuckDBDataChunk, DuckDBResult } from '@duckdb/node-api';
import { findLine, readFirstLine, splitCsvFields } from '../lib/data/csv-header.ts';
import { CsvMinutes, IMPLAUSIBLE_TIMESTAMP } from '../lib/data/csv-minutes.ts';
import { quotedIdentifier, quotedString, withDuckDB } from '../lib/data/duckdb.ts';
import { headerOf, LAYOUT_NAMES, LAYOUTS, type Layout } from '../lib/data/kaggle-layouts.ts';
import { columnsOf, listParts, MinutePartsWriter, monthOf, readPart, type SavePart } from '../lib/data/minute-parts.ts';
import type { StageContext } from '../../pipeline/contract/stage.ts';
import { count } from '../../pipeline/contract/text.ts';
import type { z } from 'zod';
import type { ingest } from '../ingest.ts';

/** The folder output: one Arrow file per UTC month (see stages/lib/data/minute-parts.ts). */
export const MINUTES = 'minutes.arrow/';

/** Why a row is dropped, by its code (1, 2, 3: see csv-minutes.ts); the names are the report's keys. */
const DROP_REASONS = ['high_below_low', 'non_positive_price', 'non_finite'] as const;

/** The first instant a Bitstamp minute can have: 2009-01-03, the day of Bitcoin's first block. */
export const EARLIEST_TIMESTAMP = Date.UTC(2009, 0, 3) / 1000;

/** The first instant after tomorrow (UTC): later timestamps are not minutes of a real file. */
export function latestTimestamp(now = Date.now()): number {
  return (Math.floor(now / 86_400_000) + 2) * 86_400;
}

export interface IngestReport {
  source: string;
  /** The layout the header showed (legacy or current). */
  layout: Layout;
  /** `append`: only the rows appended to the source since the previous run were read. */
  mode: 'full' | 'append';
  /** Rows of minutes.arrow taken over from the previous output (0 in a full run). */
  reused_rows: number;
  rows_read: number;
  rows_kept: number;
  /** Rows kept with no value at all (every value NaN or empty). */
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

/** Both accepted headers, for messages. */
function acceptedHeaders(wanted: Layout | 'auto'): string {
  const layouts = wanted === 'auto' ? LAYOUT_NAMES : [wanted];
  return layouts.map((layout) => `${headerOf(layout)} (${layout})`).join(' or ');
}

/** The layout a header line shows; with `wanted` not 'auto', the header must be that layout's. */
async function checkHeader(path: string, shown: string, wanted: Layout | 'auto'): Promise<Layout> {
  const header = await readFirstLine(path).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${shown}: cannot read the file (${error.code ?? error.message})`);
  });
  const expected = `expected the header line ${acceptedHeaders(wanted)}`;
  if (header === null) throw new Error(`${shown}: the file is empty; ${expected}`);
  if (header === '') throw new Error(`${shown}:1: line 1 is blank; ${expected}`);
  const found = splitCsvFields(header).map((name) => name.trim().replace(/^"(.*)"$/, '$1'));
  const matches = LAYOUT_NAMES.find((layout) => found.join(',') === headerOf(layout));
  if (matches !== undefined && (wanted === 'auto' || wanted === matches)) return matches;
  const against = wanted !== 'auto' ? wanted : closestLayout(found);
  const names = LAYOUTS[against] as readonly string[];
  const missing = names.filter((name) => !found.includes(name));
  const unexpected = found.filter((name) => !names.includes(name));
  const details = [
    missing.length > 0 ? `missing ${missing.map((n) => `"${n}"`).join(', ')}` : '',
    unexpected.length > 0 ? `unexpected ${unexpected.map((n) => `"${n}"`).join(', ')}` : '',
    missing.length === 0 && unexpected.length === 0 ? 'same columns in another order' : '',
  ].filter((part) => part !== '');
  const what = wanted === 'auto' ? `closest to the ${against} layout: ${details.join('; ')}` : `ingest.layout is ${against}: ${details.join('; ')}`;
  const hint = matches !== undefined ? `; that is the ${matches} layout: set ingest.layout to ${matches} or auto` : '';
  throw new Error(`${shown}:1: wrong columns (${what}): expected ${acceptedHeaders(wanted)}, found ${found.join(',')}${hint}`);
}

/** The layout whose header differs from `found` by the fewest missing and unexpected names. */
function closestLayout(found: readonly string[]): Layout {
  const distance = (layout: Layout) => {
    const names = LAYOUTS[layout] as readonly string[];
    return names.filter((n) => !found.includes(n)).length + found.filter((n) => !names.includes(n)).length;
  };
  return LAYOUT_NAMES.reduce((best, layout) => (distance(layout) < distance(best) ? layout : best));
}

/**
 * The read_csv query: the layout's explicit schema (no sniffing), NaN and empty fields as NULL (except the
 * timestamp, which must be there), malformed rows collected in a rejects table instead of failing at once.
 * DuckDB only parses: the columns come out as read, and which rows are kept is decided on the way out
 * (stages/lib/data/csv-minutes.ts). The timestamp is read as a double, so `1325412060.0` (the current
 * file's spelling) is read, and a non-integer one is caught there (DuckDB's integer parser would round it).
 *
 * `sorted` orders by timestamp with a tie-break on every value so that the row kept among duplicates does
 * not depend on the file's order (a row with a trade sorts first). Its values are cleaned in SQL first:
 * DuckDB's float parser reads `-nan`, `NAN`, ` NaN`... as a NaN double, which must sort as the NULL it
 * stands for (pandas reads `-nan` as missing and cannot parse the others at all).
 */
export function readSql(path: string, name: string, layout: Layout, sorted: boolean): string {
  const header = LAYOUTS[layout];
  const columns = header.map((column) => `${quotedString(column)}: ${quotedString('DOUBLE')}`);
  const q = (column: string) => quotedIdentifier(column);
  const options = [
    'header = true',
    // Small read buffers: DuckDB's default (tens of MB per thread) costs RSS, and the result comes out in
    // file order, one buffer's rows at a time: smaller buffers keep both threads busy and the stream fed
    // (2 MB against 8 MB: 2-6% less wall for ingest + aggregate on the full-size sample, same peak RSS).
    'buffer_size = 2000000',
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
  const scan = `read_csv(${quotedString(path)}, ${options.join(', ')})`;
  if (!sorted) return `SELECT ${header.map(q).join(', ')} FROM ${scan}`;
  const nan = `${quotedString('NaN')}::DOUBLE`;
  const cleaned = [q('Timestamp'), ...header.slice(1).map((column) => `nullif(${q(column)}, ${nan}) AS ${q(column)}`)];
  // The current layout's derived columns are functions of the ones read: ordering by those is the same.
  return `SELECT * FROM (SELECT ${cleaned.join(', ')} FROM ${scan}) ORDER BY ${header.map((column) => `${q(column)} NULLS LAST`).join(', ')}`;
}

/** The fast pass met a timestamp that does not increase: the caller reruns sorted. */
interface Restart {
  /** A timestamp went backwards somewhere (not only repeated timestamps). */
  readonly backwards: boolean;
}

/** A row flagged BAD_TIMESTAMP or IMPLAUSIBLE_TIMESTAMP: the caller finds its line in the file. */
class BadTimestamp extends Error {}

/** What a conversion counted; an append run starts from the previous run's last timestamp and day. */
class Tally {
  rowsRead = 0;
  kept = 0;
  duplicates = 0;
  readonly dropped = [0, 0, 0, 0];
  first = 0;
  days = 0;
  constructor(
    /** The largest timestamp kept so far: a kept row must be later. */
    public last = -Infinity,
    public lastDay = -1,
  ) {}
}

/**
 * A streamed result's chunks in order, the next one already being fetched (on DuckDB's side, off the
 * main thread) while the caller works on this one: a fetched chunk is its own buffer, not a view of the
 * stream. However the caller stops, the fetch under way is waited for, so that nothing is still reading
 * the result when the connection closes.
 */
async function* chunksOf(result: DuckDBResult, signal: AbortSignal): AsyncGenerator<DuckDBDataChunk> {
  let next = result.fetchChunk();
  try {
    for (;;) {
      signal.throwIfAborted();
      const chunk = await next;
      if (chunk === null || chunk.rowCount === 0) return;
      next = result.fetchChunk();
      yield chunk;
    }
  } finally {
    await next.catch(() => undefined);
  }
}

/**
 * Streams the query's chunks into the parts `writer` writes. Returns a Restart (and leaves the parts
 * incomplete) when `mode` is 'fast' and a kept timestamp does not increase: the caller then reruns sorted.
 * After a repeated timestamp the fast pass reads on, timestamps only, to tell whether the file also goes
 * backwards. Rows are copied in runs (column by column, typed-array set plus validity bits): a run ends
 * at a dropped row, a month's end or a full record batch.
 */
async function convert(
  connection: DuckDBConnection,
  sql: string,
  minutes: CsvMinutes,
  writer: MinutePartsWriter,
  tally: Tally,
  ctx: { signal: AbortSignal; progress: (p: { done: number; label?: string }) => void },
  mode: 'fast' | 'sorted',
): Promise<Restart | undefined> {
  const chunks = chunksOf(await connection.stream(sql), ctx.signal);
  let reported = 0;
  for await (const chunk of chunks) {
    // Timestamps as two int32 halves: no BigInt per row (all unix seconds here fit in 53 bits).
    const { n, timestamps: ts, codes: reason, rows } = minutes.read(chunk);
    tally.rowsRead += n;

    let i = 0;
    while (i < n) {
      const code = reason[i]!;
      if (code !== 0) {
        if (code >= IMPLAUSIBLE_TIMESTAMP) throw new BadTimestamp();
        tally.dropped[code]!++;
        i++;
        continue;
      }
      const t = (ts[2 * i]! >>> 0) + ts[2 * i + 1]! * 4294967296;
      if (t <= tally.last) {
        if (mode === 'fast') return { backwards: t < tally.last || (await goesBackwards(chunks, minutes, ts, reason, i + 1, n, tally.last)) };
        tally.duplicates++;
        i++;
        continue;
      }
      if (tally.kept === 0) tally.first = t;
      const monthEnd = await writer.enter(t);
      const start = i;
      const end = Math.min(n, i + writer.room());
      let last = tally.last;
      let dayEnd = (tally.lastDay + 1) * 86_400;
      for (; i < end; i++) {
        if (reason[i] !== 0) break;
        const u = (ts[2 * i]! >>> 0) + ts[2 * i + 1]! * 4294967296;
        if (u <= last || u >= monthEnd) break;
        last = u;
        if (u >= dayEnd) {
          tally.days++;
          tally.lastDay = Math.floor(u / 86_400);
          dayEnd = (tally.lastDay + 1) * 86_400;
        }
      }
      tally.last = last;
      tally.kept += i - start;
      writer.copy(rows, start, i);
    }
    if (tally.rowsRead - reported >= 1 << 16) {
      reported = tally.rowsRead;
      ctx.progress({ done: tally.rowsRead, label: 'rows' });
    }
  }
  ctx.progress({ done: tally.rowsRead, label: 'rows' });
  return undefined;
}

/**
 * Reads the rest of the stream (from row `from` of the current chunk) for a kept timestamp below the
 * largest seen so far.
 */
async function goesBackwards(
  chunks: AsyncGenerator<DuckDBDataChunk>,
  minutes: CsvMinutes,
  ts: Int32Array,
  reason: Int8Array,
  from: number,
  n: number,
  largest: number,
): Promise<boolean> {
  for (;;) {
    for (let i = from; i < n; i++) {
      if (reason[i]! >= IMPLAUSIBLE_TIMESTAMP) throw new BadTimestamp();
      if (reason[i] !== 0) continue;
      const t = (ts[2 * i]! >>> 0) + ts[2 * i + 1]! * 4294967296;
      if (t < largest) return true;
      largest = t;
    }
    const { value: chunk, done } = await chunks.next();
    if (done) return false;
    from = 0;
    ({ n, timestamps: ts, codes: reason } = minutes.read(chunk));
  }
}

function describeDropped(dropped: readonly number[]): string {
  return DROP_REASONS.map((name, i) => `${name}: ${dropped[i + 1]}`).join(', ');
}

/** The first malformed line, as `file:line: what`, plus how many lines were malformed in all. */
async function throwOnRejects(connection: DuckDBConnection, name: string, shown: string, layout: Layout): Promise<void> {
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
      what = `expected ${LAYOUTS[layout].length} fields, found ${splitCsvFields(csvLine).length}`;
      break;
    default:
      what = String(row.error_message);
  }
  const more = Number(row.lines) > 1 ? ` (${Number(row.lines)} malformed lines in all)` : '';
  throw new Error(`${shown}:${line}: ${what}${more}`);
}

const isoUtc = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
const isoDay = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);

/** Why a timestamp's text is not a minute of a real file, or undefined when it is one. */
function timestampProblem(text: string, latest: number): string | undefined {
  const value = text.trim() === '' ? NaN : Number(text);
  if (!Number.isInteger(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) return `cannot parse "${text}" as an integer (unix seconds)`;
  if (value >= EARLIEST_TIMESTAMP && value < latest) return undefined;
  const range = `unix seconds from ${isoDay(EARLIEST_TIMESTAMP)} to ${isoDay(latest - 1)} (UTC)`;
  const scale = (
    [
      [1e3, 'milliseconds'],
      [1e6, 'microseconds'],
      [1e9, 'nanoseconds'],
    ] as const
  ).find(([factor]) => value / factor >= EARLIEST_TIMESTAMP && value / factor < latest);
  const hint = scale ? `; it looks like ${scale[1]} (${isoUtc(Math.floor(value / scale[0]))}): divide by ${scale[0]}` : '';
  return `${text.trim()} is not a plausible time: expected ${range}${hint}`;
}

async function badTimestampError(path: string, shown: string, latest: number): Promise<Error> {
  const found = await findLine(path, (fields) => timestampProblem(fields[0] ?? '', latest) !== undefined);
  if (found === null) return new Error(`${shown}: column "Timestamp": a value is not a plausible time in unix seconds`);
  return new Error(`${shown}:${found.line}: column "Timestamp": ${timestampProblem(found.fields[0]!, latest)}`);
}

interface Reading {
  readonly connection: DuckDBConnection;
  /** A pattern-free link to the source (DuckDB reads a path with `*`, `?` or `[` as a glob). */
  readonly source: string;
  readonly spill: string;
  readonly shown: string;
  readonly layout: Layout;
  readonly latest: number;
  readonly output: string;
  /** Writes a finished monthly part through the runner's hashing writer. */
  readonly save: SavePart;
}

/** Reads the whole source into fresh parts: the fast in-order pass, or a sorted one when that fails. */
type Context = StageContext<z.output<(typeof ingest)['params']>>;

async function fullRun(r: Reading, ctx: Context): Promise<IngestReport> {
  const attempt = async (mode: 'fast' | 'sorted') => {
    await rm(r.output, { recursive: true, force: true });
    await mkdir(r.output, { recursive: true });
    const writer = new MinutePartsWriter(r.output, { save: r.save });
    const tally = new Tally();
    let restart: Restart | undefined;
    try {
      restart = await convert(r.connection, readSql(r.source, mode, r.layout, mode === 'sorted'), new CsvMinutes(r.layout, EARLIEST_TIMESTAMP, r.latest), writer, tally, ctx, mode);
    } catch (error) {
      await writer.abort();
      throw error;
    }
    if (restart) await writer.abort();
    else await writer.close();
    return { restart, tally, nanRows: writer.emptyRows };
  };
  // Fast path: a well-formed file is already strictly increasing, and is streamed in file order.
  // Anything else (a step back or a repeated timestamp) restarts the scan sorted by DuckDB.
  let mode: 'fast' | 'sorted' = 'fast';
  let pass = await attempt(mode);
  const outOfOrder = pass.restart?.backwards ?? false;
  if (pass.restart) {
    ctx.info(`${r.shown}: timestamps not strictly increasing; sorting`);
    mode = 'sorted';
    pass = await attempt(mode);
  }
  const { tally } = pass;
  await throwOnRejects(r.connection, mode, r.shown, r.layout);
  if (tally.rowsRead === 0) throw new Error(`${r.shown}: has a header but no data rows`);
  if (tally.kept === 0) throw new Error(`${r.shown}: all ${tally.rowsRead} rows were dropped (${describeDropped(tally.dropped)})`);
  return {
    source: r.shown,
    layout: r.layout,
    mode: 'full',
    reused_rows: 0,
    rows_read: tally.rowsRead,
    rows_kept: tally.kept,
    nan_rows: pass.nanRows,
    duplicates: tally.duplicates,
    dropped: { high_below_low: tally.dropped[1]!, non_positive_price: tally.dropped[2]!, non_finite: tally.dropped[3]! },
    out_of_order: outOfOrder,
    first_timestamp: new Date(tally.first * 1000).toISOString(),
    last_timestamp: new Date(tally.last * 1000).toISOString(),
    first_unix: tally.first,
    last_unix: tally.last,
    days_covered: tally.days,
  };
}

/** The source's first line with its line ending, as bytes (the header a tail file needs). */
async function headerBytes(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    const end = buffer.subarray(0, bytesRead).indexOf(0x0a);
    return buffer.subarray(0, end < 0 ? bytesRead : end + 1);
  } finally {
    await file.close();
  }
}

/** Bytes [from, to) of a file. */
async function readRange(path: string, from: number, to: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(to - from);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, from);
    if (bytesRead !== buffer.length) throw new Error(`${path}: shorter than ${to} bytes`);
    return buffer;
  } finally {
    await file.close();
  }
}

/**
 * The refresh: the source is the previous one with rows appended (the runner checked its first
 * `previousSize` bytes against the lock). Only those rows are read; the parts of earlier months are kept
 * as they are and the previous last month is rebuilt with the new rows. Returns why not when the new rows
 * would not give exactly what a run from scratch gives (they don't start on a new line, don't all come
 * after the previous last minute, or don't parse): the caller then runs from scratch, which also reports
 * any error with its line.
 */
async function appendRun(r: Reading, ctx: Context, path: string, previousSize: number, size: number): Promise<IngestReport | string> {
  const previous = ctx.previous!;
  if (path.endsWith('.gz')) return 'a gzipped source is read whole';
  let before: IngestReport;
  try {
    before = JSON.parse(await readFile(previous.output('report.json'), 'utf8')) as IngestReport;
  } catch {
    return 'the previous report.json is not readable';
  }
  if (before.layout !== r.layout || typeof before.last_unix !== 'number' || typeof before.rows_kept !== 'number') return 'the previous report.json is not this layout';
  if ((await readRange(path, previousSize - 1, previousSize))[0] !== 0x0a) return 'the previous source did not end with a complete line';

  const tail = join(r.spill, 'appended.csv');
  await writeFile(tail, Buffer.concat([await headerBytes(path), await readRange(path, previousSize, size)]));
  const lastPart = monthOf(before.last_unix).name;
  let seededEmpty = 0;
  const writer = new MinutePartsWriter(r.output, {
    save: r.save,
    onOpen: async (month, w) => {
      if (month.name !== lastPart) return;
      // The new rows continue the previous last month: its rows first, then theirs.
      for await (const batch of readPart(previous.output(`${MINUTES}${month.name}`))) w.copyAll(columnsOf(batch), batch.numRows);
      seededEmpty = w.emptyRows;
    },
  });
  const tally = new Tally(before.last_unix, Math.floor(before.last_unix / 86_400));
  let why: string | undefined;
  try {
    const restart = await convert(r.connection, readSql(tail, 'tail', r.layout, false), new CsvMinutes(r.layout, EARLIEST_TIMESTAMP, r.latest), writer, tally, ctx, 'fast');
    if (restart) why = `the appended rows are not all after the previous last minute ${isoUtc(before.last_unix)}`;
    else await throwOnRejects(r.connection, 'tail', r.shown, r.layout);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    why = error instanceof BadTimestamp ? 'an appended timestamp is not a plausible time' : `the appended rows do not parse (${(error as Error).message})`;
  }
  if (why !== undefined) {
    await writer.abort();
    return why;
  }
  await writer.close();
  // Every earlier month stays as it was: linked, not copied, and not hashed again.
  for (const name of await listParts(previous.output(MINUTES))) {
    if (!writer.parts.includes(name)) await previous.keep(`${MINUTES}${name}`);
  }
  // Every previous minute is still there, and every new one comes after them: aggregate may take over
  // every day before the previous last one, even in the month rebuilt here.
  previous.appended(MINUTES);
  return {
    ...before,
    source: r.shown,
    mode: 'append',
    reused_rows: before.rows_kept,
    rows_read: before.rows_read + tally.rowsRead,
    rows_kept: before.rows_kept + tally.kept,
    nan_rows: before.nan_rows + writer.emptyRows - seededEmpty,
    dropped: {
      high_below_low: before.dropped.high_below_low + tally.dropped[1]!,
      non_positive_price: before.dropped.non_positive_price + tally.dropped[2]!,
      non_finite: before.dropped.non_finite + tally.dropped[3]!,
    },
    last_timestamp: new Date(tally.last * 1000).toISOString(),
    last_unix: tally.last,
    days_covered: before.days_covered + tally.days,
  };
}

export async function run(ctx: Context): Promise<void> {
  const path = ctx.inputs[0]!;
  const shown = displayPath(ctx.root, path);
  const layout = await checkHeader(path, shown, ctx.params.layout);
  const latest = latestTimestamp();

  const spill = await mkdtemp(join(tmpdir(), 'pipeline-ingest-'));
  const output = ctx.output(MINUTES);
  await mkdir(output, { recursive: true });
  // DuckDB reads a path with `*`, `?` or `[` as a glob (and could merge other files): it is given a
  // pattern-free link to the real file instead; messages name the file as the user did.
  const source = join(spill, path.endsWith('.gz') ? 'source.csv.gz' : 'source.csv');
  try {
    await symlink(await realpath(path), source);
    const report = await withDuckDB({ memoryLimit: '256MB' }, async (connection) => {
      await connection.run(`SET temp_directory = ${quotedString(spill)}`);
      // Lets the scan run ahead of the consumer on all threads; the default (~1 MB) serializes it.
      await connection.run(`SET streaming_buffer_size = ${quotedString('32MB')}`);
      // Through the runner: hashed on the way, and a part the current artifacts already hold is linked.
      const save: SavePart = (name, bytes) => ctx.writeFile(`${MINUTES}${name}`, bytes);
      const reading: Reading = { connection, source, spill, shown, layout, latest, output, save };
      const change = ctx.previous?.inputs[0];
      if (change?.kind === 'appended') {
        const appended = await appendRun(reading, ctx, path, change.previousSize, change.size);
        if (typeof appended !== 'string') return appended;
        ctx.info(`full run: ${appended}`);
      }
      return fullRun(reading, ctx);
    }).catch(async (error: unknown) => {
      if (error instanceof BadTimestamp) throw await badTimestampError(path, shown, latest);
      if (error instanceof Error && error.message.includes(source)) error.message = error.message.split(source).join(shown);
      throw error;
    });
    await writeFile(ctx.output('report.json'), `${JSON.stringify(report, null, 2)}\n`);
    if (report.mode === 'append') ctx.info(`appended ${count(report.rows_kept - report.reused_rows, 'minute')} to ${report.reused_rows} (append)`);
    else ctx.info(`${count(report.rows_kept, 'minute')} kept of ${report.rows_read}, ${count(report.days_covered, 'day')} (${report.layout} layout)`);
  } catch (error) {
    await rm(output, { recursive: true, force: true });
    throw error;
  } finally {
    await rm(spill, { recursive: true, force: true });
  }
}
