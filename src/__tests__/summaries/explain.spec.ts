import { assembleResult } from '../../pipeline';
import { distributionSpec } from '../../summaries/specs';
import { DEFAULT_OPTIONS } from '../../tokens';
import {
  categoricalContrasts,
  chartShares,
  explanationSummary,
  continuousContrast,
  explainRegion,
  explanationPhrase,
  IMetadataColumn,
  regionName,
  weightedQuartiles,
  wordContrasts
} from '../../summaries/explain';
import { uniform } from '../../spotlight/significance';

/** Standard normal draws from the engine's seeded generator. */
function normals(n: number, seed: number): Float32Array {
  const u = uniform(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  }
  return out;
}

/**
 * Planted data: 2,000 examples, a high-loss cluster of 150 (the region's
 * weights are near 1 there, near 0 elsewhere) where scanner B and thick
 * strokes are over-represented; unrelated columns are pure noise.
 */
function planted(seed = 1) {
  const n = 2000;
  const inCluster = (i: number) => i < 150;
  const u = uniform(seed);
  const noise = normals(n, seed + 1);
  const thick = normals(n, seed + 2);
  const weights = new Float32Array(n);
  const scanner = new Float32Array(n);
  const batch = new Float32Array(n);
  const thickness = new Float32Array(n);
  const empty = new Float32Array(n).fill(NaN);
  for (let i = 0; i < n; i++) {
    weights[i] = inCluster(i) ? 0.8 + 0.2 * u() : 0.03 * u();
    scanner[i] = inCluster(i) && u() < 0.6 ? 1 : Math.floor(u() * 3);
    batch[i] = Math.floor(u() * 5);
    thickness[i] = thick[i] + (inCluster(i) ? 1.2 : 0);
    if (i % 97 === 0) {
      thickness[i] = NaN; // missing values are skipped, never an error
    }
  }
  const metadata: IMetadataColumn[] = [
    {
      name: 'batch',
      kind: 'categorical',
      values: batch,
      categories: ['b0', 'b1', 'b2', 'b3', 'b4'],
      missing: 0
    },
    { name: 'noise', kind: 'continuous', values: noise, missing: 0 },
    {
      name: 'scanner',
      kind: 'categorical',
      values: scanner,
      categories: ['A', 'B', 'C'],
      missing: 0
    },
    {
      name: 'stroke width',
      kind: 'continuous',
      values: thickness,
      missing: 21
    },
    { name: 'empty', kind: 'continuous', values: empty, missing: n }
  ];
  return { n, weights, metadata };
}

describe('explainRegion on planted data', () => {
  it.each([1, 2, 3, 4, 5])(
    'ranks the planted value and column above every unrelated column (seed %i)',
    seed => {
      const { weights, metadata } = planted(seed);
      const { items, name, tests } = explainRegion(weights, { metadata });
      expect(tests).toBeGreaterThan(8);
      const columns = items.map(i => i.column);
      expect(columns.slice(0, 2).sort()).toEqual(['scanner', 'stroke width']);
      const scanner = items.find(i => i.column === 'scanner')!;
      expect(scanner.value).toBe('B');
      expect(scanner.inRegion).toBeGreaterThan(scanner.overall);
      const width = items.find(i => i.column === 'stroke width')!;
      expect(width.effect).toBeGreaterThan(0.8);
      expect(width.quantilesRegion![1]).toBeGreaterThan(
        width.quantilesOverall![1]
      );
      for (const unrelated of ['noise', 'batch', 'empty']) {
        const at = columns.indexOf(unrelated);
        expect(at === -1 || at > 1).toBe(true);
      }
      expect(name).toMatch(/scanner = B/);
      expect(name).toMatch(/stroke width high/);
    }
  );

  it('keeps nothing when the region is random', () => {
    const { weights, metadata } = planted(7);
    const shuffled = Float32Array.from(weights).reverse(); // unrelated to the planted rows
    const noiseOnly = metadata.filter(
      c => c.name !== 'scanner' && c.name !== 'stroke width'
    );
    const { items, name } = explainRegion(shuffled, { metadata: noiseOnly });
    expect(items).toEqual([]);
    expect(name).toBe('');
  });

  it('explains labels, predictions and confusion pairs', () => {
    const n = 1000;
    const labels = new Int32Array(n);
    const predictions = new Int32Array(n);
    const weights = new Float32Array(n);
    const u = uniform(3);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 10;
      predictions[i] = labels[i];
      if (labels[i] === 8 && u() < 0.7) {
        predictions[i] = 1;
        weights[i] = 0.9;
      } else {
        weights[i] = 0.02;
      }
    }
    const { items, name } = explainRegion(weights, {
      labels,
      predictions,
      labelNames: ['zero', 'one', '2', '3', '4', '5', '6', '7', 'eight', '9']
    });
    expect(items[0].kind).toBe('confusion');
    expect(items[0].value).toBe('eight → one');
    expect(name.startsWith('label eight → predicted one')).toBe(true);
    // The label and prediction are implied by the pair: not repeated.
    expect(name).not.toMatch(/· label eight|· predicted one/);
  });
});

describe('categoricalContrasts', () => {
  it('computes shares, lift and Cohen’s h in closed form', () => {
    // Region: rows 0-3 (k = 1), rest: rows 4-7 (k = 0).
    const codes = [0, 0, 0, 1, 1, 1, 1, 0];
    const weights = [1, 1, 1, 1, 0, 0, 0, 0];
    const [a, b] = categoricalContrasts(
      'c',
      'categorical',
      codes,
      ['a', 'b'],
      weights
    );
    expect(a.inRegion).toBeCloseTo(0.75);
    expect(a.overall).toBeCloseTo(0.5);
    expect(a.lift).toBeCloseTo(1.5);
    expect(a.effect).toBeCloseTo(
      2 * Math.asin(Math.sqrt(0.75)) - 2 * Math.asin(Math.sqrt(0.25))
    );
    // pooled p = 0.5, n_in = n_out = 4: z = 0.5 / sqrt(0.25 · 0.5)
    expect(a.statistic).toBeCloseTo(0.5 / Math.sqrt(0.125));
    expect(b.statistic).toBeCloseTo(-a.statistic);
    expect(a.pValue).toBeGreaterThan(0.15);
  });

  it('skips missing codes (negative or NaN)', () => {
    const out = categoricalContrasts(
      'c',
      'categorical',
      [0, -1, NaN, 1],
      ['a', 'b'],
      [1, 1, 0, 0]
    );
    expect(out.map(o => o.overall)).toEqual([0.5, 0.5]);
  });

  it('uses the effective sample size: spreading the same weight widens the test', () => {
    const n = 400;
    const codes = Array.from({ length: n }, (_, i) => (i < 40 ? 0 : i % 2));
    const sharp = Array.from({ length: n }, (_, i) => (i < 40 ? 1 : 0));
    const spread = Array.from({ length: n }, (_, i) => (i < 40 ? 0.5 : 0.05));
    const [a1] = categoricalContrasts(
      'c',
      'categorical',
      codes,
      ['a', 'b'],
      sharp
    );
    const [a2] = categoricalContrasts(
      'c',
      'categorical',
      codes,
      ['a', 'b'],
      spread
    );
    expect(Math.abs(a1.statistic)).toBeGreaterThan(Math.abs(a2.statistic));
  });
});

describe('continuousContrast', () => {
  it('matches the weighted means, Welch z and Cohen’s d', () => {
    const values = [1, 2, 3, 10, 11, 12];
    const weights = [0, 0, 0, 1, 1, 1];
    const item = continuousContrast('x', values, weights)!;
    expect(item.inRegion).toBeCloseTo(11);
    expect(item.overall).toBeCloseTo(6.5);
    const sd = Math.sqrt(values.reduce((a, v) => a + (v - 6.5) ** 2, 0) / 5);
    expect(item.effect).toBeCloseTo(9 / sd);
    // variances 2/3 each, n = 3 each
    expect(item.statistic).toBeCloseTo(9 / Math.sqrt(2 / 3 / 3 + 2 / 3 / 3));
    expect(item.quantilesRegion).toEqual([10, 11, 12]);
  });

  it('returns null for constant or absent values', () => {
    expect(continuousContrast('x', [1, 1, 1], [1, 0, 0])).toBeNull();
    expect(continuousContrast('x', [NaN, NaN], [1, 0])).toBeNull();
  });
});

describe('weightedQuartiles', () => {
  it('are the plain quartiles with equal weights and follow the weights', () => {
    expect(weightedQuartiles([4, 1, 3, 2], null)).toEqual([1, 2, 3]);
    expect(weightedQuartiles([1, 2, 3, 100], [0, 0, 0, 1])).toEqual([
      100, 100, 100
    ]);
    expect(weightedQuartiles([NaN], null).every(Number.isNaN)).toBe(true);
  });
});

describe('wordContrasts', () => {
  it('finds the words over-represented in the region (Monroe et al. 2008)', () => {
    const vocabulary = ['refund', 'late', 'great', 'the'];
    const docs: number[][] = [];
    const weights: number[] = [];
    const u = uniform(11);
    for (let i = 0; i < 600; i++) {
      const inRegion = i < 80;
      const words = [3];
      if (inRegion ? u() < 0.8 : u() < 0.05) {
        words.push(0);
      }
      if (u() < 0.3) {
        words.push(1);
      }
      if (u() < 0.3) {
        words.push(2);
      }
      docs.push(words);
      weights.push(inRegion ? 0.9 : 0.01);
    }
    const indptr = new Int32Array(docs.length + 1);
    docs.forEach((d, i) => (indptr[i + 1] = indptr[i] + d.length));
    const indices = Int32Array.from(docs.flat());
    const items = wordContrasts({ vocabulary, indptr, indices }, weights);
    const refund = items.find(i => i.value === 'refund')!;
    expect(refund.statistic).toBeGreaterThan(5);
    expect(refund.lift).toBeGreaterThan(3);
    for (const other of items.filter(i => i.value !== 'refund')) {
      expect(Math.abs(other.statistic)).toBeLessThan(refund.statistic / 2);
    }
    const { name } = explainRegion(weights, {
      tokens: { vocabulary, indptr, indices }
    });
    expect(name).toBe('words “refund”');
  });
});

describe('regionName and explanationPhrase', () => {
  const base = { inRegion: 0.5, overall: 0.1, statistic: 5, pValue: 0 };
  it('joins at most three parts, one per column', () => {
    const name = regionName([
      {
        ...base,
        column: 'label → prediction',
        kind: 'confusion',
        value: '8 → 1',
        effect: 1
      },
      {
        ...base,
        column: 'label',
        kind: 'categorical',
        value: '8',
        effect: 0.9
      },
      { ...base, column: 'stroke width', kind: 'continuous', effect: 0.8 },
      {
        ...base,
        column: 'source',
        kind: 'categorical',
        value: 'scanner B',
        effect: 0.7
      },
      {
        ...base,
        column: 'source',
        kind: 'categorical',
        value: 'scanner C',
        effect: 0.6
      },
      { ...base, column: 'x', kind: 'continuous', effect: -0.5 }
    ]);
    expect(name).toBe(
      'label 8 → predicted 1 · stroke width high · source = scanner B'
    );
    expect(regionName([])).toBe('');
  });

  it('says low for negative effects', () => {
    expect(
      explanationPhrase({
        ...base,
        column: 'ink',
        kind: 'continuous',
        effect: -1
      })
    ).toBe('ink low');
  });
});

describe('assembleResult names the regions', () => {
  it('gives the first region of planted data its name and explanation', () => {
    const { n, weights, metadata } = planted(2);
    const k = Float32Array.from(weights);
    const spotlight = {
      center: new Float32Array([0]),
      precision: 1,
      radius: 1,
      kernelWeights: k,
      normalizedWeights: k,
      totalWeight: k.reduce((a, b) => a + b, 0),
      supportSize: n,
      weightedLoss: 1,
      weightedLossOriginal: 1,
      initialPrecision: 1,
      startAdjusted: false,
      guardSteps: 0,
      history: {
        objective: new Float32Array([1]),
        totalWeight: new Float32Array([1]),
        learningRate: new Float32Array([0.01])
      },
      timeMs: 0
    };
    const losses = new Float32Array(n).fill(0.5);
    const result = assembleResult({
      names: {
        embeddings: 'emb',
        losses: 'loss',
        referenceLosses: null,
        labels: null,
        predictions: null,
        referencePredictions: null,
        examples: null,
        metadata: 'meta'
      },
      data: {
        n,
        d: 1,
        embeddings: new Float32Array(n),
        losses,
        referenceLosses: null,
        referencePredictions: null,
        labels: null,
        labelNames: null,
        predictions: null,
        metadata: null,
        metadataNames: null,
        metadataTable: { name: 'meta', columns: metadata, skipped: [] },
        transports: {}
      },
      search: {
        version: 1,
        backend: 'cpu',
        backendReason: '',
        n,
        d: 1,
        parameters: {} as any,
        spotlights: [spotlight],
        timings: { totalMs: 0, perSpotlightMs: [0] }
      },
      options: { ...DEFAULT_OPTIONS },
      maxMapPoints: 10,
      complete: true,
      finishedAt: '2026-01-01T00:00:00Z'
    } as any);
    const region = result.regions[0];
    expect(region.name).toMatch(/scanner = B/);
    expect(region.name).toMatch(/stroke width high/);
    expect(
      region
        .explanation!.slice(0, 2)
        .map(e => e.column)
        .sort()
    ).toEqual(['scanner', 'stroke width']);
    expect(result.metadataTable!.columns).toHaveLength(5);
    const summary = explanationSummary(region.explanation![0]);
    expect(Object.keys(summary).sort()).toEqual(
      ['column', 'effect', 'inRegion', 'kind', 'overall', 'statistic']
        .concat(summary.value === undefined ? [] : ['value'])
        .sort()
    );
  });
});

describe('chartShares', () => {
  it('keeps the explained value, the top values and sums the rest as other', () => {
    const codes = [0, 1, 2, 3, 4, 5, 6, 6, NaN, -1];
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const weights = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
    const shares = chartShares(codes, names, weights, 'c', 3);
    expect(shares.map(s => s.value)).toEqual(['c', 'g', 'a', 'other (4)']);
    expect(shares[1].region).toBe(1);
    expect(shares[1].overall).toBeCloseTo(2 / 8);
    expect(shares.reduce((a, s) => a + s.overall, 0)).toBeCloseTo(1);
  });
});

describe('distributionSpec', () => {
  it('leaves missing values out and names the axis', () => {
    const theme = {
      text: '#000',
      textMuted: '#555',
      grid: '#ddd',
      region: '#d84315',
      overall: '#999',
      font: 'sans-serif',
      dark: false
    };
    const spec = distributionSpec(
      [1, 2, NaN, 3, 4],
      [1, 1, 1, 0, 0],
      'x: region vs all data',
      theme,
      { bins: 3, axisTitle: 'x (seconds)' }
    ) as any;
    const values = spec.data.values as { group: string; fraction: number }[];
    for (const group of ['all data', 'region']) {
      const total = values
        .filter(v => v.group === group)
        .reduce((a, v) => a + v.fraction, 0);
      expect(total).toBeCloseTo(1);
    }
    expect(spec.encoding.x.title).toBe('x (seconds)');
    expect(values.every(v => Number.isFinite(v.fraction))).toBe(true);
  });
});
