/**
 * Cells that save a manual region (examples drawn on the map): a markdown
 * cell describing it and a code cell that recreates its 0/1 kernel weights
 * from the saved row list, after checking the data's fingerprint.
 */
import {
  escapeMarkdown,
  ICellJSON,
  IFinding,
  pythonLiteral,
  regionVariable
} from './cells';

/** Cell metadata key of manual regions (found regions use `jupyterlab_spotlight`). */
export const MANUAL_METADATA_KEY = 'jupyterlab_spotlight_manual';

/**
 * Read a manual region back from a cell's metadata (the markdown cell of
 * {@link manualRegionCells} holds the finding).
 *
 * @param metadata - A cell's metadata.
 * @returns The finding, with `summary.manual.indices` (whole numbers), or
 *   null when the cell holds none (the code cell, another version, or a
 *   finding without its row list).
 */
export function readManualFinding(
  metadata: Record<string, unknown>
): IFinding | null {
  const entry = metadata[MANUAL_METADATA_KEY] as
    { version?: unknown; finding?: unknown } | undefined;
  if (
    !entry ||
    entry.version !== 1 ||
    typeof entry.finding !== 'object' ||
    !entry.finding
  ) {
    return null;
  }
  const f = entry.finding as Partial<IFinding>;
  const rows = f.summary?.manual?.indices;
  if (
    typeof f.region !== 'number' ||
    typeof f.n !== 'number' ||
    !f.names ||
    !Array.isArray(rows) ||
    !rows.every(i => Number.isInteger(i))
  ) {
    return null;
  }
  return f as IFinding;
}

/**
 * Python source of an index list, wrapped at about 88 characters a line.
 *
 * @param indices - Whole numbers.
 * @returns `[0, 4, 9,\n    12, …]`.
 */
export function pythonIndexList(indices: readonly number[]): string {
  const lines: string[] = [];
  let line = '';
  for (const [k, i] of indices.entries()) {
    const item = `${i}${k < indices.length - 1 ? ',' : ''}`;
    if (line && line.length + item.length + 1 > 80) {
      lines.push(line);
      line = '';
    }
    line += line ? ` ${item}` : item;
  }
  lines.push(line);
  return `[${lines.join('\n    ')}]`;
}

/**
 * The markdown and code cells of a manual region.
 *
 * The code cell, run after the notebook's earlier cells, sets
 * `spotlight_region_<j>_rows` (int64 rows) and `spotlight_region_<j>` (the
 * float32 0/1 kernel weights, length N), warns when the embeddings' CRC-32
 * differs from the saved one (the rows may then name other examples), and
 * prints the region's mean loss now and as saved.
 *
 * @param finding - The region's finding (`makeFinding`: names, N,
 *   fingerprints, summary with `name` and `manual.indices`).
 * @returns A markdown and a code cell; both carry the region in metadata.
 * @throws {Error} when the finding is not a manual region.
 */
export function manualRegionCells(finding: IFinding): ICellJSON[] {
  const s = finding.summary;
  const rows = s.manual?.indices;
  if (!rows) {
    throw new Error(
      `Region ${finding.region} was found by the search, not drawn: save it with findingCells.`
    );
  }
  const v = regionVariable(finding.region);
  const name = s.name ?? `Region ${finding.region}`;
  const names = finding.names;
  const code = (x: string | null) => (x ? `\`${x.replace(/`/g, '')}\`` : '—');
  let md = `### Spotlight manual region ${finding.region}: ${escapeMarkdown(name)}\n\n`;
  md += `${rows.length.toLocaleString('en-US')} examples of ${finding.n.toLocaleString('en-US')} chosen by hand on the overview map of ${code(names.embeddings)} (kernel weight 1 inside, 0 outside).\n\n`;
  md += `- **Mean loss:** ${s.weightedLossOriginal.toFixed(4)} vs ${s.overallLoss.toFixed(4)} overall (lift ${s.lift.toFixed(2)}×)\n`;
  if (s.accuracy !== null && s.overallAccuracy !== null) {
    md += `- **Accuracy:** ${(s.accuracy * 100).toFixed(1)}% inside vs ${(s.overallAccuracy * 100).toFixed(1)}% overall\n`;
  }
  md += `- **Data:** embeddings ${code(names.embeddings)}, losses ${code(names.losses)}; fingerprint \`${finding.fingerprint}\`; ${finding.date}\n`;
  md += `- The next cell recreates the region with numpy as \`${v}\` (weights) and \`${v}_rows\` (rows).\n`;

  const fingerprint = finding.embeddingsFingerprint;
  const source = [
    `# ${name.replace(/[\r\n]+/g, ' ')}: a manual Spotlight region, drawn on the overview map.`,
    'import warnings',
    'import zlib',
    '',
    'import numpy as np',
    '',
    `${v}_rows = np.array(${pythonIndexList(rows)}, dtype=np.int64)`,
    '',
    `x = np.ascontiguousarray(np.asarray(${names.embeddings}, dtype=np.float32))`,
    `loss = np.asarray(${names.losses}, dtype=np.float64).reshape(-1)`,
    ...(fingerprint
      ? [
          '# The rows are positions in these embeddings: warn when they changed.',
          `if format(zlib.crc32(x.tobytes()), "08x") != ${pythonLiteral(fingerprint)}:`,
          `    warnings.warn(${pythonLiteral(`${name}: the embeddings changed since this region was drawn (fingerprint ${fingerprint}); its rows may now be other examples.`)})`
        ]
      : []),
    '',
    '# Kernel weights: 1 for the chosen examples, 0 elsewhere.',
    `${v} = np.zeros(len(loss), dtype=np.float32)`,
    `${v}[${v}_rows] = 1.0`,
    `print(f"${name.replace(/["{}\\]/g, '')}: {len(${v}_rows)} examples, mean loss "`,
    `      f"{loss[${v}_rows].mean():.4f} vs {loss.mean():.4f} overall (saved ${s.weightedLossOriginal.toFixed(4)})")`
  ].join('\n');
  const metadata = {
    [MANUAL_METADATA_KEY]: { version: 1, region: finding.region, finding }
  };
  return [
    { cell_type: 'markdown', source: md, metadata },
    {
      cell_type: 'code',
      source,
      metadata: {
        [MANUAL_METADATA_KEY]: {
          version: 1,
          region: finding.region,
          role: 'code'
        }
      }
    }
  ];
}
