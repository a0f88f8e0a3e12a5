// Arrow IPC files as the stages' interchange format: columns are built straight from typed arrays
// (zero-copy `makeData`), written batch by batch with RecordBatchFileWriter and read back batch by batch,
// so no stage ever holds a column as per-value JS objects.
import { createWriteStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import {
  DateDay,
  Field,
  Float64,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchReader,
  Schema,
  Struct,
  TimestampSecond,
  makeData,
  DataType,
  DateUnit,
  Precision,
  type Table,
  type TypeMap,
  type Vector,
  tableFromIPC,
} from 'apache-arrow';

export const float64 = () => new Float64();

/** Types read back from a file are generic (Float, Date_), not the Float64/DateDay subclasses: test the fields. */
export function isFloat64(type: DataType): boolean {
  return DataType.isFloat(type) && type.precision === Precision.DOUBLE;
}

export function isDateDay(type: DataType): boolean {
  return DataType.isDate(type) && type.unit === DateUnit.DAY;
}
export const dateDay = () => new DateDay();
export const timestampSecondUtc = () => new TimestampSecond('UTC');

/** One column of a batch: values plus an optional Arrow validity bitmap (bit set = value present). */
export interface ColumnData {
  readonly type: DataType;
  readonly values: Float64Array | Int32Array | BigInt64Array;
  readonly validity?: Uint8Array;
  readonly nullCount?: number;
}

export function schemaOf(columns: readonly (readonly [name: string, type: DataType, nullable?: boolean])[]): Schema {
  return new Schema(columns.map(([name, type, nullable]) => new Field(name, type, nullable ?? false)));
}

/** A record batch over the given typed arrays, without copying them. */
export function batchOf(schema: Schema, length: number, columns: readonly ColumnData[]): RecordBatch {
  const children = columns.map((column) =>
    makeData({
      type: column.type as Float64,
      length,
      nullCount: column.nullCount ?? 0,
      nullBitmap: column.nullCount ? column.validity : undefined,
      data: column.values as Float64Array,
    }),
  );
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new RecordBatch(schema, data);
}

/** Streams record batches into an Arrow IPC *file* at `path`. Call `close()` once, after the last batch. */
export class ArrowFileSink {
  readonly #writer = new RecordBatchFileWriter();
  readonly #done: Promise<void>;
  #batches = 0;

  constructor(
    path: string,
    readonly schema: Schema,
  ) {
    this.#done = pipeline(this.#writer.toNodeStream(), createWriteStream(path));
  }

  write(batch: RecordBatch): void {
    this.#writer.write(batch);
    this.#batches++;
  }

  /** Writes the footer and waits until the file is on disk. A file with no rows still carries its schema. */
  async close(): Promise<void> {
    if (this.#batches === 0) this.write(emptyBatch(this.schema));
    this.#writer.finish();
    await this.#done;
  }

  /** Ends the stream early (on failure or restart); the file left behind is incomplete: remove or overwrite it. */
  async abort(): Promise<void> {
    // close() rather than abort(): abort() errors the node stream with a non-Error and the pipe never settles.
    this.#writer.close();
    await this.#done.catch(() => undefined);
  }
}

function emptyBatch(schema: Schema): RecordBatch {
  return batchOf(
    schema,
    0,
    schema.fields.map((field) => ({
      type: field.type,
      values: isDateDay(field.type) ? new Int32Array(0) : isFloat64(field.type) ? new Float64Array(0) : new BigInt64Array(0),
    })),
  );
}

/** Writes a whole (small) table of columns as one record batch. */
export async function writeArrowFile(path: string, schema: Schema, length: number, columns: readonly ColumnData[]) {
  const sink = new ArrowFileSink(path, schema);
  try {
    sink.write(batchOf(schema, length, columns));
  } catch (error) {
    await sink.abort();
    throw error;
  }
  await sink.close();
}

/** Reads an Arrow IPC file one record batch at a time, through a file handle (not the whole file). */
export async function* readArrowBatches<T extends TypeMap = TypeMap>(path: string): AsyncGenerator<RecordBatch<T>> {
  const handle = await open(path, 'r');
  try {
    const reader = await RecordBatchReader.from<T>(handle);
    for await (const batch of reader) yield batch;
  } finally {
    await handle.close();
  }
}

/** Reads a small Arrow IPC file whole. */
export async function readArrowTable<T extends TypeMap = TypeMap>(path: string): Promise<Table<T>> {
  return tableFromIPC<T>(await readFile(path));
}

/** The column `name` of a table; without one, an error naming `where` and the columns there are. */
function requireColumn(table: Table, name: string, where: string): Vector {
  const column = table.getChild(name);
  if (column === null) throw new Error(`${where}: expected a column "${name}", found ${table.schema.fields.map((f) => `"${f.name}"`).join(', ')}`);
  return column;
}

/** Copies a column's record-batch chunks one after another into `into` (as long as the column). */
function concatChunks<A extends Float64Array | Int32Array>(column: Vector, into: A): A {
  let offset = 0;
  for (const data of column.data) {
    into.set((data.values as A).subarray(0, data.length), offset);
    offset += data.length;
  }
  return into;
}

/**
 * A float64 column of a table as one contiguous Float64Array. Every value must be present and finite: a
 * NaN or an infinity would otherwise flow silently into a scaler, the pairs and the model.
 */
export function float64Column(table: Table, name: string, where: string): Float64Array {
  const column = requireColumn(table, name, where);
  if (!isFloat64(column.type)) throw new Error(`${where}: column "${name}" should be float64, is ${String(column.type)}`);
  if (column.nullCount > 0) throw new Error(`${where}: column "${name}" has ${column.nullCount} null values; expected none`);
  const values = concatChunks(column, new Float64Array(column.length));
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      let count = 0;
      for (let j = i; j < values.length; j++) if (!Number.isFinite(values[j]!)) count++;
      throw new Error(`${where}: column "${name}" has ${count} non-finite values (the first, at row ${i + 1} of ${values.length}, is ${values[i]}); expected finite numbers`);
    }
  }
  return values;
}

/** A DateDay column as days since 1970-01-01 (UTC). */
export function dateDayColumn(table: Table, name: string, where: string): Int32Array {
  const column = requireColumn(table, name, where);
  if (!isDateDay(column.type)) throw new Error(`${where}: column "${name}" should be a date (day), is ${String(column.type)}`);
  return concatChunks(column, new Int32Array(column.length));
}

/** `YYYY-MM-DD` of a day number (days since the Unix epoch), always UTC. */
export function isoDate(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}
