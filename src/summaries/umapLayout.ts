/**
 * The overview map's UMAP layout (umap-js), on a sample of the rows and
 * extended to every row.
 *
 * UMAP: McInnes, Healy & Melville, "UMAP: Uniform Manifold Approximation
 * and Projection for Dimension Reduction", arXiv 1802.03426 (2018); the
 * optimisation is umap-js's. UMAP's cost grows faster than linearly and
 * umap-js's own `transform` places about 1,000 new rows per second here
 * (measured: 1.25 s for 1,000 rows of 32 dimensions), so all N rows cannot
 * go through it at 100,000 rows. Instead UMAP runs on an evenly spaced
 * sample of {@link UMAP_SAMPLE_ROWS} rows, and every other row is placed at
 * the kernel-weighted mean of the UMAP positions of its
 * {@link UMAP_NEIGHBOURS} nearest sampled rows (Gaussian kernel whose
 * bandwidth is the distance to the farthest of them) — the usual
 * out-of-sample extension by neighbours, O(N · √m · p) with the pivot index
 * below instead of O(N · m · p).
 *
 * Distances are taken on the rows' first {@link UMAP_COMPONENTS} principal
 * components (fitted on the sample as the PCA map's axes are, see
 * `fitMap`): UMAP on the top principal components is common practice, and
 * it keeps the neighbour search cheap for wide embeddings.
 */
import { UMAP } from 'umap-js';

import { fitMap, fitToView, IMapLayout } from './projection';

/** Rows UMAP runs on, at most (an evenly spaced sample). */
export const UMAP_SAMPLE_ROWS = 2000;

/** Principal components the distances are taken on, at most. */
export const UMAP_COMPONENTS = 32;

/** Sampled neighbours that place each other row. */
export const UMAP_NEIGHBOURS = 10;

/** UMAP's optimisation epochs on the sample. */
export const UMAP_EPOCHS = 300;

/** Options of {@link umapLayout}. */
export interface IUmapOptions {
  /** Seed of UMAP's random numbers (default 0): same seed, same layout. */
  seed?: number;
  /** Rows UMAP runs on (default {@link UMAP_SAMPLE_ROWS}, at least 3). */
  sampleRows?: number;
  /** Optimisation epochs (default {@link UMAP_EPOCHS}). */
  epochs?: number;
  /** Called with the fraction done (0 to 1) and the stage in words. */
  onProgress?: (fraction: number, stage: string) => void;
  /** Cancels between epochs and between blocks of rows. */
  signal?: AbortSignal;
}

/**
 * Lay out every example with UMAP (see the module's comment): UMAP on an
 * evenly spaced sample of m rows, the other rows placed from their nearest
 * sampled neighbours; scaled as the PCA layout is (`fitToView`).
 *
 * @param embeddings - Row-major N × D float32 embeddings.
 * @param n - Rows N (≥ 0).
 * @param d - Width D (≥ 1).
 * @param options - Seed, sample size, progress, cancel.
 * @returns The layout (`method: 'umap'`, `fitRows` = m): deterministic for
 *   a seed; every row placed; finite coordinates. With N < 3 every point
 *   is at 0 (UMAP needs neighbours).
 * @throws {RangeError} when `embeddings.length` is not N·D, D < 1 or the
 *   sample is smaller than 3 rows.
 * @throws AbortError when cancelled.
 */
export async function umapLayout(
  embeddings: Float32Array,
  n: number,
  d: number,
  options: IUmapOptions = {}
): Promise<IMapLayout> {
  if (!(d >= 1) || embeddings.length !== n * d) {
    throw new RangeError(
      `embeddings has ${embeddings.length} values, not N × D = ${n} × ${d}: pass the row-major N × D array and its shape.`
    );
  }
  const sampleSize = options.sampleRows ?? UMAP_SAMPLE_ROWS;
  if (!(sampleSize >= 3)) {
    throw new RangeError(
      `sampleRows is ${sampleSize}: UMAP needs a sample of at least 3 rows.`
    );
  }
  const progress = options.onProgress ?? (() => undefined);
  const signal = options.signal;
  const xy = new Float32Array(2 * n);
  if (n < 3) {
    return { xy, method: 'umap', fitRows: n };
  }
  const m = Math.min(n, Math.floor(sampleSize));
  const rows = Array.from({ length: m }, (_, j) => Math.floor((j * n) / m));
  progress(0, 'principal components of the sample');
  await Private.pause(signal);

  // Reduce to p principal components (or keep the raw values when D ≤ p).
  const reduce = Private.reducer(embeddings, d, rows);
  const p = reduce.p;
  const sample = new Float32Array(m * p);
  const sampled = rows.map((i, j) => {
    const out = sample.subarray(j * p, (j + 1) * p);
    reduce.row(i, out);
    return Array.from(out);
  });

  // UMAP on the sample (umap-js, seeded).
  const epochs = Math.max(1, Math.floor(options.epochs ?? UMAP_EPOCHS));
  const umap = new UMAP({
    nComponents: 2,
    nEpochs: epochs,
    nNeighbors: Math.min(15, m - 1),
    random: Private.mulberry32(options.seed ?? 0)
  });
  progress(0.05, 'nearest neighbours of the sample');
  await Private.pause(signal);
  const total = umap.initializeFit(sampled);
  for (let e = 0; e < total; e++) {
    umap.step();
    if (e % 20 === 19) {
      progress(0.1 + (0.6 * (e + 1)) / total, 'UMAP epochs');
      await Private.pause(signal);
    }
  }
  const embedded = umap.getEmbedding();
  const position = new Float64Array(2 * m);
  for (let j = 0; j < m; j++) {
    const [x, y] = embedded[j];
    position[2 * j] = Number.isFinite(x) ? x : 0;
    position[2 * j + 1] = Number.isFinite(y) ? y : 0;
  }

  // Every row: its own position when sampled, else from its neighbours.
  const index = new Private.PivotIndex(sample, m, p);
  const k = Math.min(UMAP_NEIGHBOURS, m);
  const query = new Float32Array(p);
  let next = 0;
  const block = 5000;
  for (let start = 0; start < n; start += block) {
    const end = Math.min(n, start + block);
    for (let i = start; i < end; i++) {
      if (next < m && rows[next] === i) {
        xy[2 * i] = position[2 * next];
        xy[2 * i + 1] = position[2 * next + 1];
        next++;
        continue;
      }
      reduce.row(i, query);
      const { ids, d2 } = index.nearest(query, k);
      const bandwidth = d2[d2.length - 1];
      let x = 0;
      let y = 0;
      let total = 0;
      for (let r = 0; r < ids.length; r++) {
        const w = bandwidth > 0 ? Math.exp(-d2[r] / bandwidth) : 1;
        x += w * position[2 * ids[r]];
        y += w * position[2 * ids[r] + 1];
        total += w;
      }
      xy[2 * i] = x / total;
      xy[2 * i + 1] = y / total;
    }
    progress(0.7 + (0.3 * end) / n, 'placing every row');
    await Private.pause(signal);
  }
  fitToView(xy, rows);
  return { xy, method: 'umap', fitRows: m };
}

namespace Private {
  /** A seeded uniform generator on [0, 1) (mulberry32). */
  export function mulberry32(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Yield to the event loop; throw an AbortError when cancelled. */
  export async function pause(signal?: AbortSignal): Promise<void> {
    await new Promise(resolve => setTimeout(resolve, 0));
    if (signal?.aborted) {
      throw new DOMException(
        'The UMAP map layout was cancelled.',
        'AbortError'
      );
    }
  }

  /** Maps a row of the embeddings to its p reduced coordinates. */
  export interface IReducer {
    p: number;
    row(i: number, out: Float32Array): void;
  }

  /**
   * The first `UMAP_COMPONENTS` principal components (centred), fitted on
   * the sampled rows with `fitMap`; the raw row when D ≤ that.
   */
  export function reducer(
    embeddings: Float32Array,
    d: number,
    rows: number[]
  ): IReducer {
    if (d <= UMAP_COMPONENTS || rows.length < 2) {
      return {
        p: d,
        row: (i, out) => out.set(embeddings.subarray(i * d, (i + 1) * d))
      };
    }
    const pca = fitMap(embeddings, d, rows);
    const vectors = pca.getEigenvectors();
    const p = Math.max(1, Math.min(UMAP_COMPONENTS, vectors.columns));
    const axes = new Float64Array(p * d);
    for (let c = 0; c < p; c++) {
      for (let k = 0; k < d; k++) {
        axes[c * d + k] = vectors.get(k, c);
      }
    }
    const mean = new Float64Array(d);
    for (const i of rows) {
      for (let k = 0; k < d; k++) {
        mean[k] += embeddings[i * d + k] / rows.length;
      }
    }
    const centred = new Float64Array(d);
    return {
      p,
      row: (i, out) => {
        const o = i * d;
        for (let k = 0; k < d; k++) {
          centred[k] = embeddings[o + k] - mean[k];
        }
        for (let c = 0; c < p; c++) {
          let s = 0;
          const a = c * d;
          for (let k = 0; k < d; k++) {
            s += centred[k] * axes[a + k];
          }
          out[c] = s;
        }
      }
    };
  }

  /**
   * Nearest sampled rows by squared Euclidean distance, searched in the
   * groups of the few pivots nearest to the query: √m pivots (evenly spaced
   * sampled rows) each own the sampled rows nearest to them; a query scans
   * the pivots, then the rows of its nearest pivots until it has seen at
   * least 4k of them. Approximate (a true neighbour in a farther group can
   * be missed) but exact on well-separated groups.
   */
  export class PivotIndex {
    constructor(
      private readonly _points: Float32Array,
      m: number,
      private readonly _p: number
    ) {
      const g = Math.max(1, Math.round(Math.sqrt(m)));
      this._pivots = Array.from({ length: g }, (_, j) =>
        Math.floor((j * m) / g)
      );
      this._groups = this._pivots.map(() => []);
      for (let j = 0; j < m; j++) {
        let best = 0;
        let bestD = Infinity;
        for (let q = 0; q < g; q++) {
          const dd = this._distance(this._points, j * _p, this._pivots[q]);
          if (dd < bestD) {
            bestD = dd;
            best = q;
          }
        }
        this._groups[best].push(j);
      }
      this._pivotD = new Float64Array(g);
      this._order = Array.from({ length: g }, (_, q) => q);
    }

    /**
     * The k nearest sampled rows of a query, nearest first.
     *
     * @param query - p reduced coordinates.
     * @param k - How many (≤ m).
     * @returns Their sample positions and squared distances.
     */
    nearest(query: Float32Array, k: number): { ids: number[]; d2: number[] } {
      const g = this._pivots.length;
      for (let q = 0; q < g; q++) {
        this._pivotD[q] = this._distance(query, 0, this._pivots[q]);
      }
      const order = this._order.sort(
        (a, b) => this._pivotD[a] - this._pivotD[b] || a - b
      );
      const ids: number[] = [];
      const d2: number[] = [];
      let seen = 0;
      for (let r = 0; r < g && (seen < 4 * k || r < 2); r++) {
        for (const j of this._groups[order[r]]) {
          seen++;
          const dd = this._distance(query, 0, j);
          if (ids.length === k && dd >= d2[k - 1]) {
            continue;
          }
          let at = ids.length === k ? k - 1 : ids.length;
          if (ids.length < k) {
            ids.push(j);
            d2.push(dd);
          }
          while (at > 0 && d2[at - 1] > dd) {
            ids[at] = ids[at - 1];
            d2[at] = d2[at - 1];
            at--;
          }
          ids[at] = j;
          d2[at] = dd;
        }
      }
      return { ids, d2 };
    }

    private _distance(a: Float32Array, offset: number, j: number): number {
      const p = this._p;
      const b = this._points;
      const o = j * p;
      let s = 0;
      for (let c = 0; c < p; c++) {
        const z = a[offset + c] - b[o + c];
        s += z * z;
      }
      return s;
    }

    private readonly _pivots: number[];
    private readonly _groups: number[][];
    private readonly _pivotD: Float64Array;
    private readonly _order: number[];
  }
}
