/**
 * The sharded engine's transport over a standard message endpoint (issue
 * 11): a Web Worker, or one end of a `MessageChannel` (browsers and Node
 * alike). The page's worker pool wraps each shard's Worker in a
 * `WorkerShardTransport`; the worker's script calls `serveShardOnScope(self)`.
 * Only the standard `postMessage` / `addEventListener` API is used, so this
 * module has no DOM or Node imports.
 */
import type { IShardEnvelope, ShardResponse } from './shard';
import { serveShard, ShardWorker } from './shard';
import type { IShardTransport } from './shardPool';

/** What a `Worker` or a `MessagePort` offers (the standard API). */
export interface IMessageEndpoint {
  /**
   * Send a message, moving the buffers in `transfer`.
   *
   * @param message - Any structured-clonable value.
   * @param transfer - Buffers to move.
   */
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  /**
   * Listen to `message`, `messageerror` and (a Worker's) `error` events.
   *
   * @param type - The event type.
   * @param listener - The listener.
   */
  addEventListener(
    type: 'message' | 'messageerror' | 'error',
    listener: (event: { data?: unknown; message?: string }) => void
  ): void;
  /** A Worker's: stop it now. */
  terminate?(): void;
  /** A MessagePort's: close it. */
  close?(): void;
  /** A MessagePort's: start delivering messages. */
  start?(): void;
}

/**
 * One shard behind a Worker or a MessagePort. A Worker's `error` event (an
 * uncaught exception, a failed load) and a message that cannot be
 * deserialised fail the shard; `terminate` terminates the Worker (or closes
 * the port).
 */
export class WorkerShardTransport implements IShardTransport {
  /**
   * @param endpoint - The Worker (or port) whose other side serves the shard.
   */
  constructor(private readonly endpoint: IMessageEndpoint) {}

  /**
   * Send a request.
   *
   * @param envelope - The request.
   * @param transfer - Buffers to move.
   */
  post(envelope: IShardEnvelope, transfer: ArrayBuffer[]): void {
    this.endpoint.postMessage(envelope, transfer);
  }

  /**
   * Hear replies and failures.
   *
   * @param onResponse - Replies.
   * @param onFailure - The worker failed or a message could not be read.
   */
  listen(
    onResponse: (response: ShardResponse) => void,
    onFailure: (reason: string) => void
  ): void {
    const e = this.endpoint;
    e.addEventListener('message', event =>
      onResponse(event.data as ShardResponse)
    );
    e.addEventListener('messageerror', () =>
      onFailure('a message from its worker could not be read')
    );
    e.addEventListener('error', event =>
      onFailure(
        `its worker failed (${event.message || 'an uncaught error, or the browser stopped it; out of memory?'})`
      )
    );
    e.start?.();
  }

  /** Terminate the worker (or close the port); idempotent. */
  terminate(): void {
    if (this._terminated) {
      return;
    }
    this._terminated = true;
    if (this.endpoint.terminate) {
      this.endpoint.terminate();
    } else {
      this.endpoint.close?.();
    }
  }

  private _terminated = false;
}

/**
 * Serve one shard on a worker's global scope or a port: the worker side of
 * `WorkerShardTransport` (a Web Worker's script: `serveShardOnScope(self)`).
 *
 * @param scope - The worker's scope (`self`) or a MessagePort.
 * @returns The shard.
 */
export function serveShardOnScope(scope: IMessageEndpoint): ShardWorker {
  const shard = serveShard({
    postMessage: (message, transfer) => scope.postMessage(message, transfer),
    onRequest: handler =>
      scope.addEventListener('message', event =>
        handler(event.data as IShardEnvelope)
      ),
    close: () => scope.close?.()
  });
  scope.start?.();
  return shard;
}
