/**
 * The Spotlight sidebar panel: a thin view over {@link SpotlightModel}.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import type { Message } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { CommandIds } from '../commandIds';
import { regionNumber, SpotlightModel } from '../model';
import { spotlightSizeFromFraction } from '../spotlight';
import { defaultEnvironment, softwareWebGLWarning } from '../spotlight/backend';
import { IAuditOptions, kernelRole, Role, ROLES } from '../tokens';
import { embeddingsRefusal, parseNumberInput, setupSummary } from './choices';

/**
 * The panel widget.
 */
export class SpotlightPanel extends Widget {
  /**
   * @param options - The model (owned by the panel), commands and translations.
   */
  constructor(options: SpotlightPanel.IOptions) {
    super();
    this.id = 'jupyterlab-spotlight-panel';
    this.addClass('jp-SpotlightPanel');
    this.model = options.model;
    this._commands = options.commands;
    this._trans = options.trans;
    this.title.caption = this._trans.__(
      'Spotlight: find where the model fails'
    );
    this._build();
    this.model.changed.connect(this._onModelChanged, this);
    this._renderAll();
  }

  /** The panel's model. */
  readonly model: SpotlightModel;

  /** Dispose the panel and its model. */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    Signal.clearData(this);
    super.dispose();
  }

  /** Emitted each time the panel becomes visible. */
  get shown(): ISignal<this, void> {
    return this._shown;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._shown.emit();
  }

  private _build(): void {
    const trans = this._trans;
    const node = this.node;

    this._header = el('div', 'jp-SpotlightPanel-header');
    const title = el('h2', 'jp-SpotlightPanel-title');
    title.textContent = trans.__('Spotlight');
    this._context = el('div', 'jp-SpotlightPanel-context');
    const refresh = el(
      'button',
      'jp-Button jp-mod-styled jp-mod-reject jp-SpotlightPanel-refresh'
    ) as HTMLButtonElement;
    refresh.textContent = trans.__('Refresh');
    refresh.title = trans.__("List the kernel's variables again");
    refresh.addEventListener('click', () => void this.model.refresh());
    const reopen = el(
      'button',
      'jp-Button jp-mod-styled jp-mod-reject jp-SpotlightPanel-reopen'
    ) as HTMLButtonElement;
    reopen.textContent = trans.__('Saved findings');
    reopen.title = trans.__(
      'Reopen the findings saved in this notebook, without searching again'
    );
    reopen.addEventListener('click', () => {
      this._commands.execute(CommandIds.openFindings).catch(reason => {
        console.debug('Spotlight: reopening ended', reason);
      });
    });
    this._header.append(title, this._context, refresh, reopen);

    this._empty = el('div', 'jp-SpotlightPanel-empty');

    this._inputs = el('form', 'jp-SpotlightPanel-inputs') as HTMLFormElement;
    this._inputs.addEventListener('submit', event => {
      event.preventDefault();
      this._run();
    });
    const pickers = el('fieldset', 'jp-SpotlightPanel-pickers');
    const legend = el('legend');
    legend.textContent = trans.__('Data');
    pickers.appendChild(legend);
    for (const role of ROLES) {
      const id = `jp-Spotlight-pick-${role}`;
      const row = el('div', 'jp-SpotlightPanel-field');
      const label = el('label') as HTMLLabelElement;
      label.htmlFor = id;
      label.textContent = Private.roleLabel(trans, role);
      const select = el('select', 'jp-mod-styled') as HTMLSelectElement;
      select.id = id;
      select.dataset.role = role;
      select.addEventListener('change', () =>
        this.model.select(role, select.value || null)
      );
      const problem = el('div', 'jp-SpotlightPanel-problem');
      problem.id = `${id}-problem`;
      problem.setAttribute('aria-live', 'polite');
      select.setAttribute('aria-describedby', problem.id);
      row.append(label, select, problem);
      pickers.appendChild(row);
      this._pickers.set(role, { select, problem });
      if (role === 'metadata') {
        this._columns = el('div', 'jp-SpotlightPanel-columns');
        this._columns.setAttribute('aria-live', 'polite');
        pickers.appendChild(this._columns);
      }
    }

    const opts = el('fieldset', 'jp-SpotlightPanel-options');
    const legend2 = el('legend');
    legend2.textContent = trans.__('Search');
    opts.appendChild(legend2);
    const numberField = (
      key: keyof IAuditOptions,
      label: string,
      limits: Private.ILimits
    ) => {
      const id = `jp-Spotlight-opt-${key}`;
      const row = el('div', 'jp-SpotlightPanel-field');
      const l = el('label') as HTMLLabelElement;
      l.htmlFor = id;
      l.textContent = label;
      const input = el('input', 'jp-mod-styled') as HTMLInputElement;
      input.id = id;
      // Text, not type=number: the browser's number field reads "0,02" as
      // nothing or as 2 depending on its language; ours reads it as 0.02
      // or says why not (choices.ts).
      input.type = 'text';
      input.inputMode = limits.integer ? 'numeric' : 'decimal';
      input.autocomplete = 'off';
      input.spellcheck = false;
      const problem = el('div', 'jp-SpotlightPanel-problem');
      problem.id = `${id}-problem`;
      problem.setAttribute('aria-live', 'polite');
      input.setAttribute('aria-describedby', problem.id);
      input.addEventListener('input', () => {
        // An invalid value is shown as such and blocks the run; it never
        // runs silently with the previous value.
        const parsed = parseNumberInput(
          input.value,
          navigator.language || 'en-US'
        );
        const error =
          'error' in parsed
            ? trans.__(parsed.error)
            : Private.limitProblem(trans, parsed.value, limits);
        problem.textContent = error ?? '';
        input.setAttribute('aria-invalid', error ? 'true' : 'false');
        if (!error && 'value' in parsed) {
          this._invalid.delete(key);
          this.model.setOptions({
            [key]: parsed.value
          } as Partial<IAuditOptions>);
        } else {
          this._invalid.add(key);
          this._renderInputs();
        }
      });
      row.append(l, input, problem);
      opts.appendChild(row);
      this._optionInputs.set(key, input);
      return row;
    };
    const sizeRow = numberField(
      'spotlightSize',
      trans.__('Spotlight size (fraction)'),
      { min: 0, max: 1, exclusive: true }
    );
    this._sizeHint = el('div', 'jp-SpotlightPanel-hint');
    this._sizeHint.id = 'jp-Spotlight-size-hint';
    this._optionInputs
      .get('spotlightSize')!
      .setAttribute('aria-describedby', this._sizeHint.id);
    sizeRow.appendChild(this._sizeHint);
    numberField('count', trans.__('Number of spotlights'), {
      min: 1,
      max: 50,
      integer: true
    });
    numberField('steps', trans.__('Steps'), { min: 1, integer: true });
    numberField('learningRate', trans.__('Learning rate'), {
      min: 0,
      exclusive: true
    });
    numberField('barrierScale', trans.__('Barrier scale'), {
      min: 0,
      exclusive: true
    });
    numberField('components', trans.__('Principal components (0 = off)'), {
      min: 0,
      max: 1024,
      integer: true
    });
    numberField(
      'permutations',
      trans.__('Significance test: null searches (0 = off)'),
      { min: 0, max: 10000, integer: true }
    );
    const backendRow = el('div', 'jp-SpotlightPanel-field');
    const backendLabel = el('label') as HTMLLabelElement;
    backendLabel.htmlFor = 'jp-Spotlight-opt-backend';
    backendLabel.textContent = trans.__('Backend');
    this._backend = el('select', 'jp-mod-styled') as HTMLSelectElement;
    this._backend.id = 'jp-Spotlight-opt-backend';
    for (const b of ['auto', 'webgl', 'wasm', 'cpu']) {
      const o = el('option') as HTMLOptionElement;
      o.value = b;
      o.textContent = b;
      this._backend.appendChild(o);
    }
    this._backend.addEventListener('change', () =>
      this.model.setOptions({
        backend: this._backend.value as IAuditOptions['backend']
      })
    );
    this._backendHint = el('div', 'jp-SpotlightPanel-hint jp-mod-warning');
    this._backendHint.id = 'jp-Spotlight-backend-warning';
    this._backendHint.setAttribute('aria-live', 'polite');
    this._backend.setAttribute('aria-describedby', this._backendHint.id);
    backendRow.append(backendLabel, this._backend, this._backendHint);
    opts.appendChild(backendRow);
    const directionRow = el('div', 'jp-SpotlightPanel-field');
    const directionLabel = el('label') as HTMLLabelElement;
    directionLabel.htmlFor = 'jp-Spotlight-opt-direction';
    directionLabel.textContent = trans.__('Compare (with reference losses)');
    this._direction = el('select', 'jp-mod-styled') as HTMLSelectElement;
    this._direction.id = 'jp-Spotlight-opt-direction';
    for (const [value, text] of [
      ['regression', trans.__('where model B is worse than A')],
      ['improvement', trans.__('where model B is better than A')]
    ]) {
      const o = el('option') as HTMLOptionElement;
      o.value = value;
      o.textContent = text;
      this._direction.appendChild(o);
    }
    this._direction.addEventListener('change', () =>
      this.model.setOptions({
        direction: this._direction.value as IAuditOptions['direction']
      })
    );
    directionRow.append(directionLabel, this._direction);
    opts.appendChild(directionRow);

    const actions = el('div', 'jp-SpotlightPanel-actions');
    this._runButton = el(
      'button',
      'jp-Button jp-mod-styled jp-mod-accept jp-SpotlightPanel-run'
    ) as HTMLButtonElement;
    this._runButton.type = 'submit';
    this._runButton.textContent = trans.__('Find spotlights');
    this._cancelButton = el(
      'button',
      'jp-Button jp-mod-styled jp-mod-warn jp-SpotlightPanel-cancel'
    ) as HTMLButtonElement;
    this._cancelButton.type = 'button';
    this._cancelButton.textContent = trans.__('Cancel');
    this._cancelButton.addEventListener('click', () => this.model.cancel());
    actions.append(this._runButton, this._cancelButton);
    this._setup = el(
      'details',
      'jp-SpotlightPanel-setup'
    ) as HTMLDetailsElement;
    this._setup.open = true;
    this._setupSummary = el('summary');
    this._setup.append(this._setupSummary, pickers, opts);
    this._inputs.append(this._setup, actions);

    this._status = el('div', 'jp-SpotlightPanel-status');
    this._status.setAttribute('role', 'status');
    this._status.setAttribute('aria-live', 'polite');
    this._progressBar = el(
      'progress',
      'jp-SpotlightPanel-progress'
    ) as HTMLProgressElement;
    this._progressBar.max = 1;
    this._progressText = el('div', 'jp-SpotlightPanel-progressText');
    this._errorBox = el('div', 'jp-SpotlightPanel-error');
    this._errorBox.setAttribute('role', 'alert');
    this._warningBox = el('div', 'jp-SpotlightPanel-warning');
    this._warningBox.setAttribute('role', 'status');
    this._status.append(
      this._progressText,
      this._progressBar,
      this._errorBox,
      this._warningBox
    );

    this._results = el('section', 'jp-SpotlightPanel-results');
    const resultsHeader = el('div', 'jp-SpotlightPanel-resultsHeader');
    this._resultsTitle = el('h3');
    const saveAll = el(
      'button',
      'jp-Button jp-mod-styled jp-mod-reject jp-SpotlightPanel-saveAll'
    ) as HTMLButtonElement;
    saveAll.textContent = trans.__('Save all to notebook');
    saveAll.addEventListener('click', () => this._save('all'));
    resultsHeader.append(this._resultsTitle, saveAll);
    this._regionList = el('ul', 'jp-SpotlightPanel-regions');
    this._regionList.setAttribute('role', 'listbox');
    this._regionList.setAttribute('aria-label', trans.__('Regions found'));
    this._regionList.tabIndex = 0;
    this._regionList.addEventListener('keydown', event =>
      this._onRegionKey(event)
    );
    this._results.append(resultsHeader, this._regionList);

    node.append(
      this._header,
      this._empty,
      this._inputs,
      this._status,
      this._results
    );
  }

  private _onModelChanged(
    _: SpotlightModel,
    change: SpotlightModel.Change
  ): void {
    switch (change) {
      case 'progress':
      case 'waiting':
        this._renderStatus();
        break;
      case 'result':
        // Results take the room: fold the set-up away (one click reopens it).
        this._setup.open = !this.model.result;
        this._renderStatus();
        this._renderResults();
        break;
      case 'region':
        this._renderRegionSelection();
        break;
      default:
        this._renderAll();
    }
  }

  private _renderAll(): void {
    this._renderContext();
    this._renderInputs();
    this._renderStatus();
    this._renderResults();
  }

  private _renderContext(): void {
    const trans = this._trans;
    const m = this.model;
    const kernel = m.sessionContext?.session?.kernel;
    if (!m.sessionContext) {
      this._context.textContent = '';
      this._empty.textContent = trans.__(
        'Open a notebook to audit the model in its kernel.'
      );
    } else if (!kernel) {
      this._context.textContent = m.notebookLabel;
      this._empty.textContent = trans.__(
        'This notebook has no kernel. Start one to list its arrays.'
      );
    } else if (m.listed && m.variables.length === 0) {
      this._context.textContent = `${m.notebookLabel} · ${m.sessionContext.kernelDisplayName}`;
      this._empty.textContent = trans.__(
        'No arrays yet. Run the cells that compute your embeddings and losses; the list refreshes after each cell.'
      );
    } else {
      this._context.textContent = `${m.notebookLabel} · ${m.sessionContext.kernelDisplayName}`;
      this._empty.textContent = m.listed
        ? ''
        : trans.__('Listing the kernel’s variables…');
    }
    this._empty.hidden = this._empty.textContent === '';
    this._inputs.hidden = !m.sessionContext;
  }

  private _renderInputs(): void {
    const m = this.model;
    const trans = this._trans;
    const problems = m.selectionProblems();
    for (const role of ROLES) {
      const { select, problem } = this._pickers.get(role)!;
      const current = m.selection[role];
      const options = m.variables.filter(v =>
        v.roles.includes(kernelRole(role))
      );
      select.replaceChildren();
      const none = el('option') as HTMLOptionElement;
      none.value = '';
      none.textContent =
        role === 'embeddings' || role === 'losses'
          ? trans.__('— choose —')
          : trans.__('— none —');
      select.appendChild(none);
      for (const v of options) {
        const o = el('option') as HTMLOptionElement;
        o.value = v.name;
        o.textContent =
          `${v.name}  ${v.shape ? `(${v.shape.join(' × ')})` : ''} ${v.dtype ?? ''}`.trim();
        select.appendChild(o);
      }
      if (role === 'embeddings') {
        for (const v of m.variables) {
          const why = embeddingsRefusal(v);
          if (!why) {
            continue;
          }
          const o = el('option') as HTMLOptionElement;
          o.value = v.name;
          o.disabled = true;
          o.textContent = trans.__('%1 — not usable: %2', v.name, why);
          o.title = o.textContent;
          o.dataset.refused = 'true';
          select.appendChild(o);
        }
      }
      if (
        current &&
        !options.some(v => v.name === current) &&
        !(role === 'embeddings' && m.variables.some(v => v.name === current))
      ) {
        const o = el('option') as HTMLOptionElement;
        o.value = current;
        o.textContent = current;
        select.appendChild(o);
      }
      select.value = current ?? '';
      problem.textContent = problems[role] ?? '';
      select.setAttribute('aria-invalid', problems[role] ? 'true' : 'false');
    }
    this._renderColumns();
    for (const [key, input] of this._optionInputs) {
      // A value being typed, or an invalid one still shown with its
      // error, is the user's: never swap the old valid value back in.
      if (document.activeElement !== input && !this._invalid.has(key)) {
        input.value = String(m.options[key]);
      }
    }
    this._backend.value = m.options.backend;
    this._direction.value = m.options.direction;
    this._direction.disabled = !m.selection.referenceLosses;
    this._direction.title = m.selection.referenceLosses
      ? ''
      : trans.__('Choose reference losses (model A) to compare two models.');
    this._renderSetupSummary();
    const emb = m.variables.find(v => v.name === m.selection.embeddings);
    const n = emb?.length;
    this._sizeHint.textContent = n
      ? trans.__(
          'S = %1 of N = %2 examples',
          spotlightSizeFromFraction(m.options.spotlightSize, n).toLocaleString(
            'en-US'
          ),
          n.toLocaleString('en-US')
        )
      : '';
    if (this._invalid.has('spotlightSize')) {
      this._sizeHint.textContent = '';
    }
    const why = m.isRunning
      ? trans.__('An audit is running.')
      : !m.sessionContext
        ? trans.__('Open a notebook with a Python kernel first.')
        : problems.embeddings || problems.losses
          ? trans.__('Fix the embeddings and losses above first.')
          : this._invalid.size > 0
            ? trans.__('Fix the search options above first.')
            : '';
    this._runButton.disabled = !!why;
    this._runButton.title = why;
    this._cancelButton.hidden = !m.isRunning;
  }

  /**
   * The set-up summary and the backend warning: while a run runs, its own
   * options (a scripted run's may differ from the fields); with results on
   * screen, what made them; else the fields.
   */
  private _renderSetupSummary(): void {
    const m = this.model;
    const trans = this._trans;
    const result = m.result;
    const running = m.runningOptions;
    this._setupSummary.textContent = running
      ? trans.__('Running: %1', setupSummary(m.selection, running))
      : result && result.search.backend
        ? trans.__(
            'Last run: %1',
            setupSummary(result.names, result.options, result.search.backend)
          )
        : trans.__('Set-up: %1', setupSummary(m.selection, m.options));
    this._setupSummary.title = trans.__(
      'What the audit ran on and how; open to change it (the fields show the options of the next run)'
    );
    const webglWarning =
      m.options.backend === 'webgl' || running?.backend === 'webgl'
        ? softwareWebGLWarning('webgl', defaultEnvironment.probeWebGL())
        : null;
    this._backendHint.textContent = webglWarning ?? '';
    this._backendHint.hidden = !webglWarning;
  }

  private _renderStatus(): void {
    const m = this.model;
    const trans = this._trans;
    const p = m.progress;
    const running = m.isRunning;
    this._status.dataset.stage = p.stage;
    this._progressBar.hidden = !running;
    this._progressBar.value = p.fraction;
    const stageName: Record<string, string> = {
      idle: '',
      fetching: trans.__('Fetching'),
      searching: trans.__('Searching'),
      summarising: trans.__('Summarising'),
      testing: trans.__('Significance test'),
      done: trans.__('Done'),
      error: ''
    };
    const stage = stageName[p.stage];
    let text = stage && p.detail ? `${stage}: ${p.detail}` : stage || p.detail;
    if (m.waitingForKernel) {
      text = trans.__(
        'Waiting for the kernel to answer (it may be busy running a cell)… Cancel to stop waiting.'
      );
    }
    this._progressText.textContent = text;
    this._errorBox.textContent = m.error ?? '';
    this._errorBox.hidden = !m.error;
    const runningWebGL =
      running && m.runningOptions?.backend === 'webgl'
        ? softwareWebGLWarning('webgl', defaultEnvironment.probeWebGL())
        : null;
    const warnings = runningWebGL ? [runningWebGL] : (m.result?.warnings ?? []);
    this._warningBox.textContent = warnings.join('\n');
    this._warningBox.hidden =
      (running && !runningWebGL) || warnings.length === 0;
    this._runButton.disabled = running || this._runButton.disabled;
    this._cancelButton.hidden = !running && !m.waitingForKernel;
    this._renderResultsTitle();
    if (!running) {
      this._renderInputs();
    } else {
      this._renderSetupSummary();
    }
  }

  /**
   * The results' title. While an audit runs and has found no region yet,
   * the results shown are the previous audit's: the title says so.
   */
  private _renderResultsTitle(): void {
    const m = this.model;
    const result = m.result;
    const trans = this._trans;
    if (!result) {
      return;
    }
    this._resultsTitle.textContent =
      !result.complete && m.isRunning
        ? trans.__(
            '%1 of %2 regions so far…',
            result.regions.length,
            result.options.count
          )
        : m.isRunning && m.stage !== 'testing'
          ? trans.__(
              'Previous results: %1 regions · backend %2',
              result.regions.length,
              result.search.backend
            )
          : trans.__(
              '%1 regions · backend %2',
              result.regions.length,
              result.search.backend
            );
    this._resultsTitle.title = result.search.backendReason;
  }

  private _renderResults(): void {
    const m = this.model;
    const result = m.result;
    const trans = this._trans;
    this._results.hidden = !result;
    this._regionList.replaceChildren();
    if (!result) {
      return;
    }
    this._renderResultsTitle();
    result.regions.forEach((r, j) => {
      const li = el('li', 'jp-SpotlightRegion');
      li.id = `jp-SpotlightRegion-${j}`;
      li.setAttribute('role', 'option');
      li.dataset.region = String(j);
      const head = el('div', 'jp-SpotlightRegion-head');
      const name = el('span', 'jp-SpotlightRegion-name');
      const number = regionNumber(result, j);
      name.textContent = r.name
        ? trans.__('%1 · %2', number, r.name)
        : trans.__('Region %1', number);
      name.title = r.name
        ? trans.__(
            'Region %1: what sets it apart most from the rest of the data (the region view lists everything)',
            number
          )
        : trans.__('Region %1', number);
      const lift = el('span', 'jp-SpotlightRegion-lift');
      const c = r.comparison;
      if (c) {
        const diff = c.weightedLossDifference;
        lift.textContent = trans.__(
          'B %1 loss vs A',
          `${diff >= 0 ? '+' : '−'}${Math.abs(diff).toFixed(2)}`
        );
        lift.title = trans.__(
          "Kernel-weighted mean of model B's loss minus model A's in the region (over all examples: %1)",
          c.overallLossDifference.toFixed(3)
        );
      } else {
        lift.textContent =
          r.liftIntervalKind === 'holdout'
            ? trans.__('%1× mean loss (held out)', r.lift.toFixed(2))
            : trans.__('%1× mean loss', r.lift.toFixed(2));
        lift.title = trans.__(
          'Weighted mean loss in the region divided by the overall mean loss'
        );
      }
      const save = el(
        'button',
        'jp-Button jp-mod-styled jp-mod-minimal jp-SpotlightRegion-save'
      ) as HTMLButtonElement;
      save.textContent = trans.__('Save');
      save.title = trans.__(
        'Save region %1 to the notebook as cells that recreate it (saving again updates those cells)',
        number
      );
      save.setAttribute('aria-label', save.title);
      save.addEventListener('click', event => {
        event.stopPropagation();
        this._save(j);
      });
      head.append(name, lift, save);
      const facts = el('div', 'jp-SpotlightRegion-facts');
      // Each statistic is a span with a plain-words tooltip; a line is a
      // list of [text, tooltip] pieces joined by " · ".
      const tip = Private.statisticTips(trans);
      const kAndSupport: Private.Line = [
        [trans.__('K %1', r.totalWeight.toFixed(1)), tip.totalWeight],
        [
          trans.__('support %1', r.supportSize.toLocaleString('en-US')),
          tip.support
        ]
      ];
      const lines: Private.Line[] = c
        ? [
            [
              [
                trans.__(
                  'model B loss %1 vs model A %2 in this region (overall %3 vs %4)',
                  r.weightedLossOriginal.toFixed(2),
                  c.weightedLossReference.toFixed(2),
                  r.overallLoss.toFixed(2),
                  c.overallLossReference.toFixed(2)
                ),
                tip.comparedLoss
              ]
            ],
            kAndSupport
          ]
        : [
            [
              [
                trans.__(
                  r.liftIntervalKind === 'holdout'
                    ? 'loss %1 vs %2 overall on all data'
                    : 'loss %1 vs %2 overall',
                  r.weightedLossOriginal.toFixed(3),
                  r.overallLoss.toFixed(3)
                ),
                tip.loss
              ],
              ...kAndSupport
            ]
          ];
      const second: Private.Line = [];
      if (c && c.accuracyReference !== null && r.accuracy !== null) {
        second.push([
          trans.__(
            'accuracy B %1 vs A %2',
            `${(r.accuracy * 100).toFixed(1)}%`,
            `${(c.accuracyReference * 100).toFixed(1)}%`
          ),
          tip.comparedAccuracy
        ]);
      } else if (r.accuracy !== null && r.overallAccuracy !== null) {
        second.push([
          trans.__(
            'accuracy %1 vs %2',
            `${(r.accuracy * 100).toFixed(1)}%`,
            `${(r.overallAccuracy * 100).toFixed(1)}%`
          ),
          tip.accuracy
        ]);
      }
      if (r.labels.length) {
        second.push([
          trans.__(
            'label %1 is %2% of it',
            r.labels[0].value,
            (r.labels[0].region * 100).toFixed(0)
          ),
          trans.__(
            "Examples labelled %1 carry %2% of the region's kernel weight, against %3% of all examples.",
            r.labels[0].value,
            (r.labels[0].region * 100).toFixed(0),
            (r.labels[0].overall * 100).toFixed(0)
          )
        ]);
      }
      if (c && c.disagreement !== null) {
        second.push([
          trans.__('models disagree on %1%', (c.disagreement * 100).toFixed(0)),
          tip.disagreement
        ]);
      }
      if (second.length) {
        lines.push(second);
      }
      const overlaps = result.overlaps[j]
        .map((o, k) => ({ o, k }))
        .filter(({ k, o }) => k !== j && o >= 0.05)
        .map(
          ({ o, k }) => `${regionNumber(result, k)} (${(o * 100).toFixed(0)}%)`
        );
      if (overlaps.length) {
        lines.push([
          [trans.__('overlaps region %1', overlaps.join(', ')), tip.overlap]
        ]);
      }
      for (const line of lines) {
        const div = el('div');
        line.forEach(([text, title], i) => {
          if (i > 0) {
            div.append(' · ');
          }
          const span = el('span', 'jp-SpotlightRegion-stat');
          span.textContent = text;
          span.title = title;
          div.appendChild(span);
        });
        facts.appendChild(div);
      }
      const trust = el('div', 'jp-SpotlightRegion-trust');
      const parts: string[] = [];
      if (r.pValue !== undefined && r.pValue !== null) {
        const p = r.pValue < 0.001 ? '< 0.001' : `= ${r.pValue.toFixed(3)}`;
        parts.push(
          r.significant
            ? trans.__('p %1', p)
            : trans.__('not significant (p %1)', p)
        );
      } else if (m.progress.stage === 'testing') {
        parts.push(trans.__('testing…'));
      }
      const between = r.comparison?.differenceInterval;
      if (between) {
        const signed = (x: number) =>
          `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
        parts.push(
          trans.__(
            'B − A %1 (95 % interval %2 to %3, %4)',
            signed(r.comparison!.weightedLossDifference),
            signed(between[0]),
            signed(between[1]),
            r.liftIntervalKind === 'holdout'
              ? trans.__('held out')
              : trans.__('in-sample')
          )
        );
      } else if (r.liftInterval) {
        parts.push(
          trans.__(
            'lift %1× (95 % interval %2–%3, %4)',
            r.lift.toFixed(2),
            r.liftInterval[0].toFixed(2),
            r.liftInterval[1].toFixed(2),
            r.liftIntervalKind === 'holdout'
              ? trans.__('held out')
              : trans.__('in-sample')
          )
        );
      }
      trust.textContent = parts.join(' · ');
      trust.title = trans.__(
        "p: the share of %1 searches on permuted losses (no link between embedding and loss) whose best region was at least this bad: a small p means the region is unlikely to be selection bias alone. The lift interval is a 95 % bootstrap interval; 'in-sample' intervals come from the same data that chose the region and lean high, 'held out' ones are measured on examples the search never saw.",
        String(result.significance?.permutations ?? m.options.permutations)
      );
      if (parts.length) {
        facts.appendChild(trust);
      }
      if (r.significant === false) {
        li.classList.add('jp-mod-notSignificant');
      }
      if (r.note) {
        const note = el('div', 'jp-SpotlightRegion-note');
        note.textContent = r.note;
        facts.appendChild(note);
      }
      const guardSteps = result.search.spotlights[j]?.guardSteps ?? 0;
      if (guardSteps > 0) {
        const guard = el('div', 'jp-SpotlightRegion-guard');
        guard.textContent = trans.__(
          'collapse guard acted at %1 steps',
          guardSteps.toLocaleString('en-US')
        );
        guard.title = trans.__(
          'The search kept shrinking this spotlight below the spotlight size around a few examples with very high loss; the guard rejected those steps to keep its total weight K at least S. The region is compact: its loss comes from its heaviest examples.'
        );
        facts.appendChild(guard);
      }
      li.append(head, facts);
      li.addEventListener('click', () => this._inspect(j));
      this._regionList.appendChild(li);
    });
    this._renderRegionSelection();
  }

  private _renderRegionSelection(): void {
    const m = this.model;
    const j = m.selectedRegion;
    for (const li of Array.from(this._regionList.children)) {
      const selected = Number((li as HTMLElement).dataset.region) === j;
      li.classList.toggle('jp-mod-selected', selected);
      li.setAttribute('aria-selected', selected ? 'true' : 'false');
    }
    if (j >= 0) {
      this._regionList.setAttribute(
        'aria-activedescendant',
        `jp-SpotlightRegion-${j}`
      );
    }
  }

  private _onRegionKey(event: KeyboardEvent): void {
    const m = this.model;
    const count = m.result?.regions.length ?? 0;
    if (!count) {
      return;
    }
    let j = m.selectedRegion;
    switch (event.key) {
      case 'ArrowDown':
        j = Math.min(count - 1, j + 1);
        break;
      case 'ArrowUp':
        j = Math.max(0, j - 1);
        break;
      case 'Home':
        j = 0;
        break;
      case 'End':
        j = count - 1;
        break;
      case 'Enter':
      case ' ':
        event.preventDefault();
        this._inspect(Math.max(0, j));
        return;
      default:
        return;
    }
    event.preventDefault();
    m.selectRegion(j);
    this._regionList.children[j]?.scrollIntoView?.({ block: 'nearest' });
  }

  private _run(): void {
    this._commands.execute(CommandIds.run).catch(reason => {
      console.debug('Spotlight: run ended', reason);
    });
  }

  private _inspect(region: number): void {
    this._commands
      .execute(CommandIds.inspectRegion, { region, activate: false })
      .catch(reason => {
        console.debug('Spotlight: inspecting ended', reason);
      });
  }

  private _save(region: number | 'all'): void {
    this._commands.execute(CommandIds.saveFinding, { region }).catch(reason => {
      console.debug('Spotlight: save ended', reason);
    });
  }

  private _shown = new Signal<this, void>(this);
  private _commands: CommandRegistry;
  private _trans: TranslationBundle;
  private _header!: HTMLElement;
  private _context!: HTMLElement;
  private _empty!: HTMLElement;
  private _inputs!: HTMLFormElement;
  private _setup!: HTMLDetailsElement;
  private _setupSummary!: HTMLElement;
  /**
   * The chosen metadata table's columns, as the kernel checked them: each
   * with its kind, dtype and missing values and a box to include it;
   * columns that cannot explain anything with the kernel's reason.
   */
  private _renderColumns(): void {
    const m = this.model;
    const trans = this._trans;
    const info = m.metadataInfo;
    const host = this._columns;
    host.replaceChildren();
    host.hidden = !info || (!info.checking && !info.columns.length);
    if (!info || host.hidden) {
      return;
    }
    if (info.checking) {
      host.textContent = trans.__('Checking the columns of %1…', info.name);
      return;
    }
    const chosen = m.selection.metadataColumns ?? null;
    const details = el('details') as HTMLDetailsElement;
    details.open = this._columnsOpen;
    details.addEventListener('toggle', () => {
      this._columnsOpen = details.open;
    });
    const summary = el('summary');
    const included = chosen
      ? info.columns.filter(c => chosen.includes(c.name)).length
      : info.columns.length;
    summary.textContent = trans.__(
      'Explain regions by %1 of %2 columns',
      included,
      info.columns.length
    );
    details.appendChild(summary);
    const list = el('ul', 'jp-SpotlightPanel-columnList');
    for (const column of info.columns) {
      const li = el('li');
      const label = el('label') as HTMLLabelElement;
      const box = el('input') as HTMLInputElement;
      box.type = 'checkbox';
      box.checked = !chosen || chosen.includes(column.name);
      box.dataset.column = column.name;
      box.addEventListener('change', () => {
        const boxes = Array.from(
          list.querySelectorAll<HTMLInputElement>('input[type=checkbox]')
        );
        const names = boxes.filter(b => b.checked).map(b => b.dataset.column!);
        m.selectMetadataColumns(names.length === boxes.length ? null : names);
      });
      const name = el('span', 'jp-SpotlightPanel-columnName');
      name.textContent = column.name;
      const kind = el('span', 'jp-SpotlightPanel-columnKind');
      const missing = column.missing
        ? trans.__(', %1 missing', column.missing.toLocaleString('en-US'))
        : '';
      kind.textContent =
        column.kind === 'categorical'
          ? trans.__(
              'categorical · %1 values%2',
              (column.categories ?? []).length.toLocaleString('en-US'),
              missing
            )
          : trans.__('continuous · %1%2', column.dtype, missing);
      label.append(box, name, kind);
      li.appendChild(label);
      list.appendChild(li);
    }
    for (const skipped of info.skipped) {
      const li = el('li', 'jp-SpotlightPanel-columnSkipped');
      li.textContent = trans.__(
        '%1: not used — %2',
        skipped.name,
        skipped.reason
      );
      list.appendChild(li);
    }
    details.appendChild(list);
    host.appendChild(details);
  }

  private _columns!: HTMLElement;
  private _columnsOpen = false;
  private _pickers = new Map<
    Role,
    { select: HTMLSelectElement; problem: HTMLElement }
  >();
  private _optionInputs = new Map<keyof IAuditOptions, HTMLInputElement>();
  private _sizeHint!: HTMLElement;
  private _backend!: HTMLSelectElement;
  private _backendHint!: HTMLElement;
  private _direction!: HTMLSelectElement;
  private _runButton!: HTMLButtonElement;
  private _cancelButton!: HTMLButtonElement;
  private _status!: HTMLElement;
  private _progressBar!: HTMLProgressElement;
  private _progressText!: HTMLElement;
  private _errorBox!: HTMLElement;
  private _warningBox!: HTMLElement;
  private _invalid = new Set<keyof IAuditOptions>();
  private _results!: HTMLElement;
  private _resultsTitle!: HTMLElement;
  private _regionList!: HTMLElement;
}

/** The SpotlightPanel's namespace. */
export namespace SpotlightPanel {
  /** Options to create the panel. */
  export interface IOptions {
    /** The model; the panel disposes it. */
    model: SpotlightModel;
    /** The application's commands (run, save). */
    commands: CommandRegistry;
    /** Translations. */
    trans: TranslationBundle;
  }
}

function el(tag: string, className = ''): HTMLElement {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  return node;
}

namespace Private {
  /** One line of a card: [text, plain-words tooltip] pieces. */
  export type Line = [string, string][];

  /**
   * Plain-words explanations of the statistics on a region's card.
   *
   * @param trans - Translations.
   * @returns One sentence per statistic.
   */
  export function statisticTips(trans: TranslationBundle) {
    return {
      loss: trans.__(
        "The region's mean loss, each example counted by its kernel weight (1 at the centre, falling to 0 at the edge), against the mean loss of all examples."
      ),
      comparedLoss: trans.__(
        "Model B's and model A's mean losses in the region (each example counted by its kernel weight), and over all examples."
      ),
      totalWeight: trans.__(
        "K, the region's total kernel weight: about how many examples it holds, those near its centre counting fully and those near its edge partly. The search keeps K at least the spotlight size S."
      ),
      support: trans.__(
        'Support: how many examples have any weight in the region (lie inside its ball).'
      ),
      accuracy: trans.__(
        "The share of the region's examples the model classifies correctly (weighted by kernel weight), against its accuracy on all examples."
      ),
      comparedAccuracy: trans.__(
        "Model B's and model A's accuracy on the region's examples, weighted by kernel weight."
      ),
      disagreement: trans.__(
        "The share of the region's examples (weighted by kernel weight) on which models A and B predict different classes."
      ),
      overlap: trans.__(
        "How much of this region's kernel weight it shares with another region: a high overlap means the two regions are much the same examples."
      )
    };
  }

  /** The values a number field takes (schema/plugin.json's limits). */
  export interface ILimits {
    min?: number;
    max?: number;
    /** Whether min and max themselves are excluded. */
    exclusive?: boolean;
    /** Whether the value must be a whole number. */
    integer?: boolean;
  }

  /**
   * What is wrong with a typed value for a field, or null.
   *
   * @param trans - Translations.
   * @param value - The parsed value.
   * @param limits - The field's limits.
   * @returns A sentence, or null when the value is fine.
   */
  export function limitProblem(
    trans: TranslationBundle,
    value: number,
    limits: ILimits
  ): string | null {
    if (limits.integer && !Number.isInteger(value)) {
      return trans.__('Must be a whole number.');
    }
    const { min, max, exclusive } = limits;
    if (min !== undefined && (exclusive ? value <= min : value < min)) {
      return exclusive
        ? trans.__('Must be greater than %1.', min)
        : trans.__('Must be at least %1.', min);
    }
    if (max !== undefined && (exclusive ? value >= max : value > max)) {
      return exclusive
        ? trans.__('Must be less than %1.', max)
        : trans.__('Must be at most %1.', max);
    }
    return null;
  }

  export function roleLabel(trans: TranslationBundle, role: Role): string {
    switch (role) {
      case 'embeddings':
        return trans.__('Embeddings (N × D)');
      case 'losses':
        return trans.__('Losses (N)');
      case 'referenceLosses':
        return trans.__('Reference losses (model A, optional)');
      case 'labels':
        return trans.__('Labels (optional)');
      case 'predictions':
        return trans.__('Predictions (optional)');
      case 'referencePredictions':
        return trans.__('Reference predictions (model A, optional)');
      case 'examples':
        return trans.__('Examples (optional)');
      case 'metadata':
        return trans.__('Metadata (optional)');
    }
  }
}
