/**
 * The audit view in the main area: the overview map on the left; on the
 * right the regions (a compact list) and the selected region's statistics,
 * charts and examples. One view for the panel's model; closing it disposes
 * it, and opening it again makes a new one.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import { MessageLoop } from '@lumino/messaging';
import { Panel, SplitPanel, Widget } from '@lumino/widgets';

import { CommandIds } from '../commandIds';
import { regionNumber, SpotlightModel } from '../model';
import { RegionDetail } from './detail';
import { OverviewMap } from './overviewMap';

/** The view's content: map | regions and details. */
export class AuditContent extends SplitPanel {
  /**
   * @param options - The model (borrowed), commands, translations, theme.
   */
  constructor(options: AuditView.IOptions) {
    super({ orientation: 'horizontal', spacing: 4 });
    this.addClass('jp-SpotlightAudit');
    this.map = new OverviewMap(options);
    this.regions = new RegionList(options);
    this.detail = new RegionDetail({ ...options, embedded: true });
    const side = new Private.SidePanel();
    side.addClass('jp-SpotlightAudit-side');
    side.addWidget(this.regions);
    side.addWidget(this.detail);
    this.addWidget(this.map);
    this.addWidget(side);
    this.setRelativeSizes([3, 2]);
  }

  /**
   * Side by side when the view is wide; in a narrow view (beside a notebook
   * with both sidebars open at 1,280 px, or at 1,024 px) the map goes on
   * top of the regions and details, so that each gets the whole width
   * instead of a cramped map and a ~200 px detail column.
   */
  protected onResize(msg: Widget.ResizeMessage): void {
    const width = msg.width >= 0 ? msg.width : this.node.offsetWidth;
    const orientation =
      width > 0 && width < AuditContent.STACK_BELOW_PX
        ? 'vertical'
        : 'horizontal';
    if (orientation !== this.orientation) {
      this.orientation = orientation;
      this.toggleClass('jp-mod-stacked', orientation === 'vertical');
      this.setRelativeSizes(orientation === 'vertical' ? [11, 9] : [3, 2]);
    }
    super.onResize(msg);
  }

  /** Below this width (px) the map is stacked above the regions. */
  static readonly STACK_BELOW_PX = 820;

  /** The overview map. */
  readonly map: OverviewMap;
  /** The compact region list. */
  readonly regions: RegionList;
  /** The selected region's details. */
  readonly detail: RegionDetail;
}

/**
 * The audit view: a main-area widget around {@link AuditContent}.
 */
export class AuditView extends MainAreaWidget<AuditContent> {
  /**
   * @param options - The model (borrowed), commands, translations, theme.
   */
  constructor(options: AuditView.IOptions) {
    super({ content: new AuditContent(options) });
    this.id = AuditView.ID;
    this.addClass('jp-SpotlightAuditView');
    this.title.closable = true;
    this._model = options.model;
    this._trans = options.trans;
    this._model.changed.connect(this._onChanged, this);
    this._onChanged();
  }

  /** Dispose the view (the model is borrowed and stays). */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._onChanged, this);
    super.dispose();
  }

  /** Re-read the theme (charts and map colours). */
  refreshTheme(): void {
    this.content.detail.refreshCharts();
    this.content.map.refreshTheme();
  }

  private _onChanged(): void {
    const label = this._model.notebookLabel;
    const name = label ? label.split('/').pop() : '';
    const j = this._model.selectedRegion;
    const trans = this._trans;
    // The tab names the region shown and the notebook it belongs to.
    const what =
      j >= 0 && this._model.result
        ? trans.__('Spotlight region %1', regionNumber(this._model.result, j))
        : trans.__('Spotlight audit');
    this.title.label = name ? `${what} · ${name}` : what;
    this.title.caption = trans.__(
      'Overview map and regions of the Spotlight audit of %1',
      label || trans.__('the current notebook')
    );
  }

  private _model: SpotlightModel;
  private _trans: TranslationBundle;
}

/** The AuditView's namespace. */
export namespace AuditView {
  /** The view's DOM id (one view at a time). */
  export const ID = 'jupyterlab-spotlight-audit';

  /** Options to create the view. */
  export interface IOptions {
    /** The panel's model (borrowed). */
    model: SpotlightModel;
    /** The app's commands (Save to notebook). */
    commands: CommandRegistry;
    /** Translations. */
    trans: TranslationBundle;
    /** Whether the current theme is dark. */
    isDark?: () => boolean;
  }
}

/**
 * The regions as a compact list: number or name, lift, size; arrow keys
 * move the selection, Enter or a click selects, a button saves.
 */
export class RegionList extends Widget {
  /**
   * @param options - The model (borrowed), commands and translations.
   */
  constructor(options: AuditView.IOptions) {
    super();
    this.addClass('jp-SpotlightAudit-regions');
    this._model = options.model;
    this._commands = options.commands;
    this._trans = options.trans;
    this._list = document.createElement('ul');
    this._list.className = 'jp-SpotlightAudit-regionList';
    this._list.setAttribute('role', 'listbox');
    this._list.setAttribute('aria-label', this._trans.__('Regions'));
    this._list.tabIndex = 0;
    this._list.addEventListener('keydown', event => this._onKey(event));
    this.node.appendChild(this._list);
    this._model.changed.connect(this._onChanged, this);
    this._render();
  }

  /** Dispose the list. */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._onChanged, this);
    super.dispose();
  }

  private _onChanged(_: SpotlightModel, change: string): void {
    if (change === 'result' || change === 'notebook') {
      this._render();
    } else if (change === 'region') {
      this._renderSelection();
    }
  }

  private _render(): void {
    const result = this._model.result;
    const trans = this._trans;
    this._list.replaceChildren();
    if (!result) {
      return;
    }
    result.regions.forEach((r, j) => {
      // The saved number (a reopened region 3 stays region 3).
      const number = regionNumber(result, j);
      const li = document.createElement('li');
      li.className = 'jp-SpotlightAudit-region';
      li.id = `jp-SpotlightAudit-region-${j}`;
      li.dataset.region = String(j);
      li.setAttribute('role', 'option');
      const name = document.createElement('span');
      name.className = 'jp-SpotlightAudit-regionName';
      name.textContent = r.name
        ? trans.__('%1. %2', number, r.name)
        : trans.__('Region %1', number);
      const facts = document.createElement('span');
      facts.className = 'jp-SpotlightAudit-regionFacts';
      facts.textContent = trans.__(
        '%1× loss · %2 examples%3',
        r.lift.toFixed(2),
        r.supportSize.toLocaleString('en-US'),
        r.manual ? trans.__(' · drawn') : ''
      );
      facts.title = trans.__(
        'Lift: the region’s weighted mean loss divided by the mean loss over all data. Examples: how many have a kernel weight above 0.'
      );
      const save = document.createElement('button');
      save.className =
        'jp-Button jp-mod-styled jp-mod-minimal jp-SpotlightAudit-save';
      save.textContent = trans.__('Save');
      save.title = trans.__(
        'Save region %1 to the notebook as cells that recreate it',
        number
      );
      save.addEventListener('click', event => {
        event.stopPropagation();
        this._commands
          .execute(CommandIds.saveFinding, { region: j })
          .catch(reason =>
            console.error('Spotlight: saving the region failed', reason)
          );
      });
      li.append(name, facts, save);
      li.addEventListener('click', () => this._model.selectRegion(j));
      this._list.appendChild(li);
    });
    this._renderSelection();
  }

  private _renderSelection(): void {
    const j = this._model.selectedRegion;
    for (const li of Array.from(this._list.children) as HTMLElement[]) {
      const selected = Number(li.dataset.region) === j;
      li.classList.toggle('jp-mod-selected', selected);
      li.setAttribute('aria-selected', String(selected));
    }
    if (j >= 0) {
      this._list.setAttribute(
        'aria-activedescendant',
        `jp-SpotlightAudit-region-${j}`
      );
    }
  }

  private _onKey(event: KeyboardEvent): void {
    const count = this._model.result?.regions.length ?? 0;
    if (!count) {
      return;
    }
    let j = this._model.selectedRegion;
    if (event.key === 'ArrowDown') {
      j = Math.min(count - 1, j + 1);
    } else if (event.key === 'ArrowUp') {
      j = Math.max(0, j - 1);
    } else if (event.key === 'Home') {
      j = 0;
    } else if (event.key === 'End') {
      j = count - 1;
    } else {
      return;
    }
    event.preventDefault();
    this._model.selectRegion(j);
    this._list.children[j]?.scrollIntoView?.({ block: 'nearest' });
  }

  private _model: SpotlightModel;
  private _commands: CommandRegistry;
  private _trans: TranslationBundle;
  private _list: HTMLElement;
}

namespace Private {
  /**
   * A column laid out by CSS flex (the region list as tall as its rows up to
   * a share of the pane, the details the rest) that passes resizes on, so
   * the charts fit their pane.
   */
  export class SidePanel extends Panel {
    protected onResize(msg: Widget.ResizeMessage): void {
      super.onResize(msg);
      for (const widget of this.widgets) {
        MessageLoop.sendMessage(widget, Widget.ResizeMessage.UnknownSize);
      }
    }
  }
}
