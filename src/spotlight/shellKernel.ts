/**
 * Exact shell evaluation, shared by the kernels that read X row by row (the
 * `cpu` backend's `HostKernel`, float64 JavaScript, and the `wasm` backend's
 * `WasmKernel`, float32 WebAssembly SIMD). Issue 7; the method is
 * SPOTLIGHT_METHOD.md (d'Eon et al. 2021), the moments objective.ts.
 *
 * A rescan (one pass over X) at the current (μ, τ) sets a reference
 * μ_ref = μ, r_ref = τ^(−1/2), a centre margin Δ = m·r_ref and a radius range
 * [r_ref/(1+m), r_ref·(1+m)], and splits the rows by D_i = ‖x_i − μ_ref‖:
 *   inside  — D_i + Δ < r for every r in range: a_i = 1 for every (μ, τ) in
 *             the margin;
 *   outside — D_i − Δ > r for every r in range: a_i = 0 (k_i = 0, no gradient);
 *   shell   — the rest,
 * each kernel widening the tests by a bound on its own rounding of the
 * squared distances, so that every inside/outside decision is the one its
 * unpruned pass would make. For the inside set the rescan keeps, with
 * y_i = x_i − μ_ref: n_in, Σℓ_i, Y = Σy_i, Y_ℓ = Σℓ_i y_i (D each),
 * Q = Σ‖y_i‖², Q_ℓ = Σℓ_i‖y_i‖². While ‖μ − μ_ref‖ ≤ Δ and r is in range,
 * with δ = μ − μ_ref (so d_i = ‖y_i − δ‖², a polynomial in δ):
 *   Σ_in k_i     = n_in − τ (Q − 2δ·Y + n_in‖δ‖²)
 *   Σ_in k_i ℓ_i = Σ_in ℓ_i − τ (Q_ℓ − 2δ·Y_ℓ + Σ_in ℓ_i ‖δ‖²)
 *   Σ_in a_i x_i = Y + n_in μ_ref,  Σ_in a_i ℓ_i x_i = Y_ℓ + (Σ_in ℓ_i) μ_ref
 *   S_1 += n_in,  S_ℓ += Σ_in ℓ_i
 * and only the shell rows are read, with the unpruned pass's own arithmetic.
 * The moments are the unpruned ones up to rounding (summation order); J and
 * ∇J follow from them unchanged (`evaluateObjective`). A step outside the
 * margin rescans first. Rows read per step: the shell, plus N on a rescan.
 *
 * The margin trades the two: a wider one keeps a reference longer (fewer
 * rescans) but has a thicker shell. Unless fixed by the caller, it adapts:
 * when a reference is replaced, if the shell rows read during its life
 * exceeded the N rows of the rescan that made it, the margin shrinks by a
 * factor 0.8, otherwise it grows by 1.25 (within [1e-4, 0.05]). That drives
 * the two costs towards equal, which minimises their sum when the shell grows
 * and the life of a reference shrinks in proportion to the margin. It
 * depends on row counts only, so a search stays deterministic; the moments
 * do not depend on the margin at all.
 */
import type { IKernelStats, IMoments, IObjectiveKernel } from './objective';

/** Options of a kernel with exact shell evaluation. */
export interface IShellKernelOptions {
  /**
   * Exact shell evaluation; default false here (the engine turns it on
   * unless the search's `pruning` is false).
   */
  pruning?: boolean;
  /**
   * A fixed margin of a reference: the centre may move Δ = margin · r_ref and
   * the radius may change by a factor (1 + margin) either way before a
   * rescan. Default: adaptive, starting at `SHELL_MARGIN`.
   */
  margin?: number;
}

/**
 * The starting margin of exact shell evaluation: on planted 5,000 × 64 data
 * at the paper's defaults it read the fewest rows of X over a whole run
 * (rows per step: 868 at 0.0025, 737 at 0.005, 932 at 0.01, 1,546 at 0.02,
 * 2,861 at 0.05; unpruned 5,790). At 50,000 × 512 the fewest were at 0.0025
 * (11,512 rows per step; 14,437 at 0.005): hence the adaptation.
 */
export const SHELL_MARGIN = 0.005;

/** The range of the adaptive margin. */
export const SHELL_MARGIN_RANGE: readonly [number, number] = [1e-4, 0.05];

/** The tests of a rescan, from the reference and the margin. */
export interface IShellBounds {
  /** Δ, how far the centre may move from μ_ref (embedding units). */
  delta: number;
  /** ‖μ_ref‖. */
  refNorm: number;
  /** The smallest r² in range, lowered by a relative 1e-14. */
  insideBelow: number;
  /** The largest r² in range, raised by a relative 1e-14. */
  outsideAbove: number;
}

/** The inside set's moments, filled by a rescan (see the module comment). */
export interface IInsideMoments {
  /** n_in. */
  count: number;
  /** Σ_in ℓ_i. */
  loss: number;
  /** Q = Σ_in ‖y_i‖². */
  squares: number;
  /** Q_ℓ = Σ_in ℓ_i ‖y_i‖². */
  lossSquares: number;
  /** Y = Σ_in y_i (D). */
  sum: Float64Array;
  /** Y_ℓ = Σ_in ℓ_i y_i (D). */
  lossSum: Float64Array;
}

/**
 * A kernel that reads X row by row, with optional exact shell evaluation (see
 * the module comment). Subclasses supply the passes; this class decides when
 * to rescan, and evaluates the inside set's moments.
 */
export abstract class ShellKernel implements IObjectiveKernel {
  /**
   * @param n - N.
   * @param d - D.
   * @param rowBytes - Bytes in one stored row of X.
   * @param options - Exact shell evaluation and its margin.
   * @throws Error when the margin is not > 0.
   */
  protected constructor(
    protected readonly n: number,
    protected readonly d: number,
    rowBytes: number,
    options: IShellKernelOptions
  ) {
    this.pruning = options.pruning ?? false;
    this._margin = options.margin ?? SHELL_MARGIN;
    this._adaptive = options.margin === undefined;
    if (!(this._margin > 0)) {
      throw new Error(`The shell margin must be > 0 (got ${this._margin}).`);
    }
    this._ref = new Float64Array(d);
    this._inside = {
      count: 0,
      loss: 0,
      squares: 0,
      lossSquares: 0,
      sum: new Float64Array(d),
      lossSum: new Float64Array(d)
    };
    this._stats = { steps: 0, rowsRead: 0, fullPasses: 0, rowBytes };
  }

  /** Whether exact shell evaluation is on. */
  readonly pruning: boolean;

  /** Work counters since construction (a copy). */
  get stats(): IKernelStats {
    return { ...this._stats };
  }

  /** The current margin (see the module comment). */
  get margin(): number {
    return this._margin;
  }

  /** Rows in the current shell (N when unpruned or before the first rescan). */
  get shellSize(): number {
    return this.pruning && this._refValid ? this._shellCount : this.n;
  }

  /**
   * Set the losses the next evaluations use; drops the reference of shell
   * evaluation (its moments hold ℓ).
   *
   * @param losses - ℓ (N).
   */
  setLosses(losses: Float32Array): void {
    this._refValid = false;
    this._lifeRows = 0;
    this.storeLosses(losses);
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
    const c = this.passCenter(center);
    if (!this.pruning) {
      this._stats.rowsRead += this.fullPass(c, precision, out);
      this._stats.fullPasses += 1;
      return;
    }
    if (!this._inMargin(c, precision)) {
      this._rescan(c, precision);
    }
    this._insideMoments(c, precision, out);
    this.shellPass(c, precision, out);
    this._stats.rowsRead += this._shellCount;
    this._lifeRows += this._shellCount;
  }

  /** Release what the kernel holds; idempotent. */
  abstract dispose(): void;

  /**
   * Keep the losses.
   *
   * @param losses - ℓ (N).
   */
  protected abstract storeLosses(losses: Float32Array): void;

  /**
   * The centre the passes use: μ itself, or μ as the kernel stores it (e.g.
   * rounded to float32), as float64 values. The returned array may be reused
   * by the next call.
   *
   * @param center - μ (D).
   * @returns The centre c (D).
   */
  protected abstract passCenter(center: Float64Array): Float64Array;

  /**
   * The unpruned pass: every moment at (c, τ) into `out`.
   *
   * @param c - The centre (from `passCenter`).
   * @param precision - τ.
   * @param out - The moments to fill.
   * @returns Rows of X read.
   */
  protected abstract fullPass(
    c: Float64Array,
    precision: number,
    out: IMoments
  ): number;

  /**
   * A rescan's pass: split the rows around `ref` by `bounds` (widened by the
   * kernel's rounding), keep the shell's rows, fill the inside moments.
   *
   * @param ref - μ_ref (D).
   * @param bounds - Δ, ‖μ_ref‖ and the squared radii to test against.
   * @param inside - The inside moments to fill (`sum`, `lossSum` zeroed).
   * @returns The number of shell rows.
   */
  protected abstract rescanPass(
    ref: Float64Array,
    bounds: IShellBounds,
    inside: IInsideMoments
  ): number;

  /**
   * Add the shell rows' terms at (c, τ) to `out`, with the unpruned pass's
   * arithmetic.
   *
   * @param c - The centre, within the margin.
   * @param precision - τ, within the margin.
   * @param out - Moments holding the inside set's terms.
   */
  protected abstract shellPass(
    c: Float64Array,
    precision: number,
    out: IMoments
  ): void;

  /**
   * Whether (c, τ) lies within the margin of the current reference.
   *
   * @param c - The centre.
   * @param precision - τ.
   * @returns False when there is no reference or (c, τ) left its margin.
   */
  private _inMargin(c: Float64Array, precision: number): boolean {
    if (!this._refValid) {
      return false;
    }
    if (!(precision >= this._tauLo && precision <= this._tauHi)) {
      return false;
    }
    const ref = this._ref;
    let dd = 0;
    for (let j = 0; j < this.d; j++) {
      const v = c[j] - ref[j];
      dd += v * v;
    }
    return dd <= this._delta * this._delta;
  }

  /**
   * A rescan: new reference at (c, τ), new split, new inside moments.
   *
   * @param c - The centre, the new μ_ref.
   * @param precision - τ, giving r_ref = τ^(−1/2).
   */
  private _rescan(c: Float64Array, precision: number): void {
    if (this._adaptive && this._refValid) {
      const [lo, hi] = SHELL_MARGIN_RANGE;
      const m = this._margin * (this._lifeRows > this.n ? 0.8 : 1.25);
      this._margin = Math.min(hi, Math.max(lo, m));
    }
    this._lifeRows = 0;
    const ref = this._ref;
    ref.set(c);
    let refNorm = 0;
    for (let j = 0; j < this.d; j++) {
      refNorm += ref[j] * ref[j];
    }
    const m = this._margin;
    const r = 1 / Math.sqrt(precision);
    const rLo = r / (1 + m);
    const rHi = r * (1 + m);
    this._delta = m * r;
    this._tauLo = 1 / (rHi * rHi);
    this._tauHi = 1 / (rLo * rLo);
    const inside = this._inside;
    inside.sum.fill(0);
    inside.lossSum.fill(0);
    this._shellCount = this.rescanPass(
      ref,
      {
        delta: this._delta,
        refNorm: Math.sqrt(refNorm),
        insideBelow: rLo * rLo * (1 - 1e-14),
        outsideAbove: rHi * rHi * (1 + 1e-14)
      },
      inside
    );
    this._refValid = true;
    this._stats.rowsRead += this.n;
    this._stats.fullPasses += 1;
  }

  /**
   * The inside set's terms of every moment at (c, τ), into `out`.
   *
   * @param c - The centre, within the margin.
   * @param precision - τ, within the margin.
   * @param out - The moments to fill.
   */
  private _insideMoments(
    c: Float64Array,
    precision: number,
    out: IMoments
  ): void {
    const ref = this._ref;
    const { count, loss, sum: Y, lossSum: LY } = this._inside;
    const A = out.lossMoment;
    const B = out.activeMoment;
    let dd = 0;
    let dY = 0;
    let dLY = 0;
    for (let j = 0; j < this.d; j++) {
      const v = c[j] - ref[j];
      dd += v * v;
      dY += v * Y[j];
      dLY += v * LY[j];
      A[j] = LY[j] + loss * ref[j];
      B[j] = Y[j] + count * ref[j];
    }
    const { squares, lossSquares } = this._inside;
    out.totalWeight = count - precision * (squares - 2 * dY + count * dd);
    out.weightedLossSum =
      loss - precision * (lossSquares - 2 * dLY + loss * dd);
    out.activeLoss = loss;
    out.activeCount = count;
  }

  private readonly _stats: IKernelStats;
  private _margin: number;
  private readonly _adaptive: boolean;
  /** Shell rows read since the last rescan. */
  private _lifeRows = 0;
  private readonly _ref: Float64Array;
  private readonly _inside: IInsideMoments;
  private _refValid = false;
  private _delta = 0;
  private _tauLo = 0;
  private _tauHi = 0;
  private _shellCount = 0;
}
