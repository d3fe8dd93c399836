/**
 * What the overview map draws for each example: a colour value and a
 * highlight, as the [0, 1] (continuous) or whole-number (categorical)
 * values a WebGL scatter plot takes. Pure functions of arrays.
 */

/** What the points are coloured by. */
export type ColorBy =
  'loss' | 'difference' | 'label' | 'prediction' | 'metadata';

/** The data the encodings read (a subset of the audit result). */
export interface IEncodingSource {
  /** Losses, length N (model B's when comparing). */
  losses: Float32Array;
  /** Model A's losses, or null. */
  referenceLosses: Float32Array | null;
  /** Label codes, or null. */
  labels: Int32Array | null;
  /** Names of the label codes, or null. */
  labelNames: string[] | null;
  /** Prediction codes in the labels' coding, or null. */
  predictions: Int32Array | null;
  /** Metadata codes, or null. */
  metadata: Int32Array | null;
  /** Names of the metadata codes, or null. */
  metadataNames: string[] | null;
}

/** One colour encoding of every point, and its legend. */
export interface IColorEncoding {
  /** What it encodes. */
  by: ColorBy;
  /** 'continuous': values in [0, 1]; 'categorical': codes 0 … count − 1. */
  kind: 'continuous' | 'categorical';
  /** One value per example, float32, length N. */
  values: Float32Array;
  /**
   * Continuous: the data values at 0 and 1 (values beyond are clipped);
   * categorical: unused ([0, 0]).
   */
  domain: [number, number];
  /** Categorical: the name of each code; continuous: empty. */
  categories: string[];
}

/** The colour encodings this data allows, the default first. */
export function colorChoices(source: IEncodingSource): ColorBy[] {
  const choices: ColorBy[] = [];
  if (source.referenceLosses) {
    choices.push('difference');
  }
  choices.push('loss');
  if (source.labels) {
    choices.push('label');
  }
  if (source.predictions) {
    choices.push('prediction');
  }
  if (source.metadata) {
    choices.push('metadata');
  }
  return choices;
}

/**
 * The q-quantile of finite values (nearest rank), on a stride sample of at
 * most 100,000 values.
 *
 * @param values - The values.
 * @param q - In [0, 1].
 * @returns The quantile, or 0 when there is no finite value.
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  const stride = Math.max(1, Math.floor(values.length / 100000));
  const sample: number[] = [];
  for (let i = 0; i < values.length; i += stride) {
    if (Number.isFinite(values[i])) {
      sample.push(values[i]);
    }
  }
  if (!sample.length) {
    return 0;
  }
  sample.sort((a, b) => a - b);
  return sample[Math.min(sample.length - 1, Math.floor(q * sample.length))];
}

/**
 * Encode a column as point colours.
 * - `loss`: ℓ / q₉₉(ℓ) clipped to [0, 1] (losses are ≥ 0 and skewed: the
 *   top 1 % share the darkest colour rather than squeezing the rest);
 * - `difference`: (ℓ_B − ℓ_A) / m mapped to [0, 1] around 0.5, with
 *   m = q₉₉(|ℓ_B − ℓ_A|): 0.5 where the models agree;
 * - `label`, `prediction`, `metadata`: the code; negative codes (e.g. a
 *   prediction the labels lack) get the extra last category "other".
 *
 * @param source - The audit's arrays.
 * @param by - What to encode.
 * @returns The encoding.
 * @throws {Error} when the column is absent, naming it.
 */
export function encodeColor(
  source: IEncodingSource,
  by: ColorBy
): IColorEncoding {
  const n = source.losses.length;
  const values = new Float32Array(n);
  if (by === 'loss') {
    const top = quantile(source.losses, 0.99) || 1;
    for (let i = 0; i < n; i++) {
      const v = source.losses[i] / top;
      values[i] = v > 1 ? 1 : v > 0 ? v : 0;
    }
    return {
      by,
      kind: 'continuous',
      values,
      domain: [0, top],
      categories: []
    };
  }
  if (by === 'difference') {
    const a = source.referenceLosses;
    if (!a) {
      throw new Error(
        'Colour by loss difference needs reference losses (model A): run a comparison.'
      );
    }
    const diff = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      diff[i] = source.losses[i] - a[i];
    }
    const m = quantile(diff.map(Math.abs), 0.99) || 1;
    for (let i = 0; i < n; i++) {
      values[i] = Math.min(1, Math.max(0, 0.5 + diff[i] / (2 * m)));
    }
    return { by, kind: 'continuous', values, domain: [-m, m], categories: [] };
  }
  const column =
    by === 'label'
      ? source.labels
      : by === 'prediction'
        ? source.predictions
        : source.metadata;
  if (!column) {
    throw new Error(
      `The audit has no ${by === 'metadata' ? 'metadata' : by + 's'}: choose them in the panel and run again to colour by ${by}.`
    );
  }
  const names = by === 'metadata' ? source.metadataNames : source.labelNames;
  let max = -1;
  let negative = false;
  for (let i = 0; i < n; i++) {
    if (column[i] > max) {
      max = column[i];
    }
    if (column[i] < 0) {
      negative = true;
    }
  }
  const count = Math.max(max + 1, names?.length ?? 0);
  const categories = Array.from({ length: count }, (_, c) =>
    String(names?.[c] ?? c)
  );
  if (negative) {
    categories.push('other');
  }
  for (let i = 0; i < n; i++) {
    values[i] = column[i] < 0 ? count : column[i];
  }
  return { by, kind: 'categorical', values, domain: [0, 0], categories };
}

/**
 * A region's highlight: kernel weights scaled so the heaviest example is 1.
 *
 * @param weights - Kernel weights k, length N, or null for no region.
 * @param n - N.
 * @returns Values in [0, 1], float32, length N (all 1 without a region).
 */
export function highlightValues(
  weights: ArrayLike<number> | null,
  n: number
): Float32Array {
  const values = new Float32Array(n);
  if (!weights) {
    return values.fill(1);
  }
  let max = 0;
  for (let i = 0; i < n; i++) {
    max = Math.max(max, weights[i]);
  }
  for (let i = 0; i < n; i++) {
    values[i] = max > 0 ? weights[i] / max : 0;
  }
  return values;
}

/**
 * The centre of a region on the map: the kernel-weighted mean position.
 *
 * @param xy - Interleaved map positions, length 2N.
 * @param weights - Kernel weights k, length N.
 * @returns [x, y], or null when K = 0.
 */
export function regionCentre(
  xy: Float32Array,
  weights: ArrayLike<number>
): [number, number] | null {
  let k = 0;
  let x = 0;
  let y = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    if (w > 0) {
      k += w;
      x += w * xy[2 * i];
      y += w * xy[2 * i + 1];
    }
  }
  return k > 0 ? [x / k, y / k] : null;
}

/**
 * The regions an example belongs to: those giving it a kernel weight > 0,
 * heaviest first.
 *
 * @param regionWeights - Each region's kernel weights.
 * @param index - The example's row.
 * @returns Region indices (from 0) and the example's weight in each.
 */
export function regionsOf(
  regionWeights: ArrayLike<number>[],
  index: number
): { region: number; weight: number }[] {
  return regionWeights
    .map((w, region) => ({ region, weight: w[index] }))
    .filter(r => r.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.region - b.region);
}
