/**
 * One shard of the sharded engine (issue 11; d'Eon et al. 2021,
 * SPOTLIGHT_METHOD.md): a block of consecutive rows of X held in its own
 * memory (a `WasmKernel`'s WebAssembly memory, or a plain buffer for the
 * `cpu` backend), answering the coordinator (shardPool.ts) with the partial
 * moments of its rows at each step.
 *
 * The moments of objective.ts are sums over rows. Each shard sums its rows
 * leaf by leaf up blocks.ts's fixed tree and sends the values of the tree's
 * nodes within its rows; the coordinator rebuilds the root with the same
 * additions, so the moments are the single kernel's float64 numbers for any
 * split along leaf boundaries (`shardBounds` splits there). The decisions of
 * exact shell evaluation (when to rescan, the margin, the tests) are the
 * coordinator's (shellKernel.ts's `ShellControl`, over all of X); a shard runs
 * the rescan's and the shell's passes on its rows. Everything else (Adam,
 * the barrier schedule, the plateau rule, the collapse guard, the damping)
 * stays in the coordinator.
 *
 * The protocol is plain objects and ArrayBuffers moved in the transfer list
 * (no SharedArrayBuffer: JupyterLab pages are not cross-origin isolated), so
 * it runs the same in-process (jest), in Node `worker_threads` (the CLI) and in
 * Web Workers (the panel). `ShardWorker` holds the shard's state and answers
 * one request at a time; `serveShard` wires it to a worker's message port.
 * Messages are versioned (`SHARD_PROTOCOL_VERSION`).
 *
 * Requests and replies (row counts are the shard's own; "f32 × k" is an
 * ArrayBuffer of k float32 values, "f64 × k" of k float64 values):
 *
 *   init    {offset, total, n, d, layout, pruning}
 *                                          → {layout, stride, note, bytes}
 *   rows    {start, rows, data: f32 × rows·D}  (row-major, unpadded) → {}
 *   scan    {initialPrecision}             → {k0, maxSquaredNorm, nonFinite,
 *                                              allRowsEqual, firstRow: f32 × D}
 *   open    {backend: 'wasm' | 'cpu'}      → {pruning}
 *   losses  {data: f32 × n}                → {}
 *   moments {center: f64 × D, precision, full, rescan?: {ref: f64 × D, bounds}}
 *                                          → {moments: nodes, inside?: nodes,
 *                                             shell?}
 *   weights {center: f32 × D, precision}   → {data: f32 × n}
 *   stats   {}                             → {stats}
 *   dispose {}                             → {}
 *
 * `moments` runs the rescan's pass first when asked (its inside moments and
 * shell size come back), then the unpruned pass (`full`) or the shell's;
 * "nodes" are blocks.ts's `INodeValues` with f64 × (2D + 4) packed values per
 * node (shellKernel.ts's `packedWidth`). A request that fails is answered `{ok: false, error}`; the
 * shard stays usable for `dispose`.
 */
import { SpotlightRunError } from './errors';
import { HostKernel } from './hostKernel';
import { kernelWeightsInto, squaredNorms } from './kernel';
import type { INodeValues } from './blocks';
import { rowTree } from './blocks';
import type { IKernelStats } from './objective';
import type { IShellBounds } from './shellKernel';
import { ShellKernel } from './shellKernel';
import { paddedDimension, WasmKernel } from './wasmKernel';

/** The version of the shard messages; both sides must agree. */
export const SHARD_PROTOCOL_VERSION = 2;

/**
 * How a shard stores its rows: `wasm` in a `WasmKernel`'s memory, rows padded
 * to P = `paddedDimension(D)` float32 values (either backend can run on it);
 * `cpu` in a plain buffer of N × D float32 values (the `cpu` backend only).
 */
export type ShardLayout = 'wasm' | 'cpu';

/** The requests a shard answers (see the module comment). */
export type ShardRequest =
  | {
      type: 'init';
      version: number;
      /** The shard's index, for messages. */
      index: number;
      /** The global index of the shard's first row. */
      offset: number;
      /** N, all rows of X. */
      total: number;
      /** Rows in this shard. */
      n: number;
      /** D. */
      d: number;
      layout: ShardLayout;
      /** Exact shell evaluation (shellKernel.ts). */
      pruning: boolean;
    }
  | {
      type: 'rows';
      /** First row (shard-local). */
      start: number;
      /** Number of rows in `data`. */
      rows: number;
      /** rows × D float32 values, row-major. */
      data: ArrayBuffer;
    }
  | { type: 'scan'; initialPrecision: number }
  | { type: 'open'; backend: 'wasm' | 'cpu' }
  | { type: 'losses'; data: ArrayBuffer }
  | {
      type: 'moments';
      /** μ: f64 × D. */
      center: ArrayBuffer;
      precision: number;
      /** The unpruned pass (else the shell's). */
      full: boolean;
      /** Rescan first, around `ref` (f64 × D) with these tests. */
      rescan?: { ref: ArrayBuffer; bounds: IShellBounds };
    }
  | { type: 'weights'; center: ArrayBuffer; precision: number }
  | { type: 'stats' }
  | { type: 'dispose' };

/** What a shard's scan of its rows found (reply to `scan`). */
export interface IShardScan {
  type: 'scan';
  /** Σ_i max(0, 1 − τ₀ ‖x_i‖²) over the shard's rows. */
  k0: number;
  /** max_i ‖x_i‖² over the shard's rows (squared embedding units). */
  maxSquaredNorm: number;
  /** NaN/±Inf values: their count and the first few shard-local flat indices (row · D + column). */
  nonFinite: { count: number; first: number[] };
  /** Whether every row of the shard equals its first row. */
  allRowsEqual: boolean;
  /** The shard's first row: f32 × D. */
  firstRow: ArrayBuffer;
}

/** The replies, by request type. */
export type ShardReply =
  | {
      type: 'init';
      /** The layout the shard got (a `wasm` request falls back to `cpu` when WASM cannot run). */
      layout: ShardLayout;
      /** Values per stored row. */
      stride: number;
      /** Why the layout differs from the request, if it does. */
      note: string;
      /** Bytes of X the shard holds. */
      bytes: number;
    }
  | { type: 'rows' }
  | IShardScan
  | { type: 'open'; pruning: boolean }
  | { type: 'losses' }
  | {
      type: 'moments';
      moments: IWireNodes;
      /** The rescan's inside moments, when it ran. */
      inside?: IWireNodes;
      /** The shard's shell rows, when a rescan ran. */
      shell?: number;
    }
  | { type: 'weights'; data: ArrayBuffer }
  | { type: 'stats'; stats: IKernelStats }
  | { type: 'dispose' };

/** A request with its id (the coordinator matches replies by id). */
export interface IShardEnvelope {
  id: number;
  request: ShardRequest;
}

/** A reply or a failure, with the request's id. */
export type ShardResponse =
  | { id: number; ok: true; reply: ShardReply }
  | { id: number; ok: false; error: { name: string; message: string } };

/** How many first non-finite indices a scan keeps. */
export const SHARD_SCAN_SHOWN = 5;

/** Node values as they cross a channel (blocks.ts's `INodeValues`). */
export interface IWireNodes {
  nodes: number[];
  pieces: boolean[];
  /** f64 × (nodes · W). */
  values: ArrayBuffer;
}

/**
 * Node values as they cross a channel: the values' buffer is moved.
 *
 * @param v - The values.
 * @param transfer - Receives the buffer to move.
 * @returns The wire form.
 */
export function toWire(v: INodeValues, transfer: ArrayBuffer[]): IWireNodes {
  transfer.push(v.values.buffer as ArrayBuffer);
  return {
    nodes: v.nodes,
    pieces: v.pieces,
    values: v.values.buffer as ArrayBuffer
  };
}

/**
 * Node values from their wire form.
 *
 * @param w - The wire form.
 * @returns The values.
 */
export function fromWire(w: IWireNodes): INodeValues {
  return {
    nodes: w.nodes,
    pieces: w.pieces,
    values: new Float64Array(w.values)
  };
}

/**
 * The state of one shard and its answers to the coordinator's requests (the
 * worker side of the protocol; transport-free, so jest runs it in-process).
 */
export class ShardWorker {
  /**
   * Answer one request.
   *
   * @param envelope - The request and its id.
   * @returns The response and the buffers to transfer with it.
   */
  async handle(
    envelope: IShardEnvelope
  ): Promise<{ response: ShardResponse; transfer: ArrayBuffer[] }> {
    try {
      const { reply, transfer } = await this._answer(envelope.request);
      return { response: { id: envelope.id, ok: true, reply }, transfer };
    } catch (error) {
      const e =
        error instanceof Error
          ? { name: error.name, message: error.message }
          : { name: 'Error', message: String(error) };
      return {
        response: { id: envelope.id, ok: false, error: e },
        transfer: []
      };
    }
  }

  /** Drop the rows and the kernel; idempotent. */
  dispose(): void {
    this._kernel = null;
    this._wasm?.dispose();
    this._wasm = null;
    this._x = null;
    this._norms = null;
  }

  /**
   * The answer to one request.
   *
   * @param r - The request.
   * @returns The reply and its transfer list.
   * @throws Error for a request out of order or with bad sizes.
   */
  private async _answer(
    r: ShardRequest
  ): Promise<{ reply: ShardReply; transfer: ArrayBuffer[] }> {
    switch (r.type) {
      case 'init':
        return { reply: await this._init(r), transfer: [] };
      case 'rows':
        this._rows(r.start, r.rows, new Float32Array(r.data));
        return { reply: { type: 'rows' }, transfer: [] };
      case 'scan': {
        const scan = this._scan(r.initialPrecision);
        return { reply: scan, transfer: [scan.firstRow] };
      }
      case 'open':
        return { reply: this._open(r.backend), transfer: [] };
      case 'losses': {
        const losses = new Float32Array(r.data);
        if (losses.length !== this._n) {
          throw new Error(
            `shard ${this._index + 1} got ${losses.length} losses for its ${this._n} rows`
          );
        }
        this._opened().setLosses(losses);
        return { reply: { type: 'losses' }, transfer: [] };
      }
      case 'moments': {
        const kernel = this._opened();
        const transfer: ArrayBuffer[] = [];
        const reply: Extract<ShardReply, { type: 'moments' }> = {
          type: 'moments',
          moments: { nodes: [], pieces: [], values: new ArrayBuffer(0) }
        };
        if (r.rescan) {
          const { inside, shell } = kernel.rescanNodes(
            new Float64Array(r.rescan.ref),
            r.rescan.bounds
          );
          reply.inside = toWire(inside, transfer);
          reply.shell = shell;
        }
        const c = kernel.passCenter(new Float64Array(r.center));
        reply.moments = toWire(
          r.full
            ? kernel.fullNodes(c, r.precision)
            : kernel.shellNodes(c, r.precision),
          transfer
        );
        return { reply, transfer };
      }
      case 'weights': {
        const { x, stride } = this._storage();
        const out = new Float32Array(this._n);
        kernelWeightsInto(
          x,
          this._d,
          new Float32Array(r.center),
          r.precision,
          out,
          0,
          this._n,
          stride
        );
        return {
          reply: { type: 'weights', data: out.buffer },
          transfer: [out.buffer]
        };
      }
      case 'stats':
        return {
          reply: { type: 'stats', stats: this._opened().stats },
          transfer: []
        };
      case 'dispose':
        this.dispose();
        return { reply: { type: 'dispose' }, transfer: [] };
      default:
        throw new Error(
          `unknown shard request ${JSON.stringify((r as { type?: unknown }).type)}`
        );
    }
  }

  /**
   * Allocate the rows.
   *
   * @param r - The init request.
   * @returns The layout, stride and bytes held.
   * @throws Error for a protocol version mismatch or bad sizes;
   *   SpotlightRunError when the memory cannot be had.
   */
  private async _init(
    r: Extract<ShardRequest, { type: 'init' }>
  ): Promise<ShardReply> {
    if (r.version !== SHARD_PROTOCOL_VERSION) {
      throw new Error(
        `shard protocol version ${r.version}, but this shard speaks version ${SHARD_PROTOCOL_VERSION}: reload so that both sides come from the same build`
      );
    }
    if (this._x) {
      throw new Error('this shard already holds rows');
    }
    const { n, d } = r;
    if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(d) && d >= 1)) {
      throw new Error(`bad shard shape ${n} × ${d}`);
    }
    this._index = r.index;
    this._n = n;
    this._d = d;
    this._pruning = r.pruning;
    this._offset = r.offset;
    this._total = r.total;
    let note = '';
    if (r.layout === 'wasm') {
      try {
        this._wasm = await WasmKernel.create(null, n, d, {
          pruning: r.pruning,
          offset: r.offset,
          total: r.total
        });
        this._x = this._wasm.rows;
        this._stride = this._wasm.stride;
      } catch (error) {
        note = `WASM unavailable in shard ${r.index + 1}: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    if (!this._x) {
      this._stride = d;
      try {
        this._x = new Float32Array(n * d);
      } catch (error) {
        throw new SpotlightRunError(
          'shard-failed',
          `could not allocate ${((4 * n * d) / 2 ** 20).toFixed(0)} MiB for its rows (${error instanceof Error ? error.message : String(error)})`
        );
      }
    }
    const layout: ShardLayout = this._wasm ? 'wasm' : 'cpu';
    return {
      type: 'init',
      layout,
      stride: this._stride,
      note,
      bytes: 4 * n * this._stride
    };
  }

  /**
   * Copy rows into the shard's storage (padding stays zero).
   *
   * @param start - First shard-local row.
   * @param rows - Number of rows.
   * @param data - rows × D float32 values.
   * @throws Error for rows out of range, after `open`, or a size mismatch.
   */
  private _rows(start: number, rows: number, data: Float32Array): void {
    const { x, stride } = this._storage();
    const d = this._d;
    if (this._kernel) {
      throw new Error('rows cannot change after the kernel is open');
    }
    if (
      !(Number.isInteger(start) && start >= 0 && start + rows <= this._n) ||
      data.length !== rows * d
    ) {
      throw new Error(
        `rows ${start}..${start + rows} (${data.length} values) do not fit shard ${this._index + 1} of ${this._n} × ${d}`
      );
    }
    if (stride === d) {
      x.set(data, start * d);
    } else {
      for (let i = 0; i < rows; i++) {
        x.set(data.subarray(i * d, (i + 1) * d), (start + i) * stride);
      }
    }
  }

  /**
   * Scan the rows: what validation and the start need (see `IShardScan`).
   *
   * @param tau0 - The requested initial precision τ₀.
   * @returns The scan.
   */
  private _scan(tau0: number): IShardScan {
    const { x, stride } = this._storage();
    const n = this._n;
    const d = this._d;
    const nonFinite = { count: 0, first: [] as number[] };
    let allEqual = true;
    for (let i = 0; i < n; i++) {
      const o = i * stride;
      for (let j = 0; j < d; j++) {
        const v = x[o + j];
        if (v - v !== 0) {
          nonFinite.count++;
          if (nonFinite.first.length < SHARD_SCAN_SHOWN) {
            nonFinite.first.push(i * d + j);
          }
        }
        if (allEqual && v !== x[j]) {
          allEqual = false;
        }
      }
    }
    const norms = squaredNorms(x, n, d, stride);
    this._norms = norms;
    let k0 = 0;
    let max = 0;
    for (let i = 0; i < n; i++) {
      k0 += Math.max(0, 1 - tau0 * norms[i]);
      max = Math.max(max, norms[i]);
    }
    const firstRow = Float32Array.from(x.subarray(0, d));
    return {
      type: 'scan',
      k0,
      maxSquaredNorm: max,
      nonFinite,
      allRowsEqual: allEqual,
      firstRow: firstRow.buffer
    };
  }

  /**
   * Make the kernel that answers `moments`.
   *
   * @param backend - `wasm` (needs the `wasm` layout) or `cpu`.
   * @returns Whether shell evaluation is on.
   * @throws Error when `wasm` is asked of a `cpu` layout.
   */
  private _open(backend: 'wasm' | 'cpu'): ShardReply {
    const { x, stride } = this._storage();
    if (backend === 'wasm') {
      if (!this._wasm) {
        throw new Error(
          `shard ${this._index + 1} holds its rows outside WASM memory`
        );
      }
      this._kernel = this._wasm;
    } else {
      this._kernel = new HostKernel(
        x,
        this._n,
        this._d,
        this._norms ?? undefined,
        {
          pruning: this._pruning,
          stride,
          offset: this._offset,
          total: this._total
        }
      );
    }
    return { type: 'open', pruning: this._kernel.pruning };
  }

  /**
   * The rows, or an error before `init`.
   *
   * @returns X and its stride.
   */
  private _storage(): { x: Float32Array; stride: number } {
    if (!this._x) {
      throw new Error(
        'this shard holds no rows (not initialised, or disposed)'
      );
    }
    return { x: this._x, stride: this._stride };
  }

  /**
   * The kernel, or an error before `open`.
   *
   * @returns The kernel.
   */
  private _opened(): ShellKernel {
    if (!this._kernel) {
      throw new Error('this shard has no kernel yet (open it first)');
    }
    return this._kernel;
  }

  private _index = 0;
  private _n = 0;
  private _d = 0;
  private _stride = 0;
  private _pruning = true;
  private _x: Float32Array | null = null;
  private _norms: Float64Array | null = null;
  private _wasm: WasmKernel | null = null;
  private _kernel: ShellKernel | null = null;
  private _offset = 0;
  private _total = 0;
}

/** The worker end of a message channel (a Web Worker's scope, a Node port). */
export interface IShardEndpoint {
  /**
   * Send a response.
   *
   * @param message - The response.
   * @param transfer - Buffers to move with it.
   */
  postMessage(message: ShardResponse, transfer: ArrayBuffer[]): void;
  /**
   * Register the handler of incoming requests.
   *
   * @param handler - Called with each request envelope.
   */
  onRequest(handler: (envelope: IShardEnvelope) => void): void;
  /** Close the channel (after `dispose`). */
  close?(): void;
}

/**
 * Serve one shard on a message endpoint: requests are answered in the order
 * they arrive, one at a time. Used by the worker scripts (nodeShards.ts's
 * worker; the page's Web Worker).
 *
 * @param endpoint - The worker's end of the channel.
 * @returns The shard (for tests).
 */
export function serveShard(endpoint: IShardEndpoint): ShardWorker {
  const shard = new ShardWorker();
  let tail = Promise.resolve();
  endpoint.onRequest(envelope => {
    tail = tail.then(async () => {
      const { response, transfer } = await shard.handle(envelope);
      endpoint.postMessage(response, transfer);
      if (envelope.request.type === 'dispose') {
        endpoint.close?.();
      }
    });
  });
  return shard;
}

/**
 * The rows of each shard: N split into S consecutive runs of whole leaves of
 * blocks.ts's tree (so every split sums X in the same order), their leaf
 * counts differing by at most one (the first L mod S runs get one more).
 *
 * @param n - N ≥ 1.
 * @param shards - S ≥ 1 (at most L, the tree's leaf count, are made).
 * @returns S' + 1 row offsets, from 0 to N (S' = min(S, L)).
 * @throws Error when N or S is not a whole number ≥ 1.
 */
export function shardBounds(n: number, shards: number): number[] {
  if (!(
    Number.isInteger(n) &&
    n >= 1 &&
    Number.isInteger(shards) &&
    shards >= 1
  )) {
    throw new Error(
      `shardBounds needs whole numbers N ≥ 1 and S ≥ 1 (got N = ${n}, S = ${shards})`
    );
  }
  const { leaf, leaves } = rowTree(n);
  const s = Math.min(shards, leaves);
  const base = Math.floor(leaves / s);
  const extra = leaves % s;
  const bounds = [0];
  let at = 0;
  for (let i = 0; i < s; i++) {
    at += base + (i < extra ? 1 : 0);
    bounds.push(Math.min(n, at * leaf));
  }
  return bounds;
}

/** The padded row length of the `wasm` layout (re-exported for callers sizing memory). */
export { paddedDimension };
