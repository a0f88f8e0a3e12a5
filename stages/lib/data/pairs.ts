// Reading the split stage's supervised pairs (date, x1..xL, y) and the scale stage's daily prices
// out of Arrow IPC files into typed arrays, with errors that name the file, column and row.
import { readFile } from 'node:fs/promises';
import { tableFromIPC, type Table } from 'apache-arrow';

const DAY_MS = 86_400_000;

export interface Pairs {
  /** Target day of each row, as days since 1970-01-01 (UTC). */
  readonly days: Int32Array;
  /** Row-major [rows, lookback]: x1 (oldest) … xL (the day before the target). */
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly rows: number;
  readonly lookback: number;
}

export interface DailyPrices {
  readonly days: Int32Array;
  readonly price: Float64Array;
  readonly scaled: Float64Array;
}

async function readTable(path: string): Promise<Table> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new Error(`${path}: cannot read (${(error as Error).message})`);
  }
  try {
    return tableFromIPC(bytes);
  } catch (error) {
    throw new Error(`${path}: not an Arrow IPC file (${(error as Error).message})`);
  }
}

function column(table: Table, path: string, name: string) {
  const vector = table.getChild(name);
  if (!vector) {
    const found = table.schema.fields.map((f) => f.name).join(', ');
    throw new Error(`${path}: expected a column "${name}", found ${found || 'no columns'}`);
  }
  return vector;
}

function numbers(table: Table, path: string, name: string): Float64Array {
  const vector = column(table, path, name);
  const out = new Float64Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) {
    const value: unknown = vector.get(i);
    if (typeof value !== 'number' || Number.isNaN(value)) {
      throw new Error(`${path}: column "${name}", row ${i + 1}: expected a number, found ${String(value)}`);
    }
    out[i] = value;
  }
  return out;
}

function dayNumbers(table: Table, path: string, name: string): Int32Array {
  const vector = column(table, path, name);
  if (vector.type.toString() !== 'Date32<DAY>') {
    throw new Error(`${path}: column "${name}" should be an Arrow DateDay, found ${vector.type.toString()}`);
  }
  const out = new Int32Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) {
    const value: unknown = vector.get(i);
    const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Number.NaN;
    if (!Number.isFinite(ms)) throw new Error(`${path}: column "${name}", row ${i + 1}: expected a date, found ${String(value)}`);
    out[i] = Math.round(ms / DAY_MS);
  }
  return out;
}

/** Reads train.arrow / test.arrow. The lookback L is the number of x columns, which must be x1..xL. */
export async function readPairs(path: string): Promise<Pairs> {
  const table = await readTable(path);
  const xNames = table.schema.fields.map((f) => f.name).filter((n) => /^x\d+$/.test(n));
  const lookback = xNames.length;
  if (lookback === 0) throw new Error(`${path}: expected feature columns x1..xL, found none`);
  for (let i = 1; i <= lookback; i++) {
    if (!xNames.includes(`x${i}`)) throw new Error(`${path}: expected feature columns x1..x${lookback}, x${i} is missing`);
  }
  const rows = table.numRows;
  const days = dayNumbers(table, path, 'date');
  const y = numbers(table, path, 'y');
  const x = new Float64Array(rows * lookback);
  for (let t = 0; t < lookback; t++) {
    const xt = numbers(table, path, `x${t + 1}`);
    for (let n = 0; n < rows; n++) x[n * lookback + t] = xt[n]!;
  }
  return { days, x, y, rows, lookback };
}

/** Reads scaled.arrow (date, price, scaled), checking the days are in order. */
export async function readDailyPrices(path: string): Promise<DailyPrices> {
  const table = await readTable(path);
  const days = dayNumbers(table, path, 'date');
  for (let i = 1; i < days.length; i++) {
    if (days[i]! <= days[i - 1]!) throw new Error(`${path}: dates must increase, row ${i + 1} (${isoDay(days[i]!)}) does not`);
  }
  return { days, price: numbers(table, path, 'price'), scaled: numbers(table, path, 'scaled') };
}

export function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}
