/**
 * The coordinator's side of the sharded engine (issue 11): a pool of shards
 * (shard.ts), each behind a transport, that together hold X split by rows.
 * `ShardPool.moments` asks every shard for the values of blocks.ts's tree
 * nodes within its rows at (μ, τ) and rebuilds the root, the moments of all
 * of X, with the single kernel's additions: so a search over a pool gives the
 * single kernel's float64 moments for any number of shards split along leaf
 * boundaries.
 *
 * Transports: `InProcessShardTransport` (same thread; jest and small data),
 * nodeShards.ts's `NodeWorkerTransport` (Node `worker_threads`, the CLI), and
 * the page's Web Worker transport, all behind `IShardTransport`: post a
 * message with a transfer list, hear replies and failures, terminate.
 */
import { createAbortError, SpotlightRunError } from './errors';
import { foldNodes, IRowTree, rowTree } from './blocks';
import { IKernelStats } from './objective';
import {
  fromWire,
  IShardEnvelope,
  IShardScan,
  SHARD_PROTOCOL_VERSION,
  shardBounds,
  ShardLayout,
  ShardReply,
  ShardRequest,
  ShardResponse,
  ShardWorker
} from './shard';
import { IShellBounds, packedWidth } from './shellKernel';
import { paddedDimension } from './wasmKernel';

/**
 * A channel to one shard: a worker, a port, or the same thread. Messages are
 * structured-clonable plain objects; the buffers in `transfer` are moved (the
 * sender must not use them afterwards).
 */
export interface IShardTransport {
  /**
   * Send a request.
   *
   * @param envelope - The request and its id.
   * @param transfer - Buffers to move with it.
   */
  post(envelope: IShardEnvelope, transfer: ArrayBuffer[]): void;
  /**
   * Register the listeners (called once, before the first `post`).
   *
   * @param onResponse - Called with every response.
   * @param onFailure - Called once when the shard can no longer answer (the
   *   worker crashed, ran out of memory or exited), with a reason in words.
   */
  listen(
    onResponse: (response: ShardResponse) => void,
    onFailure: (reason: string) => void
  ): void;
  /** Stop the shard now (a worker is terminated); idempotent. */
  terminate(): void;
}

/** Makes the transport of shard `index` (0-based) of `count`. */
export type ShardTransportFactory = (
  index: number,
  count: number
) => IShardTransport;

/**
 * A transport to a `ShardWorker` in this thread. Messages are copied with
 * `structuredClone` where the platform has it (moving transferred buffers,
 * as a worker would), so code that reuses a transferred buffer fails here
 * too. Replies arrive on a later microtask.
 */
export class InProcessShardTransport implements IShardTransport {
  /** The shard (tests reach into it to inject failures). */
  readonly shard = new ShardWorker();

  /**
   * Send a request to the shard.
   *
   * @param envelope - The request.
   * @param transfer - Buffers to move.
   */
  post(envelope: IShardEnvelope, transfer: ArrayBuffer[]): void {
    if (this._terminated) {
      return;
    }
    const message = Private.clone(envelope, transfer);
    this._tail = this._tail.then(async () => {
      if (this._terminated) {
        return;
      }
      try {
        const { response, transfer: back } = await this.shard.handle(message);
        if (!this._terminated) {
          this._onResponse?.(Private.clone(response, back));
        }
      } catch (error) {
        // What an uncaught exception does to a worker: it dies.
        this.fail(error instanceof Error ? error.message : String(error));
        this.terminate();
      }
    });
  }

  /**
   * Register the listeners.
   *
   * @param onResponse - Responses.
   * @param onFailure - Failures (`fail`, for tests).
   */
  listen(
    onResponse: (response: ShardResponse) => void,
    onFailure: (reason: string) => void
  ): void {
    this._onResponse = onResponse;
    this._onFailure = onFailure;
  }

  /**
   * Make the shard fail as a crashed worker would (for tests).
   *
   * @param reason - The reason reported.
   */
  fail(reason: string): void {
    if (!this._terminated) {
      this._onFailure?.(reason);
    }
  }

  /** Drop the shard; idempotent. */
  terminate(): void {
    this._terminated = true;
    this.shard.dispose();
  }

  /** Whether `terminate` ran. */
  get terminated(): boolean {
    return this._terminated;
  }

  private _terminated = false;
  private _tail = Promise.resolve();
  private _onResponse: ((response: ShardResponse) => void) | null = null;
  private _onFailure: ((reason: string) => void) | null = null;
}

/** Options of `ShardPool.create`. */
export interface IShardPoolOptions {
  /** N, rows in all. */
  n: number;
  /** D. */
  d: number;
  /**
   * S, the number of shards (≥ 1; at most N are made), split as
   * `shardBounds(N, S)`; or the rows of each shard (positive, summing to N).
   */
  shards: number | number[];
  /** Makes each shard's transport (default: in-process). */
  transport?: ShardTransportFactory;
  /**
   * Where the shards keep their rows: `wasm` (WASM memory, either backend
   * can run; the default) or `cpu` (plain buffers, the `cpu` backend only).
   */
  layout?: ShardLayout;
  /** Exact shell evaluation in each shard (default true). */
  pruning?: boolean;
}

/**
 * X split by rows over S shards, and the coordinator's view of them. Made by
 * `ShardPool.create`; fill it with `load` or `loadRows`, then hand it to
 * `findSpotlightsInShards` (engine.ts). Whoever creates a pool disposes it:
 * that terminates every shard's worker.
 *
 * Every method that waits for shards rejects with a `SpotlightRunError`
 * (`shard-failed`) naming the shard, its size and what to do when one fails
 * or dies (the pool is then unusable: dispose it), and with an `AbortError`
 * when the given signal fires.
 */
export class ShardPool {
  /**
   * Start the shards and allocate their rows.
   *
   * @param options - N, D, the shards, the transport, the layout.
   * @param signal - Cancels the start (the shards are terminated).
   * @returns The pool, its rows still zero.
   * @throws SpotlightRunError (`shard-failed`) when a shard cannot start or
   *   allocate its rows (every shard is terminated first).
   */
  static async create(
    options: IShardPoolOptions,
    signal?: AbortSignal
  ): Promise<ShardPool> {
    const { n, d } = options;
    const bounds = Private.bounds(n, options.shards);
    const factory = options.transport ?? (() => new InProcessShardTransport());
    const count = bounds.length - 1;
    const pool = new ShardPool(n, d, bounds, options.pruning ?? true);
    try {
      for (let i = 0; i < count; i++) {
        pool._clients.push(new Private.Client(factory(i, count)));
      }
      const layout = options.layout ?? 'wasm';
      const replies = await pool._all(
        i => ({
          request: {
            type: 'init',
            version: SHARD_PROTOCOL_VERSION,
            index: i,
            offset: bounds[i],
            total: n,
            n: bounds[i + 1] - bounds[i],
            d,
            layout,
            pruning: pool.pruning
          },
          transfer: []
        }),
        signal
      );
      pool._layouts = replies.map(r => (r as { layout: ShardLayout }).layout);
      pool._notes = replies
        .map(r => (r as { note: string }).note)
        .filter(note => note);
    } catch (error) {
      pool.dispose();
      throw error;
    }
    return pool;
  }

  /**
   * Use `ShardPool.create`.
   *
   * @param n - N.
   * @param d - D.
   * @param bounds - Row offsets of the shards.
   * @param pruning - Shell evaluation.
   */
  private constructor(
    readonly n: number,
    readonly d: number,
    bounds: number[],
    readonly pruning: boolean
  ) {
    this.bounds = bounds;
    this._tree = rowTree(n);
  }

  /** S + 1 row offsets: shard i holds rows [bounds[i], bounds[i + 1]). */
  readonly bounds: readonly number[];

  /** S, the number of shards. */
  get count(): number {
    return this.bounds.length - 1;
  }

  /** Each shard's layout (`cpu` where WASM could not start). */
  get layouts(): readonly ShardLayout[] {
    return this._layouts;
  }

  /** Why shards fell back from the `wasm` layout, if any did. */
  get notes(): readonly string[] {
    return this._notes;
  }

  /** Whether `dispose` ran. */
  get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * Copy rows into the shards: rows [start, start + rows) of X, split at the
   * shard boundaries. The caller keeps `data` (each shard gets a copy of its
   * part, moved to it); at most one block per shard is in flight.
   *
   * @param start - First row (global).
   * @param data - rows × D float32 values, row-major.
   * @param signal - Cancels the wait.
   * @param move - Give `data` away: when it lies in one shard and fills its
   *   whole buffer, that buffer moves to the shard without a copy (the
   *   caller must not use `data` afterwards).
   * @throws Error when the rows fall outside X; SpotlightRunError when a
   *   shard fails.
   */
  async loadRows(
    start: number,
    data: Float32Array,
    signal?: AbortSignal,
    move = false
  ): Promise<void> {
    const d = this.d;
    const rows = data.length / d;
    if (
      !(Number.isInteger(rows) && Number.isInteger(start) && start >= 0) ||
      start + rows > this.n
    ) {
      throw new Error(
        `ShardPool.loadRows: ${data.length} values from row ${start} do not fit ${this.n} × ${d}`
      );
    }
    const b = this.bounds;
    const waits: Promise<ShardReply>[] = [];
    for (let i = 0; i < this.count; i++) {
      const lo = Math.max(start, b[i]);
      const hi = Math.min(start + rows, b[i + 1]);
      if (lo >= hi) {
        continue;
      }
      const whole =
        move &&
        lo === start &&
        hi === start + rows &&
        data.byteOffset === 0 &&
        data.byteLength === data.buffer.byteLength;
      const part = whole
        ? data
        : data.slice((lo - start) * d, (hi - start) * d);
      waits.push(
        this._request(
          i,
          {
            type: 'rows',
            start: lo - b[i],
            rows: hi - lo,
            data: part.buffer as ArrayBuffer
          },
          [part.buffer as ArrayBuffer],
          signal
        )
      );
    }
    await this._settle(waits, signal);
  }

  /**
   * Load all of X, in blocks of about 16 MiB.
   *
   * @param embeddings - N × D float32 values, row-major (kept by the caller).
   * @param signal - Cancels the wait.
   */
  async load(embeddings: Float32Array, signal?: AbortSignal): Promise<void> {
    const d = this.d;
    if (embeddings.length !== this.n * d) {
      throw new Error(
        `ShardPool.load: ${embeddings.length} values for ${this.n} × ${d}`
      );
    }
    const block = Math.max(1, Math.floor(2 ** 22 / d));
    for (let start = 0; start < this.n; start += block) {
      const end = Math.min(this.n, start + block);
      await this.loadRows(
        start,
        embeddings.subarray(start * d, end * d),
        signal
      );
    }
  }

  /**
   * Scan every shard: what validation and the start need.
   *
   * @param initialPrecision - τ₀.
   * @param signal - Cancels the wait.
   * @returns Each shard's scan, in shard order.
   */
  async scan(
    initialPrecision: number,
    signal?: AbortSignal
  ): Promise<IShardScan[]> {
    const replies = await this._all(
      () => ({ request: { type: 'scan', initialPrecision }, transfer: [] }),
      signal
    );
    return replies as IShardScan[];
  }

  /**
   * Make every shard's kernel.
   *
   * @param backend - `wasm` or `cpu`.
   * @param signal - Cancels the wait.
   */
  async open(backend: 'wasm' | 'cpu', signal?: AbortSignal): Promise<void> {
    await this._all(
      () => ({ request: { type: 'open', backend }, transfer: [] }),
      signal
    );
  }

  /**
   * Send each shard its part of the losses.
   *
   * @param losses - ℓ (N), kept by the caller.
   * @param signal - Cancels the wait.
   */
  async setLosses(losses: Float32Array, signal?: AbortSignal): Promise<void> {
    const b = this.bounds;
    await this._all(i => {
      const part = losses.slice(b[i], b[i + 1]);
      return {
        request: { type: 'losses', data: part.buffer },
        transfer: [part.buffer]
      };
    }, signal);
  }

  /**
   * One step's passes over all of X at (μ, τ): when asked, a rescan around
   * `rescan.ref` first; then the unpruned pass (`full`) or the shell's. Each
   * shard sends its tree nodes; the roots are rebuilt here (`foldNodes`).
   *
   * @param center - μ (D), float64.
   * @param precision - τ.
   * @param full - The unpruned pass, else the shell's.
   * @param rescan - μ_ref and the tests (`ShellControl.rescan`), or null.
   * @param signal - Cancels the wait.
   * @returns The packed moments (`packedWidth`) of the pass; with a rescan,
   *   the packed inside moments and the shell's size over X.
   */
  async moments(
    center: Float64Array,
    precision: number,
    full: boolean,
    rescan: { ref: Float64Array; bounds: IShellBounds } | null,
    signal?: AbortSignal
  ): Promise<{ moments: Float64Array; inside?: Float64Array; shell: number }> {
    const replies = (await this._all(() => {
      const c = Float64Array.from(center);
      const transfer = [c.buffer];
      let wire: { ref: ArrayBuffer; bounds: IShellBounds } | undefined;
      if (rescan) {
        const ref = Float64Array.from(rescan.ref);
        transfer.push(ref.buffer);
        wire = { ref: ref.buffer, bounds: rescan.bounds };
      }
      return {
        request: {
          type: 'moments',
          center: c.buffer,
          precision,
          full,
          rescan: wire
        },
        transfer
      };
    }, signal)) as Extract<ShardReply, { type: 'moments' }>[];
    const w = packedWidth(this.d);
    const moments = new Float64Array(w);
    foldNodes(
      this._tree,
      replies.map(r => fromWire(r.moments)),
      w,
      moments
    );
    if (!rescan) {
      return { moments, shell: 0 };
    }
    const inside = new Float64Array(w);
    foldNodes(
      this._tree,
      replies.map(r => fromWire(r.inside!)),
      w,
      inside
    );
    let shell = 0;
    for (const r of replies) {
      shell += r.shell ?? 0;
    }
    return { moments, inside, shell };
  }

  /**
   * Kernel weights of every row from float32 (μ, τ) (`kernelWeightsInto`'s
   * arithmetic, row by row: the same values as on the whole of X).
   *
   * @param center - μ (D), float32.
   * @param precision - τ.
   * @param out - N weights.
   * @param signal - Cancels the wait.
   */
  async weights(
    center: Float32Array,
    precision: number,
    out: Float32Array,
    signal?: AbortSignal
  ): Promise<void> {
    const replies = await this._all(() => {
      const c = Float32Array.from(center);
      return {
        request: { type: 'weights', center: c.buffer, precision },
        transfer: [c.buffer]
      };
    }, signal);
    replies.forEach((r, i) =>
      out.set(
        new Float32Array((r as { data: ArrayBuffer }).data),
        this.bounds[i]
      )
    );
  }

  /**
   * The shards' work counters, added up.
   *
   * @param signal - Cancels the wait.
   * @returns Steps (the most of any shard: they all step together), rows
   *   read and full passes (summed), bytes per row.
   */
  async stats(signal?: AbortSignal): Promise<IKernelStats> {
    const replies = await this._all(
      () => ({ request: { type: 'stats' }, transfer: [] }),
      signal
    );
    const all = replies.map(r => (r as { stats: IKernelStats }).stats);
    return {
      steps: Math.max(...all.map(s => s.steps)),
      rowsRead: all.reduce((sum, s) => sum + s.rowsRead, 0),
      fullPasses: Math.max(...all.map(s => s.fullPasses)),
      rowBytes: all[0].rowBytes
    };
  }

  /** Terminate every shard (workers included); idempotent. */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    for (const client of this._clients) {
      client.terminate();
    }
  }

  /**
   * Send one request per shard and wait for all replies.
   *
   * @param make - The request for shard i and its transfer list.
   * @param signal - Cancels the wait.
   * @returns The replies in shard order.
   */
  private _all(
    make: (i: number) => { request: ShardRequest; transfer: ArrayBuffer[] },
    signal?: AbortSignal
  ): Promise<ShardReply[]> {
    const waits: Promise<ShardReply>[] = [];
    for (let i = 0; i < this.count; i++) {
      const { request, transfer } = make(i);
      waits.push(this._request(i, request, transfer, signal));
    }
    return this._settle(waits, signal);
  }

  /**
   * Wait for replies; the first failure (or the signal) wins.
   *
   * @param waits - Pending replies.
   * @param signal - Cancels the wait.
   * @returns The replies.
   */
  private _settle(
    waits: Promise<ShardReply>[],
    signal?: AbortSignal
  ): Promise<ShardReply[]> {
    const all = Promise.all(waits);
    if (!signal) {
      return all;
    }
    return new Promise<ShardReply[]>((resolve, reject) => {
      const onAbort = () => reject(createAbortError());
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      all.then(
        replies => {
          signal.removeEventListener('abort', onAbort);
          resolve(replies);
        },
        error => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        }
      );
    });
  }

  /**
   * One request to shard i, its failure worded for the user.
   *
   * @param i - The shard.
   * @param request - The request.
   * @param transfer - Buffers to move.
   * @param _signal - Unused here (see `_settle`).
   * @returns The reply.
   */
  private async _request(
    i: number,
    request: ShardRequest,
    transfer: ArrayBuffer[],
    _signal?: AbortSignal
  ): Promise<ShardReply> {
    if (this._disposed) {
      throw new SpotlightRunError(
        'shard-failed',
        'The shards of this search were already stopped.'
      );
    }
    try {
      return await this._clients[i].request(request, transfer);
    } catch (error) {
      throw this._failure(i, request.type, error);
    }
  }

  /**
   * The error for a failed shard: which rows, how large, what to do.
   *
   * @param i - The shard.
   * @param what - The request that failed.
   * @param error - What the shard or its transport reported.
   * @returns The error.
   */
  private _failure(i: number, what: string, error: unknown): Error {
    if (error instanceof Error && error.name === 'AbortError') {
      return error;
    }
    const rows = this.bounds[i + 1] - this.bounds[i];
    const stride =
      this._layouts[i] === 'cpu' ? this.d : paddedDimension(this.d);
    const mib = (4 * rows * stride) / 2 ** 20;
    const why = error instanceof Error ? error.message : String(error);
    return new SpotlightRunError(
      'shard-failed',
      `Shard ${i + 1} of ${this.count} (rows ${this.bounds[i].toLocaleString('en-US')}–${(this.bounds[i + 1] - 1).toLocaleString('en-US')}: ${rows.toLocaleString('en-US')} × ${this.d} embeddings, ${mib.toFixed(0)} MiB) failed during '${what}': ${why.replace(/\.$/, '')}. ` +
        'Free memory or give the search more (--max-memory in the CLI), use fewer rows (sample them), or use fewer threads (--threads, the worker setting) if the shards compete for memory.'
    );
  }

  private readonly _clients: Private.Client[] = [];
  private readonly _tree: IRowTree;
  private _layouts: ShardLayout[] = [];
  private _notes: string[] = [];
  private _disposed = false;
}

/** Helpers. */
namespace Private {
  /**
   * The shard boundaries from a count or a list of sizes.
   *
   * @param n - N.
   * @param shards - S or the sizes.
   * @returns Row offsets.
   * @throws Error for sizes that are not positive whole numbers summing to N.
   */
  export function bounds(n: number, shards: number | number[]): number[] {
    if (typeof shards === 'number') {
      return shardBounds(n, shards);
    }
    const out = [0];
    for (const rows of shards) {
      if (!(Number.isInteger(rows) && rows >= 1)) {
        throw new Error(
          `Shard sizes must be whole numbers ≥ 1 (got ${JSON.stringify(shards)}).`
        );
      }
      out.push(out[out.length - 1] + rows);
    }
    if (out[out.length - 1] !== n || shards.length === 0) {
      throw new Error(
        `Shard sizes ${JSON.stringify(shards)} do not add up to N = ${n}.`
      );
    }
    return out;
  }

  /**
   * A copy of a message as postMessage would deliver it.
   *
   * @param message - The message.
   * @param transfer - Buffers to move (detached in the original).
   * @returns The copy (the message itself where `structuredClone` is missing).
   */
  export function clone<T>(message: T, transfer: ArrayBuffer[]): T {
    if (typeof structuredClone === 'function') {
      return structuredClone(message, { transfer });
    }
    return message;
  }

  /** Requests to one shard, matched to replies by id. */
  export class Client {
    /**
     * @param transport - The channel to the shard.
     */
    constructor(private readonly transport: IShardTransport) {
      transport.listen(
        response => this._onResponse(response),
        reason => this._onFailure(reason)
      );
    }

    /**
     * Send a request and wait for its reply.
     *
     * @param request - The request.
     * @param transfer - Buffers to move.
     * @returns The reply.
     * @throws Error with the shard's message when it fails or dies.
     */
    request(
      request: ShardRequest,
      transfer: ArrayBuffer[]
    ): Promise<ShardReply> {
      if (this._failed !== null) {
        return Promise.reject(new Error(this._failed));
      }
      const id = this._next++;
      return new Promise<ShardReply>((resolve, reject) => {
        this._pending.set(id, { resolve, reject });
        try {
          this.transport.post({ id, request }, transfer);
        } catch (error) {
          this._pending.delete(id);
          reject(error);
        }
      });
    }

    /** Terminate the shard; pending requests reject. */
    terminate(): void {
      this._onFailure('the search stopped its shards');
      this.transport.terminate();
    }

    /**
     * Settle the request a response answers.
     *
     * @param response - The response.
     */
    private _onResponse(response: ShardResponse): void {
      const pending = this._pending.get(response.id);
      if (!pending) {
        return;
      }
      this._pending.delete(response.id);
      if (response.ok) {
        pending.resolve(response.reply);
      } else {
        const error = new Error(response.error.message);
        error.name = response.error.name;
        pending.reject(error);
      }
    }

    /**
     * Reject every pending request; later requests reject at once.
     *
     * @param reason - Why the shard cannot answer.
     */
    private _onFailure(reason: string): void {
      if (this._failed === null) {
        this._failed = reason;
      }
      for (const { reject } of this._pending.values()) {
        reject(new Error(reason));
      }
      this._pending.clear();
    }

    private _next = 1;
    private _failed: string | null = null;
    private readonly _pending = new Map<
      number,
      { resolve: (reply: ShardReply) => void; reject: (error: Error) => void }
    >();
  }
}
