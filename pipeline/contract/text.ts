// Wording for the messages stages report (ctx.info, ctx.warn) and the figures people read: counts with
// the right plural, p-values.

/** `1 training pair`, `2 training pairs`: the count and the noun, plural unless the count is 1. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/**
 * A p-value as people read it, the same wherever one is shown (the backtest's verdict, `pipeline
 * metrics`, the report): two significant digits, scientific below 0.001 (`0.31`, `0.016`, `8.3e-4`).
 */
export function formatP(p: number): string {
  if (p === 0) return '0';
  return p < 0.001 ? p.toExponential(1) : String(Number(p.toPrecision(2)));
}
