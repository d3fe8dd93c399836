/**
 * The shard transport over a standard message endpoint (workerTransport.ts),
 * on a real MessageChannel: messages are structured-cloned and buffers moved
 * as between a page and a Web Worker.
 */
import { MessageChannel } from 'worker_threads';

import {
  findSpotlights,
  findSpotlightsSharded,
  IMessageEndpoint,
  serveShardOnScope,
  WorkerShardTransport
} from '../../spotlight';
import { plantedClusters } from './planted';

jest.setTimeout(120000);

describe('WorkerShardTransport', () => {
  it('runs a sharded search over message ports, and one shard equals the single engine', async () => {
    const data = plantedClusters(900, 8, 21, 0.04);
    const options = {
      backend: 'cpu' as const,
      count: 2,
      steps: 400,
      spotlightSize: 0.04
    };
    const ports: MessageChannel[] = [];
    const transport = () => {
      const channel = new MessageChannel();
      ports.push(channel);
      serveShardOnScope(channel.port2 as unknown as IMessageEndpoint);
      return new WorkerShardTransport(
        channel.port1 as unknown as IMessageEndpoint
      );
    };
    const single = await findSpotlights(data, options);
    const one = await findSpotlightsSharded(
      data,
      options,
      {},
      {
        shards: 1,
        transport
      }
    );
    expect(one.spotlights[1].kernelWeights).toEqual(
      single.spotlights[1].kernelWeights
    );
    const three = await findSpotlightsSharded(
      data,
      options,
      {},
      {
        shards: 3,
        transport
      }
    );
    expect(three.spotlights[0].supportSize).toBe(
      single.spotlights[0].supportSize
    );
    expect(ports.length).toBe(4);
  });

  it('fails the shard on a worker error event and terminates the worker', () => {
    const listeners: Record<string, (event: { message?: string }) => void> = {};
    let terminated = 0;
    const worker: IMessageEndpoint = {
      postMessage: () => undefined,
      addEventListener: (type, listener) => void (listeners[type] = listener),
      terminate: () => void terminated++
    };
    const t = new WorkerShardTransport(worker);
    const failures: string[] = [];
    t.listen(
      () => undefined,
      reason => failures.push(reason)
    );
    listeners.error({ message: 'Out of memory' });
    expect(failures).toEqual(['its worker failed (Out of memory)']);
    t.terminate();
    t.terminate();
    expect(terminated).toBe(1);
  });
});
