/**
 * What sets a region apart: its name, its ranked explanations and one small
 * chart per top explanation (summaries/explain.ts). A self-contained view
 * over an audit result, so the region view and other views can place it.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IAuditResult } from '../model';
import {
  chartShares,
  confusionCodes,
  explanationFacts,
  explanationPhrase,
  IExplanation
} from '../summaries/explain';
import {
  categoryMixSpec,
  distributionSpec,
  IChartTheme,
  VegaLiteSpec
} from '../summaries/specs';
import { ChartGroup } from './charts';

/** Explanations charted, at most. */
export const CHARTED_EXPLANATIONS = 4;

/** Explanations listed, at most. */
export const LISTED_EXPLANATIONS = 8;

/**
 * The explanation of one region: a list and small charts, rendered into a
 * host element it owns the contents of.
 */
export class ExplanationView {
  /**
   * @param host - The element to render into (borrowed).
   * @param trans - Translations.
   */
  constructor(
    readonly host: HTMLElement,
    trans: TranslationBundle
  ) {
    this._trans = trans;
    host.classList.add('jp-SpotlightExplanation');
    this._list = document.createElement('ol');
    this._list.className = 'jp-SpotlightExplanation-list';
    this._note = document.createElement('p');
    this._note.className = 'jp-SpotlightExplanation-note';
    const charts = document.createElement('div');
    charts.className = 'jp-SpotlightExplanation-charts';
    host.append(this._note, this._list, charts);
    this._charts = new ChartGroup(charts);
  }

  /**
   * Show region j of a result.
   *
   * @param result - The audit result.
   * @param j - The region's index.
   * @param options - Chart theme and width; `charts: false` lists only.
   * @returns Resolves when the charts are drawn.
   */
  async render(
    result: IAuditResult,
    j: number,
    options: { theme: IChartTheme; width: number; charts?: boolean }
  ): Promise<void> {
    const trans = this._trans;
    const region = result.regions[j];
    const items = region.explanation ?? [];
    this._list.replaceChildren(
      ...items.slice(0, LISTED_EXPLANATIONS).map(item => {
        const li = document.createElement('li');
        const phrase = document.createElement('strong');
        phrase.textContent = explanationPhrase(item);
        const facts = document.createElement('span');
        facts.className = 'jp-SpotlightExplanation-facts';
        facts.textContent = ` — ${explanationFacts(item)}`;
        li.append(phrase, facts);
        li.title = trans.__(
          'effect %1 (standardised), z = %2, p = %3 before correction',
          item.effect.toFixed(2),
          item.statistic.toFixed(1),
          item.pValue.toExponential(1)
        );
        return li;
      })
    );
    const sources = Private.sourcesText(result);
    this._note.textContent = items.length
      ? trans.__(
          'Compared with the rest of the data (kernel-weighted, tests on the effective sample size, Bonferroni-corrected) on %1.',
          sources
        )
      : sources
        ? trans.__(
            'Nothing in %1 sets this region apart (no difference clears the test).',
            sources
          )
        : trans.__(
            'Choose labels, predictions or a metadata table to learn what sets this region apart.'
          );
    if (options.charts === false) {
      this._charts.clear();
      return;
    }
    await this._charts.render(
      explanationSpecs(result, j, options.theme, options.width)
    );
  }

  /** Clear the list and the charts. */
  clear(): void {
    this._list.replaceChildren();
    this._note.textContent = '';
    this._charts.clear();
  }

  /** Finalise the charts. */
  dispose(): void {
    this._charts.dispose();
  }

  private _trans: TranslationBundle;
  private _list: HTMLOListElement;
  private _note: HTMLElement;
  private _charts: ChartGroup;
}

/**
 * One small chart per top explanation of region j: categorical values as
 * shares in the region vs all data (top values plus `other`), continuous
 * columns as their two distributions. Words get no chart.
 *
 * @param result - The audit result (labels, predictions, metadata table).
 * @param j - The region's index.
 * @param theme - Chart colours.
 * @param width - Width of each chart in pixels.
 * @returns Labelled Vega-Lite specs, at most {@link CHARTED_EXPLANATIONS}.
 */
export function explanationSpecs(
  result: IAuditResult,
  j: number,
  theme: IChartTheme,
  width: number
): { label: string; spec: VegaLiteSpec }[] {
  const weights = result.search.spotlights[j].kernelWeights;
  const items = (result.regions[j].explanation ?? []).filter(
    i => i.kind !== 'text'
  );
  const seen = new Set<string>();
  const out: { label: string; spec: VegaLiteSpec }[] = [];
  for (const item of items) {
    if (seen.has(item.column) || out.length >= CHARTED_EXPLANATIONS) {
      continue;
    }
    seen.add(item.column);
    const label = explanationPhrase(item);
    if (item.kind === 'continuous') {
      const column = result.metadataTable?.columns.find(
        c => c.name === item.column
      );
      if (column) {
        out.push({
          label,
          spec: distributionSpec(
            column.values,
            weights,
            `${item.column}: region vs all data`,
            theme,
            {
              width,
              axisTitle: column.unit
                ? `${item.column} (${column.unit}${column.origin ? ` since ${column.origin}` : ''})`
                : item.column
            }
          )
        });
      }
      continue;
    }
    const source = Private.codesOf(result, item);
    if (source) {
      out.push({
        label,
        spec: categoryMixSpec(
          chartShares(source.codes, source.names, weights, item.value),
          `${item.column}: region vs all data`,
          theme,
          width
        )
      });
    }
  }
  return out;
}

namespace Private {
  /** The codes and names a categorical explanation was computed on. */
  export function codesOf(
    result: IAuditResult,
    item: IExplanation
  ): { codes: ArrayLike<number>; names: string[] } | null {
    const className = (c: number) => result.labelNames?.[c] ?? String(c);
    const classNames = (codes: Int32Array) => {
      let max = -1;
      for (let i = 0; i < codes.length; i++) {
        max = Math.max(max, codes[i]);
      }
      return Array.from({ length: max + 1 }, (_, c) => className(c));
    };
    if (item.kind === 'confusion' && result.labels && result.predictions) {
      return confusionCodes(result.labels, result.predictions, className);
    }
    if (item.column === 'label' && result.labels) {
      return { codes: result.labels, names: classNames(result.labels) };
    }
    if (item.column === 'prediction' && result.predictions) {
      return {
        codes: result.predictions,
        names: classNames(result.predictions)
      };
    }
    const column = result.metadataTable?.columns.find(
      c => c.name === item.column
    );
    return column?.categories
      ? { codes: column.values, names: column.categories }
      : null;
  }

  /** What the regions were compared on, in words. */
  export function sourcesText(result: IAuditResult): string {
    const parts: string[] = [];
    if (result.labels) {
      parts.push('labels');
    }
    if (result.predictions) {
      parts.push('predictions');
    }
    if (result.labels && result.predictions) {
      parts.push('confusions');
    }
    const table = result.metadataTable;
    if (table?.columns.length) {
      parts.push(
        `${table.columns.length} metadata column${table.columns.length === 1 ? '' : 's'} of '${table.name}'`
      );
    }
    return parts.join(', ');
  }
}
