/**
 * Shards on real Node worker threads (src/cli/workers.ts, the CLI's
 * transport; the worker script is the build's lib/node/cli/shardWorker.js,
 * made by `jlpm build`): the same result as in-process shards, bit for bit,
 * and a worker that dies becomes a shard-failed error with every worker
 * stopped.
 */
import { existsSync } from 'fs';
import * as path from 'path';

import {
  NodeWorkerTransport,
  nodeWorkerTransports,
  shardWorkerScript
} from '../../cli/workers';
import {
  findSpotlightsSharded,
  IShardTransport,
  SpotlightOptions
} from '../../spotlight';
import { plantedClusters } from '../spotlight/planted';

jest.setTimeout(240000);

const data = plantedClusters(1500, 16, 41, 0.04);
const options: SpotlightOptions = {
  backend: 'cpu',
  count: 2,
  steps: 600,
  spotlightSize: 0.04
};

describe('shards on Node worker threads', () => {
  it('finds the worker script of the build', () => {
    const script = shardWorkerScript();
    expect(script).toBe(
      path.resolve(
        __dirname,
        '..',
        '..',
        '..',
        'lib',
        'node',
        'cli',
        'shardWorker.js'
      )
    );
    expect(existsSync(script)).toBe(true);
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`gives the in-process shards' result bit for bit (${backend}, 3 workers)`, async () => {
      const o = { ...options, backend };
      const local = await findSpotlightsSharded(data, o, {}, { shards: 3 });
      const made: NodeWorkerTransport[] = [];
      const factory = nodeWorkerTransports();
      const remote = await findSpotlightsSharded(
        data,
        o,
        {},
        {
          shards: 3,
          transport: (i, n) => {
            const t = factory(i, n) as NodeWorkerTransport;
            made.push(t);
            return t;
          }
        }
      );
      expect(remote.backend).toBe(backend);
      remote.spotlights.forEach((s, j) => {
        expect(s.center).toEqual(local.spotlights[j].center);
        expect(s.precision).toBe(local.spotlights[j].precision);
        expect(s.kernelWeights).toEqual(local.spotlights[j].kernelWeights);
      });
      // Every worker was stopped.
      await Promise.all(
        made.map(
          t =>
            new Promise<void>(resolve =>
              t.worker.threadId === -1
                ? resolve()
                : t.worker.once('exit', () => resolve())
            )
        )
      );
      expect(made.map(t => t.worker.threadId)).toEqual([-1, -1, -1]);
    });
  }

  it('turns a worker that dies into a shard-failed error and stops the others', async () => {
    const made: NodeWorkerTransport[] = [];
    const factory = nodeWorkerTransports();
    const exited = (t: NodeWorkerTransport) =>
      new Promise<void>(resolve => t.worker.once('exit', () => resolve()));
    let exits: Promise<void>[] = [];
    const run = findSpotlightsSharded(
      data,
      { ...options, steps: 5000 },
      {
        progressIntervalMs: 0,
        onProgress: p => {
          if (p.step === 50 && exits.length === 0) {
            exits = made.map(exited);
            // As the system does to a worker out of memory.
            void made[1].worker.terminate();
          }
        }
      },
      {
        shards: 2,
        transport: (i, n): IShardTransport => {
          const t = factory(i, n) as NodeWorkerTransport;
          made.push(t);
          return t;
        }
      }
    );
    await expect(run).rejects.toMatchObject({ code: 'shard-failed' });
    await expect(run).rejects.toThrow(
      /Shard 2 of 2 \(rows 768–1,499: 732 × 16 embeddings, 0 MiB\) failed during '\w+': its worker thread exited unexpectedly \(code 1\)\. .*fewer threads/
    );
    await Promise.all(exits);
    expect(made.map(t => t.worker.threadId)).toEqual([-1, -1]);
  });
});
