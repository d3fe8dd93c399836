/**
 * Renders Vega-Lite specs with vega-embed, themed from JupyterLab's CSS
 * variables, and finalises old views so nothing leaks.
 */
import type { Result } from 'vega-embed';

import { IChartTheme, VegaLiteSpec } from '../summaries/specs';

/**
 * Read the chart theme from the JupyterLab CSS variables on `document.body`.
 *
 * @param dark - Whether the current JupyterLab theme is dark.
 * @returns Colours and fonts for {@link themeConfig}.
 */
export function readChartTheme(dark: boolean): IChartTheme {
  const style = getComputedStyle(document.body);
  const v = (name: string, fallback: string) =>
    style.getPropertyValue(name).trim() || fallback;
  return {
    text: v('--jp-ui-font-color1', dark ? '#e0e0e0' : '#212121'),
    textMuted: v('--jp-ui-font-color2', dark ? '#bdbdbd' : '#616161'),
    grid: v('--jp-border-color2', dark ? '#424242' : '#e0e0e0'),
    region: v('--jp-warn-color0', '#d84315'),
    overall: v('--jp-layout-color4', dark ? '#757575' : '#9e9e9e'),
    font: v('--jp-ui-font-family', 'sans-serif'),
    dark
  };
}

/**
 * A container of Vega-Lite charts that owns its vega views.
 */
export class ChartGroup {
  /**
   * @param host - The element the charts are appended to (borrowed).
   */
  constructor(readonly host: HTMLElement) {}

  /**
   * Replace the charts with new ones.
   *
   * @param specs - Specs with an accessible label each.
   * @returns Resolves when all are rendered; a chart that fails shows its error.
   */
  async render(specs: { label: string; spec: VegaLiteSpec }[]): Promise<void> {
    const generation = ++this._generation;
    this.clear();
    const { default: embed } = await import('vega-embed');
    if (generation !== this._generation) {
      return;
    }
    await Promise.all(
      specs.map(async ({ label, spec }) => {
        const figure = document.createElement('figure');
        figure.className = 'jp-SpotlightChart';
        figure.setAttribute('aria-label', label);
        const target = document.createElement('div');
        figure.appendChild(target);
        this.host.appendChild(figure);
        try {
          // The specs declare Vega-Lite 5 for saved notebook outputs; the
          // panel renders them with the bundled Vega-Lite, which accepts them.
          const { $schema, ...bundled } = spec;
          void $schema;
          const result = await embed(target, bundled as any, {
            actions: false,
            renderer: 'svg',
            tooltip: true,
            defaultStyle: false
          });
          if (generation !== this._generation) {
            result.finalize();
            return;
          }
          this._views.push(result);
        } catch (reason) {
          console.error(`Spotlight: the chart "${label}" failed`, reason);
          target.textContent = `The chart "${label}" could not be drawn: ${(reason as Error).message}`;
        }
      })
    );
  }

  /** Remove the charts and finalise their views. */
  clear(): void {
    for (const view of this._views) {
      view.finalize();
    }
    this._views = [];
    this.host.replaceChildren();
  }

  /** Finalise everything; the group can still render again. */
  dispose(): void {
    this._generation++;
    this.clear();
  }

  private _views: Result[] = [];
  private _generation = 0;
}
