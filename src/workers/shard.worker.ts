/**
 * A shard worker's entry point: a dedicated Web Worker, started by the
 * audit worker (the coordinator), that holds one block of rows of X in its
 * own WebAssembly memory and answers the coordinator's shard requests
 * (spotlight/shard.ts): partial moments and weights each step.
 */
import {
  IMessageEndpoint,
  serveShardOnScope
} from '../spotlight/workerTransport';

serveShardOnScope(self as unknown as IMessageEndpoint);
