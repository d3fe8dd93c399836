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
 * JavaScript (float64, hostKernel.ts), `WasmKernel` in WebAssembly SIMD
 * (float32, wasmKernel.ts), both with exact shell evaluation
 * (shellKernel.ts), and `TensorKernel` on tfjs's WebGL backend (float32) with
 * one Xμ product and one Xᵀ[G] product per step — never an N × D temporary —
 * and a single read-back of 4 × (D + 2) values. `evaluateObjective` turns the
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

/**
 * Copy moments.
 *
 * @param from - The moments to copy.
 * @param to - Overwritten with them (same D).
 */
export function copyMoments(from: IMoments, to: IMoments): void {
  to.lossMoment.set(from.lossMoment);
  to.activeMoment.set(from.activeMoment);
  to.activeLoss = from.activeLoss;
  to.activeCount = from.activeCount;
  to.totalWeight = from.totalWeight;
  to.weightedLossSum = from.weightedLossSum;
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

/**
 * The moments on a tfjs backend (the `webgl` backend), float32.
 *
 * Device data: X̃ = [X | 1 | ‖x‖²] (N × (D + 2)), uploaded once; ℓ as 1 × N.
 * Per step, in one `tf.tidy`:
 *   z = v X̃ᵀ with v = [−2μ, ‖μ‖², 1]          → d = max(0, z)        (1 × N)
 *   k = max(0, 1 − τ d),  a = [τ d ≤ 1]                                (1 × N)
 *   M = [aℓ; a; k; kℓ] X̃                                              (4 × (D + 2))
 * and one `dataSync` of M: row 0 gives A_ℓ and S_ℓ, row 1 A_1 and S_1, the
 * ones-column of rows 2 and 3 gives K and L. X̃ is read transposed for z
 * (free on WebGL).
 */
export class TensorKernel implements IObjectiveKernel {
  /**
   * Build and upload X̃.
   *
   * @param embeddings - Row-major N × D embeddings.
   * @param n - N.
   * @param d - D.
   * @param norms - ‖x_i‖², if already computed.
   * @returns The kernel (its owner disposes it).
   */
  static create(
    embeddings: Float32Array,
    n: number,
    d: number,
    norms?: Float64Array
  ): TensorKernel {
    const w = d + 2;
    const squares = norms ?? squaredNorms(embeddings, n, d);
    const host = new Float32Array(n * w);
    for (let i = 0; i < n; i++) {
      host.set(embeddings.subarray(i * d, (i + 1) * d), i * w);
      host[i * w + d] = 1;
      host[i * w + d + 1] = squares[i];
    }
    return new TensorKernel(n, d, tf.tensor2d(host, [n, w], 'float32'));
  }

  /**
   * A kernel over an uploaded X̃; use `TensorKernel.create`.
   *
   * @param n - N.
   * @param d - D.
   * @param x - X̃ (N × (D + 2)).
   */
  private constructor(
    private readonly n: number,
    private readonly d: number,
    x: tf.Tensor2D
  ) {
    this._x = x;
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
   * product, reading X̃ transposed, and the M product), 2N rows of D + 2
   * float32 values.
   */
  get stats(): IKernelStats {
    return { ...this._stats };
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
   * @throws Error after `dispose`.
   */
  moments(center: Float64Array, precision: number, out: IMoments): void {
    const d = this.d;
    const w = d + 2;
    const x = this._x;
    const loss = this._loss!;
    const one = this._one!;
    if (!x) {
      throw new Error('This TensorKernel was disposed.');
    }
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
      const z = tf.matMul(vt, x, false, true);
      const td = tf.mul(tf.relu(z), tau);
      const k = tf.relu(tf.sub(one, td));
      const a = tf.cast(tf.lessEqual(td, one), 'float32');
      const G = tf.concat([tf.mul(a, loss), a, k, tf.mul(k, loss)], 0);
      // One pass over X̃: (4 × N)(N × (D + 2)).
      return tf.matMul(G, x);
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
    this._x?.dispose();
    this._one?.dispose();
    this._loss?.dispose();
    this._x = null;
    this._one = null;
    this._loss = null;
  }

  private _x: tf.Tensor2D | null;
  private _one: tf.Scalar | null;
  private _loss: tf.Tensor2D | null = null;
  private readonly _v: Float32Array;
  private readonly _stats: IKernelStats;
}
