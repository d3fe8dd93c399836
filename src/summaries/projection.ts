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

/** Rows the overview map's principal axes are fitted on, at most. */
export const MAP_FIT_ROWS = 2000;

/** The overview map's projections: PCA (the default) or UMAP. */
export type MapMethod = 'pca' | 'umap';

/**
 * Refuse a map method that is not one of {@link MapMethod}.
 *
 * @param method - The method asked for.
 * @throws RangeError naming the method and the choices.
 */
export function checkMapMethod(method: unknown): asserts method is MapMethod {
  if (method !== 'pca' && method !== 'umap') {
    throw new RangeError(
      `method must be 'pca' or 'umap' (got ${JSON.stringify(method)}).`
    );
  }
}

/**
 * Scale a layout in place, aspect ratio kept, so that the central 99 % of
 * the wider axis (0.5th to 99.5th percentile of the given rows) spans
 * [−0.95, 0.95]: a few outliers should not squeeze the bulk of the map into
 * a corner.
 *
 * @param xy - Interleaved x₀, y₀, x₁, y₁, … (float32, length 2N), changed.
 * @param rows - The rows whose spread sets the scale (e.g. the fitted ones).
 */
export function fitToView(xy: Float32Array, rows: number[]): void {
  const n = xy.length / 2;
  const axis = (offset: number) => {
    const values = rows.map(i => xy[2 * i + offset]).sort((a, b) => a - b);
    const at = (q: number) =>
      values[Math.min(values.length - 1, Math.floor(q * values.length))];
    return [at(0.005), at(0.995)];
  };
  const [x0, x1] = axis(0);
  const [y0, y1] = axis(1);
  const span = Math.max(x1 - x0, y1 - y0);
  const scale = span > 0 && Number.isFinite(span) ? 1.9 / span : 0;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  for (let i = 0; i < n; i++) {
    xy[2 * i] = (xy[2 * i] - cx) * scale;
    xy[2 * i + 1] = (xy[2 * i + 1] - cy) * scale;
  }
}

/** The overview map's layout: every example's 2-D position. */
export interface IMapLayout {
  /**
   * Interleaved positions x₀, y₀, x₁, y₁, … (float32, length 2N), scaled
   * with the aspect ratio kept so that the central 99 % of the wider axis
   * (0.5th to 99.5th percentile of the fitted rows) spans [−0.95, 0.95], as
   * WebGL scatter plots take them; outliers may lie beyond ±1.
   */
  xy: Float32Array;
  /** The projection that ran (UMAP: src/summaries/umapLayout.ts). */
  method: MapMethod;
  /** Rows the axes were fitted on. */
  fitRows: number;
}

/**
 * Lay out every example on a 2-D map: the first two principal components
 * (centred, unscaled) fitted on an evenly spaced sample of at most
 * `MAP_FIT_ROWS` rows (SVD on `WIDE_FIT_ROWS` of them when D > `WIDE_D`, as
 * {@link projectRows}), then applied to all N rows — O(N·D) after the fit.
 * A pure function of its arrays, so it can run in a Web Worker.
 *
 * @param embeddings - Row-major N × D float32 embeddings.
 * @param n - Rows N (≥ 0).
 * @param d - Width D (≥ 1).
 * @returns The layout; all points at 0 when N < 2; y = 0 when D = 1.
 * @throws {RangeError} when `embeddings.length` is not N·D or D < 1.
 */
export function projectAllRows(
  embeddings: Float32Array,
  n: number,
  d: number
): IMapLayout {
  if (!(d >= 1) || embeddings.length !== n * d) {
    throw new RangeError(
      `embeddings has ${embeddings.length} values, not N × D = ${n} × ${d}: pass the row-major N × D array and its shape.`
    );
  }
  const xy = new Float32Array(2 * n);
  if (n < 2) {
    return { xy, method: 'pca', fitRows: n };
  }
  const m = Math.min(n, MAP_FIT_ROWS);
  const rows = Array.from({ length: m }, (_, j) => Math.floor((j * n) / m));
  const data = rows.map(i =>
    Array.from(embeddings.subarray(i * d, (i + 1) * d))
  );
  const wide = d > WIDE_D && m > WIDE_FIT_ROWS;
  const fit = wide
    ? Array.from(
        { length: WIDE_FIT_ROWS },
        (_, j) => data[Math.floor((j * m) / WIDE_FIT_ROWS)]
      )
    : data;
  const mean = new Float64Array(d);
  for (const row of fit) {
    for (let k = 0; k < d; k++) {
      mean[k] += row[k] / fit.length;
    }
  }
  const pca = new PCA(fit, {
    center: true,
    scale: false,
    method: wide ? 'SVD' : 'covarianceMatrix'
  });
  const vectors = pca.getEigenvectors();
  const axes = Math.min(2, d, vectors.columns);
  const u = new Float64Array(d);
  const v = new Float64Array(d);
  for (let k = 0; k < d; k++) {
    u[k] = axes > 0 ? vectors.get(k, 0) : 0;
    v[k] = axes > 1 ? vectors.get(k, 1) : 0;
  }
  for (let i = 0; i < n; i++) {
    let x = 0;
    let y = 0;
    const o = i * d;
    for (let k = 0; k < d; k++) {
      const c = embeddings[o + k] - mean[k];
      x += c * u[k];
      y += c * v[k];
    }
    xy[2 * i] = x;
    xy[2 * i + 1] = y;
  }
  fitToView(xy, rows);
  return { xy, method: 'pca', fitRows: wide ? WIDE_FIT_ROWS : m };
}

/**
 * The overview map's layout, computed off the page's critical path: the
 * entry point a Web Worker (or the page, after yielding once) calls.
 *
 * @param input - Row-major N × D float32 `embeddings`, `n`, `d`; `method`
 *   is 'pca' (the only projection so far).
 * @param signal - Cancels before the work starts.
 * @returns The layout ({@link projectAllRows}).
 * @throws AbortError when cancelled; RangeError on a wrong shape.
 */
export async function computeMapLayout(
  input: { embeddings: Float32Array; n: number; d: number; method?: 'pca' },
  signal?: AbortSignal
): Promise<IMapLayout> {
  await new Promise(resolve => setTimeout(resolve, 0));
  if (signal?.aborted) {
    throw new DOMException('The map layout was cancelled.', 'AbortError');
  }
  if (input.method !== undefined && input.method !== 'pca') {
    throw new RangeError(
      `method must be 'pca' (got ${JSON.stringify(input.method)}).`
    );
  }
  return projectAllRows(input.embeddings, input.n, input.d);
}
