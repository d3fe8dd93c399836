/**
 * Seeded synthetic data for the Spotlight tests: a Gaussian mixture with two
 * planted 2 % clusters of different mean loss and scattered high-loss points.
 */
import { uniform } from '../../spotlight/significance';

/** A planted-cluster data set. */
export interface IPlanted {
  embeddings: Float32Array;
  losses: Float32Array;
  n: number;
  d: number;
  /** 0 background, 1 the high-loss cluster, 2 the lower-loss cluster, 3 scattered high-loss. */
  labels: Int32Array;
  /** Size of each planted cluster. */
  clusterSize: number;
}

/** A seeded uniform generator on [0, 1) (mulberry32), the engine's own. */
export { uniform };

/**
 * A seeded standard normal generator (Box–Muller).
 *
 * @param rand - A uniform generator.
 * @returns The generator.
 */
export function normal(rand: () => number): () => number {
  return () => {
    let u = 0;
    while (u === 0) {
      u = rand();
    }
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

/**
 * Planted-cluster data: `components` background Gaussians (centres N(0, 4² I),
 * unit spread), cluster 1 (fraction·N points, spread 0.6, loss ≈ 2.0) and
 * cluster 2 (fraction·N points, spread 0.6, loss ≈ 1.0) around their own
 * centres; background losses Exp(mean 0.2), of which 3 % are scattered
 * high-loss points with losses in [2.5, 4).
 *
 * @param n - Number of examples.
 * @param d - Dimension.
 * @param seed - Seed.
 * @param fraction - Size of each planted cluster as a fraction of n.
 * @returns The data set.
 */
export function plantedClusters(
  n = 5000,
  d = 64,
  seed = 1,
  fraction = 0.02
): IPlanted {
  const rand = uniform(seed);
  const gauss = normal(rand);
  const components = 8;
  const centres: Float64Array[] = [];
  for (let c = 0; c < components + 2; c++) {
    const m = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      m[j] = 4 * gauss();
    }
    centres.push(m);
  }
  const size = Math.floor(fraction * n);
  const embeddings = new Float32Array(n * d);
  const losses = new Float32Array(n);
  const labels = new Int32Array(n);
  // Interleave the planted points so that their indices carry no information.
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let r = 0; r < n; r++) {
    const i = order[r];
    let c: number;
    let spread: number;
    if (r < size) {
      labels[i] = 1;
      c = components;
      spread = 0.6;
      losses[i] = Math.max(0, 2 + 0.3 * gauss());
    } else if (r < 2 * size) {
      labels[i] = 2;
      c = components + 1;
      spread = 0.6;
      losses[i] = Math.max(0, 1 + 0.2 * gauss());
    } else {
      c = Math.floor(rand() * components);
      spread = 1;
      losses[i] = -0.2 * Math.log(1 - rand());
      if (rand() < 0.03) {
        labels[i] = 3;
        losses[i] = 2.5 + 1.5 * rand();
      }
    }
    for (let j = 0; j < d; j++) {
      embeddings[i * d + j] = centres[c][j] + spread * gauss();
    }
  }
  return { embeddings, losses, n, d, labels, clusterSize: size };
}

/**
 * Indices of the m largest values (ties by index).
 *
 * @param values - The values.
 * @param m - How many.
 * @returns The indices, largest first.
 */
export function topIndices(values: ArrayLike<number>, m: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b] - values[a] || a - b)
    .slice(0, m);
}

/**
 * How many of the indices carry a label.
 *
 * @param indices - Indices.
 * @param labels - Labels.
 * @param label - The label.
 * @returns The count.
 */
export function countLabel(
  indices: number[],
  labels: Int32Array,
  label: number
): number {
  return indices.filter(i => labels[i] === label).length;
}

/**
 * Two compact high-loss groups in 8-D: the first (spread 0.3) is found
 * without trouble, the second (spread 1) makes the unguarded optimiser lose
 * every example, so without the guard spotlight 2 fails after spotlight 1 was
 * found (indices 0–39 and 40–79).
 *
 * @returns N = 2,000 × D = 8 embeddings and losses.
 */
export function twoCompactGroups(): {
  embeddings: Float32Array;
  losses: Float32Array;
  n: number;
  d: number;
} {
  const rand = uniform(7);
  const gauss = normal(rand);
  const n = 2000;
  const d = 8;
  const embeddings = new Float32Array(n * d);
  const losses = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = i < 40;
    const b = i >= 40 && i < 80;
    for (let j = 0; j < d; j++) {
      const centre = j === 0 ? (a ? 5 : b ? -5 : 0) : 0;
      embeddings[i * d + j] = centre + (a ? 0.3 : b ? 1 : 3) * gauss();
    }
    losses[i] = a || b ? 12 + 3 * rand() : 0.1 * Math.abs(gauss());
  }
  return { embeddings, losses, n, d };
}
