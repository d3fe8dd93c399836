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
 * Project sampled rows of the embeddings onto their first two principal
 * components (centred, unscaled), fitted on the same sample.
 *
 * @param embeddings - Row-major N × D float32 embeddings.
 * @param d - Embedding width D (≥ 1).
 * @param rows - Row indices to project (from {@link sampleRows}).
 * @returns One point per row; y is 0 when D = 1.
 */
export function projectRows(
  embeddings: Float32Array,
  d: number,
  rows: number[]
): IMapPoint[] {
  const data = rows.map(i =>
    Array.from(embeddings.subarray(i * d, (i + 1) * d))
  );
  if (rows.length < 2) {
    return rows.map(index => ({ index, x: 0, y: 0 }));
  }
  const pca = new PCA(data, {
    center: true,
    scale: false,
    method: 'covarianceMatrix'
  });
  const projected = pca
    .predict(data, { nComponents: Math.min(2, d) })
    .to2DArray();
  return rows.map((index, r) => ({
    index,
    x: projected[r][0] ?? 0,
    y: projected[r][1] ?? 0
  }));
}
