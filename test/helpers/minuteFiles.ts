// Minute bars written in either Kaggle layout, from one seeded list of minutes, for the layout and
// refresh tests. Written here from scratch (not by the sample stage), so the tests' expectations are
// computed from these values, not from the code under test.
import { rename, writeFile } from 'node:fs/promises';
import { CURRENT_HEADER, KAGGLE_HEADER } from '../../stages/sample.ts';

export type LayoutName = 'legacy' | 'current';

export interface Bar {
  readonly t: number;
  /** A minute with a trade; otherwise NaN (legacy) or Volume 0 at the last close (current). */
  readonly traded: boolean;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
  /** Legacy only: the trade's own Weighted_Price and Volume_(Currency). */
  readonly weighted: number;
  readonly usd: number;
}

/** Every minute of `days` UTC days from `first`; `silent` days have no trade at all. */
export function minuteBars(options: { first: string; days: number; seed: number; silent?: readonly string[]; noTradeShare?: number }): Bar[] {
  let state = options.seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const start = Date.parse(`${options.first}T00:00:00Z`) / 1000;
  const silent = new Set(options.silent ?? []);
  const bars: Bar[] = [];
  let price = 40_000;
  let lastClose = price;
  for (let m = 0; m < options.days * 1440; m++) {
    const t = start + 60 * m;
    const day = new Date(t * 1000).toISOString().slice(0, 10);
    const open = price;
    price = Math.round((price + (random() - 0.5) * 40) * 100) / 100;
    const close = price;
    const high = Math.round((Math.max(open, close) + random() * 10) * 100) / 100;
    const low = Math.round((Math.min(open, close) - random() * 10) * 100) / 100;
    const traded = !silent.has(day) && random() >= (options.noTradeShare ?? 0.1);
    const volume = Math.round(random() * 5e6) / 1e6 + 1e-6;
    const weighted = Math.round((low + (high - low) * random()) * 100) / 100;
    if (traded) {
      bars.push({ t, traded, open, high, low, close, volume, weighted, usd: Math.round(volume * weighted * 100) / 100 });
      lastClose = close;
    } else {
      bars.push({ t, traded, open: lastClose, high: lastClose, low: lastClose, close: lastClose, volume: 0, weighted: NaN, usd: NaN });
    }
  }
  return bars;
}

/** One CSV line of a bar in a layout (the current layout writes timestamps as integral floats). */
export function barLine(bar: Bar, layout: LayoutName): string {
  if (layout === 'current') return `${bar.t}.0,${bar.open},${bar.high},${bar.low},${bar.close},${bar.traded ? bar.volume : '0.0'}`;
  if (!bar.traded) return `${bar.t},NaN,NaN,NaN,NaN,NaN,NaN,NaN`;
  return [bar.t, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.usd, bar.weighted].join(',');
}

export function headerLine(layout: LayoutName): string {
  return layout === 'current' ? CURRENT_HEADER : KAGGLE_HEADER;
}

/** The file's text: the header and the lines of `bars`, each ending in a newline. */
export function csvText(bars: readonly Bar[], layout: LayoutName): string {
  return `${headerLine(layout)}\n${bars.map((bar) => `${barLine(bar, layout)}\n`).join('')}`;
}

/** Writes `text` as a new file (temp file + rename: a new inode, as a download replaces the old file). */
export async function replaceFile(path: string, text: string | Uint8Array): Promise<void> {
  const tmp = `${path}.download`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/**
 * The daily price the notebook's aggregation gives, computed directly from the bars: per UTC date, the
 * mean over the minutes with a trade of Weighted_Price (legacy) or of the typical price (H + L + C) / 3
 * (current). Dates without any trade are absent.
 */
export function expectedDailyPrice(bars: readonly Bar[], layout: LayoutName): Map<string, number> {
  const sums = new Map<string, { sum: number; count: number }>();
  for (const bar of bars) {
    if (!bar.traded) continue;
    const date = new Date(bar.t * 1000).toISOString().slice(0, 10);
    const price = layout === 'legacy' ? bar.weighted : (bar.high + bar.low + bar.close) / 3;
    const entry = sums.get(date) ?? { sum: 0, count: 0 };
    entry.sum += price;
    entry.count++;
    sums.set(date, entry);
  }
  return new Map([...sums].map(([date, { sum, count }]) => [date, sum / count]));
}
