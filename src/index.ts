import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  IThemeManager,
  Notification
} from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { Debouncer } from '@lumino/polling';

import { registerCommands } from './commands';
import { SpotlightModel } from './model';
import { addView } from './placement';
import { DEFAULT_OPTIONS, IAuditOptions } from './tokens';
import { WorkerAuditPipeline } from './workers/client';
import { spawnAuditWorker } from './workers/spawn';
import { RegionDetail } from './widgets/detail';
import { SpotlightPanel } from './widgets/panel';

const PLUGIN_ID = 'jupyterlab-spotlight:plugin';

/** The Spotlight icon: a lamp's beam over points. */
const spotlightIcon = new LabIcon({
  name: 'jupyterlab-spotlight:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><circle cx="12" cy="17" r="5" fill-opacity="0.35"/><circle cx="12" cy="17" r="1.6"/><circle cx="5" cy="20" r="1.2"/><circle cx="19" cy="19" r="1.2"/><path d="M9 2h6l-1 6h-4z"/></g></svg>'
});

/**
 * The Spotlight panel: audits the current notebook's model for systematic
 * errors (d'Eon et al. 2021).
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'A sidebar panel that finds high-loss regions of a model’s embedding space with the Spotlight method.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [
    ILayoutRestorer,
    ICommandPalette,
    ISettingRegistry,
    ITranslator,
    IThemeManager
  ],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    themeManager: IThemeManager | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_spotlight');
    // The audits run in a Web Worker: the page keeps no copy of the
    // embeddings and stays responsive during a search.
    const model = new SpotlightModel({
      pipeline: bridge =>
        new WorkerAuditPipeline({ bridge, spawn: spawnAuditWorker })
    });
    const panel = new SpotlightPanel({ model, commands: app.commands, trans });
    panel.title.icon = spotlightIcon;
    app.shell.add(panel, 'right', { rank: 600 });
    restorer?.add(panel, 'jupyterlab-spotlight');

    // The selected region's charts and examples open next to the notebook.
    let detail: RegionDetail | null = null;
    const showDetail = (activate: boolean) => {
      if (!detail || detail.isDisposed) {
        detail = new RegionDetail({
          model,
          trans,
          isDark: () =>
            themeManager?.theme
              ? !themeManager.isLight(themeManager.theme)
              : false
        });
        detail.title.icon = spotlightIcon;
      }
      if (!detail.isAttached) {
        // New or closed: open it where the shell allows (JupyterLab's main
        // area, Notebook 7's down area), see placement.ts.
        addView(app, detail, tracker.currentWidget?.id);
      }
      if (activate) {
        app.shell.activateById(detail.id);
      }
    };
    themeManager?.themeChanged.connect(() => detail?.refreshCharts());

    const follow = () => {
      const current = tracker.currentWidget;
      model.setNotebook(
        current?.sessionContext ?? null,
        current?.context.path ?? ''
      );
      if (panel.isVisible) {
        void current?.sessionContext.ready.then(() => model.refresh());
      }
    };
    tracker.currentChanged.connect(follow);
    follow();

    // The listing refreshes after executed cells, only while the panel shows.
    const refresh = new Debouncer(() => model.refresh(), 400);
    NotebookActions.executed.connect((_, { notebook }) => {
      if (
        panel.isVisible &&
        tracker.currentWidget?.content === notebook &&
        !model.isRunning
      ) {
        void refresh.invoke();
      }
    });
    tracker.currentChanged.connect(() => {
      tracker.currentWidget?.sessionContext.kernelChanged.connect(() => {
        if (panel.isVisible) {
          void refresh.invoke();
        }
      });
    });
    panel.shown.connect(() => {
      follow();
      void refresh.invoke();
    });

    registerCommands({ app, panel, tracker, trans, palette, showDetail });

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            const get = <T>(key: string, fallback: T) =>
              (settings.get(key).composite as T | undefined) ?? fallback;
            const options: Partial<IAuditOptions> = {};
            for (const key of Object.keys(
              DEFAULT_OPTIONS
            ) as (keyof IAuditOptions)[]) {
              (options as any)[key] = get(key, DEFAULT_OPTIONS[key]);
            }
            model.configure(options, {
              transferBudgetBytes: get('transferBudgetMB', 1024) * 1024 * 1024,
              maxMapPoints: get('maxMapPoints', 5000),
              recheckAssert: get('recheckAssert', false)
            });
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch((reason: unknown) => {
          // A missing or invalid schema (e.g. a broken install): say so where
          // the user looks, and go on with the defaults.
          console.error('Spotlight: failed to load settings', reason);
          Notification.warning(
            trans.__(
              'Spotlight: its settings (%1) could not be loaded: %2. The panel still works, with the default options; changes made in the Settings Editor will not apply (reinstalling the extension restores its schema).',
              PLUGIN_ID,
              reason instanceof Error ? reason.message : String(reason)
            ),
            { autoClose: false }
          );
        });
    }
  }
};

export default plugin;
