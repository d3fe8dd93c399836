/**
 * Explanations in words: a region's one-line name and each explanation's
 * phrase and numbers (summaries/explain.ts computes them). No dependencies,
 * so the notebook's cell builders and their tests can use it anywhere.
 */
import type { IExplanation } from './explain';

/** How many explanations make a region's one-line name, at most. */
export const NAME_PARTS = 3;

/**
 * A region's one-line name from its top explanations: at most
 * {@link NAME_PARTS} parts, one per variable, best first, e.g.
 * `label 8 → predicted 1 · stroke width high · source = scanner B`.
 * A confusion pair makes its label and prediction parts redundant; words
 * join into one part.
 *
 * @param items - Ranked explanations (from {@link explainRegion}).
 * @returns The name, or '' without items.
 */
export function regionName(items: IExplanation[]): string {
  const parts: string[] = [];
  const used = new Set<string>();
  const words: string[] = [];
  for (const item of items) {
    if (item.kind === 'text') {
      if (words.length < 3) {
        words.push(`“${item.value}”`);
      }
      if (!used.has('words') && parts.length < NAME_PARTS) {
        used.add('words');
        parts.push('');
      }
      continue;
    }
    const classes = item.column === 'label' || item.column === 'prediction';
    if (
      parts.length >= NAME_PARTS ||
      used.has(item.column) ||
      (item.kind === 'confusion' &&
        (used.has('label') || used.has('prediction'))) ||
      (classes && used.has('label → prediction'))
    ) {
      continue;
    }
    used.add(item.column);
    parts.push(explanationPhrase(item));
  }
  const wordsPart = `words ${words.join(', ')}`;
  return parts.map(p => (p === '' ? wordsPart : p)).join(' · ');
}

/**
 * One explanation in words: `label 8`, `predicted 1`, `label 8 →
 * predicted 1`, `source = scanner B`, `stroke width high`, `words “late”`.
 *
 * @param item - One explanation.
 * @returns A short phrase (plain text; escape it where it is shown as HTML).
 */
export function explanationPhrase(item: IExplanation): string {
  switch (item.kind) {
    case 'confusion': {
      const [label, prediction] = (item.value ?? '').split(' → ');
      return `label ${label} → predicted ${prediction}`;
    }
    case 'continuous':
      return `${item.column} ${item.effect > 0 ? 'high' : 'low'}`;
    case 'text':
      return `words “${item.value}”`;
    default:
      if (item.column === 'label') {
        return `label ${item.value}`;
      }
      if (item.column === 'prediction') {
        return `predicted ${item.value}`;
      }
      return `${item.column} = ${item.value}`;
  }
}

/**
 * One explanation's numbers in words: `64 % in the region vs 12 % overall
 * (5.3×)` or `mean 2.41 vs 1.10 overall (median 2.39 vs 1.05)`.
 *
 * @param item - One explanation.
 * @returns Plain text (shown with textContent).
 */
export function explanationFacts(item: IExplanation): string {
  const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;
  if (item.kind === 'continuous') {
    const f = (x: number) =>
      Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0)
        ? x.toExponential(2)
        : x.toFixed(2);
    const unit = item.unit ? ` ${item.unit}` : '';
    const median =
      item.quantilesRegion && item.quantilesOverall
        ? ` (median ${f(item.quantilesRegion[1])} vs ${f(item.quantilesOverall[1])})`
        : '';
    return `mean ${f(item.inRegion)}${unit} in the region vs ${f(item.overall)} overall${median}`;
  }
  const lift = item.lift ? ` (${item.lift.toFixed(1)}×)` : '';
  return `${pct(item.inRegion)} of the region vs ${pct(item.overall)} overall${lift}`;
}
