/**
 * The Spotlight panel's state machine: idle → fetching → searching →
 * summarising → done | error. Views render from it and call its methods.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';
import * as CRC32 from 'crc-32';

import { ITransferProgress, KernelBridge } from './kernel/bridge';
import { abortError, isAbortError } from './kernel/errors';
import type { Transport } from './kernel/protocol';
import { base64ToFloat32, IFinding } from './notebook/cells';
import {
  findSpotlights,
  ISpotlight,
  ISpotlightProgress,
  ISpotlightResult,
  kernelWeights,
  SpotlightRunError,
  spotlightSizeFromFraction
} from './spotlight';
import { IMapPoint, projectRows, sampleRows } from './summaries/projection';
import {
  IRegionSummary,
  regionOverlap,
  summarizeRegion
} from './summaries/stats';
import {
  DEFAULT_OPTIONS,
  IAuditOptions,
  IPanelSettings,
  ISelection,
  IVariable,
  Role,
  ROLES
} from './tokens';

/** Stages of an audit. */
export type AuditStage =
  'idle' | 'fetching' | 'searching' | 'summarising' | 'done' | 'error';

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
  /** Row-major N × D float32 embeddings. */
  embeddings: Float32Array;
  /** Per-example losses, length N. */
  losses: Float32Array;
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
  /** CRC-32 of the embeddings' then the losses' float32 bytes, 8 hex digits. */
  fingerprint: string;
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
   * When a later spotlight failed: what went wrong. The regions found before
   * it are kept (nothing found is thrown away).
   */
  failure?: string;
}

/** Compact JSON summary of an audit, as the `run` command returns it. */
export interface IAuditSummary {
  backend: string;
  backendReason: string;
  n: number;
  d: number;
  fingerprint: string;
  timings: IAuditResult['timings'];
  transports: IAuditResult['transports'];
  regions: {
    totalWeight: number;
    supportSize: number;
    weightedLoss: number;
    weightedLossOriginal: number;
    precision: number;
    /** Steps at which the collapse guard acted (0: never). */
    guardSteps: number;
    topIndices: number[];
  }[];
  /** When a later spotlight failed after these regions were found: why. */
  failure?: string;
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
    this._bridge?.dispose();
    this._bridge = null;
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
    this._bridge?.dispose();
    this._sessionContext = sessionContext;
    this._notebookLabel = label;
    this._bridge = sessionContext ? new KernelBridge({ sessionContext }) : null;
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
    this._selection = { ...this._selection, [role]: name || null };
    this._clearError();
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
    return problems;
  }

  /**
   * Run an audit on the chosen variables.
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
    const sel = { ...this._selection };
    const options = { ...this._options, ...overrides };
    const abort = new AbortController();
    this._abort = abort;
    const signal = abort.signal;
    const started = performance.now();
    this._error = null;
    try {
      if (!bridge) {
        throw new Error(
          'Open a notebook whose kernel holds your embeddings and losses.'
        );
      }
      if (!sel.embeddings || !sel.losses) {
        throw new Error('Choose the embeddings and the losses first.');
      }
      this._result = null;
      this._selectedRegion = -1;
      this._changed.emit('result');
      this._setProgress('fetching', 0, 'checking the variables');
      const { n, d } = await Private.check(bridge, sel, signal);
      const fetched = await this._fetchAll(bridge, sel, n, d, signal);
      const fetchMs = performance.now() - started;

      this._setProgress('searching', 0, 'starting');
      const searchStarted = performance.now();
      const found: ISpotlight[] = [];
      let failure: string | undefined;
      const search = await findSpotlights(
        { embeddings: fetched.embeddings, losses: fetched.losses, n, d },
        {
          spotlightSize: options.spotlightSize,
          count: options.count,
          steps: options.steps,
          learningRate: options.learningRate,
          barrierScale: options.barrierScale,
          backend: options.backend
        },
        {
          signal,
          onProgress: p => this._onSearchProgress(p),
          // Show each region as soon as it is found, while the next is searched.
          onSpotlight: (spotlight, j) => {
            found.push(spotlight);
            if (j + 1 < options.count) {
              this._showPartial(fetched, found, sel, n, d, options);
            }
          }
        }
      ).catch(reason => {
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
      const summaryStarted = performance.now();
      const result = this._summarise(fetched, search, sel, n, d, options);
      if (failure) {
        result.failure = failure;
        result.warnings.unshift(failure);
      }
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
      this._selectedRegion = result.regions.length
        ? Math.min(Math.max(0, this._selectedRegion), result.regions.length - 1)
        : -1;
      this._setProgress(
        'done',
        1,
        `${result.regions.length} regions · ${search.backend}` +
          (failure ? ` · spotlight ${result.regions.length + 1} failed` : '')
      );
      this._changed.emit('result');
      return result;
    } catch (reason) {
      throw this._fail(reason, abort, 'the audit failed');
    } finally {
      if (this._abort === abort) {
        this._abort = null;
      }
    }
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
   * are recomputed from its saved centre and precision.
   *
   * @param findings - Findings of one audit (same names and parameters).
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
    const first = findings[0];
    const sel = { ...first.names };
    const abort = new AbortController();
    this._abort = abort;
    const started = performance.now();
    this._error = null;
    try {
      if (!bridge) {
        throw new Error(
          'Open the notebook whose kernel holds the data of these findings.'
        );
      }
      this._setProgress('fetching', 0, 'checking the variables');
      const { n, d } = await Private.check(bridge, sel, abort.signal);
      if (n !== first.n || d !== first.d) {
        throw new Error(
          `The saved findings were made on ${first.n.toLocaleString('en-US')} × ${first.d} embeddings but '${sel.embeddings}' is now ${n.toLocaleString('en-US')} × ${d}. Re-run the cells that compute it, or run a new audit.`
        );
      }
      const fetched = await this._fetchAll(bridge, sel, n, d, abort.signal);
      const fetchMs = performance.now() - started;
      const spotlights: ISpotlight[] = findings.map(f => {
        const center = base64ToFloat32(f.center);
        const k = kernelWeights(fetched.embeddings, n, d, center, f.precision);
        let K = 0;
        let support = 0;
        let kl = 0;
        for (let i = 0; i < n; i++) {
          K += k[i];
          kl += k[i] * fetched.losses[i];
          support += k[i] > 0 ? 1 : 0;
        }
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
      const search: ISpotlightResult = {
        version: 1,
        backend: first.backend as ISpotlightResult['backend'],
        backendReason: `reopened from the notebook (the search ran on ${first.backend} on ${first.date})`,
        n,
        d,
        parameters: {} as ISpotlightResult['parameters'],
        spotlights,
        timings: { totalMs: 0, perSpotlightMs: spotlights.map(() => 0) }
      };
      const result = this._summarise(
        fetched,
        search,
        sel,
        n,
        d,
        first.parameters
      );
      result.finishedAt = first.date;
      result.timings = {
        fetchMs,
        searchMs: 0,
        summaryMs: 0,
        totalMs: performance.now() - started
      };
      if (result.fingerprint !== first.fingerprint) {
        this._error = `The data changed since these findings were saved (fingerprint ${result.fingerprint}, saved ${first.fingerprint}); the regions are recomputed on the current data.`;
      }
      this._abort = null;
      this._result = result;
      this._selectedRegion = 0;
      this._setProgress(
        'done',
        1,
        `${spotlights.length} saved region(s) reopened`
      );
      this._changed.emit('result');
      return result;
    } catch (reason) {
      throw this._fail(reason, abort, 'reopening findings failed');
    } finally {
      if (this._abort === abort) {
        this._abort = null;
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
      d: result.d,
      fingerprint: result.fingerprint,
      timings: result.timings,
      transports: result.transports,
      regions: result.regions.map((r, j) => ({
        totalWeight: r.totalWeight,
        supportSize: r.supportSize,
        weightedLoss: r.weightedLoss,
        weightedLossOriginal: r.weightedLossOriginal,
        precision: result.search.spotlights[j].precision,
        guardSteps: result.search.spotlights[j].guardSteps,
        topIndices: r.topIndices
      })),
      ...(result.failure ? { failure: result.failure } : {})
    };
  }

  private async _fetchAll(
    bridge: KernelBridge,
    sel: ISelection,
    n: number,
    d: number,
    signal: AbortSignal
  ) {
    const roles = (
      ['embeddings', 'losses', 'labels', 'predictions', 'metadata'] as Role[]
    ).filter(r => sel[r]);
    const estimate = (role: Role) =>
      role === 'embeddings' ? n * d * 4 : n * 4;
    const total = roles.reduce((a, r) => a + estimate(r), 0);
    let done = 0;
    const out: Partial<
      Record<Role, { data: Float32Array | Int32Array; categories?: string[] }>
    > = {};
    const transports: Partial<Record<Role, Transport>> = {};
    for (const role of roles) {
      const name = sel[role]!;
      const array = await bridge.fetch(name, role, {
        maxBytes: this._settings.transferBudgetBytes,
        signal,
        onProgress: p => {
          this._setProgress(
            'fetching',
            total ? (done + p.bytes) / total : 1,
            fetchDetail(role, name, done, total, p)
          );
        }
      });
      done += array.data.byteLength;
      out[role] = { data: array.data, categories: array.categories };
      transports[role] = array.transport;
    }
    const embeddings = out.embeddings!.data as Float32Array;
    const losses = out.losses!.data as Float32Array;
    const labels = out.labels ? (out.labels.data as Int32Array) : null;
    let predictions: Int32Array | null = null;
    if (out.predictions) {
      predictions = Private.toLabelCodes(
        out.predictions.data,
        out.predictions.categories,
        out.labels?.categories
      );
    }
    return {
      embeddings,
      losses,
      labels,
      labelNames: out.labels?.categories ?? null,
      predictions,
      metadata: out.metadata ? (out.metadata.data as Int32Array) : null,
      metadataNames: out.metadata?.categories ?? null,
      transports
    };
  }

  private _summarise(
    fetched: Awaited<ReturnType<SpotlightModel['_fetchAll']>>,
    search: ISpotlightResult,
    names: ISelection,
    n: number,
    d: number,
    options: IAuditOptions
  ): IAuditResult {
    const regions = search.spotlights.map((s, j) =>
      summarizeRegion(j, s.kernelWeights, s.weightedLoss, {
        losses: fetched.losses,
        labels: fetched.labels,
        labelNames: fetched.labelNames,
        predictions: fetched.predictions,
        metadata: fetched.metadata,
        metadataNames: fetched.metadataNames
      })
    );
    const weights = search.spotlights.map(s => s.kernelWeights);
    const overlaps = weights.map(a => weights.map(b => regionOverlap(a, b)));
    const rows = sampleRows(n, this._settings.maxMapPoints, weights);
    const map = projectRows(fetched.embeddings, d, rows);
    return {
      names,
      n,
      d,
      ...fetched,
      search,
      regions,
      overlaps,
      map,
      fingerprint: fingerprint(fetched.embeddings, fetched.losses),
      warnings: Private.convergenceWarnings(search),
      complete: true,
      options,
      finishedAt: new Date().toISOString(),
      timings: { fetchMs: 0, searchMs: 0, summaryMs: 0, totalMs: 0 }
    };
  }

  /**
   * Show the regions found so far (the search goes on): summaries and a map
   * of what is known, marked incomplete.
   */
  private _showPartial(
    fetched: Awaited<ReturnType<SpotlightModel['_fetchAll']>>,
    spotlights: ISpotlight[],
    names: ISelection,
    n: number,
    d: number,
    options: IAuditOptions
  ): void {
    const partial: ISpotlightResult = {
      version: 1,
      backend:
        this._result?.search.backend ?? ('' as ISpotlightResult['backend']),
      backendReason: '',
      n,
      d,
      parameters: {} as ISpotlightResult['parameters'],
      spotlights: [...spotlights],
      timings: { totalMs: 0, perSpotlightMs: [] }
    };
    const result = this._summarise(fetched, partial, names, n, d, options);
    result.complete = false;
    this._result = result;
    if (this._selectedRegion < 0) {
      this._selectedRegion = 0;
    }
    this._changed.emit('result');
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
   * Leave the running state after a failure or a cancel, and show why.
   *
   * @param caught - What the run threw.
   * @param abort - The run's controller.
   * @param what - For the console, e.g. "the audit failed".
   * @returns The error to rethrow: a kernel restart during the run becomes
   *   an Error that says so, a plain cancel stays an AbortError.
   */
  private _fail(
    caught: unknown,
    abort: AbortController,
    what: string
  ): unknown {
    let reason = caught;
    if (this._abort === abort) {
      this._abort = null;
    }
    if (isAbortError(reason) && this._interruption) {
      reason = new Error(this._interruption);
    }
    this._interruption = null;
    if (!this._isDisposed) {
      if (isAbortError(reason)) {
        this._setProgress('idle', 0, 'cancelled');
      } else {
        console.error(`Spotlight: ${what}`, reason);
        this._error = (reason as Error).message ?? String(reason);
        this._setProgress('error', 0, '');
      }
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
    for (const role of ROLES) {
      const current = next[role];
      if (current && names.has(current)) {
        continue;
      }
      next[role] = Private.suggest(role, this._variables, next);
    }
    this._selection = next;
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
  private _variables: IVariable[] = [];
  private _listed = false;
  private _selection: ISelection = {
    embeddings: null,
    losses: null,
    labels: null,
    predictions: null,
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
  private _selectedRegion = -1;
  private _abort: AbortController | null = null;
  private _interruption: string | null = null;
  private _listAbort: AbortController | null = null;
  private _isDisposed = false;
  private _changed = new Signal<this, SpotlightModel.Change>(this);
}

/**
 * The panel's progress line while an array is fetched.
 *
 * @param role - The role being fetched.
 * @param name - Its variable name.
 * @param done - Bytes of the arrays fetched before this one.
 * @param total - Bytes of all the arrays of the audit (an estimate).
 * @param progress - This array's transfer progress.
 * @returns e.g. `embeddings 'emb' · 12.6 of 50.4 MB · 160 MB/s · via file`.
 */
export function fetchDetail(
  role: Role,
  name: string,
  done: number,
  total: number,
  progress: ITransferProgress
): string {
  const mb = (done + progress.bytes) / 1e6;
  return `${role} '${name}' · ${mb.toFixed(1)} of ${(total / 1e6).toFixed(1)} MB · ${progress.megabytesPerSecond.toFixed(0)} MB/s · via ${progress.transport}`;
}

/**
 * The data fingerprint saved with findings: CRC-32 (zlib) of the embeddings'
 * float32 bytes continued over the losses' float32 bytes, as 8 hex digits.
 * In Python: `zlib.crc32(L.tobytes(), zlib.crc32(X.tobytes()))`.
 *
 * @param embeddings - Row-major N × D float32 embeddings.
 * @param losses - N float32 losses.
 * @returns Lower-case hex, zero-padded to 8 digits.
 */
export function fingerprint(
  embeddings: Float32Array,
  losses: Float32Array
): string {
  const bytes = (a: Float32Array) =>
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const crc = CRC32.buf(bytes(losses), CRC32.buf(bytes(embeddings)));
  return (crc >>> 0).toString(16).padStart(8, '0');
}

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
    | 'waiting';

  /** Options to create a model. */
  export interface IOptions {
    /** Search options (defaults: the paper's). */
    options?: Partial<IAuditOptions>;
    /** Panel settings. */
    settings?: Partial<IPanelSettings>;
  }

  /** Default panel settings. */
  export const DEFAULT_SETTINGS: IPanelSettings = {
    transferBudgetBytes: 1024 * 1024 * 1024,
    maxMapPoints: 5000
  };
}

namespace Private {
  /**
   * Check the chosen variables fit together (lengths, dims) before fetching.
   */
  export function check(
    bridge: KernelBridge,
    sel: ISelection,
    signal: AbortSignal
  ): Promise<{ n: number; d: number }> {
    const { embeddings, losses, labels, predictions, metadata } = sel;
    return bridge.check(
      { embeddings, losses, labels, predictions, metadata },
      signal
    );
  }

  /**
   * Spotlights whose total weight stayed far above the spotlight size: the
   * schedule ends near K ≈ 1.05·S (d'Eon et al. 2021), so K > 1.5·1.05·S
   * means too few steps (or too small a learning rate) for this data.
   */
  export function convergenceWarnings(search: ISpotlightResult): string[] {
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
      if (s.totalWeight > 1.5 * 1.05 * size) {
        warnings.push(
          `Region ${j + 1} did not shrink to the spotlight size (K = ${s.totalWeight.toFixed(0)} vs S = ${size}): it is not a meaningful region. Run more steps (the paper used 5,000) or a larger learning rate.`
        );
      }
    });
    return warnings;
  }

  const HINTS: Record<Role, RegExp> = {
    embeddings: /emb|feat|hidden|repr|activ|latent/i,
    losses: /loss|nll|ce$|error/i,
    labels: /label|^y$|^y_|target|true/i,
    predictions: /pred|yhat|y_hat/i,
    examples: /image|img|text|example|raw|pixel/i,
    metadata: /meta|group|attr|domain/i
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
        v.roles.includes(role) &&
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
