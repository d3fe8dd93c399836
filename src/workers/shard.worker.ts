/**
 * A shard worker's entry point: a dedicated Web Worker, started by the
 * audit worker (the coordinator), that holds one block of rows of X in its
 * own WebAssembly memory and answers the coordinator's shard requests
 * (spotlight/shard.ts `serveShard`): partial moments and weights each step.
 */
import { IShardEnvelope, serveShard, ShardResponse } from '../spotlight/shard';

const scope = self as unknown as {
  postMessage(message: ShardResponse, transfer: ArrayBuffer[]): void;
  onmessage: ((event: MessageEvent<IShardEnvelope>) => void) | null;
  close(): void;
};

serveShard({
  postMessage: (message, transfer) => scope.postMessage(message, transfer),
  onRequest: handler => {
    scope.onmessage = event => handler(event.data);
  },
  close: () => scope.close()
});
