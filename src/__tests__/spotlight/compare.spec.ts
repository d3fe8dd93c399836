/**
 * Comparing two models: the search on signed per-example loss differences
 * d = ℓ_B − ℓ_A (issue "Where did the new model get worse?"), through the
 * default pipeline's search and fetch stages and the region summaries.
 */
import type { KernelBridge } from '../../kernel/bridge';
import { DefaultAuditPipeline, lossDifferences } from '../../pipeline';
import {
  findSpotlights,
  SpotlightInputError,
  spotlightSizeFromFraction
} from '../../spotlight';
import { compareModels } from '../../summaries/stats';
import { galleryOrder } from '../../widgets/gallery';
import { DEFAULT_OPTIONS, IAuditData, ISelection } from '../../tokens';
import {
  countLabel,
  normal,
  plantedClusters,
  topIndices,
  uniform
} from './planted';

jest.setTimeout(180000);

/**
 * Two models on the planted-cluster data: A's losses are the planted ones;
 * B equals A up to noise, is slightly worse everywhere (+0.05) and much worse
 * (+1.5) on cluster 2 (label 2), which A handles well.
 */
function twoModels() {
  const data = plantedClusters(5000, 32, 4);
  const gauss = normal(uniform(99));
  const reference = data.losses;
  const losses = new Float32Array(data.n);
  for (let i = 0; i < data.n; i++) {
    losses[i] =
      Math.max(0, reference[i] + 0.05 + 0.1 * gauss()) +
      (data.labels[i] === 2 ? 1.5 : 0);
  }
  return { data, losses, reference };
}

/** The audit data of two models, as the pipeline's fetch returns it. */
function auditData(
  embeddings: Float32Array,
  losses: Float32Array,
  reference: Float32Array,
  n: number,
  d: number
): IAuditData {
  return {
    n,
    d,
    embeddings,
    losses,
    referenceLosses: reference,
    referencePredictions: null,
    labels: null,
    labelNames: null,
    predictions: null,
    metadata: null,
    metadataNames: null,
    transports: {}
  };
}

describe('comparing two models', () => {
  const { data, losses, reference } = twoModels();
  const pipeline = new DefaultAuditPipeline({} as KernelBridge);
  const signal = new AbortController().signal;

  it('searches signed differences: the engine refuses negative losses unless asked', async () => {
    const d = lossDifferences(losses, reference, 'regression');
    expect(d.some(x => x < 0)).toBe(true);
    await expect(
      findSpotlights(
        { embeddings: data.embeddings, losses: d, n: data.n, d: data.d },
        { backend: 'cpu', count: 1, steps: 10 }
      )
    ).rejects.toThrow(SpotlightInputError);
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`finds where model B got worse as region 1 (${backend})`, async () => {
      const result = await pipeline.search(
        auditData(data.embeddings, losses, reference, data.n, data.d),
        { ...DEFAULT_OPTIONS, count: 2, backend },
        { signal }
      );
      const first = result.spotlights[0];
      const top = topIndices(first.kernelWeights, 100);
      expect(countLabel(top, data.labels, 2)).toBeGreaterThanOrEqual(95);
      // Ranking by B's loss alone does not find it: cluster 1 and the
      // scattered points are as bad for B.
      const byLoss = topIndices(losses, 100);
      expect(countLabel(byLoss, data.labels, 2)).toBeLessThan(60);
      const size = spotlightSizeFromFraction(0.02, data.n);
      expect(first.totalWeight).toBeGreaterThan(0.97 * 1.05 * size);
      expect(first.totalWeight).toBeLessThan(1.1 * 1.05 * size);
      // Its weighted difference is about the planted +1.55.
      expect(first.weightedLoss).toBeGreaterThan(1.3);
      const c = compareModels(first.kernelWeights, { losses }, reference);
      expect(c.weightedLossDifference).toBeCloseTo(first.weightedLoss, 4);
      expect(c.weightedLossReference).toBeLessThan(1.3);
      expect(c.overallLossDifference).toBeGreaterThan(0.05);
      expect(c.overallLossDifference).toBeLessThan(0.15);
    });
  }

  it("with direction 'improvement' on the swapped pair, finds the same cluster", async () => {
    const result = await pipeline.search(
      auditData(data.embeddings, reference, losses, data.n, data.d),
      {
        ...DEFAULT_OPTIONS,
        count: 1,
        backend: 'wasm',
        direction: 'improvement'
      },
      { signal }
    );
    const top = topIndices(result.spotlights[0].kernelWeights, 100);
    expect(countLabel(top, data.labels, 2)).toBeGreaterThanOrEqual(95);
  });

  it('refuses identical losses and losses of another length, naming both variables', async () => {
    const fake = (arrays: Record<string, Float32Array>) =>
      new DefaultAuditPipeline({
        fetch: async (name: string) => ({
          data: arrays[name],
          transport: 'comm'
        })
      } as unknown as KernelBridge);
    const names: ISelection = {
      embeddings: 'X',
      losses: 'lossB',
      referenceLosses: 'lossA',
      labels: null,
      predictions: null,
      referencePredictions: null,
      examples: null,
      metadata: null
    };
    const options = { maxBytes: 1e9, signal };
    const X = new Float32Array([0, 1, 2, 3]);
    const same = new Float32Array([0.1, 0.2]);
    await expect(
      fake({ X, lossB: same, lossA: Float32Array.from(same) }).fetch(
        names,
        { n: 2, d: 2 },
        options
      )
    ).rejects.toThrow(
      /The two models' losses are identical: 'lossB' \(model B\) and 'lossA' \(model A\)/
    );
    await expect(
      fake({ X, lossB: same, lossA: new Float32Array(3) }).fetch(
        names,
        { n: 2, d: 2 },
        options
      )
    ).rejects.toThrow(/'lossB'.*2 values.*'lossA'.*3/);
    const fetched = await fake({
      X,
      lossB: same,
      lossA: new Float32Array([0.3, 0.1])
    }).fetch(names, { n: 2, d: 2 }, options);
    expect(Array.from(fetched.referenceLosses!)).toEqual([
      Math.fround(0.3),
      Math.fround(0.1)
    ]);
  });

  it('refuses reference predictions without reference losses before anything moves', async () => {
    const p = new DefaultAuditPipeline({
      check: async () => ({ n: 2, d: 2 })
    } as unknown as KernelBridge);
    await expect(
      p.check(
        {
          embeddings: 'X',
          losses: 'L',
          referenceLosses: null,
          labels: null,
          predictions: null,
          referencePredictions: 'predA',
          examples: null,
          metadata: null
        },
        signal
      )
    ).rejects.toThrow(
      /Reference predictions 'predA'.*without reference losses/
    );
  });

  it('summarises both models: accuracy of each and where they disagree', () => {
    const weights = new Float32Array([1, 1, 0, 0.5]);
    const c = compareModels(
      weights,
      {
        losses: new Float32Array([2, 1, 0, 1]),
        labels: new Int32Array([0, 1, 1, 0]),
        predictions: new Int32Array([1, 1, 1, 1]),
        referencePredictions: new Int32Array([0, 1, 0, 1])
      },
      new Float32Array([0, 1, 1, 0])
    );
    // K = 2.5; B: (2 + 1 + 0.5) / 2.5; A: (0 + 1 + 0) / 2.5.
    expect(c.weightedLossDifference).toBeCloseTo((2 + 0 + 0.5) / 2.5, 6);
    expect(c.weightedLossReference).toBeCloseTo(1 / 2.5, 6);
    expect(c.overallLossDifference).toBeCloseTo((2 + 0 - 1 + 1) / 4, 6);
    expect(c.accuracyReference).toBeCloseTo((1 + 1 + 0) / 2.5, 6);
    expect(c.overallAccuracyReference).toBeCloseTo(2 / 4, 6);
    expect(c.disagreement).toBeCloseTo(1 / 2.5, 6);
  });

  it('shows the examples where the two models disagree first, each group by weight', () => {
    const order = galleryOrder({
      bridge: {} as KernelBridge,
      examples: null,
      weights: new Float32Array([0.9, 0.8, 0, 0.7, 0.6]),
      losses: new Float32Array(5),
      labels: null,
      predictions: new Int32Array([1, 2, 3, 4, 5]),
      referencePredictions: new Int32Array([1, 0, 3, 4, 0]),
      labelNames: null
    });
    expect(order).toEqual([1, 4, 0, 3]);
  });
});
