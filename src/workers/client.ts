/**
 * The page side of the audit pipeline in a Web Worker: the check and the
 * fetch go through the notebook's kernel bridge here; the fetched
 * embeddings are then transferred (not copied) to the audit worker, which
 * runs every stage that reads them. The page keeps the small per-example
 * arrays (losses, labels, …) and receives progress, each spotlight as it is
 * found (its arrays transferred) and the summaries.
 */
import type { KernelBridge } from '../kernel/bridge';
import { abortError } from '../kernel/errors';
import type { IAuditResult } from '../model';
import type { IFinding } from '../notebook/cells';
import type { IMapLayout, MapMethod } from '../summaries/projection';
import { DefaultAuditPipeline } from '../pipeline';
import type {
  ISpotlight,
  ISpotlightProgress,
  ISpotlightResult
} from '../spotlight';
import type {
  IAuditData,
  IAuditOptions,
  IAuditPipeline,
  IFetchProgress,
  IProjectionBasis,
  ISelection,
  ISummariseInput
} from '../tokens';
import {
  deserialiseError,
  ILoaded,
  LOAD_BLOCK_VALUES,
  WireSearch,
  WireSpotlight,
  WireSummary,
  WORKER_PROTOCOL_VERSION,
  WorkerReply,
  WorkerRequest
} from './protocol';

/** What the pipeline needs of a worker (a `Worker`, or a test's stand-in). */
export interface IWorkerLike {
  /** Send a request, moving the buffers in `transfer`. */
  postMessage(message: unknown, transfer: Transferable[]): void;
  /** Receives the replies. */
  onmessage: ((event: MessageEvent) => void) | null;
  /** Called when the worker fails: an uncaught error, or it could not start. */
  onerror: ((event: ErrorEvent) => void) | null;
  /** Called when a reply cannot be read. */
  onmessageerror?: ((event: MessageEvent) => void) | null;
  /** Stop the worker at once. */
  terminate(): void;
}

/**
 * An audit pipeline whose stages that read the embeddings run in a Web
 * Worker (item 2 of issue 11): the page never holds a second copy of X.
 *
 * A cancel stops the worker at once (`terminate`, no waiting for the
 * engine's next step) and frees what it held; the next stage starts a new
 * one. A worker that dies (out of memory, a crash) fails the pending stages
 * with an error naming the size of the data and what to do.
 */
export class WorkerAuditPipeline implements IAuditPipeline {
  /**
   * @param options - The bridge and how to start workers.
   */
  constructor(options: WorkerAuditPipeline.IOptions) {
    this._local = new DefaultAuditPipeline(options.bridge);
    this._spawn = options.spawn;
    this._block = options.loadBlockValues ?? LOAD_BLOCK_VALUES;
  }

  /** Whether a worker is running (started and not stopped). */
  get hasWorker(): boolean {
    return this._worker !== null;
  }

  /** Whether the pipeline is disposed. */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * {@inheritDoc IAuditPipeline.check}
   *
   * Starts the worker meanwhile, so that it is ready for the fetched data.
   */
  async check(
    names: ISelection,
    signal: AbortSignal
  ): Promise<{ n: number; d: number }> {
    this._ensureWorker();
    return this._local.check(names, signal);
  }

  /**
   * {@inheritDoc IAuditPipeline.fetch}
   *
   * The returned data has `embeddings: null`: they were transferred to the
   * worker, which applied a saved projection (and took the source
   * embeddings' checksum) there.
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
    const saved = options.projection ?? null;
    if (saved && saved.d !== shape.d) {
      throw new Error(
        `The saved projection applies to embeddings of D = ${saved.d} dimensions but '${names.embeddings}' has D = ${shape.d}. Re-run the cells that compute it, or run a new audit.`
      );
    }
    const fetched = await this._local.fetch(names, shape, {
      ...options,
      components: saved ? 0 : options.components,
      projection: null
    });
    const embeddings = fetched.embeddings!;
    const dataId = ++this._lastId;
    const size = Private.sizeOf(fetched.n, fetched.d);
    let load: IAuditData = fetched;
    let moved: ArrayBuffer[] = [embeddings.buffer as ArrayBuffer];
    const step = this._block;
    if (embeddings.length > step) {
      // Too large for one message: copied and moved block by block.
      try {
        for (let at = 0; at < embeddings.length; at += step) {
          const block = embeddings.slice(at, at + step);
          await this._call(
            {
              type: 'rows',
              version: WORKER_PROTOCOL_VERSION,
              id: 0,
              dataId,
              start: at,
              total: embeddings.length,
              data: block.buffer as ArrayBuffer
            },
            [block.buffer as ArrayBuffer],
            options.signal,
            `loading ${size}`
          );
        }
      } catch (reason) {
        this._release(dataId);
        throw reason;
      }
      load = { ...fetched, embeddings: null };
      moved = [];
    }
    const loaded = (await this._call(
      {
        type: 'load',
        version: WORKER_PROTOCOL_VERSION,
        id: 0,
        dataId,
        data: load,
        projection: saved
      },
      moved,
      options.signal,
      `loading ${size}`
    )) as ILoaded;
    const data: IAuditData = {
      ...fetched,
      embeddings: null,
      d: loaded.d,
      projection: saved
        ? {
            ...saved,
            explainedVarianceRatio: null,
            sourceChecksum: loaded.sourceChecksum!
          }
        : fetched.projection
    };
    this._held.set(data, {
      dataId,
      size,
      generation: this._generation,
      spotlights: new Map()
    });
    return data;
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
    const held = this._heldOf(data);
    const wire = (await this._call(
      {
        type: 'search',
        version: WORKER_PROTOCOL_VERSION,
        id: 0,
        dataId: held.dataId,
        options
      },
      [],
      control.signal,
      `searching ${held.size}`,
      reply => {
        if (reply.type === 'progress') {
          control.onProgress?.(reply.progress);
        } else if (reply.type === 'spotlight') {
          const s = this._readSpotlight(held, reply.spotlight);
          control.onSpotlight?.(s, reply.index);
        }
      },
      held
    )) as WireSearch;
    return this._readSearch(held, wire);
  }

  /** {@inheritDoc IAuditPipeline.summarise} */
  async summarise(
    input: ISummariseInput,
    signal: AbortSignal
  ): Promise<IAuditResult> {
    const { data, search, ...rest } = input;
    const held = this._heldOf(data);
    const summary = (await this._call(
      {
        type: 'summarise',
        version: WORKER_PROTOCOL_VERSION,
        id: 0,
        dataId: held.dataId,
        input: {
          ...rest,
          search: this._wireSearch(held, search),
          hasMapLayout: held.mapLayout !== undefined
        }
      },
      [],
      signal,
      `summarising ${held.size}`,
      undefined,
      held
    )) as WireSummary;
    held.mapLayout = summary.mapLayout ?? held.mapLayout;
    return {
      ...summary,
      mapLayout: held.mapLayout,
      names: input.names,
      embeddings: null,
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
      search
    };
  }

  /** {@inheritDoc IAuditPipeline.reconstruct} */
  async reconstruct(
    findings: IFinding[],
    data: IAuditData,
    signal: AbortSignal
  ): Promise<ISpotlightResult> {
    const held = this._heldOf(data);
    const wire = (await this._call(
      {
        type: 'reconstruct',
        version: WORKER_PROTOCOL_VERSION,
        id: 0,
        dataId: held.dataId,
        findings
      },
      [],
      signal,
      `reopening findings on ${held.size}`,
      undefined,
      held
    )) as WireSearch;
    return this._readSearch(held, wire);
  }

  /** {@inheritDoc IAuditPipeline.nullDistribution} */
  async nullDistribution(
    data: IAuditData,
    options: IAuditOptions,
    control: {
      signal: AbortSignal;
      onProgress?: (done: number, total: number) => void;
    }
  ): Promise<Float64Array> {
    const held = this._heldOf(data);
    return (await this._call(
      {
        type: 'nullDistribution',
        version: WORKER_PROTOCOL_VERSION,
        id: 0,
        dataId: held.dataId,
        options
      },
      [],
      control.signal,
      `testing the regions' significance on ${held.size}`,
      reply => {
        if (reply.type === 'nullProgress') {
          control.onProgress?.(reply.done, reply.total);
        }
      },
      held
    )) as Float64Array;
  }

  /**
   * {@inheritDoc IAuditPipeline.layout}
   *
   * Runs in the audit worker, on the embeddings it holds (the PCA layout
   * is the one the summaries brought).
   */
  async layout(
    data: IAuditData,
    method: MapMethod,
    control: {
      signal: AbortSignal;
      onProgress?: (fraction: number, stage: string) => void;
    }
  ): Promise<IMapLayout> {
    const held = this._heldOf(data);
    if (method === 'pca' && held.mapLayout) {
      return held.mapLayout;
    }
    return (await this._call(
      {
        type: 'layout',
        version: WORKER_PROTOCOL_VERSION,
        id: 0,
        dataId: held.dataId,
        method
      },
      [],
      control.signal,
      `laying out the map of ${held.size} (${method.toUpperCase()})`,
      reply => {
        if (reply.type === 'layoutProgress') {
          control.onProgress?.(reply.fraction, reply.stage);
        }
      },
      held
    )) as IMapLayout;
  }

  /** {@inheritDoc IAuditPipeline.release} */
  release(data: IAuditData): void {
    const held = this._held.get(data);
    if (!held) {
      return;
    }
    this._held.delete(data);
    if (held.generation === this._generation) {
      this._release(held.dataId);
    }
  }

  /**
   * Tell the worker to drop a data set (or the blocks of one being loaded).
   *
   * @param dataId - The data set's id.
   */
  private _release(dataId: number): void {
    this._worker?.postMessage(
      {
        type: 'release',
        version: WORKER_PROTOCOL_VERSION,
        id: 0,
        dataId
      } satisfies WorkerRequest,
      []
    );
  }

  /** {@inheritDoc IAuditPipeline.dispose} */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._stop(() => abortError('The audit'));
  }

  /** Start the worker unless one runs. */
  private _ensureWorker(): IWorkerLike {
    if (this._isDisposed) {
      throw new Error('The audit pipeline was disposed: reopen the panel.');
    }
    if (this._worker) {
      return this._worker;
    }
    const worker = this._spawn();
    worker.onmessage = event => this._onReply(event.data as WorkerReply);
    worker.onerror = event => {
      event.preventDefault?.();
      this._onDeath(event.message || '');
    };
    worker.onmessageerror = () =>
      this._onDeath('a reply of the audit worker could not be read');
    this._worker = worker;
    return worker;
  }

  /**
   * Send a request and wait for its `done` (or `error`).
   *
   * @param request - The request (its id is set here).
   * @param transfer - Buffers to move to the worker.
   * @param signal - Cancels: the worker is stopped at once.
   * @param what - What the stage does, for a worker's death.
   * @param onReply - Receives the progress and spotlight replies.
   * @param held - The data set the request reads, when it has one.
   */
  private _call(
    request: WorkerRequest,
    transfer: Transferable[],
    signal: AbortSignal,
    what: string,
    onReply?: (reply: WorkerReply) => void,
    held?: Private.IHeld
  ): Promise<unknown> {
    if (signal.aborted) {
      return Promise.reject(abortError('The audit'));
    }
    if (held && held.generation !== this._generation) {
      return Promise.reject(
        new Error(
          'The audit worker was stopped (cancelled or failed) since these data were fetched: run the audit again.'
        )
      );
    }
    let worker: IWorkerLike;
    try {
      worker = this._ensureWorker();
    } catch (reason) {
      return Promise.reject(reason);
    }
    const id = ++this._lastId;
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = () => {
        // The engine sees a cancel only between steps; a step on large data
        // takes seconds. Stop the worker now: it holds nothing the page
        // needs once the stage is cancelled.
        this._stop(() => abortError('The audit'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this._pending.set(id, {
        what,
        onReply,
        resolve: value => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject: reason => {
          signal.removeEventListener('abort', onAbort);
          reject(reason);
        }
      });
      try {
        worker.postMessage({ ...request, id }, transfer);
      } catch (reason) {
        this._pending.get(id)?.reject(reason);
        this._pending.delete(id);
      }
    });
  }

  private _onReply(reply: WorkerReply): void {
    const pending = this._pending.get(reply.id);
    if (!pending) {
      return;
    }
    switch (reply.type) {
      case 'done':
        this._pending.delete(reply.id);
        pending.resolve(reply.value);
        break;
      case 'error': {
        this._pending.delete(reply.id);
        const error = deserialiseError(reply.error, wire =>
          this._readSearchOfAny(wire)
        );
        pending.reject(Private.withSize(error, pending.what));
        break;
      }
      default:
        try {
          pending.onReply?.(reply);
        } catch (reason) {
          console.error('Spotlight: a progress handler failed', reason);
        }
    }
  }

  /** The worker died: fail what it was doing, say why and what to do. */
  private _onDeath(message: string): void {
    const doing = [...this._pending.values()].map(p => p.what);
    this._stop(what => {
      const error = new Error(
        `The audit worker stopped while ${what}${message ? ` (${message})` : ''}: it most likely ran out of memory. ${Private.ADVICE}`
      );
      error.name = 'AuditWorkerError';
      return error;
    });
    if (!doing.length) {
      console.error(
        `Spotlight: the audit worker stopped while idle${message ? ` (${message})` : ''}.`
      );
    }
  }

  /** Terminate the worker and reject what is pending. */
  private _stop(reason: (what: string) => Error): void {
    const worker = this._worker;
    this._worker = null;
    if (worker) {
      // What the worker held is gone with it.
      this._generation++;
      worker.onmessage = null;
      worker.onerror = null;
      worker.onmessageerror = null;
      worker.terminate();
    }
    const pending = [...this._pending.values()];
    this._pending.clear();
    for (const p of pending) {
      p.reject(reason(p.what));
    }
  }

  private _heldOf(data: IAuditData): Private.IHeld {
    const held = this._held.get(data);
    if (!held) {
      throw new Error(
        'These data were not fetched by this audit pipeline (or were released): run the audit again.'
      );
    }
    return held;
  }

  /** A spotlight from the worker, remembered by its key. */
  private _readSpotlight(
    held: Private.IHeld,
    wire: ISpotlight & { key?: number }
  ): ISpotlight {
    const { key, ...spotlight } = wire;
    if (key !== undefined) {
      const known = held.spotlights.get(key);
      if (known) {
        return known;
      }
      held.spotlights.set(key, spotlight);
      this._keys.set(spotlight, key);
    }
    return spotlight;
  }

  private _readSearch(held: Private.IHeld, wire: WireSearch): ISpotlightResult {
    return {
      ...wire,
      spotlights: wire.spotlights.map(s => {
        if (typeof s !== 'number') {
          return this._readSpotlight(held, s);
        }
        const known = held.spotlights.get(s);
        if (!known) {
          throw new Error(
            `The audit worker named spotlight ${s}, which the page never received: run the audit again.`
          );
        }
        return known;
      })
    };
  }

  /** A failed search's partial result, whichever data set it came from. */
  private _readSearchOfAny(wire: WireSearch): ISpotlightResult {
    for (const held of this._held.values()) {
      if (
        wire.spotlights.every(
          s => typeof s !== 'number' || held.spotlights.has(s)
        )
      ) {
        return this._readSearch(held, wire);
      }
    }
    return {
      ...wire,
      spotlights: wire.spotlights.filter(
        (s): s is ISpotlight => typeof s !== 'number'
      )
    };
  }

  /** A search for the worker: spotlights it sent go back by their key. */
  private _wireSearch(
    held: Private.IHeld,
    search: ISpotlightResult
  ): WireSearch {
    return {
      ...search,
      spotlights: search.spotlights.map(
        (s): WireSpotlight => this._keys.get(s) ?? s
      )
    };
  }

  private _local: DefaultAuditPipeline;
  private readonly _block: number;
  private _spawn: () => IWorkerLike;
  private _worker: IWorkerLike | null = null;
  /** Counts the workers stopped: data belong to one worker's life. */
  private _generation = 0;
  private _lastId = 0;
  private _pending = new Map<number, Private.IPending>();
  private _held = new Map<IAuditData, Private.IHeld>();
  private _keys = new WeakMap<ISpotlight, number>();
  private _isDisposed = false;
}

/** The WorkerAuditPipeline's namespace. */
export namespace WorkerAuditPipeline {
  /** Options to create a pipeline. */
  export interface IOptions {
    /** The notebook's kernel bridge (borrowed, not disposed). */
    bridge: KernelBridge;
    /**
     * Start an audit worker: `spawnAuditWorker` (workers/spawn.ts) in
     * JupyterLab, an in-process stand-in in tests.
     */
    spawn: () => IWorkerLike;
    /**
     * The most embedding values moved in one message (default
     * `LOAD_BLOCK_VALUES`); larger X goes in blocks.
     */
    loadBlockValues?: number;
  }
}

namespace Private {
  /** A request waiting for its reply. */
  export interface IPending {
    what: string;
    onReply?: (reply: WorkerReply) => void;
    resolve: (value: unknown) => void;
    reject: (reason: unknown) => void;
  }

  /** A data set the worker holds, as the page knows it. */
  export interface IHeld {
    dataId: number;
    /** E.g. "100,000 × 768 float32 embeddings (307 MB)". */
    size: string;
    /** The worker that holds it (see `_generation`). */
    generation: number;
    /** The spotlights received, by key. */
    spotlights: Map<number, ISpotlight>;
    /** The map layout, once a summary brought it (sent once per data set). */
    mapLayout?: IMapLayout;
  }

  /** What to do when the worker runs out of memory. */
  export const ADVICE =
    'Close other tabs or notebooks to free memory, or search on fewer dimensions (the option Principal components) or on a sample of the rows; then run the audit again.';

  /**
   * The data's size for messages.
   *
   * @param n - N.
   * @param d - D.
   * @returns E.g. "100,000 × 768 float32 embeddings (307 MB)".
   */
  export function sizeOf(n: number, d: number): string {
    const mb = (n * d * 4) / 1e6;
    const bytes =
      mb >= 1000 ? `${(mb / 1000).toFixed(1)} GB` : `${mb.toFixed(0)} MB`;
    return `${n.toLocaleString('en-US')} × ${d.toLocaleString('en-US')} float32 embeddings (${bytes})`;
  }

  /**
   * An allocation failure in the worker, with the size that failed and what
   * to do; other errors unchanged.
   *
   * @param error - What the stage threw.
   * @param what - What the stage did, with the size.
   * @returns The error to show.
   */
  export function withSize(error: Error, what: string): Error {
    if (
      error.name === 'RangeError' &&
      /alloc|memory|array length|buffer/i.test(error.message)
    ) {
      const out = new Error(
        `The audit worker ran out of memory while ${what} (${error.message}). ${ADVICE}`
      );
      out.name = 'AuditWorkerError';
      return out;
    }
    return error;
  }
}
