/**
 * A region's examples ranked by weight, one page at a time, fetched from the
 * kernel only for the visible page. Data is shown as text, never as HTML.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IExamples, KernelBridge } from '../kernel/bridge';
import { isAbortError } from '../kernel/errors';
import {
  EXAMPLE_ORDERS,
  ExampleOrder,
  lossShares,
  orderExamples
} from '../summaries/examples';

/** What the gallery needs to show one region's examples. */
export interface IGallerySource {
  /** The bridge to fetch examples through. */
  bridge: KernelBridge;
  /** The examples variable, or null to show indices and numbers only. */
  examples: string | null;
  /** The region's kernel weights, length N. */
  weights: Float32Array;
  /** Original losses, length N. */
  losses: Float32Array;
  /** Label codes, or null. */
  labels: Int32Array | null;
  /** Prediction codes, or null. */
  predictions: Int32Array | null;
  /** Names of label codes, or null. */
  labelNames: string[] | null;
  /** Model A's losses when two models are compared, or null. */
  referenceLosses?: Float32Array | null;
  /** Model A's prediction codes, or null. */
  referencePredictions?: Int32Array | null;
}

/**
 * The order a region's examples are shown in ({@link orderExamples}): by
 * default by contribution k_i·ℓ_i to the region's weighted loss; when both
 * models' predictions are known, the examples where they disagree come
 * first (each group still in that order).
 *
 * @param source - The region and its per-example data.
 * @param order - The order within each group (default `contribution`).
 * @returns Indices of the examples with k > 0.
 */
export function galleryOrder(
  source: IGallerySource,
  order: ExampleOrder = 'contribution'
): number[] {
  const ranked = orderExamples(
    {
      weights: source.weights,
      losses: source.losses,
      labels: source.labels,
      predictions: source.predictions
    },
    order
  );
  const a = source.referencePredictions;
  const b = source.predictions;
  if (!a || !b) {
    return ranked;
  }
  const disagree = ranked.filter(i => a[i] !== b[i]);
  const agree = ranked.filter(i => a[i] === b[i]);
  return [...disagree, ...agree];
}

/**
 * Draw one image of an `image` examples page into a canvas.
 *
 * @param pixels - uint8 pixels of the page, n × H × W × C (C = 1, 3 or 4).
 * @param shape - [n, H, W, C].
 * @param item - Which image of the page.
 * @param canvas - The target; resized to W × H.
 */
export function drawImage(
  pixels: Uint8Array,
  shape: number[],
  item: number,
  canvas: HTMLCanvasElement
): void {
  const [, h, w, c] = shape;
  canvas.width = w;
  canvas.height = h;
  const context = canvas.getContext('2d');
  if (!context) {
    return;
  }
  const image = context.createImageData(w, h);
  const offset = item * h * w * c;
  for (let p = 0; p < h * w; p++) {
    const src = offset + p * c;
    const dst = p * 4;
    if (c === 1) {
      image.data[dst] = image.data[dst + 1] = image.data[dst + 2] = pixels[src];
    } else {
      image.data[dst] = pixels[src];
      image.data[dst + 1] = pixels[src + 1];
      image.data[dst + 2] = pixels[src + 2];
    }
    image.data[dst + 3] = c === 4 ? pixels[src + 3] : 255;
  }
  context.putImageData(image, 0, 0);
}

/**
 * The paged example gallery of one region.
 */
export class Gallery {
  /**
   * @param host - Element to render into (borrowed).
   * @param trans - Translation bundle.
   * @param pageSize - Examples per page.
   */
  constructor(
    readonly host: HTMLElement,
    private _trans: TranslationBundle,
    readonly pageSize = 24
  ) {}

  /**
   * Show a region's examples from the first page.
   *
   * @param source - The region and where its examples live.
   */
  show(source: IGallerySource): void {
    this._source = source;
    this._ranked = galleryOrder(source, this._order);
    this._shares = lossShares(source.weights, source.losses);
    this._page = 0;
    void this._render();
  }

  /** The order the examples are shown in. */
  get order(): ExampleOrder {
    return this._order;
  }

  /**
   * Show the examples in another order, from the first page.
   *
   * @param order - The order.
   */
  setOrder(order: ExampleOrder): void {
    this._order = order;
    if (this._source) {
      this.show(this._source);
    }
  }

  /** The current page, from 0. */
  get page(): number {
    return this._page;
  }

  /** Stop pending fetches and clear. */
  dispose(): void {
    this._abort?.abort();
    this._source = null;
    this.host.replaceChildren();
  }

  private async _render(): Promise<void> {
    const source = this._source;
    if (!source) {
      return;
    }
    this._abort?.abort();
    const abort = new AbortController();
    this._abort = abort;
    const trans = this._trans;
    const pages = Math.max(1, Math.ceil(this._ranked.length / this.pageSize));
    const start = this._page * this.pageSize;
    const indices = this._ranked.slice(start, start + this.pageSize);

    const nav = document.createElement('div');
    nav.className = 'jp-SpotlightGallery-nav';
    const prev = button(trans.__('Previous'), this._page > 0, () =>
      this._go(-1)
    );
    const next = button(trans.__('Next'), this._page < pages - 1, () =>
      this._go(1)
    );
    const label = document.createElement('span');
    label.textContent = trans.__(
      'Page %1 of %2 · %3 examples with weight > 0',
      this._page + 1,
      pages,
      this._ranked.length.toLocaleString('en-US')
    );
    const orderSelect = document.createElement('select');
    orderSelect.className = 'jp-mod-styled jp-SpotlightGallery-order';
    orderSelect.setAttribute('aria-label', trans.__('Order the examples by'));
    orderSelect.title = trans.__(
      "Contribution: kernel weight × loss, the example's part of the region's weighted loss (its share is shown on each example). Kernel weight: nearest the spotlight's centre first."
    );
    const orderLabels: Record<ExampleOrder, string> = {
      contribution: trans.__('by contribution (weight × loss)'),
      weight: trans.__('by kernel weight'),
      loss: trans.__('by loss'),
      misclassified: trans.__('misclassified first')
    };
    for (const order of EXAMPLE_ORDERS) {
      if (order === 'misclassified' && !(source.labels && source.predictions)) {
        continue;
      }
      const option = document.createElement('option');
      option.value = order;
      option.textContent = orderLabels[order];
      option.selected = order === this._order;
      orderSelect.appendChild(option);
    }
    orderSelect.addEventListener('change', () =>
      this.setOrder(orderSelect.value as ExampleOrder)
    );
    nav.append(prev, label, next, orderSelect);

    const grid = document.createElement('ol');
    grid.className = 'jp-SpotlightGallery-grid';
    grid.setAttribute(
      'aria-label',
      source.referencePredictions && source.predictions
        ? trans.__(
            "Examples where the two models' predictions differ first, each group ranked by kernel weight"
          )
        : trans.__('Examples ranked %1', orderLabels[this._order])
    );
    grid.start = start + 1;
    const items = indices.map(index => {
      const li = document.createElement('li');
      li.className = 'jp-SpotlightGallery-item';
      li.dataset.index = String(index);
      const body = document.createElement('div');
      body.className = 'jp-SpotlightGallery-body';
      const caption = document.createElement('div');
      caption.className = 'jp-SpotlightGallery-caption';
      const parts = [
        `#${index}`,
        `${trans.__('weight')} ${source.weights[index].toFixed(3)}`,
        trans.__(
          '%1% of the region’s loss',
          (this._shares[index] * 100).toFixed(1)
        ),
        source.referenceLosses
          ? `${trans.__('loss B')} ${source.losses[index].toFixed(3)} · ${trans.__('A')} ${source.referenceLosses[index].toFixed(3)}`
          : `${trans.__('loss')} ${source.losses[index].toFixed(3)}`
      ];
      const name = (code: number) => source.labelNames?.[code] ?? String(code);
      if (source.labels) {
        parts.push(`${trans.__('label')} ${name(source.labels[index])}`);
      }
      if (source.predictions) {
        parts.push(`${trans.__('pred')} ${name(source.predictions[index])}`);
      }
      if (source.referencePredictions) {
        parts.push(
          `${trans.__('pred A')} ${name(source.referencePredictions[index])}`
        );
      }
      caption.textContent = parts.join(' · ');
      li.append(body, caption);
      return li;
    });
    grid.append(...items);
    const status = document.createElement('div');
    status.className = 'jp-SpotlightGallery-status';
    this.host.replaceChildren(nav, status, grid);

    if (!source.examples || indices.length === 0) {
      return;
    }
    status.textContent = trans.__('Loading examples…');
    let examples: IExamples;
    try {
      examples = await source.bridge.examples(
        source.examples,
        indices,
        abort.signal
      );
    } catch (reason) {
      if (!isAbortError(reason)) {
        console.error('Spotlight: fetching examples failed', reason);
        status.textContent = trans.__(
          'Could not load the examples: %1',
          (reason as Error).message
        );
      }
      return;
    }
    if (abort.signal.aborted) {
      return;
    }
    status.textContent = '';
    items.forEach((li, i) => {
      const body = li.firstElementChild as HTMLElement;
      if (examples.kind === 'image') {
        const canvas = document.createElement('canvas');
        canvas.className = 'jp-SpotlightGallery-image';
        canvas.setAttribute('role', 'img');
        canvas.setAttribute('aria-label', trans.__('Example %1', indices[i]));
        drawImage(examples.pixels, examples.shape, i, canvas);
        body.appendChild(canvas);
      } else if (examples.kind === 'table') {
        body.appendChild(table(examples.columns, [examples.items[i] ?? []]));
      } else {
        const text = document.createElement('div');
        text.className = 'jp-SpotlightGallery-text';
        text.textContent = String(examples.items[i] ?? '');
        body.appendChild(text);
      }
    });
  }

  private _go(delta: number): void {
    this._page += delta;
    void this._render().then(() => {
      const nav = this.host.querySelector(
        '.jp-SpotlightGallery-nav button:not([disabled])'
      );
      (nav as HTMLElement | null)?.focus();
    });
  }

  private _source: IGallerySource | null = null;
  private _ranked: number[] = [];
  private _shares: Float64Array = new Float64Array(0);
  private _order: ExampleOrder = 'contribution';
  private _page = 0;
  private _abort: AbortController | null = null;
}

function button(
  label: string,
  enabled: boolean,
  onClick: () => void
): HTMLButtonElement {
  const b = document.createElement('button');
  b.className = 'jp-Button jp-mod-styled jp-mod-reject';
  b.textContent = label;
  b.disabled = !enabled;
  b.addEventListener('click', onClick);
  return b;
}

function table(columns: string[], rows: unknown[][]): HTMLTableElement {
  const t = document.createElement('table');
  t.className = 'jp-SpotlightGallery-table';
  const head = t.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement('th');
    th.textContent = c;
    head.appendChild(th);
  }
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const value of row) {
      tr.insertCell().textContent = value === null ? '—' : String(value);
    }
  }
  return t;
}
