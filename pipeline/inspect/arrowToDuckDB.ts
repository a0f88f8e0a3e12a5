// Arrow IPC files as DuckDB views. DuckDB's Arrow reader is an extension that would have to be
// downloaded, and copying 3.9M minutes into a DuckDB table costs seconds, so each file is instead a
// JS table function behind a view: DuckDB asks for the columns a query needs (projection pushdown)
// and each call hands it up to one chunk, copied buffer to buffer where Arrow and DuckDB share the
// layout (little-endian doubles, int32 days, int64). The file is read on the first scan only, so
// every artifact can be a view while only the tables a query touches are ever read.
import bindings from '@duckdb/node-bindings';
import {
  BIGINT,
  BOOLEAN,
  DATE,
  DOUBLE,
  DuckDBTableFunction,
  FLOAT,
  INTEGER,
  SMALLINT,
  TIMESTAMP,
  TIMESTAMPTZ,
  TINYINT,
  UBIGINT,
  UINTEGER,
  USMALLINT,
  UTINYINT,
  VARCHAR,
  quotedIdentifier,
  type DuckDBConnection,
  type DuckDBDataChunk,
  type DuckDBType,
} from '@duckdb/node-api';
import { DataType, DateUnit, RecordBatchReader, TimeUnit, type Data, type Field, type RecordBatch, type Schema } from 'apache-arrow';
import { readFileSync } from 'node:fs';
import { ArtifactError } from './artifacts.ts';
import { ArrowFileError, arrowParts } from './arrowFile.ts';
import { checkBatch } from './arrowVerify.ts';

/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = bindings.vector_size();

type FixedArray = Float64Array | Float32Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

interface ColumnCopier {
  readonly duckType: DuckDBType;
  /** Rows [from, from + count) of a column in DuckDB's layout, or undefined for the per-value path. */
  fixed(data: Data, from: number, count: number): FixedArray | undefined;
}

const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'Z', '+00:00', 'GMT']);

function copierFor(field: Field): ColumnCopier {
  const type = field.type as DataType;
  // Arrow slices a Data's values but not its validity bitmap: values start at row 0 of the Data.
  const direct = (duckType: DuckDBType): ColumnCopier => ({
    duckType,
    fixed: (data, from, count) => (data.values as FixedArray).subarray(from, from + count),
  });
  if (DataType.isFloat(type)) return direct(String(type) === 'Float32' ? FLOAT : DOUBLE);
  if (DataType.isInt(type)) {
    const byWidth: Record<number, [DuckDBType, DuckDBType]> = {
      8: [TINYINT, UTINYINT],
      16: [SMALLINT, USMALLINT],
      32: [INTEGER, UINTEGER],
      64: [BIGINT, UBIGINT],
    };
    const pair = byWidth[type.bitWidth] ?? [BIGINT, UBIGINT];
    return direct(type.isSigned ? pair[0] : pair[1]);
  }
  if (DataType.isDate(type) && type.unit === DateUnit.DAY) return direct(DATE);
  if (DataType.isDate(type)) {
    // Date64 counts milliseconds; DuckDB's DATE counts days.
    return {
      duckType: DATE,
      fixed: (data, from, count) =>
        Int32Array.from((data.values as BigInt64Array).subarray(from, from + count), (ms) => Math.floor(Number(ms) / 86_400_000)),
    };
  }
  if (DataType.isTimestamp(type)) {
    const unit = type.unit as TimeUnit;
    const scale = { [TimeUnit.SECOND]: 1_000_000n, [TimeUnit.MILLISECOND]: 1_000n, [TimeUnit.MICROSECOND]: 1n, [TimeUnit.NANOSECOND]: 1n }[unit];
    // A UTC instant becomes a plain TIMESTAMP holding UTC wall time: same values, and DuckDB's casts
    // and date parts on it skip the ICU time-zone machinery (ten times faster on the minutes table).
    // Other zones keep TIMESTAMPTZ, which the session (pinned to UTC) displays in UTC.
    const zoned = type.timezone && !UTC_NAMES.has(type.timezone);
    return {
      duckType: zoned ? TIMESTAMPTZ : TIMESTAMP,
      fixed: (data, from, count) => {
        const values = (data.values as BigInt64Array).subarray(from, from + count);
        if (unit === TimeUnit.MICROSECOND) return values;
        const micros = new BigInt64Array(count);
        for (let i = 0; i < count; i++) {
          const v = values[i] ?? 0n;
          micros[i] = unit === TimeUnit.NANOSECOND ? v / 1000n : v * scale;
        }
        return micros;
      },
    };
  }
  if (DataType.isBool(type)) return { duckType: BOOLEAN, fixed: () => undefined };
  return { duckType: VARCHAR, fixed: () => undefined };
}

/** The DuckDB type an Arrow field is exposed as. */
export function duckTypeOf(field: Field): DuckDBType {
  return copierFor(field).duckType;
}

/** Arrow's validity bits (LSB first) re-based to row `from`, in DuckDB's 64-bit words. */
function validityWords(data: Data, from: number, count: number): Uint8Array | undefined {
  if (data.nullCount === 0 || !data.nullBitmap) return undefined;
  const bitmap = data.nullBitmap;
  const out = new Uint8Array(Math.ceil(count / 64) * 8);
  const start = data.offset + from;
  if (start % 8 === 0) {
    out.set(bitmap.subarray(start / 8, start / 8 + Math.ceil(count / 8)));
  } else {
    for (let i = 0; i < count; i++) {
      const at = start + i;
      if ((bitmap[at >> 3] ?? 0) & (1 << (at & 7))) out[i >> 3] = (out[i >> 3] ?? 0) | (1 << (i & 7));
    }
  }
  return out;
}

function slowValue(type: DataType, value: unknown): string | boolean | null {
  if (value === null || value === undefined) return null;
  if (DataType.isBool(type)) return Boolean(value);
  return typeof value === 'string' ? value : String(value);
}

interface ScanState {
  readonly columns: readonly number[];
  batch: number;
  row: number;
}

/** Which Data piece of a (possibly chunked) column holds row `row`, and the row within it. */
function pieceAt(batch: RecordBatch, column: number, row: number): { data: Data; at: number; left: number } {
  const vector = batch.getChildAt(column)!;
  let at = row;
  for (const data of vector.data) {
    if (at < data.length) return { data, at, left: data.length - at };
    at -= data.length;
  }
  throw new Error(`row ${row} is past the end of column ${column}`);
}

function fillChunk(batch: RecordBatch, state: ScanState, copiers: readonly ColumnCopier[], out: DuckDBDataChunk): void {
  // Never cross a record batch or a Data piece inside one chunk: every column copies one range.
  let count = Math.min(CHUNK_ROWS, batch.numRows - state.row);
  const pieces = state.columns.map((c) => pieceAt(batch, c, state.row));
  for (const piece of pieces) count = Math.min(count, piece.left);
  out.rowCount = count;
  state.columns.forEach((c, k) => {
    const { data, at } = pieces[k]!;
    const copier = copiers[c]!;
    const raw = bindings.data_chunk_get_vector(out.chunk, k);
    const fixed = copier.fixed(data, at, count);
    if (fixed) {
      bindings.copy_data_to_vector(raw, 0, fixed.buffer as ArrayBuffer, fixed.byteOffset, count * fixed.BYTES_PER_ELEMENT);
      const validity = validityWords(data, at, count);
      if (validity) {
        bindings.vector_ensure_validity_writable(raw);
        bindings.copy_data_to_vector_validity(raw, 0, validity.buffer as ArrayBuffer, 0, validity.byteLength);
      }
    } else {
      const vector = out.getColumnVector(k);
      const column = batch.getChildAt(c)!;
      const type = batch.schema.fields[c]!.type as DataType;
      for (let i = 0; i < count; i++) vector.setItem(i, slowValue(type, column.get(state.row + i)) as never);
      vector.flush();
    }
  });
  state.row += count;
}

export interface ArrowView {
  /** Keeps the table function alive as long as the connection may call it; destroy after closing. */
  readonly tableFunction: DuckDBTableFunction;
  /** Why the file could not be read when a scan asked for it (DuckDB only passes on the message). */
  failure(): ArtifactError | undefined;
}

/** Every record batch of the file (or of a folder's files, in order), each checked against its declared rows (the footer was verified). */
function readBatches(path: string): RecordBatch[] {
  const batches: RecordBatch[] = [];
  for (const part of arrowParts(path)) {
    let index = 0;
    try {
      for (const batch of RecordBatchReader.from(readFileSync(part))) {
        checkBatch(batch);
        if (batch.numRows > 0) batches.push(batch);
        index++;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== undefined) throw error;
      throw new ArrowFileError(`${part}: damaged Arrow file: record batch ${index}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return batches;
}

/**
 * Creates the view `schema.table` over the Arrow file (or folder of Arrow files) at `path`, whose schema
 * (from its footer) is `arrowSchema` and row count `rows`. The data itself is read on the first scan.
 */
export async function createArrowView(
  connection: DuckDBConnection,
  path: string,
  arrowSchema: Schema,
  rows: number,
  schema: string,
  table: string,
): Promise<ArrowView> {
  const copiers = arrowSchema.fields.map(copierFor);
  let batches: RecordBatch[] | undefined;
  let failure: ArtifactError | undefined;
  const load = () => {
    if (failure) throw failure;
    try {
      return (batches ??= readBatches(path));
    } catch (error) {
      failure = error instanceof ArtifactError ? error : new ArtifactError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
      throw failure;
    }
  };
  const name = `arrow_scan_${schema}_${table}`.replace(/\W/g, '_');
  const tableFunction = DuckDBTableFunction.create({
    name,
    supportsProjectionPushdown: true,
    bindFunction: (info) => {
      arrowSchema.fields.forEach((field, i) => info.addResultColumn(field.name, copiers[i]!.duckType));
      info.setCardinality(rows, true);
    },
    initFunction: (info) => {
      load();
      // One scanning thread: the state below is a single cursor.
      info.setMaxThreads(1);
      info.setInitData({ columns: info.getColumnIndexes(), batch: 0, row: 0 } satisfies ScanState);
    },
    mainFunction: (info, out) => {
      const state = info.getInitData() as ScanState;
      const all = load();
      while (state.batch < all.length && state.row >= all[state.batch]!.numRows) {
        state.batch++;
        state.row = 0;
      }
      const batch = all[state.batch];
      if (!batch) {
        out.rowCount = 0;
        return;
      }
      fillChunk(batch, state, copiers, out);
    },
  });
  connection.registerTableFunction(tableFunction);
  await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quotedIdentifier(schema)}`);
  await connection.run(`CREATE VIEW ${quotedIdentifier(schema)}.${quotedIdentifier(table)} AS SELECT * FROM ${quotedIdentifier(name)}()`);
  return { tableFunction, failure: () => failure };
}
