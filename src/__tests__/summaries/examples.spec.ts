/**
 * The order of a region's examples and their shares of its loss; manual
 * regions' weights and summary; the map's encodings.
 */
import {
  EXAMPLE_ORDERS,
  lossShares,
  orderExamples
} from '../../summaries/examples';
import {
  checkIndices,
  manualSpotlight,
  manualWeights
} from '../../summaries/manual';
import {
  colorChoices,
  encodeColor,
  highlightValues,
  quantile,
  regionCentre,
  regionsOf
} from '../../summaries/mapEncoding';
import { summarizeRegion, weightedMean } from '../../summaries/stats';

describe('orderExamples', () => {
  // Row 0: heavy, loss 0 (a correct example at the centre); row 3: light
  // but wrong, its loss carries the region.
  const weights = new Float32Array([1, 0.9, 0, 0.2, 0.5]);
  const losses = new Float32Array([0, 0.1, 5, 4, 1]);
  const labels = new Int32Array([1, 1, 2, 3, 1]);
  const predictions = new Int32Array([1, 1, 2, 0, 2]);

  it('orders by contribution k·ℓ by default, the loss carriers first', () => {
    // k·ℓ = 0, 0.09, –, 0.8, 0.5
    expect(orderExamples({ weights, losses })).toEqual([3, 4, 1, 0]);
  });

  it('orders by weight, loss, or misclassified first', () => {
    expect(orderExamples({ weights, losses }, 'weight')).toEqual([0, 1, 4, 3]);
    expect(orderExamples({ weights, losses }, 'loss')).toEqual([3, 4, 1, 0]);
    expect(
      orderExamples({ weights, losses, labels, predictions }, 'misclassified')
    ).toEqual([3, 4, 1, 0]);
    // Without labels, misclassified-first is by contribution.
    expect(orderExamples({ weights, losses }, 'misclassified')).toEqual([
      3, 4, 1, 0
    ]);
  });

  it('lists exactly the examples with k > 0, for every order', () => {
    for (const order of EXAMPLE_ORDERS) {
      const out = orderExamples(
        { weights, losses, labels, predictions },
        order
      );
      expect([...out].sort()).toEqual([0, 1, 3, 4]);
    }
  });

  it('breaks ties by weight then row, and refuses mismatched lengths', () => {
    const w = new Float32Array([0.5, 1, 1, 0.25]);
    const l = new Float32Array([2, 1, 1, 4]);
    // k·ℓ = 1 for all: the heavier first, then the smaller row.
    expect(orderExamples({ weights: w, losses: l })).toEqual([1, 2, 0, 3]);
    expect(() =>
      orderExamples({ weights: w, losses: new Float32Array(3) })
    ).toThrow(/weights has 4 values but losses has 3/);
  });
});

describe('lossShares', () => {
  it('is k·ℓ / Σ k·ℓ and sums to 1', () => {
    const shares = lossShares([1, 0.5, 0], [2, 4, 9]);
    expect(Array.from(shares)).toEqual([0.5, 0.5, 0]);
    const random = Array.from({ length: 50 }, (_, i) => ((i * 37) % 11) / 10);
    const total = lossShares(
      random,
      random.map(v => v * 3)
    ).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(1, 10);
  });

  it('is all 0 when the region carries no loss', () => {
    expect(Array.from(lossShares([1, 1], [0, 0]))).toEqual([0, 0]);
  });
});

describe('manual regions', () => {
  it('checks indices, naming the problem', () => {
    expect(checkIndices([3, 1, 3], 5)).toEqual([1, 3]);
    expect(() => checkIndices([], 5)).toThrow(/indices is empty/);
    expect(() => checkIndices([5], 5)).toThrow(
      /indices must be whole numbers from 0 to 4.*got 5/
    );
    expect(() => checkIndices([1.5], 5)).toThrow(/got 1.5/);
    expect(() => checkIndices('1,2', 5)).toThrow(/must be a list/);
  });

  it('has 0/1 weights, the rows’ mean embedding and their mean loss', () => {
    const embeddings = Float32Array.from([0, 0, 2, 2, 4, 0, 9, 9]);
    const losses = Float32Array.from([1, 2, 3, 10]);
    const s = manualSpotlight([0, 2], { embeddings, d: 2, losses });
    expect(Array.from(manualWeights([0, 2], 4))).toEqual([1, 0, 1, 0]);
    expect(Array.from(s.kernelWeights)).toEqual([1, 0, 1, 0]);
    expect(Array.from(s.center)).toEqual([2, 0]);
    expect(s.totalWeight).toBe(2);
    expect(s.supportSize).toBe(2);
    expect(s.weightedLoss).toBe(2);
    // The card's summary of it: weighted loss = the mean loss of the rows.
    const summary = summarizeRegion(4, s.kernelWeights, s.weightedLoss, {
      losses,
      labels: null,
      predictions: null,
      metadata: null
    });
    expect(summary.weightedLossOriginal).toBeCloseTo((1 + 3) / 2, 6);
    expect(summary.weightedLossOriginal).toBeCloseTo(
      weightedMean(losses, s.kernelWeights),
      6
    );
    expect(summary.lift).toBeCloseTo(2 / 4, 6);
  });
});

describe('map encodings', () => {
  const source = {
    losses: Float32Array.from({ length: 200 }, (_, i) => i / 10),
    referenceLosses: null,
    labels: Int32Array.from({ length: 200 }, (_, i) => i % 3),
    labelNames: ['a', 'b', 'c'],
    predictions: Int32Array.from({ length: 200 }, (_, i) => (i % 7 ? 1 : -1)),
    metadata: null,
    metadataNames: null
  };

  it('offers the columns the data has', () => {
    expect(colorChoices(source)).toEqual(['loss', 'label', 'prediction']);
    expect(colorChoices({ ...source, referenceLosses: source.losses })[0]).toBe(
      'difference'
    );
  });

  it('scales loss to its 99th percentile and clips above', () => {
    const e = encodeColor(source, 'loss');
    const top = quantile(source.losses, 0.99);
    expect(e.domain).toEqual([0, top]);
    expect(e.values[10]).toBeCloseTo(1 / top, 6);
    expect(e.values[199]).toBe(1);
    expect(e.values.every(v => v >= 0 && v <= 1)).toBe(true);
  });

  it('puts no difference at 0.5', () => {
    const e = encodeColor(
      { ...source, referenceLosses: source.losses },
      'difference'
    );
    expect(e.values.every(v => v === 0.5)).toBe(true);
  });

  it('codes categories, with "other" for negative codes', () => {
    const labels = encodeColor(source, 'label');
    expect(labels.categories).toEqual(['a', 'b', 'c']);
    expect(labels.values[4]).toBe(1);
    const predictions = encodeColor(source, 'prediction');
    expect(predictions.categories).toEqual(['a', 'b', 'c', 'other']);
    expect(predictions.values[0]).toBe(3);
    expect(() => encodeColor(source, 'metadata')).toThrow(/no metadata/);
  });

  it('highlights by weight, centres and memberships', () => {
    expect(Array.from(highlightValues([0, 0.5, 0.25], 3))).toEqual([0, 1, 0.5]);
    expect(Array.from(highlightValues(null, 2))).toEqual([1, 1]);
    const xy = Float32Array.from([0, 0, 1, 1, 3, 3]);
    expect(regionCentre(xy, [1, 0, 1])).toEqual([1.5, 1.5]);
    expect(regionCentre(xy, [0, 0, 0])).toBeNull();
    expect(
      regionsOf(
        [
          [0.2, 0],
          [0.9, 1]
        ],
        0
      )
    ).toEqual([
      { region: 1, weight: expect.closeTo(0.9, 6) },
      { region: 0, weight: expect.closeTo(0.2, 6) }
    ]);
  });
});
