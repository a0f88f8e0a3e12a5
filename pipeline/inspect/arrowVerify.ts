// Checks an Arrow IPC file's metadata before apache-arrow decodes it. apache-arrow trusts the bytes: a
// flatbuffer offset or vector length that garbage has overwritten makes it read past the buffer
// (`Cannot read properties of null (reading 'fieldsLength')`), loop over two billion "fields", or throw
// a TypeError about a bigint. Arrow C++ (pyarrow) runs flatbuffers' Verifier on every message for this
// reason; this is the same check for the tables the file format uses (File.fbs, Schema.fbs,
// Message.fbs): every offset, vtable, string and vector inside the buffer, with depth and table limits.
// What passes is then decoded; batch contents are checked against their declared lengths after loading.
import { DataType, type Data, type RecordBatch } from 'apache-arrow';

/** A field of a flatbuffer table, by its slot in the vtable, named as in the .fbs files. */
type Slot = { readonly name: string } & (
  | { readonly kind: 'scalar'; readonly size: number }
  | { readonly kind: 'string' }
  | { readonly kind: 'table'; readonly table: () => TableSpec }
  /** A vector of scalars or structs: `size` bytes each. */
  | { readonly kind: 'vector'; readonly size: number }
  | { readonly kind: 'tables'; readonly table: () => TableSpec }
  /** A union's value: the table is chosen by the ubyte in slot `typeSlot`. */
  | { readonly kind: 'union'; readonly typeSlot: number; readonly tables: Readonly<Record<number, () => TableSpec>> }
);

type TableSpec = readonly Slot[];

const scalar = (name: string, size: number): Slot => ({ name, kind: 'scalar', size });
const string = (name: string): Slot => ({ name, kind: 'string' });
const table = (name: string, spec: () => TableSpec): Slot => ({ name, kind: 'table', table: spec });
const vector = (name: string, size: number): Slot => ({ name, kind: 'vector', size });
const tables = (name: string, spec: () => TableSpec): Slot => ({ name, kind: 'tables', table: spec });

// Schema.fbs. A union takes two slots: its type (ubyte) and its value (an offset).
const KeyValue: TableSpec = [string('key'), string('value')];
const IntType: TableSpec = [scalar('bitWidth', 4), scalar('is_signed', 1)];
const DictionaryEncoding: TableSpec = [scalar('id', 8), table('indexType', () => IntType), scalar('isOrdered', 1), scalar('dictionaryKind', 2)];
const unit = scalar('unit', 2);
/** Type union members, by their id in Schema.fbs (0 is NONE). */
const typeTables: Record<number, () => TableSpec> = {
  1: () => [], // Null
  2: () => IntType,
  3: () => [scalar('precision', 2)], // FloatingPoint
  4: () => [], // Binary
  5: () => [], // Utf8
  6: () => [], // Bool
  7: () => [scalar('precision', 4), scalar('scale', 4), scalar('bitWidth', 4)], // Decimal
  8: () => [unit], // Date
  9: () => [unit, scalar('bitWidth', 4)], // Time
  10: () => [unit, string('timezone')], // Timestamp
  11: () => [unit], // Interval
  12: () => [], // List
  13: () => [], // Struct_
  14: () => [scalar('mode', 2), vector('typeIds', 4)], // Union
  15: () => [scalar('byteWidth', 4)], // FixedSizeBinary
  16: () => [scalar('listSize', 4)], // FixedSizeList
  17: () => [scalar('keysSorted', 1)], // Map
  18: () => [unit], // Duration
  19: () => [], // LargeBinary
  20: () => [], // LargeUtf8
  21: () => [], // LargeList
  22: () => [], // RunEndEncoded
  23: () => [], // BinaryView
  24: () => [], // Utf8View
  25: () => [], // ListView
  26: () => [], // LargeListView
};
const Field: TableSpec = [
  string('name'),
  scalar('nullable', 1),
  scalar('type_type', 1),
  { name: 'type', kind: 'union', typeSlot: 2, tables: typeTables },
  table('dictionary', () => DictionaryEncoding),
  tables('children', () => Field),
  tables('custom_metadata', () => KeyValue),
];
const Schema: TableSpec = [scalar('endianness', 2), tables('fields', () => Field), tables('custom_metadata', () => KeyValue), vector('features', 8)];
// File.fbs: struct Block { offset: long; metaDataLength: int; bodyLength: long } is 24 bytes.
const Footer: TableSpec = [
  scalar('version', 2),
  table('schema', () => Schema),
  vector('dictionaries', 24),
  vector('recordBatches', 24),
  tables('custom_metadata', () => KeyValue),
];
// Message.fbs: struct FieldNode and struct Buffer are two longs each.
const RecordBatchTable: TableSpec = [
  scalar('length', 8),
  vector('nodes', 16),
  vector('buffers', 16),
  table('compression', () => [scalar('codec', 1), scalar('method', 1)]),
  vector('variadicBufferCounts', 8),
];
const DictionaryBatch: TableSpec = [scalar('id', 8), table('data', () => RecordBatchTable), scalar('isDelta', 1)];
const Message: TableSpec = [
  scalar('version', 2),
  scalar('header_type', 1),
  { name: 'header', kind: 'union', typeSlot: 1, tables: { 1: () => Schema, 2: () => DictionaryBatch, 3: () => RecordBatchTable } },
  scalar('bodyLength', 8),
  tables('custom_metadata', () => KeyValue),
];

/** Limits of flatbuffers' own Verifier (max_depth 64, max_tables 1,000,000). */
const MAX_DEPTH = 64;
const MAX_TABLES = 1_000_000;

/** The flatbuffer is not what it should be; the message says where. */
export class FlatbufferError extends Error {}

class Verifier {
  private tablesSeen = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(at: number, length: number, what: string): void {
    if (!Number.isInteger(at) || at < 0 || length < 0 || at + length > this.bytes.length) {
      throw new FlatbufferError(`${what} lies outside the ${this.bytes.length} bytes of metadata (at ${at}, ${length} bytes)`);
    }
  }

  private u32(at: number, what: string): number {
    this.need(at, 4, what);
    return this.view.getUint32(at, true);
  }

  /** The position an offset stored at `at` points to. */
  private follow(at: number, what: string): number {
    const target = at + this.u32(at, what);
    this.need(target, 4, what);
    return target;
  }

  root(spec: TableSpec, what: string): void {
    this.table(this.follow(0, what), spec, what, 0);
  }

  private table(at: number, spec: TableSpec, what: string, depth: number): void {
    if (depth > MAX_DEPTH) throw new FlatbufferError(`${what}: nested deeper than ${MAX_DEPTH} levels`);
    if (++this.tablesSeen > MAX_TABLES) throw new FlatbufferError(`more than ${MAX_TABLES} tables`);
    this.need(at, 4, what);
    const vtable = at - this.view.getInt32(at, true);
    this.need(vtable, 4, `${what} vtable`);
    const vtableSize = this.view.getUint16(vtable, true);
    const objectSize = this.view.getUint16(vtable + 2, true);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw new FlatbufferError(`${what}: a vtable of ${vtableSize} bytes`);
    this.need(vtable, vtableSize, `${what} vtable`);
    if (objectSize < 4) throw new FlatbufferError(`${what}: a table of ${objectSize} bytes`);
    this.need(at, objectSize, what);
    const fieldAt = (slot: number) => {
      const entry = 4 + 2 * slot;
      return entry + 2 <= vtableSize ? this.view.getUint16(vtable + entry, true) : 0;
    };
    spec.forEach((slot, i) => {
      const offset = fieldAt(i);
      if (offset === 0) return;
      const name = `${what}.${slot.name}`;
      const size = slot.kind === 'scalar' ? slot.size : 4;
      if (offset + size > objectSize) throw new FlatbufferError(`${name} lies outside its table`);
      const p = at + offset;
      switch (slot.kind) {
        case 'scalar':
          return;
        case 'string':
          return this.string(this.follow(p, name), name);
        case 'table':
          return this.table(this.follow(p, name), slot.table(), name, depth + 1);
        case 'vector':
          return void this.vector(this.follow(p, name), slot.size, name);
        case 'tables': {
          const v = this.follow(p, name);
          const n = this.vector(v, 4, name);
          for (let k = 0; k < n; k++) this.table(this.follow(v + 4 + 4 * k, `${name}[${k}]`), slot.table(), `${name}[${k}]`, depth + 1);
          return;
        }
        case 'union': {
          const typeOffset = fieldAt(slot.typeSlot);
          const type = typeOffset === 0 ? 0 : this.bytes[at + typeOffset]!;
          const member = slot.tables[type];
          if (!member) throw new FlatbufferError(`${name}: unknown type ${type}`);
          return this.table(this.follow(p, name), member(), name, depth + 1);
        }
      }
    });
  }

  /** Checks a vector's extent; returns its length. */
  private vector(at: number, elementSize: number, what: string): number {
    const n = this.u32(at, what);
    this.need(at + 4, n * elementSize, `${what} (a vector of ${n})`);
    return n;
  }

  private string(at: number, what: string): void {
    const n = this.u32(at, what);
    // Flatbuffers strings end with a NUL after their bytes.
    this.need(at + 4, n + 1, `${what} (a string of ${n} bytes)`);
  }
}

export function verifyFooter(bytes: Uint8Array): void {
  new Verifier(bytes).root(Footer, 'Footer');
}

export function verifyMessage(bytes: Uint8Array): void {
  new Verifier(bytes).root(Message, 'Message');
}

/** A column's Data agrees with its declared length: buffers long enough, offsets in range. */
function checkData(data: Data, where: string): void {
  const end = data.offset + data.length;
  if (data.nullCount > 0 && data.nullBitmap && data.nullBitmap.length * 8 < end) {
    throw new Error(`${where}: the validity bitmap holds ${data.nullBitmap.length * 8} rows, the column ${end}`);
  }
  const type = data.type as DataType;
  if (DataType.isUtf8(type) || DataType.isBinary(type) || DataType.isLargeUtf8(type) || DataType.isLargeBinary(type)) {
    checkOffsets(data, where, data.values?.length ?? 0);
  } else if (DataType.isList(type)) {
    checkOffsets(data, where, data.children[0]?.length ?? 0);
  } else if (DataType.isBool(type)) {
    if ((data.values?.length ?? 0) * 8 < end) throw new Error(`${where}: ${data.values?.length ?? 0} bytes of booleans for ${end} rows`);
  } else if (DataType.isFloat(type) || DataType.isInt(type) || DataType.isDate(type) || DataType.isTimestamp(type) || DataType.isTime(type) || DataType.isDecimal(type)) {
    // Loaded values are sliced to the Data's own rows already.
    const wanted = data.length * data.stride;
    if ((data.values?.length ?? 0) < wanted) throw new Error(`${where}: ${data.values?.length ?? 0} values for ${data.length} rows`);
  }
  for (const child of data.children) checkData(child, where);
}

function checkOffsets(data: Data, where: string, limit: number): void {
  const offsets = data.valueOffsets as ArrayLike<number | bigint> | undefined;
  if (!offsets || offsets.length < data.offset + data.length + 1) {
    throw new Error(`${where}: ${offsets?.length ?? 0} value offsets for ${data.length} rows`);
  }
  let previous = Number(offsets[data.offset]!);
  if (previous < 0) throw new Error(`${where}: negative value offset`);
  for (let i = data.offset + 1; i <= data.offset + data.length; i++) {
    const next = Number(offsets[i]!);
    if (next < previous || next > limit) throw new Error(`${where}: value offset ${next} out of order or past the ${limit} values`);
    previous = next;
  }
}

/** Throws when a decoded record batch's columns do not hold the rows it declares. */
export function checkBatch(batch: RecordBatch): void {
  batch.schema.fields.forEach((field, i) => {
    const vector = batch.getChildAt(i);
    const where = `column "${field.name}"`;
    if (!vector || vector.length !== batch.numRows) {
      throw new Error(`${where} has ${vector?.length ?? 0} rows, the batch ${batch.numRows}`);
    }
    for (const data of vector.data) checkData(data, where);
  });
}
