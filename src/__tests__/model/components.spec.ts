/**
 * Searching on the top principal components (`components`): the fetch stage
 * through a fake bridge (the kernel computes the projection), the refusals,
 * reopening saved findings with their saved projection, the saved cells, and
 * the protocol's golden payload.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { KernelBridge } from '../../kernel/bridge';
import { isFetchBeginReply } from '../../kernel/protocol';
import {
  findingCode,
  findingMarkdown,
  findingProjection,
  float32ToBase64,
  IFinding
} from '../../notebook/cells';
import {
  assembleResult,
  checkComponents,
  DefaultAuditPipeline,
  embeddingsFingerprint,
  fingerprint,
  projectEmbeddings,
  reconstructSearch
} from '../../pipeline';
import { kernelWeights } from '../../spotlight';
import { summarizeRegion } from '../../summaries/stats';
import type { IProjection, ISelection, Role } from '../../tokens';
import { DEFAULT_OPTIONS } from '../../tokens';

const N = 40;
const D = 5;
const K = 2;

const NAMES: ISelection = {
  embeddings: 'X',
  losses: 'loss',
  referenceLosses: null,
  labels: null,
  predictions: null,
  referencePredictions: null,
  examples: null,
  metadata: null
};

/** Deterministic pseudo-random numbers in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s / 2147483648) * 2 - 1;
  }
  return out;
}

const X = values(N * D, 7).map((v, i) => v * (1 + (i % D)) + 2);
const LOSSES = values(N, 11).map(v => Math.abs(v));

/** The projection a kernel would send: column mean, components e5 and e4. */
function kernelProjection(): IProjection {
  const mean = new Float32Array(D);
  for (let i = 0; i < N; i++) {
    for (let c = 0; c < D; c++) {
      mean[c] += X[i * D + c] / N;
    }
  }
  const matrix = new Float32Array(K * D);
  matrix[4] = 1; // row 0: the widest column
  matrix[D + 3] = 1; // row 1: the next one
  return {
    components: K,
    d: D,
    mean,
    matrix,
    explainedVarianceRatio: [0.45, 0.29],
    sourceChecksum: parseInt(embeddingsFingerprint(X), 16)
  };
}

interface ICall {
  name: string;
  role: Role;
  components?: number;
}

/** A pipeline over a fake bridge that projects like the kernel helper. */
function fakePipeline(calls: ICall[]): DefaultAuditPipeline {
  const projection = kernelProjection();
  return new DefaultAuditPipeline({
    fetch: async (
      name: string,
      role: Role,
      options: { components?: number }
    ) => {
      calls.push({ name, role, components: options.components });
      if (name === 'X' && options.components) {
        return {
          data: projectEmbeddings(X, N, projection),
          transport: 'comm',
          projection
        };
      }
      return { data: name === 'X' ? X : LOSSES, transport: 'comm' };
    }
  } as unknown as KernelBridge);
}

const signal = new AbortController().signal;

describe('fetch with principal components', () => {
  it('asks the kernel for the components of the embeddings only and keeps the projection', async () => {
    const calls: ICall[] = [];
    const totals: number[] = [];
    const data = await fakePipeline(calls).fetch(
      NAMES,
      { n: N, d: D },
      {
        maxBytes: 1e9,
        signal,
        components: K,
        onProgress: p => totals.push(p.total)
      }
    );
    expect(calls).toEqual([
      { name: 'X', role: 'embeddings', components: K },
      { name: 'loss', role: 'losses', components: undefined }
    ]);
    expect(data.d).toBe(K);
    expect(data.embeddings!.length).toBe(N * K);
    expect(data.projection!.components).toBe(K);
    expect(data.projection!.d).toBe(D);
    // Coordinates: column 5 and column 4, centred.
    const p = data.projection!;
    expect(data.embeddings![0]).toBe(Math.fround(X[4] - p.mean[4]));
    expect(data.embeddings![1]).toBe(Math.fround(X[3] - p.mean[3]));
    // The fingerprints cover the kernel's N × D embeddings, not the coordinates.
    const result = assembleResult({
      names: NAMES,
      data,
      search: reconstructSearch([finding(p, [0, 0], 0.5)], data),
      options: { ...DEFAULT_OPTIONS, components: K },
      maxMapPoints: 100,
      complete: true,
      finishedAt: '2026-12-05T00:00:00.000Z'
    });
    expect(result.fingerprint).toBe(fingerprint(X, LOSSES));
    expect(result.projection).toBe(p);
    expect(result.d).toBe(K);
  });

  it('without components fetches the embeddings as they are', async () => {
    const calls: ICall[] = [];
    const data = await fakePipeline(calls).fetch(
      NAMES,
      { n: N, d: D },
      { maxBytes: 1e9, signal, components: 0 }
    );
    expect(calls[0].components).toBeUndefined();
    expect(data.d).toBe(D);
    expect(data.embeddings).toBe(X);
    expect(data.projection).toBeNull();
  });

  it('refuses components ≥ D, above 1024 or fractional before anything moves', async () => {
    const calls: ICall[] = [];
    const pipeline = fakePipeline(calls);
    const fetch = (components: number, d = D) =>
      pipeline.fetch(NAMES, { n: N, d }, { maxBytes: 1e9, signal, components });
    await expect(fetch(D)).rejects.toThrow(
      /embeddings 'X' to 5 principal components: it has D = 5 dimensions.*1 to 4/
    );
    await expect(fetch(1025, 2000)).rejects.toThrow(
      /'X' \(D = 2,000\) to 1,025 principal components: at most 1,024/
    );
    await expect(fetch(1.5)).rejects.toThrow(/whole number/);
    await expect(fetch(-1)).rejects.toThrow(/whole number/);
    expect(calls).toEqual([]);
    expect(checkComponents(0, 1, 'X')).toBe(0);
    expect(checkComponents(1024, 1025, 'X')).toBe(1024);
  });
});

/** A saved finding of region 1 with a projection, centre and precision. */
function finding(
  projection: IProjection,
  center: number[],
  precision: number
): IFinding {
  const weights = new Float32Array(N);
  return {
    version: 1,
    region: 1,
    of: 1,
    names: NAMES,
    n: N,
    d: D,
    center: float32ToBase64(new Float32Array(center)),
    projection: {
      mean: float32ToBase64(projection.mean),
      components: float32ToBase64(projection.matrix),
      rows: projection.components
    },
    precision,
    parameters: { ...DEFAULT_OPTIONS, components: projection.components },
    backend: 'cpu',
    date: '2026-12-05T00:00:00.000Z',
    fingerprint: fingerprint(X, LOSSES),
    embeddingsFingerprint: embeddingsFingerprint(X),
    summary: summarizeRegion(0, weights, 1, { losses: LOSSES }),
    history: { step: [0], objective: [1], totalWeight: [2] }
  };
}

describe('reopening findings saved with a projection', () => {
  const projection = kernelProjection();
  const center = [1.5, -0.5];
  const precision = 0.4;
  const saved = finding(projection, center, precision);

  it('fetches the embeddings as they are and applies the saved projection', async () => {
    const calls: ICall[] = [];
    const basis = findingProjection(saved)!;
    expect(basis.components).toBe(K);
    expect(Array.from(basis.matrix)).toEqual(Array.from(projection.matrix));
    const data = await fakePipeline(calls).fetch(
      NAMES,
      { n: N, d: D },
      { maxBytes: 1e9, signal, projection: basis }
    );
    expect(calls[0]).toEqual({
      name: 'X',
      role: 'embeddings',
      components: undefined
    });
    const coordinates = projectEmbeddings(X, N, projection);
    expect(Array.from(data.embeddings!)).toEqual(Array.from(coordinates));
    expect(data.d).toBe(K);
    expect(data.projection!.sourceChecksum).toBe(projection.sourceChecksum);
    const search = reconstructSearch([saved], data);
    const expected = kernelWeights(
      coordinates,
      N,
      K,
      new Float32Array(center),
      precision
    );
    expect(Array.from(search.spotlights[0].kernelWeights)).toEqual(
      Array.from(expected)
    );
    expect(expected.some(w => w > 0)).toBe(true);
    expect(expected.some(w => w === 0)).toBe(true);
    const result = assembleResult({
      names: NAMES,
      data,
      search,
      options: saved.parameters,
      maxMapPoints: 100,
      complete: true,
      finishedAt: saved.date
    });
    expect(result.fingerprint).toBe(saved.fingerprint);
  });

  it('refuses a saved projection of another D, and a centre of the wrong length', async () => {
    const basis = findingProjection(saved)!;
    await expect(
      fakePipeline([]).fetch(
        NAMES,
        { n: N, d: D + 1 },
        { maxBytes: 1e9, signal, projection: basis }
      )
    ).rejects.toThrow(/D = 5 dimensions but 'X' has D = 6/);
    const plain = await fakePipeline([]).fetch(
      NAMES,
      { n: N, d: D },
      { maxBytes: 1e9, signal }
    );
    expect(() => reconstructSearch([saved], plain)).toThrow(
      /2 coordinates but the data has 5 \(apply its saved projection first\)/
    );
    expect(() =>
      findingProjection({
        ...saved,
        projection: { ...saved.projection!, rows: 3 }
      })
    ).toThrow(/damaged/);
    expect(findingProjection({ ...saved, projection: undefined })).toBeNull();
  });

  it('projects in float64 from the float32 mean and components', () => {
    const out = projectEmbeddings(X, N, projection);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < K; j++) {
        let sum = 0;
        for (let c = 0; c < D; c++) {
          sum +=
            (X[i * D + c] - projection.mean[c]) * projection.matrix[j * D + c];
        }
        expect(out[i * K + j]).toBe(Math.fround(sum));
      }
    }
    expect(() => projectEmbeddings(X.subarray(1), N, projection)).toThrow(
      /needs 40 × 5 embeddings/
    );
  });
});

describe('saved cells of a projected search', () => {
  const saved = finding(kernelProjection(), [1, 0], 0.5);

  it('say so in the markdown', () => {
    expect(findingMarkdown(saved)).toContain(
      'searched on the top 2 principal components of `X` (D = 5)'
    );
    const { projection, ...plain } = saved;
    void projection;
    expect(findingMarkdown(plain)).not.toContain('principal components');
  });

  it('apply the saved projection before the kernel weights', () => {
    const code = findingCode(saved, { mark: 'bar' });
    expect(code).toContain(
      `spotlight_region_1_projection_mean = np.frombuffer(base64.b64decode(\n    "${saved.projection!.mean}"\n), dtype="<f4")`
    );
    expect(code).toContain(
      'mean = spotlight_region_1_projection_mean.astype(np.float64)'
    );
    expect(code).toContain('.reshape(2, -1)');
    expect(code).toContain(
      'points = ((x.astype(np.float64) - mean) @ components.T)'
    );
    expect(code).toContain('((points - center) ** 2).sum(axis=1)');
    const { projection, ...plain } = saved;
    void projection;
    const unprojected = findingCode(plain, { mark: 'bar' });
    expect(unprojected).not.toContain('points');
    expect(unprojected).toContain(
      'weights = np.maximum(0.0, 1.0 - precision * ((x.astype(np.float64) - center) ** 2).sum(axis=1))'
    );
  });
});

describe('the components golden payload', () => {
  const golden = JSON.parse(
    fs.readFileSync(
      path.resolve(
        __dirname,
        '../../../protocol/v1/fetch-begin-components-reply.json'
      ),
      'utf8'
    )
  ) as { data: Record<string, unknown>; buffers_hex: string[] };

  it('is a valid fetch-begin reply with its projection fields', () => {
    expect(isFetchBeginReply(golden.data)).toBe(true);
    expect(golden.buffers_hex.map(h => h.length / 2)).toEqual([12, 24]);
  });

  it('is refused with inconsistent projection fields', () => {
    for (const change of [
      { source_shape: [4, 2] },
      { source_shape: [5, 3] },
      { components: 3 },
      { explained_variance_ratio: [1] },
      { source_checksum: -1 }
    ]) {
      expect(isFetchBeginReply({ ...golden.data, ...change })).toBe(false);
    }
  });
});
