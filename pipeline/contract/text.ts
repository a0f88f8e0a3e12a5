// Wording for the messages stages report (ctx.info, ctx.warn): counts with the right plural.

/** `1 training pair`, `2 training pairs`: the count and the noun, plural unless the count is 1. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
