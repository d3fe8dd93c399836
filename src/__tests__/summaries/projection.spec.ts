/**
 * The PCA map: the first axis follows the data's dominant direction, for
 * narrow embeddings (covariance on every sampled row) and wide ones (SVD on
 * a subset, so that wide embeddings do not freeze the page).
 */
import { projectRows, WIDE_D } from '../../summaries/projection';

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
