/**
 * Benchmark harness around the real engine (src/spotlight, bundled by
 * benchmarks/build.mjs for Node and for the browser).
 *
 * One case = one `findSpotlights` call with count 1 and `steps` = k (the whole
 * barrier schedule compressed into k steps), on a backend. Every step's end is
 * time-stamped through `onProgress` (progressIntervalMs 0), the default yield
 * interval is kept (as in the panel), and the objective kernels' `moments`
 * methods are wrapped to count calls, time them and — for the float64 host
 * kernel — record the active-set size, from which the bytes of X its second
 * pass reads follow.
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
  /** Exact shell evaluation on cpu (engine option `pruning`); engine default when absent. */
  pruning?: boolean;
}

/** Counters of the wrapped kernel methods. */
interface ICounters {
  calls: Record<string, number>;
  ms: Record<string, number>;
  /** Σ over HostKernel calls of min(active, N − active). */
  hostPass2Rows: number;
  hostCalls: number;
}

const counters: ICounters = {
  calls: {},
  ms: {},
  hostPass2Rows: 0,
  hostCalls: 0
};

const now = (): number =>
  typeof performance !== 'undefined' ? performance.now() : Date.now();

let wrapped = false;

/**
 * Wrap `moments` of every exported kernel class once (prototype-level, so
 * the engine's own instances are counted).
 */
function wrapKernels(): string[] {
  const names: string[] = [];
  if (wrapped) {
    return Object.keys(counters.calls);
  }
  wrapped = true;
  for (const [name, value] of Object.entries(engine)) {
    const proto = (value as any)?.prototype;
    if (typeof value !== 'function' || !proto) {
      continue;
    }
    const original = proto.moments;
    if (typeof original !== 'function') {
      continue;
    }
    names.push(name);
    counters.calls[name] = 0;
    counters.ms[name] = 0;
    proto.moments = function (this: any, ...args: any[]) {
      const t0 = now();
      const r = original.apply(this, args);
      counters.ms[name] += now() - t0;
      counters.calls[name] += 1;
      if (name === 'HostKernel') {
        const out = args[2];
        const n = this.n ?? 0;
        if (out && typeof out.activeCount === 'number' && n) {
          counters.hostPass2Rows += Math.min(
            out.activeCount,
            n - out.activeCount
          );
          counters.hostCalls += 1;
        }
      }
      return r;
    };
  }
  return names;
}

function resetCounters(): void {
  for (const k of Object.keys(counters.calls)) {
    counters.calls[k] = 0;
    counters.ms[k] = 0;
  }
  counters.hostPass2Rows = 0;
  counters.hostCalls = 0;
}

/** Environment facts for the report. */
export async function environment(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { tfjs: tf.version_core };
  try {
    out.wasmSimd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    out.wasmThreads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  } catch (error) {
    out.wasmFlags = String(error);
  }
  const probe = engine.probeWebGL();
  out.webgl = probe;
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
  const kernels = wrapKernels();
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
  for (const name of kernels) {
    if (counters.calls[name]) {
      kernelCalls[name] = counters.calls[name];
      kernelMs[name] = counters.ms[name];
    }
  }
  // Anything the engine reports beyond the known fields (e.g. future
  // pruning counters) is passed through.
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
    'timeMs'
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
    // selection, ‖x‖², uploading X (and Xᵀ) and first-use compilation.
    setupMs:
      stamps[0] - started - (Number.isFinite(medianStepMs) ? medianStepMs : 0),
    firstStepMs: stamps[0] - started,
    lastStepToEndMs: now() - stamps[k - 1],
    meanStepMs,
    medianStepMs,
    minStepMs: diffs.length ? diffs[0] : NaN,
    kernelCalls,
    kernelMs,
    hostCalls: counters.hostCalls,
    hostPass2RowsMean: counters.hostCalls
      ? counters.hostPass2Rows / counters.hostCalls
      : null,
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
  /** Engine option `pruning` (cpu), when set. */
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

/** A variant of the tfjs kernel's layout, timed directly. */
export interface IKernelVariant {
  label: string;
  backend: 'webgl' | 'wasm';
  /** Keep X̃ᵀ too (the engine does on wasm). */
  transposed: boolean;
  /** Values per block (the engine's default is 2^20). */
  blockValues?: number;
}

/**
 * Time `TensorKernel` directly (no optimiser, no yields): its creation and
 * `calls` evaluations of the moments at a moving centre.
 *
 * @param input - The data.
 * @param variant - Layout options.
 * @param calls - Evaluations to time (after one warm-up).
 * @returns Creation time, mean and median per evaluation, block counts.
 */
export async function kernelVariant(
  input: engine.ISpotlightInput,
  variant: IKernelVariant,
  calls: number
): Promise<Record<string, unknown>> {
  const { embeddings, losses, n, d } = input;
  try {
    await engine.selectBackend(variant.backend);
    const norms = engine.squaredNorms(embeddings, n, d);
    const t0 = now();
    const kernel = await engine.TensorKernel.create(embeddings, n, d, {
      transposed: variant.transposed,
      norms,
      blockValues: variant.blockValues
    });
    const createMs = now() - t0;
    try {
      kernel.setLosses(losses);
      const center = new Float64Array(d);
      const out = engine.createMoments(d);
      for (let i = 0; i < 5; i++) {
        kernel.moments(center, 1e-4, out);
      }
      const times: number[] = [];
      for (let i = 0; i < calls; i++) {
        center[i % d] += 1e-3;
        const t = now();
        kernel.moments(center, 1e-4, out);
        times.push(now() - t);
      }
      const total = times.reduce((a, b) => a + b, 0);
      times.sort((a, b) => a - b);
      return {
        ok: true,
        ...variant,
        n,
        d,
        calls,
        createMs,
        meanMs: total / calls,
        medianMs: times[Math.floor(calls / 2)],
        blocks: kernel.blockCount,
        totalWeight: out.totalWeight
      };
    } finally {
      kernel.dispose();
    }
  } catch (error) {
    return {
      ok: false,
      ...variant,
      n,
      d,
      error: error instanceof Error ? error.message : String(error)
    };
  }
}
