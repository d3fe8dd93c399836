/**
 * The Spotlight search (d'Eon et al. 2021; SPOTLIGHT_METHOD.md): sequential
 * spotlights, each a fixed T steps of Adam on J = f − P with the plateau rule,
 * from μ₀ = 0 and τ₀, with the losses damped between spotlights.
 *
 * Per step the kernel makes one pass over X (two products, see objective.ts)
 * and the host does the rest in float64 on D + 1 numbers. The loop yields to
 * the event loop whenever ~30 ms have passed, reports progress, and checks the
 * AbortSignal at every step.
 */
import {
  IBackendEnvironment,
  IBackendSelection,
  selectBackend
} from './backend';
import {
  createAbortError,
  SpotlightInputError,
  SpotlightRunError,
  throwIfAborted
} from './errors';
import {
  dampLosses,
  kernelWeightsInto,
  normalizeWeights,
  squaredNorms,
  weightStats
} from './kernel';
import { HostKernel } from './hostKernel';
import {
  copyMoments,
  createMoments,
  evaluateObjective,
  IKernelStats,
  IMoments,
  IObjectiveKernel
} from './objective';
import {
  addPackedMoments,
  ShellControl,
  ShellKernel,
  unpackMoments
} from './shellKernel';
import { IShardScan } from './shard';
import { ShardPool, ShardTransportFactory } from './shardPool';
import {
  WASM_MEMORY_BUDGET,
  WasmKernel,
  wasmMemoryEstimate
} from './wasmKernel';
import { Adam, PlateauRule } from './optimizer';
import { barrierSchedule } from './schedule';
import {
  ISpotlight,
  ISpotlightControl,
  ISpotlightInput,
  ISpotlightParameters,
  ISpotlightProgress,
  ISpotlightResult,
  SpotlightOptions
} from './types';
import {
  IEmbeddingScan,
  resolveOptions,
  validateInput,
  validateScanned
} from './validate';

/**
 * The collapse guard's floor on the total weight K: the spotlight size S.
 *
 * At the paper's defaults the barrier is still wide early on, so the size
 * penalty is worth only about c in absolute units; a ball around a few
 * examples with losses of 10–15 nats gains more than that by shrinking, and an
 * Adam step (each coordinate moves by about the learning rate, whatever the
 * gradient's size) lands the centre beyond the last point: K = 0 and the
 * weighted loss is undefined. The guard rejects such a step: when the step
 * would leave K < S (or, while K is still below S, lower it), θ stays where it
 * was for that step; Adam's moments move on, so the next step differs. A
 * rejected step costs nothing extra: the moments at the kept θ are reused.
 *
 * Why S: the method defines S as the minimum total kernel weight of a
 * spotlight (the barrier enforces it softly and ends at K ≈ 1.05 S), so the
 * guard only enforces the definition. It is also the floor that keeps the
 * search alive: at K = S the penalty is exactly c whatever the barrier width
 * (h_t − K = b_t), so J does not fall step after step and the plateau rule does
 * not halve the learning rate to nothing; with a floor of 1 or S/2 (measured on
 * the planted digits of benchmarks/planted_digits.py) the ball stayed pinned
 * at the floor and the learning rate reached 1e-8 long before the barrier
 * narrowed enough to pull it back out. Runs that keep K ≥ S at every step are
 * untouched, bit for bit (`guardSteps` = 0).
 *
 * @param size - The spotlight size S, in examples.
 * @returns The floor, in examples.
 */
export function collapseFloor(size: number): number {
  return size;
}

/**
 * Find spotlights: regions of embedding space where the loss is high.
 *
 * Bad input is refused before any work (`SpotlightInputError`). Searches run
 * one at a time: a second call waits for the first to finish.
 *
 * @param input - N × D float32 embeddings and N losses ≥ 0.
 * @param options - Search options; `DEFAULT_SPOTLIGHT_OPTIONS` fills the rest.
 * @param control - An AbortSignal, a progress callback and timing knobs.
 * @returns The spotlights with their weights, history, backend and timings.
 * @throws SpotlightInputError for bad input, SpotlightRunError when the search
 *   fails (K reaches 0, a backend cannot start), an `AbortError` when cancelled.
 */
export async function findSpotlights(
  input: ISpotlightInput,
  options: SpotlightOptions = {},
  control: ISpotlightControl = {}
): Promise<ISpotlightResult> {
  const resolved = resolveOptions(options);
  const parameters = validateInput(input, resolved);
  throwIfAborted(control.signal);
  return Private.exclusive(control.signal, () =>
    Private.run(
      new Private.LocalPlane(input),
      input.losses,
      parameters,
      control,
      {
        pruning: resolved.pruning,
        collapseGuard: resolved.collapseGuard
      }
    )
  );
}

/** How `findSpotlightsSharded` splits X (issue 11). */
export interface IShardingOptions {
  /**
   * S, the number of shards (≥ 1; at most N are made; rows split as
   * `shardBounds`), or the rows of each shard (positive, summing to N).
   */
  shards: number | number[];
  /** Makes each shard's transport (default: in-process, this thread). */
  transport?: ShardTransportFactory;
}

/**
 * Find spotlights with X split by rows over S shards (issue 11): each shard
 * runs the passes over its rows (shard.ts) and sums them along blocks.ts's
 * fixed tree; this thread makes the shell decisions, rebuilds the moments
 * and runs Adam, the barrier schedule, the plateau rule, the collapse guard
 * and the damping exactly as `findSpotlights` does. Split along leaves (the
 * default), the result is `findSpotlights`'s bit for bit for any S, on `cpu`
 * and `wasm` alike (docs/method.md, "Shards"). Backends: `wasm` and `cpu` only
 * (`auto` picks WASM when the shards could put their rows in WASM memory).
 *
 * The shards are made here (with `sharding.transport`, e.g. Node workers),
 * loaded with copies of X's rows, and terminated at the end, on failure and
 * on cancel.
 *
 * @param input - N × D float32 embeddings and N losses.
 * @param options - Search options, as for `findSpotlights`.
 * @param control - Signal, progress callbacks, timing knobs.
 * @param sharding - The number of shards (or their sizes) and the transport.
 * @returns The result, as `findSpotlights` returns it.
 * @throws SpotlightInputError for bad input; SpotlightRunError as
 *   `findSpotlights`, and `shard-failed` when a shard fails or dies (naming
 *   its rows and size, and what to do); an AbortError when cancelled.
 */
export async function findSpotlightsSharded(
  input: ISpotlightInput,
  options: SpotlightOptions,
  control: ISpotlightControl,
  sharding: IShardingOptions
): Promise<ISpotlightResult> {
  const resolved = resolveOptions(options);
  validateInput(input, resolved);
  throwIfAborted(control.signal);
  if (resolved.backend === 'webgl') {
    throw new SpotlightRunError(
      'backend-unavailable',
      "The sharded engine runs the 'wasm' or 'cpu' backend in each shard, not WebGL: choose 'auto', 'wasm' or 'cpu'."
    );
  }
  const pool = await ShardPool.create(
    {
      n: input.n,
      d: input.d,
      shards: sharding.shards,
      transport: sharding.transport,
      layout: shardLayout(resolved.backend, input.n, input.d, sharding.shards),
      pruning: resolved.pruning
    },
    control.signal
  );
  try {
    await pool.load(input.embeddings, control.signal);
    return await findSpotlightsInShards(pool, input.losses, options, control);
  } finally {
    pool.dispose();
  }
}

/**
 * Where shards should keep their rows for a backend choice: in WASM memory
 * unless the choice is `cpu` or the largest shard would not fit the WASM
 * budget (`WASM_MEMORY_BUDGET`).
 *
 * @param backend - The backend choice.
 * @param n - N.
 * @param d - D.
 * @param shards - S or the shard sizes.
 * @returns `wasm` or `cpu`.
 */
export function shardLayout(
  backend: string,
  n: number,
  d: number,
  shards: number | number[]
): 'wasm' | 'cpu' {
  const largest =
    typeof shards === 'number'
      ? Math.ceil(n / Math.max(1, Math.min(shards, n)))
      : Math.max(...shards);
  return backend === 'cpu' ||
    wasmMemoryEstimate(largest, d) > WASM_MEMORY_BUDGET
    ? 'cpu'
    : 'wasm';
}

/**
 * Find spotlights on X already loaded into a `ShardPool` (the CLI loads its
 * .npy blocks straight into the shards). Validates the losses here and the
 * embeddings through the shards' scans (the same checks and messages as
 * `validateInput`), then searches as `findSpotlightsSharded`. The pool is
 * borrowed: the caller disposes it (that terminates its workers).
 *
 * @param pool - The shards, every row loaded.
 * @param losses - ℓ (N), float32.
 * @param options - Search options.
 * @param control - Signal, progress callbacks, timing knobs.
 * @returns The result.
 * @throws SpotlightInputError for bad input; SpotlightRunError (including
 *   `shard-failed`); an AbortError when cancelled.
 */
export async function findSpotlightsInShards(
  pool: ShardPool,
  losses: Float32Array,
  options: SpotlightOptions = {},
  control: ISpotlightControl = {}
): Promise<ISpotlightResult> {
  const resolved = resolveOptions(options);
  if (resolved.pruning !== pool.pruning) {
    throw new SpotlightInputError(
      'bad-option',
      `The pruning option (${resolved.pruning}) differs from the shards' (${pool.pruning}): make the ShardPool with the same pruning setting as the search.`
    );
  }
  throwIfAborted(control.signal);
  const scans = await pool.scan(resolved.initialPrecision, control.signal);
  const parameters = validateScanned(
    pool.n,
    pool.d,
    losses,
    resolved,
    Private.mergeScans(pool, scans)
  );
  return Private.run(
    new Private.ShardPlane(pool, scans, control.signal),
    losses,
    parameters,
    control,
    { pruning: resolved.pruning, collapseGuard: resolved.collapseGuard }
  );
}

/** The search's internals. */
namespace Private {
  /** The tail of the queue of searches (tfjs's backend is global). */
  let queue: Promise<void> = Promise.resolve();

  /**
   * Run `task` after every earlier search has finished.
   *
   * @param signal - Cancels the wait too.
   * @param task - The search.
   * @returns The task's result.
   */
  export async function exclusive<T>(
    signal: AbortSignal | undefined,
    task: () => Promise<T>
  ): Promise<T> {
    const previous = queue;
    let release!: () => void;
    const mine = new Promise<void>(resolve => (release = resolve));
    // The next search waits for this one and for every earlier one, even
    // when this one is cancelled while it waits.
    queue = previous.then(() => mine);
    try {
      await waitFor(previous, signal);
      return await task();
    } finally {
      release();
    }
  }

  /**
   * Wait for a promise, or reject with an AbortError when the signal fires.
   *
   * @param promise - What to wait for (never rejects).
   * @param signal - The caller's signal.
   * @returns Resolves when `promise` does.
   */
  export function waitFor(
    promise: Promise<void>,
    signal: AbortSignal | undefined
  ): Promise<void> {
    if (!signal) {
      return promise;
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(createAbortError());
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      void promise.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** Milliseconds since an arbitrary origin. */
  const now = (): number =>
    typeof performance !== 'undefined' ? performance.now() : Date.now();

  /**
   * Let the event loop run (timers, input, rendering, abort events), without
   * the ≥ 4 ms that browsers add to nested `setTimeout(0)`s (measured: 19 %
   * of a demo-size search at one yield per 30 ms): `setImmediate` in Node, a
   * MessageChannel message in browsers (an ordinary task: timers and
   * rendering take their turns), `setTimeout` as the last resort. Not
   * `scheduler.yield()`: its continuation runs ahead of timers, which starved
   * JupyterLab's timers for seconds during a search.
   *
   * @returns Resolves on a later task.
   */
  const yieldToEventLoop = (): Promise<void> => {
    if (typeof setImmediate === 'function') {
      return new Promise(resolve => setImmediate(resolve));
    }
    if (typeof MessageChannel === 'function') {
      return new Promise(resolve => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => {
          channel.port1.close();
          channel.port2.close();
          resolve();
        };
        channel.port2.postMessage(null);
      });
    }
    return new Promise(resolve => setTimeout(resolve, 0));
  };

  /**
   * Where X lives and the passes over it run: one kernel on this thread
   * (`LocalPlane`, the engine as it always was) or a pool of shards
   * (`ShardPlane`). The search loop (`run`) only talks to this.
   */
  export interface IPlane {
    /** N. */
    readonly n: number;
    /** D. */
    readonly d: number;
    /**
     * The start's numbers: K₀ = Σ max(0, 1 − τ₀‖x_i‖²) and max ‖x_i‖².
     *
     * @param tau0 - τ₀.
     * @param maybeYield - Lets the event loop run.
     */
    start(
      tau0: number,
      maybeYield: () => Promise<void>
    ): Promise<{ k0: number; maxSquaredNorm: number }>;
    /**
     * Choose the backend (`selectBackend`).
     *
     * @param choice - The preference.
     * @param maxNorm - max ‖x_i‖.
     */
    select(
      choice: ISpotlightParameters['backend'],
      maxNorm: number
    ): Promise<IBackendSelection>;
    /**
     * Make the kernel(s).
     *
     * @param selection - The chosen backend.
     * @param pruning - Exact shell evaluation.
     */
    open(selection: IBackendSelection, pruning: boolean): Promise<void>;
    /** Whether shell evaluation runs (after `open`). */
    readonly pruning: boolean;
    /** Set ℓ (N). */
    setLosses(losses: Float32Array): Promise<void>;
    /** The moments at (μ, τ) into `out` (see objective.ts). */
    moments(center: Float64Array, tau: number, out: IMoments): Promise<void>;
    /** k (N) from float32 (μ, τ), `kernelWeightsInto`'s arithmetic. */
    weights(
      center32: Float32Array,
      tau: number,
      out: Float32Array,
      maybeYield: () => Promise<void>
    ): Promise<void>;
    /** Work counters. */
    stats(): Promise<IKernelStats>;
    /** A note for the backend reason ('' for one kernel). */
    readonly note: string;
    /** Release the kernel(s); idempotent. */
    dispose(): void;
  }

  /** One kernel on this thread: the engine's own data plane. */
  export class LocalPlane implements IPlane {
    /**
     * @param input - The data (validated).
     */
    constructor(private readonly input: ISpotlightInput) {
      this.n = input.n;
      this.d = input.d;
    }

    readonly n: number;
    readonly d: number;
    readonly note = '';

    /**
     * Squared norms, K₀ and max ‖x‖² in one sweep.
     *
     * @param tau0 - τ₀.
     * @param maybeYield - Lets the event loop run.
     * @returns K₀ and max ‖x_i‖².
     */
    async start(
      tau0: number,
      maybeYield: () => Promise<void>
    ): Promise<{ k0: number; maxSquaredNorm: number }> {
      const { embeddings, n, d } = this.input;
      const norms = squaredNorms(embeddings, n, d);
      this._norms = norms;
      await maybeYield();
      let k0 = 0;
      let maxSquaredNorm = 0;
      for (let i = 0; i < n; i++) {
        k0 += Math.max(0, 1 - tau0 * norms[i]);
        maxSquaredNorm = Math.max(maxSquaredNorm, norms[i]);
      }
      return { k0, maxSquaredNorm };
    }

    /**
     * `selectBackend` on the real platform.
     *
     * @param choice - The preference.
     * @param maxNorm - max ‖x_i‖.
     * @returns The selection.
     */
    select(
      choice: ISpotlightParameters['backend'],
      maxNorm: number
    ): Promise<IBackendSelection> {
      return selectBackend(choice, undefined, {
        n: this.n,
        d: this.d,
        maxNorm
      });
    }

    /**
     * Make the kernel.
     *
     * @param selection - The backend.
     * @param pruning - Shell evaluation.
     */
    async open(selection: IBackendSelection, pruning: boolean): Promise<void> {
      const { embeddings, n, d } = this.input;
      this._kernel =
        selection.name === 'cpu'
          ? new HostKernel(embeddings, n, d, this._norms ?? undefined, {
              pruning
            })
          : selection.name === 'wasm'
            ? await WasmKernel.create(embeddings, n, d, { pruning })
            : // tfjs is loaded only here (see tensorKernel.ts).
              (await import('./tensorKernel')).TensorKernel.create(
                embeddings,
                n,
                d,
                this._norms ?? undefined
              );
    }

    get pruning(): boolean {
      const k = this._kernel;
      return k instanceof ShellKernel && k.pruning;
    }

    async setLosses(losses: Float32Array): Promise<void> {
      this._get().setLosses(losses);
    }

    async moments(
      center: Float64Array,
      tau: number,
      out: IMoments
    ): Promise<void> {
      const kernel = this._get();
      if (kernel.momentsAsync) {
        await kernel.momentsAsync(center, tau, out);
      } else {
        kernel.moments(center, tau, out);
      }
    }

    /**
     * k from the returned (float32 μ, τ), on the host, in chunks.
     *
     * @param center32 - μ.
     * @param tau - τ.
     * @param out - N weights.
     * @param maybeYield - Lets the event loop run.
     */
    async weights(
      center32: Float32Array,
      tau: number,
      out: Float32Array,
      maybeYield: () => Promise<void>
    ): Promise<void> {
      const { embeddings, n, d } = this.input;
      const chunk = Math.max(1, Math.floor(262144 / d));
      for (let start = 0; start < n; start += chunk) {
        kernelWeightsInto(
          embeddings,
          d,
          center32,
          tau,
          out,
          start,
          Math.min(n, start + chunk)
        );
        await maybeYield();
      }
    }

    async stats(): Promise<IKernelStats> {
      return this._get().stats;
    }

    dispose(): void {
      this._kernel?.dispose();
      this._kernel = null;
    }

    private _get(): IObjectiveKernel {
      if (!this._kernel) {
        throw new Error('The search has no kernel (not opened, or disposed).');
      }
      return this._kernel;
    }

    private _norms: Float64Array | null = null;
    private _kernel: IObjectiveKernel | null = null;
  }

  /** X in a `ShardPool`: every pass is a round of requests to the shards. */
  export class ShardPlane implements IPlane {
    /**
     * @param pool - The shards (borrowed).
     * @param scans - Their scans (already made, for validation).
     * @param signal - Cancels every wait.
     */
    constructor(
      private readonly pool: ShardPool,
      private readonly scans: IShardScan[],
      private readonly signal: AbortSignal | undefined
    ) {
      this.n = pool.n;
      this.d = pool.d;
      const rows = pool.bounds[1] - pool.bounds[0];
      this.note = ` Sharded: ${pool.count} shard${pool.count === 1 ? '' : 's'} of up to ${rows.toLocaleString('en-US')} rows.`;
    }

    readonly n: number;
    readonly d: number;
    readonly note: string;

    /**
     * K₀ and max ‖x‖² from the scans (added in shard order).
     *
     * @returns K₀ and max ‖x_i‖².
     */
    async start(): Promise<{ k0: number; maxSquaredNorm: number }> {
      let k0 = 0;
      let maxSquaredNorm = 0;
      for (const s of this.scans) {
        k0 += s.k0;
        maxSquaredNorm = Math.max(maxSquaredNorm, s.maxSquaredNorm);
      }
      return { k0, maxSquaredNorm };
    }

    /**
     * `selectBackend` with the shards as the platform: no WebGL; WASM when
     * every shard holds its rows in WASM memory; the memory check on the
     * largest shard.
     *
     * @param choice - The preference.
     * @param maxNorm - max ‖x_i‖.
     * @returns The selection.
     */
    select(
      choice: ISpotlightParameters['backend'],
      maxNorm: number
    ): Promise<IBackendSelection> {
      const pool = this.pool;
      const env: IBackendEnvironment = {
        probeWebGL: () => 'the sharded engine runs WASM or CPU shards',
        initialise: async name =>
          name === 'wasm' && pool.layouts.every(l => l === 'wasm')
            ? { ok: true, note: '(SIMD kernel, float32)' }
            : {
                ok: false,
                reason:
                  pool.notes.join('; ') ||
                  'the shards hold their rows outside WASM memory'
              }
      };
      let largest = 0;
      for (let i = 0; i < pool.count; i++) {
        largest = Math.max(largest, pool.bounds[i + 1] - pool.bounds[i]);
      }
      return selectBackend(choice, env, { n: largest, d: this.d, maxNorm });
    }

    async open(selection: IBackendSelection): Promise<void> {
      if (selection.name === 'webgl') {
        throw new SpotlightRunError(
          'backend-unavailable',
          "The sharded engine cannot run WebGL: choose 'auto', 'wasm' or 'cpu'."
        );
      }
      await this.pool.open(selection.name, this.signal);
      this._opened = true;
      this._float32 = selection.name === 'wasm';
      let maxSquaredNorm = 0;
      for (const s of this.scans) {
        maxSquaredNorm = Math.max(maxSquaredNorm, s.maxSquaredNorm);
      }
      this._control = new ShellControl(
        this.n,
        this.d,
        Math.sqrt(maxSquaredNorm)
      );
    }

    get pruning(): boolean {
      return this._opened && this.pool.pruning;
    }

    setLosses(losses: Float32Array): Promise<void> {
      this._control?.reset();
      return this.pool.setLosses(losses, this.signal);
    }

    /**
     * The moments at (μ, τ): the shell decisions here (`ShellControl`, as a
     * single kernel makes them), the passes in the shards, their tree nodes
     * folded in the pool: the single kernel's float64 moments.
     *
     * @param center - μ (D).
     * @param tau - τ.
     * @param out - The moments to fill.
     */
    async moments(
      center: Float64Array,
      tau: number,
      out: IMoments
    ): Promise<void> {
      const pool = this.pool;
      if (!this.pruning) {
        const r = await pool.moments(center, tau, true, null, this.signal);
        unpackMoments(r.moments, out);
        return;
      }
      const control = this._control!;
      // The centre as the shards' passes use it (WASM: rounded to float32).
      const c = this._float32
        ? Float64Array.from(Float32Array.from(center))
        : center;
      const rescan = control.covers(c, tau)
        ? null
        : { ref: control.reference, bounds: control.rescan(c, tau) };
      const r = await pool.moments(center, tau, false, rescan, this.signal);
      if (rescan) {
        control.rescanned(r.inside!, r.shell);
      }
      control.insideMoments(c, tau, out);
      addPackedMoments(r.moments, out);
      control.shellRead();
    }

    weights(
      center32: Float32Array,
      tau: number,
      out: Float32Array
    ): Promise<void> {
      return this.pool.weights(center32, tau, out, this.signal);
    }

    stats(): Promise<IKernelStats> {
      return this.pool.stats(this.signal);
    }

    /** Nothing: the pool is borrowed. */
    dispose(): void {
      // The pool's owner disposes it.
    }

    private _opened = false;
    private _float32 = false;
    private _control: ShellControl | null = null;
  }

  /**
   * The shards' scans as `validateScanned` wants them: non-finite values
   * with global flat indices (first few in row order) and whether all rows
   * of X are equal.
   *
   * @param pool - The pool (for the row offsets).
   * @param scans - Its scans, in shard order.
   * @returns The embedding scan.
   */
  export function mergeScans(
    pool: ShardPool,
    scans: IShardScan[]
  ): IEmbeddingScan {
    const first: number[] = [];
    let count = 0;
    scans.forEach((s, i) => {
      count += s.nonFinite.count;
      for (const k of s.nonFinite.first) {
        first.push(pool.bounds[i] * pool.d + k);
      }
    });
    return {
      nonFinite: { count, first },
      allRowsEqual: () => {
        const row0 = new Float32Array(scans[0].firstRow);
        return scans.every(s => {
          if (!s.allRowsEqual) {
            return false;
          }
          const row = new Float32Array(s.firstRow);
          return row.every((v, j) => v === row0[j]);
        });
      }
    };
  }

  /**
   * The search itself (inputs already validated), on any data plane.
   *
   * @param plane - Where X is and the passes run (disposed here).
   * @param losses - ℓ (N), the original losses.
   * @param p - The parameters.
   * @param control - Signal, progress and timing knobs.
   * @param flags - Exact shell evaluation (wasm, cpu) and the collapse guard.
   * @returns The result.
   */
  export async function run(
    plane: IPlane,
    losses: Float32Array,
    p: ISpotlightParameters,
    control: ISpotlightControl,
    flags: { pruning: boolean; collapseGuard: boolean }
  ): Promise<ISpotlightResult> {
    const started = now();
    const { signal } = control;
    const yieldInterval = control.yieldIntervalMs ?? 30;

    // Validation just ran synchronously: let the page breathe first.
    await yieldToEventLoop();
    throwIfAborted(signal);

    let lastYield = now();
    const maybeYield = async () => {
      if (now() - lastYield >= yieldInterval) {
        await yieldToEventLoop();
        lastYield = now();
        throwIfAborted(signal);
      }
    };

    try {
      // Start: μ₀ = 0, τ₀ as requested unless no point lies within
      // r₀ = τ₀^(−1/2) of the origin (K₀ = 0, where the authors' code divides
      // by zero): then τ₀ = 0.5 / max ‖x_i‖², so that every point has k ≥ 0.5.
      const { k0, maxSquaredNorm } = await plane.start(
        p.initialPrecision,
        maybeYield
      );
      const startAdjusted = !(k0 > 0);
      const tau0 = startAdjusted ? 0.5 / maxSquaredNorm : p.initialPrecision;
      const selection = await plane.select(
        p.backend,
        Math.sqrt(maxSquaredNorm)
      );
      throwIfAborted(signal);
      return await search(plane, losses, p, control, flags, {
        tau0,
        startAdjusted,
        selection,
        started,
        maybeYield
      });
    } finally {
      plane.dispose();
    }
  }

  /**
   * The spotlights, one after the other (see `run`).
   *
   * @param plane - The data plane.
   * @param losses - ℓ (N).
   * @param p - The parameters.
   * @param control - Signal, progress and timing knobs.
   * @param flags - Shell evaluation and the collapse guard.
   * @param start - τ₀, the backend, the clock and the yield.
   * @returns The result.
   */
  export async function search(
    plane: IPlane,
    losses: Float32Array,
    p: ISpotlightParameters,
    control: ISpotlightControl,
    flags: { pruning: boolean; collapseGuard: boolean },
    start: {
      tau0: number;
      startAdjusted: boolean;
      selection: IBackendSelection;
      started: number;
      maybeYield: () => Promise<void>;
    }
  ): Promise<ISpotlightResult> {
    const { signal, onProgress } = control;
    const progressInterval = control.progressIntervalMs ?? 100;
    const { n, d } = plane;
    const { tau0, startAdjusted, selection, started, maybeYield } = start;
    const barriers = barrierSchedule(p.steps, p.initialBarrier, p.finalBarrier);
    // K ≥ 0 always holds: a floor of 0 never acts.
    const floor = flags.collapseGuard ? collapseFloor(p.size) : 0;
    const spotlights: ISpotlight[] = [];
    const startNote = startAdjusted
      ? ` Start adjusted: no example lies within r₀ = ${(1 / Math.sqrt(p.initialPrecision)).toPrecision(3)} of the origin, so τ₀ = 0.5 / max‖x‖² = ${tau0.toPrecision(3)}.`
      : '';
    const result = (): ISpotlightResult => ({
      version: 1,
      backend: selection.name,
      backendReason: selection.reason + startNote + plane.note,
      n,
      d,
      parameters: p,
      spotlights: [...spotlights],
      timings: {
        totalMs: now() - started,
        perSpotlightMs: spotlights.map(s => s.timeMs)
      }
    });
    let current = losses;
    try {
      await plane.open(selection, flags.pruning);
      await maybeYield();
      const moments = createMoments(d);
      const grad = new Float64Array(d + 1);
      for (let j = 0; j < p.count; j++) {
        const spotStart = now();
        await plane.setLosses(current);
        const before = await plane.stats();
        await maybeYield();
        const theta = new Float64Array(d + 1);
        theta[d] = Math.log(tau0);
        const center = theta.subarray(0, d);
        const adam = new Adam(d + 1, p.beta1, p.beta2, p.epsilon);
        const rule = new PlateauRule(p.learningRate, p.patience, p.factor);
        const history = {
          objective: new Float32Array(p.steps),
          totalWeight: new Float32Array(p.steps),
          learningRate: new Float32Array(p.steps)
        };
        // θ before the last Adam update and its moments, for the guard.
        const previous = new Float64Array(d + 1);
        const previousMoments = createMoments(d);
        let updated = false;
        let guardSteps = 0;
        let lastProgress = -Infinity;
        for (let t = 0; t < p.steps; t++) {
          throwIfAborted(signal);
          let tau = Math.exp(theta[d]);
          if (!(tau > 0 && tau < Infinity)) {
            throw precisionError(j, t, p, theta[d]);
          }
          await plane.moments(center, tau, moments);
          // The collapse guard (see collapseFloor): a step that would leave
          // K < S (or lower a K still below S) is rejected; θ stays where it
          // was, with the moments already computed there.
          if (
            updated &&
            moments.totalWeight < floor &&
            moments.totalWeight < previousMoments.totalWeight
          ) {
            guardSteps += 1;
            theta.set(previous);
            tau = Math.exp(theta[d]);
            copyMoments(previousMoments, moments);
          }
          const value = evaluateObjective(
            moments,
            center,
            tau,
            p.size,
            barriers[t],
            p.barrierScale,
            grad
          );
          if (!(value.totalWeight > 0)) {
            throw zeroWeightError(j, t, p, tau, value.totalWeight, floor > 0);
          }
          if (!Number.isFinite(value.objective) || !allFinite(grad)) {
            throw new SpotlightRunError(
              'non-finite',
              `Spotlight ${j + 1}, step ${t + 1}: the objective or its gradient is not finite (J = ${value.objective}, K = ${value.totalWeight}, τ = ${tau}). ` +
                'The embeddings may be too large for the arithmetic: rescale them (e.g. divide by their standard deviation) and search again.'
            );
          }
          previous.set(theta);
          copyMoments(moments, previousMoments);
          updated = true;
          adam.update(theta, grad, rule.learningRate);
          const lr = rule.observe(-value.objective);
          history.objective[t] = value.objective;
          history.totalWeight[t] = value.totalWeight;
          history.learningRate[t] = lr;
          const time = now();
          if (
            onProgress &&
            (time - lastProgress >= progressInterval || t === p.steps - 1)
          ) {
            lastProgress = time;
            const progress: ISpotlightProgress = {
              spotlight: j,
              count: p.count,
              step: t,
              steps: p.steps,
              objective: value.objective,
              totalWeight: value.totalWeight,
              weightedLoss: value.weightedLoss,
              learningRate: lr
            };
            onProgress(progress);
          }
          await maybeYield();
        }

        // The result: k from the returned (float32 μ, τ), on the host.
        // The last update is guarded like the others.
        const weights = new Float32Array(n);
        let center32 = Float32Array.from(center);
        let precision = Math.exp(theta[d]);
        for (let attempt = 0; attempt < 2; attempt++) {
          if (!(precision > 0 && precision < Infinity)) {
            throw precisionError(j, p.steps, p, theta[d]);
          }
          await plane.weights(center32, precision, weights, maybeYield);
          const total = weights.reduce((sum, k) => sum + k, 0);
          if (
            attempt > 0 ||
            !updated ||
            total >= floor ||
            total >= previousMoments.totalWeight
          ) {
            break;
          }
          guardSteps += 1;
          theta.set(previous);
          center32 = Float32Array.from(center);
          precision = Math.exp(theta[d]);
        }
        const stats = weightStats(weights, current);
        if (!(stats.totalWeight > 0)) {
          throw zeroWeightError(
            j,
            p.steps,
            p,
            precision,
            stats.totalWeight,
            floor > 0
          );
        }
        const original = j === 0 ? stats : weightStats(weights, losses);
        const after = await plane.stats();
        const rowsRead = after.rowsRead - before.rowsRead;
        const timeMs = now() - spotStart;
        spotlights.push({
          center: center32,
          precision,
          radius: 1 / Math.sqrt(precision),
          kernelWeights: weights,
          normalizedWeights: normalizeWeights(weights, stats.totalWeight),
          totalWeight: stats.totalWeight,
          supportSize: stats.supportSize,
          weightedLoss: stats.weightedLoss,
          weightedLossOriginal: original.weightedLoss,
          initialPrecision: tau0,
          startAdjusted,
          guardSteps,
          history,
          timeMs,
          stats: {
            pruning: plane.pruning,
            steps: after.steps - before.steps,
            rowsRead,
            bytesRead: rowsRead * after.rowBytes,
            fullPasses: after.fullPasses - before.fullPasses
          }
        });
        control.onSpotlight?.(spotlights[j], j);
        if (j + 1 < p.count) {
          current = dampLosses(current, weights);
        }
      }
    } catch (error) {
      // Nothing found is thrown away: the spotlights found before a failure
      // travel with the error.
      if (error instanceof SpotlightRunError && spotlights.length > 0) {
        error.partial = result();
        error.failedSpotlight = spotlights.length;
      }
      throw error;
    }
    return result();
  }

  /**
   * Whether every entry is finite.
   *
   * @param values - The array.
   * @returns True when no entry is NaN or ±Inf.
   */
  export function allFinite(values: Float64Array): boolean {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        return false;
      }
    }
    return true;
  }

  /**
   * The error for a precision τ = e^s that under- or overflowed.
   *
   * @param j - Spotlight index, from 0.
   * @param t - Step index, from 0 (T for the final parameters).
   * @param p - The parameters.
   * @param s - The log-precision.
   * @returns The error.
   */
  export function precisionError(
    j: number,
    t: number,
    p: ISpotlightParameters,
    s: number
  ): SpotlightRunError {
    const when =
      t >= p.steps ? 'after the last step' : `at step ${t + 1} of ${p.steps}`;
    return new SpotlightRunError(
      'non-finite',
      `Spotlight ${j + 1} ${when}: its precision τ = e^${s.toPrecision(4)} ${s < 0 ? 'underflowed to 0 (an infinite radius)' : 'overflowed'}. ` +
        'The optimiser diverged: use a smaller learning rate (the paper used 0.01).'
    );
  }

  /**
   * The error for a spotlight whose total weight reached 0.
   *
   * @param j - Spotlight index, from 0.
   * @param t - Step index, from 0 (T for the final weights).
   * @param p - The parameters.
   * @param tau - τ at that point.
   * @param K - The total weight found.
   * @param guarded - Whether the collapse guard was on.
   * @returns The error.
   */
  export function zeroWeightError(
    j: number,
    t: number,
    p: ISpotlightParameters,
    tau: number,
    K: number,
    guarded: boolean
  ): SpotlightRunError {
    const when =
      t >= p.steps ? 'after the last step' : `at step ${t + 1} of ${p.steps}`;
    return new SpotlightRunError(
      'zero-weight',
      `Spotlight ${j + 1} lost every example ${when}: its total weight K fell to ${K} (radius ${(1 / Math.sqrt(tau)).toPrecision(3)}), so its weighted loss is undefined` +
        (guarded
          ? ', although the collapse guard rejects every step that lowers K below S. ' +
            'That can only happen when the embeddings are too large or too close together for float arithmetic: ' +
            'rescale them (e.g. divide by their standard deviation) and search again.'
          : '. The collapse guard was off (collapseGuard: false): an Adam step shrank the ball past its last example. ' +
            'Turn the guard back on (the default); it keeps K ≥ S without changing runs that never come near a collapse.')
    );
  }
}
