/**
 * The default audit pipeline: the stages of an audit (check, fetch, search,
 * summarise, reconstruct) on the main thread, through the notebook's kernel
 * bridge, the engine and the summaries. The model keeps the state.
 */
import * as CRC32 from 'crc-32';

import type { IFetchedArray, KernelBridge } from './kernel/bridge';
import { abortError, KernelBridgeError } from './kernel/errors';
import type { Transport } from './kernel/protocol';
import type { IAuditResult } from './model';
import { base64ToFloat32, IFinding } from './notebook/cells';
import {
  findSpotlights,
  ISpotlight,
  ISpotlightControl,
  ISpotlightInput,
  ISpotlightProgress,
  ISpotlightResult,
  kernelWeights,
  nullDistribution,
  permutationPValue,
  SpotlightOptions
} from './spotlight';
import { explainRegion, ITokenTable } from './summaries/explain';
import {
  fitMap,
  MapFit,
  projectRows,
  sampleRows,
  IMapLayout,
  MapMethod,
  checkMapMethod,
  projectAllRows
} from './summaries/projection';
import { umapLayout } from './summaries/umapLayout';
import {
  IRegionSummary,
  regionOverlap,
  summarizeRegion
} from './summaries/stats';
import {
  concentration,
  convergence,
  DIFFUSE_FRACTION,
  effectiveSize,
  holdoutSplit,
  liftWithInterval,
  REPEAT_OVERLAP,
  weightedMeanWithInterval
} from './summaries/trust';
import type {
  IAuditData,
  IAuditOptions,
  IAuditPipeline,
  IFetchProgress,
  IMetadataTable,
  IProjection,
  IProjectionBasis,
  ISelection,
  ISummariseInput,
  Role
} from './tokens';
import { kernelRole, MAX_COMPONENTS } from './tokens';

/**
 * The stages of an audit that read the embeddings (search, summaries,
 * reconstruction, permutation test) on data held in this thread:
 * `findSpotlights`, {@link assembleResult} and {@link reconstructSearch}.
 * The main-thread pipeline extends it; the audit worker runs it on the data
 * transferred to it (workers/host.ts).
 */
export class LocalAuditStages implements Pick<
  IAuditPipeline,
  'search' | 'summarise' | 'reconstruct' | 'nullDistribution' | 'layout'
> {
  /**
   * @param options - The engine to search with (default: `findSpotlights`).
   */
  constructor(options: LocalAuditStages.IOptions = {}) {
    this._engine =
      options.engine ??
      ((input, o, control) => findSpotlights(input, o, control));
  }

  /** {@inheritDoc IAuditPipeline.nullDistribution} */
  nullDistribution(
    data: IAuditData,
    options: IAuditOptions,
    control: {
      signal: AbortSignal;
      onProgress?: (done: number, total: number) => void;
    }
  ): Promise<Float64Array> {
    return nullDistribution(
      searchInput(data, options),
      engineOptions(data, options),
      {
        permutations: options.permutations,
        seed: options.seed,
        scheme: data.referenceLosses ? 'sign-flip' : 'permute'
      },
      {
        ...control,
        // The search's own engine: over the search workers where it uses them.
        search: (input, o, c) => this._engine(input, o, c, options)
      }
    );
  }

  /** {@inheritDoc IAuditPipeline.search} */
  async search(
    data: IAuditData,
    options: IAuditOptions,
    control: {
      signal: AbortSignal;
      onProgress?: (progress: ISpotlightProgress) => void;
      onSpotlight?: (spotlight: ISpotlight, index: number) => void;
    }
  ): Promise<ISpotlightResult> {
    const input = searchInput(data, options);
    const engine = (
      control: Parameters<LocalAuditStages.Engine>[2]
    ): Promise<ISpotlightResult> =>
      this._engine(input, engineOptions(data, options), control, options);
    if (input.n === data.n) {
      return engine(control);
    }
    // Holdout: found on the search half, shown on all examples (each
    // spotlight's weights recomputed once, when it is found).
    const onAll = new Map<ISpotlight, ISpotlight>();
    const widen = (s: ISpotlight) => {
      let wide = onAll.get(s);
      if (!wide) {
        wide = Private.onAllExamples(s, data);
        onAll.set(s, wide);
      }
      return wide;
    };
    const search = await engine({
      ...control,
      onSpotlight: (s, j) => {
        const wide = widen(s);
        control.onSpotlight?.(wide, j);
      }
    });
    return { ...search, n: data.n, spotlights: search.spotlights.map(widen) };
  }

  /** {@inheritDoc IAuditPipeline.summarise} */
  async summarise(
    input: ISummariseInput,
    signal: AbortSignal
  ): Promise<IAuditResult> {
    Private.throwIfAborted(signal);
    const result = assembleResult(input);
    Private.throwIfAborted(signal);
    return result;
  }

  /** {@inheritDoc IAuditPipeline.layout} */
  async layout(
    data: IAuditData,
    method: MapMethod,
    control: {
      signal: AbortSignal;
      onProgress?: (fraction: number, stage: string) => void;
    }
  ): Promise<IMapLayout> {
    Private.throwIfAborted(control.signal);
    const embeddings = data.embeddings;
    if (!embeddings) {
      throw new Error(
        'The embeddings of this audit were freed after it ended: run the audit again to lay out its map.'
      );
    }
    const derived = Private.derived(embeddings);
    if (method === 'pca') {
      return Private.layoutOf(derived, embeddings, data.n, data.d);
    }
    checkMapMethod(method);
    if (!derived.umap) {
      derived.umap = await umapLayout(embeddings, data.n, data.d, {
        seed: 0,
        signal: control.signal,
        onProgress: control.onProgress
      });
    }
    return derived.umap;
  }

  /** {@inheritDoc IAuditPipeline.reconstruct} */
  async reconstruct(
    findings: IFinding[],
    data: IAuditData,
    signal: AbortSignal
  ): Promise<ISpotlightResult> {
    Private.throwIfAborted(signal);
    const search = reconstructSearch(findings, data);
    Private.throwIfAborted(signal);
    return search;
  }

  private _engine: LocalAuditStages.Engine;
}

/** The LocalAuditStages's namespace. */
export namespace LocalAuditStages {
  /**
   * Searches for spotlights: `findSpotlights`, or the sharded engine.
   *
   * @param input - The embeddings and losses searched (the search half with
   *   `holdout`; loss differences when comparing).
   * @param options - The engine's options.
   * @param control - Cancel, progress and each spotlight as it is found.
   * @param audit - The audit's options (e.g. `workers`).
   * @returns The engine's result.
   */
  export type Engine = (
    input: ISpotlightInput,
    options: SpotlightOptions,
    control: ISpotlightControl,
    audit: IAuditOptions
  ) => Promise<ISpotlightResult>;

  /** Options to create the stages. */
  export interface IOptions {
    /** The engine (default: `findSpotlights`, one thread). */
    engine?: Engine;
  }
}

/**
 * The pipeline of one notebook on the main thread: its kernel bridge for the
 * check and the fetch, {@link LocalAuditStages} for the rest. Used by jest
 * and wherever Web Workers are not available; JupyterLab runs the
 * `WorkerAuditPipeline` (workers/client.ts), which keeps the embeddings off
 * the page.
 */
export class DefaultAuditPipeline
  extends LocalAuditStages
  implements IAuditPipeline
{
  /**
   * @param bridge - The notebook's kernel bridge (borrowed, not disposed).
   */
  constructor(bridge: KernelBridge) {
    super();
    this._bridge = bridge;
  }

  /**
   * {@inheritDoc IAuditPipeline.check}
   *
   * Model A's losses and predictions, when given, are checked as losses and
   * predictions of the same length in a second request.
   */
  async check(
    names: ISelection,
    signal: AbortSignal
  ): Promise<{ n: number; d: number }> {
    const { embeddings, losses, labels, predictions, metadata } = names;
    if (names.referencePredictions && !names.referenceLosses) {
      throw new Error(
        `Reference predictions '${names.referencePredictions}' were chosen without reference losses: choose model A's per-example losses too, or clear the reference predictions.`
      );
    }
    const shape = await this._bridge.check(
      { embeddings, losses, labels, predictions, metadata },
      signal,
      names.metadataColumns
    );
    if (names.referenceLosses) {
      await this._bridge.check(
        {
          embeddings,
          losses: names.referenceLosses,
          labels,
          predictions: names.referencePredictions
        },
        signal
      );
    }
    return shape;
  }

  /**
   * {@inheritDoc IAuditPipeline.fetch}
   *
   * With `components` the kernel computes the projection (numpy, next to the
   * data) and only the N × k coordinates travel. A saved `projection` is
   * applied here instead, to the fetched N × D embeddings
   * ({@link projectEmbeddings}): reopened findings then see exactly the
   * coordinates their centres were found in, even where a new PCA of the
   * same embeddings would differ in its last bits or its signs.
   */
  async fetch(
    names: ISelection,
    shape: { n: number; d: number },
    options: {
      maxBytes: number;
      signal: AbortSignal;
      onProgress?: (progress: IFetchProgress) => void;
      components?: number;
      projection?: IProjectionBasis | null;
    }
  ): Promise<IAuditData> {
    const { n, d } = shape;
    const { maxBytes, signal, onProgress } = options;
    const saved = options.projection ?? null;
    const components = saved
      ? 0
      : checkComponents(options.components ?? 0, d, names.embeddings ?? '');
    if (saved && saved.d !== d) {
      throw new Error(
        `The saved projection applies to embeddings of D = ${saved.d} dimensions but '${names.embeddings}' has D = ${d}. Re-run the cells that compute it, or run a new audit.`
      );
    }
    const roles = (
      [
        'embeddings',
        'losses',
        'referenceLosses',
        'labels',
        'predictions',
        'referencePredictions',
        'metadata'
      ] as Role[]
    ).filter(r => names[r]);
    const estimate = (role: Role) =>
      role === 'embeddings' ? n * (components || d) * 4 : n * 4;
    const total = roles.reduce((a, r) => a + estimate(r), 0);
    let done = 0;
    const out: Partial<
      Record<Role, { data: Float32Array | Int32Array; categories?: string[] }>
    > = {};
    const transports: Partial<Record<Role, Transport>> = {};
    let projection: IProjection | null = null;
    let metadataTable: IMetadataTable | null = null;
    for (const role of roles) {
      const name = names[role]!;
      const before = done;
      const array = await this._bridge.fetch(name, kernelRole(role), {
        maxBytes,
        signal,
        onProgress: transfer =>
          onProgress?.({ role, name, done: before, total, transfer }),
        ...(role === 'embeddings' && components ? { components } : {}),
        ...(role === 'metadata'
          ? { table: true, columns: names.metadataColumns ?? null }
          : {})
      });
      done += array.data.byteLength;
      transports[role] = array.transport;
      if (role === 'metadata') {
        metadataTable = metadataTableOf(name, array, n);
        continue;
      }
      out[role] = { data: array.data, categories: array.categories };
      if (role === 'embeddings' && array.projection) {
        projection = array.projection;
      }
    }
    const tokens = names.examples
      ? await Private.tokens(this._bridge, names.examples, n, signal)
      : null;
    let embeddings = out.embeddings!.data as Float32Array;
    if (saved) {
      projection = {
        ...saved,
        explainedVarianceRatio: null,
        sourceChecksum: Private.crc32(embeddings)
      };
      embeddings = projectEmbeddings(embeddings, n, saved);
    } else if (components && !projection) {
      throw new Error(
        `The kernel sent '${names.embeddings}' without its principal components; restart the kernel so that the Spotlight injects its current helper.`
      );
    }
    const codes = (fetched?: {
      data: Float32Array | Int32Array;
      categories?: string[];
    }) =>
      fetched
        ? Private.toLabelCodes(
            fetched.data,
            fetched.categories,
            out.labels?.categories
          )
        : null;
    const losses = out.losses!.data as Float32Array;
    const referenceLosses =
      (out.referenceLosses?.data as Float32Array | undefined) ?? null;
    if (referenceLosses) {
      Private.checkComparable(
        losses,
        referenceLosses,
        names.losses!,
        names.referenceLosses!
      );
    }
    return {
      n,
      d: projection ? projection.components : d,
      embeddings,
      projection,
      losses,
      referenceLosses,
      referencePredictions: codes(out.referencePredictions),
      labels: out.labels ? (out.labels.data as Int32Array) : null,
      labelNames: out.labels?.categories ?? null,
      predictions: codes(out.predictions),
      metadata: null,
      metadataNames: null,
      metadataTable,
      tokens,
      transports
    };
  }

  private _bridge: KernelBridge;
}

/**
 * A fetched metadata table as columns: row j of the [C, N] float32 transfer
 * is column j's codes or values (views, not copies).
 *
 * @param name - The metadata variable.
 * @param array - The table fetch (`columns` set).
 * @param n - N, the examples' count.
 * @returns The table.
 * @throws Error when the table is not C × N.
 */
export function metadataTableOf(
  name: string,
  array: IFetchedArray,
  n: number
): IMetadataTable {
  const infos = array.columns ?? [];
  const data = array.data as Float32Array;
  if (data.length !== infos.length * n) {
    throw new Error(
      `Metadata '${name}' came with ${data.length.toLocaleString('en-US')} values for ${infos.length} columns of ${n.toLocaleString('en-US')} examples; restart the kernel so that the Spotlight injects its current helper.`
    );
  }
  return {
    name,
    columns: infos.map((c, j) => ({
      name: c.name,
      kind: c.kind,
      values: data.subarray(j * n, (j + 1) * n),
      missing: c.missing,
      dtype: c.dtype,
      ...(c.categories ? { categories: c.categories } : {}),
      ...(c.unit ? { unit: c.unit } : {}),
      ...(c.origin ? { origin: c.origin } : {})
    })),
    skipped: array.skipped ?? []
  };
}

/**
 * What the engine searches: all examples, or the search half with
 * `holdout`; their losses, or the signed loss differences of two models.
 *
 * @param data - The fetched data.
 * @param options - The audit's options.
 * @returns The engine's input.
 */
export function searchInput(
  data: IAuditData,
  options: IAuditOptions
): { embeddings: Float32Array; losses: Float32Array; n: number; d: number } {
  const { n, d } = data;
  const all = heldEmbeddings(data);
  const losses = data.referenceLosses
    ? lossDifferences(data.losses, data.referenceLosses, options.direction)
    : data.losses;
  if (!options.holdout) {
    return { embeddings: all, losses, n, d };
  }
  const mask = holdoutSplit(n, data.labels, options.seed);
  let m = 0;
  for (let i = 0; i < n; i++) {
    m += mask[i];
  }
  const embeddings = new Float32Array(m * d);
  const half = new Float32Array(m);
  for (let i = 0, r = 0; i < n; i++) {
    if (mask[i]) {
      embeddings.set(all.subarray(i * d, (i + 1) * d), r * d);
      half[r++] = losses[i];
    }
  }
  return { embeddings, losses: half, n: m, d };
}

/**
 * Check the number of principal components asked for.
 *
 * @param components - k (0 = no projection).
 * @param d - The embeddings' width D.
 * @param name - The embeddings variable, for the message.
 * @returns k.
 * @throws Error unless k is an integer with 0 ≤ k < D and k ≤ 1024,
 *   naming the variable and D.
 */
export function checkComponents(
  components: number,
  d: number,
  name: string
): number {
  if (!Number.isInteger(components) || components < 0) {
    throw new Error(
      `The number of principal components must be a whole number ≥ 0 (0 = off), not ${components}.`
    );
  }
  if (components === 0) {
    return 0;
  }
  if (components >= d) {
    throw new Error(
      `Cannot reduce embeddings '${name}' to ${components.toLocaleString('en-US')} principal components: it has D = ${d.toLocaleString('en-US')} dimensions, and the components must be fewer (1 to ${Math.max(1, d - 1).toLocaleString('en-US')}); use 0 to search on the embeddings as they are.`
    );
  }
  if (components > MAX_COMPONENTS) {
    throw new Error(
      `Cannot reduce embeddings '${name}' (D = ${d.toLocaleString('en-US')}) to ${components.toLocaleString('en-US')} principal components: at most ${MAX_COMPONENTS.toLocaleString('en-US')} are computed; choose fewer, or 0 to search on the embeddings as they are.`
    );
  }
  return components;
}

/**
 * Project embeddings with a (saved) projection: y_i = C (x_i − m), in
 * float64 arithmetic from the float32 mean and components, rounded to
 * float32, as the kernel helper and the saved cells compute it.
 *
 * @param embeddings - Row-major N × D float32 embeddings.
 * @param n - N.
 * @param projection - The mean (D) and the k × D components.
 * @returns Row-major N × k float32 coordinates.
 * @throws Error when the embeddings are not N × D.
 */
export function projectEmbeddings(
  embeddings: Float32Array,
  n: number,
  projection: IProjectionBasis
): Float32Array {
  const { d, components: k, mean, matrix } = projection;
  if (embeddings.length !== n * d) {
    throw new Error(
      `The projection needs ${n} × ${d} embeddings but got ${embeddings.length} values.`
    );
  }
  const out = new Float32Array(n * k);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let c = 0; c < d; c++) {
      centred[c] = embeddings[row + c] - mean[c];
    }
    for (let j = 0; j < k; j++) {
      const w = j * d;
      let sum = 0;
      for (let c = 0; c < d; c++) {
        sum += centred[c] * matrix[w + c];
      }
      out[i * k + j] = sum;
    }
  }
  return out;
}

/**
 * The engine's options for an audit.
 *
 * @param data - The fetched data (signed losses when comparing).
 * @param options - The audit's options.
 * @returns The options.
 */
function engineOptions(
  data: IAuditData,
  options: IAuditOptions
): SpotlightOptions {
  return {
    spotlightSize: options.spotlightSize,
    count: options.count,
    steps: options.steps,
    learningRate: options.learningRate,
    barrierScale: options.barrierScale,
    backend: options.backend,
    signedLosses: data.referenceLosses !== null
  };
}

/**
 * The per-example loss differences a comparison of two models searches:
 * d_i = ℓ_B,i − ℓ_A,i for `regression` (where model B is worse), the
 * negation for `improvement` (where B is better).
 *
 * @param losses - Model B's losses, float32, length N.
 * @param reference - Model A's losses, float32, length N.
 * @param direction - Which way to look.
 * @returns The differences, float32, length N.
 */
export function lossDifferences(
  losses: Float32Array,
  reference: Float32Array,
  direction: IAuditOptions['direction']
): Float32Array {
  const sign = direction === 'improvement' ? -1 : 1;
  const out = new Float32Array(losses.length);
  for (let i = 0; i < losses.length; i++) {
    out[i] = sign * (losses[i] - reference[i]);
  }
  return out;
}

/**
 * Summarise the regions of a search into an audit result: one summary per
 * region, their overlaps, the 2-D map, the fingerprint and the warnings.
 * A pure function of its input (no clock, no randomness).
 *
 * @param input - The data, the search and what to record with them.
 * @returns The result, with zero timings.
 */
export function assembleResult(input: ISummariseInput): IAuditResult {
  const { names, data, search, options, maxMapPoints } = input;
  const { n, d } = data;
  const embeddings = heldEmbeddings(data);
  const derived = Private.derived(embeddings);
  const regions = search.spotlights.map((s, j) =>
    summarizeRegion(j, s.kernelWeights, s.weightedLoss, {
      losses: data.losses,
      labels: data.labels,
      labelNames: data.labelNames,
      predictions: data.predictions,
      metadata: data.metadata,
      metadataNames: data.metadataNames,
      referenceLosses: data.referenceLosses,
      referencePredictions: data.referencePredictions
    })
  );
  const explainContext = {
    labels: data.labels,
    labelNames: data.labelNames,
    predictions: data.predictions,
    metadata: data.metadataTable?.columns ?? null,
    tokens: data.tokens ?? null
  };
  search.spotlights.forEach((s, j) => {
    const { items, name } = explainRegion(s.kernelWeights, explainContext);
    regions[j].name = name;
    regions[j].explanation = items;
  });
  const weights = search.spotlights.map(s => s.kernelWeights);
  const overlaps = weights.map(a => weights.map(b => regionOverlap(a, b)));
  const rows = sampleRows(n, maxMapPoints, weights);
  const map = projectRows(
    embeddings,
    d,
    rows,
    Private.mapFit(derived, embeddings, n, d, maxMapPoints)
  );
  const evaluation = options.holdout
    ? holdoutSplit(n, data.labels, options.seed ?? 0).map(v => 1 - v)
    : null;
  // Comparing two models, a region is about ℓ_B − ℓ_A: its interval is on
  // B − A, its concentration on the differences searched (signed towards
  // the direction). Computed once for all regions.
  const between = data.referenceLosses
    ? lossDifferences(data.losses, data.referenceLosses, 'regression')
    : null;
  const differences = between
    ? {
        between,
        searched:
          options.direction === 'improvement' ? between.map(v => -v) : between
      }
    : null;
  regions.forEach((region, j) => {
    const { differenceInterval, ...trust } = Private.trust(
      j,
      search,
      data,
      overlaps,
      evaluation,
      options,
      differences
    );
    Object.assign(region, trust);
    if (differenceInterval && region.comparison) {
      region.comparison.differenceInterval = differenceInterval;
    }
  });
  const warnings = Private.guardWarnings(search);
  // The fingerprints cover the kernel's N × D embeddings (their checksum
  // travels with a projection); computed once per embeddings array.
  const embeddingsCrc =
    data.projection?.sourceChecksum ?? Private.crcOf(derived, embeddings);
  const result: IAuditResult = {
    names,
    n,
    d,
    embeddings: data.embeddings,
    losses: data.losses,
    referenceLosses: data.referenceLosses,
    referencePredictions: data.referencePredictions,
    labels: data.labels,
    labelNames: data.labelNames,
    predictions: data.predictions,
    metadata: data.metadata,
    metadataNames: data.metadataNames,
    metadataTable: data.metadataTable ?? null,
    transports: data.transports,
    search,
    regions,
    overlaps,
    map,
    mapLayout: Private.layoutOf(derived, embeddings, n, d),
    fingerprint: fingerprint(embeddings, data.losses, embeddingsCrc),
    embeddingsFingerprint: Private.hex(embeddingsCrc),
    projection: data.projection ?? null,
    warnings,
    complete: input.complete,
    options,
    finishedAt: input.finishedAt,
    timings: { fetchMs: 0, searchMs: 0, summaryMs: 0, totalMs: 0 }
  };
  if (input.failure) {
    result.failure = input.failure;
    warnings.unshift(input.failure);
  }
  return result;
}

/**
 * The result with each region's permutation-test p-value: region j's
 * weighted loss on the losses it was found on against the null of the
 * first spotlight's maximum (spotlight/significance.ts).
 *
 * @param result - The audit result.
 * @param nulls - The P null maxima.
 * @param alpha - The significance level α.
 * @returns A new result (regions copied) with `pValue` and `significant`,
 *   and `significance` recording the test.
 */
export function withSignificance(
  result: IAuditResult,
  nulls: Float64Array,
  alpha: number
): IAuditResult {
  const regions = result.regions.map((r, j) => {
    const pValue = permutationPValue(
      result.search.spotlights[j].weightedLoss,
      nulls
    );
    return { ...r, pValue, significant: pValue <= alpha };
  });
  return {
    ...result,
    regions,
    significance: {
      permutations: nulls.length,
      alpha,
      nulls: Array.from(nulls),
      scheme: result.referenceLosses ? 'sign-flip' : 'permute'
    }
  };
}

/**
 * Rebuild the search of saved findings: each region's kernel weights are
 * recomputed on the data from its saved centre and precision; its weighted
 * loss is the saved one, its history the saved (down-sampled) one.
 *
 * @param findings - Findings of one audit, at least one.
 * @param data - The data fetched by the findings' names.
 * @returns The reconstructed search.
 */
export function reconstructSearch(
  findings: IFinding[],
  data: IAuditData
): ISpotlightResult {
  const { n, d } = data;
  const first = findings[0];
  const spotlights: ISpotlight[] = findings.map(f => {
    const center = base64ToFloat32(f.center);
    if (center.length !== d) {
      throw new Error(
        `Region ${f.region}'s saved centre has ${center.length} coordinates but the data has ${d}${f.projection ? ' (apply its saved projection first)' : ''}.`
      );
    }
    const { k, K, support, kl } = Private.weightsOn(data, center, f.precision);
    return {
      center,
      precision: f.precision,
      radius: 1 / Math.sqrt(f.precision),
      kernelWeights: k,
      normalizedWeights: k.map(v => v / K),
      totalWeight: K,
      supportSize: support,
      weightedLoss: f.summary.weightedLoss,
      weightedLossOriginal: kl / K,
      initialPrecision: NaN,
      startAdjusted: false,
      guardSteps: f.guardSteps ?? 0,
      history: {
        objective: Float32Array.from(f.history.objective),
        totalWeight: Float32Array.from(f.history.totalWeight),
        learningRate: new Float32Array(f.history.objective.length)
      },
      timeMs: 0
    };
  });
  return {
    version: 1,
    backend: first.backend as ISpotlightResult['backend'],
    backendReason: `reopened from the notebook (the search ran on ${first.backend} on ${first.date})`,
    n,
    d,
    parameters: {} as ISpotlightResult['parameters'],
    spotlights,
    timings: { totalMs: 0, perSpotlightMs: spotlights.map(() => 0) }
  };
}

/**
 * The embeddings of fetched data, where this thread holds them.
 *
 * @param data - The fetched data.
 * @returns The row-major N × D float32 embeddings.
 * @throws Error when they are not here (`embeddings` is null: a worker
 *   pipeline transferred them to its worker), saying so.
 */
export function heldEmbeddings(data: IAuditData): Float32Array {
  if (!data.embeddings) {
    throw new Error(
      "The embeddings of this audit are held by the audit pipeline's Web Worker, not this thread: run this stage through the pipeline that fetched them."
    );
  }
  return data.embeddings;
}

/**
 * The data fingerprint saved with findings: CRC-32 (zlib) of the embeddings'
 * float32 bytes continued over the losses' float32 bytes, as 8 hex digits.
 * In Python: `zlib.crc32(L.tobytes(), zlib.crc32(X.tobytes()))`.
 *
 * @param embeddings - Row-major N × D float32 embeddings.
 * @param losses - N float32 losses.
 * @param embeddingsCrc - The embeddings' CRC-32 when `embeddings` is their
 *   projection (`IProjection.sourceChecksum`): the fingerprint covers the
 *   kernel's N × D embeddings, not the coordinates.
 * @returns Lower-case hex, zero-padded to 8 digits.
 */
export function fingerprint(
  embeddings: Float32Array,
  losses: Float32Array,
  embeddingsCrc?: number
): string {
  const bytes = (a: Float32Array) =>
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const crc = CRC32.buf(
    bytes(losses),
    embeddingsCrc === undefined
      ? CRC32.buf(bytes(embeddings))
      : embeddingsCrc | 0
  );
  return (crc >>> 0).toString(16).padStart(8, '0');
}

/**
 * The embeddings' own fingerprint, saved with findings next to
 * {@link fingerprint}: CRC-32 (zlib) of the embeddings' float32 bytes alone,
 * as 8 hex digits. In Python: `zlib.crc32(X.tobytes())`. A saved cell compares
 * both to tell "the embeddings changed" from "only the losses changed".
 *
 * @param embeddings - Row-major N × D float32 embeddings.
 * @returns Lower-case hex, zero-padded to 8 digits.
 */
export function embeddingsFingerprint(embeddings: Float32Array): string {
  const bytes = new Uint8Array(
    embeddings.buffer,
    embeddings.byteOffset,
    embeddings.byteLength
  );
  return (CRC32.buf(bytes) >>> 0).toString(16).padStart(8, '0');
}

namespace Private {
  /**
   * The words of text examples, to explain regions by; null for examples
   * that are not text (images, tables: the kernel answers `bad-dtype`) or
   * whose count differs from N.
   */
  export async function tokens(
    bridge: KernelBridge,
    name: string,
    n: number,
    signal: AbortSignal
  ): Promise<ITokenTable | null> {
    try {
      const table = await bridge.tokens(name, signal);
      return table.indptr.length === n + 1 ? table : null;
    } catch (error) {
      if (error instanceof KernelBridgeError && error.code === 'bad-dtype') {
        return null;
      }
      throw error;
    }
  }

  /** What an audit derives from its embeddings once, not per summary. */
  export interface IDerived {
    /** CRC-32 (unsigned) of the embeddings' bytes. */
    crc?: number;
    /** The map's axes, by the number of map points. */
    maps: Map<number, MapFit | null>;
    /** The overview map's layout of all rows (projectAllRows). */
    layout?: IMapLayout;
    /** The overview map's UMAP layout of all rows (umapLayout, seed 0). */
    umap?: IMapLayout;
  }

  /** Derived values by embeddings array (freed with the array). */
  const cache = new WeakMap<Float32Array, IDerived>();

  /** The derived values of an embeddings array. */
  export function derived(embeddings: Float32Array): IDerived {
    let entry = cache.get(embeddings);
    if (!entry) {
      entry = { maps: new Map() };
      cache.set(embeddings, entry);
    }
    return entry;
  }

  /** The embeddings' CRC-32, computed on first use. */
  export function crcOf(entry: IDerived, embeddings: Float32Array): number {
    if (entry.crc === undefined) {
      entry.crc = crc32(embeddings);
    }
    return entry.crc;
  }

  /**
   * The map's axes, fitted once per embeddings array and map size on the
   * evenly spaced rows `sampleRows(n, maxPoints)` (independent of the
   * regions, so that every summary of an audit shares one map); undefined
   * with fewer than 2 rows.
   */
  export function mapFit(
    entry: IDerived,
    embeddings: Float32Array,
    n: number,
    d: number,
    maxPoints: number
  ): MapFit | undefined {
    let fit = entry.maps.get(maxPoints);
    if (fit === undefined) {
      const rows = sampleRows(n, maxPoints);
      fit = rows.length < 2 ? null : fitMap(embeddings, d, rows);
      entry.maps.set(maxPoints, fit);
    }
    return fit ?? undefined;
  }

  /** The overview map's layout of all N rows, computed on first use. */
  export function layoutOf(
    entry: IDerived,
    embeddings: Float32Array,
    n: number,
    d: number
  ): IMapLayout {
    if (!entry.layout) {
      entry.layout = projectAllRows(embeddings, n, d);
    }
    return entry.layout;
  }

  /** An unsigned CRC-32 as 8 lower-case hex digits. */
  export function hex(crc: number): string {
    return (crc >>> 0).toString(16).padStart(8, '0');
  }

  /** CRC-32 (zlib, unsigned) of a float32 array's bytes. */
  export function crc32(values: Float32Array): number {
    const bytes = new Uint8Array(
      values.buffer,
      values.byteOffset,
      values.byteLength
    );
    return CRC32.buf(bytes) >>> 0;
  }

  /** Throw an AbortError when the stage was cancelled. */
  export function throwIfAborted(signal: AbortSignal): void {
    if (signal.aborted) {
      throw abortError('The audit');
    }
  }

  /**
   * Whether region j is real: its lift and interval (on the evaluation half
   * with `holdout`, else in-sample), convergence, diffuseness, loss
   * concentration and whether it repeats an earlier region. The p-value is
   * left untested (null) for `withSignificance`.
   */
  export function trust(
    j: number,
    search: ISpotlightResult,
    data: IAuditData,
    overlaps: number[][],
    evaluation: Uint8Array | null,
    options: IAuditOptions,
    differences: { between: Float32Array; searched: Float32Array } | null
  ): Partial<IRegionSummary> & { differenceInterval?: [number, number] } {
    const s = search.spotlights[j];
    const k = s.kernelWeights;
    const seed = (options.seed ?? 0) + 7919 * (j + 1);
    const { lift, interval } = liftWithInterval(
      data.losses,
      k,
      evaluation,
      seed
    );
    const size = search.parameters?.size;
    const steps = s.history.totalWeight.length;
    const finalK = evaluation
      ? s.history.totalWeight[steps - 1]
      : s.totalWeight;
    const check = size
      ? convergence(finalK, size, s.history.learningRate)
      : { converged: true, reason: null };
    const ess = effectiveSize(k);
    const diffuse = ess > DIFFUSE_FRACTION * data.n;
    const concentrated = concentration(differences?.searched ?? data.losses, k);
    let repeatOf: number | null = null;
    for (let e = 0; e < j && repeatOf === null; e++) {
      if (overlaps[j][e] >= REPEAT_OVERLAP) {
        repeatOf = e;
      }
    }
    const notes: string[] = [];
    if (repeatOf !== null) {
      notes.push(
        `Mostly repeats region ${repeatOf + 1} (${(overlaps[j][repeatOf] * 100).toFixed(0)} % of its weight overlaps).`
      );
    }
    if (diffuse) {
      notes.push(
        `Its weight is spread over ${((ess / data.n) * 100).toFixed(0)} % of the data: it isolates nothing. Fewer dimensions help: ${options.components ? `fewer principal components than ${data.d}` : "search on the embeddings' top principal components (the option Principal components)"}.`
      );
    }
    if (
      concentrated.examples > 0 &&
      concentrated.examples <= Math.max(2, 0.1 * s.totalWeight)
    ) {
      notes.push(
        `${concentrated.examples} example${concentrated.examples === 1 ? ' carries' : 's carry'} ${(concentrated.share * 100).toFixed(0)} % of its ${differences ? 'loss difference' : 'loss'}.`
      );
    }
    if (!check.converged) {
      notes.push(`Did not converge: ${check.reason}.`);
    }
    const region: { differenceInterval?: [number, number] } = {};
    if (differences) {
      // B − A whatever the direction, like weightedLossDifference.
      const { interval: between } = weightedMeanWithInterval(
        differences.between,
        k,
        evaluation,
        seed
      );
      region.differenceInterval = between;
    }
    return {
      ...region,
      ...(Number.isFinite(lift) ? { lift } : {}),
      liftInterval: interval,
      liftIntervalKind: evaluation ? 'holdout' : 'in-sample',
      converged: check.converged,
      convergenceNote: check.reason,
      effectiveSize: ess,
      diffuse,
      concentration: concentrated,
      repeatOf,
      pValue: null,
      significant: null,
      note: notes.length ? notes.join(' ') : null
    };
  }

  /**
   * Where the collapse guard acted: the user should look at those regions'
   * heaviest examples first. (A region that did not converge says so in its
   * own note, on its card.)
   */
  export function guardWarnings(search: ISpotlightResult): string[] {
    const size = search.parameters?.size;
    if (!size) {
      return [];
    }
    const warnings: string[] = [];
    search.spotlights.forEach((s, j) => {
      if (s.guardSteps > 0) {
        warnings.push(
          `Region ${j + 1}: the collapse guard acted at ${s.guardSteps.toLocaleString('en-US')} of ${search.parameters.steps.toLocaleString('en-US')} steps. ` +
            `The search kept shrinking the ball below the spotlight size (S = ${size}) around a few examples with very high loss, and the guard rejected those steps to keep K ≥ S: ` +
            'the region is compact and its loss comes from its heaviest examples; look at them first.'
        );
      }
    });
    return warnings;
  }

  /**
   * A region's kernel weights on all examples from its centre and precision,
   * with K = Σk, the support #{k > 0} and Σ k ℓ on the losses.
   */
  export function weightsOn(
    data: IAuditData,
    center: Float32Array,
    precision: number
  ): { k: Float32Array; K: number; support: number; kl: number } {
    const { n, d } = data;
    const k = kernelWeights(heldEmbeddings(data), n, d, center, precision);
    let K = 0;
    let support = 0;
    let kl = 0;
    for (let i = 0; i < n; i++) {
      K += k[i];
      kl += k[i] * data.losses[i];
      support += k[i] > 0 ? 1 : 0;
    }
    return { k, K, support, kl };
  }

  /**
   * A spotlight found on the search half, with its kernel weights (and K,
   * support, w) recomputed on all examples from its centre and precision;
   * its weighted loss stays the one it optimised on the search half.
   */
  export function onAllExamples(s: ISpotlight, data: IAuditData): ISpotlight {
    const { k, K, support, kl } = weightsOn(data, s.center, s.precision);
    return {
      ...s,
      kernelWeights: k,
      normalizedWeights: k.map(v => v / K),
      totalWeight: K,
      supportSize: support,
      weightedLossOriginal: kl / K
    };
  }

  /**
   * Refuse a comparison that cannot find anything: losses of different
   * lengths, or identical losses.
   *
   * @throws Error naming both variables and what to do.
   */
  export function checkComparable(
    losses: Float32Array,
    reference: Float32Array,
    name: string,
    referenceName: string
  ): void {
    if (losses.length !== reference.length) {
      throw new Error(
        `Losses '${name}' (model B) have ${losses.length.toLocaleString('en-US')} values but reference losses '${referenceName}' (model A) have ${reference.length.toLocaleString('en-US')}: both models must be scored on the same examples, in the same order.`
      );
    }
    for (let i = 0; i < losses.length; i++) {
      if (losses[i] !== reference[i]) {
        return;
      }
    }
    throw new Error(
      `The two models' losses are identical: '${name}' (model B) and '${referenceName}' (model A) agree on every example, so there is no difference to find. Choose the losses of two different models.`
    );
  }

  /**
   * Predictions in the labels' coding: float class ids are rounded; string
   * predictions are mapped through the label categories.
   */
  export function toLabelCodes(
    data: Float32Array | Int32Array,
    categories: string[] | undefined,
    labelCategories: string[] | undefined
  ): Int32Array {
    const codes = new Int32Array(data.length);
    if (categories && labelCategories) {
      const index = new Map(labelCategories.map((c, i) => [c, i]));
      for (let i = 0; i < data.length; i++) {
        codes[i] = index.get(categories[data[i]]) ?? -1;
      }
      return codes;
    }
    for (let i = 0; i < data.length; i++) {
      codes[i] = Math.round(data[i]);
    }
    return codes;
  }
}
