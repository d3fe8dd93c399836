/**
 * Types and defaults of the Spotlight search engine (d'Eon et al. 2021;
 * /work/shared/SPOTLIGHT_METHOD.md). Pure data: no tfjs, no DOM.
 */

/** A compute backend that can run the search. */
export type BackendName = 'webgl' | 'wasm' | 'cpu';

/** A backend preference: a backend, or `auto` to pick the fastest that works. */
export type BackendChoice = 'auto' | BackendName;

/** The backends in `auto`'s order of preference. */
export const BACKEND_NAMES: readonly BackendName[] = ['webgl', 'wasm', 'cpu'];

/**
 * Options of a search. All are optional; `DEFAULT_SPOTLIGHT_OPTIONS` holds
 * the values the paper's own runs used (d'Eon et al. 2021). (A type alias,
 * not an interface, to keep the name the rest of the extension uses.)
 */
export type SpotlightOptions = {
  /** Spotlight size as a fraction of N, in (0, 1): S = floor(fraction · N). */
  spotlightSize?: number;
  /** Number of spotlights to find, ≥ 1. */
  count?: number;
  /** Adam steps per spotlight T, ≥ 1. */
  steps?: number;
  /** Initial Adam learning rate, > 0. */
  learningRate?: number;
  /** Plateau rule: steps without improvement tolerated before the rate falls (≥ 0). */
  patience?: number;
  /** Plateau rule: factor applied to the learning rate, in (0, 1). */
  factor?: number;
  /** Final barrier width as a fraction of S: b_{T−1} = finalBarrierFraction · S, > 0. */
  finalBarrierFraction?: number;
  /** Barrier scale c of the size penalty, > 0. */
  barrierScale?: number;
  /** Initial precision τ₀ (1 / squared radius), > 0. */
  initialPrecision?: number;
  /** Backend preference. */
  backend?: BackendChoice;
  /**
   * Exact shell evaluation on the `wasm` and `cpu` backends (issue 7;
   * shellKernel.ts): after a full pass, read only the rows near the sphere's
   * boundary while the centre and radius stay within a margin, and take the
   * rest from moments of the rows certainly inside. Same results up to
   * rounding, far fewer rows read. Default true; `webgl` ignores it.
   */
  pruning?: boolean;
  /**
   * The collapse guard (engine.ts, `collapseFloor`): an Adam step that would
   * leave the total weight K below the spotlight size S is rejected (θ stays
   * where it was for that step). Default true; false is the paper's optimiser as published, which
   * loses every example when a compact group has very high loss (kept for
   * comparisons and tests).
   */
  collapseGuard?: boolean;
  /**
   * Accept negative values in `losses` (default false): for comparing two
   * models, the search maximises the kernel-weighted mean of the per-example
   * loss differences d_i = ℓ_B,i − ℓ_A,i. The objective, its gradient and the
   * damping ℓ ⊙ (1 − k / max k) are the same formulas; damping shrinks the
   * differences of a found region towards 0 ("no difference"), from either
   * side, so the next spotlight looks elsewhere (docs/method.md).
   */
  signedLosses?: boolean;
};

/** Every option, resolved. */
export type IResolvedOptions = Required<SpotlightOptions>;

/** The defaults (the paper's runs; SPOTLIGHT_METHOD.md "Defaults that work"). */
export const DEFAULT_SPOTLIGHT_OPTIONS: Readonly<IResolvedOptions> =
  Object.freeze({
    spotlightSize: 0.02,
    count: 5,
    steps: 5000,
    learningRate: 1e-2,
    patience: 10,
    factor: 0.5,
    finalBarrierFraction: 0.05,
    barrierScale: 1,
    initialPrecision: 1e-4,
    backend: 'auto' as BackendChoice,
    pruning: true,
    collapseGuard: true,
    signedLosses: false
  });

/** Adam's constants (β1, β2 as PyTorch's defaults; ε passed explicitly). */
export const ADAM = Object.freeze({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });

/** The plateau rule's relative threshold and smallest learning-rate change. */
export const PLATEAU = Object.freeze({ threshold: 1e-4, minChange: 1e-8 });

/** The data to search: N examples, each a D-dimensional embedding and a loss. */
export interface ISpotlightInput {
  /** Row-major N × D embeddings (row i = example i), float32. */
  embeddings: Float32Array;
  /** N per-example losses, finite and ≥ 0. */
  losses: Float32Array;
  /** Number of examples N. */
  n: number;
  /** Embedding dimension D. */
  d: number;
}

/** The parameters a search ran with, as reported in its result. */
export interface ISpotlightParameters {
  /** Spotlight size as a fraction of N. */
  spotlightSize: number;
  /** Spotlight size S = floor(fraction · N), in examples. */
  size: number;
  /** Number of spotlights. */
  count: number;
  /** Adam steps per spotlight T. */
  steps: number;
  /** Initial learning rate. */
  learningRate: number;
  /** Plateau-rule patience. */
  patience: number;
  /** Plateau-rule factor. */
  factor: number;
  /** Final barrier width as a fraction of S. */
  finalBarrierFraction: number;
  /** First barrier width b_0 = N − S, in examples. */
  initialBarrier: number;
  /** Final barrier width b_{T−1} = finalBarrierFraction · S, in examples. */
  finalBarrier: number;
  /** Barrier scale c. */
  barrierScale: number;
  /** Requested initial precision τ₀ (a spotlight's `initialPrecision` is the one used). */
  initialPrecision: number;
  /** Adam β1. */
  beta1: number;
  /** Adam β2. */
  beta2: number;
  /** Adam ε. */
  epsilon: number;
  /** The backend preference the search was asked for. */
  backend: BackendChoice;
}

/** The optimisation history of one spotlight, one entry per step. */
export interface ISpotlightHistory {
  /** J_t = f_t − P_t before the update of step t. */
  objective: Float32Array;
  /** K_t = Σ k_i before the update of step t. */
  totalWeight: Float32Array;
  /** Learning rate after the plateau rule of step t. */
  learningRate: Float32Array;
}

/** One spotlight: a sphere in embedding space and its kernel weights. */
export interface ISpotlight {
  /** Centre μ (D). */
  center: Float32Array;
  /** Precision τ = 1 / r² (squared embedding units⁻¹). */
  precision: number;
  /** Radius r = τ^(−1/2), in embedding units. */
  radius: number;
  /** Kernel weights k_i = max(0, 1 − τ‖x_i − μ‖²) ∈ [0, 1] (N), from (center, precision). */
  kernelWeights: Float32Array;
  /** Normalised weights w = k / K (N), summing to 1. */
  normalizedWeights: Float32Array;
  /** Total weight K = Σ k_i, in examples. */
  totalWeight: number;
  /** Support size #{i : k_i > 0}. */
  supportSize: number;
  /** Weighted mean Σ k_i ℓ_i / K of the (damped) losses this spotlight optimised. */
  weightedLoss: number;
  /** Weighted mean of the original losses. */
  weightedLossOriginal: number;
  /** Initial precision τ₀ actually used. */
  initialPrecision: number;
  /** True when τ₀ was lowered because the requested one gave K₀ = 0. */
  startAdjusted: boolean;
  /**
   * Steps the collapse guard rejected: an Adam step that would have left the
   * ball with total weight K below the spotlight size S (engine.ts,
   * `collapseFloor`). 0 for every run that never comes near a collapse.
   */
  guardSteps: number;
  /** The optimisation history. */
  history: ISpotlightHistory;
  /** Wall-clock time of this spotlight, in milliseconds. */
  timeMs: number;
  /** The work of this spotlight's optimisation steps (not the final weights pass). */
  stats?: ISpotlightStats;
}

/**
 * The work of one spotlight's T optimisation steps: rows of X read and full
 * passes over X. Unpruned cpu: N + min(#active, #inactive) rows per step;
 * unpruned wasm: N rows (of D padded to a multiple of 16); shell evaluation:
 * the shell each step plus N per rescan; webgl: 2N rows of D + 2 values per
 * step.
 */
export interface ISpotlightStats {
  /** Whether exact shell evaluation ran (wasm or cpu with `pruning`). */
  pruning: boolean;
  /** Steps T. */
  steps: number;
  /** Rows of X read over the T steps (a row read by two passes counts twice). */
  rowsRead: number;
  /** Bytes of X read: rowsRead × the bytes of one stored row (4·D on cpu, 4·P on wasm, 4·(D + 2) on webgl). */
  bytesRead: number;
  /** Full passes over X (unpruned: one per step; pruned: the rescans). */
  fullPasses: number;
}

/** The result of a search. */
export interface ISpotlightResult {
  /** Version of this result's layout. */
  version: 1;
  /** The backend that ran. */
  backend: BackendName;
  /** Why that backend ran (including the backends tried and why they were not used). */
  backendReason: string;
  /** Number of examples N. */
  n: number;
  /** Embedding dimension D. */
  d: number;
  /** The parameters used. */
  parameters: ISpotlightParameters;
  /** The spotlights, in the order they were found. */
  spotlights: ISpotlight[];
  /** Wall-clock times, in milliseconds. */
  timings: { totalMs: number; perSpotlightMs: number[] };
}

/** A progress report, sent at least every `progressIntervalMs`. */
export interface ISpotlightProgress {
  /** Index of the spotlight being optimised, from 0. */
  spotlight: number;
  /** Number of spotlights. */
  count: number;
  /** Index of the last completed step, from 0 (−1 before the first). */
  step: number;
  /** Steps per spotlight T. */
  steps: number;
  /** J at the last completed step. */
  objective: number;
  /** K at the last completed step. */
  totalWeight: number;
  /** Weighted loss f at the last completed step. */
  weightedLoss: number;
  /** Learning rate after the last completed step. */
  learningRate: number;
}

/** How a caller controls a running search. */
export interface ISpotlightControl {
  /** Cancels the search; it rejects with an `AbortError` within one step. */
  signal?: AbortSignal;
  /** Called with progress at least every `progressIntervalMs`. */
  onProgress?: (progress: ISpotlightProgress) => void;
  /** Called with each spotlight as soon as it is found (index from 0), before the next starts. */
  onSpotlight?: (spotlight: ISpotlight, index: number) => void;
  /** Interval between progress reports, in ms (default 100). */
  progressIntervalMs?: number;
  /** Longest stretch of work between yields to the event loop, in ms (default 30). */
  yieldIntervalMs?: number;
}
