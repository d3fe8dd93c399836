/**
 * The audit worker's entry point: a dedicated Web Worker that answers the
 * page's {@link WorkerRequest}s with an {@link AuditWorkerHost}. Bundled as
 * its own chunk (workers/spawn.ts).
 */
import { AuditWorkerHost } from './host';
import type { WorkerRequest } from './protocol';

const scope = self as unknown as {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
};

const host = new AuditWorkerHost({
  post: (reply, transfer) => scope.postMessage(reply, transfer)
});

scope.onmessage = event => host.handle(event.data);
