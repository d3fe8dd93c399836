import {
  categoryMixSpec,
  DEFAULT_THEME,
  historySpec,
  lossDistributionSpec,
  regionMapSpec
} from '../../summaries/specs';

// jsdom lacks structuredClone, which vega-lite uses; specs are plain JSON.
(globalThis as any).structuredClone ??= (value: unknown) =>
  JSON.parse(JSON.stringify(value));

describe('specs compile with vega-lite', () => {
  it('produce valid Vega for every builder', async () => {
    const { compile } = await import('vega-lite');
    const losses = Array.from({ length: 50 }, (_, i) => i / 7);
    const weights = losses.map((_, i) => (i % 3 === 0 ? 1 : 0));
    const specs = [
      lossDistributionSpec(losses, weights, DEFAULT_THEME),
      categoryMixSpec(
        [{ value: 'a', region: 0.7, overall: 0.5, enrichment: 1.4 }],
        'Labels',
        DEFAULT_THEME
      ),
      regionMapSpec([{ x: 1, y: 2, weight: 0.5, index: 3 }], DEFAULT_THEME),
      historySpec(
        new Float32Array([1, 2, 3]),
        new Float32Array([3, 2, 1]),
        DEFAULT_THEME
      )
    ];
    for (const spec of specs) {
      const vega = compile(spec as any).spec;
      expect(vega.marks?.length ?? 0).toBeGreaterThan(0);
    }
  });
});
