/**
 * Regions you can trust: the permutation test is calibrated on data with no
 * structure and at its minimum p on planted clusters; the holdout lift's
 * interval covers 1 on null data; the trust statistics are what they say.
 */
import type { KernelBridge } from '../../kernel/bridge';
import {
  assembleResult,
  DefaultAuditPipeline,
  withSignificance
} from '../../pipeline';
import { nullDistribution, permutationPValue } from '../../spotlight';
import {
  concentration,
  convergence,
  effectiveSize,
  holdoutSplit,
  liftWithInterval
} from '../../summaries/trust';
import { DEFAULT_OPTIONS, IAuditData, IAuditOptions } from '../../tokens';
import { normal, plantedClusters, uniform } from './planted';

jest.setTimeout(300000);

/** N examples with random embeddings and i.i.d. losses: no structure. */
function nullData(seed: number, n = 300, d = 4): IAuditData {
  const gauss = normal(uniform(seed));
  const rand = uniform(seed + 1000);
  const embeddings = Float32Array.from({ length: n * d }, () => gauss());
  const losses = Float32Array.from({ length: n }, () => -Math.log(1 - rand()));
  return audit(embeddings, losses, n, d);
}

/** Wrap arrays as fetched audit data. */
function audit(
  embeddings: Float32Array,
  losses: Float32Array,
  n: number,
  d: number,
  labels: Int32Array | null = null
): IAuditData {
  return {
    n,
    d,
    embeddings,
    losses,
    referenceLosses: null,
    referencePredictions: null,
    labels,
    labelNames: null,
    predictions: null,
    metadata: null,
    metadataNames: null,
    transports: {}
  };
}

const pipeline = new DefaultAuditPipeline({} as KernelBridge);
const signal = new AbortController().signal;

/** Search, summarise and test one audit. */
async function audited(data: IAuditData, options: IAuditOptions) {
  const search = await pipeline.search(data, options, { signal });
  const result = assembleResult({
    names: {
      embeddings: 'X',
      losses: 'L',
      referenceLosses: null,
      labels: null,
      predictions: null,
      referencePredictions: null,
      examples: null,
      metadata: null
    },
    data,
    search,
    options,
    maxMapPoints: 100,
    complete: true,
    finishedAt: ''
  });
  if (!options.permutations) {
    return result;
  }
  const nulls = await pipeline.nullDistribution(data, options, { signal });
  return withSignificance(result, nulls, options.alpha);
}

const SMALL: IAuditOptions = {
  ...DEFAULT_OPTIONS,
  spotlightSize: 0.05,
  count: 1,
  steps: 400,
  backend: 'cpu',
  permutations: 19
};

describe('the permutation test', () => {
  it('is calibrated: on 40 data sets with no structure, region 1 is significant at α = 0.05 in at most 6', async () => {
    let significant = 0;
    const pValues: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const result = await audited(nullData(seed), { ...SMALL, seed });
      const p = result.regions[0].pValue!;
      pValues.push(p);
      significant += result.regions[0].significant ? 1 : 0;
    }
    expect(significant).toBeLessThanOrEqual(6);
    // Not degenerate: the p-values spread over (0, 1].
    expect(Math.min(...pValues)).toBeLessThan(0.3);
    expect(Math.max(...pValues)).toBeGreaterThan(0.7);
  });

  it('gives a planted high-loss cluster the smallest p-value, 1 / (P + 1)', async () => {
    const planted = plantedClusters(2000, 16, 8);
    const data = audit(
      planted.embeddings,
      planted.losses,
      planted.n,
      planted.d
    );
    const result = await audited(data, {
      ...SMALL,
      spotlightSize: 0.02,
      steps: 2000,
      count: 2
    });
    expect(result.regions[0].pValue).toBeCloseTo(1 / 20, 12);
    expect(result.regions[0].significant).toBe(true);
    expect(result.significance!.nulls).toHaveLength(19);
  });

  it('flips signs for paired differences, and the same seed gives the same null', async () => {
    const data = nullData(3, 120, 3);
    const d = Float32Array.from(data.losses, x => x - 1);
    const input = { embeddings: data.embeddings!, losses: d, n: 120, d: 3 };
    const options = { backend: 'cpu' as const, steps: 50, signedLosses: true };
    const a = await nullDistribution(input, options, {
      permutations: 3,
      seed: 5,
      scheme: 'sign-flip'
    });
    const b = await nullDistribution(input, options, {
      permutations: 3,
      seed: 5,
      scheme: 'sign-flip'
    });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(permutationPValue(Infinity, a)).toBeCloseTo(1 / 4, 12);
    expect(permutationPValue(-Infinity, a)).toBe(1);
  });
});

describe('the honest lift', () => {
  it('on 40 data sets with no structure, the held-out lift interval contains 1 in at least 34', async () => {
    let covered = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const result = await audited(nullData(seed, 1000), {
        ...SMALL,
        permutations: 0,
        holdout: true,
        seed
      });
      const r = result.regions[0];
      expect(r.liftIntervalKind).toBe('holdout');
      const [lo, hi] = r.liftInterval!;
      covered += lo <= 1 && 1 <= hi ? 1 : 0;
    }
    expect(covered).toBeGreaterThanOrEqual(34);
  });

  it('splits in halves stratified by label, and the in-sample interval surrounds the lift', () => {
    const labels = Int32Array.from({ length: 101 }, (_, i) => (i < 60 ? 0 : 1));
    const mask = holdoutSplit(101, labels, 3);
    const count = (label: number) =>
      Array.from(mask).filter((v, i) => v && labels[i] === label).length;
    expect(count(0)).toBe(30);
    expect([20, 21]).toContain(count(1));
    const losses = Float32Array.from({ length: 101 }, (_, i) => i / 10);
    const weights = Float32Array.from({ length: 101 }, (_, i) =>
      i > 80 ? 1 : 0
    );
    const { lift, interval } = liftWithInterval(losses, weights, null, 1);
    // Region: losses 8.1–10.0 (mean 9.05); all: mean 5.0.
    expect(lift).toBeCloseTo(9.05 / 5, 6);
    expect(interval[0]).toBeLessThan(lift);
    expect(interval[1]).toBeGreaterThan(lift);
  });
});

describe('convergence, diffuseness and concentration', () => {
  it('says when K missed the size or the learning rate froze early', () => {
    const rates = new Float32Array(100).fill(0.01);
    expect(convergence(105, 100, rates).converged).toBe(true);
    expect(convergence(200, 100, rates).reason).toMatch(/above 1\.2 × 1\.05 S/);
    expect(convergence(80, 100, rates).reason).toMatch(/below 0\.9 × 1\.05 S/);
    const frozen = new Float32Array(100).fill(1e-9);
    frozen[0] = 0.01;
    expect(convergence(105, 100, frozen).reason).toMatch(/first 20 %/);
  });

  it('measures the effective size and how few examples carry the loss', () => {
    expect(effectiveSize([1, 1, 1, 1])).toBeCloseTo(4, 12);
    expect(effectiveSize([1, 0, 0, 0])).toBeCloseTo(1, 12);
    // The demo's region 1 pattern: two examples with huge losses.
    const losses = [24.7, 21.4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
    const weights = [0.5, 0.5, 1, 1, 1, 1, 1, 1];
    const c = concentration(losses, weights);
    expect(c.examples).toBe(2);
    expect(c.share).toBeCloseTo(
      (0.5 * 24.7 + 0.5 * 21.4) / (0.5 * 24.7 + 0.5 * 21.4 + 0.6),
      6
    );
  });

  it('marks a region that repeats an earlier one, and one spread over most of the data', async () => {
    const data = nullData(11, 300, 2);
    const result = await audited(data, {
      ...SMALL,
      permutations: 0,
      count: 3,
      spotlightSize: 0.4,
      steps: 200
    });
    // Spotlights of 40 % of 300 random points in 2-D overlap and spread.
    const marked = result.regions.filter(r => r.repeatOf !== null || r.diffuse);
    expect(marked.length).toBeGreaterThan(0);
    for (const r of result.regions) {
      if (r.repeatOf !== null && r.repeatOf !== undefined) {
        expect(r.repeatOf).toBeLessThan(r.index);
        expect(result.overlaps[r.index][r.repeatOf]).toBeGreaterThanOrEqual(
          0.5
        );
        expect(r.note).toMatch(/Mostly repeats region/);
      }
    }
  });
});
