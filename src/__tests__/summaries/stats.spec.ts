import {
  categoryShares,
  histogram,
  mean,
  rankByWeight,
  regionOverlap,
  summarizeRegion,
  weightedMean
} from '../../summaries/stats';

describe('rankByWeight', () => {
  it('orders positive weights descending, ties by index, and drops zeros', () => {
    expect(rankByWeight([0, 0.5, 1, 0.5, 0], 10)).toEqual([2, 1, 3]);
    expect(rankByWeight([0.2, 0.9, 0.4], 2)).toEqual([1, 2]);
    expect(rankByWeight([0, 0], 5)).toEqual([]);
  });
});

describe('means', () => {
  it('computes plain and weighted means in closed form', () => {
    expect(mean([1, 2, 3, 6])).toBe(3);
    expect(weightedMean([1, 2, 3], [1, 0, 1])).toBe(2);
    expect(weightedMean([10, 20], [0.25, 0.75])).toBeCloseTo(17.5, 12);
  });
});

describe('categoryShares', () => {
  it('gives weighted region shares, overall shares and enrichment', () => {
    const codes = [0, 0, 1, 1, 1, 1, 2, 2];
    const weights = [0, 0, 1, 1, 0, 0, 1, 1];
    const shares = categoryShares(codes, weights, ['a', 'b', 'c']);
    const byValue = Object.fromEntries(shares.map(s => [s.value, s]));
    expect(byValue.b.region).toBeCloseTo(0.5, 12);
    expect(byValue.c.region).toBeCloseTo(0.5, 12);
    expect(byValue.a.region).toBe(0);
    expect(byValue.b.overall).toBe(0.5);
    expect(byValue.b.enrichment).toBeCloseTo(1, 12);
    expect(byValue.c.enrichment).toBeCloseTo(2, 12);
    expect(shares[0].value).toBe('c'); // most enriched first
    const total = shares.reduce((a, s) => a + s.region, 0);
    expect(total).toBeCloseTo(1, 12);
  });
});

describe('regionOverlap', () => {
  it('is 1 for the same region, 0 for disjoint ones, symmetric in between', () => {
    const a = [1, 1, 0, 0];
    const b = [0, 0, 1, 0.5];
    const c = [0.5, 1, 1, 0];
    expect(regionOverlap(a, a)).toBeCloseTo(1, 12);
    expect(regionOverlap(a, b)).toBe(0);
    expect(regionOverlap(a, c)).toBeCloseTo(regionOverlap(c, a), 12);
    expect(regionOverlap(a, c)).toBeGreaterThan(0);
    expect(regionOverlap(a, c)).toBeLessThan(1);
    expect(regionOverlap([0, 0], [1, 1])).toBe(0);
  });
});

describe('histogram', () => {
  it('normalises counts to fractions and closes the last bin', () => {
    const h = histogram([0, 0.5, 1, 2, 2], [0, 1, 2]);
    expect(h).toEqual([0.4, 0.6]);
    const w = histogram([0, 2], [0, 1, 2], [3, 1]);
    expect(w).toEqual([0.75, 0.25]);
    expect(histogram([5], [0, 1, 2])).toEqual([0, 0]);
  });
});

describe('summarizeRegion', () => {
  it('reports size, weighted loss, lift, accuracy and label mix', () => {
    const losses = new Float32Array([1, 1, 4, 4]);
    const weights = new Float32Array([0, 0, 1, 0.5]);
    const labels = new Int32Array([0, 1, 1, 1]);
    const predictions = new Int32Array([0, 1, 0, 1]);
    const s = summarizeRegion(2, weights, 3.5, { losses, labels, predictions });
    expect(s.index).toBe(2);
    expect(s.totalWeight).toBeCloseTo(1.5, 6);
    expect(s.supportSize).toBe(2);
    expect(s.weightedLoss).toBe(3.5);
    expect(s.weightedLossOriginal).toBeCloseTo(4, 6);
    expect(s.overallLoss).toBeCloseTo(2.5, 6);
    expect(s.lift).toBeCloseTo(1.6, 6);
    expect(s.accuracy).toBeCloseTo(0.5 / 1.5, 6);
    expect(s.overallAccuracy).toBeCloseTo(0.75, 6);
    expect(s.topIndices).toEqual([2, 3]);
    expect(s.labels[0].value).toBe('1');
    expect(s.metadata).toEqual([]);
  });

  it('leaves accuracy null without labels and predictions', () => {
    const s = summarizeRegion(0, [1, 0], 1, {
      losses: new Float32Array([1, 2])
    });
    expect(s.accuracy).toBeNull();
    expect(s.overallAccuracy).toBeNull();
    expect(s.labels).toEqual([]);
  });
});
