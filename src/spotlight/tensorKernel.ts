/**
 * The moments on tfjs (the `webgl` backend): the only module of the engine that
 * imports TensorFlow.js. The engine and the backend selection load it with a
 * dynamic `import()` when WebGL is chosen, so the CPU and WASM backends (and the
 * command line, which never uses WebGL) run without tfjs installed.
 */
import * as tf from '@tensorflow/tfjs';

import { squaredNorms } from './kernel';
import { IKernelStats, IMoments, IObjectiveKernel } from './objective';

/**
 * The moments on a tfjs backend (the `webgl` backend), float32.
 *
 * Device data: X̃ = [X | 1 | ‖x‖²] (N × (D + 2)), uploaded once; ℓ as 1 × N.
 * Per step, in one `tf.tidy`:
 *   z = v X̃ᵀ with v = [−2μ, ‖μ‖², 1]          → d = max(0, z)        (1 × N)
 *   k = max(0, 1 − τ d),  a = [τ d ≤ 1]                                (1 × N)
 *   M = [aℓ; a; k; kℓ] X̃                                              (4 × (D + 2))
 * and one read-back of M (`momentsAsync`: asynchronous, what the engine uses;
 * `moments`: `dataSync`): row 0 gives A_ℓ and S_ℓ, row 1 A_1 and S_1, the
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
   * Compute the moments at (μ, τ), reading M back synchronously
   * (`dataSync`: the thread waits for the GPU).
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @param out - The moments to fill.
   * @throws Error after `dispose`.
   */
  moments(center: Float64Array, precision: number, out: IMoments): void {
    const result = this._launch(center, precision);
    let m: Float32Array;
    try {
      m = result.dataSync() as Float32Array;
    } finally {
      result.dispose();
    }
    this._read(m, out);
  }

  /**
   * Compute the moments at (μ, τ), reading M back asynchronously (`data()`:
   * the thread runs other work, e.g. a worker's messages, while the GPU
   * computes). The engine's passes use this one (issue 11).
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @param out - The moments to fill.
   * @throws Error after `dispose`.
   */
  async momentsAsync(
    center: Float64Array,
    precision: number,
    out: IMoments
  ): Promise<void> {
    const result = this._launch(center, precision);
    let m: Float32Array;
    try {
      m = (await result.data()) as Float32Array;
    } finally {
      result.dispose();
    }
    this._read(m, out);
  }

  /**
   * Queue one step's products (see the class comment).
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @returns M (4 × (D + 2)); the caller disposes it.
   * @throws Error after `dispose`.
   */
  private _launch(center: Float64Array, precision: number): tf.Tensor {
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
    return tf.tidy(() => {
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
  }

  /**
   * Unpack M into the moments and count the step.
   *
   * @param m - M, 4 × (D + 2) values.
   * @param out - The moments to fill.
   */
  private _read(m: Float32Array, out: IMoments): void {
    const d = this.d;
    const w = d + 2;
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
