/**
 * Backend choice and fallback, the WASM SIMD kernel end to end, and tensor
 * bookkeeping of the tfjs path (WebGL's `TensorKernel`, run here on tfjs's
 * cpu backend standing in for WebGL): no leak after a run, a cancelled run or
 * a failed run.
 */
import * as tf from '@tensorflow/tfjs';

import { softwareWebGLWarning } from '../../spotlight/backend';
import {
  defaultEnvironment,
  FLOAT32_NORM_LIMIT,
  findSpotlights,
  IBackendEnvironment,
  IRendererInfo,
  isSoftwareRenderer,
  selectBackend,
  SpotlightRunError,
  WASM_MEMORY_BUDGET,
  WasmKernel,
  wasmMemoryEstimate
} from '../../spotlight';
import { countLabel, plantedClusters, topIndices } from './planted';

jest.setTimeout(120000);

/**
 * A fake platform.
 *
 * @param probe - What the WebGL probe finds.
 * @param fail - Backends whose initialisation fails, with why.
 * @returns The environment and the backends it was asked to initialise.
 */
function fake(
  probe: IRendererInfo | string,
  fail: Partial<Record<'webgl' | 'wasm', string>> = {}
): { env: IBackendEnvironment; initialised: string[] } {
  const initialised: string[] = [];
  return {
    initialised,
    env: {
      probeWebGL: () => probe,
      initialise: async name => {
        initialised.push(name);
        const reason = fail[name];
        return reason ? { ok: false, reason } : { ok: true, note: '' };
      }
    }
  };
}

const hardware: IRendererInfo = {
  renderer: 'NVIDIA GeForce RTX 3060',
  vendor: 'NVIDIA',
  software: false
};
const swiftshader: IRendererInfo = {
  renderer:
    'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)',
  vendor: 'Google Inc.',
  software: true,
  softwareReason: "software renderer 'SwiftShader'"
};

describe('selectBackend', () => {
  it('recognises software renderers', () => {
    expect(isSoftwareRenderer(swiftshader.renderer)).toBe(true);
    expect(isSoftwareRenderer('llvmpipe (LLVM 15.0.6, 256 bits)')).toBe(true);
    expect(isSoftwareRenderer('Microsoft Basic Render Driver')).toBe(true);
    expect(
      isSoftwareRenderer('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11)')
    ).toBe(false);
    expect(isSoftwareRenderer('Apple M2')).toBe(false);
  });

  it('auto uses WebGL on a hardware renderer', async () => {
    const { env, initialised } = fake(hardware);
    const s = await selectBackend('auto', env);
    expect(s.name).toBe('webgl');
    expect(s.reason).toMatch(/RTX 3060/);
    expect(initialised).toEqual(['webgl']);
  });

  it('auto skips WebGL on a software renderer and runs on WASM, saying why', async () => {
    const { env, initialised } = fake(swiftshader);
    const s = await selectBackend('auto', env);
    expect(s.name).toBe('wasm');
    expect(initialised).toEqual(['wasm']);
    expect(s.reason).toMatch(/WebGL skipped: software renderer 'SwiftShader'/);
    expect(s.attempts.map(a => [a.backend, a.ok])).toEqual([
      ['webgl', false],
      ['wasm', true]
    ]);
  });

  it('refuses WASM when the data would not fit its memory, and says why', async () => {
    const big = { n: 2_000_000, d: 512 };
    expect(wasmMemoryEstimate(big.n, big.d)).toBeGreaterThan(
      WASM_MEMORY_BUDGET
    );
    await expect(
      selectBackend('wasm', fake(swiftshader).env, big)
    ).rejects.toThrow(/about 3\.8 GiB of WASM memory for 2,000,000 × 512/);
    // A workload that fits runs on WASM when asked for.
    expect(
      (
        await selectBackend('wasm', fake(swiftshader).env, {
          n: 1_000_000,
          d: 128
        })
      ).name
    ).toBe('wasm');
    // auto goes on to the CPU, and says why.
    const s = await selectBackend('auto', fake(swiftshader).env, big);
    expect(s.name).toBe('cpu');
    expect(s.reason).toMatch(/WASM skipped: it would need about 3\.8 GiB/);
  });

  it('auto falls back to WASM when WebGL fails or is missing, and to the CPU after', async () => {
    let { env } = fake(hardware, { webgl: 'context lost' });
    let s = await selectBackend('auto', env);
    expect(s.name).toBe('wasm');
    expect(s.reason).toMatch(/WebGL failed to initialise: context lost/);

    ({ env } = fake('no WebGL context could be created'));
    s = await selectBackend('auto', env);
    expect(s.name).toBe('wasm');
    expect(s.reason).toMatch(/WebGL unavailable: no WebGL context/);

    ({ env } = fake('no WebGL context could be created', { wasm: 'no SIMD' }));
    s = await selectBackend('auto', env);
    expect(s.name).toBe('cpu');
    expect(s.reason).toMatch(
      /WASM failed to initialise: no SIMD; running on the CPU/
    );
  });

  it('keeps embeddings too large for float32 off the float32 backends, and says why', async () => {
    const huge = { n: 500, d: 8, maxNorm: 10 * FLOAT32_NORM_LIMIT };
    const s = await selectBackend('auto', fake(hardware).env, huge);
    expect(s.name).toBe('cpu');
    expect(s.reason).toMatch(
      /WebGL and WASM skipped: embeddings with norms up to 1\.0e\+19 overflow float32/
    );
    for (const choice of ['wasm', 'webgl'] as const) {
      await expect(
        selectBackend(choice, fake(hardware).env, huge)
      ).rejects.toThrow(/computes in float32: .*Choose the 'cpu' backend/);
    }
    // End to end: auto runs the search on the CPU, as an explicit 'cpu' does.
    const data = plantedClusters(600, 8, 11, 0.05);
    const big = { ...data, embeddings: data.embeddings.map(x => x * 1e19) };
    const options = { steps: 300, count: 1, spotlightSize: 0.05 };
    const a = await findSpotlights(big, options);
    const b = await findSpotlights(big, { ...options, backend: 'cpu' });
    expect(a.backend).toBe('cpu');
    expect(a.spotlights[0].totalWeight).toBeGreaterThan(0);
    expect(a.spotlights[0].kernelWeights).toEqual(
      b.spotlights[0].kernelWeights
    );
    await expect(
      findSpotlights(big, { ...options, backend: 'wasm' })
    ).rejects.toMatchObject({ code: 'backend-unavailable' });
  });

  it('refuses an explicit backend that cannot start, instead of swapping silently', async () => {
    await expect(
      selectBackend('webgl', fake(hardware, { webgl: 'no float32' }).env)
    ).rejects.toThrow(SpotlightRunError);
    await expect(
      selectBackend('webgl', fake('no canvas').env)
    ).rejects.toMatchObject({
      code: 'backend-unavailable'
    });
    await expect(
      selectBackend('wasm', fake(hardware, { wasm: 'blocked' }).env)
    ).rejects.toThrow(/WASM backend cannot run here \(blocked\)/);
    const cpu = fake(hardware);
    expect((await selectBackend('cpu', cpu.env)).name).toBe('cpu');
    expect(cpu.initialised).toEqual([]);
  });

  it('in jsdom (no WebGL), auto runs on WASM and reports why', async () => {
    const getContext = jest
      .spyOn(HTMLCanvasElement.prototype, 'getContext')
      .mockImplementation(() => null);
    try {
      const data = plantedClusters(600, 8, 11, 0.05);
      const r = await findSpotlights(data, {
        steps: 100,
        count: 1,
        spotlightSize: 0.05
      });
      expect(r.backend).toBe('wasm');
      expect(r.backendReason).toMatch(
        /^auto: WebGL unavailable: no WebGL context could be created; WASM \(SIMD kernel, float32\)/
      );
    } finally {
      getContext.mockRestore();
    }
  });
});

describe('the WASM backend (SIMD kernel, float32)', () => {
  it('says so when its memory cannot grow to the data, instead of failing later', async () => {
    // 2,200,000 × 512 float32 is 4.2 GiB, beyond WASM's 4 GiB: the memory
    // is grown before X is copied, so a small stand-in array suffices.
    await expect(
      WasmKernel.create(new Float32Array(16), 2_200_000, 512)
    ).rejects.toMatchObject({
      code: 'backend-unavailable',
      message: expect.stringMatching(
        /could not get 4\.\d\d GiB of memory for 2,200,000 × 512 embeddings .*Choose the 'cpu' or 'auto' backend, or sample rows/
      )
    });
  });

  it('matches the float64 CPU backend on planted clusters within 1 %', async () => {
    const data = plantedClusters(5000, 64, 1);
    const options = { count: 2, steps: 5000 };
    const wasm = await findSpotlights(data, { ...options, backend: 'wasm' });
    const cpu = await findSpotlights(data, { ...options, backend: 'cpu' });
    expect(wasm.backend).toBe('wasm');
    for (let j = 0; j < 2; j++) {
      const a = wasm.spotlights[j];
      const b = cpu.spotlights[j];
      expect(Math.abs(a.weightedLoss / b.weightedLoss - 1)).toBeLessThan(0.01);
      expect(Math.abs(a.totalWeight / b.totalWeight - 1)).toBeLessThan(0.01);
      const m = data.clusterSize;
      const ta = new Set(topIndices(a.kernelWeights, m));
      const overlap = topIndices(b.kernelWeights, m).filter(i =>
        ta.has(i)
      ).length;
      expect(overlap).toBeGreaterThanOrEqual(95);
      expect(
        countLabel(topIndices(a.kernelWeights, m), data.labels, j + 1)
      ).toBeGreaterThanOrEqual(95);
    }
  });

  it('is deterministic', async () => {
    const data = plantedClusters(1000, 16, 12, 0.04);
    const options = {
      backend: 'wasm' as const,
      steps: 300,
      count: 2,
      spotlightSize: 0.04
    };
    const a = await findSpotlights(data, options);
    const b = await findSpotlights(data, options);
    expect(b.spotlights[1].kernelWeights).toEqual(
      a.spotlights[1].kernelWeights
    );
    expect(b.spotlights[1].history.objective).toEqual(
      a.spotlights[1].history.objective
    );
  });
});

describe('tensor bookkeeping (the WebGL path, on tfjs-cpu)', () => {
  const data = plantedClusters(800, 16, 13, 0.05);
  const options = {
    backend: 'webgl' as const,
    steps: 200,
    count: 2,
    spotlightSize: 0.05
  };

  /** tf.memory()'s counts. */
  const counts = () => {
    const m = tf.memory();
    return {
      numTensors: m.numTensors,
      numBytes: m.numBytes,
      numDataBuffers: m.numDataBuffers
    };
  };

  // jest has no WebGL: the real environment's WebGL is stood in for by
  // tfjs's cpu backend, so that the engine's tensor path runs unchanged.
  beforeAll(async () => {
    const initialise = defaultEnvironment.initialise.bind(defaultEnvironment);
    jest.spyOn(defaultEnvironment, 'probeWebGL').mockReturnValue(hardware);
    jest
      .spyOn(defaultEnvironment, 'initialise')
      .mockImplementation(async name => {
        if (name !== 'webgl') {
          return initialise(name);
        }
        if (!(await tf.setBackend('cpu'))) {
          return { ok: false, reason: 'tfjs-cpu did not start' };
        }
        return { ok: true, note: '(tfjs-cpu standing in)' };
      });
    // Initialise the backend first: its own set-up is not ours to count.
    const r = await findSpotlights(data, { ...options, steps: 2, count: 1 });
    expect(r.backend).toBe('webgl');
    expect(tf.getBackend()).toBe('cpu');
  });

  afterAll(() => {
    jest.restoreAllMocks();
  });

  it('leaves no tensor after a run', async () => {
    const before = counts();
    await findSpotlights(data, options);
    expect(counts()).toEqual(before);
  });

  it('leaves no tensor after a cancelled run', async () => {
    const before = counts();
    const controller = new AbortController();
    const run = findSpotlights(data, options, {
      signal: controller.signal,
      progressIntervalMs: 0,
      onProgress: p => p.step === 50 && controller.abort()
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(counts()).toEqual(before);
  });

  it('leaves no tensor after a failed run', async () => {
    const before = counts();
    const run = findSpotlights(data, options, {
      progressIntervalMs: 0,
      onProgress: p => {
        if (p.step === 20) {
          throw new Error('boom');
        }
      }
    });
    await expect(run).rejects.toThrow('boom');
    expect(counts()).toEqual(before);
    await expect(
      findSpotlights(data, { ...options, learningRate: 1000 })
    ).rejects.toMatchObject({ code: 'non-finite' });
    expect(counts()).toEqual(before);
  });

  it('does not grow over 20 consecutive runs', async () => {
    const before = counts();
    for (let r = 0; r < 20; r++) {
      await findSpotlights(data, { ...options, steps: 20 });
    }
    expect(counts()).toEqual(before);
  });

  it('creates no tensor on the CPU and WASM backends', async () => {
    const before = counts();
    await findSpotlights(data, { ...options, backend: 'cpu' });
    await findSpotlights(data, { ...options, backend: 'wasm' });
    expect(counts()).toEqual(before);
  });
});

describe('softwareWebGLWarning', () => {
  const swiftshader = {
    renderer: 'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device))',
    vendor: 'Google Inc.',
    software: true
  };
  const gpu = {
    renderer: 'ANGLE (NVIDIA GeForce RTX 4090)',
    vendor: 'NVIDIA',
    software: false
  };

  it('warns before an explicit WebGL run on a software renderer, naming it', () => {
    const warning = softwareWebGLWarning('webgl', swiftshader);
    expect(warning).toMatch(/^WebGL here runs on a software renderer/);
    expect(warning).toContain('SwiftShader Device');
    expect(warning).toContain("'auto'");
  });

  it('says nothing for a GPU, for auto (which skips it there) or without WebGL', () => {
    expect(softwareWebGLWarning('webgl', gpu)).toBeNull();
    for (const choice of ['auto', 'wasm', 'cpu'] as const) {
      expect(softwareWebGLWarning(choice, swiftshader)).toBeNull();
    }
    expect(softwareWebGLWarning('webgl', 'no WebGL context')).toBeNull();
  });
});
