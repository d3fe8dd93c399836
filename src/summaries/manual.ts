/**
 * Manual regions: a set of examples the user drew on the map (or listed in
 * a script), made into a region with 0/1 kernel weights so that it gets the
 * same card, charts and saved cells as the regions the search found.
 */
import type { ISpotlight } from '../spotlight/types';

/**
 * Check and normalise a manual region's indices.
 *
 * @param indices - Row indices, whole numbers in [0, N).
 * @param n - Number of examples N.
 * @returns The distinct indices, sorted.
 * @throws {TypeError} when `indices` is not an array of whole numbers.
 * @throws {RangeError} when it is empty or an index is outside [0, N).
 */
export function checkIndices(indices: unknown, n: number): number[] {
  if (!Array.isArray(indices) && !ArrayBuffer.isView(indices)) {
    throw new TypeError(
      `indices must be a list of example indices (whole numbers from 0 to ${n - 1}); got ${typeof indices}.`
    );
  }
  const list = Array.from(indices as ArrayLike<unknown>);
  if (!list.length) {
    throw new RangeError(
      'indices is empty: select at least one example for a region.'
    );
  }
  const bad = list.find(
    i => typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= n
  );
  if (bad !== undefined) {
    throw new RangeError(
      `indices must be whole numbers from 0 to ${n - 1} (the examples' rows); got ${JSON.stringify(bad)}.`
    );
  }
  return [...new Set(list as number[])].sort((a, b) => a - b);
}

/**
 * The 0/1 kernel weights of a manual region: k_i = 1 for the chosen rows.
 *
 * @param indices - Checked row indices ({@link checkIndices}).
 * @param n - Number of examples N.
 * @returns Float32 weights, length N.
 */
export function manualWeights(
  indices: ArrayLike<number>,
  n: number
): Float32Array {
  const weights = new Float32Array(n);
  for (let j = 0; j < indices.length; j++) {
    weights[indices[j]] = 1;
  }
  return weights;
}

/**
 * A manual region as a spotlight: 0/1 weights on the chosen rows, its
 * centre the rows' mean embedding (zeros when the page holds no embeddings,
 * e.g. they live in the audit worker: a manual region is its rows, its
 * centre is only informative), no precision (τ = 0: it is not a ball)
 * and no optimisation history. Its weighted loss is the chosen rows' mean
 * loss: Σ k_i ℓ_i / K with k ∈ {0, 1}.
 *
 * @param indices - Checked row indices ({@link checkIndices}).
 * @param data - Row-major N × D float32 `embeddings` (or null), `d`, and
 *   `losses` (float32, length N).
 * @returns The spotlight.
 */
export function manualSpotlight(
  indices: number[],
  data: { embeddings: Float32Array | null; d: number; losses: Float32Array }
): ISpotlight {
  const n = data.losses.length;
  const { d } = data;
  const kernelWeights = manualWeights(indices, n);
  const count = indices.length;
  const center = new Float32Array(d);
  let loss = 0;
  for (const i of indices) {
    loss += data.losses[i];
    for (let k = 0; k < d && data.embeddings; k++) {
      center[k] += data.embeddings[i * d + k] / count;
    }
  }
  const normalizedWeights = new Float32Array(n);
  for (const i of indices) {
    normalizedWeights[i] = 1 / count;
  }
  return {
    center,
    precision: 0,
    radius: Infinity,
    kernelWeights,
    normalizedWeights,
    totalWeight: count,
    supportSize: count,
    weightedLoss: loss / count,
    weightedLossOriginal: loss / count,
    initialPrecision: 0,
    startAdjusted: false,
    guardSteps: 0,
    history: {
      objective: new Float32Array(0),
      totalWeight: new Float32Array(0),
      learningRate: new Float32Array(0)
    },
    timeMs: 0
  };
}
