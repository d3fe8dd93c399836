/**
 * The Spotlight's optimiser (d'Eon et al. 2021; SPOTLIGHT_METHOD.md): Adam with
 * ε = 1e-8 on θ = (μ, s), ascent on J, and the authors' learning-rate plateau
 * rule with its reset (PyTorch's ReduceLROnPlateau followed by `_reset()`).
 *
 * Both run on the host in float64: θ has only D + 1 entries, so the update is
 * exact to double precision and costs nothing next to the two passes over X.
 */
import { ADAM, PLATEAU } from './types';

/**
 * Adam (Kingma & Ba 2015) as PyTorch implements it, for gradient ascent.
 *
 * With g = ∇J at step t (1-based): m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²;
 * θ ← θ + (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε).
 */
export class Adam {
  /**
   * @param size - Number of parameters (D + 1).
   * @param beta1 - First-moment decay β1.
   * @param beta2 - Second-moment decay β2.
   * @param epsilon - ε, added to the bias-corrected √v.
   */
  constructor(
    readonly size: number,
    readonly beta1: number = ADAM.beta1,
    readonly beta2: number = ADAM.beta2,
    readonly epsilon: number = ADAM.epsilon
  ) {
    this._m = new Float64Array(size);
    this._v = new Float64Array(size);
  }

  /** Number of updates made so far. */
  get step(): number {
    return this._t;
  }

  /**
   * One ascent step, in place.
   *
   * @param params - θ (size), updated in place.
   * @param grad - ∇J at θ (size).
   * @param learningRate - The current learning rate.
   * @returns Nothing.
   */
  update(params: Float64Array, grad: Float64Array, learningRate: number): void {
    const { beta1, beta2, epsilon } = this;
    const m = this._m;
    const v = this._v;
    this._t += 1;
    const bc1 = 1 - Math.pow(beta1, this._t);
    const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, this._t));
    const stepSize = learningRate / bc1;
    for (let j = 0; j < params.length; j++) {
      const g = grad[j];
      m[j] = beta1 * m[j] + (1 - beta1) * g;
      v[j] = beta2 * v[j] + (1 - beta2) * g * g;
      params[j] += (stepSize * m[j]) / (Math.sqrt(v[j]) / bc2Sqrt + epsilon);
    }
  }

  private _m: Float64Array;
  private _v: Float64Array;
  private _t = 0;
}

/**
 * The learning-rate plateau rule with reset, on q_t = −J_t (the value before
 * the update): if q_t < best · (1 − 1e-4) then best = q_t, bad = 0, else
 * bad += 1; when bad > patience the rate is multiplied by `factor` (unless that
 * changes it by ≤ 1e-8), and best is reset to +∞ and bad to 0.
 */
export class PlateauRule {
  /**
   * @param learningRate - Initial learning rate.
   * @param patience - Steps without improvement tolerated.
   * @param factor - Multiplier applied on a plateau, in (0, 1).
   */
  constructor(
    learningRate: number,
    readonly patience: number,
    readonly factor: number
  ) {
    this._lr = learningRate;
  }

  /** The current learning rate. */
  get learningRate(): number {
    return this._lr;
  }

  /**
   * Record one step's value and apply the rule.
   *
   * @param value - q_t = −J_t.
   * @returns The learning rate for the next step.
   */
  observe(value: number): number {
    if (value < this._best * (1 - PLATEAU.threshold)) {
      this._best = value;
      this._bad = 0;
    } else {
      this._bad += 1;
    }
    if (this._bad > this.patience) {
      const next = this._lr * this.factor;
      if (this._lr - next > PLATEAU.minChange) {
        this._lr = next;
      }
      this._best = Infinity;
      this._bad = 0;
    }
    return this._lr;
  }

  private _lr: number;
  private _best = Infinity;
  private _bad = 0;
}
