/**
 * The `cpu` backend's kernel: the moments of objective.ts in plain
 * JavaScript, float64 (d'Eon et al. 2021; SPOTLIGHT_METHOD.md).
 */
import { squaredNorms } from './kernel';
import {
  IKernelRows,
  IShellBounds,
  IShellKernelOptions,
  ShellKernel
} from './shellKernel';

/** Options of a `HostKernel`. */
export interface IHostKernelOptions extends IShellKernelOptions, IKernelRows {
  /**
   * Values from one row's start to the next's, ≥ D (default D). A shard
   * (shard.ts) stores its rows padded for the WASM kernel; the `cpu` kernel
   * reads them in place, and the padding is never read.
   */
  stride?: number;
}

/**
 * The moments in plain JavaScript, float64 accumulation. This is the `cpu`
 * backend; for the problems it serves it is several times faster than tfjs's
 * own cpu backend, whose per-op overhead and matMul dominate a step.
 *
 * Unpruned (`pruning: false`), every step is a full pass: for each row,
 * d_i = ‖x_i‖² − 2x_i·μ + ‖μ‖² (D multiply-adds, unrolled), the scalar
 * moments, and for rows with a_i = 1 the row added to A_ℓ and A_1 while it is
 * in cache. Rows read per step: N.
 *
 * With `pruning: true`, exact shell evaluation (shellKernel.ts). A rescan
 * computes D_i² = ‖x_i − μ_ref‖² directly in float64 and widens its tests by
 * ε = 4(D + 4)·2⁻⁵²·(max‖x‖ + ‖μ_ref‖ + Δ)² (max ‖x‖ over all of X), which
 * bounds the rounding of d_i as the unpruned pass computes it and of D_i²
 * here.
 *
 * Sums run leaf by leaf (blocks.ts), so a `HostKernel` on part of X (a shard,
 * `offset`/`total`) computes exactly its nodes of the single kernel's sums.
 * `stats` counts rows of D float32 values.
 */
export class HostKernel extends ShellKernel {
  /**
   * @param embeddings - Row-major N × D embeddings (float32); row i starts at
   *   i · `options.stride` (default D).
   * @param n - N.
   * @param d - D.
   * @param norms - ‖x_i‖² (N), if already computed.
   * @param options - Exact shell evaluation, its margin, the row stride and
   *   where the rows sit in X.
   * @throws Error when the margin is not > 0 or the stride is below D.
   */
  constructor(
    private readonly embeddings: Float32Array,
    n: number,
    d: number,
    norms?: Float64Array,
    options: IHostKernelOptions = {}
  ) {
    super(n, d, 4 * d, options);
    const stride = options.stride ?? d;
    if (!(Number.isInteger(stride) && stride >= d)) {
      throw new Error(
        `The row stride must be a whole number ≥ D = ${d} (got ${stride}).`
      );
    }
    this._stride = stride;
    this._norms = norms ?? squaredNorms(embeddings, n, d, stride);
    this._losses = new Float32Array(n);
    let maxNorm = 0;
    for (let i = 0; i < n; i++) {
      maxNorm = Math.max(maxNorm, this._norms[i]);
    }
    this._maxNorm = Math.sqrt(maxNorm);
    this._shellRows = this.pruning ? new Int32Array(n) : new Int32Array(0);
  }

  /** Nothing to release. */
  dispose(): void {
    // Plain arrays only.
  }

  /**
   * μ itself: the passes are float64.
   *
   * @param center - μ (D).
   * @returns μ.
   */
  passCenter(center: Float64Array): Float64Array {
    return center;
  }

  /**
   * Keep the losses.
   *
   * @param losses - ℓ (N).
   */
  protected storeLosses(losses: Float32Array): void {
    this._losses = losses;
  }

  /**
   * max ‖x_i‖ over the kernel's rows.
   *
   * @returns The largest norm.
   */
  protected maxNorm(): number {
    return this._maxNorm;
  }

  /**
   * The unpruned pass over rows [a, b) (see the class comment).
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @param a - First row.
   * @param b - One past the last.
   * @param out - Packed moments to add to.
   * @returns 0: each row is read once.
   */
  protected fullLeaf(
    center: Float64Array,
    precision: number,
    a: number,
    b: number,
    out: Float64Array
  ): number {
    this._accumulate(center, precision, null, a, b, out);
    return 0;
  }

  /**
   * A rescan's pass over rows [a, b) in float64 (see the class comment for
   * its rounding bound).
   *
   * @param ref - μ_ref (D).
   * @param bounds - Δ, ‖μ_ref‖, max ‖x‖ and the squared radii.
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
    const { embeddings: X, d } = this;
    const stride = this._stride;
    const losses = this._losses;
    const { delta, insideBelow, outsideAbove } = bounds;
    const scale = bounds.maxNorm + bounds.refNorm + delta;
    const eps = 4 * (d + 4) * Math.pow(2, -52) * scale * scale;
    let count = 0;
    let sl = 0;
    let q = 0;
    let ql = 0;
    let shell = at;
    const shellRows = this._shellRows;
    const d4 = d - (d % 4);
    for (let i = a; i < b; i++) {
      const o = i * stride;
      let p0 = 0;
      let p1 = 0;
      let p2 = 0;
      let p3 = 0;
      let j = 0;
      for (; j < d4; j += 4) {
        const v0 = X[o + j] - ref[j];
        const v1 = X[o + j + 1] - ref[j + 1];
        const v2 = X[o + j + 2] - ref[j + 2];
        const v3 = X[o + j + 3] - ref[j + 3];
        p0 += v0 * v0;
        p1 += v1 * v1;
        p2 += v2 * v2;
        p3 += v3 * v3;
      }
      for (; j < d; j++) {
        const v = X[o + j] - ref[j];
        p0 += v * v;
      }
      const d2 = p0 + p1 + (p2 + p3);
      const upper = Math.sqrt(d2 + eps) + delta;
      if (upper * upper + eps < insideBelow) {
        const l = losses[i];
        count += 1;
        sl += l;
        q += d2;
        ql += l * d2;
        for (let k = 0; k < d; k++) {
          const v = X[o + k] - ref[k];
          out[k] += l * v;
          out[d + k] += v;
        }
        continue;
      }
      const lower = Math.sqrt(Math.max(0, d2 - eps)) - delta;
      if (!(lower > 0 && lower * lower - eps > outsideAbove)) {
        shellRows[shell++] = i;
      }
    }
    out[2 * d] += sl;
    out[2 * d + 1] += count;
    out[2 * d + 2] += q;
    out[2 * d + 3] += ql;
    return shell - at;
  }

  /**
   * The terms of shell list entries [s0, s1), with the unpruned pass's
   * arithmetic.
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @param s0 - First entry.
   * @param s1 - One past the last.
   * @param out - Packed moments to add to.
   */
  protected shellLeaf(
    center: Float64Array,
    precision: number,
    s0: number,
    s1: number,
    out: Float64Array
  ): void {
    this._accumulate(center, precision, this._shellRows, s0, s1, out);
  }

  /**
   * The unpruned arithmetic on rows r0 … r1 − 1, or on the rows listed in
   * `rows` at those places: for each row with u = 1 − τ d_i ≥ 0, the scalar
   * moments and the row added to A_ℓ and A_1 while it is in cache.
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @param rows - Row indices, or null for the rows themselves.
   * @param r0 - First place.
   * @param r1 - One past the last.
   * @param out - Packed moments to add to.
   */
  private _accumulate(
    center: Float64Array,
    precision: number,
    rows: Int32Array | null,
    r0: number,
    r1: number,
    out: Float64Array
  ): void {
    const { embeddings: X, d } = this;
    const stride = this._stride;
    const norms = this._norms;
    const losses = this._losses;
    let mm = 0;
    for (let j = 0; j < d; j++) {
      mm += center[j] * center[j];
    }
    let sl = 0;
    let s1 = 0;
    let K = 0;
    let L = 0;
    const d4 = d - (d % 4);
    for (let r = r0; r < r1; r++) {
      const i = rows ? rows[r] : r;
      const o = i * stride;
      const u = 1 - precision * rowDistance(X, o, norms[i], center, mm, d, d4);
      if (u >= 0) {
        const l = losses[i];
        sl += l;
        s1 += 1;
        K += u;
        L += u * l;
        for (let q = 0; q < d; q++) {
          const x = X[o + q];
          out[q] += l * x;
          out[d + q] += x;
        }
      }
    }
    out[2 * d] += sl;
    out[2 * d + 1] += s1;
    out[2 * d + 2] += K;
    out[2 * d + 3] += L;
  }

  private readonly _stride: number;
  private readonly _norms: Float64Array;
  private readonly _maxNorm: number;
  private readonly _shellRows: Int32Array;
  private _losses: Float32Array;
}

/**
 * d_i = max(0, ‖x_i‖² − 2 x_i·μ + ‖μ‖²) for one row, as the unpruned and the
 * shell passes both compute it (so both round identically).
 *
 * @param X - Row-major N × D embeddings.
 * @param o - Offset of the row, i·D.
 * @param norm - ‖x_i‖².
 * @param center - μ (D).
 * @param mm - ‖μ‖².
 * @param d - D.
 * @param d4 - D rounded down to a multiple of 4.
 * @returns The squared distance.
 */
function rowDistance(
  X: Float32Array,
  o: number,
  norm: number,
  center: ArrayLike<number>,
  mm: number,
  d: number,
  d4: number
): number {
  const dist = norm - 2 * rowDot(X, o, center, d, d4) + mm;
  return dist < 0 ? 0 : dist;
}

/**
 * x_i · μ for one row, in float64, unrolled by 4 with 4 partial sums (V8
 * does not vectorise; shorter dependency chains make the pass ~30 % faster).
 * The pruned and unpruned passes share it, so both round identically.
 *
 * @param X - Row-major N × D embeddings.
 * @param o - Offset of the row, i·D.
 * @param center - μ (D).
 * @param d - D.
 * @param d4 - D rounded down to a multiple of 4.
 * @returns The dot product.
 */
function rowDot(
  X: Float32Array,
  o: number,
  center: ArrayLike<number>,
  d: number,
  d4: number
): number {
  let p0 = 0;
  let p1 = 0;
  let p2 = 0;
  let p3 = 0;
  let j = 0;
  for (; j < d4; j += 4) {
    p0 += X[o + j] * center[j];
    p1 += X[o + j + 1] * center[j + 1];
    p2 += X[o + j + 2] * center[j + 2];
    p3 += X[o + j + 3] * center[j + 3];
  }
  for (; j < d; j++) {
    p0 += X[o + j] * center[j];
  }
  return p0 + p1 + (p2 + p3);
}
