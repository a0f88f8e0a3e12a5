// The two layouts of the Kaggle Bitstamp 1-minute file. `legacy` is the notebook's
// bitstampUSD_1-min_data_2012-01-01_to_2020-04-22.csv: eight columns, `NaN` in every value of a minute
// without trades. `current` is btcusd_1-min_data.csv as published (and appended to) every day since:
// six columns, every minute present, a minute without trades has Volume 0 and its prices at the last close.
export const LAYOUTS = {
  legacy: ['Timestamp', 'Open', 'High', 'Low', 'Close', 'Volume_(BTC)', 'Volume_(Currency)', 'Weighted_Price'],
  current: ['Timestamp', 'Open', 'High', 'Low', 'Close', 'Volume'],
} as const;

export type Layout = keyof typeof LAYOUTS;

export const LAYOUT_NAMES = Object.keys(LAYOUTS) as Layout[];

export function headerOf(layout: Layout): string {
  return LAYOUTS[layout].join(',');
}
