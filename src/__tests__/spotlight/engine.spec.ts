/**
 * The properties SPOTLIGHT_METHOD.md lists, on planted-cluster data
 * (d'Eon et al. 2021), mostly on the cpu backend.
 */
import {
  dampLosses,
  findSpotlights,
  ISpotlightProgress,
  ISpotlightResult,
  kernelWeights,
  SpotlightRunError
} from '../../spotlight';
import {
  countLabel,
  IPlanted,
  normal,
  plantedClusters,
  topIndices,
  uniform
} from './planted';

jest.setTimeout(120000);

/**
 * Mean of the m largest values.
 *
 * @param values - Values.
 * @param m - How many.
 * @returns Their mean.
 */
function meanOfTop(values: Float32Array, m: number): number {
  const sorted = Array.from(values).sort((a, b) => b - a);
  return sorted.slice(0, m).reduce((a, b) => a + b, 0) / m;
}

/**
 * Mean of all values.
 *
 * @param values - Values.
 * @returns The mean.
 */
function mean(values: Float32Array): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

describe('findSpotlights on planted clusters (cpu, paper defaults, 5000 × 64)', () => {
  let data: IPlanted;
  let result: ISpotlightResult;

  beforeAll(async () => {
    data = plantedClusters(5000, 64, 1);
    result = await findSpotlights(data, { backend: 'cpu', count: 3 });
  });

  it('reports the backend, the parameters and the paper defaults', () => {
    expect(result.version).toBe(1);
    expect(result.backend).toBe('cpu');
    expect(result.backendReason).toMatch(/CPU/);
    expect(result.n).toBe(5000);
    expect(result.d).toBe(64);
    expect(result.parameters).toMatchObject({
      spotlightSize: 0.02,
      size: 100,
      count: 3,
      steps: 5000,
      learningRate: 0.01,
      patience: 10,
      factor: 0.5,
      finalBarrierFraction: 0.05,
      initialBarrier: 4900,
      finalBarrier: 5,
      barrierScale: 1,
      initialPrecision: 1e-4,
      epsilon: 1e-8
    });
    expect(result.spotlights).toHaveLength(3);
    expect(result.timings.perSpotlightMs).toHaveLength(3);
  });

  it('never comes near a collapse: the guard does not act, so the run is the unguarded one bit for bit', async () => {
    for (const s of result.spotlights) {
      expect(s.guardSteps).toBe(0);
    }
    const unguarded = await findSpotlights(data, {
      backend: 'cpu',
      count: 3,
      collapseGuard: false
    });
    unguarded.spotlights.forEach((s, j) => {
      const g = result.spotlights[j];
      expect(Array.from(s.center)).toEqual(Array.from(g.center));
      expect(s.precision).toBe(g.precision);
      expect(Array.from(s.history.objective)).toEqual(
        Array.from(g.history.objective)
      );
    });
  });

  it('finds the high-loss cluster first, where ranking by loss alone fails', () => {
    const m = data.clusterSize;
    const top = topIndices(result.spotlights[0].kernelWeights, m);
    expect(countLabel(top, data.labels, 1)).toBeGreaterThanOrEqual(95);
    const byLoss = topIndices(data.losses, m);
    expect(countLabel(byLoss, data.labels, 1)).toBeLessThan(50);
  });

  it('finds the lower-loss cluster second', () => {
    const top = topIndices(
      result.spotlights[1].kernelWeights,
      data.clusterSize
    );
    expect(countLabel(top, data.labels, 2)).toBeGreaterThanOrEqual(95);
  });

  it('ends with K within a few percent of 1.05 · S', () => {
    for (const s of result.spotlights) {
      expect(Math.abs(s.totalWeight / (1.05 * 100) - 1)).toBeLessThan(0.03);
      const h = s.history.totalWeight;
      expect(Math.abs(h[h.length - 1] / (1.05 * 100) - 1)).toBeLessThan(0.03);
    }
  });

  it('has weights in [0, 1], Σw = 1, w = k / K, and k recomputable from (μ, τ)', () => {
    for (const s of result.spotlights) {
      let sumW = 0;
      let sumK = 0;
      let support = 0;
      let outside = 0;
      let worst = 0;
      for (let i = 0; i < data.n; i++) {
        const k = s.kernelWeights[i];
        outside += k >= 0 && k <= 1 ? 0 : 1;
        sumW += s.normalizedWeights[i];
        sumK += k;
        support += k > 0 ? 1 : 0;
        worst = Math.max(
          worst,
          Math.abs(s.normalizedWeights[i] - k / s.totalWeight)
        );
      }
      expect(outside).toBe(0);
      expect(worst).toBeLessThan(1e-9);
      expect(sumW).toBeCloseTo(1, 5);
      expect(sumK).toBeCloseTo(s.totalWeight, 3);
      expect(support).toBe(s.supportSize);
      expect(s.center).toHaveLength(data.d);
      expect(s.radius).toBeCloseTo(1 / Math.sqrt(s.precision), 10);
      expect(
        kernelWeights(data.embeddings, data.n, data.d, s.center, s.precision)
      ).toEqual(s.kernelWeights);
    }
  });

  it('damps the losses exactly between spotlights', () => {
    // Independently: ℓ⁽ʲ⁺¹⁾ = ℓ⁽ʲ⁾ (1 − k⁽ʲ⁾ / max k⁽ʲ⁾), float32 storage.
    let current = Float32Array.from(data.losses);
    for (const s of result.spotlights) {
      let num = 0;
      let den = 0;
      let orig = 0;
      for (let i = 0; i < data.n; i++) {
        num += s.kernelWeights[i] * current[i];
        orig += s.kernelWeights[i] * data.losses[i];
        den += s.kernelWeights[i];
      }
      expect(s.weightedLoss).toBeCloseTo(num / den, 10);
      expect(s.weightedLossOriginal).toBeCloseTo(orig / den, 10);
      const max = Math.max(...s.kernelWeights);
      const next = new Float32Array(data.n);
      for (let i = 0; i < data.n; i++) {
        next[i] = current[i] * (1 - s.kernelWeights[i] / max);
      }
      expect(dampLosses(current, s.kernelWeights)).toEqual(next);
      // The heaviest example is silenced.
      expect(next[s.kernelWeights.indexOf(max)]).toBe(0);
      current = next;
    }
  });

  it('has weighted losses that fall across spotlights', () => {
    const w = result.spotlights.map(s => s.weightedLoss);
    expect(w[0]).toBeGreaterThan(w[1]);
    expect(w[1]).toBeGreaterThan(w[2]);
    const o = result.spotlights.map(s => s.weightedLossOriginal);
    expect(o[0]).toBeGreaterThan(o[1]);
    expect(result.spotlights[0].weightedLoss).toBe(
      result.spotlights[0].weightedLossOriginal
    );
  });

  it('puts the weighted loss between the mean loss and the mean of the ⌊K⌋ largest', () => {
    let current = Float32Array.from(data.losses);
    for (const s of result.spotlights) {
      expect(s.weightedLoss).toBeGreaterThan(mean(current));
      expect(s.weightedLoss).toBeLessThan(
        meanOfTop(current, Math.floor(s.totalWeight))
      );
      current = dampLosses(current, s.kernelWeights);
    }
  });

  it('keeps a full history with the plateau rule only lowering the learning rate', () => {
    for (const s of result.spotlights) {
      expect(s.history.objective).toHaveLength(5000);
      expect(s.history.totalWeight).toHaveLength(5000);
      expect(s.history.learningRate).toHaveLength(5000);
      const lr = s.history.learningRate;
      expect(lr.every((x, t) => t === 0 || x <= lr[t - 1])).toBe(true);
      expect(lr[0]).toBeCloseTo(0.01, 9);
      const halvings = Math.log2(0.01 / lr[lr.length - 1]);
      expect(Math.abs(halvings - Math.round(halvings))).toBeLessThan(1e-5);
      expect(s.history.objective.every(Number.isFinite)).toBe(true);
      expect(s.startAdjusted).toBe(false);
      expect(s.initialPrecision).toBe(1e-4);
    }
  });
});

describe('findSpotlights, smaller runs', () => {
  const small = plantedClusters(1500, 16, 7, 0.04);
  const fast = {
    backend: 'cpu' as const,
    steps: 1500,
    count: 2,
    spotlightSize: 0.04
  };

  it('is deterministic', async () => {
    const a = await findSpotlights(small, fast);
    const b = await findSpotlights(small, fast);
    for (let j = 0; j < a.spotlights.length; j++) {
      expect(b.spotlights[j].center).toEqual(a.spotlights[j].center);
      expect(b.spotlights[j].precision).toBe(a.spotlights[j].precision);
      expect(b.spotlights[j].kernelWeights).toEqual(
        a.spotlights[j].kernelWeights
      );
      expect(b.spotlights[j].history.objective).toEqual(
        a.spotlights[j].history.objective
      );
    }
  });

  it('has a weighted loss that decreases as the spotlight size grows', async () => {
    const sizes = [0.02, 0.05, 0.1, 0.2];
    const losses: number[] = [];
    for (const spotlightSize of sizes) {
      const r = await findSpotlights(small, {
        backend: 'cpu',
        steps: 2000,
        count: 1,
        spotlightSize
      });
      losses.push(r.spotlights[0].weightedLoss);
    }
    for (let i = 1; i < losses.length; i++) {
      expect(losses[i]).toBeLessThan(losses[i - 1]);
    }
  });

  it('is a local search: it can find a lower-loss region before a higher-loss one', async () => {
    // A low-loss background and a loss-1.5 cluster near the origin, and a
    // loss-3 cluster beyond the starting radius r₀ = 100: the search starts
    // with zero weight on the far cluster and settles on the near one.
    const n = 1200;
    const d = 8;
    const gauss = normal(uniform(3));
    const embeddings = new Float32Array(n * d);
    const losses = new Float32Array(n);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i < 60 ? 1 : i < 180 ? 2 : 0;
      for (let j = 0; j < d; j++) {
        const c =
          labels[i] === 1
            ? j === 0
              ? 6
              : 0
            : labels[i] === 2
              ? j === 0
                ? 150
                : 0
              : 0;
        embeddings[i * d + j] = c + (labels[i] === 0 ? 3 : 0.5) * gauss();
      }
      losses[i] =
        labels[i] === 1 ? 1.5 : labels[i] === 2 ? 3 : 0.1 * Math.abs(gauss());
    }
    const r = await findSpotlights(
      { embeddings, losses, n, d },
      { backend: 'cpu', steps: 2000, count: 1, spotlightSize: 0.05 }
    );
    const s = r.spotlights[0];
    const top = topIndices(s.kernelWeights, 60);
    expect(countLabel(top, labels, 1)).toBeGreaterThanOrEqual(57);
    expect(countLabel(top, labels, 2)).toBe(0);
    // The far cluster would have given a far higher weighted loss.
    expect(s.weightedLoss).toBeLessThan(2);
  });

  it('lowers τ₀ when no point lies within r₀ of the origin, and says so', async () => {
    const shifted = Float32Array.from(small.embeddings, x => x + 200);
    const r = await findSpotlights(
      { ...small, embeddings: shifted },
      { backend: 'cpu', steps: 800, count: 1, spotlightSize: 0.04 }
    );
    const s = r.spotlights[0];
    expect(s.startAdjusted).toBe(true);
    let max = 0;
    for (let i = 0; i < small.n; i++) {
      let q = 0;
      for (let j = 0; j < small.d; j++) {
        q += shifted[i * small.d + j] ** 2;
      }
      max = Math.max(max, q);
    }
    expect(s.initialPrecision).toBeCloseTo(0.5 / max, 15);
    expect(Number.isFinite(s.weightedLoss)).toBe(true);
    expect(s.history.objective.every(Number.isFinite)).toBe(true);
    expect(r.backendReason).toMatch(/Start adjusted/);
  });

  it('guards a step that would shrink the spotlight past every example; without the guard, K = 0 is an error that names the cause', async () => {
    // Two tight clusters at x = ±10, a start radius of ~10.5 and no size
    // penalty to speak of: the spotlight shrinks past every example.
    const n = 200;
    const d = 2;
    const rand = uniform(5);
    const embeddings = new Float32Array(n * d);
    const losses = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      embeddings[i * d] = (i < 100 ? 10 : -10) + 0.01 * (rand() - 0.5);
      embeddings[i * d + 1] = 0.01 * (rand() - 0.5);
      losses[i] = i < 100 ? 1 : 0;
    }
    const options = {
      backend: 'cpu' as const,
      steps: 50,
      count: 1,
      spotlightSize: 0.1,
      learningRate: 0.1,
      initialPrecision: 0.009,
      barrierScale: 1e-12
    };
    const guarded = await findSpotlights({ embeddings, losses, n, d }, options);
    const s = guarded.spotlights[0];
    expect(s.guardSteps).toBeGreaterThan(0);
    expect(s.totalWeight).toBeGreaterThanOrEqual(20 * (1 - 1e-6));
    expect(Number.isFinite(s.weightedLoss)).toBe(true);

    const run = findSpotlights(
      { embeddings, losses, n, d },
      { ...options, collapseGuard: false }
    );
    await expect(run).rejects.toThrow(SpotlightRunError);
    await expect(run).rejects.toMatchObject({ code: 'zero-weight' });
    await expect(run).rejects.toThrow(
      /total weight K fell to 0.*collapse guard was off/
    );
  });

  it('turns a precision that underflows into an error, not a degenerate result', async () => {
    // A learning rate of 1000 sends s = log τ to about −1000: τ = e^s = 0.
    const run = findSpotlights(small, {
      backend: 'cpu',
      steps: 50,
      count: 1,
      learningRate: 1000
    });
    await expect(run).rejects.toMatchObject({
      name: 'SpotlightRunError',
      code: 'non-finite'
    });
    await expect(run).rejects.toThrow(/precision/);
  });

  it('reports progress at least every 250 ms, with the fields the panel shows', async () => {
    const reports: { time: number; p: ISpotlightProgress }[] = [];
    const started = performance.now();
    await findSpotlights(
      plantedClusters(4000, 32, 2),
      { backend: 'cpu', steps: 1500, count: 2 },
      { onProgress: p => reports.push({ time: performance.now(), p }) }
    );
    const total = performance.now() - started;
    expect(reports.length).toBeGreaterThan(total / 250);
    for (let i = 1; i < reports.length; i++) {
      expect(reports[i].time - reports[i - 1].time).toBeLessThan(250);
    }
    const last = reports[reports.length - 1].p;
    expect(last).toMatchObject({
      spotlight: 1,
      count: 2,
      step: 1499,
      steps: 1500
    });
    for (const { p } of reports) {
      expect(
        Number.isFinite(
          p.objective + p.totalWeight + p.weightedLoss + p.learningRate
        )
      ).toBe(true);
    }
  });

  it('yields to the event loop throughout a run', async () => {
    // A structural check, not a timing claim (benchmarks/ measures the longest
    // block): without yielding, one run here holds the thread for seconds.
    // CPU time of this process between timer ticks: unlike wall time, it does
    // not grow when other jest workers take the machine's cores.
    const big = plantedClusters(20000, 64, 3);
    const cpuMs = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    let last = cpuMs();
    let worst = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const t = cpuMs();
      worst = Math.max(worst, t - last);
      last = t;
      ticks++;
    }, 5);
    try {
      await findSpotlights(big, { backend: 'cpu', steps: 600, count: 2 });
      await findSpotlights(big, { backend: 'wasm', steps: 600, count: 2 });
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(10);
    expect(worst).toBeLessThan(400);
  });

  it('cancels within one step', async () => {
    const controller = new AbortController();
    const steps: number[] = [];
    const run = findSpotlights(small, fast, {
      signal: controller.signal,
      progressIntervalMs: 0,
      onProgress: p => {
        steps.push(p.step);
        if (p.step === 5) {
          controller.abort();
        }
      }
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(steps[steps.length - 1]).toBe(5);
  });

  it('cancels promptly from outside, and refuses an already-aborted signal', async () => {
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 50);
    await expect(
      findSpotlights(
        small,
        { ...fast, steps: 100000 },
        { signal: controller.signal }
      )
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(
      findSpotlights(small, fast, { signal: controller.signal })
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('keeps the queue when a waiting search is cancelled', async () => {
    const events: string[] = [];
    const first = findSpotlights(small, { ...fast, steps: 600 }).then(() =>
      events.push('first done')
    );
    const controller = new AbortController();
    const second = findSpotlights(small, fast, { signal: controller.signal });
    const third = findSpotlights(
      small,
      { ...fast, steps: 10, count: 1 },
      {
        onProgress: () =>
          void (
            events.includes('third started') || events.push('third started')
          )
      }
    );
    controller.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    await Promise.all([first, third]);
    expect(events).toEqual(['first done', 'third started']);
  });

  it('runs concurrent searches one after the other', async () => {
    const [a, b] = await Promise.all([
      findSpotlights(small, { ...fast, steps: 200 }),
      findSpotlights(small, { ...fast, steps: 200 })
    ]);
    expect(b.spotlights[0].kernelWeights).toEqual(
      a.spotlights[0].kernelWeights
    );
  });
});
