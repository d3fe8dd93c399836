/**
 * The Spotlight objective and its analytic gradient (d'Eon et al. 2021;
 * SPOTLIGHT_METHOD.md "One spotlight").
 *
 * Parameters θ = (μ, s): centre μ ∈ R^D and log-precision s, τ = e^s.
 *   d_i = max(0, ‖x_i‖² − 2 x_i·μ + ‖μ‖²)          squared distance (embedding units²)
 *   k_i = max(0, 1 − τ d_i),  a_i = [1 − τ d_i ≥ 0]  truncated quadratic kernel
 *   K = Σ k_i,  f = Σ k_i ℓ_i / K                    total weight, weighted mean loss
 *   P = c · max(0, S + b_t − K)² / b_t²              soft size penalty
 *   J = f − P                                        maximised
 * With P′ = dP/dK and g_i = a_i ((ℓ_i − f)/K − P′):
 *   ∂J/∂μ = 2τ (Xᵀg − (Σ g_i) μ),   ∂J/∂s = −τ Σ g_i d_i.
 *
 * Writing g_i = a_i (α ℓ_i − β) with α = 1/K and β = f/K + P′, and using
 * a_i τ d_i = a_i − k_i, every term of J and ∇J follows from six *moments*
 * of one pass over X:
 *   A_ℓ = Σ a_i ℓ_i x_i (D),  A_1 = Σ a_i x_i (D),  S_ℓ = Σ a_i ℓ_i,  S_1 = Σ a_i,
 *   K = Σ k_i,  L = Σ k_i ℓ_i,
 * so that Xᵀg = α A_ℓ − β A_1, Σ g = α S_ℓ − β S_1 and
 * τ Σ g_i d_i = α (S_ℓ − L) − β (S_1 − K).
 *
 * A kernel (`IObjectiveKernel`) computes the moments: `HostKernel` in plain
 * JavaScript (float64), `TensorKernel` on a tfjs backend (float32) with one
 * Xμ product and one Xᵀ[G] product per step — never an N × D temporary — and
 * a single read-back of 4 × (D + 2) values. `evaluateObjective` turns the
 * moments into J, K, f and ∇J on the host.
 */
import * as tf from '@tensorflow/tfjs';

import { squaredNorms } from './kernel';
import { sizePenalty } from './schedule';

/** The six moments of one pass over X (see the module comment). */
export interface IMoments {
  /** A_ℓ = Σ a_i ℓ_i x_i (D). */
  lossMoment: Float64Array;
  /** A_1 = Σ a_i x_i (D). */
  activeMoment: Float64Array;
  /** S_ℓ = Σ a_i ℓ_i. */
  activeLoss: number;
  /** S_1 = Σ a_i. */
  activeCount: number;
  /** K = Σ k_i. */
  totalWeight: number;
  /** L = Σ k_i ℓ_i. */
  weightedLossSum: number;
}

/**
 * Allocate moments for dimension D.
 *
 * @param d - D.
 * @returns Zeroed moments.
 */
export function createMoments(d: number): IMoments {
  return {
    lossMoment: new Float64Array(d),
    activeMoment: new Float64Array(d),
    activeLoss: 0,
    activeCount: 0,
    totalWeight: 0,
    weightedLossSum: 0
  };
}

/** What computes the moments: a backend-specific pass over X. */
export interface IObjectiveKernel {
  /** Set the losses ℓ (N) the next evaluations use. */
  setLosses(losses: Float32Array): void;
  /**
   * Compute the moments at (μ, τ) into `out`.
   *
   * @param center - μ (D), float64.
   * @param precision - τ > 0.
   * @param out - The moments to fill.
   */
  moments(center: Float64Array, precision: number, out: IMoments): void;
  /** Release every resource (tensors); idempotent. */
  dispose(): void;
}

/** J, K, f and the penalty at one step (∇J is written into a caller's array). */
export interface IObjectiveValue {
  /** J = f − P. */
  objective: number;
  /** K = Σ k_i. */
  totalWeight: number;
  /** f = Σ k_i ℓ_i / K (NaN when K = 0). */
  weightedLoss: number;
  /** P, the size penalty. */
  penalty: number;
}

/**
 * J and its analytic gradient from the moments, in float64.
 *
 * @param m - Moments at (μ, τ).
 * @param center - μ (D).
 * @param precision - τ.
 * @param size - S, in examples.
 * @param barrier - b_t, in examples.
 * @param scale - Barrier scale c.
 * @param grad - Output ∇J (D + 1): ∂J/∂μ then ∂J/∂s. Left untouched when K ≤ 0.
 * @returns J, K, f and P (J and f are NaN when K ≤ 0).
 */
export function evaluateObjective(
  m: IMoments,
  center: Float64Array,
  precision: number,
  size: number,
  barrier: number,
  scale: number,
  grad: Float64Array
): IObjectiveValue {
  const K = m.totalWeight;
  const { penalty, slope } = sizePenalty(K, size, barrier, scale);
  if (!(K > 0)) {
    return { objective: NaN, totalWeight: K, weightedLoss: NaN, penalty };
  }
  const f = m.weightedLossSum / K;
  const alpha = 1 / K;
  const beta = f / K + slope;
  const sumG = alpha * m.activeLoss - beta * m.activeCount;
  const d = center.length;
  const twoTau = 2 * precision;
  for (let j = 0; j < d; j++) {
    grad[j] =
      twoTau *
      (alpha * m.lossMoment[j] - beta * m.activeMoment[j] - sumG * center[j]);
  }
  grad[d] = -(
    alpha * (m.activeLoss - m.weightedLossSum) -
    beta * (m.activeCount - K)
  );
  return { objective: f - penalty, totalWeight: K, weightedLoss: f, penalty };
}

/**
 * The moments in plain JavaScript, float64 accumulation. This is the `cpu`
 * backend; for the problems it serves it is several times faster than tfjs's
 * own cpu backend, whose per-op overhead and matMul dominate a step.
 *
 * Pass 1 computes d_i (D multiply-adds per row, unrolled) and the scalar
 * moments, and marks the support a_i = 1. Pass 2 forms A_ℓ and A_1 over the
 * support, or — when more than half the rows are active — as the totals over
 * all rows (precomputed per loss vector) minus the inactive rows: the same
 * sums, at a cost of min(#active, #inactive) · 2D instead of #active · 2D.
 */
export class HostKernel implements IObjectiveKernel {
  /**
   * @param embeddings - Row-major N × D embeddings.
   * @param n - N.
   * @param d - D.
   * @param norms - ‖x_i‖² (N), if already computed.
   */
  constructor(
    private readonly embeddings: Float32Array,
    private readonly n: number,
    private readonly d: number,
    norms?: Float64Array
  ) {
    this._norms = norms ?? squaredNorms(embeddings, n, d);
    this._losses = new Float32Array(n);
    this._active = new Uint8Array(n);
    this._sumX = new Float64Array(d);
    this._sumLX = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      for (let q = 0; q < d; q++) {
        this._sumX[q] += embeddings[o + q];
      }
    }
  }

  /**
   * Set the losses and precompute Σ_i ℓ_i x_i over all rows (O(N · D)).
   *
   * @param losses - ℓ (N).
   */
  setLosses(losses: Float32Array): void {
    const { embeddings: X, n, d } = this;
    this._losses = losses;
    const t = this._sumLX;
    t.fill(0);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      const l = losses[i];
      if (l !== 0) {
        for (let q = 0; q < d; q++) {
          t[q] += l * X[o + q];
        }
      }
    }
  }

  /**
   * Compute the moments at (μ, τ).
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @param out - The moments to fill.
   */
  moments(center: Float64Array, precision: number, out: IMoments): void {
    const { embeddings: X, n, d } = this;
    const norms = this._norms;
    const losses = this._losses;
    const active = this._active;
    let mm = 0;
    for (let j = 0; j < d; j++) {
      mm += center[j] * center[j];
    }
    let sl = 0;
    let s1 = 0;
    let K = 0;
    let L = 0;
    // Unrolled by 4 with 4 partial sums: V8 does not vectorise, and shorter
    // dependency chains make this pass ~30 % faster.
    const d4 = d - (d % 4);
    for (let i = 0; i < n; i++) {
      const o = i * d;
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
      let dist = norms[i] - 2 * (p0 + p1 + (p2 + p3)) + mm;
      if (dist < 0) {
        dist = 0;
      }
      const u = 1 - precision * dist;
      if (u >= 0) {
        const l = losses[i];
        active[i] = 1;
        sl += l;
        s1 += 1;
        K += u;
        L += u * l;
      } else {
        active[i] = 0;
      }
    }
    const A = out.lossMoment;
    const B = out.activeMoment;
    const complement = s1 > n / 2;
    if (complement) {
      A.set(this._sumLX);
      B.set(this._sumX);
    } else {
      A.fill(0);
      B.fill(0);
    }
    const want = complement ? 0 : 1;
    const sign = complement ? -1 : 1;
    for (let i = 0; i < n; i++) {
      if (active[i] !== want) {
        continue;
      }
      const o = i * d;
      const l = sign * losses[i];
      for (let q = 0; q < d; q++) {
        const x = X[o + q];
        B[q] += sign * x;
        A[q] += l * x;
      }
    }
    out.activeLoss = sl;
    out.activeCount = s1;
    out.totalWeight = K;
    out.weightedLossSum = L;
  }

  /** Nothing to release. */
  dispose(): void {
    // Plain arrays only.
  }

  private readonly _norms: Float64Array;
  private readonly _active: Uint8Array;
  private readonly _sumX: Float64Array;
  private readonly _sumLX: Float64Array;
  private _losses: Float32Array;
}

/**
 * The moments on a tfjs backend (webgl or wasm), float32.
 *
 * Device data: X̃ = [X | 1 | ‖x‖²] (N × (D + 2)), uploaded once, and on wasm
 * also X̃ᵀ (the layout its matrix-vector kernel is fast on); ℓ as 1 × N.
 * Per step, in one `tf.tidy`:
 *   z = v X̃ᵀ with v = [−2μ, ‖μ‖², 1]          → d = max(0, z)        (1 × N)
 *   k = max(0, 1 − τ d),  a = [τ d ≤ 1]                                (1 × N)
 *   M = [aℓ; a; k; kℓ] X̃                                              (4 × (D + 2))
 * and one `dataSync` of M: row 0 gives A_ℓ and S_ℓ, row 1 A_1 and S_1, the
 * ones-column of rows 2 and 3 gives K and L.
 *
 * On wasm, XNNPACK packs a matrix the first time it multiplies by it (≈ 10 ms
 * per million values, in one blocking call). So that the page stays
 * responsive, X̃ᵀ is split into blocks of rows of X (z is their products,
 * concatenated) and X̃ into blocks of columns (M is their products,
 * concatenated), each of at most ~1M values, and each block is packed at
 * creation with a pause after it. Neither split adds arithmetic.
 */
export class TensorKernel implements IObjectiveKernel {
  /**
   * Build and upload X̃ (and X̃ᵀ) block by block, pausing between blocks.
   *
   * @param embeddings - Row-major N × D embeddings.
   * @param n - N.
   * @param d - D.
   * @param options - `transposed`: keep X̃ᵀ too and use blocks (wasm);
   *   without it X̃ is one tensor read transposed for z (webgl does that for
   *   free). `norms`: ‖x_i‖², if already computed. `pause`: called between
   *   blocks (to yield to the event loop); may reject to cancel.
   *   `blockValues`: values per block (default 2^20).
   * @returns The kernel (its owner disposes it).
   */
  static async create(
    embeddings: Float32Array,
    n: number,
    d: number,
    options: {
      transposed: boolean;
      norms?: Float64Array;
      pause?: () => Promise<void>;
      blockValues?: number;
    }
  ): Promise<TensorKernel> {
    const w = d + 2;
    const norms = options.norms ?? squaredNorms(embeddings, n, d);
    const pause = options.pause ?? (() => Promise.resolve());
    const block = options.blockValues ?? 1 << 20;
    const blocked = options.transposed;
    // X̃[i, j]: x_ij for j < D, then 1, then ‖x_i‖².
    const value = (i: number, j: number) =>
      j < d ? embeddings[i * d + j] : j === d ? 1 : norms[i];
    const kernel = new TensorKernel(n, d);
    try {
      if (blocked) {
        const rows = Math.max(1, Math.floor(block / w));
        for (let start = 0; start < n; start += rows) {
          const count = Math.min(rows, n - start);
          const hostT = new Float32Array(w * count);
          for (let r = 0; r < count; r++) {
            for (let j = 0; j < w; j++) {
              hostT[j * count + r] = value(start + r, j);
            }
          }
          kernel._addTransposedBlock(hostT, count);
          await pause();
        }
      }
      const cols = blocked ? Math.max(1, Math.floor(block / n)) : w;
      for (let c0 = 0; c0 < w; c0 += cols) {
        const width = Math.min(cols, w - c0);
        const host = new Float32Array(n * width);
        for (let i = 0; i < n; i++) {
          for (let c = 0; c < width; c++) {
            host[i * width + c] = value(i, c0 + c);
          }
        }
        kernel._addColumnBlock(host, width, blocked);
        await pause();
      }
    } catch (error) {
      kernel.dispose();
      throw error;
    }
    return kernel;
  }

  /**
   * An empty kernel; use `TensorKernel.create`.
   *
   * @param n - N.
   * @param d - D.
   */
  private constructor(
    private readonly n: number,
    private readonly d: number
  ) {
    this._v = new Float32Array(d + 2);
    this._one = tf.scalar(1, 'float32');
  }

  /** Number of blocks of X̃ᵀ (rows of X) and of X̃ (columns). */
  get blockCount(): { rows: number; columns: number } {
    return { rows: this._xt.length, columns: this._x.length };
  }

  /**
   * Upload the losses (replacing the previous ones).
   *
   * @param losses - ℓ (N).
   */
  setLosses(losses: Float32Array): void {
    this._loss?.dispose();
    this._loss = null;
    this._loss = tf.tensor2d(losses, [1, this.n], 'float32');
  }

  /**
   * Compute the moments at (μ, τ): one tidy step and one read-back.
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @param out - The moments to fill.
   */
  moments(center: Float64Array, precision: number, out: IMoments): void {
    const d = this.d;
    const w = d + 2;
    const loss = this._loss!;
    const one = this._one!;
    const v = this._v;
    let mm = 0;
    for (let j = 0; j < d; j++) {
      v[j] = -2 * center[j];
      mm += center[j] * center[j];
    }
    v[d] = mm;
    v[d + 1] = 1;
    const result = tf.tidy(() => {
      const vt = tf.tensor2d(v, [1, w], 'float32');
      const tau = tf.scalar(precision, 'float32');
      // z_i = ‖x_i‖² − 2 x_i·μ + ‖μ‖²  (1 × N)
      const z = this._xt.length
        ? Private.join(this._xt.map(b => tf.matMul(vt, b)))
        : tf.matMul(vt, this._x[0], false, true);
      const td = tf.mul(tf.relu(z), tau);
      const k = tf.relu(tf.sub(one, td));
      const a = tf.cast(tf.lessEqual(td, one), 'float32');
      const G = tf.concat([tf.mul(a, loss), a, k, tf.mul(k, loss)], 0);
      // One pass over X̃: (4 × N)(N × (D + 2)), by column blocks.
      return Private.join(this._x.map(b => tf.matMul(G, b)));
    });
    let m: Float32Array;
    try {
      m = result.dataSync() as Float32Array;
    } finally {
      result.dispose();
    }
    for (let j = 0; j < d; j++) {
      out.lossMoment[j] = m[j];
      out.activeMoment[j] = m[w + j];
    }
    out.activeLoss = m[d];
    out.activeCount = m[w + d];
    out.totalWeight = m[2 * w + d];
    out.weightedLossSum = m[3 * w + d];
  }

  /** Dispose every tensor; idempotent. */
  dispose(): void {
    tf.dispose([...this._x, ...this._xt]);
    this._x = [];
    this._xt = [];
    this._one?.dispose();
    this._loss?.dispose();
    this._one = null;
    this._loss = null;
  }

  /**
   * Upload a block of X̃ᵀ (all D + 2 rows, some columns) and multiply by it
   * once, so that the backend prepares (packs) it now, not in the first step.
   *
   * @param hostT - (D + 2) × count values, row-major.
   * @param count - Number of examples in the block.
   */
  private _addTransposedBlock(hostT: Float32Array, count: number): void {
    const w = this.d + 2;
    const xt = tf.tensor2d(hostT, [w, count], 'float32');
    this._xt.push(xt);
    tf.tidy(() => {
      tf.matMul(tf.zeros([1, w]), xt).dataSync();
    });
  }

  /**
   * Upload a block of X̃ (all N rows, some columns), and when `warm`, multiply
   * by it once so that the backend prepares (packs) it now.
   *
   * @param host - N × width values, row-major.
   * @param width - Number of columns.
   * @param warm - Whether to run the product once.
   */
  private _addColumnBlock(
    host: Float32Array,
    width: number,
    warm: boolean
  ): void {
    const x = tf.tensor2d(host, [this.n, width], 'float32');
    this._x.push(x);
    if (warm) {
      tf.tidy(() => {
        tf.matMul(tf.zeros([4, this.n]), x).dataSync();
      });
    }
  }

  /** Column blocks of X̃, N × width each. */
  private _x: tf.Tensor2D[] = [];
  /** Blocks of X̃ᵀ, (D + 2) × count each (wasm only). */
  private _xt: tf.Tensor2D[] = [];
  private _one: tf.Scalar | null;
  private _loss: tf.Tensor2D | null = null;
  private readonly _v: Float32Array;
}

/** Helpers. */
namespace Private {
  /**
   * Concatenate matrices side by side (axis 1), or return the only one.
   *
   * @param parts - Matrices with equal row counts.
   * @returns Their concatenation.
   */
  export function join(parts: tf.Tensor2D[]): tf.Tensor2D {
    return parts.length === 1 ? parts[0] : tf.concat(parts, 1);
  }
}
