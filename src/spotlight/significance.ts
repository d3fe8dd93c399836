/**
 * The permutation test of a search (issue "Regions you can trust").
 *
 * The Spotlight maximises the weighted mean loss over every ball, so it
 * always finds a region that looks bad, even where the model makes no
 * systematic error. The null distribution of that maximum is sampled by
 * searching again on losses whose link to the embeddings is broken: the
 * losses permuted across examples (same embeddings, same options, seeded),
 * or, for paired loss differences of two models, each difference's sign
 * flipped at random (the exact null of "no difference" for paired data).
 * Each null search finds one spotlight; its weighted loss is one draw of
 * the null maximum. Region j's p-value compares its weighted loss, on the
 * losses it was found on, with the null of the FIRST spotlight's maximum:
 * p_j = (1 + #{null ≥ observed_j}) / (P + 1). The first spotlight's maximum
 * is stochastically the largest of the sequence (later spotlights search
 * damped losses), so this controls the family-wise error over the regions.
 */
import { findSpotlights } from './engine';
import { throwIfAborted } from './errors';
import { ISpotlightInput, ISpotlightResult, SpotlightOptions } from './types';

/** How to sample the null. */
export interface INullOptions {
  /** Number of null searches P, ≥ 1. */
  permutations: number;
  /** Seed of the permutations (the same seed gives the same null). */
  seed: number;
  /**
   * `permute`: losses permuted across examples; `sign-flip`: each (paired
   * difference) value's sign flipped with probability ½.
   */
  scheme: 'permute' | 'sign-flip';
}

/** What a caller controls while the null is sampled. */
export interface INullControl {
  /** Cancels: rejects with an AbortError within one search step. */
  signal?: AbortSignal;
  /** Called after each null search with the number done and P. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Runs each null search (default `findSpotlights`): e.g. the sharded
   * engine over the audit's search workers, which gives the same result.
   */
  search?: (
    input: ISpotlightInput,
    options: SpotlightOptions,
    control: { signal?: AbortSignal }
  ) => Promise<ISpotlightResult>;
}

/**
 * Sample the null distribution of the first spotlight's weighted loss.
 *
 * @param input - N × D float32 embeddings and the N losses searched (or
 *   the signed differences when `scheme` is `sign-flip`).
 * @param options - The search's options; `count` is forced to 1.
 * @param nullOptions - P, the seed and the scheme.
 * @param control - Cancel and progress.
 * @returns P null maxima (weighted losses of the first spotlight), in the
 *   order drawn, float64.
 * @throws SpotlightInputError / SpotlightRunError as `findSpotlights`; an
 *   AbortError when cancelled.
 */
export async function nullDistribution(
  input: ISpotlightInput,
  options: SpotlightOptions,
  nullOptions: INullOptions,
  control: INullControl = {}
): Promise<Float64Array> {
  const { permutations, seed, scheme } = nullOptions;
  if (!Number.isInteger(permutations) || permutations < 1) {
    throw new RangeError(
      `The number of permutations must be a whole number ≥ 1 (got ${permutations}).`
    );
  }
  const rand = uniform(seed);
  const maxima = new Float64Array(permutations);
  const shuffled = new Float32Array(input.losses.length);
  for (let p = 0; p < permutations; p++) {
    throwIfAborted(control.signal);
    if (scheme === 'sign-flip') {
      signFlipInto(input.losses, rand, shuffled);
    } else {
      permuteInto(input.losses, rand, shuffled);
    }
    const result = await (control.search ?? findSpotlights)(
      { ...input, losses: shuffled },
      { ...options, count: 1 },
      { signal: control.signal }
    );
    maxima[p] = result.spotlights[0].weightedLoss;
    control.onProgress?.(p + 1, permutations);
  }
  return maxima;
}

/**
 * The permutation p-value (1 + #{null ≥ observed}) / (P + 1).
 *
 * @param observed - The region's weighted loss on the losses it was found on.
 * @param nulls - The P null maxima.
 * @returns The p-value, in [1 / (P + 1), 1].
 */
export function permutationPValue(
  observed: number,
  nulls: ArrayLike<number>
): number {
  let atLeast = 0;
  for (let i = 0; i < nulls.length; i++) {
    if (nulls[i] >= observed) {
      atLeast++;
    }
  }
  return (1 + atLeast) / (nulls.length + 1);
}

/**
 * A seeded uniform generator on [0, 1) (mulberry32).
 *
 * @param seed - Any integer.
 * @returns The generator.
 */
export function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A uniformly random permutation of `values` (Fisher–Yates) into `out`.
 *
 * @param values - The values.
 * @param rand - A uniform generator.
 * @param out - Receives the permuted values (same length).
 */
export function permuteInto(
  values: Float32Array,
  rand: () => number,
  out: Float32Array
): void {
  out.set(values);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const v = out[i];
    out[i] = out[j];
    out[j] = v;
  }
}

/**
 * Each value with its sign flipped with probability ½, into `out`.
 *
 * @param values - Paired differences.
 * @param rand - A uniform generator.
 * @param out - Receives the values (same length).
 */
export function signFlipInto(
  values: Float32Array,
  rand: () => number,
  out: Float32Array
): void {
  for (let i = 0; i < values.length; i++) {
    out[i] = rand() < 0.5 ? -values[i] : values[i];
  }
}
