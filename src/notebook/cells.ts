/**
 * Pure builders of the cells that record a finding in the notebook: a
 * markdown summary and a numpy-only code cell that recreates the region.
 */
import {
  DEFAULT_THEME,
  lossDistributionSpec,
  VegaLiteSpec
} from '../summaries/specs';
import type { ICategoryShare, IRegionSummary } from '../summaries/stats';
import type { IAuditOptions, ISelection } from '../tokens';

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
  /** N and D. */
  n: number;
  d: number;
  /** Centre μ as base64 of little-endian float32, length D. */
  center: string;
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
  /** The region's statistics. */
  summary: IRegionSummary;
  /** Search history, down-sampled: step, J and K. */
  history: { step: number[]; objective: number[]; totalWeight: number[] };
  /** Steps at which the collapse guard acted (absent in findings saved before it). */
  guardSteps?: number;
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
 * @returns Markdown source; all data-derived text is escaped.
 */
export function findingMarkdown(finding: IFinding): string {
  const s = finding.summary;
  const p = finding.parameters;
  const names = finding.names;
  const code = (x: string | null) => (x ? `\`${x.replace(/`/g, '')}\`` : '—');
  let md = `### Spotlight region ${finding.region} of ${finding.of}\n\n`;
  md +=
    `A contiguous region of the embedding space \`${names.embeddings}\` where the model's loss is high ` +
    `(the Spotlight, d'Eon et al. 2021).\n\n`;
  md += `- **Size:** total kernel weight K = ${s.totalWeight.toFixed(1)} of N = ${finding.n.toLocaleString('en-US')} (support ${s.supportSize.toLocaleString('en-US')} examples)\n`;
  md += `- **Weighted mean loss:** ${s.weightedLossOriginal.toFixed(4)} vs ${s.overallLoss.toFixed(4)} overall (lift ${s.lift.toFixed(2)}×)`;
  md +=
    finding.region > 1
      ? `; ${s.weightedLoss.toFixed(4)} on the damped losses it optimised\n`
      : '\n';
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
  md += shares('Labels', s.labels);
  md += shares('Predictions', s.predictions);
  md += shares('Metadata', s.metadata);
  md += `- **Heaviest examples:** ${s.topIndices.slice(0, 10).join(', ')}\n`;
  md += `- **Data:** embeddings ${code(names.embeddings)}, losses ${code(names.losses)}`;
  md += names.labels ? `, labels ${code(names.labels)}` : '';
  md += names.predictions ? `, predictions ${code(names.predictions)}` : '';
  md += `; fingerprint \`${finding.fingerprint}\`\n`;
  md += `- **Search:** spotlight size ${p.spotlightSize}, ${p.count} spotlights, ${p.steps} steps, learning rate ${p.learningRate}, barrier scale ${p.barrierScale}; backend ${finding.backend}; ${finding.date}\n`;
  md += `- **Centre and precision:** precision τ = ${finding.precision.toPrecision(6)} (radius ${(1 / Math.sqrt(finding.precision)).toPrecision(4)}); the next cell recreates the region with numpy as \`${regionVariable(finding.region)}\`.\n`;
  return md;
}

/**
 * The code cell that recreates a region with numpy only.
 *
 * Run after the notebook's earlier cells, it recomputes the kernel weights
 * k = max(0, 1 − τ‖x − μ‖²) (d'Eon et al. 2021) in float64 into
 * `spotlight_region_<j>`, their top indices into `spotlight_region_<j>_top`,
 * warns when the data's fingerprint differs, and displays the region's loss
 * chart as a Vega-Lite v5 output.
 *
 * @param finding - The finding.
 * @param chart - The chart spec to display (Vega-Lite 5).
 * @returns Python source.
 */
export function findingCode(finding: IFinding, chart: VegaLiteSpec): string {
  const v = regionVariable(finding.region);
  const emb = finding.names.embeddings!;
  const loss = finding.names.losses!;
  return [
    `# Spotlight region ${finding.region} of ${finding.of}, saved by jupyterlab-spotlight. Needs numpy only.`,
    'import base64 as _b64, warnings as _warnings, zlib as _zlib',
    'import numpy as _np',
    'from IPython.display import display as _display',
    `_X = _np.ascontiguousarray(_np.asarray(${emb}, dtype=_np.float32))`,
    `_L = _np.ascontiguousarray(_np.asarray(${loss}, dtype=_np.float32)).reshape(-1)`,
    `_fingerprint = format(_zlib.crc32(_L.tobytes(), _zlib.crc32(_X.tobytes())), "08x")`,
    `if _fingerprint != "${finding.fingerprint}":`,
    `    _warnings.warn("Spotlight region ${finding.region}: the data changed since this finding was saved "`,
    `                   f"(fingerprint {_fingerprint}, saved ${finding.fingerprint}); the weights below are recomputed on the new data, "`,
    `                   "the chart shows the data as saved. Run a new audit to find the regions of the new data.")`,
    `_center = _np.frombuffer(_b64.b64decode("${finding.center}"), dtype="<f4").astype(_np.float64)`,
    `_precision = ${finding.precision}  # tau = 1 / radius**2`,
    `${v} = _np.maximum(0.0, 1.0 - _precision * ((_X.astype(_np.float64) - _center) ** 2).sum(axis=1))`,
    `${v}_top = _np.argsort(-${v}, kind="stable")[:100]`,
    `print(f"Spotlight region ${finding.region}: K = {${v}.sum():.1f}, support {int((${v} > 0).sum())}, "`,
    `      f"weighted loss {(${v} * _L).sum() / ${v}.sum():.4f} vs {_L.mean():.4f} overall")`,
    ...(finding.names.referenceLosses
      ? [
          `_LA = _np.asarray(${finding.names.referenceLosses}, dtype=_np.float64).reshape(-1)`,
          `print(f"  model B (${loss}) loss {(${v} * _L).sum() / ${v}.sum():.4f} vs model A (${finding.names.referenceLosses}) "`,
          `      f"{(${v} * _LA).sum() / ${v}.sum():.4f} in this region (overall {_L.mean():.4f} vs {_LA.mean():.4f})")`
        ]
      : []),
    `_display({"application/vnd.vegalite.v5+json": ${pythonLiteral(chart)}, "text/plain": "<Spotlight region ${finding.region}: loss distribution>"}, raw=True)`
  ].join('\n');
}

/**
 * The two cells recording one finding.
 *
 * @param finding - The finding.
 * @param losses - Original losses, length N (for the chart).
 * @param weights - The region's kernel weights, length N (for the chart).
 * @returns A markdown and a code cell; both carry the finding in metadata.
 */
export function findingCells(
  finding: IFinding,
  losses: ArrayLike<number>,
  weights: ArrayLike<number>
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
    { cell_type: 'markdown', source: findingMarkdown(finding), metadata },
    {
      cell_type: 'code',
      source: findingCode(finding, chart),
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
