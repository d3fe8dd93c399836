/**
 * Where the Spotlight's views open: the one place that knows the difference
 * between JupyterLab's shell and Jupyter Notebook 7's.
 *
 * - JupyterLab (`LabShell`): a dock panel; a view opens in the main area, split
 *   to the right of the notebook it belongs to.
 * - Notebook 7 (`NotebookShell`) and other shells without a dock panel: the
 *   main area holds the notebook only (`shell.add(w, 'main')` is silently
 *   ignored while it does), so a view opens in the `down` area, the tab panel
 *   under the notebook. That is where Notebook 7 sends JupyterLab's own
 *   split-off companions that must stay visible next to the notebook (its
 *   default layout puts the Debugger Console there); the right sidebar shows one
 *   widget at a time and already holds the Spotlight panel, so a view there
 *   would hide the panel (Notebook 7's choice for the Markdown Preview), and a
 *   new browser tab cannot show it: a view is live state of this page, not a
 *   document with a URL.
 *
 * Every view is added with a `type` (`VIEW_TYPE`), the key of the shells'
 * "Customize shell widget positioning" setting.
 */
import { JupyterFrontEnd, LabShell } from '@jupyterlab/application';
import { SplitPanel, Widget } from '@lumino/widgets';

/** The widget type that the shells' layout settings can name. */
export const VIEW_TYPE = 'Spotlight View';

/** Where a view goes. */
export interface IViewPlacement {
  /** The shell area. */
  area: 'main' | 'down';
  /**
   * Whether the area shows only once a widget in it is activated (Notebook
   * 7's down area is hidden until then).
   */
  hiddenUntilActivated: boolean;
  /** The options for `shell.add`. */
  options: {
    /** False: the notebook keeps the focus (JupyterLab activates by default). */
    activate?: boolean;
    mode?: 'split-right';
    ref?: string;
    type: string;
  };
}

/**
 * Decide where a view opens.
 *
 * @param shell - The application's shell.
 * @param ref - The id of the widget the view belongs to (the notebook), if any.
 * @returns The area and the options for `shell.add`.
 */
export function viewPlacement(
  shell: JupyterFrontEnd.IShell,
  ref?: string
): IViewPlacement {
  if (shell instanceof LabShell) {
    return {
      area: 'main',
      hiddenUntilActivated: false,
      options: { activate: false, mode: 'split-right', ref, type: VIEW_TYPE }
    };
  }
  return {
    area: 'down',
    hiddenUntilActivated: true,
    options: { type: VIEW_TYPE }
  };
}

/**
 * Open a view where `viewPlacement` says, visible but without taking the
 * keyboard focus (the caller activates it when it should): in an area that is
 * hidden until activation, the view is activated and the focus given back.
 *
 * @param app - The application.
 * @param view - The view, not attached.
 * @param ref - The id of the widget the view belongs to (the notebook), if any.
 */
export function addView(
  app: JupyterFrontEnd,
  view: Widget,
  ref?: string
): void {
  const placement = viewPlacement(app.shell, ref);
  app.shell.add(view, placement.area, placement.options);
  if (placement.hiddenUntilActivated) {
    const focused = document.activeElement;
    app.shell.activateById(view.id);
    if (focused instanceof HTMLElement && focused !== document.body) {
      focused.focus();
    }
    // Notebook 7 sizes its down area to the content's minimum (a tab bar):
    // give the view 45 % of the height, in the split the user can drag. Its
    // tab panel sits in a vertical SplitPanel under the notebook.
    const split = view.parent?.parent?.parent;
    if (
      split instanceof SplitPanel &&
      split.orientation === 'vertical' &&
      split.widgets.length === 2
    ) {
      split.setRelativeSizes([0.55, 0.45]);
    }
  }
}
