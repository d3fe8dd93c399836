/**
 * What a region is: kernel-weighted contrastive explanations (issue 12).
 *
 * For one region (kernel weights k ∈ [0, 1]^N, d'Eon et al. 2021 §3) every
 * label, prediction, (label → prediction) confusion pair, metadata column
 * and, for text examples, every word is compared between the region and the
 * rest of the data. The region is the weighted sample with weights k, the
 * rest the weighted sample with weights 1 − k; each gets Kish's effective
 * sample size n_e = (Σw)² / Σw² (the number of equally weighted examples
 * that would carry the same information), and every test below uses it in
 * place of a count. Those that clear a Bonferroni-corrected two-sided test
 * (α = 0.05 over all the comparisons of the region) are ranked by a
 * standardised effect on one scale (Cohen's d; Cohen's h for shares; log
 * odds converted by d = δ·√3/π, Chinn 2000), and the top ones name the
 * region.
 *
 * Pure functions of plain arrays (no DOM, no clock, no randomness), so they
 * can run in a Web Worker where the summaries are assembled.
 */
import { cumulativeNormal } from 'vega-statistics';

import { regionName } from './phrases';
import type { ICategoryShare } from './stats';

export {
  explanationFacts,
  explanationPhrase,
  NAME_PARTS,
  regionName
} from './phrases';

/** Family-wise significance level of one region's explanation. */
export const EXPLANATION_ALPHA = 0.05;

/**
 * Prior sample size α₀ of the informative Dirichlet prior of the weighted
 * log-odds of words (Monroe et al. 2008, §3.5.2): α_w = α₀ · π_w with π_w
 * the word's share of all tokens.
 */
export const WORD_PRIOR_SIZE = 500;

/**
 * |z| is capped here (a region whose values are all equal, inside and out,
 * but differ between them would otherwise get z = ±∞, which JSON cannot hold).
 */
export const MAX_STATISTIC = 1e6;

/** Words that occur in fewer documents than this are not tested. */
export const MIN_WORD_DOCUMENTS = 3;

/** One column of a metadata table, as the kernel sends it (docs/protocol.md). */
export interface IMetadataColumn {
  /** The column's name. */
  name: string;
  /** How it is compared. */
  kind: 'categorical' | 'continuous';
  /** Codes into `categories` (categorical) or values (continuous); NaN = missing. Length N. */
  values: Float32Array;
  /** Category names (categorical). */
  categories?: string[];
  /** Missing values (None, NaN, ±Inf, NA, NaT) counted in the kernel. */
  missing: number;
  /** Unit of continuous values (`seconds` for datetimes and timedeltas). */
  unit?: string;
  /** Datetimes: the ISO time of value 0. */
  origin?: string;
  /** pandas/numpy dtype, for display. */
  dtype?: string;
}

/** A column the kernel could not explain, with its reason. */
export interface ISkippedColumn {
  name: string;
  reason: string;
}

/**
 * Which documents hold which words (text examples), compressed by rows:
 * document i holds the words `indices[indptr[i] .. indptr[i + 1])`, each
 * once, as indices into `vocabulary`.
 */
export interface ITokenTable {
  vocabulary: string[];
  indptr: Int32Array;
  indices: Int32Array;
}

/** Everything a region can be explained by. */
export interface IExplainContext {
  /** Integer class labels, length N. */
  labels?: Int32Array | null;
  /** Class names of the label codes. */
  labelNames?: string[] | null;
  /** Predicted classes in the labels' coding, length N (−1: unknown). */
  predictions?: Int32Array | null;
  /** Metadata columns. */
  metadata?: IMetadataColumn[] | null;
  /** Words of text examples. */
  tokens?: ITokenTable | null;
}

/** One contrast between a region and the rest of the data. */
export interface IExplanation {
  /** `label`, `prediction`, `label → prediction`, a metadata column, or `words`. */
  column: string;
  /** How it was compared. */
  kind: 'categorical' | 'continuous' | 'confusion' | 'text';
  /** The category, pair (`8 → 1`) or word; absent for continuous columns. */
  value?: string;
  /** Weighted share (categorical, confusion, text: share of documents) or weighted mean in the region. */
  inRegion: number;
  /** Share or mean over all data. */
  overall: number;
  /** Standardised effect, region against the rest: Cohen's h, Cohen's d, or δ·√3/π for words. */
  effect: number;
  /** Test statistic (a z-score, see {@link explainRegion}). */
  statistic: number;
  /** Two-sided p-value of the statistic, before the Bonferroni correction. */
  pValue: number;
  /** Continuous: the region's weighted quartiles [q25, q50, q75]. */
  quantilesRegion?: [number, number, number];
  /** Continuous: the quartiles over all data. */
  quantilesOverall?: [number, number, number];
  /** Share in region / share overall (categorical, confusion, text). */
  lift?: number;
  /** Continuous: the unit of the values. */
  unit?: string;
}

/** A region's ranked explanation and its name. */
export interface IRegionExplanation {
  /** The explanations that cleared the test, largest effect first. */
  items: IExplanation[];
  /** The region's one-line name from the top items, or '' when none cleared the test. */
  name: string;
  /** Number of comparisons made (the Bonferroni factor). */
  tests: number;
  /** Effective sample size (Σk)² / Σk² of the region. */
  effectiveSize: number;
}

/**
 * Explain one region: compare it with the rest of the data on everything
 * in `context`, keep what clears the test and rank it.
 *
 * With weights k (region) and 1 − k (rest), over the examples where the
 * variable is present:
 *
 * - **Categorical value v** (labels, predictions, categorical metadata,
 *   and the confusion pairs a → b, a ≠ b, of labels and predictions):
 *   shares p_in = Σk·[x = v] / Σk and p_out likewise with 1 − k; statistic
 *   z = (p_in − p_out) / √(p̄(1 − p̄)(1/n_in + 1/n_out)) with p̄ the pooled
 *   share (p_in·n_in + p_out·n_out)/(n_in + n_out) and n the effective
 *   sample sizes; effect Cohen's h = 2·asin√p_in − 2·asin√p_out. Only
 *   over-represented values (h > 0) are kept.
 * - **Continuous column**: weighted means μ_in, μ_out and variances s²;
 *   Welch's z = (μ_in − μ_out) / √(s²_in/n_in + s²_out/n_out); effect
 *   Cohen's d = (μ_in − μ_out) / s with s the standard deviation over all
 *   present values. Both directions are kept ("high" or "low").
 * - **Words** (Monroe, Colaresi & Quinn 2008, "Fightin' words", eq. 16–22):
 *   y_w = Σk·[w ∈ doc] in the region and Σ(1 − k)·[w ∈ doc] outside,
 *   n = Σ_w y_w; prior α_w = α₀·π_w, α₀ = {@link WORD_PRIOR_SIZE};
 *   δ_w = log((y_w,in + α_w)/(n_in + α₀ − y_w,in − α_w))
 *       − log((y_w,out + α_w)/(n_out + α₀ − y_w,out − α_w)),
 *   Var δ_w ≈ 1/(y_w,in + α_w) + 1/(y_w,out + α_w), statistic z = δ_w/√Var
 *   scaled by √(n_e/K) so that it counts effective documents, effect
 *   δ_w·√3/π. Only over-represented words (δ > 0) are kept.
 *
 * Two-sided p = 2·(1 − Φ(|z|)); an item clears the test when
 * p ≤ α / m, m the number of comparisons (α = {@link EXPLANATION_ALPHA}).
 * Items are ranked by |effect|, then |z|.
 *
 * @param weights - The region's kernel weights k ∈ [0, 1], length N.
 * @param context - Labels, predictions, metadata columns and words (all optional).
 * @returns The ranked items, the name, m and the region's effective size.
 */
export function explainRegion(
  weights: ArrayLike<number>,
  context: IExplainContext
): IRegionExplanation {
  const candidates: IExplanation[] = [];
  const { labels, predictions, labelNames } = context;
  const className = (c: number) => labelNames?.[c] ?? String(c);
  if (labels) {
    const names = Private.codeNames(labels, className);
    candidates.push(
      ...categoricalContrasts('label', 'categorical', labels, names, weights)
    );
  }
  if (predictions) {
    const names = Private.codeNames(predictions, className);
    candidates.push(
      ...categoricalContrasts(
        'prediction',
        'categorical',
        predictions,
        names,
        weights
      )
    );
  }
  if (labels && predictions && labels.length === predictions.length) {
    const { codes, names } = confusionCodes(labels, predictions, className);
    candidates.push(
      ...categoricalContrasts(
        'label → prediction',
        'confusion',
        codes,
        names,
        weights,
        names.length - 1
      )
    );
  }
  for (const column of context.metadata ?? []) {
    if (column.kind === 'categorical') {
      candidates.push(
        ...categoricalContrasts(
          column.name,
          'categorical',
          column.values,
          column.categories ?? [],
          weights
        )
      );
    } else {
      const item = continuousContrast(column.name, column.values, weights);
      if (item) {
        candidates.push(column.unit ? { ...item, unit: column.unit } : item);
      }
    }
  }
  if (context.tokens) {
    candidates.push(...wordContrasts(context.tokens, weights));
  }
  const tests = candidates.length;
  const threshold = EXPLANATION_ALPHA / Math.max(1, tests);
  for (const c of candidates) {
    c.statistic = Math.max(
      -MAX_STATISTIC,
      Math.min(MAX_STATISTIC, c.statistic)
    );
  }
  const kept = candidates.filter(
    c =>
      c.pValue <= threshold &&
      (c.kind === 'continuous' ? c.effect !== 0 : c.effect > 0)
  );
  kept.sort(
    (a, b) =>
      Math.abs(b.effect) - Math.abs(a.effect) ||
      Math.abs(b.statistic) - Math.abs(a.statistic)
  );
  return {
    items: kept,
    name: regionName(kept),
    tests,
    effectiveSize: Private.ess(weights, null, false)
  };
}

/**
 * The contrasts of every value of one categorical variable (see
 * {@link explainRegion} for the statistic).
 *
 * @param column - The variable's name.
 * @param kind - `categorical` or `confusion`.
 * @param codes - Codes into `names`, length N; negative or NaN = missing.
 * @param names - The values' names.
 * @param weights - Kernel weights k, length N.
 * @param untested - A code that is present but not a value to test (the
 *   correct predictions among confusion pairs), or −1.
 * @returns One item per value present in the data.
 */
export function categoricalContrasts(
  column: string,
  kind: 'categorical' | 'confusion',
  codes: ArrayLike<number>,
  names: string[],
  weights: ArrayLike<number>,
  untested = -1
): IExplanation[] {
  const c = names.length;
  const inside = new Float64Array(c);
  const outside = new Float64Array(c);
  const count = new Float64Array(c);
  let sumIn = 0;
  let sqIn = 0;
  let sumOut = 0;
  let sqOut = 0;
  let present = 0;
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (!(code >= 0 && code < c)) {
      continue;
    }
    const k = weights[i];
    const o = 1 - k;
    inside[code] += k;
    outside[code] += o;
    count[code] += 1;
    sumIn += k;
    sqIn += k * k;
    sumOut += o;
    sqOut += o * o;
    present += 1;
  }
  const nIn = sqIn > 0 ? (sumIn * sumIn) / sqIn : 0;
  const nOut = sqOut > 0 ? (sumOut * sumOut) / sqOut : 0;
  const out: IExplanation[] = [];
  if (sumIn <= 0 || sumOut <= 0 || present === 0) {
    return out;
  }
  for (let v = 0; v < c; v++) {
    if (count[v] === 0 || v === untested) {
      continue;
    }
    const pIn = inside[v] / sumIn;
    const pOut = outside[v] / sumOut;
    const overall = count[v] / present;
    const pooled = (pIn * nIn + pOut * nOut) / (nIn + nOut);
    const se = Math.sqrt(pooled * (1 - pooled) * (1 / nIn + 1 / nOut));
    const z = se > 0 ? (pIn - pOut) / se : 0;
    out.push({
      column,
      kind,
      value: names[v],
      inRegion: pIn,
      overall,
      effect: 2 * Math.asin(Math.sqrt(pIn)) - 2 * Math.asin(Math.sqrt(pOut)),
      statistic: z,
      pValue: Private.twoSided(z),
      lift: overall > 0 ? pIn / overall : 0
    });
  }
  return out;
}

/**
 * The contrast of one continuous variable (see {@link explainRegion}).
 *
 * @param column - The variable's name.
 * @param values - Values, length N; NaN = missing.
 * @param weights - Kernel weights k, length N.
 * @returns The item, or null when fewer than two values are present or
 *   they are all equal.
 */
export function continuousContrast(
  column: string,
  values: ArrayLike<number>,
  weights: ArrayLike<number>
): IExplanation | null {
  let sumIn = 0;
  let sqIn = 0;
  let meanIn = 0;
  let sumOut = 0;
  let sqOut = 0;
  let meanOut = 0;
  let n = 0;
  let mean = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (!Number.isFinite(x)) {
      continue;
    }
    const k = weights[i];
    const o = 1 - k;
    sumIn += k;
    sqIn += k * k;
    meanIn += k * x;
    sumOut += o;
    sqOut += o * o;
    meanOut += o * x;
    n += 1;
    mean += x;
  }
  if (n < 2 || sumIn <= 0 || sumOut <= 0) {
    return null;
  }
  meanIn /= sumIn;
  meanOut /= sumOut;
  mean /= n;
  let varIn = 0;
  let varOut = 0;
  let variance = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (!Number.isFinite(x)) {
      continue;
    }
    const k = weights[i];
    varIn += k * (x - meanIn) ** 2;
    varOut += (1 - k) * (x - meanOut) ** 2;
    variance += (x - mean) ** 2;
  }
  varIn /= sumIn;
  varOut /= sumOut;
  variance /= n - 1;
  if (!(variance > 0)) {
    return null;
  }
  const nIn = (sumIn * sumIn) / sqIn;
  const nOut = (sumOut * sumOut) / sqOut;
  const se = Math.sqrt(varIn / nIn + varOut / nOut);
  const difference = meanIn - meanOut;
  const z = se > 0 ? difference / se : Math.sign(difference) * MAX_STATISTIC;
  return {
    column,
    kind: 'continuous',
    inRegion: meanIn,
    overall: mean,
    effect: difference / Math.sqrt(variance),
    statistic: z,
    pValue: Private.twoSided(z),
    quantilesRegion: weightedQuartiles(values, weights),
    quantilesOverall: weightedQuartiles(values, null)
  };
}

/**
 * The words over-represented in a region: weighted log-odds with an
 * informative Dirichlet prior (Monroe et al. 2008; formula in
 * {@link explainRegion}).
 *
 * @param tokens - Which documents hold which words.
 * @param weights - Kernel weights k, length N (one per document).
 * @returns One item per word in at least {@link MIN_WORD_DOCUMENTS} documents.
 */
export function wordContrasts(
  tokens: ITokenTable,
  weights: ArrayLike<number>
): IExplanation[] {
  const { vocabulary, indptr, indices } = tokens;
  const v = vocabulary.length;
  const docs = indptr.length - 1;
  const yIn = new Float64Array(v);
  const yOut = new Float64Array(v);
  const df = new Float64Array(v);
  let sumK = 0;
  for (let i = 0; i < docs; i++) {
    const k = weights[i];
    sumK += k;
    for (let p = indptr[i]; p < indptr[i + 1]; p++) {
      const w = indices[p];
      yIn[w] += k;
      yOut[w] += 1 - k;
      df[w] += 1;
    }
  }
  let nIn = 0;
  let nOut = 0;
  let total = 0;
  for (let w = 0; w < v; w++) {
    nIn += yIn[w];
    nOut += yOut[w];
    total += df[w];
  }
  const out: IExplanation[] = [];
  if (sumK <= 0 || total <= 0) {
    return out;
  }
  // z counts effective documents, not weight: scale by √(n_e / K).
  const ess = Private.ess(weights, null, false);
  const shrink = Math.sqrt(Math.min(1, ess / sumK));
  const a0 = WORD_PRIOR_SIZE;
  for (let w = 0; w < v; w++) {
    if (df[w] < MIN_WORD_DOCUMENTS) {
      continue;
    }
    const aw = (a0 * df[w]) / total;
    const delta =
      Math.log((yIn[w] + aw) / (nIn + a0 - yIn[w] - aw)) -
      Math.log((yOut[w] + aw) / (nOut + a0 - yOut[w] - aw));
    const z =
      (delta / Math.sqrt(1 / (yIn[w] + aw) + 1 / (yOut[w] + aw))) * shrink;
    const inRegion = yIn[w] / sumK;
    const overall = df[w] / docs;
    out.push({
      column: 'words',
      kind: 'text',
      value: vocabulary[w],
      inRegion,
      overall,
      effect: (delta * Math.sqrt(3)) / Math.PI,
      statistic: z,
      pValue: Private.twoSided(z),
      lift: overall > 0 ? inRegion / overall : 0
    });
  }
  return out;
}

/**
 * Weighted quartiles: the smallest values whose cumulative weight reaches
 * 25 %, 50 % and 75 % of the total (missing values skipped).
 *
 * @param values - Values, length N; NaN = missing.
 * @param weights - Weights ≥ 0, or null for equal weights.
 * @returns [q25, q50, q75] (NaN when no weight is present).
 */
export function weightedQuartiles(
  values: ArrayLike<number>,
  weights: ArrayLike<number> | null
): [number, number, number] {
  const order: number[] = [];
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const w = weights ? weights[i] : 1;
    if (Number.isFinite(values[i]) && w > 0) {
      order.push(i);
      total += w;
    }
  }
  if (total <= 0) {
    return [NaN, NaN, NaN];
  }
  order.sort((a, b) => values[a] - values[b]);
  const targets = [0.25, 0.5, 0.75].map(q => q * total);
  const out: [number, number, number] = [NaN, NaN, NaN];
  let cumulative = 0;
  let t = 0;
  for (const i of order) {
    cumulative += weights ? weights[i] : 1;
    while (t < 3 && cumulative >= targets[t] - 1e-12 * total) {
      out[t++] = values[i];
    }
    if (t === 3) {
      break;
    }
  }
  return out;
}

/**
 * Shares of a categorical variable's values in a region (weighted by k) and
 * overall, for a chart: the `top` values with the largest region share
 * (the explained `value` always among them), the rest summed as `other`.
 * Missing codes (negative, NaN) are left out.
 *
 * @param codes - Codes into `names`, length N.
 * @param names - The values' names.
 * @param weights - Kernel weights k, length N.
 * @param value - The explained value, kept first.
 * @param top - How many values to show before `other` (default 5).
 * @returns `{value, region, overall, enrichment}` per shown value.
 */
export function chartShares(
  codes: ArrayLike<number>,
  names: string[],
  weights: ArrayLike<number>,
  value?: string,
  top = 5
): ICategoryShare[] {
  const c = names.length;
  const inside = new Float64Array(c);
  const count = new Float64Array(c);
  let sum = 0;
  let present = 0;
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (code >= 0 && code < c) {
      inside[code] += weights[i];
      count[code] += 1;
      sum += weights[i];
      present += 1;
    }
  }
  const order = Array.from({ length: c }, (_, v) => v)
    .filter(v => count[v] > 0)
    .sort((a, b) => inside[b] - inside[a] || count[b] - count[a]);
  const explained = names.indexOf(value ?? '\u0000');
  let shown = order.slice(0, top);
  if (explained >= 0 && count[explained] > 0) {
    shown = [explained, ...shown.filter(v => v !== explained)].slice(0, top);
  }
  const share = (v: number): ICategoryShare => {
    const region = sum > 0 ? inside[v] / sum : 0;
    const overall = present > 0 ? count[v] / present : 0;
    return {
      value: names[v],
      region,
      overall,
      enrichment: overall > 0 ? region / overall : 0
    };
  };
  const out = shown.map(share);
  const rest = order.filter(v => !shown.includes(v));
  if (rest.length) {
    const region = rest.reduce(
      (a, v) => a + (sum > 0 ? inside[v] / sum : 0),
      0
    );
    const overall = rest.reduce(
      (a, v) => a + (present > 0 ? count[v] / present : 0),
      0
    );
    out.push({
      value: `other (${rest.length})`,
      region,
      overall,
      enrichment: overall > 0 ? region / overall : 0
    });
  }
  return out;
}

/**
 * Codes of the confusion pairs a → b (a ≠ b) in order of appearance; the
 * last code (named `correct`) where a = b; −1 where either is unknown.
 *
 * @param labels - Label codes, length N.
 * @param predictions - Predictions in the labels' coding, length N.
 * @param name - The display name of a class code.
 * @returns The codes and their names (`a → b`, …, `correct`).
 */
export function confusionCodes(
  labels: Int32Array,
  predictions: Int32Array,
  name: (c: number) => string
): { codes: Int32Array; names: string[] } {
  const index = new Map<string, number>();
  const names: string[] = [];
  const codes = new Int32Array(labels.length).fill(-1);
  const correct: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const a = labels[i];
    const b = predictions[i];
    if (a < 0 || b < 0) {
      continue;
    }
    if (a === b) {
      correct.push(i);
      continue;
    }
    const key = `${a},${b}`;
    let code = index.get(key);
    if (code === undefined) {
      code = names.length;
      index.set(key, code);
      names.push(`${name(a)} → ${name(b)}`);
    }
    codes[i] = code;
  }
  for (const i of correct) {
    codes[i] = names.length;
  }
  names.push('correct');
  return { codes, names };
}

/** One explanation as the `run` command's summary gives it (docs/protocol.md). */
export interface IExplanationSummary {
  column: string;
  kind: IExplanation['kind'];
  value?: string;
  inRegion: number;
  overall: number;
  effect: number;
  statistic: number;
}

/**
 * The fields of an explanation that the `run` command's summary gives
 * (finite numbers only: JSON has no infinity).
 *
 * @param item - One explanation.
 * @returns `{column, kind, value?, inRegion, overall, effect, statistic}`.
 */
export function explanationSummary(item: IExplanation): IExplanationSummary {
  const finite = (x: number) =>
    Number.isFinite(x) ? x : x > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE;
  return {
    column: item.column,
    kind: item.kind,
    ...(item.value !== undefined ? { value: item.value } : {}),
    inRegion: finite(item.inRegion),
    overall: finite(item.overall),
    effect: finite(item.effect),
    statistic: finite(item.statistic)
  };
}

namespace Private {
  /** Two-sided normal p-value of a z-score. */
  export function twoSided(z: number): number {
    if (!Number.isFinite(z)) {
      return Number.isNaN(z) ? 1 : 0;
    }
    return Math.min(1, 2 * (1 - cumulativeNormal(Math.abs(z), 0, 1)));
  }

  /** Kish's effective sample size of k (or of 1 − k) over present rows. */
  export function ess(
    weights: ArrayLike<number>,
    present: ArrayLike<number> | null,
    complement: boolean
  ): number {
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < weights.length; i++) {
      if (present && !(present[i] >= 0)) {
        continue;
      }
      const w = complement ? 1 - weights[i] : weights[i];
      sum += w;
      squares += w * w;
    }
    return squares > 0 ? (sum * sum) / squares : 0;
  }

  /** Names for the codes 0 … max(codes). */
  export function codeNames(
    codes: Int32Array,
    name: (c: number) => string
  ): string[] {
    let max = -1;
    for (let i = 0; i < codes.length; i++) {
      max = Math.max(max, codes[i]);
    }
    return Array.from({ length: max + 1 }, (_, c) => name(c));
  }
}
