var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// ../../work/main/src/spotlight/objective.ts
var tf = __toESM(require("@tensorflow/tfjs"));

// ../../work/main/src/spotlight/kernel.ts
function squaredNorms(embeddings, n2, d2) {
  const out = new Float64Array(n2);
  for (let i = 0; i < n2; i++) {
    const o = i * d2;
    let s = 0;
    for (let j = 0; j < d2; j++) {
      const x = embeddings[o + j];
      s += x * x;
    }
    out[i] = s;
  }
  return out;
}

// ../../work/main/src/spotlight/schedule.ts
function barrierWidth(t, steps2, initial, final) {
  if (steps2 <= 1 || t <= 0) {
    return initial;
  }
  if (t >= steps2 - 1) {
    return final;
  }
  return initial * Math.pow(final / initial, t / (steps2 - 1));
}
function barrierSchedule(steps2, initial, final) {
  const out = new Float64Array(steps2);
  for (let t = 0; t < steps2; t++) {
    out[t] = barrierWidth(t, steps2, initial, final);
  }
  return out;
}
function sizePenalty(totalWeight, size, barrier, scale) {
  const gap = Math.max(0, size + barrier - totalWeight);
  const inv = 1 / (barrier * barrier);
  return { penalty: scale * gap * gap * inv, slope: -2 * scale * gap * inv };
}

// ../../work/main/src/spotlight/objective.ts
function createMoments(d2) {
  return {
    lossMoment: new Float64Array(d2),
    activeMoment: new Float64Array(d2),
    activeLoss: 0,
    activeCount: 0,
    totalWeight: 0,
    weightedLossSum: 0
  };
}
function evaluateObjective(m, center, precision, size, barrier, scale, grad) {
  const K = m.totalWeight;
  const { penalty, slope } = sizePenalty(K, size, barrier, scale);
  if (!(K > 0)) {
    return { objective: NaN, totalWeight: K, weightedLoss: NaN, penalty };
  }
  const f = m.weightedLossSum / K;
  const alpha = 1 / K;
  const beta = f / K + slope;
  const sumG = alpha * m.activeLoss - beta * m.activeCount;
  const d2 = center.length;
  const twoTau = 2 * precision;
  for (let j = 0; j < d2; j++) {
    grad[j] = twoTau * (alpha * m.lossMoment[j] - beta * m.activeMoment[j] - sumG * center[j]);
  }
  grad[d2] = -(alpha * (m.activeLoss - m.weightedLossSum) - beta * (m.activeCount - K));
  return { objective: f - penalty, totalWeight: K, weightedLoss: f, penalty };
}
var SHELL_MARGIN = 0.01;
var HostKernel = class {
  /**
   * @param embeddings - Row-major N × D embeddings.
   * @param n - N.
   * @param d - D.
   * @param norms - ‖x_i‖² (N), if already computed.
   * @param options - Exact shell evaluation and its margin.
   */
  constructor(embeddings, n2, d2, norms2, options = {}) {
    this.embeddings = embeddings;
    this.n = n2;
    this.d = d2;
    this._norms = norms2 ?? squaredNorms(embeddings, n2, d2);
    this._losses = new Float32Array(n2);
    this._active = new Uint8Array(n2);
    this._sumX = new Float64Array(d2);
    this._sumLX = new Float64Array(d2);
    for (let i = 0; i < n2; i++) {
      const o = i * d2;
      for (let q = 0; q < d2; q++) {
        this._sumX[q] += embeddings[o + q];
      }
    }
    this.pruning = options.pruning ?? false;
    this._margin = options.margin ?? SHELL_MARGIN;
    if (!(this._margin > 0)) {
      throw new Error(`The shell margin must be > 0 (got ${this._margin}).`);
    }
    let maxNorm = 0;
    for (let i = 0; i < n2; i++) {
      maxNorm = Math.max(maxNorm, this._norms[i]);
    }
    this._maxNorm = Math.sqrt(maxNorm);
    this._ref = new Float64Array(d2);
    this._inY = new Float64Array(d2);
    this._inLY = new Float64Array(d2);
    this._shell = this.pruning ? new Int32Array(n2) : new Int32Array(0);
    this._stats = { steps: 0, rowsRead: 0, fullPasses: 0, rowBytes: 4 * d2 };
  }
  embeddings;
  n;
  d;
  /** Whether exact shell evaluation is on. */
  pruning;
  /** Work counters since construction (a copy). */
  get stats() {
    return { ...this._stats };
  }
  /** Rows in the current shell (N when unpruned or before the first rescan). */
  get shellSize() {
    return this.pruning && this._refValid ? this._shellCount : this.n;
  }
  /**
   * Set the losses and precompute Σ_i ℓ_i x_i over all rows (O(N · D)).
   * Drops the reference of shell evaluation (its moments hold ℓ).
   *
   * @param losses - ℓ (N).
   */
  setLosses(losses) {
    const { embeddings: X, n: n2, d: d2 } = this;
    this._losses = losses;
    this._refValid = false;
    const t = this._sumLX;
    t.fill(0);
    for (let i = 0; i < n2; i++) {
      const o = i * d2;
      const l = losses[i];
      if (l !== 0) {
        for (let q = 0; q < d2; q++) {
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
  moments(center, precision, out) {
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
  dispose() {
  }
  /**
   * The unpruned pass (see the class comment).
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @param out - The moments to fill.
   */
  _fullMoments(center, precision, out) {
    const { embeddings: X, n: n2, d: d2 } = this;
    const norms2 = this._norms;
    const losses = this._losses;
    const active = this._active;
    let mm = 0;
    for (let j = 0; j < d2; j++) {
      mm += center[j] * center[j];
    }
    let sl = 0;
    let s1 = 0;
    let K = 0;
    let L = 0;
    const d4 = d2 - d2 % 4;
    for (let i = 0; i < n2; i++) {
      const o = i * d2;
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
      for (; j < d2; j++) {
        p0 += X[o + j] * center[j];
      }
      let dist = norms2[i] - 2 * (p0 + p1 + (p2 + p3)) + mm;
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
    const complement = s1 > n2 / 2;
    if (complement) {
      A.set(this._sumLX);
      B.set(this._sumX);
    } else {
      A.fill(0);
      B.fill(0);
    }
    const want = complement ? 0 : 1;
    const sign = complement ? -1 : 1;
    for (let i = 0; i < n2; i++) {
      if (active[i] !== want) {
        continue;
      }
      const o = i * d2;
      const l = sign * losses[i];
      for (let q = 0; q < d2; q++) {
        const x = X[o + q];
        B[q] += sign * x;
        A[q] += l * x;
      }
    }
    out.activeLoss = sl;
    out.activeCount = s1;
    out.totalWeight = K;
    out.weightedLossSum = L;
    this._stats.rowsRead += n2 + (complement ? n2 - s1 : s1);
    this._stats.fullPasses += 1;
  }
  /**
   * Whether (μ, τ) lies within the margin of the current reference.
   *
   * @param center - μ (D).
   * @param precision - τ.
   * @returns False when there is no reference or (μ, τ) left its margin.
   */
  _inMargin(center, precision) {
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
  _rescan(center, precision) {
    const { embeddings: X, n: n2, d: d2 } = this;
    const losses = this._losses;
    const ref = this._ref;
    ref.set(center);
    let refNorm = 0;
    for (let j = 0; j < d2; j++) {
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
    const scale = this._maxNorm + refNorm + delta;
    const eps = 4 * (d2 + 4) * Math.pow(2, -52) * scale * scale;
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
    const d4 = d2 - d2 % 4;
    for (let i = 0; i < n2; i++) {
      const o = i * d2;
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
      for (; j < d2; j++) {
        const v = X[o + j] - ref[j];
        p0 += v * v;
      }
      const d22 = p0 + p1 + (p2 + p3);
      const upper = Math.sqrt(d22 + eps) + delta;
      if (upper * upper + eps < insideBelow) {
        const l = losses[i];
        count += 1;
        sl += l;
        q += d22;
        ql += l * d22;
        for (let k = 0; k < d2; k++) {
          const v = X[o + k] - ref[k];
          Y[k] += v;
          LY[k] += l * v;
        }
        continue;
      }
      const lower = Math.sqrt(Math.max(0, d22 - eps)) - delta;
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
    this._stats.rowsRead += n2;
    this._stats.fullPasses += 1;
  }
  /**
   * The moments from the inside set's moments and the shell rows.
   *
   * @param center - μ (D), within the margin.
   * @param precision - τ, within the margin.
   * @param out - The moments to fill.
   */
  _shellMoments(center, precision, out) {
    const { embeddings: X, d: d2 } = this;
    const norms2 = this._norms;
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
    for (let j = 0; j < d2; j++) {
      const c2 = center[j];
      mm += c2 * c2;
      const v = c2 - ref[j];
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
    const shellRows = this._shell;
    const shell = this._shellCount;
    const d4 = d2 - d2 % 4;
    for (let r = 0; r < shell; r++) {
      const i = shellRows[r];
      const o = i * d2;
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
      for (; j < d2; j++) {
        p0 += X[o + j] * center[j];
      }
      let dist = norms2[i] - 2 * (p0 + p1 + (p2 + p3)) + mm;
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
        for (let q = 0; q < d2; q++) {
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
  _norms;
  _active;
  _sumX;
  _sumLX;
  _losses;
  _stats;
  // Exact shell evaluation.
  _margin;
  _maxNorm;
  _ref;
  _inY;
  _inLY;
  _shell;
  _refValid = false;
  _delta = 0;
  _tauLo = 0;
  _tauHi = 0;
  _shellCount = 0;
  _inCount = 0;
  _inLoss = 0;
  _inQ = 0;
  _inLQ = 0;
};
var Private;
((Private2) => {
  function join(parts) {
    return parts.length === 1 ? parts[0] : tf.concat(parts, 1);
  }
  Private2.join = join;
})(Private || (Private = {}));

// ../../work/main/src/spotlight/types.ts
var DEFAULT_SPOTLIGHT_OPTIONS = Object.freeze({
  spotlightSize: 0.02,
  count: 5,
  steps: 5e3,
  learningRate: 0.01,
  patience: 10,
  factor: 0.5,
  finalBarrierFraction: 0.05,
  barrierScale: 1,
  initialPrecision: 1e-4,
  backend: "auto",
  pruning: true
});
var ADAM = Object.freeze({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
var PLATEAU = Object.freeze({ threshold: 1e-4, minChange: 1e-8 });

// ../../work/main/src/spotlight/optimizer.ts
var Adam = class {
  /**
   * @param size - Number of parameters (D + 1).
   * @param beta1 - First-moment decay β1.
   * @param beta2 - Second-moment decay β2.
   * @param epsilon - ε, added to the bias-corrected √v.
   */
  constructor(size, beta1 = ADAM.beta1, beta2 = ADAM.beta2, epsilon = ADAM.epsilon) {
    this.size = size;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this._m = new Float64Array(size);
    this._v = new Float64Array(size);
  }
  size;
  beta1;
  beta2;
  epsilon;
  /** Number of updates made so far. */
  get step() {
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
  update(params, grad, learningRate) {
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
      params[j] += stepSize * m[j] / (Math.sqrt(v[j]) / bc2Sqrt + epsilon);
    }
  }
  _m;
  _v;
  _t = 0;
};
var PlateauRule = class {
  /**
   * @param learningRate - Initial learning rate.
   * @param patience - Steps without improvement tolerated.
   * @param factor - Multiplier applied on a plateau, in (0, 1).
   */
  constructor(learningRate, patience, factor) {
    this.patience = patience;
    this.factor = factor;
    this._lr = learningRate;
  }
  patience;
  factor;
  /** The current learning rate. */
  get learningRate() {
    return this._lr;
  }
  /**
   * Record one step's value and apply the rule.
   *
   * @param value - q_t = −J_t.
   * @returns The learning rate for the next step.
   */
  observe(value) {
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
  _lr;
  _best = Infinity;
  _bad = 0;
};

// ../../work/main/src/__tests__/spotlight/planted.ts
function uniform(seed) {
  let a2 = seed >>> 0;
  return () => {
    a2 = a2 + 1831565813 | 0;
    let t = Math.imul(a2 ^ a2 >>> 15, 1 | a2);
    t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t;
    return ((t ^ t >>> 14) >>> 0) / 4294967296;
  };
}
function normal(rand) {
  return () => {
    let u = 0;
    while (u === 0) {
      u = rand();
    }
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}
function plantedClusters(n2 = 5e3, d2 = 64, seed = 1, fraction = 0.02) {
  const rand = uniform(seed);
  const gauss = normal(rand);
  const components = 8;
  const centres = [];
  for (let c2 = 0; c2 < components + 2; c2++) {
    const m = new Float64Array(d2);
    for (let j = 0; j < d2; j++) {
      m[j] = 4 * gauss();
    }
    centres.push(m);
  }
  const size = Math.floor(fraction * n2);
  const embeddings = new Float32Array(n2 * d2);
  const losses = new Float32Array(n2);
  const labels = new Int32Array(n2);
  const order = Array.from({ length: n2 }, (_, i) => i);
  for (let i = n2 - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let r = 0; r < n2; r++) {
    const i = order[r];
    let c2;
    let spread;
    if (r < size) {
      labels[i] = 1;
      c2 = components;
      spread = 0.6;
      losses[i] = Math.max(0, 2 + 0.3 * gauss());
    } else if (r < 2 * size) {
      labels[i] = 2;
      c2 = components + 1;
      spread = 0.6;
      losses[i] = Math.max(0, 1 + 0.2 * gauss());
    } else {
      c2 = Math.floor(rand() * components);
      spread = 1;
      losses[i] = -0.2 * Math.log(1 - rand());
      if (rand() < 0.03) {
        labels[i] = 3;
        losses[i] = 2.5 + 1.5 * rand();
      }
    }
    for (let j = 0; j < d2; j++) {
      embeddings[i * d2 + j] = centres[c2][j] + spread * gauss();
    }
  }
  return { embeddings, losses, n: n2, d: d2, labels, clusterSize: size };
}

// cmp.ts
var [n, d, steps, margin] = [Number(process.argv[2] ?? 5e3), Number(process.argv[3] ?? 64), Number(process.argv[4] ?? 5e3), Number(process.argv[5] ?? 0.01)];
var data = plantedClusters(n, d, 1);
var norms = squaredNorms(data.embeddings, n, d);
var S = Math.floor(0.02 * n);
var bar = barrierSchedule(steps, n - S, 0.05 * S);
function run(pruning, lockTheta, eps = 0) {
  const k = new HostKernel(data.embeddings, n, d, norms, { pruning, margin });
  k.setLosses(data.losses);
  const theta = new Float64Array(d + 1);
  theta[d] = Math.log(1e-4) * (1 + eps);
  const adam = new Adam(d + 1);
  const rule = new PlateauRule(0.01, 10, 0.5);
  const m = createMoments(d);
  const g = new Float64Array(d + 1);
  const J = [], K = [], thetas = [], grads = [];
  const t0 = performance.now();
  for (let t = 0; t < steps; t++) {
    if (lockTheta) theta.set(lockTheta[t]);
    thetas.push(Float64Array.from(theta));
    const tau = Math.exp(theta[d]);
    k.moments(theta.subarray(0, d), tau, m);
    const v = evaluateObjective(m, theta.subarray(0, d), tau, S, bar[t], 1, g);
    J.push(v.objective);
    K.push(v.totalWeight);
    grads.push(Float64Array.from(g));
    adam.update(theta, g, rule.learningRate);
    rule.observe(-v.objective);
  }
  const ms = performance.now() - t0;
  return { J, K, thetas, grads, ms, stats: k.stats, theta };
}
var a = run(false);
var b = run(true);
var FAST = !!process.env.FAST;
var c = FAST ? b : run(true, a.thetas);
var rel = (x, y) => Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1e-300);
var mj = 0;
var mk = 0;
var mjl = 0;
var mkl = 0;
var mg = 0;
for (let t = 0; t < steps; t++) {
  mj = Math.max(mj, rel(a.J[t], b.J[t]));
  mk = Math.max(mk, rel(a.K[t], b.K[t]));
  mjl = Math.max(mjl, rel(a.J[t], c.J[t]));
  mkl = Math.max(mkl, rel(a.K[t], c.K[t]));
  let gn = 0, gd = 0;
  for (let j = 0; j <= d; j++) {
    gn = Math.max(gn, Math.abs(a.grads[t][j]));
    gd = Math.max(gd, Math.abs(a.grads[t][j] - c.grads[t][j]));
  }
  mg = Math.max(mg, gd / gn);
}
var p = FAST ? a : run(false, void 0, 2 ** -52);
var first = (x, y, tol) => {
  for (let t = 0; t < steps; t++) if (rel(x[t], y[t]) > tol) return t;
  return -1;
};
var mp = 0;
for (let t = 0; t < steps; t++) mp = Math.max(mp, rel(a.K[t], p.K[t]));
console.log(JSON.stringify({ prunedVsUnpruned_firstStepKrel1e9: first(a.K, b.K, 1e-9), firstStepKrel1e6: first(a.K, b.K, 1e-6), ulpPerturbedUnpruned_firstStep1e9: first(a.K, p.K, 1e-9), first1e6: first(a.K, p.K, 1e-6), maxRelK_perturbed: mp, finalK_perturbed: p.K[steps - 1] }));
var mt = 0;
for (let j = 0; j <= d; j++) mt = Math.max(mt, Math.abs(a.theta[j] - b.theta[j]));
console.log(JSON.stringify({ n, d, steps, margin, unpruned: { ms: a.ms, msPerStep: a.ms / steps, ...a.stats, rowsPerStep: a.stats.rowsRead / steps }, pruned: { ms: b.ms, msPerStep: b.ms / steps, ...b.stats, rowsPerStep: b.stats.rowsRead / steps }, freeRun: { maxRelJ: mj, maxRelK: mk, maxAbsTheta: mt }, lockstep: { maxRelJ: mjl, maxRelK: mkl, maxRelGrad: mg }, finalK: [a.K[steps - 1], b.K[steps - 1]] }, null, 1));
