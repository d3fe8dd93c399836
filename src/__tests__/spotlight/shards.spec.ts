/**
 * The sharded engine (issue 11; shard.ts, shardPool.ts, engine.ts's
 * `findSpotlightsSharded`): X split by rows over S in-process shards that
 * sum their rows along blocks.ts's fixed tree, the shell decisions made once
 * by the coordinator. Split along leaves (`shardBounds`), any S gives the
 * single engine's result bit for bit, on the float64 (`cpu`) and float32
 * (`wasm`) paths; shards that cut leaves find the same regions; cancel and a
 * failing shard stop every shard.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { MessageChannel, receiveMessageOnPort } from 'worker_threads';

import { readNpy } from '../../cli/npy';
import {
  findSpotlights,
  findSpotlightsInShards,
  findSpotlightsSharded,
  InProcessShardTransport,
  leafRows,
  ISpotlightInput,
  ISpotlightResult,
  shardBounds,
  ShardPool,
  SpotlightInputError,
  SpotlightOptions,
  SpotlightRunError,
  validateInput,
  resolveOptions
} from '../../spotlight';
import { plantedClusters } from './planted';

jest.setTimeout(300000);

// jsdom has no structuredClone: deliver messages as a worker port does
// (transferred buffers are detached), so the in-process shards see exactly
// what a worker would.
const channel = new MessageChannel();
(globalThis as any).structuredClone ??= (
  value: unknown,
  options?: { transfer?: ArrayBuffer[] }
) => {
  channel.port1.postMessage(value, options?.transfer ?? []);
  return receiveMessageOnPort(channel.port2)!.message;
};
afterAll(() => {
  channel.port1.close();
  delete (globalThis as any).structuredClone;
});

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'planted-digits');

/** The planted-digits fixture (collapse.spec.ts): 1,797 × 32, a guarded run. */
function digits(): ISpotlightInput {
  const read = (name: string) =>
    readNpy(new Uint8Array(readFileSync(path.join(FIXTURE, name))), name);
  const embeddings = read('embeddings.npy');
  const losses = read('losses.npy');
  const [n, d] = embeddings.shape;
  return { embeddings: embeddings.data, losses: losses.data, n, d };
}

/** The rows with k > 0. */
function support(weights: Float32Array): number[] {
  const out: number[] = [];
  weights.forEach((k, i) => k > 0 && out.push(i));
  return out;
}

/**
 * Expect a sharded result to be the single engine's: shards split along the
 * leaves of blocks.ts's tree sum X in the single kernel's order, and the
 * shell decisions are made once over X, so every float64 moment, every step
 * of Adam and every result is the same number.
 *
 * @param sharded - The sharded result.
 * @param single - The single engine's.
 */
function expectIdentical(
  sharded: ISpotlightResult,
  single: ISpotlightResult
): void {
  expect(sharded.backend).toBe(single.backend);
  expect(sharded.spotlights.length).toBe(single.spotlights.length);
  sharded.spotlights.forEach((s, j) => {
    const t = single.spotlights[j];
    expect(s.center).toEqual(t.center);
    expect(s.precision).toBe(t.precision);
    expect(s.kernelWeights).toEqual(t.kernelWeights);
    expect(s.totalWeight).toBe(t.totalWeight);
    expect(s.weightedLoss).toBe(t.weightedLoss);
    expect(s.history.objective).toEqual(t.history.objective);
    expect(s.guardSteps).toBe(t.guardSteps);
  });
}

/**
 * Expect a result from shards whose boundaries cut leaves (sizes given by
 * hand): those leaves' pieces are added in shard order, so the moments differ
 * from the single engine's in the last bits, which Adam amplifies near the
 * optimum (it divides each gradient coordinate by its running RMS). The
 * regions must still be the same: support sets within a few boundary rows,
 * K and f within 1 %.
 *
 * @param sharded - The sharded result.
 * @param single - The single engine's.
 */
function expectSameRegions(
  sharded: ISpotlightResult,
  single: ISpotlightResult
): void {
  expect(sharded.spotlights.length).toBe(single.spotlights.length);
  const close = (a: number, b: number, rel: number) =>
    expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b));
  sharded.spotlights.forEach((s, j) => {
    const t = single.spotlights[j];
    const a = new Set(support(s.kernelWeights));
    const b = support(t.kernelWeights);
    const common = b.filter(i => a.has(i)).length;
    expect(a.size + b.length - 2 * common).toBeLessThanOrEqual(
      Math.ceil(0.06 * b.length)
    );
    close(s.totalWeight, t.totalWeight, 1e-2);
    close(s.weightedLoss, t.weightedLoss, 1e-2);
  });
}

/** Transports that remember themselves, to check they were all stopped. */
function trackedTransports() {
  const made: InProcessShardTransport[] = [];
  return {
    made,
    factory: () => {
      const t = new InProcessShardTransport();
      made.push(t);
      return t;
    }
  };
}

describe('shardBounds', () => {
  it('splits N rows into S runs of whole leaves differing by at most one leaf', () => {
    // N = 2,001: 63 leaves of 32 rows (the last of 17).
    expect(leafRows(2001)).toBe(32);
    expect(shardBounds(2001, 3)).toEqual([0, 672, 1344, 2001]);
    expect(shardBounds(2001, 2)).toEqual([0, 1024, 2001]);
    expect(shardBounds(2001, 1)).toEqual([0, 2001]);
    // Fewer leaves than shards: one shard per leaf.
    expect(shardBounds(70, 5)).toEqual([0, 32, 64, 70]);
    // Large N: at most 256 leaves, of 32 · 2^k rows.
    expect(leafRows(1_000_000)).toBe(4096);
    const b = shardBounds(1_000_000, 7);
    expect(b.length).toBe(8);
    expect(b.slice(1, -1).every(x => x % 4096 === 0)).toBe(true);
    expect(() => shardBounds(0, 2)).toThrow(/N ≥ 1/);
    expect(() => shardBounds(5, 1.5)).toThrow(/S ≥ 1/);
  });
});

describe('the sharded engine on planted clusters (cpu, float64)', () => {
  const data = plantedClusters(2001, 16, 5, 0.04);
  const options: SpotlightOptions = {
    backend: 'cpu',
    count: 2,
    steps: 1500,
    spotlightSize: 0.04
  };
  let single: ISpotlightResult;

  beforeAll(async () => {
    single = await findSpotlights(data, options);
  });

  it('gives the single engine’s result bit for bit with one shard', async () => {
    const one = await findSpotlightsSharded(data, options, {}, { shards: 1 });
    one.spotlights.forEach((s, j) => {
      const t = single.spotlights[j];
      expect(s.center).toEqual(t.center);
      expect(s.precision).toBe(t.precision);
      expect(s.kernelWeights).toEqual(t.kernelWeights);
      expect(s.history.objective).toEqual(t.history.objective);
      expect(s.stats).toEqual(t.stats);
    });
    expect(one.backendReason).toMatch(/Sharded: 1 shard of up to 2,001 rows/);
  });

  for (const shards of [2, 3, 4, 7, [1024, 32, 945]]) {
    it(`gives the single engine’s result bit for bit with shards = ${JSON.stringify(shards)} (N = 2,001 not divisible)`, async () => {
      const r = await findSpotlightsSharded(data, options, {}, { shards });
      expectIdentical(r, single);
      expect(r.spotlights[0].supportSize).toBeGreaterThan(0);
    });
  }

  for (const shards of [
    [1000, 1, 1000],
    [17, 1500, 484]
  ]) {
    it(`finds the same regions with shards cutting leaves, ${JSON.stringify(shards)}`, async () => {
      const r = await findSpotlightsSharded(data, options, {}, { shards });
      expectSameRegions(r, single);
    });
  }

  it('is deterministic for a given number of shards', async () => {
    const a = await findSpotlightsSharded(data, options, {}, { shards: 3 });
    const b = await findSpotlightsSharded(data, options, {}, { shards: 3 });
    a.spotlights.forEach((s, j) => {
      expect(s.center).toEqual(b.spotlights[j].center);
      expect(s.precision).toBe(b.spotlights[j].precision);
      expect(s.kernelWeights).toEqual(b.spotlights[j].kernelWeights);
      expect(s.history.objective).toEqual(b.spotlights[j].history.objective);
    });
  });

  it('also matches it without shell evaluation', async () => {
    const unpruned = { ...options, pruning: false, count: 1 };
    const base = await findSpotlights(data, unpruned);
    const r = await findSpotlightsSharded(data, unpruned, {}, { shards: 4 });
    expectIdentical(r, base);
    expect(r.spotlights[0].stats?.pruning).toBe(false);
  });

  it('terminates every shard at the end', async () => {
    const { made, factory } = trackedTransports();
    await findSpotlightsSharded(
      data,
      { ...options, count: 1, steps: 50 },
      {},
      { shards: 3, transport: factory }
    );
    expect(made.length).toBe(3);
    expect(made.every(t => t.terminated)).toBe(true);
  });
});

describe('the sharded engine on the planted digits (guarded run, cpu)', () => {
  it('gives the single engine’s result bit for bit for 2, 3 and 4 shards', async () => {
    const input = digits();
    const options: SpotlightOptions = { backend: 'cpu', count: 2 };
    const single = await findSpotlights(input, options);
    // The guard acts here: the test covers rejected steps across shards.
    expect(single.spotlights[0].guardSteps).toBeGreaterThan(0);
    for (const shards of [2, 3, 4]) {
      const r = await findSpotlightsSharded(input, options, {}, { shards });
      expectIdentical(r, single);
    }
  });
});

describe('the sharded engine on wasm (float32)', () => {
  it('gives the single wasm engine’s result bit for bit', async () => {
    const data = plantedClusters(2000, 24, 9, 0.04);
    const options: SpotlightOptions = {
      backend: 'wasm',
      count: 2,
      steps: 800,
      spotlightSize: 0.04
    };
    const single = await findSpotlights(data, options);
    const r = await findSpotlightsSharded(data, options, {}, { shards: 3 });
    expect(r.backend).toBe('wasm');
    // The float32 row sums are blocked per leaf, the same in every shard.
    expectIdentical(r, single);
  });

  it('falls back to cpu for auto when the norms overflow float32', async () => {
    const data = plantedClusters(400, 8, 3, 0.05);
    const big = Float32Array.from(data.embeddings, x => x * 1e19);
    const r = await findSpotlightsSharded(
      { ...data, embeddings: big },
      { backend: 'auto', count: 1, steps: 30, spotlightSize: 0.05 },
      {},
      { shards: 2 }
    );
    expect(r.backend).toBe('cpu');
    expect(r.backendReason).toMatch(/overflow float32/);
  });
});

describe('the sharded engine: cancel and failures', () => {
  const data = plantedClusters(1200, 16, 11, 0.04);
  const options: SpotlightOptions = {
    backend: 'cpu',
    count: 1,
    steps: 3000,
    spotlightSize: 0.04
  };

  it('cancels within a step and stops every shard', async () => {
    const { made, factory } = trackedTransports();
    const controller = new AbortController();
    let steps = 0;
    const run = findSpotlightsSharded(
      data,
      options,
      {
        signal: controller.signal,
        progressIntervalMs: 0,
        onProgress: p => {
          steps = p.step;
          if (p.step === 20) {
            controller.abort();
          }
        }
      },
      { shards: 3, transport: factory }
    );
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(steps).toBeLessThan(25);
    expect(made.every(t => t.terminated)).toBe(true);
  });

  it('turns a shard that throws into a shard-failed error naming its rows, size and the remedy', async () => {
    const { made, factory } = trackedTransports();
    let calls = 0;
    const failing = (index: number, count: number) => {
      const t = factory();
      if (index === 1) {
        const handle = t.shard.handle.bind(t.shard);
        t.shard.handle = async envelope => {
          if (envelope.request.type === 'moments' && ++calls === 40) {
            throw new RangeError('Array buffer allocation failed');
          }
          return handle(envelope);
        };
      }
      void count;
      return t;
    };
    const run = findSpotlightsSharded(
      data,
      options,
      {},
      {
        shards: 3,
        transport: failing
      }
    );
    await expect(run).rejects.toBeInstanceOf(SpotlightRunError);
    await expect(run).rejects.toMatchObject({ code: 'shard-failed' });
    await expect(run).rejects.toThrow(
      /Shard 2 of 3 \(rows 416–831: 416 × 16 embeddings, 0 MiB\) failed during 'moments': Array buffer allocation failed\. .*fewer rows.*fewer threads/
    );
    expect(made.every(t => t.terminated)).toBe(true);
  });

  it('turns a shard reporting an error into the same kind of error', async () => {
    const { made, factory } = trackedTransports();
    const run = findSpotlightsSharded(
      data,
      options,
      {},
      {
        shards: [600, 600],
        transport: (i, count) => {
          const t = factory();
          if (i === 0) {
            const original = t.shard.handle.bind(t.shard);
            t.shard.handle = async envelope =>
              envelope.request.type === 'weights'
                ? {
                    response: {
                      id: envelope.id,
                      ok: false,
                      error: { name: 'Error', message: 'out of memory' }
                    },
                    transfer: []
                  }
                : original(envelope);
          }
          void count;
          return t;
        }
      }
    );
    await expect(run).rejects.toThrow(
      /Shard 1 of 2 \(rows 0–599: 600 × 16 embeddings.*during 'weights': out of memory/
    );
    expect(made.every(t => t.terminated)).toBe(true);
  });

  it('turns a shard that dies into a shard-failed error and stops the others', async () => {
    const { made, factory } = trackedTransports();
    const controller = new AbortController();
    const run = findSpotlightsSharded(
      data,
      options,
      {
        progressIntervalMs: 0,
        signal: controller.signal,
        onProgress: p => {
          if (p.step === 10) {
            made[2].fail('the worker exited with code 134 (out of memory?)');
          }
        }
      },
      { shards: 3, transport: factory }
    );
    await expect(run).rejects.toThrow(
      /Shard 3 of 3 .*the worker exited with code 134/
    );
    expect(made.every(t => t.terminated)).toBe(true);
  });
});

describe('findSpotlightsInShards: validation through the shards’ scans', () => {
  /**
   * Load `input` into a 3-shard pool and search, returning the rejection.
   *
   * @param input - The data.
   * @returns The search's promise.
   */
  async function searchInPool(input: ISpotlightInput) {
    const pool = await ShardPool.create({
      n: input.n,
      d: input.d,
      shards: 3,
      layout: 'cpu'
    });
    try {
      await pool.load(input.embeddings);
      return await findSpotlightsInShards(pool, input.losses, {
        backend: 'cpu',
        count: 1,
        steps: 5
      });
    } finally {
      pool.dispose();
    }
  }

  it('names non-finite embeddings as validateInput does, with global indices', async () => {
    const data = plantedClusters(300, 4, 2, 0.05);
    const embeddings = Float32Array.from(data.embeddings);
    embeddings[150 * 4 + 2] = NaN;
    embeddings[299 * 4 + 3] = Infinity;
    const input = { ...data, embeddings };
    let expected = '';
    try {
      validateInput(input, resolveOptions({}));
    } catch (error) {
      expected = (error as Error).message;
    }
    expect(expected).toMatch(/row 150 column 2, row 299 column 3/);
    await expect(searchInPool(input)).rejects.toThrow(expected);
    await expect(searchInPool(input)).rejects.toBeInstanceOf(
      SpotlightInputError
    );
  });

  it('refuses embeddings that are all the same row across shards', async () => {
    const n = 90;
    const input = {
      embeddings: new Float32Array(n * 3).fill(0.5),
      losses: Float32Array.from({ length: n }, (_, i) => i % 7),
      n,
      d: 3
    };
    await expect(searchInPool(input)).rejects.toMatchObject({
      code: 'constant-embeddings'
    });
    // One differing row, in the last shard only, is enough.
    input.embeddings[89 * 3] = 0.25;
    await expect(searchInPool(input)).resolves.toMatchObject({ n: 90 });
  });
});
