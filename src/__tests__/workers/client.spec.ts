/**
 * The audit pipeline in a Web Worker, with the worker's code run in-process
 * (`InProcessWorker`: the same host, messages deep-copied as `postMessage`
 * copies them): the page keeps no embeddings, the results equal the
 * main-thread pipeline's, errors keep their class across the boundary, and
 * cancel, a dying worker and dispose leave no worker or data behind.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import { Signal } from '@lumino/signaling';

import type { KernelBridge } from '../../kernel/bridge';
import { isAbortError } from '../../kernel/errors';
import { IAuditResult, keptSpotlights, SpotlightModel } from '../../model';
import { float32ToBase64, IFinding } from '../../notebook/cells';
import {
  DefaultAuditPipeline,
  embeddingsFingerprint,
  projectEmbeddings
} from '../../pipeline';
import {
  InProcessShardTransport,
  ISpotlight,
  ISpotlightResult,
  SpotlightInputError,
  SpotlightRunError
} from '../../spotlight';
import type {
  IAuditData,
  IAuditOptions,
  IProjectionBasis,
  ISelection
} from '../../tokens';
import { DEFAULT_OPTIONS } from '../../tokens';
import { IWorkerLike, WorkerAuditPipeline } from '../../workers/client';
import { searchWorkers, shardedBackend, useShards } from '../../workers/host';
import { InProcessWorker } from '../../workers/inProcess';
import {
  deserialiseError,
  serialiseError,
  WireSearch
} from '../../workers/protocol';

const N = 60;
const D = 3;

const NAMES: ISelection = {
  embeddings: 'X',
  losses: 'loss',
  referenceLosses: null,
  labels: 'y',
  predictions: null,
  referencePredictions: null,
  examples: null,
  metadata: null
};

/** Deterministic pseudo-random numbers in [0, 1). */
function uniform(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s / 2147483648;
  }
  return out;
}

/** Three blobs; the losses are high in the first. */
const X = uniform(N * D, 3).map((v, i) => v + 4 * (Math.floor(i / D) % 3));
const LOSSES = uniform(N, 5).map((v, i) => (i % 3 === 0 ? 2 + v : v / 4));
const LABELS = Int32Array.from({ length: N }, (_, i) => i % 2);

const OPTIONS: IAuditOptions = {
  ...DEFAULT_OPTIONS,
  spotlightSize: 0.1,
  count: 2,
  steps: 40,
  backend: 'cpu',
  permutations: 0
};

/** A bridge that serves fresh copies of X, the losses and the labels. */
function fakeBridge(): KernelBridge {
  return {
    check: async () => ({ n: N, d: D }),
    fetch: async (name: string) => ({
      data:
        name === 'X'
          ? X.slice()
          : name === 'y'
            ? LABELS.slice()
            : LOSSES.slice(),
      transport: 'comm'
    })
  } as unknown as KernelBridge;
}

/** A worker pipeline on in-process workers; `workers` lists those started. */
function workerPipeline(loadBlockValues?: number): {
  pipeline: WorkerAuditPipeline;
  workers: InProcessWorker[];
} {
  const workers: InProcessWorker[] = [];
  const pipeline = new WorkerAuditPipeline({
    bridge: fakeBridge(),
    spawn: () => {
      const w = new InProcessWorker();
      workers.push(w);
      return w;
    },
    loadBlockValues
  });
  return { pipeline, workers };
}

const live = () => new AbortController().signal;

/** Fetch, search and summarise through a pipeline. */
async function audit(
  pipeline: DefaultAuditPipeline | WorkerAuditPipeline,
  options = OPTIONS
): Promise<{ data: IAuditData; found: ISpotlight[]; result: IAuditResult }> {
  const shape = await pipeline.check(NAMES, live());
  const data = await pipeline.fetch(NAMES, shape, {
    maxBytes: 1e9,
    signal: live()
  });
  const found: ISpotlight[] = [];
  const search = await pipeline.search(data, options, {
    signal: live(),
    onSpotlight: s => found.push(s)
  });
  const result = await pipeline.summarise(
    {
      names: NAMES,
      data,
      search,
      options,
      maxMapPoints: 5000,
      complete: true,
      finishedAt: '2026-01-01T00:00:00Z'
    },
    live()
  );
  return { data, found, result };
}

/** A result without its timings and backend words, for comparisons. */
function comparable(result: IAuditResult) {
  return {
    regions: result.regions,
    overlaps: result.overlaps,
    map: result.map,
    fingerprint: result.fingerprint,
    embeddingsFingerprint: result.embeddingsFingerprint,
    warnings: result.warnings,
    weights: result.search.spotlights.map(s => Array.from(s.kernelWeights)),
    centres: result.search.spotlights.map(s => Array.from(s.center)),
    precisions: result.search.spotlights.map(s => s.precision)
  };
}

describe('WorkerAuditPipeline', () => {
  it('moves the embeddings to the worker and finds what the main thread finds', async () => {
    const { pipeline, workers } = workerPipeline();
    const onWorker = await audit(pipeline);
    const onPage = await audit(new DefaultAuditPipeline(fakeBridge()));

    // The page keeps no embeddings; their buffer was in the transfer list.
    expect(onWorker.data.embeddings).toBeNull();
    expect(onWorker.result.embeddings).toBeNull();
    expect(workers).toHaveLength(1);
    const sent = workers[0].requestTransfers;
    expect(sent).toHaveLength(1);
    expect(sent[0].byteLength).toBe(N * D * 4);
    // The page's small arrays are its own.
    expect(onWorker.result.losses).toBe(onWorker.data.losses);
    expect(onWorker.result.labels).toBe(onWorker.data.labels);

    expect(comparable(onWorker.result)).toEqual(comparable(onPage.result));
    expect(onWorker.result.embeddingsFingerprint).toBe(
      embeddingsFingerprint(X)
    );
    // Each spotlight arrived once, as it was found, and is the one the
    // result holds (no second copy of its weights).
    expect(onWorker.found).toHaveLength(2);
    onWorker.found.forEach((s, j) =>
      expect(onWorker.result.search.spotlights[j]).toBe(s)
    );
    // Spotlights went back to the worker by key, not as weights.
    expect(workers[0].host.heldDataSets).toBe(1);
    pipeline.release(onWorker.data);
    await new Promise(resolve => setTimeout(resolve, 5));
    expect(workers[0].host.heldDataSets).toBe(0);
    pipeline.dispose();
    expect(workers[0].terminated).toBe(true);
    expect(pipeline.hasWorker).toBe(false);
  });

  it('moves embeddings too large for one message in blocks, and finds the same', async () => {
    // 7 values per block: N × D is not a multiple, the last block is short.
    const { pipeline, workers } = workerPipeline(7);
    const blocked = await audit(pipeline);
    const whole = await audit(workerPipeline().pipeline);
    expect(blocked.data.embeddings).toBeNull();
    const sent = workers[0].requestTransfers;
    expect(sent).toHaveLength(Math.ceil((N * D) / 7));
    expect(sent.every(b => b.byteLength <= 7 * 4)).toBe(true);
    expect(comparable(blocked.result)).toEqual(comparable(whole.result));
    expect(blocked.result.embeddingsFingerprint).toBe(embeddingsFingerprint(X));
    pipeline.dispose();
  });

  it('summarises a partial search (the regions found so far) by key', async () => {
    const { pipeline } = workerPipeline();
    const { data, result } = await audit(pipeline);
    const first = result.search.spotlights.slice(0, 1);
    const partial = await pipeline.summarise(
      {
        names: NAMES,
        data,
        search: { ...result.search, spotlights: first },
        options: OPTIONS,
        maxMapPoints: 5000,
        complete: false,
        finishedAt: '2026-01-01T00:00:00Z'
      },
      live()
    );
    expect(partial.regions).toHaveLength(1);
    expect(partial.regions[0]).toEqual(result.regions[0]);
    expect(partial.complete).toBe(false);
    // The map layout (2 × N, the same for every summary) crossed once: the
    // second summary carries the page's copy, not a new one.
    expect(result.mapLayout).toBeDefined();
    expect(partial.mapLayout).toBe(result.mapLayout);
    pipeline.dispose();
  });

  it('runs the permutation test in the worker', async () => {
    const { pipeline } = workerPipeline();
    const { data } = await audit(pipeline);
    const options = { ...OPTIONS, permutations: 3, seed: 4 };
    const progress: number[] = [];
    const nulls = await pipeline.nullDistribution(data, options, {
      signal: live(),
      onProgress: done => progress.push(done)
    });
    const local = new DefaultAuditPipeline(fakeBridge());
    const localData = await local.fetch(
      NAMES,
      { n: N, d: D },
      {
        maxBytes: 1e9,
        signal: live()
      }
    );
    const expected = await local.nullDistribution(localData, options, {
      signal: live()
    });
    expect(nulls).toBeInstanceOf(Float64Array);
    expect(Array.from(nulls)).toEqual(Array.from(expected));
    expect(progress).toEqual([1, 2, 3]);
    pipeline.dispose();
  });

  it('applies a saved projection in the worker and reopens findings there', async () => {
    const { pipeline } = workerPipeline();
    const projection: IProjectionBasis = {
      components: 2,
      d: D,
      mean: new Float32Array([4, 4, 4]),
      matrix: new Float32Array([1, 0, 0, 0, 0, 1])
    };
    const data = await pipeline.fetch(
      NAMES,
      { n: N, d: D },
      {
        maxBytes: 1e9,
        signal: live(),
        projection
      }
    );
    expect(data.d).toBe(2);
    expect(data.embeddings).toBeNull();
    expect(data.projection!.sourceChecksum).toBe(
      parseInt(embeddingsFingerprint(X), 16)
    );
    const coordinates = projectEmbeddings(X, N, projection);
    const finding = {
      region: 1,
      center: float32ToBase64(new Float32Array([0.5, 0.5])),
      precision: 2,
      backend: 'cpu',
      date: '2026-01-01',
      summary: { weightedLoss: 1 },
      history: { objective: [1], totalWeight: [5] }
    } as unknown as IFinding;
    const search = await pipeline.reconstruct([finding], data, live());
    const local = new DefaultAuditPipeline(fakeBridge());
    const expected = await local.reconstruct(
      [finding],
      { ...data, embeddings: coordinates },
      live()
    );
    expect(Array.from(search.spotlights[0].kernelWeights)).toEqual(
      Array.from(expected.spotlights[0].kernelWeights)
    );
    pipeline.dispose();
  });

  it('refuses a saved projection of another width before fetching', async () => {
    const { pipeline, workers } = workerPipeline();
    await expect(
      pipeline.fetch(
        NAMES,
        { n: N, d: D },
        {
          maxBytes: 1e9,
          signal: live(),
          projection: {
            components: 1,
            d: 4,
            mean: new Float32Array(4),
            matrix: new Float32Array(4)
          }
        }
      )
    ).rejects.toThrow(/D = 4 dimensions but 'X' has D = 3/);
    expect(workers).toHaveLength(0);
  });

  it('keeps the engine input errors as SpotlightInputError', async () => {
    const { pipeline } = workerPipeline();
    const shape = await pipeline.check(NAMES, live());
    const data = await pipeline.fetch(NAMES, shape, {
      maxBytes: 1e9,
      signal: live()
    });
    const error = await pipeline
      .search(data, { ...OPTIONS, spotlightSize: 1.5 }, { signal: live() })
      .catch(e => e);
    expect(error).toBeInstanceOf(SpotlightInputError);
    expect(error.code).toBe('bad-option');
    pipeline.dispose();
  });

  it('cancels at once: the worker is terminated and the next run starts a new one', async () => {
    const { pipeline, workers } = workerPipeline();
    const shape = await pipeline.check(NAMES, live());
    const data = await pipeline.fetch(NAMES, shape, {
      maxBytes: 1e9,
      signal: live()
    });
    const abort = new AbortController();
    const running = pipeline.search(
      data,
      { ...OPTIONS, steps: 100000 },
      {
        signal: abort.signal,
        onProgress: () => abort.abort()
      }
    );
    const error = await running.catch(e => e);
    expect(isAbortError(error)).toBe(true);
    expect(workers[0].terminated).toBe(true);
    expect(workers[0].host.heldDataSets).toBe(0);
    expect(pipeline.hasWorker).toBe(false);
    // The data died with the worker: saying so, not hanging.
    await expect(
      pipeline.search(data, OPTIONS, { signal: live() })
    ).rejects.toThrow(/stopped .* run the audit again/);
    const again = await audit(pipeline);
    expect(again.result.regions).toHaveLength(2);
    expect(workers).toHaveLength(2);
    pipeline.dispose();
  });

  it('a worker that dies fails the stage with the size and what to do, and a new run works', async () => {
    const { pipeline, workers } = workerPipeline();
    const shape = await pipeline.check(NAMES, live());
    const data = await pipeline.fetch(NAMES, shape, {
      maxBytes: 1e9,
      signal: live()
    });
    const running = pipeline.search(
      data,
      { ...OPTIONS, steps: 100000 },
      {
        signal: live(),
        onProgress: () => workers[0].crash('Out of memory')
      }
    );
    const error = await running.catch(e => e);
    expect(error.name).toBe('AuditWorkerError');
    expect(error.message).toMatch(
      /stopped while searching 60 × 3 float32 embeddings \(0 MB\) \(Out of memory\).*Principal components.*run the audit again/
    );
    expect(pipeline.hasWorker).toBe(false);
    expect(workers[0].host.heldDataSets).toBe(0);
    const again = await audit(pipeline);
    expect(again.result.regions).toHaveLength(2);
    pipeline.dispose();
  });

  it('dispose rejects pending stages as cancelled and refuses new ones', async () => {
    const { pipeline, workers } = workerPipeline();
    const shape = await pipeline.check(NAMES, live());
    const data = await pipeline.fetch(NAMES, shape, {
      maxBytes: 1e9,
      signal: live()
    });
    const running = pipeline.search(
      data,
      { ...OPTIONS, steps: 100000 },
      { signal: live(), onProgress: () => pipeline.dispose() }
    );
    expect(isAbortError(await running.catch(e => e))).toBe(true);
    expect(workers[0].terminated).toBe(true);
    await expect(pipeline.check(NAMES, live())).rejects.toThrow(/disposed/);
  });
});

describe('the search over shards in the audit worker', () => {
  /** A pipeline whose worker splits the search over in-process shards. */
  function sharded(transports: InProcessShardTransport[]): WorkerAuditPipeline {
    return new WorkerAuditPipeline({
      bridge: fakeBridge(),
      spawn: () =>
        new InProcessWorker({
          shards: {
            transport: () => {
              const t = new InProcessShardTransport();
              transports.push(t);
              return t;
            },
            hardwareThreads: 4
          }
        })
    });
  }

  it('finds with 2 shards what the audit worker alone and the main thread find (cpu)', async () => {
    const transports: InProcessShardTransport[] = [];
    // One worker: the audit worker searches alone (no shard).
    const one = await audit(sharded(transports), { ...OPTIONS, workers: 1 });
    expect(transports).toHaveLength(0);
    const two = await audit(sharded(transports), { ...OPTIONS, workers: 2 });
    expect(transports).toHaveLength(2);
    // Every shard was terminated at the end of its search.
    expect(transports.every(t => t.terminated)).toBe(true);
    const single = await audit(new DefaultAuditPipeline(fakeBridge()));
    expect(one.result.search.backendReason).toMatch(
      /· 1 search worker \(the audit worker\)$/
    );
    expect(two.result.search.backendReason).toMatch(/· 2 search workers$/);
    for (const other of [two, single]) {
      other.result.regions.forEach((r, j) => {
        const o = one.result.regions[j];
        expect(r.supportSize).toBe(o.supportSize);
        // The shards sum along the single engine's tree: the same numbers.
        expect(r.totalWeight).toBe(o.totalWeight);
        expect(r.weightedLoss).toBe(o.weightedLoss);
        expect(r.topIndices).toEqual(o.topIndices);
      });
    }
  });

  it('runs the permutation test over the shards, with the same null as one worker', async () => {
    const transports: InProcessShardTransport[] = [];
    const options = { ...OPTIONS, permutations: 2, seed: 9 };
    const nulls: number[][] = [];
    for (const workers of [1, 2]) {
      const pipeline = sharded(transports);
      const { data } = await audit(pipeline, { ...options, workers });
      const before = transports.length;
      const draws = await pipeline.nullDistribution(
        data,
        { ...options, workers },
        { signal: live() }
      );
      // With 2 workers each null search ran on 2 new shards.
      expect(transports.length - before).toBe(workers === 1 ? 0 : 4);
      nulls.push(Array.from(draws));
      pipeline.dispose();
    }
    expect(transports.every(t => t.terminated)).toBe(true);
    expect(nulls[1]).toEqual(nulls[0]);
    expect(nulls[0].every(v => Number.isFinite(v) && v > 0)).toBe(true);
  });

  it('splits small data only when the user chose the number of workers', () => {
    expect(useShards(1, 1e6, 768, true)).toBe(false);
    expect(useShards(2, 1e6, 768, false)).toBe(true);
    expect(useShards(7, 1797, 32, false)).toBe(false);
    expect(useShards(2, 1797, 32, true)).toBe(true);
  });

  it('uses hardware threads − 1 workers by default, at least 1', () => {
    expect(searchWorkers(0, 8)).toBe(7);
    expect(searchWorkers(0, 2)).toBe(1);
    expect(searchWorkers(0, 1)).toBe(1);
    expect(searchWorkers(0, NaN)).toBe(1);
    expect(searchWorkers(undefined, 16)).toBe(15);
    expect(searchWorkers(3, 16)).toBe(3);
  });

  it('keeps WebGL on a hardware GPU in one worker, never on a software renderer', () => {
    const hardware = () => ({
      renderer: 'ANGLE (NVIDIA)',
      vendor: 'Google',
      software: false
    });
    const software = () => ({
      renderer: 'SwiftShader',
      vendor: 'Google',
      software: true
    });
    expect(shardedBackend('auto', hardware)).toBe(false);
    expect(shardedBackend('auto', software)).toBe(true);
    expect(
      shardedBackend('auto', () => 'no WebGL context could be created')
    ).toBe(true);
    expect(shardedBackend('webgl', software)).toBe(false);
    expect(shardedBackend('wasm', hardware)).toBe(true);
    expect(shardedBackend('cpu', hardware)).toBe(true);
  });
});

describe('errors across the worker boundary', () => {
  /** A spotlight with small arrays. */
  function spotlight(): ISpotlight {
    return {
      center: new Float32Array([1, 2]),
      precision: 1,
      radius: 1,
      kernelWeights: new Float32Array([1, 0]),
      normalizedWeights: new Float32Array([1, 0]),
      totalWeight: 1,
      supportSize: 1,
      weightedLoss: 2,
      weightedLossOriginal: 2,
      initialPrecision: 1,
      startAdjusted: false,
      guardSteps: 0,
      history: {
        objective: new Float32Array(1),
        totalWeight: new Float32Array(1),
        learningRate: new Float32Array(1)
      },
      timeMs: 1
    };
  }

  it('rebuilds a SpotlightRunError with its partial result and failed spotlight', () => {
    const error = new SpotlightRunError('zero-weight', 'K reached 0.');
    const partial = {
      version: 1,
      spotlights: [spotlight()]
    } as unknown as ISpotlightResult;
    error.partial = partial;
    error.failedSpotlight = 1;
    const wire = serialiseError(error, s => s as WireSearch);
    const copy = JSON.parse(JSON.stringify({ ...wire, partial: undefined }));
    const back = deserialiseError(
      { ...copy, partial: wire.partial },
      s => s as ISpotlightResult
    );
    expect(back).toBeInstanceOf(SpotlightRunError);
    expect((back as SpotlightRunError).code).toBe('zero-weight');
    expect((back as SpotlightRunError).failedSpotlight).toBe(1);
    expect(back.message).toBe('K reached 0.');
    const kept = keptSpotlights(back, 3);
    expect(kept!.partial.spotlights).toHaveLength(1);
    expect(kept!.failure).toMatch(/Spotlight 2 of 3 failed/);
  });

  it('keeps the model showing the regions found before a failure in the worker', async () => {
    // A worker that finds one spotlight, then fails the next.
    let host!: IWorkerLike;
    const replies: unknown[] = [];
    const fake: IWorkerLike = {
      onmessage: null,
      onerror: null,
      terminate: () => undefined,
      postMessage: (message: any) => {
        const reply = (value: unknown) =>
          setTimeout(() => host.onmessage?.({ data: value } as MessageEvent));
        replies.push(message.type);
        if (message.type === 'load') {
          reply({
            type: 'done',
            id: message.id,
            value: { d: D, sourceChecksum: null }
          });
        } else if (message.type === 'search') {
          reply({
            type: 'spotlight',
            id: message.id,
            index: 0,
            spotlight: { ...spotlight(), key: 7 }
          });
          reply({
            type: 'error',
            id: message.id,
            error: {
              name: 'SpotlightRunError',
              code: 'zero-weight',
              message: 'the ball emptied.',
              failedSpotlight: 1,
              partial: { version: 1, n: N, d: D, spotlights: [7] }
            }
          });
        } else if (message.type === 'summarise') {
          expect(message.input.search.spotlights).toEqual([7]);
          reply({
            type: 'done',
            id: message.id,
            value: {
              n: N,
              d: D,
              regions: [{ index: 0 }],
              overlaps: [[1]],
              map: [],
              fingerprint: '00000000',
              embeddingsFingerprint: '00000000',
              warnings: [message.input.failure],
              complete: true,
              options: message.input.options,
              finishedAt: message.input.finishedAt,
              timings: { fetchMs: 0, searchMs: 0, summaryMs: 0, totalMs: 0 },
              failure: message.input.failure
            }
          });
        }
      }
    };
    host = fake;
    const pipeline = new WorkerAuditPipeline({
      bridge: fakeBridge(),
      spawn: () => fake
    });
    const shape = await pipeline.check(NAMES, live());
    const data = await pipeline.fetch(NAMES, shape, {
      maxBytes: 1e9,
      signal: live()
    });
    const error = await pipeline
      .search(data, OPTIONS, { signal: live() })
      .catch(e => e);
    expect(error).toBeInstanceOf(SpotlightRunError);
    const kept = keptSpotlights(error, 2);
    expect(kept!.failure).toMatch(/Spotlight 2 of 2 failed.*the ball emptied/);
    // The partial's spotlight is the one the page received as it was found.
    expect(kept!.partial.spotlights[0].center).toEqual(
      new Float32Array([1, 2])
    );
    expect(replies).toEqual(['load', 'search']);
  });
});

describe('SpotlightModel on the worker pipeline', () => {
  it('keeps the PCA map and says why when UMAP fails', async () => {
    const model = new SpotlightModel({
      options: OPTIONS,
      pipeline: () => {
        const p = new WorkerAuditPipeline({
          bridge: fakeBridge(),
          spawn: () => new InProcessWorker()
        });
        p.layout = async () => {
          throw new Error('umap-js ran out of memory.');
        };
        return p;
      }
    });
    model.setNotebook(Private.session(), 'a.ipynb');
    model.select('embeddings', 'X');
    model.select('losses', 'loss');
    const result = await model.run();
    const consoleError = jest.spyOn(console, 'error').mockImplementation();
    await model.setMapMethod('umap');
    consoleError.mockRestore();
    expect(model.mapState.method).toBe('pca');
    expect(model.mapState.state).toBe('failed');
    expect(model.mapState.error).toBe(
      'UMAP failed: umap-js ran out of memory. The map stays on PCA.'
    );
    expect(model.mapLayoutOf(result)).toBe(result.mapLayout);
    model.dispose();
  });

  it('runs an audit, releases the data and disposes the pipeline', async () => {
    const workers: InProcessWorker[] = [];
    const pipelines: WorkerAuditPipeline[] = [];
    const model = new SpotlightModel({
      options: OPTIONS,
      pipeline: bridge => {
        const p = new WorkerAuditPipeline({
          bridge: fakeBridge(),
          spawn: () => {
            const w = new InProcessWorker();
            workers.push(w);
            return w;
          }
        });
        void bridge;
        pipelines.push(p);
        return p;
      }
    });
    model.setNotebook(Private.session(), 'a.ipynb');
    model.select('embeddings', 'X');
    model.select('losses', 'loss');
    const result = await model.run();
    expect(result.regions).toHaveLength(2);
    expect(result.embeddings).toBeNull();
    await new Promise(resolve => setTimeout(resolve, 5));
    // The shown result's data stay in the worker for the map's UMAP layout.
    expect(workers[0].host.heldDataSets).toBe(1);
    const progress: number[] = [];
    model.changed.connect((_, change) => {
      if (change === 'map' && model.mapState.state === 'computing') {
        progress.push(model.mapState.fraction);
      }
    });
    // Back to PCA while UMAP computes: the worker (and the data it holds)
    // is not stopped; the layout is kept for the next choice of UMAP.
    const first = model.setMapMethod('umap');
    expect(model.mapState.state).toBe('computing');
    await model.setMapMethod('pca');
    expect(model.mapState).toMatchObject({ method: 'pca', state: 'ready' });
    await first;
    expect(workers[0].terminated).toBe(false);
    expect(workers[0].host.heldDataSets).toBe(1);
    expect(model.mapLayoutOf(result)).toBe(result.mapLayout);
    await model.setMapMethod('umap');
    expect(model.mapState).toMatchObject({
      method: 'umap',
      state: 'ready',
      error: null
    });
    expect(progress.length).toBeGreaterThan(0);
    const umap = model.mapLayoutOf(result)!;
    expect(umap.method).toBe('umap');
    expect(umap.xy).toHaveLength(2 * result.n);
    expect(umap.xy.every(Number.isFinite)).toBe(true);
    expect(result.mapLayout!.method).toBe('pca');
    // A second audit frees the first one's data: one data set held.
    const second = await model.run();
    await new Promise(resolve => setTimeout(resolve, 5));
    expect(workers[0].host.heldDataSets).toBe(1);
    // UMAP stays chosen: the new data's map is laid out with it too.
    for (let t = 0; t < 600 && model.mapState.state !== 'ready'; t++) {
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    expect(model.mapState.state).toBe('ready');
    expect(model.mapLayoutOf(second)!.method).toBe('umap');
    await model.setMapMethod('pca');
    expect(model.mapLayoutOf(second)).toBe(second.mapLayout);
    model.dispose();
    expect(pipelines[0].isDisposed).toBe(true);
    expect(workers[0].terminated).toBe(true);
  });
});

namespace Private {
  /** A notebook session with no kernel: enough for the model's bridge. */
  class FakeSession {
    readonly kernelChanged = new Signal<this, unknown>(this);
    readonly statusChanged = new Signal<this, string>(this);
    readonly session = null;
  }

  /** A session context whose kernel never restarts. */
  export function session(): ISessionContext {
    return new FakeSession() as unknown as ISessionContext;
  }
}
