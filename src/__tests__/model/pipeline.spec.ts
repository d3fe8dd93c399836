/**
 * The model's run, cancel, failure, restart and reopen flows through a fake
 * audit pipeline: no kernel, no engine. The kernel restart goes through the
 * real path (the session's status → the bridge's `kernelReset` → the model).
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import { PromiseDelegate } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';

import { abortError, isAbortError } from '../../kernel/errors';
import {
  IAuditResult,
  regionCount,
  regionNumber,
  SpotlightModel
} from '../../model';
import { float32ToBase64, IFinding } from '../../notebook/cells';
import { assembleResult, reconstructSearch } from '../../pipeline';
import {
  ISpotlight,
  ISpotlightProgress,
  ISpotlightResult,
  SpotlightRunError
} from '../../spotlight';
import type {
  IAuditData,
  IAuditOptions,
  IAuditPipeline,
  IFetchProgress,
  IProjectionBasis,
  ISelection,
  ISummariseInput
} from '../../tokens';
import { DEFAULT_OPTIONS } from '../../tokens';

type Stage =
  | 'check'
  | 'fetch'
  | 'search'
  | 'summarise'
  | 'reconstruct'
  | 'nullDistribution';

const N = 20;
const D = 2;

/** 20 rows on a 5 × 4 grid; losses rise with the row index. */
function data(): IAuditData {
  const embeddings = new Float32Array(N * D);
  const losses = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    embeddings[i * D] = i % 5;
    embeddings[i * D + 1] = Math.floor(i / 5);
    losses[i] = i / N;
  }
  return {
    n: N,
    d: D,
    embeddings,
    losses,
    referenceLosses: null,
    referencePredictions: null,
    labels: null,
    labelNames: null,
    predictions: null,
    metadata: null,
    metadataNames: null,
    transports: { embeddings: 'comm', losses: 'comm' }
  };
}

/** Spotlight j: all weight on the five rows of grid line 3 − j. */
function spotlight(j: number): ISpotlight {
  const k = new Float32Array(N);
  const row = 3 - j;
  for (let i = row * 5; i < row * 5 + 5; i++) {
    k[i] = 1;
  }
  const losses = data().losses;
  let kl = 0;
  k.forEach((v, i) => (kl += v * losses[i]));
  return {
    center: new Float32Array([2, row]),
    precision: 0.5,
    radius: Math.SQRT2,
    kernelWeights: k,
    normalizedWeights: k.map(v => v / 5),
    totalWeight: 5,
    supportSize: 5,
    weightedLoss: kl / 5,
    weightedLossOriginal: kl / 5,
    initialPrecision: 1,
    startAdjusted: false,
    guardSteps: 0,
    history: {
      objective: new Float32Array([1, 0.5]),
      totalWeight: new Float32Array([20, 5]),
      learningRate: new Float32Array([0.01, 0.01])
    },
    timeMs: 1
  };
}

function searchResult(spotlights: ISpotlight[]): ISpotlightResult {
  return {
    version: 1,
    backend: 'cpu',
    backendReason: 'the fake',
    n: N,
    d: D,
    parameters: {
      size: 5,
      steps: 100,
      count: spotlights.length
    } as ISpotlightResult['parameters'],
    spotlights,
    timings: { totalMs: 2, perSpotlightMs: spotlights.map(() => 1) }
  };
}

/**
 * A pipeline whose stages answer at once with the data above, or fail, or
 * wait (the `hold` stage) until aborted or released.
 */
class FakePipeline implements IAuditPipeline {
  /** The stages in the order they were called ("summarise:partial" too). */
  calls: string[] = [];
  /** The stage that waits; the search waits after its first spotlight. */
  hold: Stage | null = null;
  /** Resolves when the held stage waits. */
  entered = new PromiseDelegate<void>();
  /** Stages that throw, and what. */
  failures: Partial<Record<Stage, unknown>> = {};
  /** How many spotlights the search finds before it throws its failure. */
  searchFailsAfter = 0;
  /** N and D the check answers. */
  shape = { n: N, d: D };
  /** The last fetch's arguments. */
  fetched: { names: ISelection; shape: { n: number; d: number } } | null = null;
  maxBytes = 0;
  /** The last fetch's principal components and saved projection. */
  projected: {
    components?: number;
    projection?: IProjectionBasis | null;
  } | null = null;

  /** Let the held stage go on. */
  release(): void {
    this._release?.();
  }

  async check(
    names: ISelection,
    signal: AbortSignal
  ): Promise<{ n: number; d: number }> {
    await this._enter('check', signal);
    return this.shape;
  }

  async fetch(
    names: ISelection,
    shape: { n: number; d: number },
    options: {
      maxBytes: number;
      signal: AbortSignal;
      onProgress?: (progress: IFetchProgress) => void;
      components?: number;
      projection?: IProjectionBasis | null;
    }
  ): Promise<IAuditData> {
    this.fetched = { names, shape };
    this.projected = {
      components: options.components,
      projection: options.projection
    };
    this.maxBytes = options.maxBytes;
    options.onProgress?.({
      role: 'embeddings',
      name: names.embeddings!,
      done: 0,
      total: 2e6,
      transfer: {
        bytes: 1e6,
        total: 1.6e6,
        megabytesPerSecond: 100,
        transport: 'comm'
      }
    });
    await this._enter('fetch', options.signal);
    return data();
  }

  async search(
    input: IAuditData,
    options: IAuditOptions,
    control: {
      signal: AbortSignal;
      onProgress?: (progress: ISpotlightProgress) => void;
      onSpotlight?: (spotlight: ISpotlight, index: number) => void;
    }
  ): Promise<ISpotlightResult> {
    this.calls.push('search');
    const found: ISpotlight[] = [];
    for (let j = 0; j < options.count; j++) {
      if ('search' in this.failures && j === this.searchFailsAfter) {
        throw this.failures.search;
      }
      control.onProgress?.({
        spotlight: j,
        count: options.count,
        step: options.steps - 1,
        steps: options.steps,
        objective: 0.5,
        totalWeight: 5,
        weightedLoss: 0.5,
        learningRate: 0.01
      });
      found.push(spotlight(j));
      control.onSpotlight?.(found[j], j);
      if (this.hold === 'search' && j === 0) {
        await this._wait(control.signal);
      }
    }
    return searchResult(found);
  }

  async summarise(
    input: ISummariseInput,
    signal: AbortSignal
  ): Promise<IAuditResult> {
    if (!input.complete) {
      this.calls.push('summarise:partial');
      return assembleResult(input);
    }
    await this._enter('summarise', signal);
    return assembleResult(input);
  }

  async reconstruct(
    findings: IFinding[],
    input: IAuditData,
    signal: AbortSignal
  ): Promise<ISpotlightResult> {
    await this._enter('reconstruct', signal);
    return reconstructSearch(findings, input);
  }

  /** The null maxima the test answers with. */
  nulls = new Float64Array([0.1, 0.2, 0.3, 5]);

  async nullDistribution(
    input: IAuditData,
    options: IAuditOptions,
    control: {
      signal: AbortSignal;
      onProgress?: (done: number, total: number) => void;
    }
  ): Promise<Float64Array> {
    await this._enter('nullDistribution', control.signal);
    control.onProgress?.(this.nulls.length, this.nulls.length);
    return this.nulls;
  }

  private async _enter(stage: Stage, signal: AbortSignal): Promise<void> {
    this.calls.push(stage);
    if (stage in this.failures) {
      throw this.failures[stage];
    }
    if (this.hold === stage) {
      await this._wait(signal);
    }
  }

  /** Wait until aborted (reject) or released (resolve). */
  private _wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(abortError('The fake stage'));
        return;
      }
      signal.addEventListener('abort', () =>
        reject(abortError('The fake stage'))
      );
      this._release = resolve;
      this.entered.resolve();
    });
  }

  private _release: (() => void) | null = null;
}

/** The parts of a session context the bridge listens to. */
class FakeSession {
  readonly kernelChanged = new Signal<this, unknown>(this);
  readonly statusChanged = new Signal<this, string>(this);
  readonly session = null;
}

/** Let pending promise callbacks and timers run. */
function tick(): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, 0));
}

describe('SpotlightModel through a fake pipeline', () => {
  let pipeline: FakePipeline;
  let session: FakeSession;
  let model: SpotlightModel;
  let changes: SpotlightModel.Change[];
  let stages: string[];
  let errors: jest.SpyInstance;

  beforeEach(() => {
    errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    pipeline = new FakePipeline();
    session = new FakeSession();
    const bridges: unknown[] = [];
    model = new SpotlightModel({
      options: { count: 2, steps: 100, permutations: 0 },
      settings: { transferBudgetBytes: 12345, maxMapPoints: 100 },
      pipeline: bridge => {
        bridges.push(bridge);
        return pipeline;
      }
    });
    model.setNotebook(session as unknown as ISessionContext, 'fake.ipynb');
    expect(bridges).toHaveLength(1);
    expect(bridges[0]).toBe(model.bridge);
    model.select('embeddings', 'emb');
    model.select('losses', 'loss');
    changes = [];
    stages = [];
    model.changed.connect((_, change) => {
      changes.push(change);
      if (change === 'progress' && stages[stages.length - 1] !== model.stage) {
        stages.push(model.stage);
      }
    });
  });

  afterEach(() => {
    model.dispose();
    errors.mockRestore();
  });

  /** A first, successful run whose result later runs must keep. */
  async function firstRun(): Promise<IAuditResult> {
    const result = await model.run();
    model.selectRegion(1);
    pipeline.calls = [];
    pipeline.entered = new PromiseDelegate<void>();
    changes = [];
    stages = [];
    return result;
  }

  it('runs the significance test after the regions are shown and puts p-values on them', async () => {
    pipeline.nulls = new Float64Array([0.1, 0.2, 0.3, 0.7]);
    let shownUntested = false;
    model.changed.connect((_, change) => {
      if (change === 'result' && model.stage === 'done' && !shownUntested) {
        shownUntested = model.result!.regions.every(r => r.pValue === null);
      }
    });
    const runningWhenDone: boolean[] = [];
    model.changed.connect((_, change) => {
      if (change === 'progress' && model.stage === 'done') {
        runningWhenDone.push(model.isRunning);
      }
    });
    const result = await model.run({ permutations: 4, alpha: 0.25 });
    expect(shownUntested).toBe(true);
    // The views render 'done' as not running (the Run button comes back).
    expect(runningWhenDone[runningWhenDone.length - 1]).toBe(false);
    expect(pipeline.calls[pipeline.calls.length - 1]).toBe('nullDistribution');
    expect(stages).toEqual([
      'fetching',
      'searching',
      'summarising',
      'done',
      'testing',
      'done'
    ]);
    // Region 1 (weighted loss 0.85): no null ≥ it → p = 1 / 5; region 2
    // (0.6): one null (0.7) ≥ it → p = 2 / 5.
    expect(result.regions.map(r => r.pValue)).toEqual([0.2, 0.4]);
    expect(result.regions.map(r => r.significant)).toEqual([true, false]);
    expect(result.significance).toMatchObject({
      permutations: 4,
      alpha: 0.25,
      scheme: 'permute'
    });
    expect(model.result).toBe(result);
    expect(model.progress.detail).toBe(
      '2 regions · cpu · 1 of 2 significant (p ≤ 0.25)'
    );
    const summary = model.summary()!;
    expect(summary.regions[0].pValue).toBe(0.2);
    expect(summary.significance).toMatchObject({ permutations: 4 });
  });

  it('a cancelled or failed significance test keeps the regions, untested', async () => {
    pipeline.hold = 'nullDistribution';
    const run = model.run({ permutations: 4 });
    await pipeline.entered.promise;
    expect(model.stage).toBe('testing');
    expect(model.isRunning).toBe(true);
    expect(model.result!.regions).toHaveLength(2);
    model.cancel();
    const result = await run;
    expect(result.regions.map(r => r.pValue)).toEqual([null, null]);
    expect(model.progress.detail).toBe(
      '2 regions · cpu · significance test cancelled'
    );
    expect(model.isRunning).toBe(false);
    expect(model.error).toBeNull();

    pipeline.hold = null;
    pipeline.failures.nullDistribution = new Error('out of memory');
    const failed = await model.run({ permutations: 4 });
    expect(failed.regions).toHaveLength(2);
    expect(model.result).toBe(failed);
    expect(model.error).toBe(
      'The significance test failed (the regions are kept, untested): out of memory'
    );
  });

  it('runs the stages in order and shows the result', async () => {
    const progress: string[] = [];
    model.changed.connect((_, change) => {
      if (change === 'progress') {
        progress.push(`${model.progress.fraction} ${model.progress.detail}`);
      }
    });
    const result = await model.run();
    expect(pipeline.calls).toEqual([
      'check',
      'fetch',
      'search',
      'summarise:partial',
      'summarise'
    ]);
    expect(pipeline.fetched!.names.embeddings).toBe('emb');
    expect(pipeline.fetched!.shape).toEqual({ n: N, d: D });
    expect(pipeline.maxBytes).toBe(12345);
    expect(stages).toEqual(['fetching', 'searching', 'summarising', 'done']);
    expect(progress).toContain(
      "0.5 embeddings 'emb' · 1.0 of 2.0 MB · 100 MB/s · via comm"
    );
    expect(progress).toContain(
      '0.495 spotlight 1 of 2 · step 100 of 100 · weighted loss 0.500 · K 5.0'
    );
    expect(model.progress.detail).toBe('2 regions · cpu');
    expect(model.stage).toBe('done');
    expect(model.isRunning).toBe(false);
    expect(model.error).toBeNull();
    expect(model.result).toBe(result);
    expect(result.complete).toBe(true);
    expect(result.regions.map(r => r.supportSize)).toEqual([5, 5]);
    // Region 1 holds rows 15–19 (losses 0.75–0.95), region 2 rows 10–14.
    expect(result.regions[0].weightedLoss).toBeCloseTo(0.85);
    expect(result.regions[1].weightedLoss).toBeCloseTo(0.6);
    expect(result.n).toBe(N);
    expect(result.options.count).toBe(2);
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(
      result.timings.fetchMs
    );
    expect(model.selectedRegion).toBe(0);
    // One partial result (region 1 while region 2 is searched), then the whole.
    expect(changes.filter(c => c === 'result')).toHaveLength(2);
    expect(model.summary()).toMatchObject({
      backend: 'cpu',
      n: N,
      d: D,
      fingerprint: result.fingerprint,
      regions: [{ supportSize: 5 }, { supportSize: 5 }]
    });
  });

  it('shows each region as it is found, marked incomplete', async () => {
    const previous = await firstRun();
    pipeline.hold = 'search';
    const running = model.run();
    await pipeline.entered.promise;
    await tick();
    expect(model.stage).toBe('searching');
    expect(model.result).not.toBe(previous);
    expect(model.result!.complete).toBe(false);
    expect(model.result!.regions).toHaveLength(1);
    expect(model.result!.search.backend).toBe('');
    expect(model.selectedRegion).toBe(0);
    pipeline.release();
    const result = await running;
    expect(result.complete).toBe(true);
    expect(result.regions).toHaveLength(2);
    expect(model.result).toBe(result);
    expect(model.selectedRegion).toBe(0);
  });

  it('keeps the regions found before a failed spotlight, with a warning', async () => {
    const partial = searchResult([spotlight(0)]);
    const error = new SpotlightRunError(
      'zero-weight',
      'Spotlight 2 lost every example.'
    );
    error.partial = partial;
    pipeline.failures.search = error;
    pipeline.searchFailsAfter = 1;
    const result = await model.run();
    const failure =
      'Spotlight 2 of 2 failed, so only the region found before it is shown: Spotlight 2 lost every example.';
    expect(result.failure).toBe(failure);
    expect(result.warnings[0]).toBe(failure);
    expect(result.regions).toHaveLength(1);
    expect(model.stage).toBe('done');
    expect(model.progress.detail).toBe('1 regions · cpu · spotlight 2 failed');
    expect(model.summary()!.failure).toBe(failure);
  });

  for (const stage of ['check', 'fetch', 'search', 'summarise'] as const) {
    it(`keeps the previous results when cancelled while it is at ${stage}`, async () => {
      const previous = await firstRun();
      pipeline.hold = stage;
      const running = model.run();
      await pipeline.entered.promise;
      await tick();
      expect(model.isRunning).toBe(true);
      // The previous result is shown until this run finds its first region.
      if (stage === 'check' || stage === 'fetch') {
        expect(model.result).toBe(previous);
      } else {
        expect(model.result!.complete).toBe(false);
        expect(model.result!.regions).toHaveLength(1);
      }
      model.cancel();
      const reason = await running.catch(e => e);
      expect(isAbortError(reason)).toBe(true);
      expect(model.isRunning).toBe(false);
      expect(model.stage).toBe('idle');
      expect(model.progress.detail).toBe(
        'Cancelled. The previous results (2 regions) are shown again.'
      );
      expect(model.error).toBeNull();
      expect(model.result).toBe(previous);
      expect(model.selectedRegion).toBe(1);
      const calls = pipeline.calls.filter(c => c !== 'summarise:partial');
      expect(calls[calls.length - 1]).toBe(stage);
      expect(model.summary()!.fingerprint).toBe(previous.fingerprint);
    });

    it(`keeps the previous results when ${stage} fails`, async () => {
      const previous = await firstRun();
      pipeline.failures[stage] = new Error(`${stage} broke`);
      // The search fails after showing its first region.
      pipeline.searchFailsAfter = 1;
      await expect(model.run()).rejects.toThrow(`${stage} broke`);
      expect(model.isRunning).toBe(false);
      expect(model.stage).toBe('error');
      expect(model.error).toBe(`${stage} broke`);
      expect(model.progress.detail).toBe(
        'The previous results (2 regions) are shown again.'
      );
      expect(model.result).toBe(previous);
      expect(model.result!.complete).toBe(true);
      expect(model.selectedRegion).toBe(1);
      expect(changes[changes.length - 1]).toBe('progress');
      expect(errors).toHaveBeenCalledWith(
        'Spotlight: the audit failed',
        pipeline.failures[stage]
      );
    });
  }

  it('says so when cancelled with nothing to show', async () => {
    pipeline.hold = 'fetch';
    const running = model.run();
    await pipeline.entered.promise;
    model.cancel();
    await expect(running).rejects.toThrow(/cancelled/);
    expect(model.progress.detail).toBe(
      'Cancelled. Nothing was found yet; press Find spotlights to search again.'
    );
    expect(model.result).toBeNull();
  });

  it('drops the regions of a failed run when nothing came before', async () => {
    pipeline.failures.search = new Error('search broke');
    pipeline.searchFailsAfter = 1;
    await expect(model.run()).rejects.toThrow('search broke');
    expect(pipeline.calls).toContain('summarise:partial');
    expect(model.result).toBeNull();
    expect(model.selectedRegion).toBe(-1);
    expect(model.progress.detail).toBe('');
    expect(model.error).toBe('search broke');
  });

  it('a run after a failure replaces the previous results', async () => {
    const previous = await firstRun();
    pipeline.failures.fetch = new Error('fetch broke');
    await expect(model.run()).rejects.toThrow('fetch broke');
    delete pipeline.failures.fetch;
    const result = await model.run();
    expect(result).not.toBe(previous);
    expect(model.result).toBe(result);
    expect(model.error).toBeNull();
    expect(model.stage).toBe('done');
  });

  it('says the kernel restarted when it does during a run', async () => {
    const previous = await firstRun();
    pipeline.hold = 'fetch';
    const running = model.run();
    await pipeline.entered.promise;
    session.statusChanged.emit('restarting');
    await expect(running).rejects.toThrow(
      /The kernel restarted \(or changed\) during the audit/
    );
    expect(model.stage).toBe('error');
    expect(model.error).toMatch(/Run the cells that define your arrays/);
    expect(model.isRunning).toBe(false);
    expect(model.result).toBe(previous);
    // A later cancel is a plain cancel again.
    pipeline.entered = new PromiseDelegate<void>();
    const again = model.run();
    await pipeline.entered.promise;
    model.cancel();
    expect(isAbortError(await again.catch(e => e))).toBe(true);
  });

  it('does not bring back the results of another notebook', async () => {
    await firstRun();
    pipeline.hold = 'search';
    const running = model.run();
    await pipeline.entered.promise;
    model.setNotebook(null);
    expect(isAbortError(await running.catch(e => e))).toBe(true);
    expect(model.result).toBeNull();
    expect(model.selectedRegion).toBe(-1);
  });

  describe('reopen', () => {
    /** Findings as the notebook saved them from `result`. */
    function findings(result: IAuditResult, date: string): IFinding[] {
      return result.search.spotlights.map((s, j) => ({
        version: 1,
        region: j + 1,
        of: result.regions.length,
        names: result.names,
        n: result.n,
        d: result.d,
        center: float32ToBase64(s.center),
        precision: s.precision,
        parameters: result.options,
        backend: 'webgl',
        date,
        fingerprint: result.fingerprint,
        summary: result.regions[j],
        history: {
          step: [0, 99],
          objective: Array.from(s.history.objective),
          totalWeight: Array.from(s.history.totalWeight)
        },
        guardSteps: s.guardSteps
      }));
    }

    it('rebuilds saved findings through reconstruct, without searching', async () => {
      const saved = findings(await firstRun(), '2026-01-02T03:04:05.000Z');
      const result = await model.reopen(saved);
      expect(pipeline.calls).toEqual([
        'check',
        'fetch',
        'reconstruct',
        'summarise'
      ]);
      expect(stages).toEqual(['fetching', 'done']);
      expect(model.progress.detail).toBe('2 saved region(s) reopened');
      expect(model.result).toBe(result);
      expect(model.error).toBeNull();
      expect(result.finishedAt).toBe('2026-01-02T03:04:05.000Z');
      expect(result.search.backend).toBe('webgl');
      expect(result.search.backendReason).toBe(
        'reopened from the notebook (the search ran on webgl on 2026-01-02T03:04:05.000Z)'
      );
      // Weights recomputed from the centres (2, 3) and (2, 2) with τ = 0.5:
      // 1 at the centre, 0.5 at its grid neighbours.
      expect(result.regions.map(r => r.supportSize)).toEqual([4, 5]);
      expect(result.regions.map(r => r.totalWeight)).toEqual([2.5, 3]);
      expect(result.regions[0].weightedLossOriginal).toBeCloseTo(0.8);
      expect(result.regions[1].weightedLossOriginal).toBeCloseTo(0.6);
      expect(result.search.spotlights[0].radius).toBeCloseTo(Math.SQRT2);
      expect(model.selectedRegion).toBe(0);
    });

    it('reopens manual regions from their saved rows, with their numbers and names, after the found ones', async () => {
      const first = await firstRun();
      model.addManualRegion([5, 1, 3], 'hand picked');
      const withManual = model.result!;
      expect(withManual.regions).toHaveLength(3);
      const saved = findings(withManual, '2026-01-02T03:04:05.000Z');
      expect(saved[2].summary.manual).toEqual({ indices: [1, 3, 5] });
      // Region 2 and the manual region 3 were saved; the manual one first.
      const result = await model.reopen([saved[2], saved[1]]);
      expect(result.regions).toHaveLength(2);
      expect(result.regionNumbers).toEqual([2, 3]);
      expect(regionCount(result)).toBe(3);
      expect(result.regions[0].totalWeight).toBe(3);
      const manual = result.regions[1];
      expect(manual.name).toBe('hand picked');
      expect(manual.manual).toEqual({ indices: [1, 3, 5] });
      expect(manual.supportSize).toBe(3);
      expect(manual.pValue).toBeNull();
      const losses = first.losses;
      expect(manual.weightedLossOriginal).toBeCloseTo(
        (losses[1] + losses[3] + losses[5]) / 3,
        6
      );
      expect(Array.from(result.search.spotlights[1].kernelWeights)).toEqual(
        Array.from(losses, (_, i) => ([1, 3, 5].includes(i) ? 1 : 0))
      );
      expect(model.progress.detail).toBe('2 saved region(s) reopened');
      // A manual region saved alone reopens without a reconstruction.
      pipeline.calls.length = 0;
      const alone = await model.reopen([saved[2]]);
      expect(pipeline.calls).toEqual(['check', 'fetch', 'summarise']);
      expect(alone.regionNumbers).toEqual([3]);
      expect(alone.regions[0].name).toBe('hand picked');
      // A region drawn on the reopened result takes the next number.
      model.addManualRegion([0]);
      expect(model.result!.regionNumbers).toEqual([3, 4]);
    });

    it('keeps the saved numbers: region 2 saved alone reopens as region 2 of 2, not 1 of 1', async () => {
      const first = await firstRun();
      expect(regionNumber(first, 1)).toBe(2);
      expect(first.regionNumbers).toBeUndefined();
      const saved = findings(first, '2026-01-02T03:04:05.000Z');
      const result = await model.reopen([saved[1]]);
      expect(result.regions).toHaveLength(1);
      expect(result.regionNumbers).toEqual([2]);
      expect(regionNumber(result, 0)).toBe(2);
      expect(regionCount(result)).toBe(2);
      // The weights are region 2's (centre (2, 2)), under its own number.
      expect(result.regions[0].totalWeight).toBe(3);
    });

    it("passes the options' components to the fetch, and a saved projection when reopening", async () => {
      model.setOptions({ components: 1 });
      const result = await model.run();
      expect(pipeline.projected).toEqual({
        components: 1,
        projection: undefined
      });
      expect(model.summary()!.components).toBe(0); // the fake sent no projection
      const saved = findings(result, '2026-01-02T03:04:05.000Z').map(f => ({
        ...f,
        d: 3,
        projection: {
          mean: float32ToBase64(new Float32Array([1, 2, 3])),
          components: float32ToBase64(new Float32Array([0, 1, 0, 0, 0, 1])),
          rows: 2
        }
      }));
      pipeline.shape = { n: N, d: 3 };
      await model.reopen(saved);
      const basis = pipeline.projected!.projection!;
      expect(pipeline.projected!.components).toBeUndefined();
      expect(basis.components).toBe(2);
      expect(basis.d).toBe(3);
      expect(Array.from(basis.mean)).toEqual([1, 2, 3]);
      expect(Array.from(basis.matrix)).toEqual([0, 1, 0, 0, 0, 1]);
    });

    it('warns when the data changed since the findings were saved', async () => {
      const saved = findings(await firstRun(), '2026-01-02T03:04:05.000Z');
      saved.forEach(f => (f.fingerprint = '00000000'));
      const result = await model.reopen(saved);
      expect(model.stage).toBe('done');
      expect(model.error).toBe(
        `The data changed since these findings were saved (fingerprint ${result.fingerprint}, saved 00000000); the regions are recomputed on the current data.`
      );
    });

    it('refuses findings of another shape and keeps what was shown', async () => {
      const previous = await firstRun();
      const saved = findings(previous, '2026-01-02T03:04:05.000Z');
      pipeline.shape = { n: N + 1, d: D };
      await expect(model.reopen(saved)).rejects.toThrow(
        "The saved findings were made on 20 × 2 embeddings but 'emb' is now 21 × 2."
      );
      expect(pipeline.calls).toEqual(['check']);
      expect(model.result).toBe(previous);
      expect(model.stage).toBe('error');
    });

    it('keeps the previous results when cancelled while reconstructing', async () => {
      const previous = await firstRun();
      pipeline.hold = 'reconstruct';
      const reopening = model.reopen(findings(previous, 'then'));
      await pipeline.entered.promise;
      model.cancel();
      expect(isAbortError(await reopening.catch(e => e))).toBe(true);
      expect(model.result).toBe(previous);
      expect(model.progress.detail).toBe(
        'Cancelled. The previous results (2 regions) are shown again.'
      );
    });
  });
});

describe('assembleResult', () => {
  const input = (failure?: string): ISummariseInput => ({
    names: {
      embeddings: 'emb',
      losses: 'loss',
      referenceLosses: null,
      labels: null,
      predictions: null,
      referencePredictions: null,
      examples: null,
      metadata: null
    },
    data: data(),
    search: searchResult([spotlight(0), spotlight(1)]),
    options: { ...DEFAULT_OPTIONS, count: 2, steps: 100 },
    maxMapPoints: 10,
    complete: true,
    finishedAt: '2026-01-01T00:00:00.000Z',
    failure
  });

  it('is a pure function of its input', () => {
    const a = assembleResult(input());
    const b = assembleResult(input());
    expect(b).toEqual(a);
    expect(a.finishedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(a.map.length).toBeGreaterThan(1);
    expect(a.map.length).toBeLessThanOrEqual(10);
    expect(a.overlaps[0][1]).toBe(0);
    expect(a.overlaps[0][0]).toBeCloseTo(1);
    expect(a.warnings).toEqual([]);
    expect(a.failure).toBeUndefined();
    expect(a.timings).toEqual({
      fetchMs: 0,
      searchMs: 0,
      summaryMs: 0,
      totalMs: 0
    });
  });

  it('puts a failure first among the warnings', () => {
    const search = searchResult([{ ...spotlight(0), guardSteps: 3 }]);
    const result = assembleResult({ ...input('it broke'), search });
    expect(result.failure).toBe('it broke');
    expect(result.warnings[0]).toBe('it broke');
    expect(result.warnings[1]).toMatch(/^Region 1: the collapse guard acted/);
  });
});
