/**
 * A 2-D map of the embeddings: PCA (ml-pca) on a deterministic sample.
 */
import { PCA } from 'ml-pca';

import { rankByWeight } from './stats';

/** A projected example. */
export interface IMapPoint {
  /** Row index in the data. */
  index: number;
  /** First principal coordinate. */
  x: number;
  /** Second principal coordinate. */
  y: number;
}

/**
 * Choose at most `max` rows: the heaviest rows of every region, then an even
 * stride over the rest. Deterministic, so the map is stable between runs.
 *
 * @param n - Number of rows N.
 * @param max - Maximum sample size.
 * @param regions - Kernel weights of each region (length N each).
 * @returns Sorted, distinct row indices.
 */
export function sampleRows(
  n: number,
  max: number,
  regions: ArrayLike<number>[] = []
): number[] {
  if (n <= max) {
    return Array.from({ length: n }, (_, i) => i);
  }
  const chosen = new Set<number>();
  const perRegion = Math.floor(max / (2 * Math.max(1, regions.length)));
  for (const weights of regions) {
    for (const i of rankByWeight(weights, perRegion)) {
      chosen.add(i);
    }
  }
  const rest = max - chosen.size;
  const stride = n / rest;
  for (let j = 0; j < rest; j++) {
    chosen.add(Math.floor(j * stride));
  }
  return [...chosen].sort((a, b) => a - b).slice(0, max);
}

/**
 * Rows the principal axes are fitted on when D is wide: ml-pca's
 * decompositions cost O(D³) (covariance) or O(m²·D) with a large constant
 * (SVD of m rows), and they run on the page's thread. Measured in Node on
 * 2,000 × 3,000 embeddings: covariance on every row several minutes; SVD on
 * 286 rows 7 s; on 120 rows about 1 s.
 */
export const WIDE_FIT_ROWS = 120;

/** Above this width the axes are fitted by SVD on `WIDE_FIT_ROWS` rows. */
export const WIDE_D = 128;

/** Two principal axes fitted on a sample of the embeddings (ml-pca). */
export type MapFit = PCA;

/**
 * Fit the map's two principal axes (centred, unscaled) on sampled rows —
 * or, when D > `WIDE_D`, on an evenly spaced subset of `WIDE_FIT_ROWS` of
 * them (a map, not an analysis: two axes from 120 rows are close to the full
 * sample's, and the fit takes about a second, not minutes, on wide
 * embeddings).
 *
 * @param embeddings - Row-major N × D float32 embeddings.
 * @param d - Embedding width D (≥ 1).
 * @param rows - Row indices to fit on (at least 2).
 * @returns The fitted axes, for {@link projectRows}.
 */
export function fitMap(
  embeddings: Float32Array,
  d: number,
  rows: number[]
): MapFit {
  const wide = d > WIDE_D && rows.length > WIDE_FIT_ROWS;
  const fitRows = wide
    ? Array.from(
        { length: WIDE_FIT_ROWS },
        (_, j) => rows[Math.floor((j * rows.length) / WIDE_FIT_ROWS)]
      )
    : rows;
  const fit = fitRows.map(i =>
    Array.from(embeddings.subarray(i * d, (i + 1) * d))
  );
  return new PCA(fit, {
    center: true,
    scale: false,
    method: wide ? 'SVD' : 'covarianceMatrix'
  });
}

/**
 * Project sampled rows of the embeddings onto their first two principal
 * components, fitted by {@link fitMap} on the same rows — or on the rows a
 * given fit was made on (an audit fits its map once, on rows that do not
 * depend on the regions, and projects each region's heaviest rows on it).
 *
 * @param embeddings - Row-major N × D float32 embeddings.
 * @param d - Embedding width D (≥ 1).
 * @param rows - Row indices to project (from {@link sampleRows}).
 * @param fitted - Axes fitted earlier on these embeddings, or undefined to
 *   fit them on `rows`.
 * @returns One point per row; y is 0 when D = 1; every point at (0, 0) when
 *   fewer than 2 rows are given and no fit.
 */
export function projectRows(
  embeddings: Float32Array,
  d: number,
  rows: number[],
  fitted?: MapFit
): IMapPoint[] {
  if (!fitted && rows.length < 2) {
    return rows.map(index => ({ index, x: 0, y: 0 }));
  }
  const pca = fitted ?? fitMap(embeddings, d, rows);
  const data = rows.map(i =>
    Array.from(embeddings.subarray(i * d, (i + 1) * d))
  );
  if (!data.length) {
    return [];
  }
  const projected = pca
    .predict(data, { nComponents: Math.min(2, d) })
    .to2DArray();
  return rows.map((index, r) => ({
    index,
    x: projected[r][0] ?? 0,
    y: projected[r][1] ?? 0
  }));
}
