/**
 * The spotlight size and the barrier schedule of the soft size penalty
 * (d'Eon et al. 2021; SPOTLIGHT_METHOD.md "One spotlight").
 */

/**
 * The spotlight size S in examples for a fraction of N.
 *
 * S = floor(fraction · N); a 1e-9 slack keeps products such as 0.29 · 100
 * (28.999999999999996 in floating point) at their intended integer.
 *
 * @param fraction - Spotlight size as a fraction of N.
 * @param n - Number of examples N.
 * @returns S, a count of examples (may be < 1 or ≥ N: callers validate).
 */
export function spotlightSizeFromFraction(fraction: number, n: number): number {
  return Math.floor(fraction * n + 1e-9);
}

/**
 * The barrier width b_t at step t: geometric from b_0 = N − S down to
 * b_{T−1} = finalFraction · S (as numpy's `geomspace`, which the authors used):
 *
 *   b_t = b_0 · (b_{T−1} / b_0)^(t / (T − 1)),   b_t = b_0 when T = 1.
 *
 * Units: examples (the penalty compares b_t with a total kernel weight).
 *
 * @param t - Step index, 0 … T − 1.
 * @param steps - Number of steps T.
 * @param initial - b_0 = N − S.
 * @param final - b_{T−1} = finalFraction · S.
 * @returns b_t > 0.
 */
export function barrierWidth(
  t: number,
  steps: number,
  initial: number,
  final: number
): number {
  if (steps <= 1 || t <= 0) {
    return initial;
  }
  if (t >= steps - 1) {
    return final;
  }
  return initial * Math.pow(final / initial, t / (steps - 1));
}

/**
 * The whole barrier schedule b_0 … b_{T−1} (see `barrierWidth`).
 *
 * @param steps - Number of steps T.
 * @param initial - b_0 = N − S.
 * @param final - b_{T−1} = finalFraction · S.
 * @returns T widths, in examples.
 */
export function barrierSchedule(
  steps: number,
  initial: number,
  final: number
): Float64Array {
  const out = new Float64Array(steps);
  for (let t = 0; t < steps; t++) {
    out[t] = barrierWidth(t, steps, initial, final);
  }
  return out;
}

/**
 * The size penalty and its derivative at total weight K:
 *
 *   h = S + b,   P = c · max(0, h − K)² / b²,   P′ = dP/dK = −2c · max(0, h − K) / b².
 *
 * @param totalWeight - K, in examples.
 * @param size - S, in examples.
 * @param barrier - b_t, in examples.
 * @param scale - Barrier scale c.
 * @returns The penalty P (dimensionless, like the loss) and P′ (per example).
 */
export function sizePenalty(
  totalWeight: number,
  size: number,
  barrier: number,
  scale: number
): { penalty: number; slope: number } {
  const gap = Math.max(0, size + barrier - totalWeight);
  const inv = 1 / (barrier * barrier);
  return { penalty: scale * gap * gap * inv, slope: -2 * scale * gap * inv };
}
