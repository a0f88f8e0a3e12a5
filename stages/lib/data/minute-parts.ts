// ingest's minutes as a folder of Arrow IPC files, one per UTC month (`minutes.arrow/2014-09.arrow`),
// each sorted by timestamp, so that a day appended to the source rewrites one small file and leaves the
// others as they are. A part's bytes depend only on the minutes of its month (record batches of
// BATCH_ROWS counted from the part's first row), so a part is the same file whether it was written in
// one go or rebuilt from its previous version plus new rows: a refresh and a run from scratch agree
// byte for byte. Readers take the parts in name order as one table; aggregate also checks that each
// part holds only its own month, which is what lets it trust the parts a refresh left unchanged.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AsyncByteQueue, RecordBatchFileWriter, RecordBatchReader, type RecordBatch } from 'apache-arrow';
import { AlignedBuffer, readDirect } from '../../../pipeline/contract/direct-io.ts';
import { batchOf, float64, schemaOf, timestampSecondUtc } from './arrow.ts';

/** The value columns of minutes.arrow, after the timestamp. */
export const MINUTE_VALUE_COLUMNS = ['open', 'high', 'low', 'close', 'volume_btc', 'volume_usd', 'weighted_price'] as const;
const VALUE_COLUMNS = MINUTE_VALUE_COLUMNS.length;

/**
 * `timestamp` is Arrow Timestamp(SECOND, "UTC") (int64 unix seconds underneath), sorted ascending and
 * unique; the seven value columns are float64, null where the minute had no trade.
 */
export const MINUTES_SCHEMA = schemaOf([
  ['timestamp', timestampSecondUtc(), false],
  ...MINUTE_VALUE_COLUMNS.map((name) => [name, float64(), true] as const),
]);

/** Rows per Arrow record batch: large enough for cheap IPC framing, small enough to keep memory flat. */
export const BATCH_ROWS = 64 * 1024;

const PART = /^(\d{4})-(\d{2})\.arrow$/;

export interface Month {
  /** The part's file name, e.g. 2014-09.arrow. */
  readonly name: string;
  /** Unix seconds of its first instant, and of the next month's (exclusive end). */
  readonly start: number;
  readonly end: number;
}

/** The UTC month of a unix time in seconds, and its part. */
export function monthOf(t: number): Month {
  const date = new Date(t * 1000);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return {
    name: `${String(year).padStart(4, '0')}-${String(month + 1).padStart(2, '0')}.arrow`,
    start: Date.UTC(year, month, 1) / 1000,
    end: Date.UTC(year, month + 1, 1) / 1000,
  };
}

/** The month a part's name stands for, or undefined for a name that is not a part's. */
export function monthOfPart(name: string): Month | undefined {
  const match = PART.exec(name);
  if (!match) return undefined;
  const start = Date.UTC(Number(match[1]), Number(match[2]) - 1, 1) / 1000;
  const month = monthOf(start);
  return month.name === name ? month : undefined;
}

/** The parts of a minutes folder in order; any other file there is an error naming it. */
export async function listParts(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).sort();
  const stray = names.find((name) => monthOfPart(name) === undefined);
  if (stray !== undefined) throw new Error(`${join(dir, stray)}: not a monthly part (expected names like 2014-09.arrow)`);
  return names;
}

/**
 * The record batches of one part. A part is one month (a few MB of 1-minute bars), so it is read whole:
 * cheaper than the file handle's small reads, and memory stays bounded by the largest month.
 */
export async function* readPart(path: string): AsyncGenerator<RecordBatch> {
  yield* RecordBatchReader.from(await readFile(path));
}

/**
 * Reads the parts of a folder in order into a few buffers used in turn, the next parts' reads already
 * under way while the caller works through the current one: no new 3 MB buffer per month for the
 * garbage collector, no wait between parts. Each part's batches are views of its buffer, valid only
 * until the caller asks for the next part: use them before that, and keep nothing of them.
 */
export async function* readParts(dir: string, parts: readonly string[]): AsyncGenerator<{ part: string; batches: Iterable<RecordBatch> }> {
  // Past the page cache where the platform allows it (the parts were written so): see contract/direct-io.ts.
  const buffers = Array.from({ length: READ_AHEAD + 1 }, () => new AlignedBuffer());
  let direct = true;
  const read = async (index: number) => {
    const path = join(dir, parts[index]!);
    if (direct) {
      const bytes = await readDirect(path, buffers[index % buffers.length]!);
      if (bytes) return bytes;
      direct = false;
    }
    return readFile(path);
  };
  const pending: Promise<Uint8Array>[] = [];
  const ask = (index: number) => {
    if (index >= parts.length) return;
    const reading = read(index);
    // A failed read ahead surfaces when its part is asked for, not as an unhandled rejection before.
    reading.catch(() => undefined);
    pending.push(reading);
  };
  for (let i = 0; i < READ_AHEAD; i++) ask(i);
  for (let i = 0; i < parts.length; i++) {
    const bytes = await pending.shift()!;
    // The buffer of the part before this one is free again: the caller is done with it.
    ask(i + READ_AHEAD);
    yield { part: parts[i]!, batches: RecordBatchReader.from(bytes) };
  }
}

/** Parts read ahead of the one being summed (each read in its own buffer, on the thread pool). */
const READ_AHEAD = 3;

/** Rows of minutes in columns: the timestamps as int32 pairs (low, high), each value column with its validity. */
export interface MinuteColumns {
  readonly timestamps: Int32Array;
  readonly values: readonly Float64Array[];
  /** Arrow layout (LSB first, bit set = present); null when every value is present. */
  readonly validity: readonly (Uint8Array | null)[];
}

/** The rows of a record batch of minutes.arrow as MinuteColumns (views, no copy). */
export function columnsOf(batch: RecordBatch): MinuteColumns {
  const ts = batch.getChildAt(0)!.data[0]!;
  const raw = ts.values as BigInt64Array;
  const data = MINUTE_VALUE_COLUMNS.map((name) => batch.getChild(name)!.data[0]!);
  return {
    timestamps: new Int32Array(raw.buffer, raw.byteOffset, raw.length * 2),
    values: data.map((d) => d.values as Float64Array),
    validity: data.map((d) => (d.nullCount > 0 ? (d.nullBitmap as Uint8Array) : null)),
  };
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, byte) => {
  let bits = 0;
  for (let b = byte; b > 0; b >>= 1) bits += b & 1;
  return bits;
});

/**
 * Copies `count` validity bits from `src` (from bit `from`; null = all present) to `dst` (from bit `at`,
 * whose bits there must still be 0), whole bytes at a time once `dst` is byte-aligned. Returns how many
 * of the copied bits are 0 (nulls).
 */
export function copyBits(src: Uint8Array | null, from: number, dst: Uint8Array, at: number, count: number): number {
  let i = 0;
  let nulls = 0;
  // Bit by bit up to dst's next byte boundary, then whole bytes, then the bits left over.
  const head = Math.min(count, (8 - (at & 7)) & 7);
  for (; i < head; i++) nulls += copyBit(src, from + i, dst, at + i);
  const shift = (from + i) & 7;
  let s = (from + i) >> 3;
  let d = (at + i) >> 3;
  for (; count - i >= 8; i += 8, s++, d++) {
    const byte = src === null ? 0xff : shift === 0 ? src[s]! : ((src[s]! >> shift) | ((src[s + 1] ?? 0) << (8 - shift))) & 0xff;
    dst[d] = byte;
    nulls += 8 - POPCOUNT[byte]!;
  }
  for (; i < count; i++) nulls += copyBit(src, from + i, dst, at + i);
  return nulls;
}

/** Copies one validity bit; returns 1 when it is a null. */
function copyBit(src: Uint8Array | null, from: number, dst: Uint8Array, at: number): number {
  if (src !== null && ((src[from >> 3]! >> (from & 7)) & 1) === 0) return 1;
  dst[at >> 3]! |= 1 << (at & 7);
  return 0;
}

/** The bits of validity byte `b` that hold rows [at, end] (inclusive). */
function rangeMask(b: number, at: number, end: number): number {
  return (b === at >> 3 ? (0xff << (at & 7)) & 0xff : 0xff) & (b === end >> 3 ? 0xff >> (7 - (end & 7)) : 0xff);
}

/** The buffers of one record batch being filled: timestamps, and each value column with its validity. */
interface BatchBuffers {
  readonly timestamps: Int32Array;
  readonly values: Float64Array[];
  readonly validity: Uint8Array[];
}

/**
 * Batch buffers used again once the part that held them is written: a month's 3 MB of columns is
 * neither allocated nor freed per batch. (On a VM that hands freed memory back to its host, touching
 * fresh memory is what a big write costs most.)
 */
class BufferPool {
  readonly #free: BatchBuffers[] = [];

  take(): BatchBuffers {
    const reused = this.#free.pop();
    if (!reused) {
      return { timestamps: new Int32Array(2 * BATCH_ROWS), values: fresh(() => new Float64Array(BATCH_ROWS)), validity: fresh(() => new Uint8Array(BATCH_ROWS / 8)) };
    }
    // copy() needs the validity bits of rows not yet written to be 0.
    for (const validity of reused.validity) validity.fill(0);
    return reused;
  }

  give(buffers: readonly BatchBuffers[]): void {
    this.#free.push(...buffers);
  }
}

/** Kept rows gathered into the columns of one record batch. */
class MinuteBatch {
  length = 0;
  #buffers: BatchBuffers;
  readonly #nulls = new Array<number>(VALUE_COLUMNS).fill(0);

  constructor(private readonly pool: BufferPool) {
    this.#buffers = pool.take();
  }

  /**
   * Appends rows [from, to) of `rows`, at most up to BATCH_ROWS. Null slots get the value 0 (what a
   * source leaves there is unspecified, and the file's bytes must be reproducible). Returns how many of
   * the rows have no value at all.
   */
  copy(rows: MinuteColumns, from: number, to: number): number {
    const at = this.length;
    const n = to - from;
    if (n <= 0) return 0;
    const { timestamps, values, validity } = this.#buffers;
    timestamps.set(rows.timestamps.subarray(2 * from, 2 * to), 2 * at);
    // The bytes of the validity bitmaps that hold rows [at, at + n), and which of their bits those are.
    const end = at + n - 1;
    const firstByte = at >> 3;
    const lastByte = end >> 3;
    for (let c = 0; c < VALUE_COLUMNS; c++) {
      const target = values[c]!;
      target.set(rows.values[c]!.subarray(from, to), at);
      const bits = validity[c]!;
      const nulls = copyBits(rows.validity[c]!, from, bits, at, n);
      if (nulls === 0) continue;
      this.#nulls[c]! += nulls;
      for (let b = firstByte; b <= lastByte; b++) {
        const missing = ~bits[b]! & rangeMask(b, at, end) & 0xff;
        if (missing === 0) continue;
        for (let k = 0; k < 8; k++) if ((missing >> k) & 1) target[8 * b + k] = 0;
      }
    }
    this.length += n;
    // Rows with no value at all: no column's bit is set.
    let empty = 0;
    for (let b = firstByte; b <= lastByte; b++) {
      let any = 0;
      for (let c = 0; c < VALUE_COLUMNS; c++) any |= validity[c]![b]!;
      empty += POPCOUNT[~any & rangeMask(b, at, end) & 0xff]!;
    }
    return empty;
  }

  /**
   * The rows so far as a record batch over views of exactly their length (no copy), and the buffers
   * they live in, which the caller gives back to the pool once the batch is written; the next rows go
   * into buffers from the pool.
   */
  take(): { batch: RecordBatch; buffers: BatchBuffers } {
    const length = this.length;
    const bytes = Math.ceil(length / 8);
    const buffers = this.#buffers;
    const columns = [
      { type: MINUTES_SCHEMA.fields[0]!.type, values: new BigInt64Array(buffers.timestamps.buffer, buffers.timestamps.byteOffset, length) },
      ...buffers.values.map((values, c) => ({
        type: MINUTES_SCHEMA.fields[c + 1]!.type,
        values: values.subarray(0, length),
        validity: buffers.validity[c]!.subarray(0, bytes),
        nullCount: this.#nulls[c]!,
      })),
    ];
    const batch = batchOf(MINUTES_SCHEMA, length, columns);
    this.length = 0;
    this.#nulls.fill(0);
    this.#buffers = this.pool.take();
    return { batch, buffers };
  }
}

function fresh<T>(make: () => T): T[] {
  return Array.from({ length: VALUE_COLUMNS }, make);
}

/** Writes a finished part's bytes, in order (e.g. through the runner's hashing writer); default: a plain file write. */
export type SavePart = (name: string, chunks: readonly Uint8Array[]) => Promise<void>;

/** Parts being written at once: a few months' bytes (~3 MB each) in memory at most. */
const PENDING_PARTS = 4;

/**
 * Writes sorted minutes into the monthly parts of a folder. The caller calls `enter(t)` before the rows
 * of a run at timestamp t (it opens t's part, closing the one before) and keeps each copied run inside
 * the month and inside `room()`. A part's record batches are kept in memory until its month ends, then
 * serialised as one Arrow IPC file and written in one go while the next month fills: no stream to drain
 * per month, and the bytes go to `save` whole (the runner hashes them on the way).
 */
export class MinutePartsWriter {
  /** Names of the parts written, in order. */
  readonly parts: string[] = [];
  #month: Month | undefined;
  #batches: RecordBatch[] = [];
  /** The buffers the current part's batches live in. */
  #held: BatchBuffers[] = [];
  readonly #pool = new BufferPool();
  #batch = new MinuteBatch(this.#pool);
  #emptyRows = 0;
  #pending: Promise<void>[] = [];
  readonly #onOpen?: (month: Month, writer: MinutePartsWriter) => Promise<void>;
  readonly #save: SavePart;

  /** `onOpen` runs when a part is opened, before its first row: e.g. to copy in the rows it had. */
  constructor(
    readonly dir: string,
    options: { onOpen?: (month: Month, writer: MinutePartsWriter) => Promise<void>; save?: SavePart } = {},
  ) {
    this.#onOpen = options.onOpen;
    this.#save = options.save ?? ((name, chunks) => writeFile(join(dir, name), chunks));
  }

  /** Rows without any value written so far (minutes without trade, as all-NaN rows). */
  get emptyRows(): number {
    return this.#emptyRows;
  }

  /** Makes t's month the current part; returns its exclusive end. Months only move forward. */
  async enter(t: number): Promise<number> {
    if (this.#month && t >= this.#month.start && t < this.#month.end) return this.#month.end;
    const month = monthOf(t);
    if (this.#month && month.start < this.#month.end) throw new Error(`minutes out of order: ${t} after the month ${this.#month.name}`);
    await this.#closePart();
    this.#month = month;
    this.parts.push(month.name);
    await this.#onOpen?.(month, this);
    return month.end;
  }

  /** Rows the current record batch can still take. */
  room(): number {
    return BATCH_ROWS - this.#batch.length;
  }

  /** Appends rows [from, to) (inside the current month, at most `room()` of them). */
  copy(rows: MinuteColumns, from: number, to: number): void {
    this.#emptyRows += this.#batch.copy(rows, from, to);
    if (this.#batch.length === BATCH_ROWS) this.#keep(this.#batch.take());
  }

  /** Appends every row of `rows` (n of them), batch by batch. */
  copyAll(rows: MinuteColumns, n: number): void {
    for (let from = 0; from < n; ) {
      const to = Math.min(n, from + this.room());
      this.copy(rows, from, to);
      from = to;
    }
  }

  async #closePart(): Promise<void> {
    const month = this.#month;
    if (!month) return;
    this.#month = undefined;
    if (this.#batch.length > 0) this.#keep(this.#batch.take());
    const chunks = partChunks(this.#batches);
    const held = this.#held;
    this.#batches = [];
    this.#held = [];
    // The buffers go back to the pool once the part's bytes (views of them) are written.
    const saving = this.#save(month.name, chunks).finally(() => this.#pool.give(held));
    // Awaited in close(); a failure is not lost meanwhile.
    saving.catch(() => undefined);
    this.#pending.push(saving);
    if (this.#pending.length >= PENDING_PARTS) await this.#pending.shift();
  }

  #keep({ batch, buffers }: { batch: RecordBatch; buffers: BatchBuffers }): void {
    this.#batches.push(batch);
    this.#held.push(buffers);
  }

  async close(): Promise<void> {
    await this.#closePart();
    const pending = this.#pending;
    this.#pending = [];
    await Promise.all(pending);
  }

  /** Stops writing; the current part is not written (the caller removes the folder). */
  async abort(): Promise<void> {
    this.#month = undefined;
    this.#batches = [];
    this.#held = [];
    const pending = this.#pending;
    this.#pending = [];
    await Promise.allSettled(pending);
  }
}

/** The writer's output collected as it comes: the chunks of the file, in order (views, not copies). */
class ChunkSink extends AsyncByteQueue {
  readonly chunks: Uint8Array[] = [];

  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.chunks.push(value);
  }
}

/**
 * A part's record batches as the chunks of one Arrow IPC file (a part without rows still has its
 * schema): the writer's own framing and padding, and the column buffers themselves, not copied.
 */
function partChunks(batches: readonly RecordBatch[]): Uint8Array[] {
  const sink = new ChunkSink();
  const writer = new RecordBatchFileWriter();
  writer.reset(sink);
  if (batches.length === 0) writer.write(new MinuteBatch(new BufferPool()).take().batch);
  for (const batch of batches) writer.write(batch);
  writer.finish();
  return sink.chunks;
}
