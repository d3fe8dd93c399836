/**
 * The Spotlight panel's state machine: idle → fetching → searching →
 * summarising → done | error. Views render from it and call its methods.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { ITransferProgress, KernelBridge } from './kernel/bridge';
import { abortError, isAbortError } from './kernel/errors';
import type { IMetadataColumnInfo, Transport } from './kernel/protocol';
import { findingProjection, IFinding } from './notebook/cells';
import { DefaultAuditPipeline, withSignificance } from './pipeline';
import {
  ISpotlight,
  ISpotlightProgress,
  ISpotlightResult,
  SpotlightRunError,
  spotlightSizeFromFraction
} from './spotlight';
import { explanationSummary, IExplanationSummary } from './summaries/explain';
import { checkIndices, manualSpotlight } from './summaries/manual';
import { checkMapMethod } from './summaries/projection';
import type { IMapLayout, IMapPoint, MapMethod } from './summaries/projection';
import {
  IRegionSummary,
  regionOverlap,
  summarizeRegion
} from './summaries/stats';
import {
  DEFAULT_OPTIONS,
  IAuditData,
  IAuditOptions,
  IAuditPipeline,
  IFetchProgress,
  IMetadataTable,
  IPanelSettings,
  ISelection,
  IVariable,
  kernelRole,
  Role,
  ROLES,
  IProjection
} from './tokens';

/**
 * The most embedding bytes (N × D × 4) the model keeps after an audit so
 * that its map can be laid out again with UMAP; larger data are freed when
 * the audit ends (choose UMAP then runs into a clear error asking to run
 * the audit again).
 */
export const MAP_KEEP_BYTES = 512e6;

/** Stages of an audit. */
export type AuditStage =
  | 'idle'
  | 'fetching'
  | 'searching'
  | 'summarising'
  | 'testing'
  | 'done'
  | 'error';

/** What the progress bar shows. */
export interface IAuditProgress {
  /** The current stage. */
  stage: AuditStage;
  /** Completed fraction of the stage, in [0, 1]. */
  fraction: number;
  /** One line for the user, e.g. "spotlight 2 of 5 · step 1,200 of 5,000". */
  detail: string;
}

/** Everything an audit produced: the data, the search and the summaries. */
export interface IAuditResult {
  /** The variable names the audit used. */
  names: ISelection;
  /** Number of examples N. */
  n: number;
  /** Embedding width D. */
  d: number;
  /**
   * Row-major N × D float32 embeddings, or null when the pipeline's worker
   * holds them (the page keeps no copy of X).
   */
  embeddings: Float32Array | null;
  /** Per-example losses, length N. */
  losses: Float32Array;
  /** Model A's losses when two models are compared, else null. */
  referenceLosses: Float32Array | null;
  /** Model A's predictions in the labels' coding, or null. */
  referencePredictions: Int32Array | null;
  /** Label codes, length N, or null. */
  labels: Int32Array | null;
  /** Names of the label codes (when labels were strings), or null. */
  labelNames: string[] | null;
  /** Predictions in the labels' coding, length N, or null. */
  predictions: Int32Array | null;
  /** Metadata codes, length N, or null. */
  metadata: Int32Array | null;
  /** Names of the metadata codes, or null. */
  metadataNames: string[] | null;
  /** The metadata table the regions are explained by, or null / absent. */
  metadataTable?: IMetadataTable | null;
  /** How each fetched array came from the kernel (a file over HTTP, or the comm). */
  transports: Partial<Record<Role, Transport>>;
  /** The engine's output. */
  search: ISpotlightResult;
  /** One summary per region. */
  regions: IRegionSummary[];
  /** overlaps[a][b]: overlap of regions a and b (see `regionOverlap`). */
  overlaps: number[][];
  /** The 2-D map's sampled points. */
  map: IMapPoint[];
  /**
   * The overview map's layout of all N examples (2-D, from the embeddings
   * searched on), computed once per data set where the embeddings are (the
   * audit worker); absent in results made before it.
   */
  mapLayout?: IMapLayout;
  /** CRC-32 of the embeddings' then the losses' float32 bytes, 8 hex digits. */
  fingerprint: string;
  /**
   * CRC-32 of the kernel's N × D embeddings' float32 bytes alone, 8 hex
   * digits (`embeddingsFingerprint`; the source embeddings' when projected).
   */
  embeddingsFingerprint: string;
  /**
   * The principal-component projection the search ran on (`embeddings` and
   * `d` are then the N × k coordinates), or null / absent.
   */
  projection?: IProjection | null;
  /** The options the search ran with. */
  options: IAuditOptions;
  /** When the audit finished (ISO 8601). */
  finishedAt: string;
  /** Wall-clock times in milliseconds. */
  timings: {
    fetchMs: number;
    searchMs: number;
    summaryMs: number;
    totalMs: number;
  };
  /** Things the user should know about the result, e.g. a search that did not converge. */
  warnings: string[];
  /** False while the search goes on and only the first regions are known. */
  complete: boolean;
  /**
   * The regions' numbers (from 1) when they are not 1, 2, …: reopened saved
   * findings keep the numbers they were saved with (see {@link regionNumber}).
   */
  regionNumbers?: number[];
  /** How many regions the audit found, when reopened from saved findings. */
  regionsOf?: number;
  /**
   * When a later spotlight failed: what went wrong. The regions found before
   * it are kept (nothing found is thrown away).
   */
  failure?: string;
  /** The permutation test, once it has run (its p-values are on the regions). */
  significance?: {
    permutations: number;
    alpha: number;
    /** The null maxima (first-spotlight weighted losses). */
    nulls: number[];
    scheme: 'permute' | 'sign-flip';
    /** How long the test took, in ms. */
    timeMs?: number;
  };
}

/** Compact JSON summary of an audit, as the `run` command returns it. */
export interface IAuditSummary {
  backend: string;
  backendReason: string;
  n: number;
  d: number;
  fingerprint: string;
  /**
   * Principal components the search ran on (0: the embeddings as they are;
   * `d` is then the source width D).
   */
  components: number;
  /** With components: each one's share of the embeddings' variance, or null. */
  explainedVarianceRatio: number[] | null;
  timings: IAuditResult['timings'];
  transports: IAuditResult['transports'];
  regions: {
    /** The region's one-line name ('' when nothing sets it apart). */
    name: string;
    /** What sets it apart, best first. */
    explanation: IExplanationSummary[];
    totalWeight: number;
    supportSize: number;
    weightedLoss: number;
    weightedLossOriginal: number;
    precision: number;
    /** Steps at which the collapse guard acted (0: never). */
    guardSteps: number;
    /** Permutation-test p-value; null when untested. */
    pValue: number | null;
    /** pValue ≤ α; null when untested. */
    significant: boolean | null;
    /** Weighted mean loss / mean loss (on the evaluation half with holdout). */
    lift: number;
    /** 95 % bootstrap interval of the lift. */
    liftInterval: [number, number] | null;
    /** 'holdout' or 'in-sample'. */
    liftIntervalKind: 'holdout' | 'in-sample' | null;
    /** Whether the spotlight converged. */
    converged: boolean | null;
    /** Weight spread over more than a quarter of the data. */
    diffuse: boolean | null;
    /** The fewest examples carrying 80 % of its weighted loss, and their share. */
    concentration: { examples: number; share: number } | null;
    /** The earlier region (from 0) it mostly repeats, or null. */
    repeatOf: number | null;
    /** What to make of it, or null. */
    note: string | null;
    /** When comparing: model A's weighted mean loss in the region. */
    weightedLossReference?: number;
    /** When comparing: the weighted mean of ℓ_B − ℓ_A in the region. */
    weightedLossDifference?: number;
    /** When comparing with both models' predictions: model A's weighted accuracy. */
    accuracyReference?: number;
    topIndices: number[];
  }[];
  /** When a later spotlight failed after these regions were found: why. */
  failure?: string;
  /** The permutation test that ran, or null (off, cancelled or not yet run). */
  significance: {
    permutations: number;
    alpha: number;
    scheme: 'permute' | 'sign-flip';
    timeMs: number | null;
  } | null;
}

/**
 * A region's number for the user: its saved number for reopened findings,
 * else its position from 1.
 *
 * @param result - The audit.
 * @param j - The region's index, from 0.
 * @returns The number, from 1.
 */
export function regionNumber(result: IAuditResult, j: number): number {
  return result.regionNumbers?.[j] ?? j + 1;
}

/**
 * How many regions the audit found: the saved count for reopened findings
 * (some may not have been saved), else the regions shown.
 *
 * @param result - The audit.
 * @returns The count.
 */
export function regionCount(result: IAuditResult): number {
  return result.regionsOf ?? result.regions.length;
}

/**
 * What a failed search leaves to show: the spotlights found before the failed
 * one (the engine's `SpotlightRunError.partial`) and a sentence for the user.
 *
 * @param reason - What the search threw.
 * @param count - The number of spotlights asked for.
 * @returns The partial result and the sentence, or null when nothing was
 *   found before the failure (or the error is not a search failure).
 */
export function keptSpotlights(
  reason: unknown,
  count: number
): { partial: ISpotlightResult; failure: string } | null {
  if (!(reason instanceof SpotlightRunError && reason.partial)) {
    return null;
  }
  const partial = reason.partial as ISpotlightResult;
  const found = partial.spotlights.length;
  if (!found) {
    return null;
  }
  const kept =
    found === 1
      ? 'only the region found before it is shown'
      : `only the ${found} regions found before it are shown`;
  return {
    partial,
    failure: `Spotlight ${found + 1} of ${count} failed, so ${kept}: ${reason.message}`
  };
}

/**
 * The panel's model for one notebook at a time.
 */
export class SpotlightModel implements IDisposable {
  /**
   * @param options - Initial options and settings.
   */
  constructor(options: SpotlightModel.IOptions = {}) {
    this._options = { ...DEFAULT_OPTIONS, ...options.options };
    this._settings = {
      ...SpotlightModel.DEFAULT_SETTINGS,
      ...options.settings
    };
    this._pipelineFactory =
      options.pipeline ?? (bridge => new DefaultAuditPipeline(bridge));
    this._changed.connect((_, change) => {
      // UMAP chosen: lay out each new data set's map too.
      const result = this._result;
      if (
        change === 'result' &&
        result &&
        this._mapState.method === 'umap' &&
        this._mapState.state !== 'computing' &&
        this._umapLayout?.fingerprint !== result.fingerprint &&
        this._layoutData?.fingerprint === result.fingerprint
      ) {
        void this.setMapMethod('umap');
      }
    });
  }

  /** Emitted on any change of state, variables, selection, options or result. */
  get changed(): ISignal<this, SpotlightModel.Change> {
    return this._changed;
  }

  /** The notebook's session context, or null when no notebook is open. */
  get sessionContext(): ISessionContext | null {
    return this._sessionContext;
  }

  /** A label for the audited notebook, e.g. its path. */
  get notebookLabel(): string {
    return this._notebookLabel;
  }

  /** The kernel bridge of the current notebook, or null. */
  get bridge(): KernelBridge | null {
    return this._bridge;
  }

  /** The kernel's variables as last listed. */
  get variables(): readonly IVariable[] {
    return this._variables;
  }

  /** Whether the variables were listed at least once for this kernel. */
  get listed(): boolean {
    return this._listed;
  }

  /** The chosen variables. */
  get selection(): Readonly<ISelection> {
    return this._selection;
  }

  /** The search options. */
  get options(): Readonly<IAuditOptions> {
    return this._options;
  }

  /** Panel settings. */
  get settings(): Readonly<IPanelSettings> {
    return this._settings;
  }

  /** The current stage. */
  get stage(): AuditStage {
    return this._progress.stage;
  }

  /** The current progress. */
  get progress(): Readonly<IAuditProgress> {
    return this._progress;
  }

  /** The last error message, or null. */
  get error(): string | null {
    return this._error;
  }

  /** The last audit's result, or null. */
  get result(): IAuditResult | null {
    return this._result;
  }

  /** The overview map's projection and the state of its layout. */
  get mapState(): Readonly<SpotlightModel.IMapState> {
    return this._mapState;
  }

  /**
   * The layout the map draws for a result: the UMAP layout when UMAP is
   * chosen and ready for this result's data, else the result's own (PCA)
   * layout.
   *
   * @param result - A result of this model.
   * @returns The layout, or undefined when the result carries none.
   */
  mapLayoutOf(result: IAuditResult): IMapLayout | undefined {
    const umap = this._umapLayout;
    if (
      this._mapState.method === 'umap' &&
      umap &&
      umap.fingerprint === result.fingerprint
    ) {
      return umap.layout;
    }
    return result.mapLayout;
  }

  /**
   * Choose the overview map's projection. UMAP is computed once per data
   * set by the pipeline (in the audit worker in JupyterLab) on the
   * embeddings of the shown result, which the model keeps after the audit
   * while they fit in {@link MAP_KEEP_BYTES}; `mapState` reports the
   * progress and emits 'map'. A failure keeps the PCA map and says why in
   * `mapState.error`.
   *
   * @param method - 'pca' or 'umap'.
   * @returns Resolves when the layout is ready or has failed (never rejects).
   */
  async setMapMethod(method: MapMethod): Promise<void> {
    checkMapMethod(method);
    const result = this._result;
    if (
      method === 'pca' ||
      !result ||
      this._umapLayout?.fingerprint === result.fingerprint
    ) {
      // The job goes on in the worker (aborting would stop the worker and
      // what it holds); its layout is kept for a later choice of UMAP.
      this._mapAbort = null;
      this._mapState = {
        method,
        state: 'ready',
        fraction: 1,
        stage: '',
        error: null
      };
      this._changed.emit('map');
      return;
    }
    if (
      this._mapState.state === 'computing' &&
      this._mapState.method === method
    ) {
      return this._mapPending ?? Promise.resolve();
    }
    const pipeline = this._pipeline;
    const data = this._layoutData;
    const abort = new AbortController();
    this._mapAbort = abort;
    const fingerprint = result.fingerprint;
    this._mapState = {
      method,
      state: 'computing',
      fraction: 0,
      stage: 'starting',
      error: null
    };
    this._changed.emit('map');
    const run = async () => {
      try {
        if (!pipeline?.layout) {
          throw new Error('this audit pipeline cannot compute other layouts.');
        }
        if (!data || data.fingerprint !== fingerprint) {
          throw new Error(
            `the embeddings of this map are no longer held (they are kept after an audit only while N × D × 4 bytes ≤ ${MAP_KEEP_BYTES / 1e6} MB, and only for the last audit): run the audit again, then choose UMAP.`
          );
        }
        // One job per data set: choosing UMAP again while it runs waits
        // for the same job. Never aborted: a cancel would stop the audit
        // worker and everything it holds (a running audit too).
        let job = this._umapJob;
        if (job?.fingerprint !== fingerprint) {
          const created = {
            fingerprint,
            promise: pipeline.layout(data.data, method, {
              signal: new AbortController().signal,
              onProgress: (fraction, stage) => {
                if (
                  this._umapJob !== created ||
                  this._mapState.state !== 'computing'
                ) {
                  return;
                }
                this._mapState = { ...this._mapState, fraction, stage };
                this._changed.emit('map');
              }
            })
          };
          job = this._umapJob = created;
          const clear = () => {
            if (this._umapJob === created) {
              this._umapJob = null;
            }
          };
          created.promise.then(layout => {
            this._umapLayout = { fingerprint, layout };
            clear();
          }, clear);
        }
        const layout = await job.promise;
        if (this._mapAbort !== abort || this._isDisposed) {
          return;
        }
        this._umapLayout = { fingerprint, layout };
        this._mapState = {
          method,
          state: 'ready',
          fraction: 1,
          stage: '',
          error: null
        };
      } catch (reason) {
        if (this._mapAbort !== abort || this._isDisposed) {
          return;
        }
        const message = isAbortError(reason)
          ? 'it was cancelled (the audit worker stopped).'
          : reason instanceof Error
            ? reason.message
            : String(reason);
        console.error('Spotlight: the UMAP map layout failed', reason);
        this._mapState = {
          method: 'pca',
          state: 'failed',
          fraction: 0,
          stage: '',
          error: `UMAP failed: ${message} The map stays on PCA.`
        };
      } finally {
        if (this._mapAbort === abort) {
          this._mapAbort = null;
          this._mapPending = null;
        }
      }
      this._changed.emit('map');
    };
    this._mapPending = run();
    return this._mapPending;
  }

  /**
   * Keep the data of a new result for its map's other layouts (UMAP) while
   * its embeddings fit in {@link MAP_KEEP_BYTES}; free the data kept before.
   */
  private _keepForMap(
    pipeline: IAuditPipeline,
    data: IAuditData,
    result: IAuditResult
  ): void {
    const previous = this._layoutData;
    this._layoutData =
      data.n * data.d * 4 <= MAP_KEEP_BYTES
        ? { fingerprint: result.fingerprint, data }
        : null;
    if (previous && previous.data !== data) {
      pipeline.release?.(previous.data);
    }
  }

  /** Index of the selected region, or -1. */
  get selectedRegion(): number {
    return this._selectedRegion;
  }

  /** Whether a kernel request waits on a busy kernel. */
  get waitingForKernel(): boolean {
    return this._bridge?.waiting ?? false;
  }

  /** Whether the model is disposed. */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Dispose the model: cancel work and release the bridge. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._abort?.abort();
    this._listAbort?.abort();
    this._mapAbort?.abort();
    this._layoutData = null;
    this._pipeline?.dispose?.();
    this._bridge?.dispose();
    this._bridge = null;
    this._pipeline = null;
    Signal.clearData(this);
  }

  /**
   * Audit another notebook (or none). The result of the previous one is kept
   * only if it is the same notebook.
   *
   * @param sessionContext - The notebook's session context (borrowed).
   * @param label - A label for the notebook, e.g. its path.
   */
  setNotebook(sessionContext: ISessionContext | null, label = ''): void {
    if (sessionContext === this._sessionContext) {
      this._notebookLabel = label;
      return;
    }
    this._abort?.abort();
    this._listAbort?.abort();
    this._mapAbort?.abort();
    this._mapAbort = null;
    this._layoutData = null;
    this._umapLayout = null;
    this._umapJob = null;
    if (this._mapState.state !== 'ready') {
      this._mapState = { ...this._mapState, state: 'ready', error: null };
    }
    this._pipeline?.dispose?.();
    this._bridge?.dispose();
    this._sessionContext = sessionContext;
    this._notebookLabel = label;
    this._bridge = sessionContext ? new KernelBridge({ sessionContext }) : null;
    this._pipeline = this._bridge ? this._pipelineFactory(this._bridge) : null;
    this._bridge?.kernelReset.connect(this._onKernelReset, this);
    this._bridge?.waitingChanged.connect(
      () => this._changed.emit('waiting'),
      this
    );
    this._variables = [];
    this._listed = false;
    this._result = null;
    this._selectedRegion = -1;
    this._error = null;
    this._progress = { stage: 'idle', fraction: 0, detail: '' };
    this._changed.emit('notebook');
  }

  /**
   * List the kernel's variables again and fill empty pickers from the roles.
   *
   * @returns Resolves when listed; errors are kept in `error`, not thrown.
   */
  async refresh(): Promise<void> {
    const bridge = this._bridge;
    if (!bridge || !this._sessionContext?.session?.kernel) {
      this._variables = [];
      this._listed = false;
      this._changed.emit('variables');
      return;
    }
    this._listAbort?.abort();
    const abort = new AbortController();
    this._listAbort = abort;
    try {
      const variables = await bridge.list(abort.signal);
      if (this._isDisposed || bridge !== this._bridge) {
        return;
      }
      this._variables = variables;
      this._listed = true;
      this._suggestSelection();
      if (this.stage === 'error' && this._error?.startsWith('Listing')) {
        this._error = null;
        this._progress = { stage: 'idle', fraction: 0, detail: '' };
      }
      this._changed.emit('variables');
    } catch (reason) {
      if (isAbortError(reason) || this._isDisposed) {
        return;
      }
      console.error('Spotlight: listing the kernel variables failed', reason);
      this._variables = [];
      this._listed = false;
      this._error = `Listing the kernel's variables failed: ${(reason as Error).message}`;
      this._changed.emit('variables');
    } finally {
      if (this._listAbort === abort) {
        this._listAbort = null;
      }
    }
  }

  /**
   * Choose a variable for a role.
   *
   * @param role - The role.
   * @param name - A listed variable name, or null to clear.
   */
  select(role: Role, name: string | null): void {
    const before = this._selection.metadata;
    this._selection = { ...this._selection, [role]: name || null };
    if (role === 'metadata') {
      this._autoMetadata = null;
      if (this._selection.metadata !== before) {
        this._selection.metadataColumns = null;
      }
    }
    this._clearError();
    this._changed.emit('selection');
    if (role === 'metadata' && this._selection.metadata !== before) {
      void this._describeMetadata();
    }
  }

  /**
   * The chosen metadata table as the kernel checked it: its columns with
   * their kinds, or the kernel's refusal; null without metadata.
   */
  get metadataInfo(): SpotlightModel.IMetadataInfo | null {
    return this._metadataInfo;
  }

  /**
   * Choose the metadata columns the regions are explained by.
   *
   * @param columns - Column names, or null for all of them.
   */
  selectMetadataColumns(columns: string[] | null): void {
    this._selection = { ...this._selection, metadataColumns: columns };
    this._clearError();
    this._changed.emit('selection');
  }

  /**
   * Ask the kernel to check the chosen metadata and describe its columns
   * (nothing is transferred). A pre-selected table the kernel refuses is
   * unselected: the panel never pre-selects what a run would refuse.
   */
  private async _describeMetadata(): Promise<void> {
    const name = this._selection.metadata;
    const bridge = this._bridge;
    this._metadataInfo = name
      ? { name, n: null, columns: [], skipped: [], error: null, checking: true }
      : null;
    if (!name || !bridge) {
      return;
    }
    this._changed.emit('selection');
    try {
      const reply = await bridge.columns(name);
      if (this._isDisposed || this._selection.metadata !== name) {
        return;
      }
      this._metadataInfo = {
        name,
        n: reply.n,
        columns: reply.columns,
        skipped: reply.skipped,
        error: null,
        checking: false
      };
    } catch (reason) {
      if (this._isDisposed || this._selection.metadata !== name) {
        return;
      }
      const message = (reason as Error).message ?? String(reason);
      if (this._autoMetadata === name) {
        console.warn(
          `Spotlight: '${name}' was not pre-selected as metadata: ${message}`
        );
        this._selection = { ...this._selection, metadata: null };
        this._metadataInfo = null;
      } else {
        this._metadataInfo = {
          name,
          n: null,
          columns: [],
          skipped: [],
          error: message,
          checking: false
        };
      }
    }
    this._changed.emit('selection');
  }

  /**
   * Override search options for this panel.
   *
   * @param options - The options to change.
   */
  setOptions(options: Partial<IAuditOptions>): void {
    this._options = { ...this._options, ...options };
    this._clearError();
    this._changed.emit('options');
  }

  /**
   * Apply settings from the settings registry.
   *
   * @param options - Search option defaults.
   * @param settings - Panel settings.
   */
  configure(
    options: Partial<IAuditOptions>,
    settings: Partial<IPanelSettings>
  ): void {
    this._options = { ...this._options, ...options };
    this._settings = { ...this._settings, ...settings };
    this._changed.emit('options');
  }

  /**
   * Problems with the current selection that can be seen before a run, by role.
   *
   * @returns Messages keyed by role; empty when the selection looks runnable.
   */
  selectionProblems(): Partial<Record<Role, string>> {
    const problems: Partial<Record<Role, string>> = {};
    const byName = new Map(this._variables.map(v => [v.name, v]));
    const emb = this._selection.embeddings
      ? byName.get(this._selection.embeddings)
      : undefined;
    const n = emb?.length ?? null;
    if (!this._selection.embeddings) {
      problems.embeddings = 'Choose the embeddings (N × D).';
    } else if (emb && emb.shape && emb.shape.length !== 2) {
      problems.embeddings = `'${emb.name}' has shape (${emb.shape.join(', ')}); embeddings must be 2-D (N × D).`;
    }
    if (!this._selection.losses) {
      problems.losses = 'Choose the per-example losses (N).';
    }
    const info = this._metadataInfo;
    if (info && info.name === this._selection.metadata) {
      if (info.error) {
        problems.metadata = info.error;
      } else if (this._selection.metadataColumns?.length === 0) {
        problems.metadata =
          'Include at least one column, or choose no metadata.';
      }
    }
    const { losses, referenceLosses, referencePredictions } = this._selection;
    if (referenceLosses && referenceLosses === losses) {
      problems.referenceLosses = `'${referenceLosses}' is also the losses: choose model A's losses here, model B's above.`;
    }
    if (referencePredictions && !referenceLosses) {
      problems.referencePredictions =
        "Reference predictions need model A's reference losses too.";
    }
    for (const role of ROLES) {
      const name = this._selection[role];
      const variable = name ? byName.get(name) : undefined;
      if (name && !variable && this._listed) {
        problems[role] =
          `'${name}' is not in the kernel; run the cell that defines it, or choose another variable.`;
      } else if (
        role !== 'embeddings' &&
        variable &&
        n !== null &&
        variable.length !== null &&
        variable.length !== n
      ) {
        problems[role] =
          `'${variable.name}' has ${variable.length.toLocaleString('en-US')} rows but embeddings '${emb!.name}' has ${n.toLocaleString('en-US')}.`;
      }
    }
    if (emb && n !== null && !problems.embeddings) {
      const s = spotlightSizeFromFraction(this._options.spotlightSize, n);
      if (s < 1 || s >= n) {
        problems.embeddings = `A spotlight size of ${this._options.spotlightSize} gives S = ${s} of N = ${n}; choose a fraction with 1 ≤ S < N.`;
      }
    }
    const k = this._options.components ?? 0;
    const width = emb?.shape?.length === 2 ? emb.shape[1] : null;
    if (emb && width !== null && k > 0 && k >= width && !problems.embeddings) {
      problems.embeddings = `'${emb.name}' has D = ${width.toLocaleString('en-US')} dimensions: choose fewer principal components (1 to ${Math.max(1, width - 1)}), or 0 to search on the embeddings as they are.`;
    }
    return problems;
  }

  /**
   * Run an audit on the chosen variables.
   *
   * The previous result stays until this run succeeds: the regions of this
   * run replace it as each is found, and a failure or a cancel brings it
   * back.
   *
   * @param overrides - Options for this run only.
   * @returns The result; rejects with the error shown in the panel (an
   *   `AbortError` when cancelled).
   */
  async run(overrides: Partial<IAuditOptions> = {}): Promise<IAuditResult> {
    if (this.isRunning) {
      throw new Error(
        'An audit is already running in this panel; cancel it first.'
      );
    }
    const bridge = this._bridge;
    const pipeline = this._pipeline;
    const sel = { ...this._selection };
    const options = { ...this._options, ...overrides };
    const maxMapPoints = this._settings.maxMapPoints;
    const abort = new AbortController();
    this._abort = abort;
    this._runningOptions = options;
    const signal = abort.signal;
    const started = performance.now();
    const previous = {
      result: this._result,
      selectedRegion: this._selectedRegion
    };
    this._error = null;
    // The fetched data, released once the run ends (a worker frees X).
    let fetched: IAuditData | null = null;
    try {
      if (!bridge || !pipeline) {
        throw new Error(
          'Open a notebook whose kernel holds your embeddings and losses.'
        );
      }
      if (!sel.embeddings || !sel.losses) {
        throw new Error('Choose the embeddings and the losses first.');
      }
      this._setProgress('fetching', 0, 'checking the variables');
      const shape = await pipeline.check(sel, signal);
      this._throwIfAborted(signal);
      const data = await pipeline.fetch(sel, shape, {
        maxBytes: this._settings.transferBudgetBytes,
        signal,
        onProgress: p => this._onFetchProgress(p),
        components: options.components ?? 0
      });
      fetched = data;
      this._throwIfAborted(signal);
      const fetchMs = performance.now() - started;

      this._setProgress('searching', 0, 'starting');
      const searchStarted = performance.now();
      const found: ISpotlight[] = [];
      // Regions shown so far: a partial result is shown only if it has more.
      let shown = 0;
      let failure: string | undefined;
      const search = await pipeline
        .search(data, options, {
          signal,
          onProgress: p => this._onSearchProgress(p),
          // Show each region as soon as it is found, while the next is searched.
          onSpotlight: (spotlight, j) => {
            found.push(spotlight);
            if (j + 1 >= options.count) {
              return;
            }
            const spotlights = [...found];
            pipeline
              .summarise(
                {
                  names: sel,
                  data,
                  search: Private.partialSearch(spotlights, data.n, data.d),
                  options,
                  maxMapPoints,
                  complete: false,
                  finishedAt: new Date().toISOString()
                },
                signal
              )
              .then(
                partial => {
                  if (
                    this._abort !== abort ||
                    this._isDisposed ||
                    this._progress.stage !== 'searching' ||
                    spotlights.length <= shown
                  ) {
                    return;
                  }
                  this._showPartial(partial, shown === 0);
                  shown = spotlights.length;
                },
                reason => {
                  if (!isAbortError(reason)) {
                    console.error(
                      'Spotlight: summarising the regions found so far failed',
                      reason
                    );
                  }
                }
              );
          }
        })
        .catch(reason => {
          // A later spotlight failed: keep the regions found before it.
          const kept = keptSpotlights(reason, options.count);
          if (!kept) {
            throw reason;
          }
          failure = kept.failure;
          return kept.partial;
        });
      const searchMs = performance.now() - searchStarted;
      this._throwIfAborted(signal);

      this._setProgress('summarising', 0, 'region statistics and map');
      await new Promise(resolve => setTimeout(resolve, 0));
      this._throwIfAborted(signal);
      const summaryStarted = performance.now();
      const result = await pipeline.summarise(
        {
          names: sel,
          data,
          search,
          options,
          maxMapPoints,
          complete: true,
          finishedAt: new Date().toISOString(),
          failure
        },
        signal
      );
      const summaryMs = performance.now() - summaryStarted;
      result.timings = {
        fetchMs,
        searchMs,
        summaryMs,
        totalMs: performance.now() - started
      };
      this._throwIfAborted(signal);
      this._abort = null;
      this._result = result;
      this._keepForMap(pipeline, data, result);
      this._selectedRegion = !result.regions.length
        ? -1
        : shown
          ? Math.min(
              Math.max(0, this._selectedRegion),
              result.regions.length - 1
            )
          : 0;
      const doneText =
        `${result.regions.length} regions · ${search.backend}` +
        (failure ? ` · spotlight ${result.regions.length + 1} failed` : '');
      this._setProgress('done', 1, doneText);
      this._changed.emit('result');
      if (options.permutations > 0 && result.regions.length) {
        // The regions are on screen; the test updates them when it ends.
        return await this._testSignificance(
          pipeline,
          data,
          options,
          result,
          doneText
        );
      }
      return result;
    } catch (reason) {
      throw this._fail(reason, abort, 'the audit failed', bridge, previous);
    } finally {
      if (this._abort === abort) {
        this._abort = null;
      }
      if (fetched && this._layoutData?.data !== fetched) {
        pipeline?.release?.(fetched);
      }
    }
  }

  /**
   * The permutation test of a finished audit (spotlight/significance.ts),
   * with its own progress and cancel. A cancel or a failure keeps the
   * regions, untested.
   *
   * @returns The result with p-values, or the untested one.
   */
  private async _testSignificance(
    pipeline: IAuditPipeline,
    data: IAuditData,
    options: IAuditOptions,
    result: IAuditResult,
    doneText: string
  ): Promise<IAuditResult> {
    const abort = new AbortController();
    this._abort = abort;
    const started = performance.now();
    const total = options.permutations;
    const perSearch = result.search.timings.perSpotlightMs[0] ?? 0;
    this._setProgress(
      'testing',
      0,
      `${total} null searches, about ${Private.duration(total * perSearch)}`
    );
    try {
      const nulls = await pipeline.nullDistribution(data, options, {
        signal: abort.signal,
        onProgress: (done, all) => {
          const left = ((performance.now() - started) / done) * (all - done);
          this._setProgress(
            'testing',
            done / all,
            `${done} of ${all} null searches · about ${Private.duration(left)} left`
          );
        }
      });
      // Not running any more before the 'done' the views render.
      if (this._abort === abort) {
        this._abort = null;
      }
      if (this._result !== result || this._isDisposed) {
        return result;
      }
      const tested = withSignificance(result, nulls, options.alpha);
      tested.significance!.timeMs = performance.now() - started;
      const significant = tested.regions.filter(r => r.significant).length;
      this._result = tested;
      this._setProgress(
        'done',
        1,
        `${doneText} · ${significant} of ${tested.regions.length} significant (p ≤ ${options.alpha})`
      );
      this._changed.emit('result');
      return tested;
    } catch (reason) {
      if (this._abort === abort) {
        this._abort = null;
      }
      if (this._result === result && !this._isDisposed) {
        if (isAbortError(reason)) {
          this._setProgress(
            'done',
            1,
            `${doneText} · significance test cancelled`
          );
        } else {
          console.error('Spotlight: the significance test failed', reason);
          this._error = `The significance test failed (the regions are kept, untested): ${(reason as Error).message}`;
          this._setProgress('done', 1, doneText);
        }
      }
      return result;
    } finally {
      if (this._abort === abort) {
        this._abort = null;
      }
    }
  }

  /**
   * The options of the running audit (the panel's, with a scripted run's
   * overrides), or null when none runs.
   */
  get runningOptions(): Readonly<IAuditOptions> | null {
    return this.isRunning ? this._runningOptions : null;
  }

  /** Whether an audit is running. */
  get isRunning(): boolean {
    return this._abort !== null;
  }

  /** Cancel the running audit, if any. */
  cancel(): void {
    this._abort?.abort();
  }

  /**
   * Select a region for the charts and the examples.
   *
   * @param index - The region index, or -1.
   * @throws {RangeError} when there is no such region.
   */
  selectRegion(index: number): void {
    const count = this._result?.regions.length ?? 0;
    if (
      index !== -1 &&
      !(Number.isInteger(index) && index >= 0 && index < count)
    ) {
      throw new RangeError(
        `There is no region ${index + 1}; the last audit found ${count}.`
      );
    }
    this._selectedRegion = index;
    this._changed.emit('region');
  }

  /**
   * Add a manual region: examples chosen by hand (a lasso on the map, or a
   * script) with kernel weights k_i = 1 on them and 0 elsewhere. It gets a
   * card, charts and cells like a found region; it is not part of the
   * search, so it has no p-value (the permutation test is about the search).
   *
   * @param indices - Row indices, whole numbers in [0, N).
   * @param name - A name for the region (default "Selection m").
   * @returns The new region's index (from 0), now selected.
   * @throws {Error} when there is no result or an audit is running.
   * @throws {TypeError | RangeError} when `indices` is not a non-empty list
   *   of rows in [0, N).
   */
  addManualRegion(indices: unknown, name?: string): number {
    const result = this._result;
    if (!result) {
      throw new Error(
        'Run an audit (or reopen saved findings) first: a manual region is drawn on its data.'
      );
    }
    if (this.isRunning) {
      throw new Error(
        'An audit is running; add the region once it has finished.'
      );
    }
    const j = result.regions.length;
    this._result = Private.withManualRegion(result, indices, name);
    this._selectedRegion = j;
    this._changed.emit('result');
    return j;
  }

  /**
   * Show a result found earlier (e.g. reopened from the notebook).
   *
   * @param result - The result.
   */
  showResult(result: IAuditResult): void {
    this._result = result;
    this._selectedRegion = result.regions.length ? 0 : -1;
    this._error = null;
    this._progress = {
      stage: 'done',
      fraction: 1,
      detail: `${result.regions.length} regions`
    };
    this._changed.emit('result');
  }
  /**
   * Show findings saved in the notebook again, without searching: the data
   * is fetched from the kernel by the saved names and each region's weights
   * are recomputed from its saved centre and precision; a manual region's
   * (`summary.manual`) from its saved rows. Every region keeps its saved
   * number and name; the manual ones come after the found ones.
   *
   * @param findings - Findings of one audit (same names and parameters),
   *   found and manual regions.
   * @returns The reopened result; rejects like {@link run}.
   */
  async reopen(findings: IFinding[]): Promise<IAuditResult> {
    if (this.isRunning) {
      throw new Error('An audit is running in this panel; cancel it first.');
    }
    if (!findings.length) {
      throw new Error('This notebook has no saved Spotlight findings.');
    }
    const bridge = this._bridge;
    const pipeline = this._pipeline;
    const first = findings[0];
    const sel = { ...first.names };
    const abort = new AbortController();
    this._abort = abort;
    const signal = abort.signal;
    const started = performance.now();
    const previous = {
      result: this._result,
      selectedRegion: this._selectedRegion
    };
    this._error = null;
    let fetched: IAuditData | null = null;
    try {
      if (!bridge || !pipeline) {
        throw new Error(
          'Open the notebook whose kernel holds the data of these findings.'
        );
      }
      this._setProgress('fetching', 0, 'checking the variables');
      const { n, d } = await pipeline.check(sel, signal);
      this._throwIfAborted(signal);
      if (n !== first.n || d !== first.d) {
        throw new Error(
          `The saved findings were made on ${first.n.toLocaleString('en-US')} × ${first.d} embeddings but '${sel.embeddings}' is now ${n.toLocaleString('en-US')} × ${d}. Re-run the cells that compute it, or run a new audit.`
        );
      }
      const data = await pipeline.fetch(
        sel,
        { n, d },
        {
          maxBytes: this._settings.transferBudgetBytes,
          signal,
          onProgress: p => this._onFetchProgress(p),
          projection: findingProjection(first)
        }
      );
      fetched = data;
      this._throwIfAborted(signal);
      const fetchMs = performance.now() - started;
      const found = findings.filter(f => !f.summary.manual);
      const manual = findings
        .filter(f => f.summary.manual)
        .sort((a, b) => a.region - b.region);
      const search: ISpotlightResult = found.length
        ? await pipeline.reconstruct(found, data, signal)
        : {
            version: 1,
            backend: first.backend as ISpotlightResult['backend'],
            backendReason: `reopened from the notebook (manual regions drawn on ${first.date})`,
            n,
            d: data.d,
            parameters: {} as ISpotlightResult['parameters'],
            spotlights: [],
            timings: { totalMs: 0, perSpotlightMs: [] }
          };
      this._throwIfAborted(signal);
      let result = await pipeline.summarise(
        {
          names: sel,
          data,
          search,
          options: first.parameters,
          maxMapPoints: this._settings.maxMapPoints,
          complete: true,
          finishedAt: first.date
        },
        signal
      );
      this._throwIfAborted(signal);
      result.timings = {
        fetchMs,
        searchMs: 0,
        summaryMs: 0,
        totalMs: performance.now() - started
      };
      if (result.fingerprint !== first.fingerprint) {
        this._error = `The data changed since these findings were saved (fingerprint ${result.fingerprint}, saved ${first.fingerprint}); the regions are recomputed on the current data.`;
      } else {
        // Same data: the saved test result still holds (re-running it would
        // take P searches); a changed data set shows the regions untested.
        found.forEach((f, j) => {
          const region = result.regions[j];
          if (region && f.summary.pValue !== undefined) {
            region.pValue = f.summary.pValue;
            region.significant = f.summary.significant ?? null;
          }
        });
      }
      // The saved numbers, not 1…k: region 3 saved alone stays region 3.
      result.regionNumbers = found.map(f => f.region);
      result.regionsOf = Math.max(first.of, ...result.regionNumbers);
      // Manual regions from their saved rows, names and numbers.
      for (const f of manual) {
        result = Private.withManualRegion(
          result,
          f.summary.manual!.indices,
          f.summary.name,
          f.region
        );
      }
      this._abort = null;
      this._result = result;
      this._keepForMap(pipeline, data, result);
      this._selectedRegion = 0;
      this._setProgress(
        'done',
        1,
        `${result.regions.length} saved region(s) reopened`
      );
      this._changed.emit('result');
      return result;
    } catch (reason) {
      throw this._fail(
        reason,
        abort,
        'reopening findings failed',
        bridge,
        previous
      );
    } finally {
      if (this._abort === abort) {
        this._abort = null;
      }
      if (fetched && this._layoutData?.data !== fetched) {
        pipeline?.release?.(fetched);
      }
    }
  }

  /**
   * The compact JSON summary of the last audit.
   *
   * @returns The summary, or null when there is no result.
   */
  summary(): IAuditSummary | null {
    const result = this._result;
    if (!result) {
      return null;
    }
    return {
      backend: result.search.backend,
      backendReason: result.search.backendReason,
      n: result.n,
      d: result.projection?.d ?? result.d,
      fingerprint: result.fingerprint,
      components: result.projection?.components ?? 0,
      explainedVarianceRatio: result.projection?.explainedVarianceRatio ?? null,
      timings: result.timings,
      transports: result.transports,
      regions: result.regions.map((r, j) => ({
        name: r.name ?? '',
        explanation: (r.explanation ?? []).map(e => explanationSummary(e)),
        totalWeight: r.totalWeight,
        supportSize: r.supportSize,
        weightedLoss: r.weightedLoss,
        weightedLossOriginal: r.weightedLossOriginal,
        precision: result.search.spotlights[j].precision,
        guardSteps: result.search.spotlights[j].guardSteps,
        pValue: r.pValue ?? null,
        significant: r.significant ?? null,
        lift: r.lift,
        liftInterval: r.liftInterval ?? null,
        liftIntervalKind: r.liftIntervalKind ?? null,
        converged: r.converged ?? null,
        diffuse: r.diffuse ?? null,
        concentration: r.concentration ?? null,
        repeatOf: r.repeatOf ?? null,
        note: r.note ?? null,
        ...(r.comparison
          ? {
              weightedLossReference: r.comparison.weightedLossReference,
              weightedLossDifference: r.comparison.weightedLossDifference,
              ...(r.comparison.accuracyReference !== null
                ? { accuracyReference: r.comparison.accuracyReference }
                : {})
            }
          : {}),
        topIndices: r.topIndices
      })),
      ...(result.failure ? { failure: result.failure } : {}),
      significance: result.significance
        ? {
            permutations: result.significance.permutations,
            alpha: result.significance.alpha,
            scheme: result.significance.scheme,
            timeMs: result.significance.timeMs ?? null
          }
        : null
    };
  }

  /**
   * Show the regions found so far (the search goes on): summaries and a map
   * of what is known, marked incomplete.
   *
   * @param result - The partial result.
   * @param first - Whether it is the run's first: region 1 is selected.
   */
  private _showPartial(result: IAuditResult, first: boolean): void {
    this._result = result;
    if (first || this._selectedRegion < 0) {
      this._selectedRegion = 0;
    }
    this._changed.emit('result');
  }

  private _onFetchProgress(p: IFetchProgress): void {
    this._setProgress(
      'fetching',
      p.total ? (p.done + p.transfer.bytes) / p.total : 1,
      fetchDetail(p.role, p.name, p.done, p.total, p.transfer)
    );
  }

  private _onSearchProgress(p: ISpotlightProgress): void {
    const fraction = (p.spotlight * p.steps + p.step) / (p.count * p.steps);
    this._setProgress(
      'searching',
      fraction,
      `spotlight ${p.spotlight + 1} of ${p.count} · step ${(p.step + 1).toLocaleString('en-US')} of ${p.steps.toLocaleString('en-US')} · weighted loss ${p.weightedLoss.toFixed(3)} · K ${p.totalWeight.toFixed(1)}`
    );
  }

  private _setProgress(
    stage: AuditStage,
    fraction: number,
    detail: string
  ): void {
    if (this._isDisposed) {
      return;
    }
    this._progress = { stage, fraction, detail };
    this._changed.emit('progress');
  }

  /**
   * Leave the running state after a failure or a cancel, and show why. The
   * result from before the run is shown again (the regions of the failed
   * run that were shown while it searched are dropped), unless the panel
   * moved to another notebook meanwhile.
   *
   * @param caught - What the run threw.
   * @param abort - The run's controller.
   * @param what - For the console, e.g. "the audit failed".
   * @param bridge - The bridge the run started with.
   * @param previous - The result and the selected region before the run.
   * @returns The error to rethrow: a kernel restart during the run becomes
   *   an Error that says so, a plain cancel stays an AbortError.
   */
  private _fail(
    caught: unknown,
    abort: AbortController,
    what: string,
    bridge: KernelBridge | null,
    previous: { result: IAuditResult | null; selectedRegion: number }
  ): unknown {
    let reason = caught;
    if (this._abort === abort) {
      this._abort = null;
    }
    if (isAbortError(reason) && this._interruption) {
      reason = new Error(this._interruption);
    }
    this._interruption = null;
    if (this._isDisposed) {
      return reason;
    }
    if (bridge === this._bridge && this._result !== previous.result) {
      this._result = previous.result;
      this._selectedRegion = previous.selectedRegion;
      this._changed.emit('result');
    }
    const count = this._result?.regions.length ?? 0;
    const kept = this._result
      ? `The previous results (${count} region${count === 1 ? '' : 's'}) are shown again.`
      : '';
    if (isAbortError(reason)) {
      this._setProgress(
        'idle',
        0,
        kept
          ? `Cancelled. ${kept}`
          : 'Cancelled. Nothing was found yet; press Find spotlights to search again.'
      );
    } else {
      console.error(`Spotlight: ${what}`, reason);
      this._error = (reason as Error).message ?? String(reason);
      this._setProgress('error', 0, kept);
    }
    return reason;
  }

  /** Forget a shown error once the user changes what caused it. */
  private _clearError(): void {
    if (this._error && !this.isRunning) {
      this._error = null;
      if (this._progress.stage === 'error') {
        this._progress = { stage: 'idle', fraction: 0, detail: '' };
      }
    }
  }

  private _throwIfAborted(signal: AbortSignal): void {
    if (signal.aborted) {
      throw abortError('The audit');
    }
  }

  private _suggestSelection(): void {
    const names = new Set(this._variables.map(v => v.name));
    const next = { ...this._selection };
    const metadata = next.metadata;
    for (const role of ROLES) {
      const current = next[role];
      if (current && names.has(current)) {
        continue;
      }
      next[role] = Private.suggest(role, this._variables, next);
      if (role === 'metadata' && next.metadata) {
        this._autoMetadata = next.metadata;
      }
    }
    this._selection = next;
    if (next.metadata !== metadata) {
      next.metadataColumns = null;
    }
    if (
      next.metadata &&
      (next.metadata !== metadata || this._metadataInfo?.name !== next.metadata)
    ) {
      void this._describeMetadata();
    } else if (!next.metadata) {
      this._metadataInfo = null;
    }
  }

  private _onKernelReset(): void {
    if (this._abort) {
      // The data may be gone from the kernel: stop rather than show regions
      // whose examples can no longer be fetched or saved.
      this._interruption =
        'The kernel restarted (or changed) during the audit, so its variables are gone. Run the cells that define your arrays, then run the audit again.';
      this._abort.abort();
    }
    this._variables = [];
    this._listed = false;
    this._changed.emit('variables');
    void this.refresh();
  }

  private _sessionContext: ISessionContext | null = null;
  private _notebookLabel = '';
  private _bridge: KernelBridge | null = null;
  private _pipelineFactory: SpotlightModel.PipelineFactory;
  private _pipeline: IAuditPipeline | null = null;
  private _variables: IVariable[] = [];
  private _listed = false;
  private _selection: ISelection = {
    embeddings: null,
    losses: null,
    referenceLosses: null,
    labels: null,
    predictions: null,
    referencePredictions: null,
    examples: null,
    metadata: null
  };
  private _options: IAuditOptions;
  private _settings: IPanelSettings;
  private _progress: IAuditProgress = {
    stage: 'idle',
    fraction: 0,
    detail: ''
  };
  private _error: string | null = null;
  private _result: IAuditResult | null = null;
  private _mapState: SpotlightModel.IMapState = {
    method: 'pca',
    state: 'ready',
    fraction: 1,
    stage: '',
    error: null
  };
  /** The UMAP layout of the shown result's data (by its fingerprint). */
  private _umapLayout: { fingerprint: string; layout: IMapLayout } | null =
    null;
  /** The data of the shown result, kept for its map's other layouts. */
  private _layoutData: { fingerprint: string; data: IAuditData } | null = null;
  private _mapAbort: AbortController | null = null;
  /** The UMAP layout being computed, by data fingerprint. */
  private _umapJob: {
    fingerprint: string;
    promise: Promise<IMapLayout>;
  } | null = null;
  private _mapPending: Promise<void> | null = null;
  private _selectedRegion = -1;
  private _abort: AbortController | null = null;
  private _runningOptions: IAuditOptions | null = null;
  private _interruption: string | null = null;
  private _listAbort: AbortController | null = null;
  private _isDisposed = false;
  private _metadataInfo: SpotlightModel.IMetadataInfo | null = null;
  private _autoMetadata: string | null = null;
  private _changed = new Signal<this, SpotlightModel.Change>(this);
}

/**
 * The panel's progress line while an array is fetched.
 *
 * The rate is shown once this array has moved at least 1 MB (before that it
 * measures the round trip, not the bandwidth, and a small array would read
 * "0 MB/s"); amounts under 1 MB are in kB.
 *
 * @param role - The role being fetched.
 * @param name - Its variable name.
 * @param done - Bytes of the arrays fetched before this one.
 * @param total - Bytes of all the arrays of the audit (an estimate).
 * @param progress - This array's transfer progress.
 * @returns e.g. `embeddings 'emb' · 12.6 of 50.4 MB · 160 MB/s · via file`,
 *   or `losses 'loss' · 3.2 of 6.4 kB · via comm`.
 */
export function fetchDetail(
  role: Role,
  name: string,
  done: number,
  total: number,
  progress: ITransferProgress
): string {
  const bytes = done + progress.bytes;
  const amount =
    total < 1e6
      ? `${(bytes / 1e3).toFixed(1)} of ${(total / 1e3).toFixed(1)} kB`
      : `${(bytes / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`;
  const rate = progress.megabytesPerSecond;
  const shown =
    progress.bytes >= 1e6 && Number.isFinite(rate) && rate > 0
      ? ` · ${
          rate >= 10
            ? `${rate.toFixed(0)} MB/s`
            : rate >= 0.1
              ? `${rate.toFixed(1)} MB/s`
              : `${Math.max(1, Math.round(rate * 1000))} kB/s`
        }`
      : '';
  return `${role} '${name}' · ${amount}${shown} · via ${progress.transport}`;
}

export { fingerprint } from './pipeline';

/** The SpotlightModel's namespace. */
export namespace SpotlightModel {
  /** What changed. */
  export type Change =
    | 'notebook'
    | 'variables'
    | 'selection'
    | 'options'
    | 'progress'
    | 'result'
    | 'region'
    | 'waiting'
    | 'map';

  /** The overview map's projection and whether its layout is ready. */
  export interface IMapState {
    /** The projection chosen: 'pca' (default) or 'umap'. */
    method: MapMethod;
    /** 'computing' while a UMAP layout is made; 'failed' after a failure. */
    state: 'ready' | 'computing' | 'failed';
    /** Fraction done while computing (0 to 1). */
    fraction: number;
    /** What is being done, in words, while computing. */
    stage: string;
    /** Why the last UMAP layout failed, or null. */
    error: string | null;
  }

  /** Options to create a model. */
  export interface IOptions {
    /** Search options (defaults: the paper's). */
    options?: Partial<IAuditOptions>;
    /** Panel settings. */
    settings?: Partial<IPanelSettings>;
    /**
     * Make the pipeline that runs the audits of a notebook, given its kernel
     * bridge (called on each notebook change; the model disposes the previous
     * one). Default: a {@link DefaultAuditPipeline} on the bridge (the main
     * thread); JupyterLab's plugin passes a `WorkerAuditPipeline`, which runs
     * the search and the summaries in a Web Worker.
     */
    pipeline?: PipelineFactory;
  }

  /** A metadata table as the kernel checked it (the `columns` op). */
  export interface IMetadataInfo {
    /** The variable. */
    name: string;
    /** Its rows, or null while checking or refused. */
    n: number | null;
    /** Its columns that can explain regions, with their kinds. */
    columns: IMetadataColumnInfo[];
    /** Its columns that cannot, with the kernel's reason. */
    skipped: { name: string; reason: string }[];
    /** The kernel's refusal, or null. */
    error: string | null;
    /** Whether the kernel is still checking it. */
    checking: boolean;
  }

  /** Makes the audit pipeline of a notebook from its kernel bridge. */
  export type PipelineFactory = (bridge: KernelBridge) => IAuditPipeline;

  /** Default panel settings. */
  export const DEFAULT_SETTINGS: IPanelSettings = {
    transferBudgetBytes: 1024 * 1024 * 1024,
    maxMapPoints: 5000,
    recheckAssert: false
  };
}

namespace Private {
  /**
   * A result with one more region: a manual one, kernel weights 1 on the
   * given rows and 0 elsewhere (see `SpotlightModel.addManualRegion`). On a
   * result that carries saved region numbers (reopened findings) the new
   * region gets `number`, or the next number after the highest.
   *
   * @param result - The result (not changed).
   * @param indices - Row indices, whole numbers in [0, N).
   * @param name - The region's name (default "Selection m").
   * @param number - Its region number, when it has a saved one.
   * @returns The new result; the region is its last.
   * @throws {TypeError | RangeError} when `indices` is not a non-empty list
   *   of rows in [0, N).
   */
  export function withManualRegion(
    result: IAuditResult,
    indices: unknown,
    name?: string,
    number?: number
  ): IAuditResult {
    const rows = checkIndices(indices, result.n);
    const spotlight = manualSpotlight(rows, {
      embeddings: result.embeddings,
      d: result.d,
      losses: result.losses
    });
    const j = result.regions.length;
    const summary = summarizeRegion(
      j,
      spotlight.kernelWeights,
      spotlight.weightedLoss,
      {
        losses: result.losses,
        labels: result.labels,
        labelNames: result.labelNames,
        predictions: result.predictions,
        metadata: result.metadata,
        metadataNames: result.metadataNames,
        referenceLosses: result.referenceLosses,
        referencePredictions: result.referencePredictions
      }
    );
    const manualCount = result.regions.filter(r => r.manual).length + 1;
    summary.manual = { indices: rows };
    summary.name = name?.trim() || `Selection ${manualCount}`;
    summary.pValue = null;
    summary.significant = null;
    const spotlights = [...result.search.spotlights, spotlight];
    const weights = spotlights.map(s => s.kernelWeights);
    const out: IAuditResult = {
      ...result,
      search: { ...result.search, spotlights },
      regions: [...result.regions, summary],
      overlaps: weights.map(a => weights.map(b => regionOverlap(a, b)))
    };
    if (result.regionNumbers || number !== undefined) {
      const numbers =
        result.regionNumbers ?? result.regions.map((_, r) => r + 1);
      const next = number ?? Math.max(result.regionsOf ?? 0, j, ...numbers) + 1;
      out.regionNumbers = [...numbers, next];
      out.regionsOf = Math.max(result.regionsOf ?? j, next);
    }
    return out;
  }

  /**
   * The search so far while the spotlights after these are searched: only
   * the spotlights, no backend, parameters or timings yet.
   */
  export function partialSearch(
    spotlights: ISpotlight[],
    n: number,
    d: number
  ): ISpotlightResult {
    return {
      version: 1,
      backend: '' as ISpotlightResult['backend'],
      backendReason: '',
      n,
      d,
      parameters: {} as ISpotlightResult['parameters'],
      spotlights,
      timings: { totalMs: 0, perSpotlightMs: [] }
    };
  }

  /**
   * A rough duration for progress texts.
   *
   * @param ms - Milliseconds.
   * @returns E.g. "4 s", "3 min".
   */
  export function duration(ms: number): string {
    const s = Math.max(1, Math.round(ms / 1000));
    return s < 90 ? `${s} s` : `${Math.round(s / 60)} min`;
  }

  const HINTS: Record<Role, RegExp> = {
    embeddings: /emb|feat|hidden|repr|activ|latent/i,
    losses: /loss|nll|ce$|error/i,
    labels: /label|^y$|^y_|target|true/i,
    predictions: /pred|yhat|y_hat/i,
    examples: /image|img|text|example|raw|pixel/i,
    metadata: /meta|group|attr|domain/i,
    // A comparison is the user's choice: never pre-selected.
    referenceLosses: /(?!)/,
    referencePredictions: /(?!)/
  };

  /**
   * Pick a variable for a role: a name that hints at the role first, then,
   * for required roles only, the first variable that can play it.
   */
  export function suggest(
    role: Role,
    variables: IVariable[],
    chosen: ISelection
  ): string | null {
    const taken = new Set(Object.values(chosen).filter(Boolean));
    const n = variables.find(v => v.name === chosen.embeddings)?.length ?? null;
    const candidates = variables.filter(
      v =>
        v.roles.includes(kernelRole(role)) &&
        !taken.has(v.name) &&
        (role === 'embeddings' || n === null || v.length === n)
    );
    const hinted = candidates.find(v => HINTS[role].test(v.name));
    if (hinted) {
      return hinted.name;
    }
    return role === 'embeddings' || role === 'losses'
      ? (candidates[0]?.name ?? null)
      : null;
  }
}
