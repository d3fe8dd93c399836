/**
 * The overview map: every example of the audit drawn with regl-scatterplot
 * (WebGL) at its 2-D projection, coloured by loss (or another column), the
 * selected region highlighted by its kernel weights, each region's number at
 * its centre. Hover shows an example; click selects it and lists its
 * regions; the lasso (button or Shift + drag) selects a group, which can
 * become a manual region or a variable in the kernel.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { isAbortError } from '../kernel/errors';
import { regionNumber } from '../model';
import type { IAuditResult, SpotlightModel } from '../model';
import {
  ColorBy,
  colorChoices,
  encodeColor,
  highlightValues,
  IColorEncoding,
  regionCentre,
  regionsOf
} from '../summaries/mapEncoding';
import { orderExamples } from '../summaries/examples';
import {
  computeMapLayout,
  IMapLayout,
  MapMethod
} from '../summaries/projection';
import { drawImage } from './gallery';

/** Categorical colours (Tableau 10), repeated past ten categories. */
const CATEGORICAL = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac'
];

/** Sequential colours for loss (viridis, low → high). */
const SEQUENTIAL = [
  '#440154',
  '#482878',
  '#3e4989',
  '#31688e',
  '#26828e',
  '#1f9e89',
  '#35b779',
  '#6ece58',
  '#b5de2b',
  '#fde725'
];

/** Diverging colours for a loss difference (B better → B worse). */
/**
 * The dark theme's sequential ramp: viridis from its first quarter, so that
 * the many low-loss points are not dark purple on a near-black background.
 */
const SEQUENTIAL_DARK = [
  '#3e4989',
  '#35608d',
  '#2a788e',
  '#21918c',
  '#22a884',
  '#44bf70',
  '#7ad151',
  '#a5db36',
  '#d2e21b',
  '#fde725'
];

const DIVERGING = [
  '#2166ac',
  '#4393c3',
  '#92c5de',
  '#d1e5f0',
  '#d9d9d9',
  '#fddbc7',
  '#f4a582',
  '#d6604d',
  '#b2182b'
];

/** Opacity by highlight level; level 0 is the invisible region anchors. */
const OPACITY = [0, 0.5, 0.55, 0.6, 0.66, 0.72, 0.78, 0.85, 0.92, 1];

/** Layouts computed on the page, by embeddings array. */
const layouts = new WeakMap<Float32Array, Promise<IMapLayout>>();

/**
 * The map's layout for an audit: the one the pipeline computed with the
 * summaries (in the audit worker, where the embeddings are), else computed
 * here once per embeddings array.
 *
 * @param result - The audit.
 * @returns The layout of its N examples.
 * @throws {Error} when the result has neither a layout nor embeddings.
 */
export function layoutOf(result: IAuditResult): Promise<IMapLayout> {
  if (result.mapLayout) {
    return Promise.resolve(result.mapLayout);
  }
  const embeddings = result.embeddings;
  if (!embeddings) {
    return Promise.reject(
      new Error(
        'this result carries no map layout and the page holds no embeddings: run the audit again.'
      )
    );
  }
  let layout = layouts.get(embeddings);
  if (!layout) {
    layout = computeMapLayout({ embeddings, n: result.n, d: result.d });
    layouts.set(embeddings, layout);
  }
  return layout;
}

/**
 * The overview map widget.
 */
export class OverviewMap extends Widget {
  /**
   * @param options - The model (borrowed), translations, the theme query.
   */
  constructor(options: OverviewMap.IOptions) {
    super();
    this.addClass('jp-SpotlightMap');
    this._model = options.model;
    this._trans = options.trans;
    this._isDark = options.isDark ?? (() => false);
    const trans = this._trans;

    const toolbar = el('div', 'jp-SpotlightMap-toolbar');
    const colorLabel = el('label', 'jp-SpotlightMap-colorLabel');
    colorLabel.textContent = trans.__('Colour by');
    this._colorSelect = document.createElement('select');
    this._colorSelect.className = 'jp-mod-styled jp-SpotlightMap-color';
    this._colorSelect.addEventListener('change', () => {
      this._colorBy = this._colorSelect.value as ColorBy;
      void this._draw();
    });
    colorLabel.appendChild(this._colorSelect);
    const layoutLabel = el('label', 'jp-SpotlightMap-layoutLabel');
    layoutLabel.textContent = trans.__('Layout');
    layoutLabel.title = trans.__(
      'How the examples are placed: PCA (their first two principal components, the default) or UMAP (umap-js on a sample of 2,000 rows, every other row placed from its nearest sampled neighbours; keeps clusters apart, distances between them mean little)'
    );
    this._layoutSelect = document.createElement('select');
    this._layoutSelect.className = 'jp-mod-styled jp-SpotlightMap-layout';
    for (const [value, text] of [
      ['pca', trans.__('PCA')],
      ['umap', trans.__('UMAP')]
    ]) {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = text;
      this._layoutSelect.appendChild(o);
    }
    this._layoutSelect.addEventListener('change', () => {
      void this._model.setMapMethod(this._layoutSelect.value as MapMethod);
    });
    layoutLabel.appendChild(this._layoutSelect);
    this._layoutStatus = el('span', 'jp-SpotlightMap-layoutStatus');
    this._layoutStatus.setAttribute('aria-live', 'polite');
    this._lassoButton = button(
      trans.__('Lasso'),
      trans.__(
        'Draw around examples to select them (or hold Shift and drag on the map)'
      ),
      () => this.setLasso(!this._lasso)
    );
    this._lassoButton.classList.add('jp-SpotlightMap-lasso');
    this._lassoButton.setAttribute('aria-pressed', 'false');
    this._makeButton = button(
      trans.__('Make a region'),
      trans.__(
        'Make the selected examples a manual region, with a card, charts and Save to notebook'
      ),
      () => this._makeRegion()
    );
    this._makeButton.classList.add('jp-SpotlightMap-make');
    this._sendButton = button(
      trans.__('Send to kernel'),
      trans.__(
        'Bind the selected rows in the kernel as a numpy int32 index array'
      ),
      () => void this._send()
    );
    this._sendButton.classList.add('jp-SpotlightMap-send');
    this._selectionInfo = el('span', 'jp-SpotlightMap-selection');
    this._selectionInfo.setAttribute('aria-live', 'polite');
    toolbar.append(
      colorLabel,
      layoutLabel,
      this._layoutStatus,
      this._lassoButton,
      this._selectionInfo,
      this._makeButton,
      this._sendButton
    );

    this._stage = el('div', 'jp-SpotlightMap-stage');
    this._stage.tabIndex = 0;
    this._stage.setAttribute('role', 'application');
    this._stage.setAttribute(
      'aria-label',
      trans.__(
        'Overview map of all examples. Drag to pan, scroll to zoom, Shift + drag to lasso. Keys: arrows step through the selected region’s examples, Enter makes the selection a region, Escape clears it.'
      )
    );
    this._stage.addEventListener('keydown', event => this._onKey(event));
    this._canvas = document.createElement('canvas');
    this._canvas.className = 'jp-SpotlightMap-canvas';
    this._labels = el('div', 'jp-SpotlightMap-labels');
    this._tooltip = el('div', 'jp-SpotlightMap-tooltip');
    this._tooltip.hidden = true;
    this._status = el('div', 'jp-SpotlightMap-status');
    this._stage.append(this._canvas, this._labels, this._tooltip, this._status);

    this._legend = el('div', 'jp-SpotlightMap-legend');
    this._info = el('div', 'jp-SpotlightMap-info');
    this._info.setAttribute('aria-live', 'polite');
    this.node.append(toolbar, this._stage, this._legend, this._info);

    this._model.changed.connect(this._onModelChanged, this);
    this._renderSelection();
    this._renderMapState();
  }

  /** The indices selected on the map (a lasso or a click), sorted. */
  get selection(): readonly number[] {
    return this._selected;
  }

  /** The map's layout once computed, or null. */
  get mapLayout(): IMapLayout | null {
    return this._mapLayoutValue;
  }

  /** Whether the map has drawn its points. */
  get isDrawn(): boolean {
    return this._drawn;
  }

  /**
   * The examples drawn brightest: the k highest highlight values of the
   * points last drawn (the selected region's heaviest kernel weights).
   *
   * @param k - How many.
   * @returns Rows, brightest first (ties by row).
   */
  highlightedIndices(k: number): number[] {
    const points = this._lastPoints;
    const n = this._result?.n ?? 0;
    if (!points) {
      return [];
    }
    const rows = Array.from({ length: n }, (_, i) => i);
    const b = points.valueB;
    return rows.sort((p, q) => b[q] - b[p] || p - q).slice(0, k);
  }

  /**
   * Where an example is drawn, in pixels from the map's top-left corner.
   *
   * @param index - The example's row.
   * @returns [x, y], or null before the points are drawn.
   */
  screenPosition(index: number): [number, number] | null {
    if (!this._plot || !this._drawn) {
      return null;
    }
    return this._plot.getScreenPosition(index) ?? null;
  }

  /**
   * Turn the lasso mode on or off (off: drag pans).
   *
   * @param on - Lasso on.
   */
  setLasso(on: boolean): void {
    this._lasso = on;
    this._lassoButton.setAttribute('aria-pressed', String(on));
    this._lassoButton.classList.toggle('jp-mod-active', on);
    // While lassoing, labels let the drag through to the points.
    this.node.classList.toggle('jp-mod-lasso', on);
    this._plot?.set({ mouseMode: on ? 'lasso' : 'panZoom' });
  }

  /**
   * Select examples on the map, as a lasso would.
   *
   * @param indices - Rows to select.
   */
  select(indices: number[]): void {
    this._plot?.select(indices, { preventEvent: true });
    this._setSelection(indices);
  }

  /** Re-read the theme's colours. */
  refreshTheme(): void {
    if (this._plot) {
      this._plot.set({
        ...this._themeProperties(),
        ...(this._encoding ? this._encodingProperties(this._encoding) : {})
      });
      if (this._encoding) {
        this._renderLegend(this._encoding);
      }
    }
  }

  /** Dispose the widget and its WebGL context. */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._onModelChanged, this);
    this._exampleAbort?.abort();
    this._observer?.disconnect();
    this._plot?.destroy();
    this._plot = null;
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    void this._draw();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._resize();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._resize();
  }

  private _resize(): void {
    if (!this._plot || !this.isVisible) {
      return;
    }
    const { width, height } = this._stage.getBoundingClientRect();
    if (width > 0 && height > 0) {
      this._plot.set({ width, height });
      this._placeLabels();
    }
  }

  private _onModelChanged(_: SpotlightModel, change: string): void {
    if (change === 'result' || change === 'notebook') {
      if (this._model.result !== this._result) {
        void this._draw();
      }
    } else if (change === 'region') {
      void this._highlight();
    } else if (change === 'map') {
      this._renderMapState();
      const result = this._model.result;
      if (
        result &&
        result === this._result &&
        this._mapLayoutValue &&
        this._model.mapLayoutOf(result) !== this._mapLayoutValue
      ) {
        void this._draw();
      }
    }
  }

  /** Show the chosen projection, UMAP's progress or its failure. */
  private _renderMapState(): void {
    const state = this._model.mapState;
    const trans = this._trans;
    this._layoutSelect.value = state.method;
    this.node.dataset.layout = this._mapLayoutValue?.method ?? '';
    this._layoutStatus.classList.toggle(
      'jp-mod-error',
      state.state === 'failed'
    );
    if (state.state === 'computing') {
      this._layoutStatus.textContent = trans.__(
        'UMAP %1 %…',
        Math.round(100 * state.fraction)
      );
      this._layoutStatus.title = trans.__(
        'Computing the UMAP layout in the audit worker: %1',
        state.stage
      );
    } else if (state.state === 'failed') {
      this._layoutStatus.textContent = trans.__('UMAP failed');
      this._layoutStatus.title = state.error ?? '';
      this._info.textContent = state.error ?? '';
    } else {
      this._layoutStatus.textContent = '';
      this._layoutStatus.title = '';
    }
  }

  /** Draw (or redraw) all points for the model's result. */
  private async _draw(): Promise<void> {
    const result = this._model.result;
    const trans = this._trans;
    const generation = ++this._generation;
    if (!result) {
      this._result = null;
      this._drawn = false;
      this._plot?.clear();
      this._labels.replaceChildren();
      this._legend.replaceChildren();
      this._status.textContent = trans.__(
        'Run an audit in the Spotlight panel: every example will be drawn here.'
      );
      return;
    }
    const sameData =
      !!this._result && this._result.fingerprint === result.fingerprint;
    this._result = result;
    if (!sameData) {
      this._setSelection([]);
    }
    this._status.textContent = trans.__(
      'Projecting %1 examples…',
      result.n.toLocaleString('en-US')
    );
    let layout: IMapLayout;
    try {
      layout = this._model.mapLayoutOf(result) ?? (await layoutOf(result));
    } catch (reason) {
      if (!isAbortError(reason)) {
        console.error('Spotlight: the map layout failed', reason);
        this._status.textContent = trans.__(
          'The map could not be laid out: %1',
          (reason as Error).message
        );
      }
      return;
    }
    if (generation !== this._generation || this.isDisposed) {
      return;
    }
    this._mapLayoutValue = layout;
    const choices = colorChoices(result);
    if (!choices.includes(this._colorBy)) {
      this._colorBy = choices[0];
    }
    this._colorSelect.replaceChildren(
      ...choices.map(c => {
        const o = document.createElement('option');
        o.value = c;
        o.textContent = Private.colorLabel(c, trans);
        o.selected = c === this._colorBy;
        return o;
      })
    );
    let plot: Private.IScatterplot;
    try {
      plot = await this._ensurePlot();
    } catch (reason) {
      console.error('Spotlight: WebGL map failed', reason);
      this._status.textContent = trans.__(
        'The map needs WebGL, which failed here: %1',
        (reason as Error).message
      );
      return;
    }
    if (generation !== this._generation || this.isDisposed) {
      return;
    }
    this._encoding = encodeColor(result, this._colorBy);
    const points = this._points(result, layout, this._encoding);
    this._plot!.set({
      ...this._encodingProperties(this._encoding),
      pointSize: Private.pointSize(result.n)
    });
    await plot.draw(points, {
      zDataType: this._encoding.kind,
      wDataType: 'continuous'
    });
    if (generation !== this._generation || this.isDisposed) {
      return;
    }
    this._drawn = true;
    const newLayout = this._zoomedLayout !== layout;
    this._zoomedLayout = layout;
    this.node.dataset.layout = layout.method;
    if (!sameData || newLayout) {
      // Fit the whole map in the pane (a tall pane would crop its sides).
      await plot.zoomToArea({ x: -1, y: -1, width: 2, height: 2 });
    }
    this._status.textContent = '';
    this.node.dataset.points = String(result.n);
    if (this._selected.length) {
      plot.select(this._selected, { preventEvent: true });
    }
    this._renderLegend(this._encoding);
    this._renderLabels();
  }

  /** Redraw the highlight of the selected region (same points). */
  private async _highlight(): Promise<void> {
    const result = this._model.result;
    if (!this._plot || !this._mapLayoutValue || !this._encoding || !result) {
      return;
    }
    if (result !== this._result) {
      return this._draw();
    }
    const points = this._points(result, this._mapLayoutValue, this._encoding);
    await this._plot.draw(points, {
      zDataType: this._encoding.kind,
      wDataType: 'continuous',
      preventFilterReset: true
    });
    if (this._selected.length) {
      this._plot.select(this._selected, { preventEvent: true });
    }
    this._renderLabels();
  }

  /**
   * The points: N examples then one invisible anchor per region at its
   * centre (for its label's screen position).
   */
  private _points(
    result: IAuditResult,
    layout: IMapLayout,
    encoding: IColorEncoding
  ): Private.IPoints {
    const n = result.n;
    const j = this._model.selectedRegion;
    const weights =
      j >= 0 && j < result.search.spotlights.length
        ? result.search.spotlights[j].kernelWeights
        : null;
    const highlight = highlightValues(weights, n);
    const regions = result.search.spotlights.length;
    const total = n + regions;
    const x = new Float32Array(total);
    const y = new Float32Array(total);
    const valueA = new Float32Array(total);
    const valueB = new Float32Array(total);
    for (let i = 0; i < n; i++) {
      x[i] = layout.xy[2 * i];
      y[i] = layout.xy[2 * i + 1];
      valueA[i] = encoding.values[i];
      // Levels 1 … 9 of OPACITY: never the anchors' invisible level 0.
      valueB[i] = 0.12 + 0.88 * highlight[i];
    }
    this._centres = result.search.spotlights.map(s =>
      regionCentre(layout.xy, s.kernelWeights)
    );
    this._centres.forEach((c, r) => {
      x[n + r] = c?.[0] ?? 0;
      y[n + r] = c?.[1] ?? 0;
      valueA[n + r] = 0;
      valueB[n + r] = 0;
    });
    this._lastPoints = { x, y, valueA, valueB };
    return this._lastPoints;
  }

  private async _ensurePlot(): Promise<Private.IScatterplot> {
    if (this._plot) {
      return this._plot;
    }
    const { default: createScatterplot } = await import('regl-scatterplot');
    const { width, height } = this._stage.getBoundingClientRect();
    const plot = createScatterplot({
      canvas: this._canvas,
      width: Math.max(1, width),
      height: Math.max(1, height),
      pointSize: Private.pointSize(this._result?.n ?? 0),
      pointSizeSelected: 2,
      lassoMinDelay: 0,
      lassoMinDist: 2,
      opacityBy: 'valueB',
      opacity: OPACITY,
      colorBy: 'valueA',
      ...this._themeProperties()
    }) as unknown as Private.IScatterplot;
    plot.subscribe('pointOver', (i: number) => this._onPointOver(i));
    plot.subscribe('pointOut', () => this._hideTooltip());
    plot.subscribe('select', ({ points }: { points: number[] }) =>
      this._setSelection(Array.from(points))
    );
    plot.subscribe('deselect', () => this._setSelection([]));
    plot.subscribe('view', () => this._placeLabels());
    this._plot = plot;
    this.setLasso(this._lasso);
    // The canvas follows its pane (split handles, sidebars, the window).
    this._observer = new ResizeObserver(() => this._resize());
    this._observer.observe(this._stage);
    return plot;
  }

  private _themeProperties(): Record<string, unknown> {
    const style = getComputedStyle(document.body);
    // regl-scatterplot reads hex and rgb(a) only: normalise named colours.
    const context = document.createElement('canvas').getContext('2d');
    const v = (name: string, fallback: string) => {
      const value = style.getPropertyValue(name).trim() || fallback;
      if (!context) {
        return fallback;
      }
      context.fillStyle = fallback;
      context.fillStyle = value;
      return String(context.fillStyle);
    };
    const dark = this._isDark();
    return {
      backgroundColor: v('--jp-layout-color0', dark ? '#111111' : '#ffffff'),
      lassoColor: v('--jp-brand-color1', '#1976d2'),
      pointColorActive: v('--jp-warn-color0', '#d84315'),
      pointColorHover: dark ? '#ffffff' : '#000000',
      pointOutlineWidth: 1
    };
  }

  private _encodingProperties(
    encoding: IColorEncoding
  ): Record<string, unknown> {
    if (encoding.kind === 'categorical') {
      const count = encoding.categories.length;
      return {
        pointColor: Array.from(
          { length: Math.max(1, count) },
          (_, c) => CATEGORICAL[c % CATEGORICAL.length]
        )
      };
    }
    return {
      pointColor: encoding.by === 'difference' ? DIVERGING : this._sequential()
    };
  }

  /** The sequential ramp for the theme. */
  private _sequential(): string[] {
    return this._isDark() ? SEQUENTIAL_DARK : SEQUENTIAL;
  }

  private _renderLegend(encoding: IColorEncoding): void {
    const trans = this._trans;
    const legend = this._legend;
    legend.replaceChildren();
    legend.setAttribute('aria-label', trans.__('Colour legend'));
    if (encoding.kind === 'categorical') {
      for (const [c, name] of encoding.categories.entries()) {
        const item = el('span', 'jp-SpotlightMap-legendItem');
        const swatch = el('span', 'jp-SpotlightMap-swatch');
        swatch.style.background = CATEGORICAL[c % CATEGORICAL.length];
        item.append(swatch, document.createTextNode(name));
        legend.appendChild(item);
      }
      return;
    }
    const colours =
      encoding.by === 'difference' ? DIVERGING : this._sequential();
    const low = el('span');
    const high = el('span');
    const bar = el('span', 'jp-SpotlightMap-gradient');
    bar.style.background = `linear-gradient(to right, ${colours.join(', ')})`;
    if (encoding.by === 'difference') {
      low.textContent = trans.__(
        'B better by %1',
        Math.abs(encoding.domain[0]).toPrecision(3)
      );
      high.textContent = trans.__(
        'B worse by ≥ %1',
        encoding.domain[1].toPrecision(3)
      );
    } else {
      low.textContent = trans.__('loss 0');
      high.textContent = trans.__(
        '≥ %1 (99th percentile)',
        encoding.domain[1].toPrecision(3)
      );
    }
    legend.append(low, bar, high);
    const note = el('span', 'jp-SpotlightMap-legendNote');
    note.textContent =
      this._model.selectedRegion >= 0
        ? trans.__(
            'Brighter points: heavier kernel weight in the selected region.'
          )
        : '';
    legend.appendChild(note);
  }

  /** One label per region, at its centre; the selected one stands out. */
  private _renderLabels(): void {
    const result = this._result;
    this._labels.replaceChildren();
    if (!result) {
      return;
    }
    const selected = this._model.selectedRegion;
    result.regions.forEach((r, j) => {
      if (!this._centres[j]) {
        return;
      }
      const label = el('button', 'jp-SpotlightMap-label');
      const number = regionNumber(result, j);
      label.textContent = r.name
        ? `${number} · ${r.name}`
        : this._trans.__('Region %1', number);
      label.dataset.region = String(j);
      label.title = this._trans.__(
        'Region %1: %2× the mean loss, %3 examples. Click to select it.',
        number,
        r.lift.toFixed(2),
        r.supportSize.toLocaleString('en-US')
      );
      label.classList.toggle('jp-mod-selected', j === selected);
      label.addEventListener('click', () => this._model.selectRegion(j));
      this._labels.appendChild(label);
    });
    this._placeLabels();
    if (this._encoding) {
      this._renderLegend(this._encoding);
    }
  }

  private _placeLabels(): void {
    const plot = this._plot;
    const result = this._result;
    if (!plot || !result || !this._drawn) {
      return;
    }
    for (const label of Array.from(this._labels.children) as HTMLElement[]) {
      const j = Number(label.dataset.region);
      let position: [number, number] | undefined;
      try {
        position = plot.getScreenPosition(result.n + j);
      } catch {
        position = undefined;
      }
      if (!position) {
        label.hidden = true;
        continue;
      }
      label.hidden = false;
      label.style.left = `${position[0]}px`;
      label.style.top = `${position[1]}px`;
    }
    this._separateLabels();
  }

  /**
   * Move labels that would overlap: the selected region's label stays at
   * its centre, the others (in region order) step down or up by their
   * height until they are clear of the labels placed before them.
   */
  private _separateLabels(): void {
    const labels = (Array.from(this._labels.children) as HTMLElement[]).filter(
      l => !l.hidden
    );
    labels.sort(
      (a, b) =>
        Number(b.classList.contains('jp-mod-selected')) -
          Number(a.classList.contains('jp-mod-selected')) ||
        Number(a.dataset.region) - Number(b.dataset.region)
    );
    const placed: { x: number; y: number; w: number; h: number }[] = [];
    const gap = 2;
    for (const label of labels) {
      const w = label.offsetWidth;
      const h = label.offsetHeight;
      const x = parseFloat(label.style.left);
      const y0 = parseFloat(label.style.top);
      const clear = (y: number) =>
        placed.every(
          p =>
            Math.abs(p.x - x) * 2 >= p.w + w + gap ||
            Math.abs(p.y - y) * 2 >= p.h + h + gap
        );
      let y = y0;
      for (let step = 1; step <= 12 && !clear(y); step++) {
        // 1 down, 1 up, 2 down, 2 up, …
        y = y0 + Math.ceil(step / 2) * (h + gap) * (step % 2 ? 1 : -1);
      }
      label.style.top = `${y}px`;
      placed.push({ x, y, w, h });
    }
  }

  private _onPointOver(i: number): void {
    const result = this._result;
    if (!result || i >= result.n) {
      return;
    }
    this._tooltip.hidden = false;
    this._tooltip.replaceChildren();
    const caption = el('div', 'jp-SpotlightMap-tooltipText');
    caption.textContent = Private.describe(result, i, this._trans);
    const body = el('div', 'jp-SpotlightMap-tooltipBody');
    this._tooltip.append(body, caption);
    const position = this._plot?.getScreenPosition(i);
    if (position) {
      const { width } = this._stage.getBoundingClientRect();
      this._tooltip.style.left = `${Math.min(position[0] + 12, width - 220)}px`;
      this._tooltip.style.top = `${position[1] + 12}px`;
    }
    this.node.dataset.hovered = String(i);
    void this._fetchExample(i, body);
  }

  private _hideTooltip(): void {
    this._tooltip.hidden = true;
    delete this.node.dataset.hovered;
  }

  private async _fetchExample(i: number, body: HTMLElement): Promise<void> {
    const result = this._result;
    const bridge = this._model.bridge;
    if (!result?.names.examples || !bridge) {
      return;
    }
    this._exampleAbort?.abort();
    const abort = new AbortController();
    this._exampleAbort = abort;
    // Wait a moment: moving across points should not fetch each one.
    await new Promise(resolve => setTimeout(resolve, 150));
    if (abort.signal.aborted) {
      return;
    }
    try {
      const examples = await bridge.examples(
        result.names.examples,
        [i],
        abort.signal
      );
      if (abort.signal.aborted) {
        return;
      }
      if (examples.kind === 'image') {
        const canvas = document.createElement('canvas');
        canvas.className = 'jp-SpotlightMap-thumbnail';
        drawImage(examples.pixels, examples.shape, 0, canvas);
        body.replaceChildren(canvas);
      } else if (examples.kind === 'table') {
        body.textContent = examples.columns
          .map((c, k) => `${c}: ${String(examples.items[0]?.[k] ?? '—')}`)
          .join(' · ');
      } else {
        body.textContent = String(examples.items[0] ?? '');
      }
    } catch (reason) {
      if (!isAbortError(reason)) {
        console.error('Spotlight: fetching an example failed', reason);
        body.textContent = this._trans.__(
          'Could not load the example: %1',
          (reason as Error).message
        );
      }
    }
  }

  private _setSelection(points: number[]): void {
    const n = this._result?.n ?? 0;
    // The regions' anchors are not examples.
    this._selected = points.filter(i => i < n).sort((a, b) => a - b);
    this._renderSelection();
  }

  private _renderSelection(): void {
    const trans = this._trans;
    const count = this._selected.length;
    this._makeButton.disabled = count === 0;
    this._sendButton.disabled = count === 0 || !this._model.bridge;
    // Selection actions only when there is a selection: without one the
    // toolbar fits one line in a narrow pane.
    this._makeButton.hidden = count === 0;
    this._sendButton.hidden = count === 0;
    this._selectionInfo.textContent = count
      ? trans.__('%1 selected', count.toLocaleString('en-US'))
      : '';
    this.node.dataset.selected = String(count);
    const result = this._result;
    this._info.replaceChildren();
    if (!result || count !== 1) {
      return;
    }
    const i = this._selected[0];
    const regions = regionsOf(
      result.search.spotlights.map(s => s.kernelWeights),
      i
    );
    const text = el('span');
    text.textContent = `${Private.describe(result, i, trans)} · ${
      regions.length
        ? trans.__('in regions:')
        : trans.__('in no region (kernel weight 0 in each)')
    }`;
    this._info.appendChild(text);
    for (const { region, weight } of regions) {
      const link = button(
        trans.__('%1 (k = %2)', region + 1, weight.toFixed(2)),
        trans.__('Select region %1', region + 1),
        () => this._model.selectRegion(region)
      );
      link.classList.add('jp-SpotlightMap-regionLink');
      this._info.appendChild(link);
    }
  }

  private _makeRegion(): void {
    if (!this._selected.length) {
      return;
    }
    this._commandError(() =>
      this._model.addManualRegion(this._selected.slice())
    );
  }

  private async _send(): Promise<void> {
    const bridge = this._model.bridge;
    if (!bridge || !this._selected.length) {
      return;
    }
    const name = `spotlight_selection`;
    try {
      await bridge.upload(name, Int32Array.from(this._selected), [
        this._selected.length
      ]);
      this._info.textContent = this._trans.__(
        "The %1 selected rows are now '%2' in the kernel (numpy int32 indices).",
        this._selected.length.toLocaleString('en-US'),
        name
      );
    } catch (reason) {
      console.error('Spotlight: sending the selection failed', reason);
      this._info.textContent = this._trans.__(
        'Could not send the selection: %1',
        (reason as Error).message
      );
    }
  }

  private _commandError(action: () => void): void {
    try {
      action();
    } catch (reason) {
      this._info.textContent = (reason as Error).message;
    }
  }

  private _onKey(event: KeyboardEvent): void {
    const result = this._result;
    if (!result || !this._plot) {
      return;
    }
    if (event.key === 'Escape') {
      this._plot.deselect();
      this._setSelection([]);
    } else if (event.key === 'Enter' && this._selected.length > 1) {
      this._makeRegion();
    } else if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      // Step through the selected region's examples, most contributing first.
      const j = Math.max(0, this._model.selectedRegion);
      const spotlight = result.search.spotlights[j];
      if (!spotlight) {
        return;
      }
      const order = orderExamples({
        weights: spotlight.kernelWeights,
        losses: result.losses
      }).slice(0, 1000);
      if (!order.length) {
        return;
      }
      const at =
        this._selected.length === 1 ? order.indexOf(this._selected[0]) : -1;
      const next =
        event.key === 'ArrowRight'
          ? (at + 1) % order.length
          : (at - 1 + order.length) % order.length;
      this.select([order[next]]);
      this._onPointOver(order[next]);
    } else if (event.key === '+' || event.key === '=') {
      this._zoom(0.8);
    } else if (event.key === '-') {
      this._zoom(1.25);
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  private _zoom(factor: number): void {
    const plot = this._plot;
    if (!plot) {
      return;
    }
    const distance = plot.get('cameraDistance') as number;
    plot.set({ cameraDistance: distance * factor });
  }

  private _model: SpotlightModel;
  private _trans: TranslationBundle;
  private _isDark: () => boolean;
  private _colorSelect: HTMLSelectElement;
  private _lassoButton: HTMLButtonElement;
  private _makeButton: HTMLButtonElement;
  private _sendButton: HTMLButtonElement;
  private _selectionInfo: HTMLElement;
  private _stage: HTMLElement;
  private _canvas: HTMLCanvasElement;
  private _labels: HTMLElement;
  private _tooltip: HTMLElement;
  private _status: HTMLElement;
  private _legend: HTMLElement;
  private _info: HTMLElement;
  private _plot: Private.IScatterplot | null = null;
  private _result: IAuditResult | null = null;
  private _mapLayoutValue: IMapLayout | null = null;
  /** The layout the view was last fitted to. */
  private _zoomedLayout: IMapLayout | null = null;
  private _layoutSelect: HTMLSelectElement;
  private _layoutStatus: HTMLElement;
  private _encoding: IColorEncoding | null = null;
  private _centres: ([number, number] | null)[] = [];
  private _lastPoints: Private.IPoints | null = null;
  private _observer: ResizeObserver | null = null;
  private _colorBy: ColorBy = 'loss';
  private _selected: number[] = [];
  private _lasso = false;
  private _drawn = false;
  private _generation = 0;
  private _exampleAbort: AbortController | null = null;
}

/** The OverviewMap's namespace. */
export namespace OverviewMap {
  /** Options to create the map. */
  export interface IOptions {
    /** The panel's model (borrowed). */
    model: SpotlightModel;
    /** Translations. */
    trans: TranslationBundle;
    /** Whether the current theme is dark. */
    isDark?: () => boolean;
  }
}

function el(tag: string, className = ''): HTMLElement {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  return node;
}

function button(
  label: string,
  title: string,
  onClick: () => void
): HTMLButtonElement {
  const b = document.createElement('button');
  b.className = 'jp-Button jp-mod-styled jp-mod-reject jp-SpotlightMap-button';
  b.textContent = label;
  b.title = title;
  b.addEventListener('click', onClick);
  return b;
}

namespace Private {
  /**
   * The drawn size of a point (CSS px): larger when there are few points,
   * so that a small data set is not a faint dust.
   *
   * @param n - Number of examples.
   * @returns 5 up to 5,000 points, 4 up to 50,000, 3 up to 500,000, else 2.
   */
  export function pointSize(n: number): number {
    return n <= 5000 ? 5 : n <= 50000 ? 4 : n <= 500000 ? 3 : 2;
  }

  /** Column-oriented points as regl-scatterplot draws them. */
  export interface IPoints {
    x: Float32Array;
    y: Float32Array;
    valueA: Float32Array;
    valueB: Float32Array;
  }

  /** The part of regl-scatterplot's API the map uses. */
  export interface IScatterplot {
    draw(points: IPoints, options?: Record<string, unknown>): Promise<void>;
    set(properties: Record<string, unknown>): void;
    get(property: string): unknown;
    select(indices: number[], options?: { preventEvent?: boolean }): void;
    deselect(options?: { preventEvent?: boolean }): void;
    clear(): void;
    destroy(): void;
    getScreenPosition(index: number): [number, number] | undefined;
    zoomToArea(
      rect: { x: number; y: number; width: number; height: number },
      options?: Record<string, unknown>
    ): Promise<void>;
    subscribe(event: string, handler: (payload: any) => void): unknown;
  }

  /**
   * The label of a colour choice.
   */
  export function colorLabel(by: ColorBy, trans: TranslationBundle): string {
    switch (by) {
      case 'loss':
        return trans.__('loss');
      case 'difference':
        return trans.__('loss difference (B − A)');
      case 'label':
        return trans.__('label');
      case 'prediction':
        return trans.__('prediction');
      default:
        return trans.__('metadata');
    }
  }

  /**
   * One line about an example: row, loss, label, prediction.
   */
  export function describe(
    result: IAuditResult,
    i: number,
    trans: TranslationBundle
  ): string {
    const name = (code: number) => result.labelNames?.[code] ?? String(code);
    const parts = [
      `#${i}`,
      `${trans.__('loss')} ${result.losses[i].toFixed(3)}`
    ];
    if (result.referenceLosses) {
      parts.push(
        `${trans.__('loss A')} ${result.referenceLosses[i].toFixed(3)}`
      );
    }
    if (result.labels) {
      parts.push(`${trans.__('label')} ${name(result.labels[i])}`);
    }
    if (result.predictions) {
      parts.push(`${trans.__('pred')} ${name(result.predictions[i])}`);
    }
    if (result.metadata) {
      parts.push(
        `${trans.__('metadata')} ${result.metadataNames?.[result.metadata[i]] ?? result.metadata[i]}`
      );
    }
    return parts.join(' · ');
  }
}
