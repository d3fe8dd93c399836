/**
 * Pure builders of the cells that record a finding in the notebook: a
 * markdown summary and a numpy-only code cell that recreates the region.
 */
import { explanationFacts, explanationPhrase } from '../summaries/phrases';
import {
  DEFAULT_THEME,
  lossDistributionSpec,
  VegaLiteSpec
} from '../summaries/specs';
import type { ICategoryShare, IRegionSummary } from '../summaries/stats';
import type { IAuditOptions, IProjectionBasis, ISelection } from '../tokens';

/** Version of the finding JSON stored in cell metadata. */
export const FINDING_VERSION = 1;

/** The metadata key findings are stored under. */
export const METADATA_KEY = 'jupyterlab_spotlight';

/** A saved finding: everything needed to recreate and show one region. */
export interface IFinding {
  /** Schema version ({@link FINDING_VERSION}). */
  version: number;
  /** Region number, from 1. */
  region: number;
  /** How many regions the audit found. */
  of: number;
  /** Variable names the audit used. */
  names: ISelection;
  /** N and D (D of the embeddings variable, also when projected). */
  n: number;
  d: number;
  /**
   * Centre μ as base64 of little-endian float32, length D (length
   * `projection.rows` when the search ran on principal components).
   */
  center: string;
  /**
   * The principal-component projection the search ran on, absent when it
   * ran on the embeddings as they are: `mean` (D values) and `components`
   * (`rows` × D, row-major) as base64 of little-endian float32. The region
   * lives in the coordinates y = components · (x − mean).
   */
  projection?: { mean: string; components: string; rows: number };
  /** Precision τ (1 / radius²). */
  precision: number;
  /** Search options. */
  parameters: IAuditOptions;
  /** Backend that ran. */
  backend: string;
  /** ISO 8601 date of the audit. */
  date: string;
  /** Data fingerprint (see `fingerprint`). */
  fingerprint: string;
  /**
   * Fingerprint of the embeddings alone (see `embeddingsFingerprint`); absent
   * in findings saved before it.
   */
  embeddingsFingerprint?: string;
  /** The region's statistics. */
  summary: IRegionSummary;
  /** Search history, down-sampled: step, J and K. */
  history: { step: number[]; objective: number[]; totalWeight: number[] };
  /** Steps at which the collapse guard acted (absent in findings saved before it). */
  guardSteps?: number;
}

/** How the cells of a finding are written. */
export interface IFindingCellOptions {
  /**
   * Whether the code cell raises AssertionError when, re-run, the weakness
   * got worse (the `recheckAssert` setting at save time; default false).
   */
  recheckAssert?: boolean;
}

/** A notebook cell as nbformat JSON. */
export interface ICellJSON {
  cell_type: 'markdown' | 'code';
  source: string;
  metadata: Record<string, unknown>;
}

/**
 * Escape text from the data for markdown: HTML is neutralised (`&`, `<`, `>`
 * become entities) and markdown syntax is backslash-escaped, so labels like
 * `<img onerror=…>` or `[x](javascript:…)` render as plain text.
 *
 * @param text - Any text.
 * @returns Text that renders literally in JupyterLab's markdown.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_{}[\]()#+\-.!|~$])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

/**
 * A Python literal for a JSON value (dicts, lists, str, float, bool, None).
 *
 * @param value - JSON-serialisable data.
 * @returns Python source that evaluates to the same data.
 */
export function pythonLiteral(value: unknown): string {
  if (value === null || value === undefined) {
    return 'None';
  }
  if (typeof value === 'boolean') {
    return value ? 'True' : 'False';
  }
  if (typeof value === 'number') {
    if (Number.isNaN(value)) {
      return "float('nan')";
    }
    if (!Number.isFinite(value)) {
      return value > 0 ? "float('inf')" : "-float('inf')";
    }
    return String(value);
  }
  if (typeof value === 'string') {
    return JSON.stringify(value)
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029');
  }
  if (Array.isArray(value)) {
    return `[${value.map(pythonLiteral).join(', ')}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v)}`
  );
  return `{${entries.join(', ')}}`;
}

/**
 * A Python literal for a JSON value, formatted across lines the way a person
 * (or black) would write it: what fits in `width` stays on one line, longer
 * dicts and lists put one entry per line, and lists of numbers or strings
 * are packed several to a line. Trailing commas; evaluates to the same data
 * as {@link pythonLiteral}.
 *
 * @param value - JSON-serialisable data.
 * @param indent - Columns of indentation of the line the literal starts on.
 * @param width - The line width to keep within (default 88).
 * @returns Python source.
 */
export function pythonLiteralLines(
  value: unknown,
  indent = 0,
  width = 88
): string {
  const flat = pythonLiteral(value);
  if (
    indent + flat.length <= width ||
    value === null ||
    typeof value !== 'object'
  ) {
    return flat;
  }
  const pad = ' '.repeat(indent + 4);
  const close = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.every(v => v === null || typeof v !== 'object')) {
      const lines: string[] = [];
      let line = '';
      for (const item of value.map(pythonLiteral)) {
        const next = line ? `${line} ${item},` : `${item},`;
        if (line && pad.length + next.length > width) {
          lines.push(line);
          line = `${item},`;
        } else {
          line = next;
        }
      }
      lines.push(line);
      return `[\n${lines.map(l => pad + l).join('\n')}\n${close}]`;
    }
    const items = value.map(
      v => `${pad}${pythonLiteralLines(v, indent + 4, width)},`
    );
    return `[\n${items.join('\n')}\n${close}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([k, v]) =>
      `${pad}${JSON.stringify(k)}: ${pythonLiteralLines(v, indent + 4, width)},`
  );
  return `{\n${entries.join('\n')}\n${close}}`;
}

/**
 * Base64 of a float32 array's little-endian bytes.
 *
 * @param values - The values.
 * @returns Standard base64 (with padding).
 */
export function float32ToBase64(values: Float32Array): string {
  const bytes = new Uint8Array(
    values.buffer,
    values.byteOffset,
    values.byteLength
  );
  let binary = '';
  for (let i = 0; i < bytes.length; i++) {
    binary += String.fromCharCode(bytes[i]);
  }
  return btoa(binary);
}

/**
 * Decode {@link float32ToBase64}.
 *
 * @param text - Base64 of little-endian float32 bytes.
 * @returns The values.
 */
export function base64ToFloat32(text: string): Float32Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    bytes[i] = binary.charCodeAt(i);
  }
  return new Float32Array(bytes.buffer);
}

/**
 * The saved projection of a finding, decoded.
 *
 * @param finding - The finding.
 * @returns The mean (D float32) and the `rows` × D components, or null when
 *   the finding has no projection.
 * @throws Error when the saved arrays do not match `rows` and D.
 */
export function findingProjection(finding: IFinding): IProjectionBasis | null {
  const p = finding.projection;
  if (!p) {
    return null;
  }
  const mean = base64ToFloat32(p.mean);
  const matrix = base64ToFloat32(p.components);
  if (
    mean.length !== finding.d ||
    matrix.length !== p.rows * finding.d ||
    p.rows < 1
  ) {
    throw new Error(
      `Spotlight region ${finding.region}'s saved projection is damaged: a mean of ${mean.length} and ${matrix.length} component values for ${p.rows} components of D = ${finding.d}.`
    );
  }
  return { components: p.rows, d: finding.d, mean, matrix };
}

/**
 * The Python variable name for a region's weights, e.g. `spotlight_region_1`.
 *
 * @param region - Region number, from 1.
 * @returns A valid identifier.
 */
export function regionVariable(region: number): string {
  return `spotlight_region_${region}`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function shares(title: string, items: ICategoryShare[]): string {
  const top = items.filter(s => s.region > 0).slice(0, 3);
  if (!top.length) {
    return '';
  }
  const parts = top.map(
    s =>
      `${escapeMarkdown(s.value)} (${pct(s.region)} vs ${pct(s.overall)} overall)`
  );
  return `- **${title}, most over-represented:** ${parts.join('; ')}\n`;
}

/**
 * The markdown cell describing a finding.
 *
 * @param finding - The finding.
 * @param options - Assert mode, which the re-check line names.
 * @returns Markdown source; all data-derived text is escaped.
 */
export function findingMarkdown(
  finding: IFinding,
  options: IFindingCellOptions = {}
): string {
  const s = finding.summary;
  const p = finding.parameters;
  const names = finding.names;
  const code = (x: string | null) => (x ? `\`${x.replace(/`/g, '')}\`` : '—');
  let md = s.name
    ? `### Spotlight region ${finding.region} of ${finding.of}: ${escapeMarkdown(s.name)}\n\n`
    : `### Spotlight region ${finding.region} of ${finding.of}\n\n`;
  md +=
    `A contiguous region of the embedding space \`${names.embeddings}\` where the model's loss is high ` +
    `(the Spotlight, d'Eon et al. 2021).\n\n`;
  md += `- **Size:** total kernel weight K = ${s.totalWeight.toFixed(1)} of N = ${finding.n.toLocaleString('en-US')} (support ${s.supportSize.toLocaleString('en-US')} examples)\n`;
  md += `- **Weighted mean loss:** ${s.weightedLossOriginal.toFixed(4)} vs ${s.overallLoss.toFixed(4)} overall (lift ${s.lift.toFixed(2)}×)`;
  md +=
    finding.region > 1
      ? `; ${s.weightedLoss.toFixed(4)} on the damped losses it optimised\n`
      : '\n';
  if (s.liftInterval) {
    md += `- **Lift:** ${s.lift.toFixed(2)}×, 95 % bootstrap interval ${s.liftInterval[0].toFixed(2)}–${s.liftInterval[1].toFixed(2)}× (${s.liftIntervalKind === 'holdout' ? 'measured on a held-out half the search never saw' : 'in-sample: measured on the data that chose the region, so it leans high'})\n`;
  }
  if (s.pValue !== undefined && s.pValue !== null) {
    md += `- **Significance:** permutation test p = ${s.pValue.toFixed(3)} (${s.significant ? 'significant' : 'not significant'} at α = ${p.alpha ?? 0.05}; ${p.permutations ?? '?'} searches on permuted losses)\n`;
  }
  if (s.note) {
    md += `- **Note:** ${escapeMarkdown(s.note)}\n`;
  }
  const c = s.comparison;
  if (c && names.referenceLosses) {
    const direction =
      p.direction === 'improvement'
        ? 'where model B is better than A'
        : 'where model B is worse than A';
    md += `- **Two models compared** (${direction}): model B ${code(names.losses)} loss ${s.weightedLossOriginal.toFixed(4)} vs model A ${code(names.referenceLosses)} ${c.weightedLossReference.toFixed(4)} in this region (overall ${s.overallLoss.toFixed(4)} vs ${c.overallLossReference.toFixed(4)})`;
    md +=
      c.accuracyReference !== null && s.accuracy !== null
        ? `; accuracy ${pct(s.accuracy)} vs ${pct(c.accuracyReference)}\n`
        : '\n';
  }
  if (finding.guardSteps) {
    md += `- **Collapse guard:** acted at ${finding.guardSteps.toLocaleString('en-US')} of ${p.steps.toLocaleString('en-US')} steps (the search kept shrinking the ball below the spotlight size around a few very-high-loss examples; the guard rejected those steps to keep K ≥ S)\n`;
  }
  if (s.accuracy !== null && s.overallAccuracy !== null) {
    md += `- **Accuracy:** ${pct(s.accuracy)} inside vs ${pct(s.overallAccuracy)} overall\n`;
  }
  if (s.explanation?.length) {
    md += `- **What sets it apart** (kernel-weighted against the rest of the data; tests on the effective sample size, Bonferroni-corrected):\n`;
    for (const item of s.explanation.slice(0, 5)) {
      md += `  - ${escapeMarkdown(explanationPhrase(item))}: ${escapeMarkdown(explanationFacts(item))} (effect ${item.effect.toFixed(2)}, z = ${item.statistic.toFixed(1)})\n`;
    }
  }
  md += shares('Labels', s.labels);
  md += shares('Predictions', s.predictions);
  md += shares('Metadata', s.metadata);
  md += `- **Heaviest examples:** ${s.topIndices.slice(0, 10).join(', ')}\n`;
  md += `- **Data:** embeddings ${code(names.embeddings)}, losses ${code(names.losses)}`;
  md += names.labels ? `, labels ${code(names.labels)}` : '';
  md += names.predictions ? `, predictions ${code(names.predictions)}` : '';
  md += `; fingerprint \`${finding.fingerprint}\`\n`;
  md += `- **Search:** spotlight size ${p.spotlightSize}, ${p.count} spotlights, ${p.steps} steps, learning rate ${p.learningRate}, barrier scale ${p.barrierScale}; backend ${finding.backend}; ${finding.date}\n`;
  if (finding.projection) {
    md += `- **Principal components:** searched on the top ${finding.projection.rows} principal components of ${code(names.embeddings)} (D = ${finding.d}); the next cell applies the same saved projection\n`;
  }
  md += `- **Centre and precision:** precision τ = ${finding.precision.toPrecision(6)} (radius ${(1 / Math.sqrt(finding.precision)).toPrecision(4)}); the next cell recreates the region with numpy as \`${regionVariable(finding.region)}\`.\n`;
  md += Private.recheckMarkdown(finding, options);
  return md;
}

/**
 * The code cell that recreates a region with numpy only, and re-checks it.
 *
 * Run after the notebook's earlier cells, it recomputes the kernel weights
 * k = max(0, 1 − τ‖x − μ‖²) (d'Eon et al. 2021) in float64 into
 * `spotlight_region_<j>`, their top indices into `spotlight_region_<j>_top`,
 * warns when the embeddings changed (a change of the losses alone is the
 * normal re-check after retraining), prints whether the weakness is still
 * there or fixed on the current losses, and displays the region's loss chart
 * as saved (Vega-Lite v5). In assert mode it then raises AssertionError when
 * the weakness got worse.
 *
 * @param finding - The finding.
 * @param chart - The chart spec to display (Vega-Lite 5).
 * @param options - How to write it (assert mode).
 * @returns Python source.
 */
export function findingCode(
  finding: IFinding,
  chart: VegaLiteSpec,
  options: IFindingCellOptions = {}
): string {
  const v = regionVariable(finding.region);
  const recheckName = `recheck_${v}`;
  const ref = finding.names.referenceLosses;
  const args = ['embeddings', 'losses', ...(ref ? ['reference_losses'] : [])];
  const values = [finding.names.embeddings!, finding.names.losses!];
  if (ref) {
    values.push(ref);
  }
  const center = Array.from(base64ToFloat32(finding.center), x =>
    Number(Math.fround(x).toPrecision(9))
  );
  const radius = 1 / Math.sqrt(finding.precision);
  const body = [
    `"""Recreate ${Private.title(finding)} on \`embeddings\` and re-check it on \`losses\`.`,
    '',
    'Returns (weights, top, worse): the kernel weights (float64, one per example), the',
    'indices of the 100 heaviest examples, and a sentence when the weakness got worse',
    '(else None).',
    '"""',
    'x = np.ascontiguousarray(np.asarray(embeddings, dtype=np.float32))',
    'loss = np.ascontiguousarray(np.asarray(losses, dtype=np.float32)).reshape(-1)',
    'if len(loss) != len(x):',
    `    raise ValueError(f"Spotlight region ${finding.region}: \`${finding.names.losses}\` has {len(loss):,} values but "`,
    `                     f"\`${finding.names.embeddings}\` has {len(x):,} rows: re-run the cells that compute both, "`,
    '                     "for the same examples in the same order, then re-run this cell.")',
    '',
    ...Private.fingerprintCheck(finding),
    '',
    `center = ${v}_center.astype(np.float64)`,
    `precision = ${v}_precision`,
    ...Private.weightLines(finding, v),
    'top = np.argsort(-weights, kind="stable")[:100]',
    'total = weights.sum()',
    'if total == 0:',
    `    warnings.warn("${Private.title(finding)}: no example lies inside the region on the current embeddings; "`,
    '                  "there is nothing to re-check.")',
    '    return weights, top, None',
    'region_loss = (weights * loss).sum() / total',
    'overall_loss = loss.mean(dtype=np.float64)',
    `print(f"${Private.title(finding)}: K = {total:.1f}, support {int((weights > 0).sum())}, "`,
    '      f"weighted loss {region_loss:.4f} vs {overall_loss:.4f} overall")',
    ...Private.recheck(finding),
    'return weights, top, worse'
  ];
  return [
    `# Spotlight region ${finding.region} of ${finding.of}, saved by jupyterlab-spotlight (needs numpy only).`,
    `# Re-run it after retraining: it recreates the region from its saved centre and radius as`,
    `# \`${v}\` (one kernel weight per example) and \`${v}_top\``,
    `# (its 100 heaviest examples), and says whether the weakness is still there on the`,
    `# current \`${finding.names.losses}\`, or fixed.`,
    ...(finding.projection ? ['import base64'] : []),
    'import warnings',
    'import zlib',
    '',
    'import numpy as np',
    'from IPython.display import display',
    '',
    '# Assert mode (the recheckAssert setting when saved): True raises AssertionError when',
    '# the weakness got worse.',
    `${v}_assert_worse = ${options.recheckAssert ? 'True' : 'False'}`,
    '',
    "# The region: kernel weights k = max(0, 1 - precision * |x - center|^2) (d'Eon et al. 2021).",
    `${v}_center = np.array(`,
    `    ${pythonLiteralLines(center, 4)},`,
    '    dtype=np.float32,',
    ')',
    `${v}_precision = ${finding.precision}  # 1 / radius**2: radius ${radius.toPrecision(4)}`,
    ...Private.projectionLines(finding, v),
    '',
    '',
    `def ${recheckName}(${args.join(', ')}):`,
    ...body.map(line => (line ? `    ${line}` : '')),
    '',
    '',
    `${v}, ${v}_top, ${v}_worse = ${recheckName}(${values.join(', ')})`,
    '',
    '# The loss chart as saved (Vega-Lite 5; it does not follow the current losses).',
    `${v}_chart = ${pythonLiteralLines(chart, 0)}`,
    `display({"application/vnd.vegalite.v5+json": ${v}_chart, "text/plain": "<${Private.title(finding)}: loss distribution>"}, raw=True)`,
    `if ${v}_assert_worse and ${v}_worse:`,
    `    raise AssertionError(${v}_worse)`
  ].join('\n');
}

/**
 * The two cells recording one finding.
 *
 * @param finding - The finding.
 * @param losses - Original losses, length N (for the chart).
 * @param weights - The region's kernel weights, length N (for the chart).
 * @param options - How to write them (assert mode; default off).
 * @returns A markdown and a code cell; both carry the finding in metadata.
 */
export function findingCells(
  finding: IFinding,
  losses: ArrayLike<number>,
  weights: ArrayLike<number>,
  options: IFindingCellOptions = {}
): ICellJSON[] {
  // No theme config: stock JupyterLab then themes the saved chart itself
  // (light or dark); the region and all-data colours read on both.
  const { config, ...chart } = lossDistributionSpec(
    losses,
    weights,
    DEFAULT_THEME
  );
  void config;
  const metadata = { [METADATA_KEY]: { version: FINDING_VERSION, finding } };
  return [
    {
      cell_type: 'markdown',
      source: findingMarkdown(finding, options),
      metadata
    },
    {
      cell_type: 'code',
      source: findingCode(finding, chart, options),
      metadata: {
        [METADATA_KEY]: {
          version: FINDING_VERSION,
          region: finding.region,
          role: 'code'
        }
      }
    }
  ];
}

/**
 * Read a finding back from a cell's metadata.
 *
 * @param metadata - A cell's metadata.
 * @returns The finding, or null when the cell holds none (or another version).
 */
export function readFinding(
  metadata: Record<string, unknown>
): IFinding | null {
  const entry = metadata[METADATA_KEY] as
    { version?: unknown; finding?: unknown } | undefined;
  if (
    !entry ||
    entry.version !== FINDING_VERSION ||
    typeof entry.finding !== 'object' ||
    !entry.finding
  ) {
    return null;
  }
  const f = entry.finding as Partial<IFinding>;
  if (
    typeof f.center !== 'string' ||
    typeof f.precision !== 'number' ||
    typeof f.region !== 'number' ||
    !f.names ||
    !f.summary
  ) {
    return null;
  }
  return f as IFinding;
}

namespace Private {
  /**
   * Python lines (unindented) that set `weights`: the kernel weights on the
   * float64 embeddings, or on their coordinates on the saved principal
   * components (rounded to float32, as the search received them).
   *
   * @param finding - The finding.
   * @returns Python source lines.
   */
  export function weightLines(finding: IFinding, v: string): string[] {
    const p = finding.projection;
    if (!p) {
      return [
        'weights = np.maximum(0.0, 1.0 - precision * ((x.astype(np.float64) - center) ** 2).sum(axis=1))'
      ];
    }
    return [
      `# The search ran on the top ${p.rows} principal components: the same saved projection`,
      '# gives the coordinates of the region (rounded to float32, as the search received them).',
      `mean = ${v}_projection_mean.astype(np.float64)`,
      `components = ${v}_projection_components.astype(np.float64)`,
      'points = ((x.astype(np.float64) - mean) @ components.T).astype(np.float32).astype(np.float64)',
      'weights = np.maximum(0.0, 1.0 - precision * ((points - center) ** 2).sum(axis=1))'
    ];
  }

  /**
   * Python lines (top level) that bind the saved projection, when the search
   * ran on principal components: float32 arrays kept as base64 (a matrix of
   * `rows` × D numbers is no reading matter).
   *
   * @param finding - The finding.
   * @param v - The region's variable name.
   * @returns Python source lines (none without a projection).
   */
  export function projectionLines(finding: IFinding, v: string): string[] {
    const p = finding.projection;
    if (!p) {
      return [];
    }
    return [
      `# The search ran on the top ${p.rows} principal components of \`${finding.names.embeddings}\` (D = ${finding.d}):`,
      '# their mean (D values) and components (rows × D), float32, little-endian, base64.',
      `${v}_projection_mean = np.frombuffer(base64.b64decode(`,
      ...Private.base64Lines(p.mean),
      '), dtype="<f4")',
      `${v}_projection_components = np.frombuffer(base64.b64decode(`,
      ...Private.base64Lines(p.components),
      `), dtype="<f4").reshape(${p.rows}, -1)`
    ];
  }

  /** A base64 string as implicitly concatenated Python string lines. */
  export function base64Lines(text: string, width = 80): string[] {
    const lines: string[] = [];
    for (let i = 0; i < text.length; i += width) {
      lines.push(`    "${text.slice(i, i + width)}"`);
    }
    return lines.length ? lines : ['    ""'];
  }

  /** The region's name in messages, e.g. `Spotlight region 1`. */
  export function title(finding: IFinding): string {
    return `Spotlight region ${finding.region}`;
  }

  /**
   * How the re-check judges a finding: the lift against the saved interval
   * (or the saved lift, when none was saved), or for two models the region's
   * weighted loss difference against the saved one.
   */
  export type Check =
    | {
        kind: 'lift';
        saved: number;
        low: number;
        high: number;
        interval: 'holdout' | 'in-sample' | null;
      }
    | { kind: 'difference'; saved: number; improvement: boolean };

  /**
   * The re-check of a finding.
   *
   * @param finding - The finding.
   * @returns What the saved cell compares, and to what.
   */
  export function check(finding: IFinding): Check {
    const s = finding.summary;
    if (finding.names.referenceLosses && s.comparison) {
      const improvement = finding.parameters.direction === 'improvement';
      const d = s.comparison.weightedLossDifference;
      return { kind: 'difference', saved: improvement ? -d : d, improvement };
    }
    const interval = s.liftInterval;
    return interval
      ? {
          kind: 'lift',
          saved: s.lift,
          low: interval[0],
          high: interval[1],
          interval: s.liftIntervalKind ?? 'in-sample'
        }
      : {
          kind: 'lift',
          saved: s.lift,
          low: s.lift,
          high: s.lift,
          interval: null
        };
  }

  /**
   * The markdown line saying how the next cell re-checks the finding.
   *
   * @param finding - The finding.
   * @param options - Assert mode.
   * @returns A markdown list item.
   */
  export function recheckMarkdown(
    finding: IFinding,
    options: IFindingCellOptions
  ): string {
    const c = check(finding);
    const code = (x: string | null) => `\`${(x ?? '').replace(/`/g, '')}\``;
    const losses = code(finding.names.losses);
    const reference = code(finding.names.referenceLosses);
    const on = !!options.recheckAssert;
    let md = '- **Re-check:** re-running the next cell ';
    if (c.kind === 'difference') {
      const what = c.improvement
        ? `${reference} − ${losses}`
        : `${losses} − ${reference}`;
      md += `recomputes the region's weighted mean of ${what} on the current losses (saved ${c.saved.toFixed(4)}): `;
      md += c.improvement
        ? 'the improvement is *still there* while it stays above 0 and at least half the saved value, otherwise *gone*. '
        : 'the weakness is *still there* while it stays above 0 and at least half the saved value, otherwise *fixed*. ';
      md += c.improvement
        ? `Assert mode ${on ? 'on' : 'off'}; it applies to weaknesses, not to improvements.\n`
        : on
          ? `Assert mode on: it raises AssertionError when the difference exceeds 1.5 × the saved one (${(1.5 * c.saved).toFixed(4)}), i.e. the weakness got worse.\n`
          : 'Assert mode off (setting "Saved findings assert").\n';
      return md;
    }
    md += `recomputes the lift on the current ${losses}: the weakness is *still there* while it stays above `;
    md +=
      c.interval === null
        ? `the saved lift ${c.saved.toFixed(2)}× (no interval saved), otherwise *fixed*. `
        : `${c.low.toFixed(2)}×, the lower bound of the saved 95 % interval ${c.low.toFixed(2)}–${c.high.toFixed(2)}× (${c.interval}), otherwise *fixed*. `;
    md += on
      ? `Assert mode on: it raises AssertionError when the lift exceeds ${c.high.toFixed(2)}×, i.e. the weakness got worse.\n`
      : 'Assert mode off (setting "Saved findings assert").\n';
    return md;
  }

  /**
   * Python lines (unindented) that warn when the data changed in a way that
   * matters: the embeddings (the region is then recomputed on new points).
   * A change of the losses alone is what a re-check is for: no warning.
   *
   * @param finding - The finding.
   * @returns Python source lines.
   */
  export function fingerprintCheck(finding: IFinding): string[] {
    const name = title(finding);
    const saved = finding.embeddingsFingerprint;
    if (saved) {
      return [
        '# Fingerprint of the embeddings: CRC-32 of their float32 bytes. A change of the',
        '# losses alone (e.g. after retraining) is the normal re-check: no warning.',
        'embeddings_crc = format(zlib.crc32(x.tobytes()), "08x")',
        `if embeddings_crc != "${saved}":`,
        `    warnings.warn("${name}: the embeddings changed since this finding was saved "`,
        `                  f"(fingerprint {embeddings_crc}, saved ${saved}): the region is recomputed from its "`,
        '                  "saved centre and radius on the new embeddings, and the chart shows the data as saved. "',
        '                  "Run a new audit to find the regions of the new embeddings.")'
      ];
    }
    return [
      '# Fingerprint of the data: CRC-32 of the float32 embeddings, continued over the losses.',
      '# (Saved before fingerprints of the embeddings alone: new losses cannot be told from new embeddings.)',
      'data_crc = format(zlib.crc32(loss.tobytes(), zlib.crc32(x.tobytes())), "08x")',
      `if data_crc != "${finding.fingerprint}":`,
      `    warnings.warn("${name}: the data changed since this finding was saved "`,
      `                  f"(fingerprint {data_crc}, saved ${finding.fingerprint}). After retraining on the same embeddings "`,
      '                  "this is expected and the re-check below is what you want; if the embeddings changed, "',
      '                  "the region is recomputed on them, and a new audit finds the regions of the new embeddings.")'
    ];
  }

  /**
   * Python lines (unindented) that re-check the finding on the current
   * losses, print the verdict and set `worse` (a message, or None).
   *
   * @param finding - The finding.
   * @returns Python source lines.
   */
  export function recheck(finding: IFinding): string[] {
    const name = title(finding);
    const c = check(finding);
    const ref = finding.names.referenceLosses;
    const lines: string[] = [];
    if (ref) {
      lines.push(
        'reference = np.asarray(reference_losses, dtype=np.float64).reshape(-1)',
        `print(f"  model B (${finding.names.losses}) loss {region_loss:.4f} vs model A (${ref}) "`,
        '      f"{(weights * reference).sum() / total:.4f} in this region "',
        '      f"(overall {overall_loss:.4f} vs {reference.mean():.4f})")'
      );
    }
    lines.push('');
    if (c.kind === 'difference') {
      const [what, expr] = c.improvement
        ? ['model A − model B', 'reference - loss']
        : ['model B − model A', 'loss - reference'];
      const noun = c.improvement ? 'improvement' : 'weakness';
      lines.push(
        `# Re-check on the current losses: the region's weighted mean of (${expr}) against the`,
        '# saved one; still there while above 0 and at least half the saved value.',
        `difference = (weights * (${expr})).sum() / total`,
        `saved_difference = ${pythonLiteral(c.saved)}`,
        'still_there = difference > 0 and difference >= 0.5 * saved_difference',
        `verdict = "still there" if still_there else "${c.improvement ? 'gone' : 'fixed'}"`,
        `print(f"${name}: ${what} loss {difference:+.4f} in the region now (saved {saved_difference:+.4f}): "`,
        `      f"the ${noun} is {verdict}.")`
      );
      if (c.improvement) {
        lines.push(
          'worse = None  # assert mode applies to weaknesses, not to improvements'
        );
      } else {
        lines.push(
          'worse = None',
          'if difference > 1.5 * saved_difference:',
          `    worse = (f"${name} got worse: ${what} loss {difference:+.4f} in the region now, "`,
          '             f"above 1.5 × the saved {saved_difference:+.4f}.")'
        );
      }
      return lines;
    }
    lines.push(
      '# Re-check on the current losses: the lift (weighted mean loss / overall mean loss)'
    );
    if (c.interval === null) {
      lines.push(
        '# against the saved lift (no interval was saved with this finding; 0.1 % slack, as',
        '# the weights are recomputed here in float64).',
        'lift = region_loss / overall_loss',
        `saved_lift = ${pythonLiteral(c.saved)}`,
        'verdict = "still there" if lift >= 0.999 * saved_lift else "fixed" if np.isfinite(lift) else "not measurable (the mean loss is 0 or not finite)"',
        `print(f"${name}: lift {lift:.2f}× now (saved {saved_lift:.2f}×, no interval saved): "`,
        '      f"the weakness is {verdict}.")',
        'worse = None',
        'if lift > 1.001 * saved_lift:',
        `    worse = f"${name} got worse: lift {lift:.2f}× now, above the saved {saved_lift:.2f}× (no interval saved)."`
      );
      return lines;
    }
    lines.push(
      '# against the saved 95 % bootstrap interval: still there while above its lower bound.',
      'lift = region_loss / overall_loss',
      `saved_lift, lift_low, lift_high = ${[c.saved, c.low, c.high].map(pythonLiteral).join(', ')}`,
      'verdict = "still there" if lift > lift_low else "fixed" if np.isfinite(lift) else "not measurable (the mean loss is 0 or not finite)"',
      `print(f"${name}: lift {lift:.2f}× now (saved {saved_lift:.2f}×, 95 % interval "`,
      `      f"{lift_low:.2f}–{lift_high:.2f}×, ${c.interval}): the weakness is {verdict}.")`,
      'worse = None',
      'if lift > lift_high:',
      `    worse = (f"${name} got worse: lift {lift:.2f}× now, above the saved 95 % interval "`,
      '             f"{lift_low:.2f}–{lift_high:.2f}× (saved {saved_lift:.2f}×).")'
    );
    return lines;
  }
}
