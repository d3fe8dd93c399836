/**
 * The pure parts of the engine: schedule, kernel helpers, Adam and the
 * plateau rule (d'Eon et al. 2021; SPOTLIGHT_METHOD.md).
 */
import {
  Adam,
  barrierSchedule,
  barrierWidth,
  dampLosses,
  kernelWeights,
  normalizeWeights,
  PlateauRule,
  sizePenalty,
  spotlightSizeFromFraction,
  weightStats
} from '../../spotlight';

describe('the schedule', () => {
  it('computes S = floor(fraction · N)', () => {
    expect(spotlightSizeFromFraction(0.02, 5000)).toBe(100);
    expect(spotlightSizeFromFraction(0.02, 1797)).toBe(35);
    expect(spotlightSizeFromFraction(0.29, 100)).toBe(29);
    expect(spotlightSizeFromFraction(0.02, 10)).toBe(0);
  });

  it('falls geometrically from N − S to 0.05 · S', () => {
    const b = barrierSchedule(5000, 4900, 5);
    expect(b[0]).toBe(4900);
    expect(b[4999]).toBe(5);
    const ratio = b[1] / b[0];
    expect(ratio).toBeCloseTo(Math.pow(5 / 4900, 1 / 4999), 14);
    for (const t of [10, 2500, 4998]) {
      expect(b[t + 1] / b[t]).toBeCloseTo(ratio, 12);
      expect(barrierWidth(t, 5000, 4900, 5)).toBe(b[t]);
    }
    expect(barrierSchedule(1, 10, 1)[0]).toBe(10);
  });

  it('penalises K below S + b quadratically, and not above', () => {
    expect(sizePenalty(90, 100, 20, 1)).toEqual({
      penalty: 900 / 400,
      slope: -60 / 400
    });
    expect(sizePenalty(90, 100, 20, 10).penalty).toBeCloseTo(22.5, 12);
    const above = sizePenalty(130, 100, 20, 1);
    expect(above.penalty).toBe(0);
    expect(above.slope === 0).toBe(true);
  });
});

describe('the kernel helpers', () => {
  const n = 4;
  const d = 2;
  const X = Float32Array.from([0, 0, 1, 0, 0, 2, 3, 4]);

  it('computes k = max(0, 1 − τ‖x − μ‖²)', () => {
    const k = kernelWeights(X, n, d, [0, 0], 0.25);
    expect(Array.from(k)).toEqual([1, 0.75, 0, 0]);
    const shifted = kernelWeights(X, n, d, Float64Array.from([1, 0]), 0.1);
    expect(shifted[0]).toBeCloseTo(0.9, 7);
    expect(shifted[1]).toBe(1);
    expect(shifted[2]).toBeCloseTo(0.5, 7);
    expect(shifted[3]).toBe(0);
  });

  it('summarises and normalises weights', () => {
    const k = Float32Array.from([1, 0.5, 0, 0.5]);
    const l = Float32Array.from([2, 4, 100, 0]);
    expect(weightStats(k, l)).toEqual({
      totalWeight: 2,
      supportSize: 3,
      weightedLoss: 2,
      maxWeight: 1
    });
    expect(Array.from(normalizeWeights(k, 2))).toEqual([0.5, 0.25, 0, 0.25]);
  });

  it('damps the losses by 1 − k / max k', () => {
    const k = Float32Array.from([0.5, 0.25, 0, 0.5]);
    const l = Float32Array.from([2, 4, 100, 1]);
    expect(Array.from(dampLosses(l, k))).toEqual([0, 2, 100, 0]);
  });
});

describe('Adam', () => {
  it('follows PyTorch with ε = 1e-8, for ascent', () => {
    const adam = new Adam(2);
    expect(adam.epsilon).toBe(1e-8);
    const theta = Float64Array.from([1, -1]);
    const grads = [
      [0.5, -2],
      [0.1, 3],
      [-0.3, 1e-9]
    ];
    // A transcription of torch.optim.Adam's update (descent on −J).
    let m = [0, 0];
    let v = [0, 0];
    const ref = [1, -1];
    grads.forEach((g, i) => {
      const t = i + 1;
      const lr = 0.01 * (t === 3 ? 0.5 : 1);
      adam.update(theta, Float64Array.from(g), lr);
      const gm = g.map(x => -x);
      m = m.map((x, j) => 0.9 * x + 0.1 * gm[j]);
      v = v.map((x, j) => 0.999 * x + 0.001 * gm[j] * gm[j]);
      const stepSize = lr / (1 - 0.9 ** t);
      const bc2 = Math.sqrt(1 - 0.999 ** t);
      for (let j = 0; j < 2; j++) {
        ref[j] -= (stepSize * m[j]) / (Math.sqrt(v[j]) / bc2 + 1e-8);
      }
      expect(theta[0]).toBeCloseTo(ref[0], 14);
      expect(theta[1]).toBeCloseTo(ref[1], 14);
    });
    expect(adam.step).toBe(3);
  });

  it('uses ε = 1e-8, not tfjs’s 1e-7, on tiny gradients', () => {
    const adam = new Adam(1);
    const theta = new Float64Array(1);
    adam.update(theta, Float64Array.from([1e-8]), 1);
    // m̂ = g, √v̂ = |g|: step = g / (|g| + ε) = 0.5 exactly for ε = g.
    expect(theta[0]).toBeCloseTo(0.5, 12);
  });
});

describe('the plateau rule', () => {
  it('halves the rate after patience + 1 steps without improvement, then resets', () => {
    const rule = new PlateauRule(0.01, 10, 0.5);
    const rates: number[] = [];
    for (let t = 0; t < 30; t++) {
      rates.push(rule.observe(1));
    }
    // Step 0 sets best; steps 1…11 are bad; the 11th bad step (t = 11) halves.
    expect(rates.slice(0, 11).every(r => r === 0.01)).toBe(true);
    expect(rates[11]).toBe(0.005);
    // Reset: t = 12 sets best again, t = 13…23 are bad, t = 23 halves.
    expect(rates[22]).toBe(0.005);
    expect(rates[23]).toBe(0.0025);
  });

  it('counts an improvement only beyond the relative threshold 1e-4', () => {
    const rule = new PlateauRule(1, 0, 0.5);
    rule.observe(1);
    expect(rule.observe(1 - 0.5e-4)).toBe(0.5); // not an improvement: bad = 1 > 0
    const other = new PlateauRule(1, 0, 0.5);
    other.observe(1);
    expect(other.observe(1 - 2e-4)).toBe(1); // an improvement
  });

  it('keeps a rate whose reduction would be ≤ 1e-8, but still resets', () => {
    const rule = new PlateauRule(1.5e-8, 0, 0.5);
    rule.observe(1);
    expect(rule.observe(1)).toBe(1.5e-8);
    // Reset happened: the next value counts as an improvement on +∞.
    expect(rule.observe(5)).toBe(1.5e-8);
    expect(rule.observe(5)).toBe(1.5e-8);
  });
});
