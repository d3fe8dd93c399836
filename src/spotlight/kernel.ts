/**
 * Plain-JavaScript helpers on the truncated quadratic kernel of the Spotlight
 * (d'Eon et al. 2021; SPOTLIGHT_METHOD.md). No tfjs: usable anywhere, and the
 * engine computes every reported weight with them, so that recomputing k from
 * a result's (μ, τ) gives that result's k exactly.
 */

/**
 * Squared norms ‖x_i‖² of the rows of X, accumulated in float64.
 *
 * @param embeddings - Row-major N × D embeddings (row i starts at i · stride).
 * @param n - N.
 * @param d - D.
 * @param stride - Values from one row's start to the next's (≥ D; default D:
 *   the shards of shard.ts store rows padded for the WASM kernel).
 * @returns N squared norms (squared embedding units).
 */
export function squaredNorms(
  embeddings: Float32Array,
  n: number,
  d: number,
  stride = d
): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * stride;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const x = embeddings[o + j];
      s += x * x;
    }
    out[i] = s;
  }
  return out;
}

/**
 * Kernel weights of rows [start, end) into `out`, in float64 arithmetic:
 * d_i = max(0, ‖x_i‖² − 2 x_i·μ + ‖μ‖²), k_i = max(0, 1 − τ d_i), stored as float32.
 *
 * @param embeddings - Row-major N × D embeddings.
 * @param d - D.
 * @param center - μ (D).
 * @param precision - τ > 0.
 * @param out - N outputs.
 * @param start - First row.
 * @param end - One past the last row.
 * @param stride - Values from one row's start to the next's (≥ D; default
 *   D). Padding is never read, so the weights do not depend on it.
 * @returns Nothing; fills `out[start..end)`.
 */
export function kernelWeightsInto(
  embeddings: Float32Array,
  d: number,
  center: ArrayLike<number>,
  precision: number,
  out: Float32Array,
  start: number,
  end: number,
  stride = d
): void {
  let mm = 0;
  for (let j = 0; j < d; j++) {
    mm += center[j] * center[j];
  }
  for (let i = start; i < end; i++) {
    const o = i * stride;
    let dot = 0;
    let xx = 0;
    for (let j = 0; j < d; j++) {
      const x = embeddings[o + j];
      dot += x * center[j];
      xx += x * x;
    }
    const dist = Math.max(0, xx - 2 * dot + mm);
    out[i] = Math.max(0, 1 - precision * dist);
  }
}

/**
 * Kernel weights of the truncated quadratic kernel (d'Eon et al. 2021):
 * k_i = max(0, 1 − τ‖x_i − μ‖²) ∈ [0, 1], with the squared distance computed as
 * ‖x_i‖² − 2 x_i·μ + ‖μ‖² (clamped at 0) in float64, then rounded to float32.
 *
 * @param embeddings - Row-major N × D embeddings.
 * @param n - N.
 * @param d - D.
 * @param center - μ (D).
 * @param precision - τ = 1 / r² > 0.
 * @returns N weights in [0, 1].
 */
export function kernelWeights(
  embeddings: Float32Array,
  n: number,
  d: number,
  center: ArrayLike<number>,
  precision: number
): Float32Array {
  const out = new Float32Array(n);
  kernelWeightsInto(embeddings, d, center, precision, out, 0, n);
  return out;
}

/**
 * Summary statistics of kernel weights against losses, in float64.
 *
 * @param weights - k (N).
 * @param losses - ℓ (N).
 * @returns K = Σk, support size #{k > 0}, weighted loss Σkℓ / K (NaN when K = 0)
 *   and max k.
 */
export function weightStats(
  weights: Float32Array,
  losses: Float32Array
): {
  totalWeight: number;
  supportSize: number;
  weightedLoss: number;
  maxWeight: number;
} {
  let total = 0;
  let dot = 0;
  let support = 0;
  let max = 0;
  for (let i = 0; i < weights.length; i++) {
    const k = weights[i];
    if (k > 0) {
      support++;
      total += k;
      dot += k * losses[i];
      if (k > max) {
        max = k;
      }
    }
  }
  return {
    totalWeight: total,
    supportSize: support,
    weightedLoss: dot / total,
    maxWeight: max
  };
}

/**
 * Normalised weights w = k / K, summing to 1.
 *
 * @param weights - k (N), with K = Σk > 0.
 * @param totalWeight - K.
 * @returns w (N).
 */
export function normalizeWeights(
  weights: Float32Array,
  totalWeight: number
): Float32Array {
  const out = new Float32Array(weights.length);
  const inv = 1 / totalWeight;
  for (let i = 0; i < weights.length; i++) {
    out[i] = weights[i] * inv;
  }
  return out;
}

/**
 * Loss damping between spotlights (d'Eon et al. 2021):
 * ℓ⁽ʲ⁺¹⁾_i = ℓ⁽ʲ⁾_i · (1 − k⁽ʲ⁾_i / max_m k⁽ʲ⁾_m), computed in float64 and
 * rounded to float32.
 *
 * @param losses - ℓ⁽ʲ⁾ (N).
 * @param weights - k⁽ʲ⁾ (N), not all 0.
 * @returns ℓ⁽ʲ⁺¹⁾ (N).
 */
export function dampLosses(
  losses: Float32Array,
  weights: Float32Array
): Float32Array {
  let max = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] > max) {
      max = weights[i];
    }
  }
  const out = new Float32Array(losses.length);
  if (!(max > 0)) {
    out.set(losses);
    return out;
  }
  for (let i = 0; i < losses.length; i++) {
    out[i] = losses[i] * (1 - weights[i] / max);
  }
  return out;
}
