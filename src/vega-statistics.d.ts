/** The part of vega-statistics (ESM, untyped) the summaries use. */
declare module 'vega-statistics' {
  /**
   * The normal distribution's CDF at `value` (West 2009 approximation).
   *
   * @param value - Where to evaluate it.
   * @param mean - The mean (default 0).
   * @param stdev - The standard deviation (default 1).
   * @returns P(X ≤ value).
   */
  export function cumulativeNormal(
    value: number,
    mean?: number,
    stdev?: number
  ): number;
}
