/**
 * The one place that chooses, initialises and reports the compute backend.
 *
 * - `webgl`: tfjs on the GPU. `auto` uses it only on a hardware renderer: on a
 *   software one (SwiftShader, llvmpipe…, read through WEBGL_debug_renderer_info,
 *   or a context that reports a major performance caveat) it is slower than WASM.
 * - `wasm`: our WebAssembly SIMD kernel (`WasmKernel`, assembly/spotlight.ts),
 *   embedded in the bundle; needs WebAssembly SIMD and memory for X.
 * - `cpu`: plain JavaScript, float64 (`HostKernel`), always available.
 *
 * `auto` tries WebGL on a hardware GPU, then WASM, then the CPU.
 *
 * A backend that fails to initialise is reported in the selection's reason;
 * an explicitly requested backend that fails is an error, never a silent swap.
 */
import { SpotlightRunError } from './errors';
import { BackendChoice, BackendName } from './types';
import {
  loadWasmKernel,
  WASM_MEMORY_BUDGET,
  wasmMemoryEstimate
} from './wasmKernel';

/** What a WebGL probe found. */
export interface IRendererInfo {
  /** The unmasked renderer string (or the masked one when unavailable). */
  renderer: string;
  /** The unmasked vendor string (or the masked one). */
  vendor: string;
  /** True for a software rasteriser. */
  software: boolean;
  /** Why it is considered software, when it is. */
  softwareReason?: string;
}

/** One backend tried during a selection. */
export interface IBackendAttempt {
  /** The backend. */
  backend: BackendName;
  /** Whether it was chosen. */
  ok: boolean;
  /** Why it was or was not used. */
  reason: string;
}

/** The outcome of a selection. */
export interface IBackendSelection {
  /** The backend that will run. */
  name: BackendName;
  /** One sentence: what ran and why the others did not. */
  reason: string;
  /** Every backend considered, in order. */
  attempts: IBackendAttempt[];
}

/**
 * What selection needs from the platform; tests substitute their own.
 */
export interface IBackendEnvironment {
  /**
   * Probe WebGL without tfjs.
   *
   * @returns The renderer, or a string saying why there is no WebGL.
   */
  probeWebGL(): IRendererInfo | string;
  /**
   * Make a backend ready: tfjs's WebGL backend current, or our WASM kernel
   * compiled.
   *
   * @param name - `webgl` or `wasm`.
   * @returns null on success (with a note), or the reason it failed.
   */
  initialise(
    name: 'webgl' | 'wasm'
  ): Promise<{ ok: true; note: string } | { ok: false; reason: string }>;
}

/**
 * Whether a WebGL renderer string names a software rasteriser.
 *
 * @param renderer - Renderer and vendor strings.
 * @returns True for SwiftShader, llvmpipe, softpipe, lavapipe, swrast,
 *   Microsoft Basic Render and other "software" renderers.
 */
export function isSoftwareRenderer(renderer: string): boolean {
  return /swiftshader|llvmpipe|softpipe|lavapipe|swrast|software|basic render|mesa offscreen/i.test(
    renderer
  );
}

/**
 * Probe WebGL directly (no tfjs): renderer strings through
 * WEBGL_debug_renderer_info, and whether a context that refuses a major
 * performance caveat can be made.
 *
 * @returns The renderer, or why WebGL is unavailable.
 */
export function probeWebGL(): IRendererInfo | string {
  const make = (): any => {
    if (typeof OffscreenCanvas !== 'undefined') {
      return new OffscreenCanvas(1, 1);
    }
    if (
      typeof document !== 'undefined' &&
      typeof document.createElement === 'function'
    ) {
      return document.createElement('canvas');
    }
    return null;
  };
  const release = (gl: any) => {
    try {
      gl?.getExtension?.('WEBGL_lose_context')?.loseContext();
    } catch {
      // Best effort.
    }
  };
  try {
    const first = make();
    if (!first) {
      return 'no canvas (not running in a browser)';
    }
    const attributes = { failIfMajorPerformanceCaveat: true };
    let gl: any =
      first.getContext('webgl2', attributes) ??
      first.getContext('webgl', attributes);
    let caveat = false;
    if (!gl) {
      const second = make();
      gl = second?.getContext('webgl2') ?? second?.getContext('webgl');
      if (!gl) {
        return 'no WebGL context could be created';
      }
      caveat = true;
    }
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(
      gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? ''
    );
    const vendor = String(
      gl.getParameter(info ? info.UNMASKED_VENDOR_WEBGL : gl.VENDOR) ?? ''
    );
    release(gl);
    const named = isSoftwareRenderer(`${renderer} ${vendor}`);
    return {
      renderer,
      vendor,
      software: named || caveat,
      softwareReason: named
        ? `software renderer '${renderer}'`
        : caveat
          ? `the WebGL context reports a major performance caveat (renderer '${renderer}')`
          : undefined
    };
  } catch (error) {
    return `the WebGL probe failed (${Private.message(error)})`;
  }
}

/**
 * The largest embedding norm the float32 backends (webgl, wasm) accept:
 * squared distances reach (2·max‖x‖)², and float32 overflows above 3.4e38.
 */
export const FLOAT32_NORM_LIMIT = 1e18;

/** The real platform: a WebGL probe, tfjs's `setBackend`, our WASM module. */
export const defaultEnvironment: IBackendEnvironment = {
  probeWebGL() {
    if (Private.state.probe === undefined) {
      Private.state.probe = probeWebGL();
    }
    return Private.state.probe;
  },
  async initialise(name) {
    const cached = Private.failures.get(name);
    if (cached) {
      return { ok: false, reason: cached };
    }
    const result = await Private.initialise(name);
    if (!result.ok) {
      Private.failures.set(name, result.reason);
    }
    return result;
  }
};

/**
 * The warning to show before a WebGL run on a software renderer (`auto`
 * never picks WebGL there; an explicit `webgl` does, ~100× slower than on a
 * GPU: TOOLCHAIN measurements, 557 ms vs 41 ms per step on WASM).
 *
 * @param choice - The backend preference of the run.
 * @param probe - What the WebGL probe found (see {@link probeWebGL}).
 * @returns One sentence, or null when there is nothing to warn about.
 */
export function softwareWebGLWarning(
  choice: BackendChoice,
  probe: IRendererInfo | string
): string | null {
  if (choice !== 'webgl' || typeof probe === 'string' || !probe.software) {
    return null;
  }
  return `WebGL here runs on a software renderer (${probe.renderer}), on the CPU: often about 100× slower than on a GPU, and slower than WASM. Choose the 'auto' backend unless you mean to measure WebGL.`;
}

/**
 * Choose and initialise the backend.
 *
 * `auto` tries WebGL (hardware renderers only), then WASM (when the data fits
 * its memory), then the CPU, and reports every step. An explicit `webgl` or
 * `wasm` that cannot be initialised is an error.
 *
 * @param choice - The preference.
 * @param env - The platform (tests pass a fake).
 * @param workload - N and D, to check WASM's memory, and max‖x_i‖ (embedding
 *   units), to check that float32 backends can square distances.
 * @returns The backend that will run and why.
 * @throws SpotlightRunError (`backend-unavailable`) for an explicit backend that fails.
 */
export async function selectBackend(
  choice: BackendChoice,
  env: IBackendEnvironment = defaultEnvironment,
  workload?: { n: number; d: number; maxNorm?: number }
): Promise<IBackendSelection> {
  const attempts: IBackendAttempt[] = [];
  const finish = (name: BackendName): IBackendSelection => ({
    name,
    attempts,
    reason:
      (choice === 'auto' ? 'auto: ' : 'requested: ') +
      attempts.map(a => a.reason).join('; ') +
      '.'
  });

  if (choice === 'cpu') {
    attempts.push({
      backend: 'cpu',
      ok: true,
      reason: 'CPU (plain JavaScript) as requested'
    });
    return finish('cpu');
  }

  const maxNorm = workload?.maxNorm ?? 0;
  if (maxNorm > FLOAT32_NORM_LIMIT) {
    const why = `embeddings with norms up to ${maxNorm.toExponential(1)} overflow float32 squared distances (the limit is ${FLOAT32_NORM_LIMIT.toExponential(0)})`;
    if (choice !== 'auto') {
      throw new SpotlightRunError(
        'backend-unavailable',
        `The ${choice === 'wasm' ? 'WASM' : 'WebGL'} backend computes in float32: ${why}. Choose the 'cpu' backend (float64) or rescale the embeddings.`
      );
    }
    attempts.push({
      backend: 'wasm',
      ok: false,
      reason: `WebGL and WASM skipped: ${why}`
    });
    attempts.push({
      backend: 'cpu',
      ok: true,
      reason: 'CPU (plain JavaScript, float64)'
    });
    return finish('cpu');
  }

  if (choice === 'webgl' || choice === 'auto') {
    const probe = env.probeWebGL();
    if (typeof probe === 'string') {
      attempts.push({
        backend: 'webgl',
        ok: false,
        reason: `WebGL unavailable: ${probe}`
      });
    } else if (probe.software && choice === 'auto') {
      attempts.push({
        backend: 'webgl',
        ok: false,
        reason: `WebGL skipped: ${probe.softwareReason ?? 'software renderer'} is slower than WASM`
      });
    } else {
      const r = await env.initialise('webgl');
      if (r.ok) {
        attempts.push({
          backend: 'webgl',
          ok: true,
          reason: `WebGL on '${probe.renderer}'${probe.software ? ' (software renderer)' : ''}${r.note ? ` ${r.note}` : ''}`
        });
        return finish('webgl');
      }
      attempts.push({
        backend: 'webgl',
        ok: false,
        reason: `WebGL failed to initialise: ${r.reason}`
      });
    }
    if (choice === 'webgl') {
      throw new SpotlightRunError(
        'backend-unavailable',
        `The WebGL backend cannot run here (${attempts[0].reason}). Choose the 'auto' backend to fall back to the CPU.`
      );
    }
  }

  const wasmBytes = workload ? wasmMemoryEstimate(workload.n, workload.d) : 0;
  if (wasmBytes > WASM_MEMORY_BUDGET) {
    const gb = (wasmBytes / 2 ** 30).toFixed(1);
    const reason = `about ${gb} GiB of WASM memory for ${workload!.n.toLocaleString('en-US')} × ${workload!.d} embeddings, more than the ${WASM_MEMORY_BUDGET / 2 ** 30} GiB it can use reliably`;
    if (choice === 'wasm') {
      throw new SpotlightRunError(
        'backend-unavailable',
        `The WASM backend would need ${reason}. Choose the 'cpu' or 'auto' backend, or sample rows.`
      );
    }
    attempts.push({
      backend: 'wasm',
      ok: false,
      reason: `WASM skipped: it would need ${reason}`
    });
  } else {
    const r = await env.initialise('wasm');
    if (r.ok) {
      attempts.push({
        backend: 'wasm',
        ok: true,
        reason: `WASM${r.note ? ` ${r.note}` : ''}`
      });
      return finish('wasm');
    }
    attempts.push({
      backend: 'wasm',
      ok: false,
      reason: `WASM failed to initialise: ${r.reason}`
    });
    if (choice === 'wasm') {
      throw new SpotlightRunError(
        'backend-unavailable',
        `The WASM backend cannot run here (${r.reason}). Choose the 'cpu' or 'auto' backend instead.`
      );
    }
  }

  attempts.push({
    backend: 'cpu',
    ok: true,
    reason: 'running on the CPU (plain JavaScript)'
  });
  return finish('cpu');
}

/** Module state and helpers. */
namespace Private {
  /** Module state: the cached WebGL probe. */
  export const state: { probe: IRendererInfo | string | undefined } = {
    probe: undefined
  };

  /** Backends that failed to initialise, with why (tfjs cannot retry them). */
  export const failures = new Map<string, string>();

  /**
   * A readable message for anything thrown.
   *
   * @param error - Anything.
   * @returns Its message.
   */
  export function message(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
  }

  /**
   * Make a tfjs backend current and check it really is.
   *
   * @param name - `webgl` or `wasm`.
   * @returns Success with a note, or the reason of the failure.
   */
  export async function initialise(
    name: 'webgl' | 'wasm'
  ): Promise<{ ok: true; note: string } | { ok: false; reason: string }> {
    try {
      if (name === 'wasm') {
        await loadWasmKernel();
        return { ok: true, note: '(SIMD kernel, float32)' };
      }
      // TensorFlow.js is loaded only when WebGL is tried (not in Node).
      const tf = await import('@tensorflow/tfjs');
      const ok = await tf.setBackend(name);
      await tf.ready();
      if (!ok || tf.getBackend() !== name) {
        return { ok: false, reason: `tf.setBackend('${name}') returned false` };
      }
      if (!tf.env().getBool('WEBGL_RENDER_FLOAT32_CAPABLE')) {
        return {
          ok: false,
          reason: 'this GPU cannot render to float32 textures'
        };
      }
      return {
        ok: true,
        note: `(WebGL ${tf.env().getNumber('WEBGL_VERSION')})`
      };
    } catch (error) {
      return { ok: false, reason: message(error) };
    }
  }
}
