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
 * (shellKernel.ts), and `TensorKernel` on tfjs's WebGL backend (float32,
 * tensorKernel.ts, loaded only when that backend runs) with
 * one Xμ product and one Xᵀ[G] product per step — never an N × D temporary —
 * and a single read-back of 4 × (D + 2) values. `evaluateObjective` turns the
 * moments into J, K, f and ∇J on the host.
 */
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
  /**
   * The same moments, read back without blocking the thread (a GPU kernel's
   * asynchronous read-back); the engine prefers it where a kernel has it.
   */
  momentsAsync?(
    center: Float64Array,
    precision: number,
    out: IMoments
  ): Promise<void>;
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
