// Reading Arrow IPC files for inspection. `arrowFooter` answers "how many rows, which columns" from
// the file footer and the record batch headers alone, so listing a 250 MB minutes file stays instant;
// `arrowBatches` reads the batches one at a time (never the whole file), `scanArrow` walks them once
// for per-column statistics and `arrowRows` streams a range of rows. Everything read is verified first
// (./arrowVerify.ts): a damaged file is an ArrowFileError that names it, never a crash or a hang.
// An artifact may also be a folder of Arrow files with one schema (ingest's minutes.arrow/, one file per
// month): it reads as one table, its files in name order, its batches numbered across them.
import { readdirSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { DataType, DateUnit, Message, MetadataVersion, RecordBatchReader, type Field, type RecordBatch, type Schema, type Vector } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { ArtifactError } from './artifacts.ts';
import { checkBatch, verifyFooter, verifyMessage } from './arrowVerify.ts';
import type { RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';

const MAGIC = 'ARROW1';
/** The file ends with an int32 footer length and the 6-byte magic. */
const TRAILER = 4 + MAGIC.length;
/** The leading magic padded to 8 bytes: the first message starts here. */
const FIRST_MESSAGE = 8;

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
  /** Rows of each record batch, in file order. */
  readonly batchRows: readonly number[];
  readonly columns: readonly ArrowColumn[];
  /** A folder: each file with its own footer, in order (its batches follow the previous file's). */
  readonly parts?: readonly { readonly path: string; readonly footer: ArrowFooterInfo }[];
}

export class ArrowFileError extends ArtifactError {}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Anything that is not a system error (ENOENT, EACCES…) means the bytes are not a valid Arrow file. */
function damaged(path: string, what: string, error: unknown): unknown {
  if (error instanceof ArrowFileError || (error as NodeJS.ErrnoException | undefined)?.code !== undefined) return error;
  return new ArrowFileError(`${path}: damaged Arrow file: ${what}: ${messageOf(error)}`);
}

/** The Arrow files an artifact is made of: itself, or a folder's `*.arrow` files in name order. */
export function arrowParts(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => name.endsWith('.arrow'))
    .sort()
    .map((name) => join(path, name));
}

/** Schema, row count and null counts from the footers and batch headers; no column data is read. */
export async function arrowFooter(path: string): Promise<ArrowFooterInfo> {
  const files = arrowParts(path);
  if (files.length === 1 && files[0] === path) return fileFooter(path);
  if (files.length === 0) throw new ArrowFileError(`${path}: a folder without Arrow files`);
  const parts: { path: string; footer: ArrowFooterInfo }[] = [];
  for (const file of files) parts.push({ path: file, footer: await fileFooter(file) });
  const first = parts[0]!.footer;
  const describe = (f: ArrowFooterInfo) => f.columns.map((c) => `${c.name}: ${c.type}`).join(', ');
  for (const part of parts) {
    if (describe(part.footer) !== describe(first)) {
      throw new ArrowFileError(`${part.path}: its columns (${describe(part.footer)}) differ from ${parts[0]!.path}'s (${describe(first)})`);
    }
  }
  return {
    schema: first.schema,
    rows: parts.reduce((sum, p) => sum + p.footer.rows, 0),
    batches: parts.reduce((sum, p) => sum + p.footer.batches, 0),
    batchRows: parts.flatMap((p) => p.footer.batchRows),
    columns: first.columns.map((column, i) => ({ ...column, nullCount: parts.reduce((sum, p) => sum + p.footer.columns[i]!.nullCount, 0) })),
    parts,
  };
}

async function fileFooter(path: string): Promise<ArrowFooterInfo> {
  const file = await open(path, 'r');
  try {
    return await readFooter(file, path);
  } finally {
    await file.close();
  }
}

async function readFooter(file: FileHandle, path: string): Promise<ArrowFooterInfo> {
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
  const footerStart = size - TRAILER - footerLength;
  if (footerLength <= 0 || footerStart < FIRST_MESSAGE) {
    throw new ArrowFileError(`${path}: corrupt Arrow footer length ${footerLength}`);
  }
  let footer: Footer;
  try {
    const bytes = await read(footerStart, footerLength);
    verifyFooter(bytes);
    footer = Footer.decode(bytes);
  } catch (error) {
    throw damaged(path, 'the footer', error);
  }
  if (footer.version < MetadataVersion.V4) {
    throw new ArrowFileError(`${path}: Arrow metadata version V${footer.version + 1} is not supported (V4 or later)`);
  }
  const fields = footer.schema.fields;
  const nodesPerBatch = fields.reduce((sum, field) => sum + countNodes(field), 0);
  const nullCounts = fields.map(() => 0);
  const batchRows: number[] = [];
  const blocks = (kind: string, count: number, at: (i: number) => ReturnType<Footer['getRecordBatch']>) =>
    Array.from({ length: count }, (_, i) => {
      try {
        const block = at(i);
        if (!block) throw new Error('missing');
        return block;
      } catch (error) {
        throw damaged(path, `${kind} ${i}'s place in the footer`, error);
      }
    });
  const readBlock = async (kind: string, i: number, block: NonNullable<ReturnType<Footer['getRecordBatch']>>) => {
    const what = `${kind} ${i}`;
    if (block.offset < FIRST_MESSAGE || block.metaDataLength < 8 || block.bodyLength < 0 || block.offset + block.metaDataLength + block.bodyLength > footerStart) {
      throw new ArrowFileError(`${path}: damaged Arrow file: ${what} lies outside the file (offset ${block.offset}, ${block.metaDataLength} + ${block.bodyLength} bytes)`);
    }
    const metadata = await read(block.offset, block.metaDataLength);
    try {
      // Since format 0.15 each message starts with a 0xFFFFFFFF continuation marker and its length.
      const start = metadata.readUInt32LE(0) === 0xffffffff ? 8 : 4;
      const length = metadata.readInt32LE(start - 4);
      if (length <= 0 || start + length > metadata.length) throw new Error(`message length ${length}`);
      const bytes = metadata.subarray(start, start + length);
      verifyMessage(bytes);
      const message = Message.decode(bytes);
      if (message.bodyLength !== block.bodyLength) throw new Error(`body of ${message.bodyLength} bytes, the footer says ${block.bodyLength}`);
      return message;
    } catch (error) {
      throw damaged(path, what, error);
    }
  };
  const checkHeader = (header: RecordBatchHeader, bodyLength: number) => {
    if (header.nodes.length !== nodesPerBatch) throw new Error(`${header.nodes.length} field nodes for ${nodesPerBatch} columns and children`);
    for (const node of header.nodes) {
      if (node.length < 0 || node.nullCount < 0 || node.nullCount > node.length) throw new Error(`a field node of ${node.length} rows with ${node.nullCount} nulls`);
    }
    for (const buffer of header.buffers) {
      if (buffer.offset < 0 || buffer.length < 0 || buffer.offset + buffer.length > bodyLength) {
        throw new Error(`a buffer (offset ${buffer.offset}, ${buffer.length} bytes) outside the ${bodyLength}-byte body`);
      }
    }
    let node = 0;
    for (const field of fields) {
      if (header.nodes[node]!.length !== header.length) throw new Error(`column "${field.name}" has ${header.nodes[node]!.length} rows, the batch ${header.length}`);
      node += countNodes(field);
    }
  };
  for (const [i, block] of blocks('dictionary batch', footer.numDictionaries, (k) => footer.getDictionaryBatch(k)).entries()) {
    const message = await readBlock('dictionary batch', i, block);
    if (!message.isDictionaryBatch()) throw new ArrowFileError(`${path}: damaged Arrow file: dictionary batch ${i} is not a dictionary batch`);
  }
  for (const [i, block] of blocks('record batch', footer.numRecordBatches, (k) => footer.getRecordBatch(k)).entries()) {
    const message = await readBlock('record batch', i, block);
    if (!message.isRecordBatch()) throw new ArrowFileError(`${path}: damaged Arrow file: record batch ${i} is not a record batch`);
    try {
      const header = message.header() as RecordBatchHeader;
      checkHeader(header, block.bodyLength);
      batchRows.push(header.length);
      // Field nodes are the schema flattened depth-first: a top-level field's node comes before its
      // children's, so skip over the children to reach the next top-level field.
      let node = 0;
      fields.forEach((field, c) => {
        nullCounts[c] = (nullCounts[c] ?? 0) + (header.nodes[node]?.nullCount ?? 0);
        node += countNodes(field);
      });
    } catch (error) {
      throw damaged(path, `record batch ${i}`, error);
    }
  }
  return {
    schema: footer.schema,
    rows: batchRows.reduce((a, b) => a + b, 0),
    batches: footer.numRecordBatches,
    batchRows,
    columns: fields.map((field, i) => ({
      name: field.name,
      type: String(field.type),
      nullable: field.nullable,
      nullCount: nullCounts[i] ?? 0,
    })),
  };
}

/**
 * The record batches at `indexes` (default all), one at a time: only the batch being read is in
 * memory. The footer is verified first (pass it when already read); each batch is checked after decoding.
 */
export async function* arrowBatches(
  path: string,
  options: { footer?: ArrowFooterInfo; indexes?: readonly number[] } = {},
): AsyncGenerator<{ readonly index: number; readonly batch: RecordBatch }> {
  const footer = options.footer ?? (await arrowFooter(path));
  const indexes = options.indexes ?? footer.batchRows.map((_, i) => i);
  if (indexes.length === 0) return;
  if (footer.parts) {
    // A folder: each file's share of the batches asked for, numbered across the files.
    let offset = 0;
    for (const part of footer.parts) {
      const count = part.footer.batches;
      const local = indexes.filter((i) => i >= offset && i < offset + count).map((i) => i - offset);
      for await (const { index, batch } of arrowBatches(part.path, { footer: part.footer, indexes: local })) yield { index: index + offset, batch };
      offset += count;
    }
    return;
  }
  const file = await open(path, 'r');
  try {
    const reader = await RecordBatchReader.from(file);
    await reader.open();
    for (const index of indexes) {
      let batch: RecordBatch | null;
      try {
        batch = await reader.readRecordBatch(index);
        if (!batch) throw new Error('could not be read');
        checkBatch(batch);
      } catch (error) {
        throw damaged(path, `record batch ${index}`, error);
      }
      yield { index, batch };
    }
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
  // Beyond JavaScript's ±273,790 years (damaged or garbage data): say so rather than "NaN-NaN-NaN".
  if (Number.isNaN(d.getTime())) return `invalid date (${ms} ms)`;
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

function rowOf(batch: RecordBatch, index: number): ArrowValue[] {
  return batch.schema.fields.map((field, c) => displayValue(field.type as DataType, batch.getChildAt(c)?.get(index)));
}

/** One pass over every record batch: column statistics, the first `head` and the last `tail` rows. */
export async function scanArrow(path: string, options: { head: number; tail: number }): Promise<ArrowScan> {
  const footer = await arrowFooter(path);
  const schema = footer.schema;
  const accumulators = schema.fields.map((field) => new Accumulator(field, kindOf(field.type as DataType)));
  let rows = 0;
  const head: ArrowValue[][] = [];
  let tail: ArrowValue[][] = [];
  for await (const { batch } of arrowBatches(path, { footer })) {
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
  return { rows, columns: accumulators.map((acc) => acc.result()), head, tail: options.tail > 0 ? tail : [] };
}

/** Rows handed over per call of arrowRows' callback: bounded however large a record batch is. */
const ROWS_PER_CALL = 4096;

/**
 * Rows [from, to) of the file as display values, streamed: `onRows` gets them a few thousand at a
 * time, and only the record batches holding them are read.
 */
export async function arrowRows(
  path: string,
  from: number,
  to: number,
  onRows: (rows: readonly (readonly ArrowValue[])[]) => Promise<void> | void,
  footer?: ArrowFooterInfo,
): Promise<void> {
  const info = footer ?? (await arrowFooter(path));
  const starts: number[] = [];
  let at = 0;
  for (const n of info.batchRows) {
    starts.push(at);
    at += n;
  }
  const indexes = info.batchRows.map((_, i) => i).filter((i) => starts[i]! < to && starts[i]! + info.batchRows[i]! > from);
  for await (const { index, batch } of arrowBatches(path, { footer: info, indexes })) {
    const first = Math.max(from, starts[index]!) - starts[index]!;
    const last = Math.min(to, starts[index]! + batch.numRows) - starts[index]!;
    for (let i = first; i < last; i += ROWS_PER_CALL) {
      const rows: ArrowValue[][] = [];
      for (let k = i; k < Math.min(last, i + ROWS_PER_CALL); k++) rows.push(rowOf(batch, k));
      await onRows(rows);
    }
  }
}
