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
  /** Work counters since construction (a copy). */
  readonly stats: IKernelStats;
  /** Release every resource (tensors); idempotent. */
  dispose(): void;
}

/**
 * What a kernel has done since it was made: the work behind the bytes-per-step
 * figures. Counts the `moments` calls only (not the final weights pass).
 */
export interface IKernelStats {
  /** `moments` calls (optimisation steps). */
  steps: number;
  /** Rows of X read, each row counted once per pass that reads it. */
  rowsRead: number;
  /** Full passes over X (every row read; for shell evaluation, the rescans). */
  fullPasses: number;
  /** Bytes in one stored row: 4·D (float32 X) or 4·(D + 2) (tfjs's X̃). */
  rowBytes: number;
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

/** Options of a `HostKernel`. */
export interface IHostKernelOptions {
  /**
   * Exact shell evaluation (see `HostKernel`); default false here (the engine
   * turns it on for the cpu backend unless the search's `pruning` is false).
   */
  pruning?: boolean;
  /**
   * The margin of a reference: the centre may move Δ = margin · r_ref and the
   * radius may change by a factor (1 + margin) either way before a rescan
   * (default `SHELL_MARGIN`).
   */
  margin?: number;
}

/**
 * The default margin of exact shell evaluation: on planted 5,000 × 64 data at
 * the paper's defaults it read the fewest rows of X over a whole run (rows
 * per step: 868 at 0.0025, 737 at 0.005, 932 at 0.01, 1,546 at 0.02, 2,861
 * at 0.05; unpruned 5,790).
 */
export const SHELL_MARGIN = 0.005;

/**
 * The moments in plain JavaScript, float64 accumulation. This is the `cpu`
 * backend; for the problems it serves it is several times faster than tfjs's
 * own cpu backend, whose per-op overhead and matMul dominate a step.
 *
 * Unpruned (`pruning: false`), every step is a full pass. Pass 1 computes d_i
 * (D multiply-adds per row, unrolled) and the scalar moments, and marks the
 * support a_i = 1. Pass 2 forms A_ℓ and A_1 over the support, or — when more
 * than half the rows are active — as the totals over all rows (precomputed per
 * loss vector) minus the inactive rows: the same sums, at a cost of
 * min(#active, #inactive) · 2D instead of #active · 2D. Rows read per step:
 * N + min(#active, #inactive).
 *
 * Exact shell evaluation (`pruning: true`; issue 7). A rescan (one pass over
 * X) at the current (μ, τ) sets a reference μ_ref = μ, r_ref = τ^(−1/2), a
 * centre margin Δ = m·r_ref and a radius range [r_ref/(1+m), r_ref·(1+m)],
 * computes D_i² = ‖x_i − μ_ref‖² directly in float64, and splits the rows:
 *   inside  — (D_i + Δ)² + ε < r_lo²: a_i = 1 for every (μ, τ) in the margin;
 *   outside — (D_i − Δ)² − ε > r_hi²: a_i = 0 (k_i = 0, no gradient);
 *   shell   — the rest,
 * where ε = 4(D + 4)·2⁻⁵²·(max‖x‖ + ‖μ_ref‖ + Δ)² bounds the rounding of d_i
 * as the unpruned pass computes it, so every inside/outside decision is the
 * one that pass would make. For the inside set it keeps, in float64, with
 * y_i = x_i − μ_ref: n_in, Σℓ_i, Y = Σy_i, Y_ℓ = Σℓ_i y_i (D each),
 * Q = Σ‖y_i‖², Q_ℓ = Σℓ_i‖y_i‖². While ‖μ − μ_ref‖ ≤ Δ and r is in range, with
 * δ = μ − μ_ref (so d_i = ‖y_i − δ‖², a polynomial in δ):
 *   Σ_in k_i    = n_in − τ (Q − 2δ·Y + n_in‖δ‖²)
 *   Σ_in k_i ℓ_i = Σ_in ℓ_i − τ (Q_ℓ − 2δ·Y_ℓ + Σ_in ℓ_i ‖δ‖²)
 *   Σ_in a_i x_i = Y + n_in μ_ref,  Σ_in a_i ℓ_i x_i = Y_ℓ + (Σ_in ℓ_i) μ_ref
 *   S_1 += n_in,  S_ℓ += Σ_in ℓ_i
 * and only the shell rows are read, with the unpruned pass's own arithmetic.
 * The moments are the unpruned ones up to float64 rounding (summation order);
 * J and ∇J follow from them unchanged (`evaluateObjective`). A step outside
 * the margin rescans first. Rows read per step: the shell, plus N on a
 * rescan.
 *
 * `stats` counts the steps, the rows of X read (row = D float32 values) and
 * the full passes.
 */
export class HostKernel implements IObjectiveKernel {
  /**
   * @param embeddings - Row-major N × D embeddings.
   * @param n - N.
   * @param d - D.
   * @param norms - ‖x_i‖² (N), if already computed.
   * @param options - Exact shell evaluation and its margin.
   */
  constructor(
    private readonly embeddings: Float32Array,
    private readonly n: number,
    private readonly d: number,
    norms?: Float64Array,
    options: IHostKernelOptions = {}
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
    this.pruning = options.pruning ?? false;
    this._margin = options.margin ?? SHELL_MARGIN;
    if (!(this._margin > 0)) {
      throw new Error(`The shell margin must be > 0 (got ${this._margin}).`);
    }
    let maxNorm = 0;
    for (let i = 0; i < n; i++) {
      maxNorm = Math.max(maxNorm, this._norms[i]);
    }
    this._maxNorm = Math.sqrt(maxNorm);
    this._ref = new Float64Array(d);
    this._inY = new Float64Array(d);
    this._inLY = new Float64Array(d);
    this._shell = this.pruning ? new Int32Array(n) : new Int32Array(0);
    this._stats = { steps: 0, rowsRead: 0, fullPasses: 0, rowBytes: 4 * d };
  }

  /** Whether exact shell evaluation is on. */
  readonly pruning: boolean;

  /** Work counters since construction (a copy). */
  get stats(): IKernelStats {
    return { ...this._stats };
  }

  /** Rows in the current shell (N when unpruned or before the first rescan). */
  get shellSize(): number {
    return this.pruning && this._refValid ? this._shellCount : this.n;
  }

  /**
   * Set the losses and precompute Σ_i ℓ_i x_i over all rows (O(N · D)).
   * Drops the reference of shell evaluation (its moments hold ℓ).
   *
   * @param losses - ℓ (N).
   */
  setLosses(losses: Float32Array): void {
    const { embeddings: X, n, d } = this;
    this._losses = losses;
    this._refValid = false;
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
    this._stats.steps += 1;
    if (this.pruning) {
      if (!this._inMargin(center, precision)) {
        this._rescan(center, precision);
      }
      this._shellMoments(center, precision, out);
    } else {
      this._fullMoments(center, precision, out);
    }
  }

  /** Nothing to release. */
  dispose(): void {
    // Plain arrays only.
  }

  /**
   * The unpruned pass (see the class comment).
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @param out - The moments to fill.
   */
  private _fullMoments(
    center: Float64Array,
    precision: number,
    out: IMoments
  ): void {
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
    const d4 = d - (d % 4);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      let dist = norms[i] - 2 * rowDot(X, o, center, d, d4) + mm;
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
    this._stats.rowsRead += n + (complement ? n - s1 : s1);
    this._stats.fullPasses += 1;
  }

  /**
   * Whether (μ, τ) lies within the margin of the current reference.
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @returns False when there is no reference or (μ, τ) left its margin.
   */
  private _inMargin(center: Float64Array, precision: number): boolean {
    if (!this._refValid) {
      return false;
    }
    if (!(precision >= this._tauLo && precision <= this._tauHi)) {
      return false;
    }
    const ref = this._ref;
    let dd = 0;
    for (let j = 0; j < this.d; j++) {
      const v = center[j] - ref[j];
      dd += v * v;
    }
    return dd <= this._delta * this._delta;
  }

  /**
   * A rescan: new reference at (μ, τ), new inside/shell/outside split and the
   * inside set's moments, in one pass over X (see the class comment).
   *
   * @param center - μ (D), the new μ_ref.
   * @param precision - τ, giving r_ref = τ^(−1/2).
   */
  private _rescan(center: Float64Array, precision: number): void {
    const { embeddings: X, n, d } = this;
    const losses = this._losses;
    const ref = this._ref;
    ref.set(center);
    let refNorm = 0;
    for (let j = 0; j < d; j++) {
      refNorm += ref[j] * ref[j];
    }
    refNorm = Math.sqrt(refNorm);
    const m = this._margin;
    const r = 1 / Math.sqrt(precision);
    const delta = m * r;
    const rLo = r / (1 + m);
    const rHi = r * (1 + m);
    this._delta = delta;
    this._tauLo = 1 / (rHi * rHi);
    this._tauHi = 1 / (rLo * rLo);
    // A bound on the rounding of d_i in the unpruned pass and of D_i² here.
    const scale = this._maxNorm + refNorm + delta;
    const eps = 4 * (d + 4) * Math.pow(2, -52) * scale * scale;
    const insideBelow = rLo * rLo * (1 - 1e-14);
    const outsideAbove = rHi * rHi * (1 + 1e-14);
    const Y = this._inY;
    const LY = this._inLY;
    Y.fill(0);
    LY.fill(0);
    let count = 0;
    let sl = 0;
    let q = 0;
    let ql = 0;
    let shell = 0;
    const shellRows = this._shell;
    const d4 = d - (d % 4);
    for (let i = 0; i < n; i++) {
      const o = i * d;
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
          Y[k] += v;
          LY[k] += l * v;
        }
        continue;
      }
      const lower = Math.sqrt(Math.max(0, d2 - eps)) - delta;
      if (!(lower > 0 && lower * lower - eps > outsideAbove)) {
        shellRows[shell++] = i;
      }
    }
    this._shellCount = shell;
    this._inCount = count;
    this._inLoss = sl;
    this._inQ = q;
    this._inLQ = ql;
    this._refValid = true;
    this._stats.rowsRead += n;
    this._stats.fullPasses += 1;
  }

  /**
   * The moments from the inside set's moments and the shell rows.
   *
   * @param center - μ (D), within the margin.
   * @param precision - τ, within the margin.
   * @param out - The moments to fill.
   */
  private _shellMoments(
    center: Float64Array,
    precision: number,
    out: IMoments
  ): void {
    const { embeddings: X, d } = this;
    const norms = this._norms;
    const losses = this._losses;
    const ref = this._ref;
    const Y = this._inY;
    const LY = this._inLY;
    const A = out.lossMoment;
    const B = out.activeMoment;
    const count = this._inCount;
    const inLoss = this._inLoss;
    let mm = 0;
    let dd = 0;
    let dY = 0;
    let dLY = 0;
    for (let j = 0; j < d; j++) {
      const c = center[j];
      mm += c * c;
      const v = c - ref[j];
      dd += v * v;
      dY += v * Y[j];
      dLY += v * LY[j];
      A[j] = LY[j] + inLoss * ref[j];
      B[j] = Y[j] + count * ref[j];
    }
    let K = count - precision * (this._inQ - 2 * dY + count * dd);
    let L = inLoss - precision * (this._inLQ - 2 * dLY + inLoss * dd);
    let sl = inLoss;
    let s1 = count;
    // The shell: the unpruned pass's arithmetic, row by row.
    const shellRows = this._shell;
    const shell = this._shellCount;
    const d4 = d - (d % 4);
    for (let r = 0; r < shell; r++) {
      const i = shellRows[r];
      const o = i * d;
      let dist = norms[i] - 2 * rowDot(X, o, center, d, d4) + mm;
      if (dist < 0) {
        dist = 0;
      }
      const u = 1 - precision * dist;
      if (u >= 0) {
        const l = losses[i];
        sl += l;
        s1 += 1;
        K += u;
        L += u * l;
        for (let q = 0; q < d; q++) {
          const x = X[o + q];
          B[q] += x;
          A[q] += l * x;
        }
      }
    }
    out.activeLoss = sl;
    out.activeCount = s1;
    out.totalWeight = K;
    out.weightedLossSum = L;
    this._stats.rowsRead += shell;
  }

  private readonly _norms: Float64Array;
  private readonly _active: Uint8Array;
  private readonly _sumX: Float64Array;
  private readonly _sumLX: Float64Array;
  private _losses: Float32Array;
  private readonly _stats: IKernelStats;
  // Exact shell evaluation.
  private readonly _margin: number;
  private readonly _maxNorm: number;
  private readonly _ref: Float64Array;
  private readonly _inY: Float64Array;
  private readonly _inLY: Float64Array;
  private readonly _shell: Int32Array;
  private _refValid = false;
  private _delta = 0;
  private _tauLo = 0;
  private _tauHi = 0;
  private _shellCount = 0;
  private _inCount = 0;
  private _inLoss = 0;
  private _inQ = 0;
  private _inLQ = 0;
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
    this._stats = {
      steps: 0,
      rowsRead: 0,
      fullPasses: 0,
      rowBytes: 4 * (d + 2)
    };
  }

  /**
   * Work counters since creation (a copy): each step reads X̃ twice (the z
   * product over X̃ᵀ or X̃ read transposed, and the M product), 2N rows of
   * D + 2 float32 values.
   */
  get stats(): IKernelStats {
    return { ...this._stats };
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
    this._stats.steps += 1;
    this._stats.rowsRead += 2 * this.n;
    this._stats.fullPasses += 1;
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
  private readonly _stats: IKernelStats;
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
