import type {
  IMetadataColumn,
  ISkippedColumn,
  ITokenTable
} from './summaries/explain';
import type { ITransferProgress } from './kernel/bridge';
import type { Transport } from './kernel/protocol';
import type { IAuditResult } from './model';
import type { IFinding } from './notebook/cells';
import type { IMapLayout, MapMethod } from './summaries/projection';
import type {
  ISpotlight,
  ISpotlightProgress,
  ISpotlightResult
} from './spotlight';

/**
 * The roles a kernel variable can play in an audit. `referenceLosses` and
 * `referencePredictions` are model A's when two models are compared (the
 * kernel converts and checks them as `losses` and `predictions`).
 */
export type Role =
  | 'embeddings'
  | 'losses'
  | 'referenceLosses'
  | 'labels'
  | 'predictions'
  | 'referencePredictions'
  | 'examples'
  | 'metadata';

/** The roles the kernel helper knows (protocol v1). */
export type KernelRole = Exclude<
  Role,
  'referenceLosses' | 'referencePredictions'
>;

/** All roles, in the order the panel shows their pickers. */
export const ROLES: readonly Role[] = [
  'embeddings',
  'losses',
  'referenceLosses',
  'labels',
  'predictions',
  'referencePredictions',
  'examples',
  'metadata'
];

/**
 * The kernel role that converts and checks a variable for `role`.
 *
 * @param role - A panel role.
 * @returns The role the kernel helper knows.
 */
export function kernelRole(role: Role): KernelRole {
  return role === 'referenceLosses'
    ? 'losses'
    : role === 'referencePredictions'
      ? 'predictions'
      : role;
}

/** One variable of the kernel's user namespace, as listed by the helper. */
export interface IVariable {
  /** The variable's name in the user namespace. */
  name: string;
  /** Qualified class name, e.g. `numpy.ndarray`. */
  type: string;
  /** Shape, or null when it has none. */
  shape: number[] | null;
  /** Element type as the kernel names it, or null. */
  dtype: string | null;
  /** Size of the data in bytes, or null when unknown. */
  nbytes: number | null;
  /** Number of rows (first dimension), or null. */
  length: number | null;
  /** Roles the variable could play. */
  roles: Role[];
}

/** The variable names chosen for an audit. */
export interface ISelection {
  embeddings: string | null;
  /** Per-example losses (of model B when two models are compared). */
  losses: string | null;
  /** Model A's per-example losses: compare where B is worse (or better) than A. */
  referenceLosses: string | null;
  labels: string | null;
  predictions: string | null;
  /** Model A's predictions (with `referenceLosses`). */
  referencePredictions: string | null;
  examples: string | null;
  metadata: string | null;
  /**
   * The metadata columns to explain regions by (null or absent: all the
   * table's columns).
   */
  metadataColumns?: string[] | null;
}

/** A metadata table fetched from the kernel (docs/protocol.md, "Metadata tables"). */
export interface IMetadataTable {
  /** The variable. */
  name: string;
  /** Its columns that can be explained, with their values. */
  columns: IMetadataColumn[];
  /** Its columns that cannot, with the kernel's reason. */
  skipped: ISkippedColumn[];
}

/** Search options, as stored in the settings (schema/plugin.json). */
export interface IAuditOptions {
  /** Spotlight size as a fraction of N, in (0, 1). */
  spotlightSize: number;
  /** Number of spotlights to find. */
  count: number;
  /** Adam steps per spotlight. */
  steps: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Barrier scale c of the size penalty. */
  barrierScale: number;
  /** tfjs backend preference. */
  backend: 'auto' | 'webgl' | 'wasm' | 'cpu';
  /**
   * Web Workers that search in parallel, each holding a block of the rows
   * of X in its own WebAssembly memory (`wasm` and `cpu` backends; WebGL
   * runs in one worker). 0 = automatic: the browser's hardware threads − 1,
   * at least 1. Absent in findings saved before it (read as 0).
   */
  workers: number;
  /**
   * With reference losses: `regression` finds where model B's loss exceeds
   * model A's (d = ℓ_B − ℓ_A), `improvement` where it is lower (d = ℓ_A − ℓ_B).
   */
  direction: 'regression' | 'improvement';
  /**
   * Null searches of the permutation test (0 = off). Each re-runs the
   * search for one spotlight on permuted losses (sign-flipped differences
   * when comparing); region p-values are (1 + #{null ≥ observed}) / (P + 1).
   */
  permutations: number;
  /** Significance level α of the test. */
  alpha: number;
  /**
   * Search on a random half of the examples (stratified by label) and
   * measure each region's lift and its interval on the other half.
   */
  holdout: boolean;
  /** Seed of the permutations, the holdout split and the bootstrap. */
  seed: number;
  /**
   * Project the embeddings on their top principal components before the
   * search (0 = off): the kernel centres the N × D embeddings and sends the
   * N × `components` coordinates (and the projection). An integer with
   * 0 ≤ components < D and components ≤ {@link MAX_COMPONENTS}; absent in
   * findings saved before it (read as 0).
   */
  components: number;
}

/** The most principal components the kernel computes. */
export const MAX_COMPONENTS = 1024;

/**
 * A linear projection of D-dimensional embeddings on k principal
 * components: y = C (x − m).
 */
export interface IProjectionBasis {
  /** Number of components k ≥ 1. */
  components: number;
  /** Width D of the embeddings it applies to. */
  d: number;
  /** Column mean m of the embeddings, float32, length D. */
  mean: Float32Array;
  /**
   * Components C, row-major k × D float32: orthonormal rows by decreasing
   * variance, each with its largest-magnitude entry positive.
   */
  matrix: Float32Array;
}

/** The projection of an audit's embeddings, as the kernel computed it. */
export interface IProjection extends IProjectionBasis {
  /**
   * Fraction of the total variance each component explains, length k, or
   * null when unknown (a saved projection applied again).
   */
  explainedVarianceRatio: number[] | null;
  /**
   * CRC-32 (unsigned) of the source N × D float32 embeddings: fingerprints
   * cover the embeddings the user has, not their projection.
   */
  sourceChecksum: number;
}

/** Panel-wide settings that are not search options. */
export interface IPanelSettings {
  /** Largest array pulled from the kernel, in bytes. */
  transferBudgetBytes: number;
  /** Maximum number of points drawn in the 2-D map. */
  maxMapPoints: number;
  /**
   * Whether saved finding cells raise AssertionError when, re-run, their
   * weakness got worse (a regression check after retraining).
   */
  recheckAssert: boolean;
}

/** Default options: the paper's own runs (d'Eon et al. 2021). */
export const DEFAULT_OPTIONS: IAuditOptions = {
  spotlightSize: 0.02,
  count: 5,
  steps: 5000,
  learningRate: 0.01,
  barrierScale: 1,
  backend: 'auto',
  workers: 0,
  direction: 'regression',
  permutations: 49,
  alpha: 0.05,
  holdout: false,
  seed: 0,
  components: 0
};

/**
 * The arrays of one audit as fetched from the kernel and converted for the
 * engine and the summaries. Plain data: it can be posted to a Web Worker.
 */
export interface IAuditData {
  /** Number of examples N. */
  n: number;
  /**
   * Embedding width D: the number of principal components k when the
   * embeddings were projected (see `projection`).
   */
  d: number;
  /**
   * Row-major N × D float32 embeddings (N × k coordinates when projected),
   * or null on the page when a worker pipeline holds them: the fetched array
   * was transferred (not copied) to its Web Worker, and the stages that read
   * it run there (see `WorkerAuditPipeline`).
   */
  embeddings: Float32Array | null;
  /**
   * The projection the embeddings went through (their source width is
   * `projection.d`), or null / absent when they are the kernel's as they are.
   */
  projection?: IProjection | null;
  /** Per-example losses, float32, length N (model B's when comparing). */
  losses: Float32Array;
  /** Model A's per-example losses, float32, length N, or null. */
  referenceLosses: Float32Array | null;
  /** Model A's predictions in the labels' coding, int32, length N, or null. */
  referencePredictions: Int32Array | null;
  /** Label codes, int32, length N, or null. */
  labels: Int32Array | null;
  /** Names of the label codes (when labels were strings), or null. */
  labelNames: string[] | null;
  /**
   * Predictions in the labels' coding, int32, length N, or null: float class
   * ids are rounded, string predictions mapped through the label names (−1
   * for a name the labels lack).
   */
  predictions: Int32Array | null;
  /** Metadata codes, int32, length N, or null. */
  metadata: Int32Array | null;
  /** Names of the metadata codes, or null. */
  metadataNames: string[] | null;
  /** The metadata table (every column), or null / absent. */
  metadataTable?: IMetadataTable | null;
  /** The words of text examples, or null / absent (other examples). */
  tokens?: ITokenTable | null;
  /** How each fetched array came from the kernel (a file over HTTP, or the comm). */
  transports: Partial<Record<Role, Transport>>;
}

/** Progress of the fetch stage of an audit. */
export interface IFetchProgress {
  /** The role being fetched. */
  role: Role;
  /** Its variable name. */
  name: string;
  /** Bytes of the arrays fetched before this one. */
  done: number;
  /** Bytes of all the arrays of the audit (an estimate: 4 bytes a value). */
  total: number;
  /** This array's transfer. */
  transfer: ITransferProgress;
}

/** What {@link IAuditPipeline.summarise} turns into a result. */
export interface ISummariseInput {
  /** The variable names the audit used. */
  names: ISelection;
  /** The fetched data. */
  data: IAuditData;
  /** The engine's output (or the regions found so far, or reconstructed). */
  search: ISpotlightResult;
  /** The options the search ran with. */
  options: IAuditOptions;
  /** Maximum number of points of the 2-D map. */
  maxMapPoints: number;
  /** False while the search goes on and only the first regions are known. */
  complete: boolean;
  /** When the audit finished (ISO 8601). */
  finishedAt: string;
  /**
   * When a later spotlight failed: why. It becomes `result.failure` and the
   * first warning.
   */
  failure?: string;
}

/**
 * The stages of an audit, apart from the panel's state: what runs on the
 * data. The {@link SpotlightModel} keeps the state and the signals and calls
 * a pipeline for the work; the default one (`DefaultAuditPipeline`) uses the
 * notebook's kernel bridge, the engine and the summaries on the main thread.
 *
 * Every stage takes an `AbortSignal` and rejects with an error named
 * `AbortError` once it is aborted (see `isAbortError`). Inputs and outputs are
 * plain data (names, typed arrays, options), so that the stages can run in a
 * Web Worker.
 */
export interface IAuditPipeline {
  /**
   * Check that the chosen variables fit together before anything moves.
   *
   * @param names - The chosen variables; `embeddings` and `losses` are set.
   *   `examples` is not checked (it is never fetched).
   * @param signal - Cancels the check.
   * @returns N (rows of every chosen array) and D (embedding width).
   * @throws {KernelBridgeError} a variable is missing, of the wrong shape or
   *   dtype, lengths differ, or the kernel cannot be reached.
   * @throws AbortError when cancelled.
   */
  check(
    names: ISelection,
    signal: AbortSignal
  ): Promise<{ n: number; d: number }>;

  /**
   * Fetch the chosen arrays from the kernel, in the order embeddings, losses,
   * labels, predictions, metadata (the chosen ones only).
   *
   * @param names - The chosen variables; `embeddings` and `losses` are set.
   * @param shape - N and D as {@link check} returned them.
   * @param options - `maxBytes`: refuse an array whose converted size exceeds
   *   it; `signal` cancels; `onProgress` is called as bytes arrive;
   *   `components` (k > 0) has the kernel project the embeddings on their top
   *   k principal components (`data.d` is then k and `data.projection` set);
   *   `projection` (reopening saved findings) applies a saved projection to
   *   the fetched embeddings instead, in the browser.
   * @returns The arrays: float32 embeddings (N × D, row-major; N × k when
   *   projected) and losses, int32 labels, predictions (in the labels'
   *   coding) and metadata.
   * @throws {KernelBridgeError} an array is too large, changed since the
   *   check, or the kernel cannot be reached.
   * @throws Error `components` is not an integer in [0, min(D − 1, 1024)],
   *   or a saved projection's D differs from the embeddings'.
   * @throws AbortError when cancelled.
   */
  fetch(
    names: ISelection,
    shape: { n: number; d: number },
    options: {
      maxBytes: number;
      signal: AbortSignal;
      onProgress?: (progress: IFetchProgress) => void;
      components?: number;
      projection?: IProjectionBasis | null;
    }
  ): Promise<IAuditData>;

  /**
   * Search for spotlights (`findSpotlights`).
   *
   * @param data - The fetched data (embeddings and losses are used).
   * @param options - The search options (`count` spotlights of
   *   `spotlightSize`·N, `steps` Adam steps each, …).
   * @param control - `signal` cancels; `onProgress` is called every few
   *   steps; `onSpotlight` with each spotlight as soon as it is found
   *   (index from 0), before the next is searched.
   * @returns The engine's result, one spotlight per `count`.
   * @throws {SpotlightRunError} a spotlight failed; its `partial` holds the
   *   spotlights found before it (see `keptSpotlights`).
   * @throws {SpotlightInputError} invalid options or data (e.g. S ≥ N, a
   *   non-finite loss).
   * @throws AbortError when cancelled.
   */
  search(
    data: IAuditData,
    options: IAuditOptions,
    control: {
      signal: AbortSignal;
      onProgress?: (progress: ISpotlightProgress) => void;
      onSpotlight?: (spotlight: ISpotlight, index: number) => void;
    }
  ): Promise<ISpotlightResult>;

  /**
   * Summarise the regions of a search: statistics, overlaps, the 2-D map and
   * the fingerprint (see `assembleResult`, which it must equal).
   *
   * @param input - The data, the search and what to record with them.
   * @param signal - Cancels the summaries.
   * @returns The result, with zero timings (the caller measures them).
   * @throws AbortError when cancelled.
   */
  summarise(input: ISummariseInput, signal: AbortSignal): Promise<IAuditResult>;

  /**
   * Rebuild the search of saved findings without searching: each region's
   * kernel weights are recomputed on the data from its saved centre and
   * precision.
   *
   * @param findings - Findings of one audit (same names and parameters),
   *   at least one.
   * @param data - The data fetched by the findings' names; N and D equal
   *   the findings' (D: the number of components when the findings carry a
   *   projection, which `fetch` applied to the data).
   * @param signal - Cancels the reconstruction.
   * @returns A search result whose backend is the saved one and whose
   *   `backendReason` says it was reopened.
   * @throws AbortError when cancelled. (A centre of the wrong length is not
   *   detected: check N and D first.)
   */
  reconstruct(
    findings: IFinding[],
    data: IAuditData,
    signal: AbortSignal
  ): Promise<ISpotlightResult>;

  /**
   * Sample the permutation test's null: `options.permutations` searches for
   * one spotlight on the losses the search used, permuted across examples
   * (sign-flipped differences when two models are compared), seeded by
   * `options.seed`, on the same examples (the search half with `holdout`).
   *
   * @param data - The fetched data.
   * @param options - The search's options.
   * @param control - Cancel, and progress after each null search.
   * @returns The null maxima (first-spotlight weighted losses), float64,
   *   length P.
   * @throws AbortError when cancelled; the engine's errors otherwise.
   */
  nullDistribution(
    data: IAuditData,
    options: IAuditOptions,
    control: {
      signal: AbortSignal;
      onProgress?: (done: number, total: number) => void;
    }
  ): Promise<Float64Array>;

  /**
   * Lay out every example of the data on the overview map with another
   * projection than the summaries' PCA: UMAP (umap-js) on an evenly spaced
   * sample, every other row placed from its nearest sampled neighbours
   * (`umapLayout`, summaries/umapLayout.ts). Computed off the page where the
   * pipeline has a worker; once per data set (later calls return the same
   * layout). Optional.
   *
   * @param data - Data returned by {@link IAuditPipeline.fetch}, still held
   *   (a worker pipeline keeps the last released data set for this when its
   *   embeddings fit in `MAP_KEEP_BYTES`).
   * @param method - 'umap' (or 'pca': the summaries' layout).
   * @param control - `signal` cancels; `onProgress` gets the fraction done
   *   (0 to 1) and the stage in words.
   * @returns The layout of all N rows (2 × N float32, scaled as the PCA one).
   * @throws Error when the data's embeddings were freed (run the audit
   *   again), or what umap-js threw; AbortError when cancelled.
   */
  layout?(
    data: IAuditData,
    method: MapMethod,
    control: {
      signal: AbortSignal;
      onProgress?: (fraction: number, stage: string) => void;
    }
  ): Promise<IMapLayout>;

  /**
   * Forget the data of an audit once the model no longer needs it (after
   * the search, the summaries and the permutation test, or their failure):
   * a worker pipeline frees the embeddings its worker holds. Optional; a
   * second call, or a call with data the pipeline does not hold, does
   * nothing.
   *
   * @param data - Data returned by {@link IAuditPipeline.fetch}.
   */
  release?(data: IAuditData): void;

  /**
   * Stop the pipeline's workers and free what they hold; pending stages
   * reject with an `AbortError`. Idempotent; optional (the main-thread
   * pipeline holds nothing).
   */
  dispose?(): void;
}
