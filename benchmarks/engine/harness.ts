/**
 * Benchmark harness around the real engine (src/spotlight, bundled by
 * benchmarks/build.mjs for Node and for the browser).
 *
 * One case = one `findSpotlights` call with count 1 and `steps` = k (the whole
 * barrier schedule compressed into k steps), on a backend. Every step's end is
 * time-stamped through `onProgress` (progressIntervalMs 0), the default yield
 * interval is kept (as in the panel), and the concrete kernels' `moments`
 * methods (HostKernel, WasmKernel, TensorKernel) are wrapped to count calls
 * and time them. Rows and bytes of X read and full passes come from the
 * engine's own counters (`spotlights[0].stats`) on every backend.
 *
 * `kernelBandwidth` times one kernel directly (no optimiser, no yields):
 * unpruned `moments()` in a loop at a fixed (μ, τ).
 */
import * as tf from '@tensorflow/tfjs';

import * as engine from '../../src/spotlight';

/** What a case asks for. */
export interface ICaseSpec {
  n: number;
  d: number;
  backend: 'webgl' | 'wasm' | 'cpu';
  /** Steps k of the (compressed) schedule to run. */
  steps: number;
  /** The engine's yield interval (control.yieldIntervalMs). */
  yieldIntervalMs?: number;
  /** Exact shell evaluation on wasm and cpu (engine option `pruning`); engine default when absent. */
  pruning?: boolean;
}

/**
 * The kernels whose `moments` are wrapped. HostKernel and WasmKernel inherit
 * `moments` from ShellKernel, which is not wrapped itself, so that no call is
 * counted twice.
 */
const KERNELS: Record<string, { prototype: unknown }> = {
  HostKernel: engine.HostKernel,
  WasmKernel: engine.WasmKernel,
  TensorKernel: engine.TensorKernel
};

/** Calls of, and milliseconds inside, each wrapped `moments`. */
const counters = {
  calls: {} as Record<string, number>,
  ms: {} as Record<string, number>
};

const now = (): number =>
  typeof performance !== 'undefined' ? performance.now() : Date.now();

let wrapped = false;

/**
 * Wrap `moments` of the concrete kernels once, at the prototype, so that the
 * engine's own instances are counted. Every original is taken (through the
 * prototype chain) before anything is wrapped.
 */
function wrapKernels(): void {
  if (wrapped) {
    return;
  }
  wrapped = true;
  const originals = Object.entries(KERNELS).map(([name, cls]) => {
    const proto = cls.prototype as Record<string, unknown>;
    const original = proto.moments;
    if (typeof original !== 'function') {
      throw new Error(`${name}.prototype.moments is not a function`);
    }
    return { name, proto, original };
  });
  for (const { name, proto, original } of originals) {
    counters.calls[name] = 0;
    counters.ms[name] = 0;
    proto.moments = function (this: unknown, ...args: unknown[]) {
      const t0 = now();
      const r = original.apply(this, args);
      counters.ms[name] += now() - t0;
      counters.calls[name] += 1;
      return r;
    };
  }
}

function resetCounters(): void {
  for (const k of Object.keys(counters.calls)) {
    counters.calls[k] = 0;
    counters.ms[k] = 0;
  }
}

/**
 * Environment facts for the report: tfjs's version, whether our WASM SIMD
 * kernel compiles here (`loadWasmKernel` resolves), and the WebGL probe.
 *
 * @returns The facts.
 */
export async function environment(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { tfjs: tf.version_core };
  try {
    await engine.loadWasmKernel();
    out.wasmSimd = true;
  } catch (error) {
    out.wasmSimd = false;
    out.wasmError = error instanceof Error ? error.message : String(error);
  }
  out.webgl = engine.probeWebGL();
  return out;
}

/**
 * Run one case.
 *
 * @param input - The data.
 * @param spec - Backend and steps.
 * @returns Timings, counters and the spotlight's summary.
 */
export async function runCase(
  input: engine.ISpotlightInput,
  spec: ICaseSpec
): Promise<Record<string, unknown>> {
  wrapKernels();
  resetCounters();
  const stamps = new Float64Array(spec.steps);
  const started = now();
  let result: engine.ISpotlightResult;
  try {
    result = await engine.findSpotlights(
      input,
      {
        backend: spec.backend,
        steps: spec.steps,
        count: 1,
        ...(spec.pruning === undefined ? {} : { pruning: spec.pruning })
      } as engine.SpotlightOptions,
      {
        progressIntervalMs: 0,
        yieldIntervalMs: spec.yieldIntervalMs,
        onProgress: p => {
          stamps[p.step] = now();
        }
      }
    );
  } catch (error) {
    return {
      ok: false,
      error:
        error instanceof Error
          ? `${error.name}: ${error.message}`
          : String(error)
    };
  }
  const totalMs = now() - started;
  const k = spec.steps;
  // Steady state: skip the first steps (first-use compilation, caches).
  const warm = Math.min(Math.max(2, Math.floor(k / 10)), Math.max(0, k - 3));
  const diffs: number[] = [];
  for (let t = warm + 1; t < k; t++) {
    diffs.push(stamps[t] - stamps[t - 1]);
  }
  diffs.sort((a, b) => a - b);
  const meanStepMs =
    k - 1 > warm ? (stamps[k - 1] - stamps[warm]) / (k - 1 - warm) : NaN;
  const medianStepMs = diffs.length ? diffs[Math.floor(diffs.length / 2)] : NaN;
  const s = result.spotlights[0];
  const kernelCalls: Record<string, number> = {};
  const kernelMs: Record<string, number> = {};
  for (const name of Object.keys(counters.calls)) {
    if (counters.calls[name]) {
      kernelCalls[name] = counters.calls[name];
      kernelMs[name] = counters.ms[name];
    }
  }
  // Anything the engine reports beyond the known fields is passed through.
  const known = new Set([
    'version',
    'backend',
    'backendReason',
    'n',
    'd',
    'parameters',
    'spotlights',
    'timings'
  ]);
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result)) {
    if (!known.has(key)) {
      extra[key] = value;
    }
  }
  const knownSpot = new Set([
    'center',
    'precision',
    'radius',
    'kernelWeights',
    'normalizedWeights',
    'totalWeight',
    'supportSize',
    'weightedLoss',
    'weightedLossOriginal',
    'initialPrecision',
    'startAdjusted',
    'history',
    'timeMs',
    'stats'
  ]);
  for (const [key, value] of Object.entries(s)) {
    if (!knownSpot.has(key)) {
      extra[`spotlight.${key}`] = value;
    }
  }
  return {
    ok: true,
    backend: result.backend,
    backendReason: result.backendReason,
    steps: k,
    totalMs,
    engineTotalMs: result.timings.totalMs,
    spotlightMs: result.timings.perSpotlightMs[0],
    // Start of the call to the end of step 0, minus one steady step: backend
    // selection, ‖x‖², copying X into the backend (WASM memory, a WebGL
    // texture) and first-use compilation.
    setupMs:
      stamps[0] - started - (Number.isFinite(medianStepMs) ? medianStepMs : 0),
    firstStepMs: stamps[0] - started,
    lastStepToEndMs: now() - stamps[k - 1],
    meanStepMs,
    medianStepMs,
    minStepMs: diffs.length ? diffs[0] : NaN,
    kernelCalls,
    kernelMs,
    // The engine's work counters of the timed spotlight (rows and bytes of X
    // read, full passes), on every backend.
    stats: s.stats ?? null,
    totalWeight: s.totalWeight,
    weightedLoss: s.weightedLoss,
    supportSize: s.supportSize,
    size: result.parameters.size,
    startAdjusted: s.startAdjusted,
    extra
  };
}

/** A case of a plan: a fixed step count, or a time budget. */
export interface IPlanCase {
  n: number;
  d: number;
  backend: ICaseSpec['backend'];
  /** Fixed k; when absent, k = budgetMs / (probe's median step), clamped. */
  steps?: number;
  budgetMs?: number;
  minSteps?: number;
  maxSteps?: number;
  probeSteps?: number;
  /** The engine's yield interval (default: the engine's, 30 ms). */
  yieldIntervalMs?: number;
  /** Engine option `pruning` (wasm, cpu), when set. */
  pruning?: boolean;
}

/**
 * Run a planned case: with its fixed steps, or a short probe (which also
 * warms the backend up) followed by k = budget / probe step time steps,
 * clamped to [minSteps, maxSteps] (default [10, 5000]).
 *
 * @param input - The data.
 * @param c - The case.
 * @returns The measured run, with the probe's numbers.
 */
export async function runPlanned(
  input: engine.ISpotlightInput,
  c: IPlanCase
): Promise<Record<string, unknown>> {
  if (c.steps) {
    return runCase(input, {
      n: c.n,
      d: c.d,
      backend: c.backend,
      steps: c.steps,
      yieldIntervalMs: c.yieldIntervalMs,
      pruning: c.pruning
    });
  }
  const probeSteps = c.probeSteps ?? 6;
  const probe = await runCase(input, {
    n: c.n,
    d: c.d,
    backend: c.backend,
    steps: probeSteps,
    pruning: c.pruning
  });
  if (!probe.ok) {
    return probe;
  }
  const per = Math.max(1e-3, Number(probe.medianStepMs));
  const k = Math.round(
    Math.min(
      c.maxSteps ?? 5000,
      Math.max(c.minSteps ?? 10, (c.budgetMs ?? 4000) / per)
    )
  );
  const r = await runCase(input, {
    n: c.n,
    d: c.d,
    backend: c.backend,
    steps: k,
    yieldIntervalMs: c.yieldIntervalMs,
    pruning: c.pruning
  });
  return {
    ...r,
    probe: {
      steps: probeSteps,
      medianStepMs: probe.medianStepMs,
      totalMs: probe.totalMs,
      setupMs: probe.setupMs
    }
  };
}

/** A kernel timed directly by `kernelBandwidth`. */
export interface IKernelSpec {
  /** `wasm` = WasmKernel, `cpu` = HostKernel; both with pruning off. */
  kernel: 'wasm' | 'cpu';
  /** Fraction of the rows inside the sphere at the fixed (μ, τ). */
  activeFraction: number;
  /** Time the loop for about this long (after the warm-up). */
  budgetMs: number;
  /** At least this many timed calls. */
  minCalls: number;
}

/**
 * Time one kernel's unpruned `moments()` directly (no optimiser, no yields):
 * at a fixed (μ, τ) — μ = x_0, τ = 1 / the `activeFraction` quantile of
 * ‖x_i − μ‖², so that about that fraction of the rows is active, as in a
 * spotlight near convergence — in a loop, after three warm-up calls. Bytes of
 * X read per call come from the kernel's own counters (`stats`: rows read ×
 * bytes per stored row; 4·P per row on wasm, P = D rounded up to 16).
 *
 * @param input - The data.
 * @param spec - Which kernel, the support and the time budget.
 * @returns Creation time, per-call times, bytes per call, the support.
 */
export async function kernelBandwidth(
  input: engine.ISpotlightInput,
  spec: IKernelSpec
): Promise<Record<string, unknown>> {
  const { embeddings, losses, n, d } = input;
  const name = spec.kernel === 'wasm' ? 'WasmKernel' : 'HostKernel';
  try {
    const center = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      center[j] = embeddings[j];
    }
    const dist = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = embeddings[i * d + j] - center[j];
        s += v * v;
      }
      dist[i] = s;
    }
    dist.sort();
    const q = Math.min(n - 1, Math.floor(spec.activeFraction * n));
    const precision = 1 / dist[q];
    const t0 = now();
    const kernel: engine.IObjectiveKernel =
      spec.kernel === 'wasm'
        ? await engine.WasmKernel.create(embeddings, n, d, { pruning: false })
        : new engine.HostKernel(embeddings, n, d, undefined, {
            pruning: false
          });
    const createMs = now() - t0;
    try {
      kernel.setLosses(losses);
      const out = engine.createMoments(d);
      for (let i = 0; i < 3; i++) {
        kernel.moments(center, precision, out);
      }
      const before = kernel.stats;
      const times: number[] = [];
      const start = now();
      let t = start;
      while (times.length < spec.minCalls || t - start < spec.budgetMs) {
        const t0 = t;
        kernel.moments(center, precision, out);
        t = now();
        times.push(t - t0);
      }
      const after = kernel.stats;
      const calls = times.length;
      // The mean from the loop's total: browsers round performance.now() to
      // 0.1 ms, too coarse for one call on the small sizes.
      const total = t - start;
      times.sort((a, b) => a - b);
      return {
        ok: true,
        kernel: name,
        n,
        d,
        calls,
        createMs,
        meanMs: total / calls,
        medianMs: times[Math.floor(calls / 2)],
        minMs: times[0],
        rowsPerCall: (after.rowsRead - before.rowsRead) / calls,
        bytesPerCall:
          ((after.rowsRead - before.rowsRead) * after.rowBytes) / calls,
        rowBytes: after.rowBytes,
        fullPassesPerCall: (after.fullPasses - before.fullPasses) / calls,
        activeFraction: out.activeCount / n,
        precision,
        totalWeight: out.totalWeight
      };
    } finally {
      kernel.dispose();
    }
  } catch (error) {
    return {
      ok: false,
      kernel: name,
      n,
      d,
      error: error instanceof Error ? error.message : String(error)
    };
  }
}
