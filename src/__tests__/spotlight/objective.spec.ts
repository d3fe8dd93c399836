/**
 * The objective and its analytic gradient (d'Eon et al. 2021): central finite
 * differences, tfjs autograd, and the float32 kernels (tfjs, WASM) against the
 * float64 host kernel.
 */
import * as tf from '@tensorflow/tfjs';

import {
  createMoments,
  evaluateObjective,
  HostKernel,
  IObjectiveKernel,
  kernelWeights,
  WasmKernel
} from '../../spotlight';
import { TensorKernel } from '../../spotlight/tensorKernel';
import { normal, uniform } from './planted';

/** A small random problem with a spotlight that covers part of the data. */
function problem(seed: number, n = 60, d = 5) {
  const gauss = normal(uniform(seed));
  const rand = uniform(seed + 100);
  const embeddings = Float32Array.from({ length: n * d }, () => 2 * gauss());
  const losses = Float32Array.from({ length: n }, () => 2 * rand());
  const center = Float64Array.from({ length: d }, () => 0.5 * gauss());
  // τ such that roughly half of the points are in the support.
  return { embeddings, losses, n, d, center, s: Math.log(1 / (4 * d * 2)) };
}

/**
 * J at θ = (μ, s) in float64 through the host kernel.
 *
 * @returns J and ∇J.
 */
function evaluate(
  kernel: IObjectiveKernel,
  d: number,
  theta: Float64Array,
  size: number,
  barrier: number,
  scale: number
) {
  const m = createMoments(d);
  const center = theta.slice(0, d);
  const tau = Math.exp(theta[d]);
  kernel.moments(center, tau, m);
  const grad = new Float64Array(d + 1);
  const value = evaluateObjective(m, center, tau, size, barrier, scale, grad);
  return { ...value, grad };
}

describe('the analytic gradient', () => {
  const cases = [
    { name: 'penalty active (K < S + b)', size: 40, barrier: 10, scale: 1 },
    { name: 'penalty inactive (K > S + b)', size: 2, barrier: 1, scale: 1 },
    { name: 'barrier scale 10', size: 30, barrier: 5, scale: 10 }
  ];
  for (const c of cases) {
    it(`matches central finite differences: ${c.name}`, () => {
      for (const seed of [1, 2, 3]) {
        const p = problem(seed);
        const kernel = new HostKernel(p.embeddings, p.n, p.d);
        kernel.setLosses(p.losses);
        const theta = new Float64Array(p.d + 1);
        theta.set(p.center);
        theta[p.d] = p.s;
        const at = evaluate(kernel, p.d, theta, c.size, c.barrier, c.scale);
        expect(at.totalWeight).toBeGreaterThan(0);
        const h = 1e-6;
        for (let q = 0; q <= p.d; q++) {
          const plus = Float64Array.from(theta);
          const minus = Float64Array.from(theta);
          plus[q] += h;
          minus[q] -= h;
          const fd =
            (evaluate(kernel, p.d, plus, c.size, c.barrier, c.scale).objective -
              evaluate(kernel, p.d, minus, c.size, c.barrier, c.scale)
                .objective) /
            (2 * h);
          expect(Math.abs(at.grad[q] - fd)).toBeLessThan(
            1e-6 * Math.max(1, Math.abs(fd))
          );
        }
      }
    });
  }

  it('is the gradient tfjs autograd computes on the direct formula', async () => {
    await tf.setBackend('cpu');
    const p = problem(4);
    const size = 40;
    const barrier = 10;
    const scale = 1;
    const kernel = new HostKernel(p.embeddings, p.n, p.d);
    kernel.setLosses(p.losses);
    const theta = new Float64Array(p.d + 1);
    theta.set(p.center);
    theta[p.d] = p.s;
    const ours = evaluate(kernel, p.d, theta, size, barrier, scale);

    const X = tf.tensor2d(p.embeddings, [p.n, p.d]);
    const l = tf.tensor1d(p.losses);
    const J = (mu: tf.Tensor, s: tf.Tensor) => {
      // J = f − P with the naive (X − μ)² distances: independent of objective.ts.
      const dist = tf.sum(tf.square(tf.sub(X, mu)), 1);
      const k = tf.relu(tf.sub(1, tf.mul(tf.exp(s), dist)));
      const K = tf.sum(k);
      const f = tf.div(tf.sum(tf.mul(k, l)), K);
      const gap = tf.relu(tf.sub(size + barrier, K));
      return tf.sub(f, tf.mul(scale / (barrier * barrier), tf.square(gap)));
    };
    const grads = tf.grads(J);
    const [gMu, gS] = grads([
      tf.tensor1d(Array.from(p.center)),
      tf.scalar(p.s)
    ]);
    const auto = [...gMu.dataSync(), ...gS.dataSync()];
    for (let q = 0; q <= p.d; q++) {
      expect(Math.abs(ours.grad[q] - auto[q])).toBeLessThan(
        1e-4 * Math.max(1, Math.abs(auto[q]))
      );
    }
    tf.dispose([X, l, gMu, gS]);
  });
});

describe('the float32 kernels', () => {
  const kinds = {
    'TensorKernel (tfjs-cpu)': async (p: ReturnType<typeof problem>) => {
      expect(await tf.setBackend('cpu')).toBe(true);
      return TensorKernel.create(p.embeddings, p.n, p.d);
    },
    WasmKernel: (p: ReturnType<typeof problem>) =>
      WasmKernel.create(p.embeddings, p.n, p.d)
  };
  for (const [name, make] of Object.entries(kinds)) {
    it(`${name} gives the host kernel's moments, and releases what it holds`, async () => {
      const p = problem(5, 300, 7);
      const before = tf.memory().numTensors;
      const host = new HostKernel(p.embeddings, p.n, p.d);
      const kernel = await make(p);
      try {
        for (const losses of [
          p.losses,
          Float32Array.from(p.losses, x => x * x)
        ]) {
          host.setLosses(losses);
          kernel.setLosses(losses);
          for (const tau of [Math.exp(p.s), 1e-4, 0.2]) {
            const a = createMoments(p.d);
            const b = createMoments(p.d);
            host.moments(p.center, tau, a);
            kernel.moments(p.center, tau, b);
            const close = (x: number, y: number) =>
              expect(Math.abs(x - y)).toBeLessThan(
                1e-4 * Math.max(1, Math.abs(x))
              );
            close(a.totalWeight, b.totalWeight);
            close(a.weightedLossSum, b.weightedLossSum);
            close(a.activeCount, b.activeCount);
            close(a.activeLoss, b.activeLoss);
            for (let j = 0; j < p.d; j++) {
              close(a.lossMoment[j], b.lossMoment[j]);
              close(a.activeMoment[j], b.activeMoment[j]);
            }
          }
        }
      } finally {
        kernel.dispose();
        kernel.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(() => kernel.moments(p.center, 0.2, createMoments(p.d))).toThrow(
        /disposed/
      );
    });
  }

  it('TensorKernel reads back asynchronously the same moments as dataSync', async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
    const p = problem(7, 250, 6);
    const kernel = TensorKernel.create(p.embeddings, p.n, p.d);
    try {
      kernel.setLosses(p.losses);
      const a = createMoments(p.d);
      const b = createMoments(p.d);
      kernel.moments(p.center, Math.exp(p.s), a);
      const pending = kernel.momentsAsync(p.center, Math.exp(p.s), b);
      expect(pending).toBeInstanceOf(Promise);
      await pending;
      expect(b).toEqual(a);
      expect(b.activeCount).toBeGreaterThan(0);
      expect(kernel.stats.steps).toBe(2);
    } finally {
      kernel.dispose();
    }
    await expect(
      kernel.momentsAsync(p.center, 0.2, createMoments(p.d))
    ).rejects.toThrow(/disposed/);
  });

  it('agrees with kernelWeights on the support and K', () => {
    const p = problem(6, 200, 4);
    const host = new HostKernel(p.embeddings, p.n, p.d);
    host.setLosses(p.losses);
    const m = createMoments(p.d);
    const tau = Math.exp(p.s);
    host.moments(p.center, tau, m);
    const k = kernelWeights(p.embeddings, p.n, p.d, p.center, tau);
    let K = 0;
    let support = 0;
    for (const x of k) {
      K += x;
      support += x > 0 ? 1 : 0;
    }
    expect(m.totalWeight).toBeCloseTo(K, 4);
    expect(m.activeCount).toBeGreaterThanOrEqual(support);
  });
});
