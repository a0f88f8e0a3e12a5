// vega-statistics ships no types; this is the one function the evaluation uses.
declare module 'vega-statistics' {
  /** The standard normal's (or N(mean, stdev)'s) cumulative distribution at `value`: W. J. Cody's rational
   *  approximations (Hart 1968), double precision, accurate in the far tails too. */
  export function cumulativeNormal(value: number, mean?: number, stdev?: number): number;
}
