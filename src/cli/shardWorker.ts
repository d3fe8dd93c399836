/**
 * The script of one shard's Node worker thread (issue 11): serves a
 * `ShardWorker` (src/spotlight/shard.ts) on the thread's parent port. Started
 * by workers.ts's `NodeWorkerTransport`; built to lib/node/cli/shardWorker.js.
 */
import { parentPort } from 'node:worker_threads';

import { IShardEnvelope, serveShard } from '../spotlight/shard';

if (!parentPort) {
  throw new Error(
    'shardWorker.js is the script of a worker thread: start it with new Worker(...), not node.'
  );
}
const port = parentPort;
serveShard({
  postMessage: (message, transfer) => port.postMessage(message, transfer),
  onRequest: handler =>
    void port.on('message', (envelope: IShardEnvelope) => handler(envelope)),
  close: () => port.close()
});
