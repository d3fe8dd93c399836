import {
  categoryMixSpec,
  DEFAULT_THEME,
  historySpec,
  lossDistributionSpec,
  regionMapSpec,
  themeConfig
} from '../../summaries/specs';

const V5 = 'https://vega.github.io/schema/vega-lite/v5.json';

describe('spec builders', () => {
  it('build a loss histogram whose fractions sum to 1 per group', () => {
    const losses = Array.from({ length: 100 }, (_, i) => i / 10);
    const weights = losses.map(l => (l > 8 ? 1 : 0));
    const spec = lossDistributionSpec(losses, weights, DEFAULT_THEME, {
      bins: 10
    }) as any;
    expect(spec.$schema).toBe(V5);
    const values = spec.data.values as {
      group: string;
      fraction: number;
      start: number;
      end: number;
    }[];
    expect(values).toHaveLength(20);
    const sum = (g: string) =>
      values.filter(v => v.group === g).reduce((a, v) => a + v.fraction, 0);
    expect(sum('all data')).toBeCloseTo(1, 5);
    expect(sum('region')).toBeCloseTo(1, 5);
    // The region's mass sits in the top bins only.
    const low = values.filter(v => v.group === 'region' && v.end <= 8);
    expect(low.every(v => v.fraction === 0)).toBe(true);
    expect(spec.config.background).toBeNull();
  });

  it('survive constant losses (no zero-width bins)', () => {
    const spec = lossDistributionSpec([2, 2, 2], [1, 1, 1], DEFAULT_THEME, {
      bins: 4
    }) as any;
    const starts = spec.data.values.map((v: any) => v.start);
    expect(new Set(starts).size).toBe(4);
  });

  it('keep category order and both groups in the mix chart', () => {
    const spec = categoryMixSpec(
      [
        { value: '<b>x</b>', region: 0.8, overall: 0.1, enrichment: 8 },
        { value: 'y', region: 0.2, overall: 0.9, enrichment: 0.22 }
      ],
      'Labels',
      DEFAULT_THEME
    ) as any;
    expect(spec.encoding.y.sort).toEqual(['<b>x</b>', 'y']);
    expect(spec.data.values).toHaveLength(4);
  });

  it('draw heavier map points last and fix the colour domain to [0, 1]', () => {
    const spec = regionMapSpec(
      [
        { x: 0, y: 0, weight: 0.9, index: 0 },
        { x: 1, y: 1, weight: 0.1, index: 1 }
      ],
      DEFAULT_THEME
    ) as any;
    expect(spec.data.values.map((v: any) => v.index)).toEqual([1, 0]);
    expect(spec.encoding.color.scale.domain).toEqual([0, 1]);
  });

  it('down-sample the history but keep the last step', () => {
    const J = new Float32Array(1001).map((_, i) => i);
    const spec = historySpec(J, J, DEFAULT_THEME, { maxPoints: 100 }) as any;
    const steps = spec.data.values.map((v: any) => v.step);
    expect(steps.length).toBeLessThanOrEqual(102);
    expect(steps[steps.length - 1]).toBe(1000);
    expect(spec.vconcat).toHaveLength(2);
  });

  it('theme the text, axes and font', () => {
    const config = themeConfig({
      ...DEFAULT_THEME,
      text: 'red',
      font: 'Mono'
    }) as any;
    expect(config.title.color).toBe('red');
    expect(config.font).toBe('Mono');
  });
});
