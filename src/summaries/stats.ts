/**
 * Region statistics: pure functions over plain arrays, so they can be tested
 * without JupyterLab or tfjs. A region is a spotlight's kernel weights
 * k ∈ [0, 1]^N (d'Eon et al. 2021, §3); its normalised weights w = k / K.
 */
import type { IExplanation } from './explain';

/** One category's share inside a region and overall. */
export interface ICategoryShare {
  /** The category's display name. */
  value: string;
  /** Weighted share in the region, in [0, 1]. */
  region: number;
  /** Share in the whole data, in [0, 1]. */
  overall: number;
  /** region / overall (∞ when overall is 0 and region is not). */
  enrichment: number;
}

/** Optional per-example data that enriches a region summary. */
export interface IRegionContext {
  /** Original per-example losses, length N. */
  losses: Float32Array;
  /** Integer class labels, length N. */
  labels?: Int32Array | null;
  /** Class names for the label codes, when labels were strings. */
  labelNames?: string[] | null;
  /** Predicted classes, length N (same coding as labels). */
  predictions?: Int32Array | Float32Array | null;
  /** Metadata codes, length N. */
  metadata?: Int32Array | null;
  /** Names of the metadata codes. */
  metadataNames?: string[] | null;
  /** Model A's losses when two models are compared (`losses` are model B's). */
  referenceLosses?: Float32Array | null;
  /** Model A's predictions (same coding as labels). */
  referencePredictions?: Int32Array | null;
}

/** Both models in a region, when two models are compared. */
export interface IComparison {
  /** Weighted mean of model A's losses in the region. */
  weightedLossReference: number;
  /** Mean of model A's losses over all examples. */
  overallLossReference: number;
  /** Weighted mean of ℓ_B − ℓ_A in the region (> 0: B is worse there). */
  weightedLossDifference: number;
  /** Mean of ℓ_B − ℓ_A over all examples. */
  overallLossDifference: number;
  /** Model A's weighted accuracy in the region, or null without labels and reference predictions. */
  accuracyReference: number | null;
  /** Model A's accuracy over all examples, or null. */
  overallAccuracyReference: number | null;
  /** Weighted share of the region where the two models predict differently, or null. */
  disagreement: number | null;
  /**
   * 95 % bootstrap interval of `weightedLossDifference` (in-sample, or on
   * the held-out half); set with the region's trust statistics.
   */
  differenceInterval?: [number, number];
}

/** The statistics shown on a region's card and saved into the notebook. */
export interface IRegionSummary {
  /** Position of the region in the search order, from 0. */
  index: number;
  /** K = Σ k_i, the total kernel weight (a count of examples). */
  totalWeight: number;
  /** Number of examples with k_i > 0. */
  supportSize: number;
  /** Weighted mean of the losses the spotlight optimised (damped). */
  weightedLoss: number;
  /** Weighted mean of the original losses. */
  weightedLossOriginal: number;
  /** Mean loss over all examples. */
  overallLoss: number;
  /** weightedLossOriginal / overallLoss. */
  lift: number;
  /** Weighted accuracy inside the region, or null without labels and predictions. */
  accuracy: number | null;
  /** Accuracy over all examples, or null. */
  overallAccuracy: number | null;
  /** Indices of the (at most 100) heaviest examples, heaviest first. */
  topIndices: number[];
  /** Label shares, most enriched first (empty without labels). */
  labels: ICategoryShare[];
  /** Prediction shares, most enriched first (empty without predictions). */
  predictions: ICategoryShare[];
  /** Metadata shares, most enriched first (empty without metadata). */
  metadata: ICategoryShare[];
  /** Model A next to model B, when two models are compared; else absent. */
  comparison?: IComparison;
  /**
   * Permutation-test p-value (spotlight/significance.ts): null while the
   * test has not run (or `permutations` is 0); absent in findings saved
   * before the test existed.
   */
  pValue?: number | null;
  /** pValue ≤ α; null when untested. */
  significant?: boolean | null;
  /**
   * 95 % bootstrap interval of the lift; holdout: measured on the
   * evaluation half, in-sample: weighted bootstrap on all data.
   */
  liftInterval?: [number, number];
  /** Where the lift and its interval were measured. */
  liftIntervalKind?: 'holdout' | 'in-sample';
  /** Whether the spotlight converged (summaries/trust.ts `convergence`). */
  converged?: boolean;
  /** Why it did not converge, with what to change; null when it did. */
  convergenceNote?: string | null;
  /** Effective sample size (Σk)² / Σk² of its weights. */
  effectiveSize?: number;
  /** Weight spread over more than DIFFUSE_FRACTION of the data. */
  diffuse?: boolean;
  /** The fewest examples carrying 80 % of its weighted loss. */
  concentration?: { examples: number; share: number };
  /** The earlier region (from 0) it mostly repeats, or null. */
  repeatOf?: number | null;
  /** One sentence on what to make of the region, or null. */
  note?: string | null;
  /**
   * The region's one-line name from its top explanations (summaries/explain.ts
   * `regionName`), '' when nothing cleared the test; absent in findings
   * saved before explanations existed.
   */
  name?: string;
  /** What sets the region apart, best first (summaries/explain.ts `explainRegion`). */
  explanation?: IExplanation[];
}

/**
 * Indices sorted by descending weight, ties by ascending index.
 *
 * @param weights - Kernel weights, length N.
 * @param limit - How many to return (all positive-weight indices at most).
 * @returns Up to `limit` indices with k > 0, heaviest first.
 */
export function rankByWeight(
  weights: ArrayLike<number>,
  limit: number
): number[] {
  const indices: number[] = [];
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] > 0) {
      indices.push(i);
    }
  }
  indices.sort((a, b) => weights[b] - weights[a] || a - b);
  return indices.slice(0, Math.max(0, limit));
}

/**
 * The arithmetic mean, accumulated in float64.
 *
 * @param values - Any numbers; must not be empty.
 * @returns Σ v / n.
 */
export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
  }
  return values.length ? sum / values.length : NaN;
}

/**
 * The weighted mean Σ k_i v_i / Σ k_i, in float64.
 *
 * @param values - Values, length N.
 * @param weights - Non-negative weights, length N, not all zero.
 * @returns The weighted mean (NaN when all weights are 0).
 */
export function weightedMean(
  values: ArrayLike<number>,
  weights: ArrayLike<number>
): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < values.length; i++) {
    num += weights[i] * values[i];
    den += weights[i];
  }
  return num / den;
}

/**
 * Shares of each category inside a region (weighted) and overall.
 *
 * @param codes - Category code per example, length N.
 * @param weights - Kernel weights, length N.
 * @param names - Display names for codes (else the code itself).
 * @returns One share per category present, most enriched first (ties: larger
 *   region share first); at most `limit` entries.
 */
export function categoryShares(
  codes: ArrayLike<number>,
  weights: ArrayLike<number>,
  names?: string[] | null,
  limit = 10
): ICategoryShare[] {
  const region = new Map<number, number>();
  const overall = new Map<number, number>();
  let totalWeight = 0;
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    overall.set(c, (overall.get(c) ?? 0) + 1);
    if (weights[i] > 0) {
      region.set(c, (region.get(c) ?? 0) + weights[i]);
      totalWeight += weights[i];
    }
  }
  const shares: ICategoryShare[] = [];
  for (const [code, count] of overall) {
    const r = totalWeight > 0 ? (region.get(code) ?? 0) / totalWeight : 0;
    const o = count / codes.length;
    shares.push({
      value: names?.[code] ?? String(code),
      region: r,
      overall: o,
      enrichment: o > 0 ? r / o : r > 0 ? Infinity : 0
    });
  }
  shares.sort((a, b) => b.enrichment - a.enrichment || b.region - a.region);
  return shares.slice(0, limit);
}

/**
 * Model A next to model B in a region (kernel-weighted, like the rest of the
 * summary).
 *
 * @param weights - The region's kernel weights, length N.
 * @param context - Model B's losses and predictions, the labels, model A's predictions.
 * @param reference - Model A's losses, length N.
 * @returns The comparison.
 */
export function compareModels(
  weights: ArrayLike<number>,
  context: IRegionContext,
  reference: Float32Array
): IComparison {
  const { losses, labels, predictions, referencePredictions } = context;
  const difference = new Float32Array(losses.length);
  for (let i = 0; i < losses.length; i++) {
    difference[i] = losses[i] - reference[i];
  }
  let accuracyReference: number | null = null;
  let overallAccuracyReference: number | null = null;
  if (labels && referencePredictions) {
    const correct = new Float32Array(labels.length);
    for (let i = 0; i < labels.length; i++) {
      correct[i] = labels[i] === referencePredictions[i] ? 1 : 0;
    }
    accuracyReference = weightedMean(correct, weights);
    overallAccuracyReference = mean(correct);
  }
  let disagreement: number | null = null;
  if (predictions && referencePredictions) {
    const differs = new Float32Array(predictions.length);
    for (let i = 0; i < predictions.length; i++) {
      differs[i] = predictions[i] !== referencePredictions[i] ? 1 : 0;
    }
    disagreement = weightedMean(differs, weights);
  }
  return {
    weightedLossReference: weightedMean(reference, weights),
    overallLossReference: mean(reference),
    weightedLossDifference: weightedMean(difference, weights),
    overallLossDifference: mean(difference),
    accuracyReference,
    overallAccuracyReference,
    disagreement
  };
}

/**
 * Summarise one region.
 *
 * @param index - The region's position in the search order.
 * @param weights - Its kernel weights k, length N, in [0, 1].
 * @param weightedLoss - Weighted loss on the damped losses it optimised.
 * @param context - Original losses and optional labels, predictions, metadata.
 * @returns The card's statistics; accuracy is weighted by k.
 */
export function summarizeRegion(
  index: number,
  weights: ArrayLike<number>,
  weightedLoss: number,
  context: IRegionContext
): IRegionSummary {
  const { losses, labels, predictions, metadata } = context;
  let totalWeight = 0;
  let supportSize = 0;
  for (let i = 0; i < weights.length; i++) {
    totalWeight += weights[i];
    if (weights[i] > 0) {
      supportSize++;
    }
  }
  const overallLoss = mean(losses);
  const weightedLossOriginal = weightedMean(losses, weights);
  let accuracy: number | null = null;
  let overallAccuracy: number | null = null;
  if (labels && predictions) {
    const correct = new Float32Array(labels.length);
    for (let i = 0; i < labels.length; i++) {
      correct[i] = labels[i] === predictions[i] ? 1 : 0;
    }
    accuracy = weightedMean(correct, weights);
    overallAccuracy = mean(correct);
  }
  return {
    ...(context.referenceLosses
      ? {
          comparison: compareModels(weights, context, context.referenceLosses)
        }
      : {}),
    index,
    totalWeight,
    supportSize,
    weightedLoss,
    weightedLossOriginal,
    overallLoss,
    lift: weightedLossOriginal / overallLoss,
    accuracy,
    overallAccuracy,
    topIndices: rankByWeight(weights, 100),
    labels: labels ? categoryShares(labels, weights, context.labelNames) : [],
    predictions: predictions
      ? categoryShares(predictions, weights, context.labelNames)
      : [],
    metadata: metadata
      ? categoryShares(metadata, weights, context.metadataNames)
      : []
  };
}

/**
 * Overlap between two regions: Σ_i min(w_a,i, w_b,i) on normalised weights.
 *
 * @param a - Kernel weights of region a, length N.
 * @param b - Kernel weights of region b, length N.
 * @returns A number in [0, 1]: 1 for the same region, 0 for disjoint ones.
 */
export function regionOverlap(
  a: ArrayLike<number>,
  b: ArrayLike<number>
): number {
  let ka = 0;
  let kb = 0;
  for (let i = 0; i < a.length; i++) {
    ka += a[i];
    kb += b[i];
  }
  if (ka <= 0 || kb <= 0) {
    return 0;
  }
  let overlap = 0;
  for (let i = 0; i < a.length; i++) {
    overlap += Math.min(a[i] / ka, b[i] / kb);
  }
  return Math.min(1, overlap);
}

/**
 * A histogram of values, optionally weighted, normalised to fractions.
 *
 * @param values - Values, length N.
 * @param edges - Bin edges, ascending, length B + 1; the last bin is closed.
 * @param weights - Optional non-negative weights, length N.
 * @returns B fractions summing to 1 (or all 0 when no weight falls in range).
 */
export function histogram(
  values: ArrayLike<number>,
  edges: number[],
  weights?: ArrayLike<number>
): number[] {
  const bins = edges.length - 1;
  const counts = new Array<number>(bins).fill(0);
  const lo = edges[0];
  const hi = edges[bins];
  const width = (hi - lo) / bins;
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const w = weights ? weights[i] : 1;
    if (w <= 0) {
      continue;
    }
    const v = values[i];
    if (v < lo || v > hi) {
      continue;
    }
    const b = width > 0 ? Math.min(bins - 1, Math.floor((v - lo) / width)) : 0;
    counts[b] += w;
    total += w;
  }
  return counts.map(c => (total > 0 ? c / total : 0));
}
