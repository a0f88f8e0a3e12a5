// Reading Arrow IPC files for inspection. `arrowFooter` answers "how many rows, which columns" from
// the file footer and the record batch headers alone, so listing a 250 MB minutes file stays instant;
// `scanArrow` walks the batches once for per-column statistics and the first/last rows.
import { open, readFile } from 'node:fs/promises';
import { DataType, DateUnit, Message, RecordBatchReader, type Field, type Schema, type Vector } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { ArtifactError } from './artifacts.ts';
import type { RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';

const MAGIC = 'ARROW1';
/** The file ends with an int32 footer length and the 6-byte magic. */
const TRAILER = 4 + MAGIC.length;

export interface ArrowColumn {
  readonly name: string;
  /** Arrow's own type name, e.g. Float64, Date32<DAY>, Timestamp<SECOND>. */
  readonly type: string;
  readonly nullable: boolean;
  readonly nullCount: number;
}

export interface ArrowFooterInfo {
  readonly schema: Schema;
  readonly rows: number;
  readonly batches: number;
  readonly columns: readonly ArrowColumn[];
}

export class ArrowFileError extends ArtifactError {}

/** Schema, row count and null counts from the footer and batch headers; no column data is read. */
export async function arrowFooter(path: string): Promise<ArrowFooterInfo> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const read = async (position: number, length: number) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, position);
      if (bytesRead !== length) throw new ArrowFileError(`${path}: truncated Arrow file (wanted ${length} bytes at ${position})`);
      return buffer;
    };
    if (size < MAGIC.length * 2 + TRAILER) throw new ArrowFileError(`${path}: not an Arrow IPC file (only ${size} bytes)`);
    const head = await read(0, MAGIC.length);
    const trailer = await read(size - TRAILER, TRAILER);
    if (head.toString('latin1') !== MAGIC || trailer.subarray(4).toString('latin1') !== MAGIC) {
      throw new ArrowFileError(`${path}: not an Arrow IPC file (expected the "${MAGIC}" magic at both ends)`);
    }
    const footerLength = trailer.readInt32LE(0);
    if (footerLength <= 0 || footerLength > size - TRAILER) {
      throw new ArrowFileError(`${path}: corrupt Arrow footer length ${footerLength}`);
    }
    const footer = Footer.decode(await read(size - TRAILER - footerLength, footerLength));
    const fields = footer.schema.fields;
    const nullCounts = fields.map(() => 0);
    let rows = 0;
    for (const block of footer.recordBatches()) {
      const metadata = await read(Number(block.offset), block.metaDataLength);
      // Since format 0.15 each message starts with a 0xFFFFFFFF continuation marker and its length.
      const start = metadata.readUInt32LE(0) === 0xffffffff ? 8 : 4;
      const message = Message.decode(metadata.subarray(start));
      if (!message.isRecordBatch()) continue;
      const header = message.header() as RecordBatchHeader;
      rows += header.length;
      // Field nodes are the schema flattened depth-first: a top-level field's node comes before its
      // children's, so skip over the children to reach the next top-level field.
      let node = 0;
      fields.forEach((field, i) => {
        nullCounts[i] = (nullCounts[i] ?? 0) + (header.nodes[node]?.nullCount ?? 0);
        node += countNodes(field);
      });
    }
    return {
      schema: footer.schema,
      rows,
      batches: footer.numRecordBatches,
      columns: fields.map((field, i) => ({
        name: field.name,
        type: String(field.type),
        nullable: field.nullable,
        nullCount: nullCounts[i] ?? 0,
      })),
    };
  } finally {
    await file.close();
  }
}

function countNodes(field: Field): number {
  return 1 + (field.type.children ?? []).reduce((sum: number, child: Field) => sum + countNodes(child), 0);
}

/** How a column is summarised: numbers get min/max/mean, dates and times min/max, the rest nulls only. */
type ColumnKind = 'number' | 'temporal' | 'other';

function kindOf(type: DataType): ColumnKind {
  if (DataType.isFloat(type) || DataType.isInt(type)) return 'number';
  if (DataType.isDate(type) || DataType.isTimestamp(type)) return 'temporal';
  return 'other';
}

export type ArrowValue = string | number | boolean | null;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Dates print as YYYY-MM-DD and timestamps as YYYY-MM-DD HH:MM:SS, always in UTC. */
export function formatUtc(ms: number, withTime: boolean): string {
  const d = new Date(ms);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  if (!withTime) return date;
  const millis = d.getUTCMilliseconds();
  return `${date} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${millis ? '.' + pad(millis, 3) : ''}`;
}

/** A displayable value for one cell. apache-arrow hands dates and timestamps over as epoch ms. */
function displayValue(type: DataType, value: unknown): ArrowValue {
  if (value === null || value === undefined) return null;
  if (DataType.isDate(type)) return formatUtc(Number(value), type.unit === DateUnit.MILLISECOND && Number(value) % 86_400_000 !== 0);
  if (DataType.isTimestamp(type)) return formatUtc(Number(value), true);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return String(value);
}

export interface ColumnStats {
  readonly name: string;
  readonly type: string;
  readonly nullable: boolean;
  /** Null cells, plus NaN for floating-point columns (the Kaggle CSV marks empty minutes with NaN). */
  readonly nulls: number;
  readonly min: ArrowValue;
  readonly max: ArrowValue;
  /** Arithmetic mean of the non-null numbers; null for non-numeric columns. */
  readonly mean: number | null;
}

export interface ArrowScan {
  readonly rows: number;
  readonly columns: readonly ColumnStats[];
  readonly head: readonly (readonly ArrowValue[])[];
  readonly tail: readonly (readonly ArrowValue[])[];
}

class Accumulator {
  nulls = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  constructor(readonly field: Field, readonly kind: ColumnKind) {}

  add(vector: Vector): void {
    if (this.kind === 'number') {
      for (const data of vector.data) {
        const values = data.values as ArrayLike<number | bigint>;
        const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
        for (let i = 0; i < data.length; i++) {
          // Sliced Data keeps its values sliced but its validity bitmap shared, hence the offset.
          const bit = data.offset + i;
          if (bitmap && ((bitmap[bit >> 3] ?? 0) & (1 << (bit & 7))) === 0) {
            this.nulls++;
            continue;
          }
          this.take(Number(values[i]));
        }
      }
    } else if (this.kind === 'temporal') {
      for (let i = 0; i < vector.length; i++) {
        const value = vector.get(i) as unknown;
        if (value === null || value === undefined) this.nulls++;
        else this.take(Number(value));
      }
    } else {
      this.nulls += vector.nullCount;
    }
  }

  private take(x: number): void {
    if (Number.isNaN(x)) {
      this.nulls++;
      return;
    }
    this.count++;
    this.sum += x;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  result(): ColumnStats {
    const type = this.field.type as DataType;
    const some = this.count > 0;
    const bound = (x: number): ArrowValue => (!some ? null : this.kind === 'temporal' ? displayValue(type, x) : x);
    return {
      name: this.field.name,
      type: String(type),
      nullable: this.field.nullable,
      nulls: this.nulls,
      min: this.kind === 'other' ? null : bound(this.min),
      max: this.kind === 'other' ? null : bound(this.max),
      mean: this.kind === 'number' && some ? this.sum / this.count : null,
    };
  }
}

/** One pass over every record batch: column statistics, the first `head` and the last `tail` rows. */
export async function scanArrow(path: string, options: { head: number; tail: number }): Promise<ArrowScan> {
  const reader = RecordBatchReader.from(await readFile(path));
  let schema: Schema | undefined;
  let accumulators: Accumulator[] = [];
  let rows = 0;
  const head: ArrowValue[][] = [];
  let tail: ArrowValue[][] = [];
  const rowOf = (batch: { schema: Schema; getChildAt(i: number): Vector | null }, index: number) =>
    batch.schema.fields.map((field, c) => displayValue(field.type as DataType, batch.getChildAt(c)?.get(index)));
  for (const batch of reader) {
    if (!schema) {
      schema = batch.schema;
      accumulators = schema.fields.map((field) => new Accumulator(field, kindOf(field.type as DataType)));
    }
    accumulators.forEach((acc, c) => {
      const vector = batch.getChildAt(c);
      if (vector) acc.add(vector);
    });
    for (let i = 0; i < batch.numRows && head.length < options.head; i++) head.push(rowOf(batch, i));
    const from = Math.max(0, batch.numRows - options.tail);
    for (let i = from; i < batch.numRows; i++) tail.push(rowOf(batch, i));
    if (tail.length > options.tail) tail = tail.slice(tail.length - options.tail);
    rows += batch.numRows;
  }
  if (!schema) {
    // A file with a schema and no batches still has columns worth listing.
    schema = reader.schema;
    accumulators = (schema?.fields ?? []).map((field) => new Accumulator(field, kindOf(field.type as DataType)));
  }
  return { rows, columns: accumulators.map((acc) => acc.result()), head, tail: options.tail > 0 ? tail : [] };
}
