/**
 * An audit worker that runs in the caller's own thread: the same
 * {@link AuditWorkerHost} as audit.worker.ts behind the {@link IWorkerLike}
 * interface, with every message deep-copied as `postMessage` would (typed
 * arrays included) and delivered asynchronously. For jest, which can neither
 * bundle nor start a Web Worker; it records the transfer lists (a copy
 * cannot detach buffers) so that tests can check what would move.
 */
import type { IWorkerLike } from './client';
import { AuditWorkerHost } from './host';
import type { WorkerRequest } from './protocol';

/** An in-process stand-in for the audit worker. */
export class InProcessWorker implements IWorkerLike {
  /**
   * @param options - Host options (progress interval, shards).
   */
  constructor(
    options: Pick<
      AuditWorkerHost.IOptions,
      'progressIntervalMs' | 'shards'
    > = {}
  ) {
    this.host = new AuditWorkerHost({
      progressIntervalMs: options.progressIntervalMs ?? 0,
      shards: options.shards,
      post: (reply, transfer) => {
        this.replyTransfers.push(...transfer);
        const copy = cloneMessage(reply);
        setTimeout(() => {
          if (!this.terminated) {
            this.onmessage?.({ data: copy } as MessageEvent);
          }
        }, 0);
      }
    });
  }

  /** The host answering the requests. */
  readonly host: AuditWorkerHost;

  /** Buffers the page listed to transfer, in order. */
  readonly requestTransfers: ArrayBuffer[] = [];

  /** Buffers the host listed to transfer, in order. */
  readonly replyTransfers: Transferable[] = [];

  /** Whether {@link terminate} was called. */
  terminated = false;

  /** Receives the replies. */
  onmessage: ((event: MessageEvent) => void) | null = null;

  /** Receives {@link crash}es. */
  onerror: ((event: ErrorEvent) => void) | null = null;

  /** Unused: an in-process copy is always readable. */
  onmessageerror: ((event: MessageEvent) => void) | null = null;

  /**
   * Deliver a request to the host, as a copy, after the current task.
   *
   * @param message - A {@link WorkerRequest}.
   * @param transfer - Buffers a real worker would receive without a copy.
   */
  postMessage(message: unknown, transfer: Transferable[] = []): void {
    if (this.terminated) {
      return;
    }
    this.requestTransfers.push(...(transfer as ArrayBuffer[]));
    const copy = cloneMessage(message) as WorkerRequest;
    setTimeout(() => {
      if (!this.terminated) {
        this.host.handle(copy);
      }
    }, 0);
  }

  /** Stop: the host aborts its stages and frees its data; no more replies. */
  terminate(): void {
    this.terminated = true;
    this.host.dispose();
  }

  /**
   * Fail as a dying worker does: an `error` event, then nothing.
   *
   * @param message - The event's message, e.g. "Out of memory".
   */
  crash(message: string): void {
    this.host.dispose();
    this.onerror?.({ message, preventDefault: () => undefined } as ErrorEvent);
  }
}

/**
 * A deep copy of a message as the structured clone makes it for our
 * protocol: primitives, arrays, plain objects and typed arrays (each copied
 * into its own buffer).
 *
 * @param value - The message.
 * @returns The copy.
 * @throws TypeError for a function or a class instance that `postMessage`
 *   could not send either.
 */
export function cloneMessage<T>(value: T): T {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function') {
      throw new TypeError('A function cannot be posted to a worker.');
    }
    return value;
  }
  if (ArrayBuffer.isView(value)) {
    return (value as unknown as { slice(): T }).slice();
  }
  if (value instanceof ArrayBuffer) {
    return value.slice(0) as T;
  }
  if (Array.isArray(value)) {
    return value.map(cloneMessage) as T;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(
      `A ${proto?.constructor?.name ?? 'class'} instance cannot be posted to a worker as it is.`
    );
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = cloneMessage(v);
  }
  return out as T;
}
