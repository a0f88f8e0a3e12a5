// The embedded sample's minutes: one day's 1440 minute bars as CSV bytes, around the day's real bar.
// Each day draws from its own random stream (sfc32(seed, day)), so any block of days is the same bytes
// whether it is made alone, in a worker thread or in one run with every other day.
import { headerOf, type Layout } from './kaggle-layouts.ts';
import type { DailyBar } from './daily-prices.ts';
import { sfc32, type Random } from './minute-random.ts';

const MINUTES = 1440;
/** Prices are generated as integers in micro-dollars so rounding can never leave the day's Low..High. */
const MICRO = 1e6;
const NAN_ROW = ',NaN,NaN,NaN,NaN,NaN,NaN,NaN\n';

/**
 * Share of minutes without a trade on a day: 40% at the start of 2014 (about a third when the bundled
 * prices begin, Sept. 2014), falling to 3% by 2022, like the Bitstamp file, whose early years are sparse.
 * A function of the date only, so `days` does not change it.
 */
export function noTradeShare(day: number): number {
  const years = (day - Date.UTC(2014, 0, 1) / 86_400_000) / 365.25;
  return Math.min(0.45, Math.max(0.02, 0.4 * Math.exp(-0.32 * years)));
}

/** Bytes one day's CSV can take at most (the generator's own buffer). */
export const DAY_CAPACITY = MINUTES * 160;

/**
 * The CSV bytes of consecutive days (a block of the sample's file), written into `into` (at least
 * `days.length * DAY_CAPACITY` bytes; a new buffer when not given): a view of it.
 */
export function blockCsv(days: readonly DailyBar[], seed: number, layout: Layout, into?: Uint8Array): Uint8Array {
  const block = into ?? new Uint8Array(days.length * DAY_CAPACITY);
  const generator = new DayGenerator();
  let at = 0;
  for (const bar of days) {
    const bytes = generator.csv(bar, sfc32(seed, bar.day), layout);
    block.set(bytes, at);
    at += bytes.length;
  }
  return block.subarray(0, at);
}

/** The header line of a layout, as bytes. */
export function headerCsv(layout: Layout): Uint8Array {
  return new TextEncoder().encode(`${headerOf(layout)}\n`);
}

/**
 * Makes one day's 1440 minute rows as CSV bytes. Buffers are reused from day to day. Both layouts draw
 * the same random numbers, so a seed gives the same minutes in either: the legacy layout writes a minute
 * without trades as NaN and each trade's own Weighted_Price; the current one writes timestamps as
 * integral floats (`1325412060.0`, as the published file does), no Weighted_Price, and a minute without
 * trades as Volume 0 with its four prices at the last close.
 */
export class DayGenerator {
  readonly #bridge = new Float64Array(MINUTES + 1);
  /** Minute boundary prices in micro-dollars: minute m opens at points[m] and closes at points[m + 1]. */
  readonly #points = new Float64Array(MINUTES + 1);
  /** Digits are written straight into bytes: number-to-string for 27M values would dominate the run. */
  readonly #out = new CsvBytes(MINUTES * 160);

  csv(bar: DailyBar, random: Random, layout: Layout = 'legacy'): Uint8Array {
    const lowU = Math.round(bar.low * MICRO);
    const highU = Math.round(bar.high * MICRO);
    this.#path(bar, random, lowU, highU);

    const points = this.#points;
    const out = this.#out;
    out.reset();
    const share = noTradeShare(bar.day);
    // Typical wick grows with the price level, as in the real file.
    const wickU = bar.close * 0.0004 * MICRO;
    const meanVolumeU = 4 * MICRO;
    const first = bar.day * 86_400;
    const current = layout === 'current';
    let lastClose = 0;
    for (let m = 0; m < MINUTES; m++) {
      out.integer(first + m * 60);
      if (current) out.ascii('.0');
      // The first and last minute always trade: they carry the day's real Open and Close.
      if (m > 0 && m < MINUTES - 1 && random.uniform() < share) {
        if (!current) out.ascii(NAN_ROW);
        else out.comma().micro(lastClose).comma().micro(lastClose).comma().micro(lastClose).comma().micro(lastClose).ascii(',0.0\n');
        continue;
      }
      const open = points[m]!;
      const close = points[m + 1]!;
      const high = Math.min(highU, Math.max(open, close) + Math.round((random.uniform() * wickU) / 1e4) * 1e4);
      const low = Math.max(lowU, Math.min(open, close) - Math.round((random.uniform() * wickU) / 1e4) * 1e4);
      const weighted = low + Math.round((high - low) * (0.25 + 0.5 * random.uniform()));
      const volumeU = 1 + Math.round(-Math.log(1 - random.uniform()) * meanVolumeU);
      const currencyU = Math.round((volumeU / MICRO) * (weighted / MICRO) * 100) * 1e4;
      out.comma().micro(open).comma().micro(high).comma().micro(low).comma().micro(close);
      lastClose = close;
      if (current) out.comma().micro(volumeU).newline();
      else out.comma().micro(volumeU).comma().micro(currencyU).comma().micro(weighted).newline();
    }
    return out.bytes();
  }

  /**
   * A Brownian bridge from Open to Close, stretched separately above and below the straight line so its
   * highest point is exactly the day's High and its lowest exactly the Low; inner points rounded to cents.
   */
  #path(bar: DailyBar, random: Random, lowU: number, highU: number): void {
    const bridge = this.#bridge;
    bridge[0] = 0;
    for (let k = 1; k <= MINUTES; k++) bridge[k] = bridge[k - 1]! + random.normal();
    const end = bridge[MINUTES]!;
    let up = Infinity;
    let down = Infinity;
    for (let k = 0; k <= MINUTES; k++) {
      const b = bridge[k]! - (end * k) / MINUTES;
      bridge[k] = b;
      const line = bar.open + ((bar.close - bar.open) * k) / MINUTES;
      if (b > 0) up = Math.min(up, (bar.high - line) / b);
      else if (b < 0) down = Math.min(down, (line - bar.low) / -b);
    }
    if (!Number.isFinite(up)) up = 0;
    if (!Number.isFinite(down)) down = 0;
    const points = this.#points;
    for (let k = 1; k < MINUTES; k++) {
      const b = bridge[k]!;
      const price = bar.open + ((bar.close - bar.open) * k) / MINUTES + (b > 0 ? up : down) * b;
      points[k] = Math.min(highU, Math.max(lowU, Math.round(price * 100) * 1e4));
    }
    points[0] = Math.round(bar.open * MICRO);
    points[MINUTES] = Math.round(bar.close * MICRO);
  }
}

const COMMA = 44;
const NEWLINE = 10;
const DOT = 46;
const ZERO = 48;

/** An append-only byte buffer for ASCII CSV with exact decimal formatting of micro-unit integers. */
class CsvBytes {
  readonly #buffer: Uint8Array;
  #length = 0;

  constructor(capacity: number) {
    this.#buffer = new Uint8Array(capacity);
  }

  reset(): void {
    this.#length = 0;
  }

  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  comma(): this {
    this.#buffer[this.#length++] = COMMA;
    return this;
  }

  newline(): this {
    this.#buffer[this.#length++] = NEWLINE;
    return this;
  }

  ascii(text: string): this {
    for (let i = 0; i < text.length; i++) this.#buffer[this.#length++] = text.charCodeAt(i);
    return this;
  }

  /** A non-negative integer below 2^31 (timestamps until 2038, prices in whole dollars): int32 arithmetic. */
  integer(value: number): this {
    let v = value | 0;
    let digits = 1;
    for (let rest = v; rest >= 10; rest = (rest / 10) | 0) digits++;
    let at = this.#length + digits;
    this.#length = at;
    do {
      const next = (v / 10) | 0;
      this.#buffer[--at] = ZERO + v - next * 10;
      v = next;
    } while (v > 0);
    return this;
  }

  /** value / 1e6 in shortest decimal form (no trailing zeros), e.g. 465864014 -> "465.864014", 4.6e8 -> "460". */
  micro(value: number): this {
    const whole = Math.floor(value / MICRO);
    let fraction = (value - whole * MICRO) | 0;
    this.integer(whole);
    if (fraction === 0) return this;
    let digits = 6;
    for (let next = (fraction / 10) | 0; next * 10 === fraction; next = (fraction / 10) | 0) {
      fraction = next;
      digits--;
    }
    this.#buffer[this.#length++] = DOT;
    let at = this.#length + digits;
    this.#length = at;
    for (let i = 0; i < digits; i++) {
      const next = (fraction / 10) | 0;
      this.#buffer[--at] = ZERO + fraction - next * 10;
      fraction = next;
    }
    return this;
  }
}
