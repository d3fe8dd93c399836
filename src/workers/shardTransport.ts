/**
 * The shards' transport in the browser: each shard is a dedicated Web
 * Worker (workers/shard.worker.ts) that the audit worker starts and talks
 * to with `postMessage`, moving buffers (no SharedArrayBuffer: JupyterLab is
 * not cross-origin isolated).
 */
import type {
  IShardEnvelope,
  IShardTransport,
  ShardResponse
} from '../spotlight';
import type { IWorkerLike } from './client';

/** One shard behind a Web Worker (or anything with its interface). */
export class WebWorkerShardTransport implements IShardTransport {
  /**
   * @param worker - The shard's worker, started and not yet used.
   */
  constructor(worker: IWorkerLike) {
    this._worker = worker;
  }

  /**
   * Send a request to the shard.
   *
   * @param envelope - The request and its id.
   * @param transfer - Buffers to move.
   */
  post(envelope: IShardEnvelope, transfer: ArrayBuffer[]): void {
    if (!this._terminated) {
      this._worker.postMessage(envelope, transfer);
    }
  }

  /**
   * Hear the shard's responses and its death (an uncaught error, a worker
   * that could not start or ran out of memory, a reply that cannot be read).
   *
   * @param onResponse - Every response.
   * @param onFailure - Once, when the shard can no longer answer.
   */
  listen(
    onResponse: (response: ShardResponse) => void,
    onFailure: (reason: string) => void
  ): void {
    let failed = false;
    const fail = (reason: string) => {
      if (!failed && !this._terminated) {
        failed = true;
        onFailure(reason);
      }
    };
    this._worker.onmessage = event => onResponse(event.data as ShardResponse);
    this._worker.onerror = event => {
      event.preventDefault?.();
      fail(
        event.message
          ? `its worker stopped (${event.message})`
          : 'its worker stopped (out of memory, or it could not start)'
      );
    };
    this._worker.onmessageerror = () =>
      fail('a reply of its worker could not be read');
  }

  /** Terminate the shard's worker; idempotent. */
  terminate(): void {
    if (this._terminated) {
      return;
    }
    this._terminated = true;
    this._worker.onmessage = null;
    this._worker.onerror = null;
    this._worker.onmessageerror = null;
    this._worker.terminate();
  }

  private _worker: IWorkerLike;
  private _terminated = false;
}
