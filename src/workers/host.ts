/**
 * The worker side of the audit pipeline: it keeps the data transferred to
 * it (the embeddings never go back to the page) and runs the stages that
 * read them — search, summaries (map and fingerprint once per data set),
 * reconstruction of saved findings, permutation test — with
 * {@link LocalAuditStages}. No DOM: it runs in a Web Worker
 * (audit.worker.ts) or, for tests, in the page's own thread.
 */
import { LocalAuditStages, projectEmbeddings } from '../pipeline';
import type { IAuditResult } from '../model';
import {
  defaultEnvironment,
  findSpotlights,
  findSpotlightsSharded,
  ISpotlight,
  ISpotlightResult,
  ShardTransportFactory
} from '../spotlight';
import type { IAuditData } from '../tokens';
import * as CRC32 from 'crc-32';
import {
  copySpotlight,
  ILoaded,
  serialiseError,
  spotlightBuffers,
  WireSearch,
  WireSummary,
  WORKER_PROTOCOL_VERSION,
  WorkerReply,
  WorkerRequest
} from './protocol';

/**
 * Answers {@link WorkerRequest}s: one instance per worker.
 */
export class AuditWorkerHost {
  /**
   * @param options - Where replies go.
   */
  constructor(options: AuditWorkerHost.IOptions) {
    this._post = options.post;
    this._progressIntervalMs = options.progressIntervalMs ?? 50;
    const shards = options.shards;
    this._stages = new LocalAuditStages({
      engine: (input, engineOptions, control, audit) => {
        const count = shards
          ? Math.min(
              input.n,
              searchWorkers(audit.workers, shards.hardwareThreads)
            )
          : 1;
        if (
          !shards ||
          !shardedBackend(engineOptions.backend ?? 'auto', shards.probeWebGL) ||
          !useShards(count, input.n, input.d, !!audit.workers)
        ) {
          return findSpotlights(input, engineOptions, control).then(result => ({
            ...result,
            backendReason: `${result.backendReason} · 1 search worker (the audit worker)`
          }));
        }
        return findSpotlightsSharded(input, engineOptions, control, {
          shards: count,
          transport: shards.transport
        }).then(result => ({
          ...result,
          backendReason: `${result.backendReason} · ${count} search workers`
        }));
      }
    });
  }

  /** The number of data sets held (for tests: released ones are gone). */
  get heldDataSets(): number {
    return this._data.size;
  }

  /**
   * Handle one request; replies go through `post`. Never throws: a failure
   * becomes an `error` reply.
   *
   * @param request - The request.
   */
  handle(request: WorkerRequest): void {
    if (request.version !== WORKER_PROTOCOL_VERSION) {
      this._reply({
        type: 'error',
        id: request.id,
        error: {
          name: 'Error',
          message: `The audit worker speaks protocol version ${WORKER_PROTOCOL_VERSION}, not ${request.version}: reload the page (JupyterLab was updated).`
        }
      });
      return;
    }
    if (request.type === 'release') {
      this._data.delete(request.dataId);
      this._blocks.delete(request.dataId);
      return;
    }
    const abort = new AbortController();
    this._running.set(request.id, abort);
    this._run(request, abort.signal).then(
      ([value, transfer]) =>
        this._reply({ type: 'done', id: request.id, value }, transfer),
      reason =>
        this._reply({
          type: 'error',
          id: request.id,
          error: serialiseError(reason, s =>
            this._wireSearch(request as { dataId: number }, s)
          )
        })
    );
  }

  /** Stop every stage (what a terminated worker would do) and free the data. */
  dispose(): void {
    for (const abort of this._running.values()) {
      abort.abort();
    }
    this._running.clear();
    this._data.clear();
    this._blocks.clear();
    this._disposed = true;
  }

  private async _run(
    request: Exclude<WorkerRequest, { type: 'release' }>,
    signal: AbortSignal
  ): Promise<[unknown, Transferable[]]> {
    try {
      if (request.type === 'rows') {
        this._rows(request);
        return [null, []];
      }
      if (request.type === 'load') {
        return [this._load(request.dataId, request), []];
      }
      const held = this._held(request.dataId);
      switch (request.type) {
        case 'search': {
          const search = await this._stages.search(held.data, request.options, {
            signal,
            onProgress: this._throttled(progress =>
              this._reply({ type: 'progress', id: request.id, progress })
            ),
            onSpotlight: (spotlight, index) => {
              const key = this._register(held, spotlight);
              const copy = { ...copySpotlight(spotlight), key };
              this._reply(
                { type: 'spotlight', id: request.id, index, spotlight: copy },
                spotlightBuffers(copy)
              );
            }
          });
          return this._sendSearch(held, search);
        }
        case 'summarise': {
          const { search: wire, hasMapLayout, ...rest } = request.input;
          const search: ISpotlightResult = {
            ...wire,
            spotlights: wire.spotlights.map(s =>
              typeof s === 'number' ? this._spotlight(held, s) : s
            )
          };
          const result = await this._stages.summarise(
            { ...rest, data: held.data, search },
            signal
          );
          const summary = summaryOf(result);
          if (hasMapLayout) {
            delete summary.mapLayout;
          }
          return [summary, []];
        }
        case 'reconstruct': {
          const search = await this._stages.reconstruct(
            request.findings,
            held.data,
            signal
          );
          return this._sendSearch(held, search);
        }
        case 'layout': {
          const send = this._throttled<[number, string]>(([fraction, stage]) =>
            this._reply({
              type: 'layoutProgress',
              id: request.id,
              fraction,
              stage
            })
          );
          const layout = await this._stages.layout(held.data, request.method, {
            signal,
            onProgress: (fraction, stage) => send([fraction, stage])
          });
          // A copy: the worker keeps its layout for a later request.
          const xy = layout.xy.slice();
          return [{ ...layout, xy }, [xy.buffer as ArrayBuffer]];
        }
        case 'nullDistribution': {
          const nulls = await this._stages.nullDistribution(
            held.data,
            request.options,
            {
              signal,
              onProgress: (done, total) =>
                this._reply({
                  type: 'nullProgress',
                  id: request.id,
                  done,
                  total
                })
            }
          );
          return [nulls, [nulls.buffer as ArrayBuffer]];
        }
      }
    } finally {
      this._running.delete(request.id);
    }
  }

  /**
   * Copy a block of X into the embeddings being assembled for a data set
   * (allocated with the first block).
   *
   * @param request - The block.
   * @throws Error for a block outside X; a RangeError naming the size when
   *   the worker cannot allocate X.
   */
  private _rows(request: Extract<WorkerRequest, { type: 'rows' }>): void {
    const { dataId, start, total } = request;
    const block = new Float32Array(request.data);
    let x = this._blocks.get(dataId);
    if (!x) {
      try {
        x = new Float32Array(total);
      } catch (error) {
        throw new RangeError(
          `The audit worker could not allocate ${((4 * total) / 2 ** 30).toFixed(2)} GiB for the embeddings (${error instanceof Error ? error.message : String(error)}): sample rows, reduce dimensions (the components option) or close other tabs.`
        );
      }
      this._blocks.set(dataId, x);
    }
    if (x.length !== total || start < 0 || start + block.length > total) {
      throw new Error(
        `A block of ${block.length} embedding values at ${start} does not fit ${total} values: fetch the data again.`
      );
    }
    x.set(block, start);
  }

  /**
   * Keep a data set; apply a saved projection to its embeddings first
   * (their CRC-32 is taken before, on the N × D values the kernel has).
   */
  private _load(
    dataId: number,
    request: Extract<WorkerRequest, { type: 'load' }>
  ): ILoaded {
    let data: IAuditData = request.data;
    if (!data.embeddings) {
      // X came before, in `rows` blocks.
      const x = this._blocks.get(dataId);
      this._blocks.delete(dataId);
      if (!x || x.length !== data.n * data.d) {
        throw new Error(
          `The audit worker holds ${x?.length ?? 0} of the ${data.n * data.d} embedding values of ${data.n} × ${data.d}: fetch the data again.`
        );
      }
      data = { ...data, embeddings: x };
    }
    const saved = request.projection;
    let sourceChecksum: number | null = null;
    if (saved) {
      const source = data.embeddings!;
      sourceChecksum =
        CRC32.buf(
          new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
        ) >>> 0;
      data = {
        ...data,
        d: saved.components,
        embeddings: projectEmbeddings(source, data.n, saved),
        projection: {
          ...saved,
          explainedVarianceRatio: null,
          sourceChecksum
        }
      };
    }
    if (!data.embeddings || data.embeddings.length !== data.n * data.d) {
      throw new Error(
        `The audit worker received ${data.embeddings?.length ?? 0} embedding values for ${data.n} × ${data.d}: fetch the data again.`
      );
    }
    this._data.set(dataId, { data, spotlights: new Map(), keys: new Map() });
    return { d: data.d, sourceChecksum };
  }

  private _held(dataId: number): Private.IHeld {
    const held = this._data.get(dataId);
    if (!held) {
      throw new Error(
        `The audit worker no longer holds data set ${dataId} (it was released or the worker restarted): run the audit again.`
      );
    }
    return held;
  }

  private _spotlight(held: Private.IHeld, key: number): ISpotlight {
    const s = held.spotlights.get(key);
    if (!s) {
      throw new Error(
        `The audit worker has no spotlight ${key}: run the audit again.`
      );
    }
    return s;
  }

  private _register(held: Private.IHeld, s: ISpotlight): number {
    let key = held.keys.get(s);
    if (key === undefined) {
      key = ++this._lastKey;
      held.keys.set(s, key);
      held.spotlights.set(key, s);
    }
    return key;
  }

  /**
   * A search for the page: spotlights it was sent already go by key, new
   * ones as copies (transferred) with their key.
   */
  private _sendSearch(
    held: Private.IHeld,
    search: ISpotlightResult
  ): [WireSearch, Transferable[]] {
    const transfer: Transferable[] = [];
    const spotlights = search.spotlights.map(s => {
      const known = held.keys.get(s);
      if (known !== undefined) {
        return known;
      }
      const key = this._register(held, s);
      const copy = { ...copySpotlight(s), key };
      transfer.push(...spotlightBuffers(copy));
      return copy;
    });
    return [{ ...search, spotlights }, transfer];
  }

  /** {@link _sendSearch} for a failed search's partial result. */
  private _wireSearch(
    request: { dataId: number },
    search: ISpotlightResult
  ): WireSearch {
    const held = this._data.get(request.dataId);
    if (!held) {
      return { ...search, spotlights: search.spotlights.map(copySpotlight) };
    }
    return this._sendSearch(held, search)[0];
  }

  private _throttled<T>(send: (value: T) => void): (value: T) => void {
    let last = -Infinity;
    return value => {
      const now = Date.now();
      if (now - last >= this._progressIntervalMs) {
        last = now;
        send(value);
      }
    };
  }

  private _reply(reply: WorkerReply, transfer: Transferable[] = []): void {
    if (!this._disposed) {
      this._post(reply, transfer);
    }
  }

  private _post: AuditWorkerHost.PostReply;
  private _progressIntervalMs: number;
  private _stages: LocalAuditStages;
  private _data = new Map<number, Private.IHeld>();
  /** Embeddings being assembled from `rows` blocks, by data id. */
  private _blocks = new Map<number, Float32Array>();
  private _running = new Map<number, AbortController>();
  private _lastKey = 0;
  private _disposed = false;
}

/** The AuditWorkerHost's namespace. */
export namespace AuditWorkerHost {
  /** Sends a reply, moving the buffers in `transfer`. */
  export type PostReply = (
    reply: WorkerReply,
    transfer: Transferable[]
  ) => void;

  /** Options to create a host. */
  export interface IOptions {
    /** Where replies go (in a worker: `self.postMessage`). */
    post: PostReply;
    /** Least time between two progress replies, in ms (default 50). */
    progressIntervalMs?: number;
    /**
     * Search with X split by rows over shards (the sharded engine), each
     * behind `transport` (Web Workers in the browser), on the `wasm` and
     * `cpu` backends; WebGL (chosen, or `auto` on a hardware GPU) runs the
     * single engine here. Without it every search runs here.
     */
    shards?: {
      /** Makes the transport of shard i of S. */
      transport: ShardTransportFactory;
      /** The machine's hardware threads (`navigator.hardwareConcurrency`). */
      hardwareThreads: number;
      /** Probes WebGL (default: the engine's probe, through OffscreenCanvas). */
      probeWebGL?: () => ReturnType<typeof defaultEnvironment.probeWebGL>;
    };
  }
}

/**
 * The number of search workers (shards) for the `workers` option.
 *
 * @param workers - The option: a whole number ≥ 1, or 0 for automatic.
 * @param hardwareThreads - The machine's hardware threads (≥ 1; a missing
 *   value counts as 2).
 * @returns `workers` when it is ≥ 1, else hardware threads − 1, at least 1
 *   (one thread stays with the page and the coordinator).
 */
export function searchWorkers(
  workers: number | undefined,
  hardwareThreads: number
): number {
  if (workers && workers >= 1) {
    return Math.floor(workers);
  }
  const threads =
    Number.isFinite(hardwareThreads) && hardwareThreads >= 1
      ? hardwareThreads
      : 2;
  return Math.max(1, Math.floor(threads) - 1);
}

/**
 * Below this many embedding values (N·D) an automatic number of workers
 * searches in the audit worker alone: a step reads X in about a millisecond
 * there, and a round trip to the shards' workers each step would cost more
 * than it saves.
 */
export const SHARD_MIN_VALUES = 4_000_000;

/**
 * Whether to split a search over shard workers.
 *
 * @param count - The search workers (≥ 1).
 * @param n - N.
 * @param d - D.
 * @param chosen - Whether the user chose the number (the `workers` option
 *   ≥ 1) rather than the automatic one.
 * @returns False for one worker (the audit worker searches alone: no round
 *   trips, no second copy of X), and for an automatic number on small data
 *   (N·D < {@link SHARD_MIN_VALUES}); true otherwise.
 */
export function useShards(
  count: number,
  n: number,
  d: number,
  chosen: boolean
): boolean {
  if (count < 2) {
    return false;
  }
  return chosen || n * d >= SHARD_MIN_VALUES;
}

/**
 * Whether a backend choice runs on the shards: `wasm` and `cpu` do; `webgl`
 * does not; `auto` does unless WebGL has a hardware renderer (the engine's
 * rule in backend.ts: never WebGL on a software renderer).
 *
 * @param backend - The choice.
 * @param probe - Probes WebGL (default: the engine's, cached).
 * @returns True for the sharded engine.
 */
export function shardedBackend(
  backend: string,
  probe: () => ReturnType<typeof defaultEnvironment.probeWebGL> = () =>
    defaultEnvironment.probeWebGL()
): boolean {
  if (backend === 'webgl') {
    return false;
  }
  if (backend !== 'auto') {
    return true;
  }
  const info = probe();
  return typeof info === 'string' || info.software;
}

/**
 * The part of a result the page does not have: the summaries, without the
 * data arrays and the search (the page holds both).
 *
 * @param result - A result from `assembleResult`.
 * @returns The summary to send.
 */
export function summaryOf(result: IAuditResult): WireSummary {
  const summary: Partial<IAuditResult> = { ...result };
  for (const key of PAGE_FIELDS) {
    delete summary[key];
  }
  return summary as WireSummary;
}

/** The fields of a result that the page has already. */
const PAGE_FIELDS = [
  'embeddings',
  'losses',
  'referenceLosses',
  'referencePredictions',
  'labels',
  'labelNames',
  'predictions',
  'metadata',
  'metadataNames',
  'metadataTable',
  'transports',
  'search',
  'names'
] as const satisfies readonly (keyof IAuditResult)[];

namespace Private {
  /** A data set the worker holds, and the spotlights found on it. */
  export interface IHeld {
    data: IAuditData;
    spotlights: Map<number, ISpotlight>;
    keys: Map<ISpotlight, number>;
  }
}
