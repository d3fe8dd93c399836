/**
 * The PCA map: the first axis follows the data's dominant direction, for
 * narrow embeddings (covariance on every sampled row) and wide ones (SVD on
 * a subset, so that wide embeddings do not freeze the page).
 */
import {
  computeMapLayout,
  MAP_FIT_ROWS,
  projectAllRows,
  projectRows,
  WIDE_D
} from '../../summaries/projection';

/**
 * Rows x_i = a_i·u + b_i·v + noise, with a_i spread 10× wider than b_i.
 *
 * @param n - Rows.
 * @param d - Width.
 * @returns The embeddings and a_i.
 */
function planted(n: number, d: number) {
  let s = 12345;
  const rand = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const u = Float64Array.from({ length: d }, () => rand());
  const v = Float64Array.from({ length: d }, () => rand());
  const nu = Math.hypot(...u);
  const a = Float64Array.from({ length: n }, () => 10 * rand());
  const embeddings = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const b = rand();
    for (let j = 0; j < d; j++) {
      embeddings[i * d + j] = (a[i] * u[j]) / nu + b * v[j] + 0.01 * rand() + 3;
    }
  }
  return { embeddings, a };
}

/**
 * |Pearson correlation|.
 *
 * @param x - Values.
 * @param y - Values.
 * @returns |r|.
 */
function absCorrelation(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i] / n;
    my += y[i] / n;
  }
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return Math.abs(sxy / Math.sqrt(sxx * syy));
}

describe('projectRows', () => {
  for (const d of [16, 4 * WIDE_D]) {
    it(`puts the dominant direction on the first axis (D = ${d})`, () => {
      const n = 800;
      const { embeddings, a } = planted(n, d);
      const rows = Array.from({ length: n }, (_, i) => i);
      const points = projectRows(embeddings, d, rows);
      expect(points.map(p => p.index)).toEqual(rows);
      expect(
        absCorrelation(
          points.map(p => p.x),
          a
        )
      ).toBeGreaterThan(0.99);
      expect(points.every(p => Number.isFinite(p.y))).toBe(true);
    });
  }
});

describe('projectAllRows', () => {
  for (const d of [16, 4 * WIDE_D]) {
    it(`lays out every row, the dominant direction on x (D = ${d})`, () => {
      const n = MAP_FIT_ROWS + 700;
      const { embeddings, a } = planted(n, d);
      const layout = projectAllRows(embeddings, n, d);
      expect(layout.xy.length).toBe(2 * n);
      const x = Array.from({ length: n }, (_, i) => layout.xy[2 * i]);
      const y = Array.from({ length: n }, (_, i) => layout.xy[2 * i + 1]);
      // Rows outside the fitted sample are projected too.
      expect(absCorrelation(x, a)).toBeGreaterThan(0.99);
      expect(layout.fitRows).toBeLessThanOrEqual(MAP_FIT_ROWS);
      // Scaled into [-1, 1]: the central 99 % of x spans about [-0.95, 0.95]
      // (x is the wider axis here); only the outer 1 % may lie beyond.
      const inside = x.filter(v => Math.abs(v) <= 0.96).length;
      expect(inside / n).toBeGreaterThan(0.98);
      expect(Math.max(...x) - Math.min(...x)).toBeGreaterThan(1.85);
      expect(y.every(v => Number.isFinite(v))).toBe(true);
    });
  }

  it('keeps the aspect ratio, and an outlier does not squeeze the bulk', () => {
    // Rows (a, b) with a in {-10..10}, b in {-1..1}: x spans 20, y 2.
    const rows: number[] = [];
    for (let a = -10; a <= 10; a++) {
      for (let b = -1; b <= 1; b++) {
        rows.push(a, b);
      }
    }
    const layout = projectAllRows(Float32Array.from(rows), rows.length / 2, 2);
    const x = layout.xy.filter((_, i) => i % 2 === 0);
    const y = layout.xy.filter((_, i) => i % 2 === 1);
    const range = (v: Float32Array) => Math.max(...v) - Math.min(...v);
    expect(range(x) / range(y)).toBeCloseTo(10, 3);
    expect(range(x)).toBeCloseTo(1.9, 4);
    // 1,000 rows in a unit square and one far away: the bulk keeps its size.
    const bulk: number[] = [];
    for (let i = 0; i < 1000; i++) {
      bulk.push((i % 40) / 40, Math.floor(i / 40) / 25);
    }
    bulk.push(1000, 1000);
    const far = projectAllRows(Float32Array.from(bulk), 1001, 2).xy;
    const bulkX = far.filter((_, i) => i % 2 === 0 && i < 2000);
    expect(range(bulkX)).toBeGreaterThan(1.2);
  });

  it('puts N < 2 at the origin and refuses a wrong shape', () => {
    expect(Array.from(projectAllRows(new Float32Array(3), 1, 3).xy)).toEqual([
      0, 0
    ]);
    expect(() => projectAllRows(new Float32Array(5), 2, 3)).toThrow(
      /not N × D = 2 × 3/
    );
  });

  it('has an async entry point that can be cancelled', async () => {
    const { embeddings } = planted(50, 4);
    const layout = await computeMapLayout({ embeddings, n: 50, d: 4 });
    expect(layout.method).toBe('pca');
    const abort = new AbortController();
    abort.abort();
    await expect(
      computeMapLayout({ embeddings, n: 50, d: 4 }, abort.signal)
    ).rejects.toThrow(/cancelled/);
  });
});
