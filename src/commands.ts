/**
 * Command registration: every action of the panel is a command, so it can be
 * scripted (`app.commands.execute(id, args)`) and found in the palette.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import type { ICommandPalette } from '@jupyterlab/apputils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import {
  COMMAND_ARGUMENTS,
  unknownArguments,
  unknownArgumentsMessage
} from './commandArgs';
import { CommandIds } from './commandIds';
import { abortError, isAbortError } from './kernel/errors';
import { regionCount, regionNumber } from './model';
import type { IAuditResult, IAuditSummary } from './model';
import {
  findingCells,
  float32ToBase64,
  IFinding,
  readFinding
} from './notebook/cells';
import { manualRegionCells, readManualFinding } from './notebook/manualCells';
import { saveFindingCells } from './notebook/writer';
import type { SpotlightPanel } from './widgets/panel';
import { IAuditOptions, Role, ROLES } from './tokens';

/** What the commands need. */
export interface ICommandContext {
  app: JupyterFrontEnd;
  panel: SpotlightPanel;
  tracker: INotebookTracker;
  trans: TranslationBundle;
  palette: ICommandPalette | null;
  /** Open (or reveal) the region detail in the main area. */
  showDetail: (activate: boolean) => void;
}

/**
 * Register the Spotlight commands.
 *
 * @param context - The app, the panel, the notebook tracker and translations.
 */
export function registerCommands(context: ICommandContext): void {
  const { app, panel, tracker, trans, palette, showDetail } = context;
  const model = panel.model;
  const commands = app.commands;

  /**
   * Refuse arguments a command does not take, naming them (a typo such as
   * `step` for `steps` must not run with the default silently).
   */
  const refuseUnknown = (
    key: keyof typeof COMMAND_ARGUMENTS,
    args: ReadonlyPartialJSONObject
  ): void => {
    const allowed = COMMAND_ARGUMENTS[key];
    const unknown = unknownArguments(args, allowed);
    if (unknown.length) {
      throw notifyError(
        trans,
        new TypeError(
          unknownArgumentsMessage(CommandIds[key], unknown, allowed)
        ),
        `arguments-${key}`
      );
    }
  };

  commands.addCommand(CommandIds.open, {
    label: trans.__('Open the Spotlight Panel'),
    caption: trans.__(
      'Find regions of the embedding space where the model fails'
    ),
    iconClass: 'jp-SpotlightIcon',
    execute: (args: ReadonlyPartialJSONObject) => {
      refuseUnknown('open', args);
      app.shell.activateById(panel.id);
    }
  });

  commands.addCommand(CommandIds.listVariables, {
    label: trans.__("List the Kernel's Variables for the Spotlight"),
    execute: async (args: ReadonlyPartialJSONObject) => {
      refuseUnknown('listVariables', args);
      await model.refresh();
      if (model.error && !model.listed) {
        throw new Error(model.error);
      }
      return model.variables.map(v => ({ ...v }));
    }
  });

  commands.addCommand(CommandIds.run, {
    label: trans.__('Find Spotlights in the Current Notebook'),
    caption: trans.__(
      'Args: {embeddings, losses, referenceLosses?, labels?, predictions?, referencePredictions?, examples?, metadata?, metadataColumns?, spotlightSize?, count?, steps?, learningRate?, barrierScale?, backend?, direction?, permutations?, alpha?, holdout?, seed?, components?, workers?}'
    ),
    execute: async (
      args: ReadonlyPartialJSONObject
    ): Promise<IAuditSummary | null> => {
      refuseUnknown('run', args);
      // Variables named in the arguments replace the panel's whole selection
      // (roles not named are left out); without any, the panel's choice runs.
      if (ROLES.some(role => typeof args[role] === 'string')) {
        for (const role of ROLES) {
          model.select(
            role as Role,
            typeof args[role] === 'string' ? (args[role] as string) : null
          );
        }
      }
      const columns = args.metadataColumns;
      if (columns !== undefined) {
        if (
          columns !== null &&
          !(Array.isArray(columns) && columns.every(c => typeof c === 'string'))
        ) {
          throw new Error(
            `metadataColumns must be a list of column names (or null for all), not ${JSON.stringify(columns)}.`
          );
        }
        model.selectMetadataColumns(columns as string[] | null);
      }
      const overrides: Partial<IAuditOptions> = {};
      for (const key of [
        'spotlightSize',
        'count',
        'steps',
        'learningRate',
        'barrierScale',
        'permutations',
        'alpha',
        'seed',
        'components',
        'workers'
      ] as const) {
        if (args[key] === undefined) {
          continue;
        }
        if (typeof args[key] !== 'number') {
          const error = new TypeError(
            trans.__(
              '%1 must be a number (got %2).',
              key,
              JSON.stringify(args[key])
            )
          );
          throw notifyError(trans, error, 'run');
        }
        const value = args[key] as number;
        const problem = Private.rangeProblem(key, value);
        if (problem) {
          throw notifyError(
            trans,
            new RangeError(trans.__('%1 %2 (got %3).', key, problem, value)),
            'run'
          );
        }
        overrides[key] = value;
      }

      if (args.backend !== undefined) {
        const backends = ['auto', 'webgl', 'wasm', 'cpu'];
        if (!backends.includes(args.backend as string)) {
          throw notifyError(
            trans,
            new TypeError(
              trans.__(
                'backend must be one of %1 (got %2).',
                backends.join(', '),
                JSON.stringify(args.backend)
              )
            ),
            'run'
          );
        }
        overrides.backend = args.backend as IAuditOptions['backend'];
      }
      if (args.holdout !== undefined) {
        if (typeof args.holdout !== 'boolean') {
          throw notifyError(
            trans,
            new TypeError(
              trans.__(
                'holdout must be true or false (got %1).',
                JSON.stringify(args.holdout)
              )
            ),
            'run'
          );
        }
        overrides.holdout = args.holdout;
      }
      if (args.direction !== undefined) {
        if (
          args.direction !== 'regression' &&
          args.direction !== 'improvement'
        ) {
          throw notifyError(
            trans,
            new TypeError(
              trans.__(
                "direction must be 'regression' (where model B is worse) or 'improvement' (got %1).",
                JSON.stringify(args.direction)
              )
            ),
            'run'
          );
        }
        overrides.direction = args.direction;
      }
      try {
        await model.run(overrides);
        showDetail(false);
        return model.summary();
      } catch (reason) {
        throw isAbortError(reason) ? reason : notifyError(trans, reason, 'run');
      }
    }
  });

  commands.addCommand(CommandIds.cancel, {
    label: trans.__('Cancel the Spotlight Search'),
    isEnabled: () => model.isRunning,
    execute: (args: ReadonlyPartialJSONObject) => {
      refuseUnknown('cancel', args);
      model.cancel();
    }
  });

  commands.addCommand(CommandIds.inspectRegion, {
    label: trans.__('Inspect a Spotlight Region'),
    caption: trans.__('Args: {region} (from 0), activate? (default true)'),
    isEnabled: () => !!model.result,
    execute: (args: ReadonlyPartialJSONObject) => {
      refuseUnknown('inspectRegion', args);
      const region = regionIndex(
        args.region ?? Math.max(0, model.selectedRegion),
        model.result?.regions.length ?? 0
      );
      model.selectRegion(region);
      showDetail(args.activate !== false);
      return region;
    }
  });

  commands.addCommand(CommandIds.saveFinding, {
    label: trans.__('Save Spotlight Findings to the Notebook'),
    caption: trans.__('Args: {region: number (from 0) | "all"}'),
    isEnabled: () => !!model.result,
    execute: (args: ReadonlyPartialJSONObject): number[] => {
      refuseUnknown('saveFinding', args);
      const result = model.result;
      try {
        if (!result) {
          throw new Error(
            trans.__('Run an audit first; there is no finding to save.')
          );
        }
        const notebook = findNotebook(tracker, model.sessionContext);
        const which = args.region ?? model.selectedRegion;
        const regions =
          which === 'all'
            ? result.regions.map((_, j) => j)
            : [regionIndex(which, result.regions.length)];
        const groups = regions.map(j =>
          result.regions[j].manual
            ? manualRegionCells(makeFinding(result, j))
            : findingCells(
                makeFinding(result, j),
                result.losses,
                result.search.spotlights[j].kernelWeights,
                { recheckAssert: model.settings.recheckAssert }
              )
        );
        const active = notebook?.content.activeCellIndex ?? -1;
        // A finding saved before is updated in place: saving twice never
        // duplicates its cells (and "Saved findings" never lists it twice).
        const { indices, updated, inserted } = saveFindingCells(
          notebook?.content.model ?? null,
          groups,
          active
        );
        // Show what was written: the first cell, scrolled into view.
        if (notebook && indices.length) {
          notebook.content.activeCellIndex = indices[0];
          notebook.content
            .scrollToItem(indices[0], 'start')
            .catch(reason =>
              console.debug('Spotlight: scrolling to the saved cells', reason)
            );
        }
        notify(
          'saved',
          'success',
          updated && inserted
            ? trans.__(
                'Saved %1 new finding(s) and updated %2 saved before in %3.',
                inserted,
                updated,
                notebook!.context.path
              )
            : updated
              ? trans.__(
                  'Updated %1 finding(s) saved before in %2 (no new cells).',
                  updated,
                  notebook!.context.path
                )
              : trans.__(
                  'Saved %1 finding(s) into %2.',
                  inserted,
                  notebook!.context.path
                ),
          4000
        );
        return indices;
      } catch (reason) {
        throw notifyError(trans, reason, 'save');
      }
    }
  });

  commands.addCommand(CommandIds.exportRegion, {
    label: trans.__('Send Spotlight Region Weights to the Kernel'),
    caption: trans.__(
      'Args: {region (from 0), name?}; binds a float32 numpy array of the kernel weights'
    ),
    isEnabled: () => !!model.result && !!model.bridge,
    execute: async (args: ReadonlyPartialJSONObject): Promise<string> => {
      refuseUnknown('exportRegion', args);
      const result = model.result;
      const bridge = model.bridge;
      try {
        if (!result || !bridge) {
          throw new Error(
            trans.__('Run an audit first; there are no region weights to send.')
          );
        }
        const j = regionIndex(
          args.region ?? model.selectedRegion,
          result.regions.length
        );
        const name =
          typeof args.name === 'string'
            ? args.name
            : `spotlight_weights_${regionNumber(result, j)}`;
        const weights = result.search.spotlights[j].kernelWeights;
        await bridge.upload(name, weights, [weights.length]);
        notify(
          'exported',
          'info',
          trans.__(
            "Region %1's kernel weights are now '%2' in the kernel.",
            regionNumber(result, j),
            name
          ),
          4000
        );
        return name;
      } catch (reason) {
        throw notifyError(trans, reason, 'export');
      }
    }
  });

  commands.addCommand(CommandIds.openAuditView, {
    label: trans.__('Open the Spotlight Audit View'),
    caption: trans.__(
      'The overview map of all examples, the regions and the selected region, beside the notebook. Args: {activate?}'
    ),
    execute: (args: ReadonlyPartialJSONObject) => {
      refuseUnknown('openAuditView', args);
      showDetail(args.activate !== false);
    }
  });

  commands.addCommand(CommandIds.addRegion, {
    label: trans.__('Add a Manual Spotlight Region'),
    caption: trans.__(
      'Args: {indices: number[] (example rows), name?}; returns the region summary'
    ),
    isEnabled: () => !!model.result,
    execute: (args: ReadonlyPartialJSONObject) => {
      try {
        const unknown = Object.keys(args).filter(
          key => key !== 'indices' && key !== 'name'
        );
        if (unknown.length) {
          throw new TypeError(
            trans.__(
              'add-region takes {indices, name?}; unknown argument(s): %1.',
              unknown.join(', ')
            )
          );
        }
        if (args.name !== undefined && typeof args.name !== 'string') {
          throw new TypeError(
            trans.__(
              'name must be a string (got %1).',
              JSON.stringify(args.name)
            )
          );
        }
        const j = model.addManualRegion(
          args.indices,
          args.name as string | undefined
        );
        showDetail(false);
        const summary = model.summary()!.regions[j];
        return {
          ...summary,
          region: j,
          name: model.result!.regions[j].name ?? null
        };
      } catch (reason) {
        throw notifyError(trans, reason, 'add-region');
      }
    }
  });

  commands.addCommand(CommandIds.openFindings, {
    label: trans.__('Reopen Spotlight Findings Saved in the Notebook'),
    execute: async (args: ReadonlyPartialJSONObject): Promise<number> => {
      refuseUnknown('openFindings', args);
      try {
        const notebook = tracker.currentWidget;
        // Found regions and manual ones (drawn on the map), in cell order.
        const findings: IFinding[] = [];
        for (const cell of notebook?.content.model?.sharedModel.cells ?? []) {
          const metadata = cell.getMetadata() as Record<string, unknown>;
          const finding = readFinding(metadata) ?? readManualFinding(metadata);
          if (finding) {
            findings.push(finding);
          }
        }
        if (!findings.length) {
          throw new Error(
            trans.__(
              'This notebook has no saved Spotlight findings. Run an audit and use "Save to notebook".'
            )
          );
        }
        // Reopen the most recent audit's findings (one fingerprint and date).
        const last = findings[findings.length - 1];
        const group = findings.filter(
          f => f.date === last.date && f.fingerprint === last.fingerprint
        );
        // Results on screen that are not all saved are never replaced
        // without asking (`discard: true` skips the question in scripts).
        const unsaved = Private.unsavedRegions(model.result, findings);
        if (unsaved.length && args.discard !== true) {
          const answer = await showDialog({
            title: trans.__('Replace the results on screen?'),
            body: trans.__(
              'Region(s) %1 of the audit on screen are not saved in this notebook. Reopening the saved findings replaces them; save them first ("Save all to notebook") to keep them.',
              unsaved.join(', ')
            ),
            buttons: [
              Dialog.cancelButton({ label: trans.__('Keep the results') }),
              Dialog.warnButton({ label: trans.__('Reopen saved findings') })
            ]
          });
          if (!answer.button.accept) {
            throw abortError('Reopening the saved findings');
          }
        }
        app.shell.activateById(panel.id);
        await model.reopen(group);
        showDetail(false);
        return group.length;
      } catch (reason) {
        throw isAbortError(reason)
          ? reason
          : notifyError(trans, reason, 'reopen');
      }
    }
  });

  if (palette) {
    const category = trans.__('Spotlight');
    for (const command of [
      CommandIds.open,
      CommandIds.openAuditView,
      CommandIds.run,
      CommandIds.cancel,
      CommandIds.saveFinding,
      CommandIds.openFindings
    ]) {
      palette.addItem({ command, category, args: {} });
    }
  }
}

/**
 * Show an error as a JupyterLab notification (the panel shows it too): one
 * notification per kind of failure, updated when it happens again rather
 * than a new toast each time.
 *
 * @param trans - Translations.
 * @param reason - What was thrown.
 * @param kind - The kind of failure, e.g. `run` or `save`.
 * @returns The same error, to rethrow.
 */
function notifyError(
  trans: TranslationBundle,
  reason: unknown,
  kind: string
): unknown {
  notify(
    `error-${kind}`,
    'error',
    trans.__('Spotlight: %1', (reason as Error).message ?? String(reason)),
    8000
  );
  return reason;
}

/**
 * Show a notification of a kind, replacing the previous one of that kind
 * (in the toasts and in the notification centre) instead of adding another.
 *
 * @param kind - What it is about, e.g. `error-run` or `saved`.
 * @param type - Its type.
 * @param message - The sentence.
 * @param autoClose - Milliseconds before the toast closes.
 * @returns The notification's id.
 */
export function notify(
  kind: string,
  type: 'error' | 'success' | 'info' | 'warning',
  message: string,
  autoClose: number
): string {
  const id = Private.notificationIds.get(kind);
  if (id !== undefined && Notification.manager.has(id)) {
    Notification.update({ id, message, type, autoClose });
    return id;
  }
  const created = Notification.emit(message, type, { autoClose });
  Private.notificationIds.set(kind, created);
  return created;
}

/**
 * A region index from a command argument.
 *
 * @param value - The `region` argument.
 * @param count - Number of regions found.
 * @returns The index, from 0.
 * @throws {RangeError} naming the valid range.
 */
function regionIndex(value: unknown, count: number): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 0 ||
    value >= count
  ) {
    throw new RangeError(
      `region must be a whole number from 0 to ${count - 1} (regions are numbered from 0; got ${JSON.stringify(value)}).`
    );
  }
  return value;
}

/**
 * The open notebook whose session the audit ran on.
 */
function findNotebook(
  tracker: INotebookTracker,
  sessionContext: unknown
): NotebookPanel | null {
  return tracker.find(panel => panel.sessionContext === sessionContext) ?? null;
}

/**
 * The finding of region j of an audit.
 *
 * When the search ran on principal components, the finding keeps the
 * projection (mean and components) with D the embeddings' own width, and
 * fingerprints of the kernel's N × D embeddings, so that the saved cell and
 * reopening apply the same projection to the same variable.
 *
 * @param result - The audit.
 * @param j - Region index, from 0.
 * @returns The finding to save.
 */
export function makeFinding(result: IAuditResult, j: number): IFinding {
  const spotlight = result.search.spotlights[j];
  const h = spotlight.history;
  const stride = Math.max(1, Math.ceil(h.objective.length / 400));
  const step: number[] = [];
  const objective: number[] = [];
  const totalWeight: number[] = [];
  for (let t = 0; t < h.objective.length; t += stride) {
    step.push(t);
    objective.push(h.objective[t]);
    totalWeight.push(h.totalWeight[t]);
  }
  return {
    version: 1,
    region: regionNumber(result, j),
    of: regionCount(result),
    names: result.names,
    n: result.n,
    d: result.projection?.d ?? result.d,
    center: float32ToBase64(spotlight.center),
    ...(result.projection
      ? {
          projection: {
            mean: float32ToBase64(result.projection.mean),
            components: float32ToBase64(result.projection.matrix),
            rows: result.projection.components
          }
        }
      : {}),
    precision: spotlight.precision,
    parameters: result.options,
    backend: result.search.backend,
    date: result.finishedAt,
    fingerprint: result.fingerprint,
    embeddingsFingerprint: result.embeddingsFingerprint,
    summary: result.regions[j],
    history: { step, objective, totalWeight },
    guardSteps: spotlight.guardSteps
  };
}

namespace Private {
  /**
   * The regions of a result that no saved finding holds (same data
   * fingerprint, audit date and region number).
   *
   * @param result - The result on screen, or null.
   * @param findings - The findings saved in the notebook.
   * @returns Region numbers (from 1), empty when all are saved.
   */
  export function unsavedRegions(
    result: IAuditResult | null,
    findings: IFinding[]
  ): number[] {
    if (!result || !result.regions.length) {
      return [];
    }
    return result.regions
      .map((_, j) => makeFinding(result, j))
      .filter(
        f =>
          !findings.some(
            g =>
              g.fingerprint === f.fingerprint &&
              g.date === f.date &&
              g.region === f.region
          )
      )
      .map(f => f.region);
  }

  /** The notification shown for each kind, by kind. */
  export const notificationIds = new Map<string, string>();

  /**
   * What is wrong with a numeric option of the `run` command, before any
   * work starts (the engine checks the search options again).
   *
   * @param key - The option.
   * @param value - Its value.
   * @returns A phrase, or null when the value is fine.
   */
  export function rangeProblem(key: string, value: number): string | null {
    const whole = Number.isInteger(value);
    switch (key) {
      case 'permutations':
        return whole && value >= 0 && value <= 10000
          ? null
          : 'must be a whole number from 0 (off) to 10,000';
      case 'alpha':
        return value > 0 && value <= 1 ? null : 'must be in (0, 1]';
      case 'seed':
        return whole ? null : 'must be a whole number';
      case 'components':
        return whole && value >= 0
          ? null
          : 'must be a whole number ≥ 0 (0 = off)';
      case 'workers':
        return whole && value >= 0 && value <= 64
          ? null
          : 'must be a whole number from 0 (automatic) to 64';
      case 'count':
      case 'steps':
        return whole && value >= 1 ? null : 'must be a whole number ≥ 1';
      default:
        return Number.isFinite(value) ? null : 'must be a finite number';
    }
  }
}
