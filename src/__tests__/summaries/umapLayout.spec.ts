import { umapLayout } from '../../summaries/umapLayout';

/** Seeded normal-ish numbers (sum of uniforms) for planted clusters. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => uniform() + uniform() + uniform() - 1.5;
}

/**
 * N rows in D dimensions around `clusters` centres 20 apart (unit noise);
 * row i belongs to cluster i mod clusters.
 */
function planted(
  n: number,
  d: number,
  clusters: number,
  seed = 1
): Float32Array {
  const noise = generator(seed);
  const centres = Array.from({ length: clusters }, () =>
    Array.from({ length: d }, () => 20 * noise())
  );
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) {
      x[i * d + k] = centres[i % clusters][k] + noise();
    }
  }
  return x;
}

/**
 * Share of rows (every 7th) whose nearest other row on the map is of their
 * own cluster: 1 when the planted clusters do not mix on the map (UMAP may
 * still split one cluster into islands).
 */
function separated(xy: Float32Array, clusters: number): number {
  const n = xy.length / 2;
  let right = 0;
  let tried = 0;
  for (let i = 0; i < n; i += 7) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < n; j++) {
      const dx = xy[2 * i] - xy[2 * j];
      const dy = xy[2 * i + 1] - xy[2 * j + 1];
      if (j !== i && dx * dx + dy * dy < bestD) {
        bestD = dx * dx + dy * dy;
        best = j;
      }
    }
    tried++;
    right += best % clusters === i % clusters ? 1 : 0;
  }
  return right / tried;
}

describe('umapLayout', () => {
  const n = 2000;
  // Small samples and few epochs: umap-js runs several times slower under
  // jest's jsdom than in Node.
  const fast = { sampleRows: 150, epochs: 100 };

  it('places every row at finite coordinates, the same for a seed, and keeps planted clusters apart (D > 32: principal components)', async () => {
    const d = 48;
    const x = planted(n, d, 4);
    const a = await umapLayout(x, n, d, { ...fast, seed: 3 });
    const b = await umapLayout(x, n, d, { ...fast, seed: 3 });
    expect(a.method).toBe('umap');
    expect(a.fitRows).toBe(150);
    expect(a.xy.length).toBe(2 * n);
    expect(a.xy.every(Number.isFinite)).toBe(true);
    expect(Array.from(b.xy)).toEqual(Array.from(a.xy));
    // Not all in one spot: the rows spread over the view.
    const spread = (offset: number) => {
      const v = Array.from(a.xy.filter((_, j) => j % 2 === offset));
      return Math.max(...v) - Math.min(...v);
    };
    expect(Math.max(spread(0), spread(1))).toBeGreaterThan(1.5);
    expect(separated(a.xy, 4)).toBeGreaterThanOrEqual(0.99);
    const c = await umapLayout(x, n, d, { ...fast, seed: 4 });
    expect(Array.from(c.xy)).not.toEqual(Array.from(a.xy));
  }, 60000);

  it('keeps clusters apart on raw coordinates (D ≤ 32) and places rows between sampled ones', async () => {
    const d = 8;
    const x = planted(n, d, 3, 7);
    const layout = await umapLayout(x, n, d, { ...fast, seed: 0 });
    expect(layout.xy.every(Number.isFinite)).toBe(true);
    expect(separated(layout.xy, 3)).toBeGreaterThanOrEqual(0.99);
  }, 60000);

  it('refuses a wrong shape and a sample under 3 rows; cancels', async () => {
    await expect(umapLayout(new Float32Array(10), 3, 4)).rejects.toThrow(
      /not N × D = 3 × 4/
    );
    await expect(
      umapLayout(new Float32Array(12), 3, 4, { sampleRows: 2 })
    ).rejects.toThrow(/at least 3 rows/);
    const abort = new AbortController();
    abort.abort();
    await expect(
      umapLayout(planted(100, 4, 2), 100, 4, { signal: abort.signal })
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('puts fewer than 3 rows at the origin', async () => {
    const layout = await umapLayout(Float32Array.from([1, 2, 3, 4]), 2, 2);
    expect(Array.from(layout.xy)).toEqual([0, 0, 0, 0]);
  });
});
