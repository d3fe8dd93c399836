/**
 * The selected region in the main area: its statistics, Vega-Lite charts and
 * examples ranked by kernel weight. A thin view over {@link SpotlightModel}.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { regionCount, regionNumber, SpotlightModel } from '../model';
import {
  categoryMixSpec,
  historySpec,
  lossDistributionSpec,
  modelLossSpec,
  nullDistributionSpec,
  regionMapSpec,
  VegaLiteSpec
} from '../summaries/specs';
import { ChartGroup, readChartTheme } from './charts';
import { ExplanationView } from './explanation';
import { Gallery } from './gallery';

/**
 * The region detail widget.
 */
export class RegionDetail extends Widget {
  /**
   * @param options - The model (borrowed), translations and the theme query.
   */
  constructor(options: RegionDetail.IOptions) {
    super();
    this.id = 'jupyterlab-spotlight-region';
    this.addClass('jp-SpotlightPanel-detail');
    this.title.closable = true;
    this._model = options.model;
    this._trans = options.trans;
    this._isDark = options.isDark ?? (() => false);
    this._heading = document.createElement('h2');
    this._facts = document.createElement('p');
    this._facts.className = 'jp-SpotlightDetail-facts';
    const explanationTitle = document.createElement('h3');
    explanationTitle.textContent = this._trans.__('What sets it apart');
    const explanationHost = document.createElement('div');
    this._explanation = new ExplanationView(explanationHost, this._trans);
    const chartHost = document.createElement('div');
    chartHost.className = 'jp-SpotlightPanel-charts';
    const galleryTitle = document.createElement('h3');
    galleryTitle.textContent = this._trans.__('Examples, heaviest first');
    const galleryHost = document.createElement('div');
    galleryHost.className = 'jp-SpotlightGallery';
    this.node.append(
      this._heading,
      this._facts,
      explanationTitle,
      explanationHost,
      chartHost,
      galleryTitle,
      galleryHost
    );
    this._charts = new ChartGroup(chartHost);
    this._gallery = new Gallery(galleryHost, this._trans, 48);
    this._model.changed.connect(this._onModelChanged, this);
    this._render();
  }

  /** Dispose the widget (the model is borrowed and stays). */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._onModelChanged, this);
    this._charts.dispose();
    this._explanation.dispose();
    this._gallery.dispose();
    super.dispose();
  }

  /** Re-render the charts, e.g. after a theme change. */
  refreshCharts(): void {
    void this._renderCharts();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    if (this._width !== this.node.clientWidth && this.isVisible) {
      this._width = this.node.clientWidth;
      void this._renderCharts();
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._renderCharts();
  }

  private _onModelChanged(
    _: SpotlightModel,
    change: SpotlightModel.Change
  ): void {
    if (change === 'region' || change === 'result' || change === 'notebook') {
      this._render();
    }
  }

  private _render(): void {
    const m = this._model;
    const result = m.result;
    const j = m.selectedRegion;
    const trans = this._trans;
    if (!result || j < 0) {
      this.title.label = trans.__('Spotlight region');
      this._heading.textContent = trans.__('No region selected');
      this._facts.textContent = trans.__(
        'Run an audit in the Spotlight panel and click a region.'
      );
      this._charts.clear();
      this._explanation.clear();
      this._gallery.dispose();
      return;
    }
    const r = result.regions[j];
    const number = regionNumber(result, j);
    this.title.label = trans.__('Spotlight region %1', number);
    this._heading.textContent = r.name
      ? trans.__('Region %1 of %2: %3', number, regionCount(result), r.name)
      : trans.__('Region %1 of %2', number, regionCount(result));
    const facts = [
      trans.__(
        'Weighted mean loss %1 vs %2 overall (%3×)',
        r.weightedLossOriginal.toFixed(3),
        r.overallLoss.toFixed(3),
        r.lift.toFixed(2)
      ),
      trans.__(
        'total weight K %1, support %2 of %3 examples',
        r.totalWeight.toFixed(1),
        r.supportSize.toLocaleString('en-US'),
        result.n.toLocaleString('en-US')
      )
    ];
    if (r.accuracy !== null && r.overallAccuracy !== null) {
      facts.push(
        trans.__(
          'accuracy %1 vs %2 overall',
          `${(r.accuracy * 100).toFixed(1)}%`,
          `${(r.overallAccuracy * 100).toFixed(1)}%`
        )
      );
    }
    const c = r.comparison;
    if (c) {
      facts.splice(
        0,
        1,
        trans.__(
          result.options.direction === 'improvement'
            ? 'where model B is better than A: model B loss %1 vs model A %2 in this region (overall %3 vs %4)'
            : 'where model B is worse than A: model B loss %1 vs model A %2 in this region (overall %3 vs %4)',
          r.weightedLossOriginal.toFixed(3),
          c.weightedLossReference.toFixed(3),
          r.overallLoss.toFixed(3),
          c.overallLossReference.toFixed(3)
        )
      );
      if (c.accuracyReference !== null && c.overallAccuracyReference !== null) {
        facts.push(
          trans.__(
            'model A accuracy %1 vs %2 overall',
            `${(c.accuracyReference * 100).toFixed(1)}%`,
            `${(c.overallAccuracyReference * 100).toFixed(1)}%`
          )
        );
      }
      if (c.disagreement !== null) {
        facts.push(
          trans.__(
            'the models disagree on %1% of it',
            (c.disagreement * 100).toFixed(0)
          )
        );
      }
    }
    this._facts.textContent = facts.join(' · ');
    if (this.isVisible) {
      void this._renderCharts();
    }
    if (m.bridge) {
      this._gallery.show({
        bridge: m.bridge,
        examples: result.names.examples,
        weights: result.search.spotlights[j].kernelWeights,
        losses: result.losses,
        labels: result.labels,
        predictions: result.predictions,
        labelNames: result.labelNames,
        referenceLosses: result.referenceLosses,
        referencePredictions: result.referencePredictions
      });
    }
  }

  private async _renderCharts(): Promise<void> {
    const m = this._model;
    const result = m.result;
    const j = m.selectedRegion;
    if (!result || j < 0) {
      return;
    }
    const trans = this._trans;
    const theme = readChartTheme(this._isDark());
    const spotlight = result.search.spotlights[j];
    const region = result.regions[j];
    // Fit the sidebar: the plot area is the host's width less axes and legend.
    const width = Math.max(
      160,
      Math.min(460, this._charts.host.clientWidth / 2 - 100)
    );
    void this._explanation.render(result, j, { theme, width });
    const specs: { label: string; spec: VegaLiteSpec }[] = [
      {
        label: trans.__('Loss distribution'),
        spec: lossDistributionSpec(
          result.losses,
          spotlight.kernelWeights,
          theme,
          { width }
        )
      }
    ];
    const pValue = region.pValue;
    if (result.significance && pValue !== null && pValue !== undefined) {
      specs.push({
        label: trans.__('Significance'),
        spec: nullDistributionSpec(
          result.significance.nulls,
          spotlight.weightedLoss,
          pValue,
          theme,
          {
            width,
            axisTitle: result.referenceLosses
              ? trans.__('best weighted loss difference under the null')
              : undefined
          }
        )
      });
    }
    if (result.referenceLosses) {
      specs.push({
        label: trans.__('Both models'),
        spec: modelLossSpec(
          result.losses,
          result.referenceLosses,
          spotlight.kernelWeights,
          theme,
          { width }
        )
      });
    }
    if (region.labels.length) {
      specs.push({
        label: trans.__('Labels'),
        spec: categoryMixSpec(
          region.labels,
          trans.__('Labels: region vs all data'),
          theme,
          width
        )
      });
    }
    if (region.predictions.length) {
      specs.push({
        label: trans.__('Predictions'),
        spec: categoryMixSpec(
          region.predictions,
          trans.__('Predictions: region vs all data'),
          theme,
          width
        )
      });
    }
    if (region.metadata.length) {
      specs.push({
        label: trans.__('Metadata'),
        spec: categoryMixSpec(
          region.metadata,
          trans.__('Metadata: most over-represented values'),
          theme,
          width
        )
      });
    }
    specs.push({
      label: trans.__('Embedding map'),
      spec: regionMapSpec(
        result.map.map(p => ({
          ...p,
          weight: spotlight.kernelWeights[p.index]
        })),
        theme,
        width
      )
    });
    specs.push({
      label: trans.__('Search history'),
      spec: historySpec(
        spotlight.history.objective,
        spotlight.history.totalWeight,
        theme,
        { width }
      )
    });
    await this._charts.render(specs);
  }

  private _model: SpotlightModel;
  private _trans: TranslationBundle;
  private _isDark: () => boolean;
  private _heading: HTMLElement;
  private _facts: HTMLElement;
  private _charts: ChartGroup;
  private _explanation: ExplanationView;
  private _gallery: Gallery;
  private _width = -1;
}

/** The RegionDetail's namespace. */
export namespace RegionDetail {
  /** Options to create the widget. */
  export interface IOptions {
    /** The panel's model (borrowed, not disposed). */
    model: SpotlightModel;
    /** Translations. */
    trans: TranslationBundle;
    /** Whether the current theme is dark. */
    isDark?: () => boolean;
  }
}
