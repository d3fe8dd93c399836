/**
 * Shards on Node worker threads (issue 11): the `IShardTransport` of the
 * sharded engine (src/spotlight/shardPool.ts) over `worker_threads`, one
 * worker per shard running shardWorker.js. Messages are structured clones;
 * buffers in the transfer list move without a copy. A worker that throws,
 * runs out of memory or exits becomes a failure of its shard (the pool turns
 * it into a `SpotlightRunError` naming the shard's rows and size).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import type {
  IShardEnvelope,
  IShardTransport,
  ShardResponse,
  ShardTransportFactory
} from '../spotlight';

/**
 * The default number of shard workers: the hardware threads less one (the
 * coordinator's), at least 1.
 *
 * @returns A whole number ≥ 1.
 */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * The worker script: shardWorker.js next to this module (lib/node/cli/).
 *
 * @returns Its path.
 * @throws Error when it is missing (the CLI is not built: `jlpm build:cli`).
 */
export function shardWorkerScript(): string {
  const here = path.join(__dirname, 'shardWorker.js');
  if (existsSync(here)) {
    return here;
  }
  // Under jest, this module is the TypeScript source: use the build.
  const built = path.join(
    __dirname,
    '..',
    '..',
    'lib',
    'node',
    'cli',
    'shardWorker.js'
  );
  if (existsSync(built)) {
    return built;
  }
  throw new Error(
    `The shard worker script is missing (${here}): build the command line first (jlpm build:cli).`
  );
}

/** One shard on its own worker thread. */
export class NodeWorkerTransport implements IShardTransport {
  /**
   * Start the worker.
   *
   * @param script - The worker script (default `shardWorkerScript()`).
   */
  constructor(script: string = shardWorkerScript()) {
    this._worker = new Worker(script);
  }

  /**
   * Send a request to the worker.
   *
   * @param envelope - The request.
   * @param transfer - Buffers to move.
   */
  post(envelope: IShardEnvelope, transfer: ArrayBuffer[]): void {
    this._worker.postMessage(envelope, transfer);
  }

  /**
   * Hear the worker: replies, and its death as a failure.
   *
   * @param onResponse - Replies.
   * @param onFailure - The worker threw, could not deserialise a message,
   *   or exited.
   */
  listen(
    onResponse: (response: ShardResponse) => void,
    onFailure: (reason: string) => void
  ): void {
    const w = this._worker;
    w.on('message', (response: ShardResponse) => onResponse(response));
    w.on('error', error => {
      this._failed = true;
      onFailure(`its worker thread failed (${error.message})`);
    });
    w.on('messageerror', error =>
      onFailure(
        `a message from its worker could not be read (${error.message})`
      )
    );
    w.on('exit', code => {
      if (!this._terminated && !this._failed) {
        onFailure(`its worker thread exited unexpectedly (code ${code})`);
      }
    });
  }

  /** Terminate the worker now; idempotent. */
  terminate(): void {
    if (this._terminated) {
      return;
    }
    this._terminated = true;
    void this._worker.terminate();
  }

  /** The worker (for tests: its `threadId`, its exit). */
  get worker(): Worker {
    return this._worker;
  }

  private readonly _worker: Worker;
  private _terminated = false;
  private _failed = false;
}

/**
 * A factory of worker-thread transports for `ShardPool.create`.
 *
 * @param script - The worker script (default `shardWorkerScript()`).
 * @returns The factory.
 */
export function nodeWorkerTransports(script?: string): ShardTransportFactory {
  const file = script ?? shardWorkerScript();
  return () => new NodeWorkerTransport(file);
}
