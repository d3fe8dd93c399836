/**
 * Vega-Lite spec builders for a region's charts. Pure functions: plain data
 * in, a JSON spec out. Specs use only Vega-Lite 5 features, so the same spec
 * renders in the panel (vega-lite 6) and as a saved notebook output
 * (`application/vnd.vegalite.v5+json`, rendered by stock JupyterLab).
 */
import { histogram, ICategoryShare } from './stats';

/** A Vega-Lite spec as plain JSON. */
export type VegaLiteSpec = Record<string, unknown>;

/** Colours and fonts taken from the JupyterLab theme. */
export interface IChartTheme {
  /** Main text colour. */
  text: string;
  /** Secondary text colour (axis labels). */
  textMuted: string;
  /** Grid and domain lines. */
  grid: string;
  /** Colour of the region's marks. */
  region: string;
  /** Colour of the whole data's marks. */
  overall: string;
  /** UI font family. */
  font: string;
  /** Whether the theme is dark (selects the sequential scheme). */
  dark: boolean;
}

/** A light theme for contexts without JupyterLab (saved notebook outputs). */
export const DEFAULT_THEME: IChartTheme = {
  text: '#212121',
  textMuted: '#616161',
  grid: '#e0e0e0',
  region: '#d84315',
  overall: '#9e9e9e',
  font: 'system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif',
  dark: false
};

/**
 * The Vega-Lite `config` for a theme: transparent background, themed text,
 * axes and grid.
 *
 * @param theme - The theme's colours.
 * @returns A config object for a spec's `config` key.
 */
export function themeConfig(theme: IChartTheme): Record<string, unknown> {
  return {
    background: null,
    font: theme.font,
    view: { stroke: null },
    title: {
      color: theme.text,
      fontSize: 12,
      fontWeight: 600,
      anchor: 'start'
    },
    axis: {
      labelColor: theme.textMuted,
      titleColor: theme.text,
      gridColor: theme.grid,
      domainColor: theme.grid,
      tickColor: theme.grid,
      labelFontSize: 10,
      titleFontSize: 11
    },
    legend: {
      labelColor: theme.textMuted,
      titleColor: theme.text,
      labelFontSize: 10,
      titleFontSize: 11
    }
  };
}

function base(theme: IChartTheme, title: string, width: number): VegaLiteSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width,
    config: themeConfig(theme)
  };
}

/**
 * Loss distribution of a region (weighted by k) against the whole data.
 *
 * @param losses - Original per-example losses, length N.
 * @param weights - The region's kernel weights, length N.
 * @param theme - Chart colours.
 * @param options - Number of bins (default 30) and width in pixels.
 * @returns A layered bar spec of the fraction of examples per loss bin.
 */
export function lossDistributionSpec(
  losses: ArrayLike<number>,
  weights: ArrayLike<number>,
  theme: IChartTheme,
  options: { bins?: number; width?: number } = {}
): VegaLiteSpec {
  const bins = options.bins ?? 30;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < losses.length; i++) {
    lo = Math.min(lo, losses[i]);
    hi = Math.max(hi, losses[i]);
  }
  const edges = evenEdges(lo, hi, bins);
  const values = binnedValues(edges, [
    ['all data', histogram(losses, edges)],
    ['region', histogram(losses, edges, weights)]
  ]);
  return groupedBars(
    base(theme, 'Loss: region vs all data', options.width ?? 260),
    values,
    'fraction (√ scale)',
    groupColor(theme)
  );
}

/**
 * Both models' losses in a region (kernel-weighted histograms on shared
 * bins), when two models are compared.
 *
 * @param losses - Model B's losses, length N.
 * @param reference - Model A's losses, length N.
 * @param weights - The region's kernel weights, length N.
 * @param theme - Chart colours.
 * @param options - Number of bins (default 30) and width in pixels.
 * @returns An overlaid bar spec of the weighted fraction per bin, one colour
 *   per model.
 */
export function modelLossSpec(
  losses: ArrayLike<number>,
  reference: ArrayLike<number>,
  weights: ArrayLike<number>,
  theme: IChartTheme,
  options: { bins?: number; width?: number } = {}
): VegaLiteSpec {
  const bins = options.bins ?? 30;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < losses.length; i++) {
    if (weights[i] > 0) {
      lo = Math.min(lo, losses[i], reference[i]);
      hi = Math.max(hi, losses[i], reference[i]);
    }
  }
  const edges = evenEdges(Number.isFinite(lo) ? lo : 0, hi, bins);
  const values = binnedValues(edges, [
    ['model B', histogram(losses, edges, weights)],
    ['model A', histogram(reference, edges, weights)]
  ]);
  return groupedBars(
    base(theme, 'Loss in the region: model B vs model A', options.width ?? 260),
    values,
    'weighted fraction (√ scale)',
    {
      field: 'group',
      type: 'nominal',
      title: null,
      legend: { orient: 'top', direction: 'horizontal' },
      scale: {
        domain: ['model B', 'model A'],
        range: [theme.region, theme.overall]
      }
    }
  );
}

/**
 * The permutation test of a region: the null distribution of the first
 * spotlight's weighted loss (searches on permuted losses) as a histogram,
 * with the region's observed weighted loss marked.
 *
 * @param nulls - The P null maxima.
 * @param observed - The region's weighted loss on the losses it was found on.
 * @param pValue - Its p-value, for the title.
 * @param theme - Chart colours.
 * @param options - Number of bins (default 20), width in pixels, and the x
 *   axis title (default: "best weighted loss under the null").
 * @returns A layered spec: bars of null counts and a rule at `observed`.
 */
export function nullDistributionSpec(
  nulls: ArrayLike<number>,
  observed: number,
  pValue: number,
  theme: IChartTheme,
  options: { bins?: number; width?: number; axisTitle?: string } = {}
): VegaLiteSpec {
  const bins = options.bins ?? 20;
  let lo = observed;
  let hi = observed;
  for (let i = 0; i < nulls.length; i++) {
    lo = Math.min(lo, nulls[i]);
    hi = Math.max(hi, nulls[i]);
  }
  const edges = evenEdges(lo, hi, bins);
  const counts = histogram(nulls, edges).map(f => f * nulls.length);
  const values = counts.map((count, b) => ({
    start: round(edges[b]),
    end: round(edges[b + 1]),
    count: Math.round(count)
  }));
  const p = pValue < 0.001 ? '< 0.001' : `= ${pValue.toFixed(3)}`;
  return {
    ...base(
      theme,
      `Permutation test: p ${p} (${nulls.length} null searches)`,
      options.width ?? 260
    ),
    height: 110,
    layer: [
      {
        data: { values },
        mark: { type: 'bar', color: theme.overall, binSpacing: 0 },
        encoding: {
          x: {
            field: 'start',
            type: 'quantitative',
            bin: { binned: true },
            title: options.axisTitle ?? 'best weighted loss under the null'
          },
          x2: { field: 'end' },
          y: { field: 'count', type: 'quantitative', title: 'searches' },
          tooltip: [
            { field: 'start', type: 'quantitative', title: 'from' },
            { field: 'end', type: 'quantitative', title: 'to' },
            { field: 'count', type: 'quantitative' }
          ]
        }
      },
      {
        data: { values: [{ observed: round(observed), label: 'this region' }] },
        mark: { type: 'rule', color: theme.region, strokeWidth: 2 },
        encoding: {
          x: { field: 'observed', type: 'quantitative' },
          tooltip: [
            { field: 'label', type: 'nominal', title: ' ' },
            { field: 'observed', type: 'quantitative', title: 'weighted loss' }
          ]
        }
      }
    ]
  };
}

/**
 * Category mix (labels, predictions or metadata) in a region against all data.
 *
 * @param shares - Shares from `categoryShares`, most enriched first.
 * @param title - The chart title, e.g. "Labels".
 * @param theme - Chart colours.
 * @param width - Width in pixels.
 * @returns A grouped horizontal bar spec of shares.
 */
export function categoryMixSpec(
  shares: ICategoryShare[],
  title: string,
  theme: IChartTheme,
  width = 220
): VegaLiteSpec {
  const values = shares.flatMap(s => [
    {
      value: s.value,
      group: 'region',
      share: round(s.region),
      enrichment: round(s.enrichment)
    },
    {
      value: s.value,
      group: 'all data',
      share: round(s.overall),
      enrichment: round(s.enrichment)
    }
  ]);
  return {
    ...base(theme, title, width),
    height: { step: 22 },
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: {
        field: 'value',
        type: 'nominal',
        sort: shares.map(s => s.value),
        title: null
      },
      yOffset: {
        field: 'group',
        type: 'nominal',
        sort: ['region', 'all data']
      },
      x: {
        field: 'share',
        type: 'quantitative',
        axis: { format: '%' },
        title: 'share'
      },
      color: groupColor(theme),
      tooltip: [
        { field: 'value', type: 'nominal' },
        { field: 'group', type: 'nominal' },
        { field: 'share', type: 'quantitative', format: '.1%' },
        {
          field: 'enrichment',
          type: 'quantitative',
          format: '.2f',
          title: 'enrichment ×'
        }
      ]
    }
  };
}

/**
 * A continuous variable's distribution in a region (weighted by k) against
 * all data, on shared bins; missing values (NaN) are left out.
 *
 * @param values - The values, length N (NaN = missing).
 * @param weights - The region's kernel weights, length N.
 * @param title - The chart title (the column's name).
 * @param theme - Chart colours.
 * @param options - Number of bins (default 20), width in pixels and the
 *   x axis title (default `value`).
 * @returns A grouped bar spec of the fraction of examples per bin.
 */
export function distributionSpec(
  values: ArrayLike<number>,
  weights: ArrayLike<number>,
  title: string,
  theme: IChartTheme,
  options: { bins?: number; width?: number; axisTitle?: string } = {}
): VegaLiteSpec {
  const present: number[] = [];
  const k: number[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      present.push(v);
      k.push(weights[i]);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const edges = evenEdges(
    present.length ? lo : 0,
    present.length ? hi : 1,
    options.bins ?? 20
  );
  const binned = binnedValues(edges, [
    ['all data', histogram(present, edges)],
    ['region', histogram(present, edges, k)]
  ]);
  return groupedBars(
    base(theme, title, options.width ?? 220),
    binned,
    'fraction (√ scale)',
    groupColor(theme),
    options.axisTitle ?? 'value'
  );
}

/**
 * A 2-D map of the examples coloured by a region's kernel weight.
 *
 * @param points - Sampled points: x, y (e.g. PCA coordinates), weight k in [0, 1], index.
 * @param theme - Chart colours.
 * @param width - Width in pixels.
 * @returns A scatter spec, heavier points drawn on top.
 */
export function regionMapSpec(
  points: { x: number; y: number; weight: number; index: number }[],
  theme: IChartTheme,
  width = 260
): VegaLiteSpec {
  const values = [...points]
    .sort((a, b) => a.weight - b.weight)
    .map(p => ({
      x: round(p.x),
      y: round(p.y),
      weight: round(p.weight),
      index: p.index
    }));
  return {
    ...base(theme, 'Embedding map (PCA) coloured by kernel weight', width),
    height: width * 0.8,
    data: { values },
    mark: { type: 'circle', size: 14, opacity: 0.8 },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: 'PC 1',
        axis: { labels: false, ticks: false }
      },
      y: {
        field: 'y',
        type: 'quantitative',
        title: 'PC 2',
        axis: { labels: false, ticks: false }
      },
      color: {
        field: 'weight',
        type: 'quantitative',
        title: 'kernel weight',
        legend: {
          orient: 'bottom',
          direction: 'horizontal',
          gradientLength: 120
        },
        scale: {
          domain: [0, 1],
          scheme: theme.dark ? 'inferno' : 'orangered'
        }
      },
      order: { field: 'weight', type: 'quantitative' },
      tooltip: [
        { field: 'index', type: 'quantitative' },
        { field: 'weight', type: 'quantitative', format: '.3f' }
      ]
    }
  };
}

/**
 * The search's objective J and total weight K over the steps.
 *
 * @param objective - J_t per step.
 * @param totalWeight - K_t per step.
 * @param theme - Chart colours.
 * @param options - Maximum points per line (default 400) and width.
 * @returns Two stacked line charts sharing the step axis.
 */
export function historySpec(
  objective: ArrayLike<number>,
  totalWeight: ArrayLike<number>,
  theme: IChartTheme,
  options: { maxPoints?: number; width?: number } = {}
): VegaLiteSpec {
  const steps = objective.length;
  const stride = Math.max(1, Math.ceil(steps / (options.maxPoints ?? 400)));
  const values: Record<string, number>[] = [];
  for (let t = 0; t < steps; t += stride) {
    values.push({ step: t, J: round(objective[t]), K: round(totalWeight[t]) });
  }
  if (steps > 0 && (steps - 1) % stride !== 0) {
    values.push({
      step: steps - 1,
      J: round(objective[steps - 1]),
      K: round(totalWeight[steps - 1])
    });
  }
  const width = options.width ?? 260;
  const line = (field: string, title: string) => ({
    width,
    height: 70,
    mark: { type: 'line', color: theme.region },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field, type: 'quantitative', title, scale: { zero: false } },
      tooltip: [
        { field: 'step', type: 'quantitative' },
        { field, type: 'quantitative', format: '.4g' }
      ]
    }
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Search: objective J and total weight K',
    data: { values },
    vconcat: [line('J', 'objective J'), line('K', 'total weight K')],
    config: themeConfig(theme)
  };
}

/**
 * Overlaid bars of binned fractions per group: loss histograms on shared
 * bins (`values`: {start, end, group, fraction}), √ y scale.
 */
function groupedBars(
  frame: Record<string, unknown>,
  values: Record<string, unknown>[],
  yTitle: string,
  color: Record<string, unknown>,
  xTitle = 'loss'
): VegaLiteSpec {
  return {
    ...frame,
    height: 110,
    data: { values },
    mark: { type: 'bar', opacity: 0.65, binSpacing: 0 },
    encoding: {
      x: {
        field: 'start',
        type: 'quantitative',
        bin: { binned: true },
        title: xTitle
      },
      x2: { field: 'end' },
      y: {
        field: 'fraction',
        type: 'quantitative',
        stack: null,
        title: yTitle,
        scale: { type: 'sqrt' }
      },
      color,
      tooltip: [
        { field: 'group', type: 'nominal' },
        { field: 'start', type: 'quantitative', title: 'from' },
        { field: 'end', type: 'quantitative', title: 'to' },
        { field: 'fraction', type: 'quantitative', format: '.1%' }
      ]
    }
  } as VegaLiteSpec;
}

function groupColor(theme: IChartTheme): Record<string, unknown> {
  return {
    field: 'group',
    type: 'nominal',
    title: null,
    legend: { orient: 'top', direction: 'horizontal' },
    scale: {
      domain: ['region', 'all data'],
      range: [theme.region, theme.overall]
    }
  };
}

/**
 * `bins` equal bins from `lo` to `hi` (to lo + 1 when hi ≤ lo).
 *
 * @returns The bins + 1 edges.
 */
function evenEdges(lo: number, hi: number, bins: number): number[] {
  const top = hi > lo ? hi : lo + 1;
  return Array.from(
    { length: bins + 1 },
    (_, i) => lo + ((top - lo) * i) / bins
  );
}

/**
 * Rows {start, end, group, fraction} of binned fractions, one per bin and
 * group, for {@link groupedBars}.
 */
function binnedValues(
  edges: number[],
  groups: [string, number[]][]
): Record<string, unknown>[] {
  const values: Record<string, unknown>[] = [];
  for (let b = 0; b + 1 < edges.length; b++) {
    const start = round(edges[b]);
    const end = round(edges[b + 1]);
    for (const [group, fractions] of groups) {
      values.push({ start, end, group, fraction: round(fractions[b]) });
    }
  }
  return values;
}

/** Round to 6 significant digits to keep specs small. */
function round(value: number): number {
  return Number.isFinite(value) ? Number(value.toPrecision(6)) : value;
}
