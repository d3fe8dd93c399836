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
 *
 * Every sum over rows (the rescan's inside moments, the shell's and the
 * unpruned pass's terms) is formed leaf by leaf and added up blocks.ts's
 * fixed tree, and the decisions (when to rescan, the margin, the tests) are
 * made over all of X by one `ShellControl`: so a search split over shards
 * (shard.ts, engine.ts) computes the same float64 moments as one kernel.
 */
import { TreeCover, foldNodes, INodeValues, IRowTree, rowTree } from './blocks';
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
  /** max_i ‖x_i‖ over all of X (for the `cpu` kernel's rounding bound). */
  maxNorm: number;
  /** The smallest r² in range, lowered by a relative 1e-14. */
  insideBelow: number;
  /** The largest r² in range, raised by a relative 1e-14. */
  outsideAbove: number;
}

/**
 * Values in packed moments: [A_ℓ (D), A_1 (D), S_ℓ, S_1, K, L]; packed inside
 * moments use the same places for [Y_ℓ, Y, Σ_in ℓ_i, n_in, Q, Q_ℓ].
 *
 * @param d - D.
 * @returns 2D + 4.
 */
export function packedWidth(d: number): number {
  return 2 * d + 4;
}

/**
 * Copy packed moments (`packedWidth`) into `out`.
 *
 * @param values - 2D + 4 values.
 * @param out - The moments (D each).
 */
export function unpackMoments(values: Float64Array, out: IMoments): void {
  const d = out.lossMoment.length;
  out.lossMoment.set(values.subarray(0, d));
  out.activeMoment.set(values.subarray(d, 2 * d));
  out.activeLoss = values[2 * d];
  out.activeCount = values[2 * d + 1];
  out.totalWeight = values[2 * d + 2];
  out.weightedLossSum = values[2 * d + 3];
}

/**
 * Add packed moments to `out`, term by term, in float64.
 *
 * @param values - 2D + 4 values.
 * @param out - The moments to add to (D each).
 */
export function addPackedMoments(values: Float64Array, out: IMoments): void {
  const d = out.lossMoment.length;
  const A = out.lossMoment;
  const B = out.activeMoment;
  for (let j = 0; j < d; j++) {
    A[j] += values[j];
    B[j] += values[d + j];
  }
  out.activeLoss += values[2 * d];
  out.activeCount += values[2 * d + 1];
  out.totalWeight += values[2 * d + 2];
  out.weightedLossSum += values[2 * d + 3];
}

/**
 * The decisions of exact shell evaluation (see the module comment): when to
 * rescan, the margin and the tests of a rescan, and the inside set's terms.
 * They depend on all of X (the shell's size over all rows, max ‖x_i‖), so one
 * `ShellControl` serves a single kernel (inside `ShellKernel.moments`) or all
 * the shards of a search (engine.ts's coordinator), and every row gets the
 * same decision whichever way X is split.
 */
export class ShellControl {
  /**
   * @param n - N, all rows of X.
   * @param d - D.
   * @param maxNorm - max_i ‖x_i‖ over all of X.
   * @param margin - A fixed margin, or undefined to adapt from `SHELL_MARGIN`.
   * @throws Error when the margin is not > 0.
   */
  constructor(
    private readonly n: number,
    private readonly d: number,
    private readonly maxNorm: number,
    margin?: number
  ) {
    this._margin = margin ?? SHELL_MARGIN;
    this._adaptive = margin === undefined;
    if (!(this._margin > 0)) {
      throw new Error(`The shell margin must be > 0 (got ${this._margin}).`);
    }
    this.reference = new Float64Array(d);
    this._inside = new Float64Array(packedWidth(d));
  }

  /** μ_ref of the current reference (valid after `rescan`). */
  readonly reference: Float64Array;

  /** The current margin. */
  get margin(): number {
    return this._margin;
  }

  /** Rows of X in the current shell (N before the first rescan). */
  get shellSize(): number {
    return this._valid ? this._shell : this.n;
  }

  /** Drop the reference (the losses changed: its inside moments hold ℓ). */
  reset(): void {
    this._valid = false;
    this._lifeRows = 0;
  }

  /**
   * Whether (c, τ) lies within the margin of the current reference.
   *
   * @param c - The centre, as the passes use it.
   * @param precision - τ.
   * @returns False when there is no reference or (c, τ) left its margin.
   */
  covers(c: Float64Array, precision: number): boolean {
    if (!this._valid) {
      return false;
    }
    if (!(precision >= this._tauLo && precision <= this._tauHi)) {
      return false;
    }
    const ref = this.reference;
    let dd = 0;
    for (let j = 0; j < this.d; j++) {
      const v = c[j] - ref[j];
      dd += v * v;
    }
    return dd <= this._delta * this._delta;
  }

  /**
   * Start a new reference at (c, τ): adapt the margin, set μ_ref = c and
   * r_ref = τ^(−1/2), and return the tests the rescan's pass applies.
   *
   * @param c - The centre, the new μ_ref.
   * @param precision - τ.
   * @returns The tests of the rescan.
   */
  rescan(c: Float64Array, precision: number): IShellBounds {
    if (this._adaptive && this._valid) {
      const [lo, hi] = SHELL_MARGIN_RANGE;
      const m = this._margin * (this._lifeRows > this.n ? 0.8 : 1.25);
      this._margin = Math.min(hi, Math.max(lo, m));
    }
    this._valid = false;
    this._lifeRows = 0;
    const ref = this.reference;
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
    return {
      delta: this._delta,
      refNorm: Math.sqrt(refNorm),
      maxNorm: this.maxNorm,
      insideBelow: rLo * rLo * (1 - 1e-14),
      outsideAbove: rHi * rHi * (1 + 1e-14)
    };
  }

  /**
   * Take the rescan's result over all of X.
   *
   * @param inside - The inside moments, packed (`packedWidth`), summed over X.
   * @param shell - Rows in the shell over X.
   */
  rescanned(inside: Float64Array, shell: number): void {
    this._inside.set(inside);
    this._shell = shell;
    this._valid = true;
  }

  /** Count a shell pass (for the margin's adaptation). */
  shellRead(): void {
    this._lifeRows += this._shell;
  }

  /**
   * The inside set's terms of every moment at (c, τ), into `out`.
   *
   * @param c - The centre, within the margin.
   * @param precision - τ, within the margin.
   * @param out - The moments to fill.
   */
  insideMoments(c: Float64Array, precision: number, out: IMoments): void {
    const d = this.d;
    const ref = this.reference;
    const v = this._inside;
    const loss = v[2 * d];
    const count = v[2 * d + 1];
    const squares = v[2 * d + 2];
    const lossSquares = v[2 * d + 3];
    const A = out.lossMoment;
    const B = out.activeMoment;
    let dd = 0;
    let dY = 0;
    let dLY = 0;
    for (let j = 0; j < d; j++) {
      const u = c[j] - ref[j];
      const LY = v[j];
      const Y = v[d + j];
      dd += u * u;
      dY += u * Y;
      dLY += u * LY;
      A[j] = LY + loss * ref[j];
      B[j] = Y + count * ref[j];
    }
    out.totalWeight = count - precision * (squares - 2 * dY + count * dd);
    out.weightedLossSum =
      loss - precision * (lossSquares - 2 * dLY + loss * dd);
    out.activeLoss = loss;
    out.activeCount = count;
  }

  private _margin: number;
  private readonly _adaptive: boolean;
  private _valid = false;
  private _lifeRows = 0;
  private _shell = 0;
  private _delta = 0;
  private _tauLo = 0;
  private _tauHi = 0;
  private readonly _inside: Float64Array;
}

/** Where a kernel's rows sit in X. */
export interface IKernelRows {
  /** The global index of its first row (default 0). */
  offset?: number;
  /** N, all rows of X (default: the kernel's own row count). */
  total?: number;
}

/**
 * A kernel that reads X row by row, with optional exact shell evaluation (see
 * the module comment). Its passes sum leaf by leaf along blocks.ts's tree and
 * return the values of the tree's nodes within its rows; `moments` runs a
 * whole step on this kernel alone, a shard answers the node passes.
 * Subclasses supply the passes over one leaf.
 */
export abstract class ShellKernel implements IObjectiveKernel {
  /**
   * @param n - N, the kernel's rows.
   * @param d - D.
   * @param rowBytes - Bytes in one stored row of X.
   * @param options - Exact shell evaluation, its margin, where the rows sit.
   * @throws Error when the margin is not > 0 or the rows do not fit in X.
   */
  protected constructor(
    protected readonly n: number,
    protected readonly d: number,
    rowBytes: number,
    options: IShellKernelOptions & IKernelRows
  ) {
    this.pruning = options.pruning ?? false;
    this._marginOption = options.margin;
    if (this._marginOption !== undefined && !(this._marginOption > 0)) {
      throw new Error(`The shell margin must be > 0 (got ${options.margin}).`);
    }
    this.offset = options.offset ?? 0;
    const total = options.total ?? n;
    if (!(this.offset >= 0 && this.offset + n <= total)) {
      throw new Error(
        `Rows ${this.offset}…${this.offset + n} do not fit in X of ${total} rows.`
      );
    }
    this.tree = rowTree(total);
    this._firstLeaf = Math.floor(this.offset / this.tree.leaf);
    const leaves =
      Math.ceil((this.offset + n) / this.tree.leaf) - this._firstLeaf;
    this._segments = new Int32Array(leaves + 1);
    this._stats = { steps: 0, rowsRead: 0, fullPasses: 0, rowBytes };
  }

  /** Whether exact shell evaluation is on. */
  readonly pruning: boolean;
  /** The global index of the kernel's first row. */
  readonly offset: number;
  /** The summation tree of all of X (blocks.ts). */
  readonly tree: IRowTree;

  /** Work counters since construction (a copy). */
  get stats(): IKernelStats {
    return { ...this._stats };
  }

  /** The current margin of `moments` (see the module comment). */
  get margin(): number {
    return this._control().margin;
  }

  /** Rows in the current shell (N when unpruned or before the first rescan). */
  get shellSize(): number {
    return this.pruning ? this._control().shellSize : this.n;
  }

  /**
   * Set the losses the next evaluations use; drops the reference of shell
   * evaluation (its moments hold ℓ).
   *
   * @param losses - ℓ (N).
   */
  setLosses(losses: Float32Array): void {
    this._ctl?.reset();
    this.storeLosses(losses);
  }

  /**
   * Compute the moments at (μ, τ) with this kernel alone (its rows are all of
   * X unless it was made as a part).
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @param out - The moments to fill.
   */
  moments(center: Float64Array, precision: number, out: IMoments): void {
    const c = this.passCenter(center);
    const w = packedWidth(this.d);
    const root = (this._root ??= new Float64Array(w));
    if (!this.pruning) {
      foldNodes(this.tree, [this.fullNodes(c, precision)], w, root);
      unpackMoments(root, out);
      return;
    }
    const control = this._control();
    if (!control.covers(c, precision)) {
      const bounds = control.rescan(c, precision);
      const { inside, shell } = this.rescanNodes(control.reference, bounds);
      foldNodes(this.tree, [inside], w, root);
      control.rescanned(root, shell);
    }
    control.insideMoments(c, precision, out);
    foldNodes(this.tree, [this.shellNodes(c, precision)], w, root);
    addPackedMoments(root, out);
    control.shellRead();
  }

  /**
   * The centre the passes use: μ itself, or μ as the kernel stores it (e.g.
   * rounded to float32), as float64 values. The returned array may be reused
   * by the next call.
   *
   * @param center - μ (D).
   * @returns The centre c (D).
   */
  abstract passCenter(center: Float64Array): Float64Array;

  /**
   * The unpruned pass: the packed moments at (c, τ) of the tree's nodes
   * within this kernel's rows. Counts one step.
   *
   * @param c - The centre (from `passCenter`).
   * @param precision - τ.
   * @returns The nodes' packed moments.
   */
  fullNodes(c: Float64Array, precision: number): INodeValues {
    this._stats.steps += 1;
    this._stats.rowsRead += this.n;
    this._stats.fullPasses += 1;
    return this._nodes((a, b, out) => {
      this._stats.rowsRead += this.fullLeaf(c, precision, a, b, out);
    });
  }

  /**
   * A rescan's pass: split this kernel's rows around `ref` by `bounds`, keep
   * its shell rows (for `shellNodes`), and return the inside moments, packed,
   * of the tree's nodes within its rows.
   *
   * @param ref - μ_ref (D), a centre from `passCenter`.
   * @param bounds - The tests (`ShellControl.rescan`).
   * @returns The nodes' inside moments and this kernel's shell rows.
   */
  rescanNodes(
    ref: Float64Array,
    bounds: IShellBounds
  ): { inside: INodeValues; shell: number } {
    let shell = 0;
    const segments = this._segments;
    segments.fill(0);
    const inside = this._nodes((a, b, out) => {
      const leaf = this._leafOf(a);
      segments[leaf] = shell;
      shell += this.rescanLeaf(ref, bounds, a, b, shell, out);
      segments[leaf + 1] = shell;
    });
    this._shell = shell;
    this._stats.rowsRead += this.n;
    this._stats.fullPasses += 1;
    return { inside, shell };
  }

  /**
   * The shell rows' packed moments at (c, τ), with the unpruned pass's
   * arithmetic, per node of the tree within this kernel's rows. Counts one
   * step.
   *
   * @param c - The centre (from `passCenter`), within the margin.
   * @param precision - τ, within the margin.
   * @returns The nodes' packed moments (the shell's terms only).
   */
  shellNodes(c: Float64Array, precision: number): INodeValues {
    this._stats.steps += 1;
    this._stats.rowsRead += this._shell;
    const segments = this._segments;
    return this._nodes((a, _b, out) => {
      const leaf = this._leafOf(a);
      const s0 = segments[leaf];
      const s1 = segments[leaf + 1];
      if (s1 > s0) {
        this.shellLeaf(c, precision, s0, s1, out);
      }
    });
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
   * max_i ‖x_i‖ over this kernel's rows (for the `moments` of a kernel alone;
   * 0 where the kernel's rounding bound does not use it).
   *
   * @returns The largest norm.
   */
  protected maxNorm(): number {
    return 0;
  }

  /**
   * The unpruned pass over rows [a, b) (kernel-local, within one leaf): add
   * their packed moments to `out`.
   *
   * @param c - The centre (from `passCenter`).
   * @param precision - τ.
   * @param a - First row.
   * @param b - One past the last row.
   * @param out - Packed moments to add to (zero on entry: each leaf is
   *   summed on its own).
   * @returns Rows read beyond the one pass over [a, b).
   */
  protected abstract fullLeaf(
    c: Float64Array,
    precision: number,
    a: number,
    b: number,
    out: Float64Array
  ): number;

  /**
   * A rescan's pass over rows [a, b) (kernel-local, within one leaf): add the
   * inside rows' packed inside moments to `out`, and append the shell rows
   * (kernel-local indices, increasing) to the shell list from entry `at`.
   *
   * @param ref - μ_ref (D).
   * @param bounds - The tests, to widen by the kernel's rounding.
   * @param a - First row.
   * @param b - One past the last row.
   * @param at - Where the leaf's shell rows start in the list.
   * @param out - Packed inside moments to add to (zero on entry).
   * @returns The number of shell rows appended.
   */
  protected abstract rescanLeaf(
    ref: Float64Array,
    bounds: IShellBounds,
    a: number,
    b: number,
    at: number,
    out: Float64Array
  ): number;

  /**
   * Add the packed moments at (c, τ) of shell list entries [s0, s1) (one
   * leaf's) to `out`, with the unpruned pass's arithmetic.
   *
   * @param c - The centre.
   * @param precision - τ.
   * @param s0 - First list entry.
   * @param s1 - One past the last.
   * @param out - Packed moments to add to (zero on entry: each leaf is
   *   summed on its own).
   */
  protected abstract shellLeaf(
    c: Float64Array,
    precision: number,
    s0: number,
    s1: number,
    out: Float64Array
  ): void;

  /**
   * The tree's nodes within this kernel's rows, each leaf summed by `leafSum`
   * over kernel-local rows.
   *
   * @param leafSum - Adds rows [a, b)'s terms to `out`.
   * @returns The nodes' values.
   */
  private _nodes(
    leafSum: (a: number, b: number, out: Float64Array) => void
  ): INodeValues {
    const o = this.offset;
    this._cover ??= new TreeCover(
      this.tree,
      o,
      o + this.n,
      packedWidth(this.d)
    );
    return this._cover.sum((a, b, out) => leafSum(a - o, b - o, out));
  }

  /**
   * The kernel-local leaf of a kernel-local row.
   *
   * @param row - The row.
   * @returns Its leaf, counted from the kernel's first.
   */
  private _leafOf(row: number): number {
    return Math.floor((row + this.offset) / this.tree.leaf) - this._firstLeaf;
  }

  /**
   * The decisions of `moments` (made on first use).
   *
   * @returns The control.
   */
  private _control(): ShellControl {
    return (this._ctl ??= new ShellControl(
      this.n,
      this.d,
      this.maxNorm(),
      this._marginOption
    ));
  }

  private readonly _stats: IKernelStats;
  private readonly _marginOption: number | undefined;
  private readonly _firstLeaf: number;
  /** Shell list entries per leaf: leaf k's are [s[k], s[k + 1]). */
  private readonly _segments: Int32Array;
  /** This kernel's shell rows (after a rescan). */
  private _shell = 0;
  private _ctl: ShellControl | null = null;
  private _root: Float64Array | null = null;
  private _cover: TreeCover | null = null;
}
