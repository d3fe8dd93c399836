/**
 * Which of a region's examples explain it: orders of its examples and each
 * one's share of the region's weighted loss. Pure functions of arrays.
 */

/** How a region's examples are ordered. */
export type ExampleOrder = 'contribution' | 'weight' | 'loss' | 'misclassified';

/** All orders, the default first. */
export const EXAMPLE_ORDERS: readonly ExampleOrder[] = [
  'contribution',
  'weight',
  'loss',
  'misclassified'
];

/** What {@link orderExamples} reads. */
export interface IOrderInput {
  /** The region's kernel weights k, length N, in [0, 1]. */
  weights: ArrayLike<number>;
  /** Per-example losses ℓ, length N (model B's when comparing). */
  losses: ArrayLike<number>;
  /** Label codes, length N, or null. */
  labels?: ArrayLike<number> | null;
  /** Prediction codes in the labels' coding, length N, or null. */
  predictions?: ArrayLike<number> | null;
}

/**
 * The examples of a region (k_i > 0) in the chosen order, best first:
 * - `contribution`: k_i·ℓ_i, the example's part of the weighted loss
 *   Σ k_i ℓ_i / K (d'Eon et al. 2021, eq. 1) — the examples the region's
 *   loss comes from;
 * - `weight`: k_i, the examples nearest the spotlight's centre;
 * - `loss`: ℓ_i;
 * - `misclassified`: examples whose prediction differs from their label
 *   first, each group by contribution (by contribution alone without labels
 *   or predictions).
 * Ties go to the heavier example, then to the smaller index.
 *
 * @param input - Weights, losses and optional labels and predictions.
 * @param order - The order.
 * @returns Indices of the examples with k > 0.
 * @throws {RangeError} when weights and losses differ in length.
 */
export function orderExamples(
  input: IOrderInput,
  order: ExampleOrder = 'contribution'
): number[] {
  const { weights, losses, labels, predictions } = input;
  if (weights.length !== losses.length) {
    throw new RangeError(
      `weights has ${weights.length} values but losses has ${losses.length}: pass one of each per example.`
    );
  }
  const indices: number[] = [];
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] > 0) {
      indices.push(i);
    }
  }
  const key = (i: number) =>
    order === 'weight'
      ? weights[i]
      : order === 'loss'
        ? losses[i]
        : weights[i] * losses[i];
  const wrong = (i: number) =>
    order === 'misclassified' && labels && predictions
      ? labels[i] !== predictions[i]
        ? 1
        : 0
      : 0;
  return indices.sort(
    (a, b) =>
      wrong(b) - wrong(a) || key(b) - key(a) || weights[b] - weights[a] || a - b
  );
}

/**
 * Each example's share of a region's weighted loss: k_i·ℓ_i / Σ_j k_j·ℓ_j.
 * The shares of all examples sum to 1 when Σ k ℓ ≠ 0 (all 0 otherwise).
 *
 * @param weights - Kernel weights k, length N.
 * @param losses - Losses ℓ, length N.
 * @returns Shares, float64, length N.
 * @throws {RangeError} when the lengths differ.
 */
export function lossShares(
  weights: ArrayLike<number>,
  losses: ArrayLike<number>
): Float64Array {
  if (weights.length !== losses.length) {
    throw new RangeError(
      `weights has ${weights.length} values but losses has ${losses.length}: pass one of each per example.`
    );
  }
  const shares = new Float64Array(weights.length);
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    shares[i] = weights[i] * losses[i];
    total += shares[i];
  }
  if (total !== 0 && Number.isFinite(total)) {
    for (let i = 0; i < shares.length; i++) {
      shares[i] /= total;
    }
  } else {
    shares.fill(0);
  }
  return shares;
}
