/**
 * Starts the audit worker. The `new Worker(new URL(…, import.meta.url))`
 * form lets the bundler (rspack, through jupyter-builder) emit the worker as
 * its own chunk with its own runtime, loaded from the labextension's static
 * folder (publicPath 'auto'). Kept apart from the rest so that jest, which
 * cannot parse `import.meta`, never imports it: tests run the worker's code
 * in-process (workers/inProcess.ts).
 */
import type { IWorkerLike } from './client';

/**
 * Start an audit worker (workers/audit.worker.ts).
 *
 * @returns The worker.
 * @throws Error when the browser cannot start Web Workers.
 */
export function spawnAuditWorker(): IWorkerLike {
  return new Worker(new URL('./audit.worker.js', import.meta.url), {
    name: 'spotlight-audit-worker'
  });
}
