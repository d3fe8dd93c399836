/**
 * The audit worker's entry point: a dedicated Web Worker that answers the
 * page's {@link WorkerRequest}s with an {@link AuditWorkerHost}. It is the
 * sharded engine's coordinator: the shards are Web Workers it starts
 * (workers/shard.worker.ts), which end with it. Bundled as its own chunk
 * (workers/spawn.ts).
 */
import { AuditWorkerHost } from './host';
import type { WorkerRequest } from './protocol';
import { WorkerShardTransport } from '../spotlight/workerTransport';

const scope = self as unknown as {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  navigator?: { hardwareConcurrency?: number };
};

const host = new AuditWorkerHost({
  post: (reply, transfer) => scope.postMessage(reply, transfer),
  shards: {
    transport: () =>
      new WorkerShardTransport(
        new Worker(new URL('./shard.worker.js', import.meta.url), {
          name: 'spotlight-shard-worker'
        })
      ),
    hardwareThreads: scope.navigator?.hardwareConcurrency ?? 2
  }
});

scope.onmessage = event => host.handle(event.data);
