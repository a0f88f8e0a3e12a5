// DuckDB's chunks of a Kaggle CSV's columns, as read (doubles, NULL where a field was `NaN`, `nan` or
// empty), turned into the rows of minutes.arrow, each with a code saying whether it is kept and why
// not. DuckDB only parses; this checking and the current layout's derived columns are done here, in a few
// tight loops over each chunk's columns, because the same expressions in SQL cost DuckDB's two threads
// about three times the CPU these loops cost the main thread (see README, Benchmarks).
//
// What a row's code means, in this order of precedence (the first that applies):
//   BAD_TIMESTAMP (9)         the timestamp is not an integer (NaN, infinite, 1600000060.5) or above 2^53;
//   IMPLAUSIBLE_TIMESTAMP (8) outside [earliest, latest): milliseconds, say;
//   NON_FINITE (3)            any value of the row is infinite;
//   HIGH_BELOW_LOW (1)        High < Low;
//   NON_POSITIVE_PRICE (2)    a price present (Open, High, Low, Close, and Weighted_Price in the legacy
//                             layout) is <= 0;
//   KEPT (0)                  otherwise.
// A value DuckDB's float parser read as NaN (`-nan`, `NAN`, ` NaN`...) is missing, like `NaN` itself:
// no NaN ever passes as a trade. Comparisons skip missing values (SQL's NULL semantics).
//
// The current layout has no Weighted_Price: a minute has a trade when Volume > 0, and then its
// weighted_price is the typical price (High + Low + Close) / 3; volume_usd is Volume times that price.
import type { DuckDBDataChunk } from '@duckdb/node-api';
import { chunkFloat64, chunkValidity } from './duckdb.ts';
import { LAYOUTS, type Layout } from './kaggle-layouts.ts';
import type { MinuteColumns } from './minute-parts.ts';

export const KEPT = 0;
export const HIGH_BELOW_LOW = 1;
export const NON_POSITIVE_PRICE = 2;
export const NON_FINITE = 3;
export const IMPLAUSIBLE_TIMESTAMP = 8;
export const BAD_TIMESTAMP = 9;

/** One chunk as minutes: views valid until the next chunk is read. */
export interface ChunkMinutes {
  readonly n: number;
  /** The rows' timestamps as int32 pairs (low, high), 0 where the code is BAD_TIMESTAMP. */
  readonly timestamps: Int32Array;
  /** Per row, KEPT or why not (the codes above). */
  readonly codes: Int8Array;
  readonly rows: MinuteColumns;
}

const TWO_32 = 4294967296;

/** Whether row i's value is present in a validity bitmap (null: all are). */
const present = (bits: Uint8Array | null, i: number) => bits === null || ((bits[i >> 3]! >> (i & 7)) & 1) === 1;

/** Reads chunks of `layout`'s CSV columns (Timestamp first, then the rest in the header's order). */
export class CsvMinutes {
  readonly #layout: Layout;
  readonly #earliest: number;
  readonly #latest: number;
  /** Column indexes (in the chunk, after the timestamp) of High, Low and the prices checked for <= 0. */
  readonly #high: number;
  readonly #low: number;
  readonly #prices: readonly number[];
  #size = 0;
  #timestamps = new Int32Array(0);
  #codes = new Int8Array(0);
  /** Validity bitmaps of the read columns once a NaN made them differ from DuckDB's, and of the derived ones. */
  #cleaned: Uint8Array[] = [];
  #derived: Float64Array[] = [];

  constructor(layout: Layout, earliest: number, latest: number) {
    this.#layout = layout;
    this.#earliest = earliest;
    this.#latest = latest;
    const header = LAYOUTS[layout] as readonly string[];
    const at = (name: string) => header.indexOf(name) - 1;
    this.#high = at('High');
    this.#low = at('Low');
    this.#prices = (layout === 'legacy' ? ['Open', 'High', 'Low', 'Close', 'Weighted_Price'] : ['Open', 'High', 'Low', 'Close']).map(at);
  }

  /** Columns a chunk holds after the timestamp. */
  get valueColumns(): number {
    return LAYOUTS[this.#layout].length - 1;
  }

  read(chunk: DuckDBDataChunk): ChunkMinutes {
    const n = chunk.rowCount;
    this.#fit(n);
    const codes = this.#codes;
    codes.fill(KEPT, 0, n);
    const columns = this.valueColumns;
    const values: Float64Array[] = [];
    const read: (Uint8Array | null)[] = [];
    for (let c = 0; c < columns; c++) {
      values.push(chunkFloat64(chunk, c + 1));
      read.push(chunkValidity(chunk, c + 1));
    }
    // Column by column, each rule in its own loop, from the lowest precedence up, each overwriting the
    // ones before. A NaN never compares true, so the first two rules can look at DuckDB's own bitmaps.
    for (const c of this.#prices) {
      const v = values[c]!;
      const bits = read[c]!;
      for (let i = 0; i < n; i++) if (v[i]! <= 0 && present(bits, i)) codes[i] = NON_POSITIVE_PRICE;
    }
    const high = values[this.#high]!;
    const low = values[this.#low]!;
    const highBits = read[this.#high]!;
    const lowBits = read[this.#low]!;
    for (let i = 0; i < n; i++) if (high[i]! < low[i]! && present(highBits, i) && present(lowBits, i)) codes[i] = HIGH_BELOW_LOW;
    const validity = values.map((v, c) => this.#nonFinite(v, read[c]!, c, n));
    this.#timestampCodes(chunkFloat64(chunk, 0), n);
    return { n, timestamps: this.#timestamps, codes, rows: this.#minuteColumns(n, values, validity) };
  }

  /**
   * Marks the rows where column `c` holds an infinity NON_FINITE, and returns its validity with its NaN
   * values missing: DuckDB's bitmap as it is until a NaN is found, from then on a copy without the NaN.
   */
  #nonFinite(v: Float64Array, read: Uint8Array | null, c: number, n: number): Uint8Array | null {
    const codes = this.#codes;
    let cleaned: Uint8Array | null = null;
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      // NaN and ±Infinity only (x - x is 0 for every finite x), and only where the value is present.
      if (x - x === 0 || !present(read, i)) continue;
      if (x === x) {
        codes[i] = NON_FINITE;
        continue;
      }
      if (cleaned === null) {
        cleaned = this.#cleaned[c]!;
        if (read === null) cleaned.fill(0xff, 0, (n + 7) >> 3);
        else cleaned.set(read.subarray(0, (n + 7) >> 3));
      }
      cleaned[i >> 3]! &= ~(1 << (i & 7));
    }
    return cleaned ?? read;
  }

  /** The timestamps as int32 pairs, and the two timestamp codes, which take precedence over the rest. */
  #timestampCodes(ts: Float64Array, n: number): void {
    const timestamps = this.#timestamps;
    const codes = this.#codes;
    const earliest = this.#earliest;
    const latest = this.#latest;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      if (!(t - t === 0) || t !== Math.trunc(t) || Math.abs(t) > Number.MAX_SAFE_INTEGER) {
        codes[i] = BAD_TIMESTAMP;
        timestamps[2 * i] = 0;
        timestamps[2 * i + 1] = 0;
        continue;
      }
      timestamps[2 * i] = t >>> 0;
      timestamps[2 * i + 1] = Math.floor(t / TWO_32);
      if (t < earliest || t >= latest) codes[i] = IMPLAUSIBLE_TIMESTAMP;
    }
  }

  /** The seven value columns of minutes.arrow: the legacy layout's as read, the current one's derived. */
  #minuteColumns(n: number, values: Float64Array[], validity: (Uint8Array | null)[]): MinuteColumns {
    if (this.#layout === 'legacy') return { timestamps: this.#timestamps, values, validity };
    const [open, high, low, close, volume] = values as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    const [, highBits, lowBits, closeBits, volumeBits] = validity;
    const [usd, price] = this.#derived as [Float64Array, Float64Array];
    const usdBits = this.#cleaned[DERIVED_VALIDITY]!;
    const priceBits = this.#cleaned[DERIVED_VALIDITY + 1]!;
    // volume_usd is present where Volume, High, Low and Close all are; weighted_price where, besides, Volume > 0.
    const bytes = (n + 7) >> 3;
    let usdMissing = false;
    for (let b = 0; b < bytes; b++) {
      const bits = (volumeBits?.[b] ?? 0xff) & (highBits?.[b] ?? 0xff) & (lowBits?.[b] ?? 0xff) & (closeBits?.[b] ?? 0xff);
      usdBits[b] = bits;
      const rows = b === bytes - 1 && (n & 7) !== 0 ? (1 << (n & 7)) - 1 : 0xff;
      if ((bits & rows) !== rows) usdMissing = true;
    }
    priceBits.fill(0, 0, bytes);
    for (let i = 0; i < n; i++) {
      const typical = (high[i]! + low[i]! + close[i]!) / 3;
      const v = volume[i]!;
      usd[i] = v * typical;
      price[i] = typical;
      if (v > 0 && ((usdBits[i >> 3]! >> (i & 7)) & 1) === 1) priceBits[i >> 3]! |= 1 << (i & 7);
    }
    return { timestamps: this.#timestamps, values: [...values, usd, price], validity: [...validity, usdMissing ? usdBits : null, priceBits] };
  }

  #fit(n: number): void {
    if (n <= this.#size) return;
    // One per column read (used once a NaN is found in it), then the derived columns'.
    const columns = DERIVED_VALIDITY + 2;
    this.#size = Math.max(n, 2048);
    this.#timestamps = new Int32Array(2 * this.#size);
    this.#codes = new Int8Array(this.#size);
    this.#cleaned = Array.from({ length: columns }, () => new Uint8Array(Math.ceil(this.#size / 64) * 8));
    this.#derived = [new Float64Array(this.#size), new Float64Array(this.#size)];
  }
}

/** Where the derived columns' validity bitmaps start among the cleaned ones (after the most columns read). */
const DERIVED_VALIDITY = Math.max(...Object.values(LAYOUTS).map((header) => header.length - 1));
