/**
 * The `wasm` backend's kernel: the moments of objective.ts computed by our
 * WebAssembly SIMD passes (assembly/spotlight.ts), with exact shell
 * evaluation (shellKernel.ts). d'Eon et al. 2021; SPOTLIGHT_METHOD.md.
 */
import { SpotlightRunError } from './errors';
import {
  IKernelRows,
  IShellBounds,
  IShellKernelOptions,
  ShellKernel
} from './shellKernel';
import { WASM_KERNEL_BASE64 } from './wasmBinary.generated';

/** The module's exports (see assembly/spotlight.ts). */
interface IKernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  accumulate(
    x: number,
    p: number,
    losses: number,
    rows: number,
    count: number,
    c: number,
    tau: number,
    list: number,
    a: number,
    b: number,
    out: number
  ): void;
  rescan(
    x: number,
    p: number,
    losses: number,
    n: number,
    ref: number,
    rounding: number,
    delta: number,
    insideBelow: number,
    outsideAbove: number,
    list: number,
    a: number,
    b: number,
    rows: number,
    out: number
  ): void;
}

/**
 * The stored row length P: D rounded up to a multiple of 16 float32 values
 * (the passes read 64 bytes at a time; the padding is zero).
 *
 * @param d - D.
 * @returns P.
 */
export function paddedDimension(d: number): number {
  return Math.ceil(d / 16) * 16;
}

/**
 * Bytes of WebAssembly memory a `WasmKernel` needs for N × D embeddings: X
 * padded to P columns (4·N·P), the losses and the shell's row list (8·N),
 * and O(P) working space.
 *
 * @param n - N.
 * @param d - D.
 * @returns Bytes.
 */
export function wasmMemoryEstimate(n: number, d: number): number {
  const p = paddedDimension(d);
  return 4 * n * p + 8 * n + 48 * p + 2 ** 17;
}

/**
 * The most WebAssembly memory a search plans for (bytes): 4 GiB is the
 * 32-bit limit, and a browser tab may not get all of it.
 */
export const WASM_MEMORY_BUDGET = 3 * 2 ** 30;

/**
 * Bound on the relative rounding of a squared distance as the passes compute
 * it: float32 differences, squares and sums over 16 lanes of P/16 terms, then
 * 4 combining levels, |d̂ − d| ≤ (P/16 + 8)·2⁻²⁴·d (a factor 2 to spare).
 *
 * @param p - P.
 * @returns The relative bound ε.
 */
export function distanceRounding(p: number): number {
  return 2 * (p / 16 + 8) * 2 ** -24;
}

/**
 * Compile the kernel's module (once) and check this platform runs it: it
 * needs WebAssembly with 128-bit SIMD (Chrome 91, Firefox 89, Safari 16.4,
 * Node 16.4 and later).
 *
 * @returns The compiled module.
 * @throws Error when WebAssembly or its SIMD is missing.
 */
export function loadWasmKernel(): Promise<WebAssembly.Module> {
  if (!Private.state.module) {
    Private.state.module = (async () => {
      if (typeof WebAssembly !== 'object') {
        throw new Error('this platform has no WebAssembly');
      }
      const bytes = Private.decode(WASM_KERNEL_BASE64);
      if (!WebAssembly.validate(bytes)) {
        throw new Error('this platform lacks WebAssembly SIMD');
      }
      return WebAssembly.compile(bytes);
    })();
    Private.state.module.catch(() => {
      Private.state.module = null;
    });
  }
  return Private.state.module;
}

/**
 * The moments on the `wasm` backend: X is copied once into the module's
 * memory as float32 rows padded to P = `paddedDimension(D)` values; every
 * pass is one SIMD loop over rows (assembly/spotlight.ts) that reads each row
 * once: squared distance d̂_i = ‖x_i − c‖² computed directly (no cancellation),
 * then, for rows with k̂_i ≥ 0, the row is listed and added to the moment
 * sums while it is in cache. c is μ rounded to float32; the scalars are
 * summed in float64, the row sums in float32 over 32 rows and then in
 * float64.
 *
 * With `pruning: true`, exact shell evaluation (shellKernel.ts), its tests
 * widened by `distanceRounding(P)`. Unpruned, each step reads N rows.
 *
 * `stats` counts rows of P float32 values.
 */
export class WasmKernel extends ShellKernel {
  /**
   * Copy X into a new instance of the kernel's module.
   *
   * @param embeddings - Row-major N × D embeddings (float32), or null to
   *   leave the rows zero and fill them through `rows` (a shard of shard.ts
   *   loads its rows there block by block, with no second copy of X).
   * @param n - N.
   * @param d - D.
   * @param options - Exact shell evaluation and its margin.
   * @returns The kernel.
   * @throws SpotlightRunError (`backend-unavailable`) when the module cannot
   *   run here or its memory cannot grow to `wasmMemoryEstimate(N, D)`.
   */
  static async create(
    embeddings: Float32Array | null,
    n: number,
    d: number,
    options: IShellKernelOptions & IKernelRows = {}
  ): Promise<WasmKernel> {
    let module: WebAssembly.Module;
    let instance: WebAssembly.Instance;
    try {
      module = await loadWasmKernel();
      instance = await WebAssembly.instantiate(module, {});
    } catch (error) {
      throw new SpotlightRunError(
        'backend-unavailable',
        `The WASM backend cannot run here (${Private.message(error)}). Choose the 'cpu' or 'auto' backend instead.`
      );
    }
    return new WasmKernel(
      instance.exports as unknown as IKernelExports,
      embeddings,
      n,
      d,
      options
    );
  }

  /**
   * Lay out and fill the memory; use `WasmKernel.create`.
   *
   * @param exports - The instance's exports.
   * @param embeddings - X.
   * @param n - N.
   * @param d - D.
   * @param options - Shell evaluation options.
   */
  private constructor(
    exports: IKernelExports,
    embeddings: Float32Array | null,
    n: number,
    d: number,
    options: IShellKernelOptions & IKernelRows
  ) {
    const p = paddedDimension(d);
    super(n, d, 4 * p, options);
    this._wasm = exports;
    this._p = p;
    // Layout: every array 64-byte aligned.
    let end = Math.ceil(exports.heapBase() / 64) * 64;
    const take = (bytes: number) => {
      const at = end;
      end += Math.ceil(bytes / 64) * 64;
      return at;
    };
    this._x = take(4 * n * p);
    this._losses = take(4 * n);
    this._rows = take(4 * n);
    this._c = take(4 * p);
    this._refAt = take(4 * p);
    this._list = take(8 * Private.BLOCK);
    this._a = take(8 * p);
    this._b = take(8 * p);
    this._out = take(64);
    const memory = exports.memory;
    const need = Math.ceil(end / 65536) - memory.buffer.byteLength / 65536;
    if (need > 0) {
      try {
        memory.grow(need);
      } catch (error) {
        throw new SpotlightRunError(
          'backend-unavailable',
          `The WASM backend could not get ${(end / 2 ** 30).toFixed(2)} GiB of memory for ${n.toLocaleString('en-US')} × ${d} embeddings (${Private.message(error)}). Choose the 'cpu' or 'auto' backend, or sample rows.`
        );
      }
    }
    const buffer = memory.buffer;
    const x = new Float32Array(buffer, this._x, n * p);
    this._xView = x;
    if (!embeddings) {
      // Filled by the owner through `rows`.
    } else if (p === d) {
      x.set(embeddings);
    } else {
      for (let i = 0; i < n; i++) {
        x.set(embeddings.subarray(i * d, (i + 1) * d), i * p);
      }
    }
    this._lossView = new Float32Array(buffer, this._losses, n);
    this._cView = new Float32Array(buffer, this._c, p);
    this._refView = new Float32Array(buffer, this._refAt, p);
    this._aView = new Float64Array(buffer, this._a, p);
    this._bView = new Float64Array(buffer, this._b, p);
    this._outView = new Float64Array(buffer, this._out, 8);
    this._rowsView = new Int32Array(buffer, this._rows, n);
    this._center = new Float64Array(d);
  }

  /**
   * X as the module stores it: N rows of `stride` = P float32 values, the
   * first D of each the embedding and the rest zero. Writable: a shard
   * (shard.ts) loads its rows here; write only before the first `setLosses`.
   */
  get rows(): Float32Array {
    this._check();
    return this._xView;
  }

  /** P, the stored row length in float32 values (`paddedDimension(D)`). */
  get stride(): number {
    return this._p;
  }

  /** Drop the instance (its memory goes with it); idempotent. */
  dispose(): void {
    this._disposed = true;
  }

  /**
   * Copy the losses into the module's memory.
   *
   * @param losses - ℓ (N).
   */
  protected storeLosses(losses: Float32Array): void {
    this._check();
    this._lossView.set(losses);
  }

  /**
   * μ rounded to float32, written to the module's memory.
   *
   * @param center - μ (D).
   * @returns c = float32(μ), as float64 values.
   */
  passCenter(center: Float64Array): Float64Array {
    this._check();
    const c = this._cView;
    const out = this._center;
    for (let j = 0; j < this.d; j++) {
      c[j] = center[j];
      out[j] = c[j];
    }
    return out;
  }

  /**
   * The unpruned pass over rows [a, b): `accumulate` on them.
   *
   * @param _c - The centre (already in memory).
   * @param precision - τ.
   * @param a - First row.
   * @param b - One past the last.
   * @param out - Packed moments to add to.
   * @returns 0: each row is read once.
   */
  protected fullLeaf(
    _c: Float64Array,
    precision: number,
    a: number,
    b: number,
    out: Float64Array
  ): number {
    this._accumulateInto(4 * a, 0, b - a, precision, out);
    return 0;
  }

  /**
   * A rescan's pass over rows [a, b): `rescan` in the module, its tests
   * widened by `distanceRounding(P)`.
   *
   * @param ref - μ_ref (D), float32 values (it is a centre from `passCenter`).
   * @param bounds - Δ and the squared radii.
   * @param a - First row.
   * @param b - One past the last.
   * @param at - Where this leaf's shell rows go in the list.
   * @param out - Packed inside moments to add to.
   * @returns The number of shell rows.
   */
  protected rescanLeaf(
    ref: Float64Array,
    bounds: IShellBounds,
    a: number,
    b: number,
    at: number,
    out: Float64Array
  ): number {
    this._check();
    const r = this._refView;
    for (let j = 0; j < this.d; j++) {
      r[j] = ref[j];
    }
    this._zero();
    this._wasm.rescan(
      this._x + 4 * this._p * a,
      this._p,
      this._losses + 4 * a,
      b - a,
      this._refAt,
      distanceRounding(this._p),
      bounds.delta,
      bounds.insideBelow,
      bounds.outsideAbove,
      this._list,
      this._a,
      this._b,
      this._rows + 4 * at,
      this._out
    );
    const o = this._outView;
    const shell = o[4];
    // The module wrote leaf-local row indices: make them kernel-local.
    const rows = this._rowsView;
    for (let k = at; k < at + shell; k++) {
      rows[k] += a;
    }
    // Inside moments packed as [Y_ℓ, Y, Σℓ, n_in, Q, Q_ℓ]; the module's
    // out holds [n_in, Σℓ, Q, Q_ℓ].
    this._copyInto(out, true);
    return shell;
  }

  /**
   * The terms of shell list entries [s0, s1): `accumulate` over them.
   *
   * @param _c - The centre (already in memory).
   * @param precision - τ.
   * @param s0 - First entry.
   * @param s1 - One past the last.
   * @param out - Packed moments to add to.
   */
  protected shellLeaf(
    _c: Float64Array,
    precision: number,
    s0: number,
    s1: number,
    out: Float64Array
  ): void {
    this._accumulateInto(0, this._rows + 4 * s0, s1 - s0, precision, out);
  }

  /**
   * `accumulate` in the module on `count` rows from row `first / 4` (rows = 0),
   * or on a row list, into a leaf's zeroed packed moments.
   *
   * @param first - Byte offset of the first row's loss (4 × its index), or 0.
   * @param rows - Byte offset of the row list, or 0.
   * @param count - Number of rows.
   * @param precision - τ.
   * @param out - Packed moments of one leaf, zero.
   */
  private _accumulateInto(
    first: number,
    rows: number,
    count: number,
    precision: number,
    out: Float64Array
  ): void {
    this._check();
    this._zero();
    this._wasm.accumulate(
      this._x + this._p * first,
      this._p,
      this._losses + first,
      rows,
      count,
      this._c,
      precision,
      this._list,
      this._a,
      this._b,
      this._out
    );
    this._copyInto(out);
  }

  /** Throw when used after `dispose`. */
  private _check(): void {
    if (this._disposed) {
      throw new Error('This WasmKernel was disposed.');
    }
  }

  /** Zero the module's accumulators. */
  private _zero(): void {
    this._aView.fill(0);
    this._bView.fill(0);
    this._outView.fill(0);
  }

  /**
   * Copy the module's accumulators into packed moments (a leaf's, zeroed by
   * the caller: a copy is the same numbers as an addition to zero, at the
   * cost of a memory copy).
   *
   * @param out - Packed moments of one leaf, zero.
   * @param rescan - After `rescan` (its out[0] is the count, out[1] the
   *   loss: swapped into the packed places), else after `accumulate`.
   */
  private _copyInto(out: Float64Array, rescan = false): void {
    const d = this.d;
    const o = this._outView;
    out.set(this._aView.subarray(0, d), 0);
    out.set(this._bView.subarray(0, d), d);
    out[2 * d] = rescan ? o[1] : o[0];
    out[2 * d + 1] = rescan ? o[0] : o[1];
    out[2 * d + 2] = o[2];
    out[2 * d + 3] = o[3];
  }

  private readonly _wasm: IKernelExports;
  private readonly _p: number;
  private readonly _x: number;
  private readonly _losses: number;
  private readonly _rows: number;
  private readonly _c: number;
  private readonly _refAt: number;
  private readonly _list: number;
  private readonly _a: number;
  private readonly _b: number;
  private readonly _out: number;
  private readonly _xView: Float32Array;
  private readonly _lossView: Float32Array;
  private readonly _cView: Float32Array;
  private readonly _refView: Float32Array;
  private readonly _aView: Float64Array;
  private readonly _bView: Float64Array;
  private readonly _outView: Float64Array;
  private readonly _rowsView: Int32Array;
  private readonly _center: Float64Array;
  private _disposed = false;
}

/** Module state and helpers. */
namespace Private {
  /** Rows per float32 block of the vector sums (assembly/spotlight.ts). */
  export const BLOCK = 32;

  /** The compiled module, once asked for. */
  export const state: { module: Promise<WebAssembly.Module> | null } = {
    module: null
  };

  /**
   * Decode base64 (browser `atob` or Node `Buffer`).
   *
   * @param text - Base64.
   * @returns The bytes.
   */
  export function decode(text: string): Uint8Array {
    if (typeof atob === 'function') {
      const binary = atob(text);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) {
        bytes[i] = binary.charCodeAt(i);
      }
      return bytes;
    }
    return new Uint8Array(Buffer.from(text, 'base64'));
  }

  /**
   * A readable message for anything thrown.
   *
   * @param error - Anything.
   * @returns Its message.
   */
  export function message(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
  }
}
