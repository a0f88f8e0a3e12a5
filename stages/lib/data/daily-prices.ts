// The bundled real daily prices (data/btc-usd-daily.csv, Yahoo Finance columns), parsed and checked.
import { readFile } from 'node:fs/promises';

export interface DailyBar {
  /** Days since 1970-01-01 (the UTC date of the row). */
  readonly day: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
}

const expectedHeader = ['Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume'];

export async function readDailyPrices(path: string): Promise<DailyBar[]> {
  const lines = (await readFile(path, 'utf8')).split(/\r?\n/);
  const header = (lines[0] ?? '').replace(/^\uFEFF/, '').split(',');
  if (header.join(',') !== expectedHeader.join(',')) {
    throw new Error(`${path}:1: expected the header ${expectedHeader.join(',')}, found ${lines[0] ?? '(empty file)'}`);
  }
  const bars: DailyBar[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const fields = line.split(',');
    const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(fields[0] ?? '');
    if (!date) throw new Error(`${path}:${i + 1}: column "Date": expected YYYY-MM-DD, found "${fields[0] ?? ''}"`);
    const value = (column: number) => {
      const text = fields[column] ?? '';
      const number = Number(text);
      if (text === '' || !Number.isFinite(number) || number <= 0) {
        throw new Error(`${path}:${i + 1}: column "${expectedHeader[column]}": expected a positive number, found "${text}"`);
      }
      return number;
    };
    const bar = {
      day: Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3])) / 86_400_000,
      open: value(1),
      high: value(2),
      low: value(3),
      close: value(4),
    };
    if (bar.low > Math.min(bar.open, bar.close) || bar.high < Math.max(bar.open, bar.close)) {
      throw new Error(`${path}:${i + 1}: Open and Close must lie within Low..High, found ${fields.slice(1, 5).join(',')}`);
    }
    const previous = bars.at(-1);
    if (previous && bar.day <= previous.day) throw new Error(`${path}:${i + 1}: dates must increase, found ${fields[0]} after an equal or later date`);
    bars.push(bar);
  }
  if (bars.length === 0) throw new Error(`${path}: has a header but no rows`);
  return bars;
}
