/**
 * Whether a region is real: its lift with a bootstrap interval (in-sample or
 * on a held-out half), convergence, diffuseness, how concentrated its loss
 * is, and whether it repeats an earlier region. Pure functions over plain
 * arrays (issue "Regions you can trust"; the method: d'Eon et al. 2021).
 */
import { uniform } from '../spotlight/significance';

/** Bootstrap resamples of a lift interval. */
export const BOOTSTRAP_RESAMPLES = 400;

/**
 * A region is diffuse when its effective sample size (Σk)² / Σk² exceeds
 * this fraction of all examples: its weight is spread over so much of the
 * data that it isolates nothing. From runs on planted Gaussian data
 * (docs/method.md, "Diffuse regions"): regions that isolate a planted 2 %
 * cluster had (Σk)²/Σk² of 1–6 % of N at D ≤ 256 and 21–24 % at D = 768;
 * partly isolated or empty ones at D = 768 had 32–56 %.
 */
export const DIFFUSE_FRACTION = 0.25;

/**
 * A region repeats an earlier one when their overlap in kernel weight
 * (`regionOverlap`, Σ min(w_a, w_b) over normalised weights) is at least
 * this: more than half of its weight sits where the earlier region's does.
 */
export const REPEAT_OVERLAP = 0.5;

/** The share of a region's weighted loss that `concentration` accounts for. */
export const CONCENTRATION_SHARE = 0.8;

/**
 * Effective sample size of kernel weights, (Σk)² / Σk².
 *
 * @param weights - Kernel weights k ∈ [0, 1], length N.
 * @returns The effective number of examples (0 when all weights are 0).
 */
export function effectiveSize(weights: ArrayLike<number>): number {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i];
    squares += weights[i] * weights[i];
  }
  return squares > 0 ? (sum * sum) / squares : 0;
}

/**
 * How few examples carry most of a region's loss: the smallest m such that
 * the m largest contributions k_i ℓ_i sum to at least `share` of Σ k_i ℓ_i.
 *
 * @param losses - Losses ≥ 0, length N.
 * @param weights - Kernel weights, length N.
 * @param share - The share, in (0, 1] (default 0.8).
 * @returns m, and the share those m examples actually carry.
 */
export function concentration(
  losses: ArrayLike<number>,
  weights: ArrayLike<number>,
  share = CONCENTRATION_SHARE
): { examples: number; share: number } {
  const parts: number[] = [];
  let total = 0;
  for (let i = 0; i < losses.length; i++) {
    const c = weights[i] * losses[i];
    if (c > 0) {
      parts.push(c);
      total += c;
    }
  }
  if (!(total > 0)) {
    return { examples: 0, share: 0 };
  }
  parts.sort((a, b) => b - a);
  let sum = 0;
  for (let m = 0; m < parts.length; m++) {
    sum += parts[m];
    if (sum >= share * total) {
      return { examples: m + 1, share: sum / total };
    }
  }
  return { examples: parts.length, share: 1 };
}

/**
 * The lift (weighted mean loss / mean loss) of a region on the examples of
 * `mask` (all when null), with a 95 % percentile bootstrap interval: the
 * examples are resampled with replacement, the lift recomputed on each
 * resample with the same kernel weights.
 *
 * @param losses - Losses, length N.
 * @param weights - The region's kernel weights, length N.
 * @param mask - 1 for the examples to use (e.g. the evaluation half), or null.
 * @param seed - Seed of the resampling.
 * @param resamples - Number of bootstrap resamples (default 400).
 * @returns The lift on those examples and its interval [lo, hi]; NaN when
 *   the region has no weight there.
 */
export function liftWithInterval(
  losses: ArrayLike<number>,
  weights: ArrayLike<number>,
  mask: Uint8Array | null,
  seed: number,
  resamples = BOOTSTRAP_RESAMPLES
): { lift: number; interval: [number, number] } {
  const { point, interval } = Private.bootstrap(
    losses.length,
    mask,
    seed,
    resamples,
    pick => {
      let k = 0;
      let kl = 0;
      let l = 0;
      for (let r = 0; r < pick.length; r++) {
        const i = pick[r];
        k += weights[i];
        kl += weights[i] * losses[i];
        l += losses[i];
      }
      return k > 0 && l > 0 ? kl / k / (l / pick.length) : NaN;
    }
  );
  return { lift: point, interval };
}

/**
 * The weighted mean Σ k v / Σ k of a region on the examples of `mask` (all
 * when null), with a 95 % percentile bootstrap interval, as
 * {@link liftWithInterval} but for signed values (e.g. the loss
 * differences of two models), where a ratio to the mean means nothing.
 *
 * @param values - Per-example values, length N.
 * @param weights - The region's kernel weights, length N.
 * @param mask - 1 for the examples to use, or null.
 * @param seed - Seed of the resampling.
 * @param resamples - Number of bootstrap resamples (default 400).
 * @returns The weighted mean and its interval [lo, hi].
 */
export function weightedMeanWithInterval(
  values: ArrayLike<number>,
  weights: ArrayLike<number>,
  mask: Uint8Array | null,
  seed: number,
  resamples = BOOTSTRAP_RESAMPLES
): { mean: number; interval: [number, number] } {
  const { point, interval } = Private.bootstrap(
    values.length,
    mask,
    seed,
    resamples,
    pick => {
      let k = 0;
      let kv = 0;
      for (let r = 0; r < pick.length; r++) {
        const i = pick[r];
        k += weights[i];
        kv += weights[i] * values[i];
      }
      return k > 0 ? kv / k : NaN;
    }
  );
  return { mean: point, interval };
}

/**
 * A random half of the examples for the search, the rest for evaluation,
 * stratified by label when labels are given (each label's examples split
 * as evenly as possible).
 *
 * @param n - Number of examples N.
 * @param labels - Label codes, length N, or null.
 * @param seed - Seed of the split.
 * @returns 1 for the search half, 0 for the evaluation half, length N.
 */
export function holdoutSplit(
  n: number,
  labels: ArrayLike<number> | null,
  seed: number
): Uint8Array {
  const rand = uniform(seed);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const key = labels ? labels[i] : 0;
    let group = groups.get(key);
    if (!group) {
      group = [];
      groups.set(key, group);
    }
    group.push(i);
  }
  const mask = new Uint8Array(n);
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const group = groups.get(key)!;
    for (let i = group.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [group[i], group[j]] = [group[j], group[i]];
    }
    const half =
      Math.floor(group.length / 2) + (group.length % 2 && rand() < 0.5 ? 1 : 0);
    for (let r = 0; r < half; r++) {
      mask[group[r]] = 1;
    }
  }
  return mask;
}

/**
 * Whether a spotlight converged: its final K within [0.9, 1.2] × 1.05 S,
 * and its learning rate not at the floor (halved to ≤ 2⁻²⁰ of its start)
 * within the first 20 % of the steps.
 *
 * @param totalWeight - The final K.
 * @param size - The spotlight size S.
 * @param learningRates - The learning rate after each step (T).
 * @returns Whether it converged, and why not (with what to change).
 */
export function convergence(
  totalWeight: number,
  size: number,
  learningRates: ArrayLike<number>
): { converged: boolean; reason: string | null } {
  const target = 1.05 * size;
  const steps = learningRates.length;
  if (steps > 0) {
    const early = learningRates[Math.max(0, Math.floor(0.2 * steps) - 1)];
    if (early <= learningRates[0] * Math.pow(2, -20)) {
      return {
        converged: false,
        reason: `the learning rate fell to its floor within the first 20 % of the steps (${early.toExponential(1)}), freezing the search: lower the barrier scale (the paper used 1) or raise the learning rate`
      };
    }
  }
  if (totalWeight > 1.2 * target) {
    const advice =
      steps < 5000
        ? 'run more steps (the paper used 5,000)'
        : 'after 5,000 steps this usually means the (damped) losses hold no further region this small: read it as nothing found, or search with a larger spotlight size';
    return {
      converged: false,
      reason: `its total weight K = ${totalWeight.toFixed(0)} stayed above 1.2 × 1.05 S = ${(1.2 * target).toFixed(0)}: ${advice}`
    };
  }
  if (totalWeight < 0.9 * target) {
    return {
      converged: false,
      reason: `its total weight K = ${totalWeight.toFixed(1)} fell below 0.9 × 1.05 S = ${(0.9 * target).toFixed(1)}: lower the learning rate or raise the barrier scale`
    };
  }
  return { converged: true, reason: null };
}

namespace Private {
  /**
   * A statistic of the examples of `mask` and its 95 % percentile bootstrap
   * interval: the examples resampled with replacement `resamples` times.
   *
   * @param n - Number of examples N.
   * @param mask - 1 for the examples to use, or null for all.
   * @param seed - Seed of the resampling.
   * @param resamples - Number of resamples.
   * @param statistic - The statistic of a list of example indices.
   * @returns The statistic on the examples and its interval (NaN bounds
   *   when no resample gave a finite value).
   */
  export function bootstrap(
    n: number,
    mask: Uint8Array | null,
    seed: number,
    resamples: number,
    statistic: (pick: number[]) => number
  ): { point: number; interval: [number, number] } {
    const index: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!mask || mask[i]) {
        index.push(i);
      }
    }
    const point = statistic(index);
    const rand = uniform(seed);
    const draws: number[] = [];
    const pick = new Array<number>(index.length);
    for (let b = 0; b < resamples; b++) {
      for (let r = 0; r < index.length; r++) {
        pick[r] = index[Math.floor(rand() * index.length)];
      }
      const value = statistic(pick);
      if (Number.isFinite(value)) {
        draws.push(value);
      }
    }
    draws.sort((a, b) => a - b);
    const at = (q: number) =>
      draws.length
        ? draws[Math.min(draws.length - 1, Math.floor(q * draws.length))]
        : NaN;
    return { point, interval: [at(0.025), at(0.975)] };
  }
}
