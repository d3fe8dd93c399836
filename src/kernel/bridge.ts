/**
 * The only code that talks to the kernel: it injects the helper, opens one
 * comm, and turns the protocol of docs/protocol.md into typed promises.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { PromiseDelegate } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';
import * as CRC32 from 'crc-32';

import helperSource from '../../jupyterlab_spotlight/kernel_helper.py';
import type { ITokenTable } from '../summaries/explain';
import type { IProjection, IVariable, Role } from '../tokens';
import { abortError, KernelBridgeError } from './errors';
import {
  bufferBytes,
  COMM_TARGET,
  decodeList,
  IColumnsReply,
  IExamplesReply,
  IFetchBeginReply,
  IMetadataColumnInfo,
  IReply,
  isAcceptableName,
  isCheckReply,
  isColumnsReply,
  isErrorReply,
  isExamplesReply,
  isFetchBeginReply,
  isFetchChunkReply,
  isReply,
  isTransferToken,
  PROTOCOL_VERSION,
  TRANSFER_ROUTE,
  Transport
} from './protocol';

/** An array pulled from the kernel, verified against its checksum. */
export interface IFetchedArray {
  /** The variable's name. */
  name: string;
  /** The role it was converted for. */
  role: Role;
  /** C-order data: float32, or int32 for labels and metadata codes. */
  data: Float32Array | Int32Array;
  /** Shape of the converted array. */
  shape: number[];
  /** Category names when the kernel encoded strings as codes. */
  categories?: string[];
  /** A metadata table's column descriptors (`data` is then [C, N]). */
  columns?: IMetadataColumnInfo[];
  /** A metadata table's columns that cannot be explained. */
  skipped?: { name: string; reason: string }[];
  /** How the bytes travelled: a file over HTTP, or the kernel's comm. */
  transport: Transport;
  /** Why the comm was used although a file was asked for (absent otherwise). */
  fallbackReason?: string;
  /**
   * With `components`: the projection the kernel applied (`data` is then the
   * N × k coordinates), verified against its checksum.
   */
  projection?: IProjection;
}

/** Progress of a transfer. */
export interface ITransferProgress {
  /** Bytes received so far. */
  bytes: number;
  /** Total bytes. */
  total: number;
  /** Average rate so far, in MB/s (10⁶ bytes per second), since the fetch began. */
  megabytesPerSecond: number;
  /** How the bytes travel: a file over HTTP, or the kernel's comm. */
  transport: Transport;
}

/** Decoded examples for one page of rows. */
export type IExamples =
  | { kind: 'image'; shape: number[]; pixels: Uint8Array }
  | { kind: 'text'; items: (string | null)[] }
  | { kind: 'table'; columns: string[]; items: unknown[][] }
  | { kind: 'value'; items: unknown[] };

/**
 * A typed, versioned channel to the helper in one notebook's kernel.
 *
 * The bridge borrows the session context (it never disposes it). The helper
 * is injected on first use and again after every kernel restart or change;
 * requests pending at a restart fail with a `kernel-restarted` error.
 */
export class KernelBridge implements IDisposable {
  /**
   * @param options - The session context of the notebook to audit.
   */
  constructor(options: KernelBridge.IOptions) {
    this._sessionContext = options.sessionContext;
    this._idleTimeoutMs = options.idleTimeoutMs ?? 5000;
    this._sessionContext.kernelChanged.connect(this._onKernelChanged, this);
    this._sessionContext.statusChanged.connect(this._onStatusChanged, this);
  }

  /** Emitted when the kernel was restarted or replaced: listings are stale. */
  get kernelReset(): ISignal<this, void> {
    return this._kernelReset;
  }

  /** Emitted when a request starts or stops waiting on a busy kernel. */
  get waitingChanged(): ISignal<this, boolean> {
    return this._waitingChanged;
  }

  /** Whether a request is waiting on a busy kernel. */
  get waiting(): boolean {
    return this._waiting;
  }

  /** Whether the bridge is disposed. */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Dispose the bridge: close the comm and fail pending requests. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._reset('The Spotlight panel was closed.', 'disposed');
    Signal.clearData(this);
  }

  /**
   * List the user namespace's variables.
   *
   * @param signal - Cancels the request.
   * @returns The variables with their shapes and possible roles.
   * @throws {KernelBridgeError} no kernel, not Python, protocol errors.
   */
  async list(signal?: AbortSignal): Promise<IVariable[]> {
    const [reply] = await this._request({ op: 'list' }, signal);
    const variables = decodeList(reply.data);
    if (!variables) {
      throw Private.protocolError('list');
    }
    return variables;
  }

  /**
   * Check that the chosen variables fit together before anything moves.
   *
   * @param names - Variable names by role (embeddings and losses required;
   *   metadata and examples are checked too).
   * @param signal - Cancels the request.
   * @param columns - The metadata columns to keep (null or absent: all).
   * @returns N (rows) and D (embedding width).
   * @throws {KernelBridgeError} with the helper's message (e.g. a length mismatch naming both variables).
   */
  async check(
    names: Partial<Record<Role, string | null>>,
    signal?: AbortSignal,
    columns?: string[] | null
  ): Promise<{ n: number; d: number }> {
    const request: Record<string, unknown> = { op: 'check' };
    for (const [role, name] of Object.entries(names)) {
      if (name) {
        Private.assertName(name);
        request[role] = name;
      }
    }
    if (columns && names.metadata) {
      request.metadata_columns = columns;
    }
    const [reply] = await this._request(request, signal);
    if (!isCheckReply(reply.data)) {
      throw Private.protocolError('check');
    }
    return { n: reply.data.n, d: reply.data.d };
  }

  /**
   * Which text examples hold which words (the kernel tokenises them; see
   * docs/protocol.md, "Words of text examples").
   *
   * @param name - The examples variable (one string per example).
   * @param signal - Cancels the request.
   * @returns The vocabulary and, per example, its words (compressed rows).
   * @throws {KernelBridgeError} `bad-dtype` when the examples are not text.
   */
  async tokens(name: string, signal?: AbortSignal): Promise<ITokenTable> {
    Private.assertName(name);
    const [reply] = await this._request({ op: 'tokens', name }, signal);
    const data = reply.data as Record<string, unknown>;
    if (
      data.op !== 'tokens' ||
      typeof data.n !== 'number' ||
      !Array.isArray(data.vocabulary) ||
      !data.vocabulary.every(w => typeof w === 'string') ||
      reply.buffers.length !== 2
    ) {
      throw Private.protocolError('tokens');
    }
    const ints = (b: ArrayBuffer | ArrayBufferView) => {
      const bytes = bufferBytes(b);
      return new Int32Array(bytes.slice().buffer);
    };
    const indptr = ints(reply.buffers[0]);
    const indices = ints(reply.buffers[1]);
    if (
      indptr.length !== data.n + 1 ||
      indptr[data.n] !== indices.length ||
      indices.some(i => i < 0 || i >= (data.vocabulary as string[]).length)
    ) {
      throw Private.protocolError('tokens');
    }
    return { vocabulary: data.vocabulary as string[], indptr, indices };
  }

  /**
   * Check a metadata table in the kernel and describe its columns (kinds,
   * missing values, categories) without transferring it.
   *
   * @param name - The metadata variable.
   * @param signal - Cancels the request.
   * @returns Its rows, the columns that can be explained and those that cannot.
   * @throws {KernelBridgeError} with the helper's message (a ragged dict, a scalar...).
   */
  async columns(name: string, signal?: AbortSignal): Promise<IColumnsReply> {
    Private.assertName(name);
    const [reply] = await this._request({ op: 'columns', name }, signal);
    if (!isColumnsReply(reply.data)) {
      throw Private.protocolError('columns');
    }
    return reply.data;
  }

  /**
   * Pull one variable into the browser, converted for its role.
   *
   * The helper converts once. With the `auto` transport (the default) it also
   * writes the bytes to a private file that the server extension streams over
   * HTTP (one response instead of many websocket messages: several times
   * faster); when that is impossible (the kernel cannot write the file, or
   * the server cannot see it: a remote kernel, another container, the server
   * extension not enabled) the chunks come through the kernel's comm, a few
   * at a time, which paces the transfer and lets it stop between chunks. The
   * result and the progress say which transport was used, and a fallback is
   * logged with its reason. The bytes are checked against the helper's CRC-32
   * before use.
   *
   * With `options.components` = k > 0 (embeddings only) the kernel sends the
   * embeddings' N × k principal-component coordinates instead, and the
   * projection (mean and components) with its `fetch-begin` reply.
   *
   * @param name - The variable name (data, never code).
   * @param role - What the array is for; selects dtype and checks.
   * @param options - Budget in bytes, transport, principal components, cancel signal and progress callback.
   * @returns The verified array, the transport it came by, and the projection.
   * @throws {KernelBridgeError} on refusal (e.g. `too-large`, or `bad-request`
   *   for components ≥ D), a restart, or a bad checksum.
   */
  async fetch(
    name: string,
    role: Role,
    options: KernelBridge.IFetchOptions
  ): Promise<IFetchedArray> {
    Private.assertName(name);
    const { signal, onProgress } = options;
    const started = performance.now();
    // The transfer is named by its begin request's id, known before sending,
    // so that it is freed even when the begin is cancelled while the kernel
    // prepares it (the kernel answers fetch-end for unknown transfers too).
    const transferId = this._nextRequestId();
    let begin: IFetchBeginReply;
    let bytes: Uint8Array | null = null;
    let transport: Transport = 'comm';
    let fallbackReason: string | undefined;
    let projection: IProjection | undefined;
    try {
      const [beginMsg] = await this._request(
        {
          op: 'fetch-begin',
          name,
          role,
          max_bytes: options.maxBytes,
          chunk_bytes: Private.CHUNK_BYTES,
          via: options.transport === 'comm' ? 'comm' : 'file',
          ...(options.components ? { components: options.components } : {}),
          ...(options.table ? { table: true } : {}),
          ...(options.table && options.columns
            ? { columns: options.columns }
            : {})
        },
        signal,
        undefined,
        transferId
      );
      if (!isFetchBeginReply(beginMsg.data)) {
        throw Private.protocolError('fetch-begin');
      }
      begin = beginMsg.data;
      if (options.components && begin.components !== options.components) {
        throw Private.protocolError('fetch-begin');
      }
      if (options.table && !begin.columns) {
        throw Private.protocolError('fetch-begin');
      }
      projection = begin.components
        ? Private.projection(name, begin, beginMsg.buffers)
        : undefined;
      const total = begin.nbytes;
      const report = (received: number, via: Transport) => {
        const seconds = Math.max((performance.now() - started) / 1000, 1e-6);
        onProgress?.({
          bytes: received,
          total,
          megabytesPerSecond: received / 1e6 / seconds,
          transport: via
        });
      };
      if (options.transport !== 'comm' && begin.via !== 'file') {
        fallbackReason =
          begin.via_reason ??
          'the kernel helper did not offer a file (an older helper?)';
      }
      if (begin.via === 'file' && isTransferToken(begin.token)) {
        try {
          bytes = await this._download(begin, name, signal, report);
          transport = 'file';
        } catch (error) {
          if (!(error instanceof Private.FileUnavailable)) {
            throw error;
          }
          fallbackReason = error.message;
        }
      }
      if (!bytes) {
        if (fallbackReason) {
          this._warnFallback(fallbackReason);
        }
        bytes = await this._pullChunks(begin, name, signal, report);
      }
    } finally {
      // Frees the kernel's copy and deletes the file if the server did not serve it.
      void this._send({ op: 'fetch-end', request_id: transferId }).catch(
        reason => console.debug('Spotlight: could not free a transfer', reason)
      );
    }
    const data =
      begin.dtype === 'int32'
        ? new Int32Array(bytes.buffer)
        : new Float32Array(bytes.buffer);
    return {
      name,
      role,
      data,
      shape: begin.shape,
      categories: begin.categories,
      ...(begin.columns
        ? { columns: begin.columns, skipped: begin.skipped ?? [] }
        : {}),
      transport,
      ...(fallbackReason ? { fallbackReason } : {}),
      ...(projection ? { projection } : {})
    };
  }

  /**
   * Fetch the examples of some rows, for display.
   *
   * @param name - The examples variable.
   * @param indices - Row indices (at most 200).
   * @param signal - Cancels the request.
   * @returns Images as uint8 pixels (n × H × W × C), text, table rows or values.
   */
  async examples(
    name: string,
    indices: number[],
    signal?: AbortSignal
  ): Promise<IExamples> {
    Private.assertName(name);
    const [message] = await this._request(
      { op: 'examples', name, indices },
      signal
    );
    const reply: unknown = message.data;
    if (!isExamplesReply(reply)) {
      throw Private.protocolError('examples');
    }
    return Private.decodeExamples(reply, message.buffers);
  }

  /**
   * Put an array into the kernel's user namespace as a numpy array.
   *
   * It is sent in chunks well under the server's 10 MiB websocket limit and
   * bound to `name` only once the helper has verified length and checksum.
   *
   * @param name - A plain identifier.
   * @param data - The values (float32 or int32).
   * @param shape - Its shape; the product must equal `data.length`.
   * @param signal - Cancels the upload (nothing is bound then).
   * @throws {KernelBridgeError} on a bad name, shape or a failed verification.
   */
  async upload(
    name: string,
    data: Float32Array | Int32Array,
    shape: number[],
    signal?: AbortSignal
  ): Promise<void> {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
      throw new KernelBridgeError(
        'bad-name',
        `'${name}' is not a valid Python variable name; use letters, digits and underscores.`
      );
    }
    if (shape.reduce((a, b) => a * b, 1) !== data.length) {
      throw new KernelBridgeError(
        'bad-request',
        `The shape [${shape.join(', ')}] does not match ${data.length} values.`
      );
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const dtype = data instanceof Int32Array ? 'int32' : 'float32';
    const [begin] = await this._request(
      {
        op: 'upload-begin',
        name,
        dtype,
        shape,
        nbytes: bytes.byteLength,
        checksum: CRC32.buf(bytes) >>> 0
      },
      signal
    );
    const uploadId = begin.data.request_id as string;
    const step = Private.UPLOAD_CHUNK_BYTES;
    for (let offset = 0, index = 0; offset < bytes.byteLength; index++) {
      const chunk = bytes.subarray(offset, offset + step);
      await this._request(
        { op: 'upload-chunk', transfer_id: uploadId, index, offset },
        signal,
        [chunk]
      );
      offset += chunk.byteLength;
    }
    await this._request({ op: 'upload-end', transfer_id: uploadId }, signal);
  }

  /**
   * Stream a transfer file from the server extension.
   *
   * @returns The verified bytes.
   * @throws {Private.FileUnavailable} when the server does not serve the file
   *   (404: it cannot see the kernel's files or the extension is not enabled;
   *   another status; a network error) or the response ends short, so the
   *   caller falls back to the comm.
   * @throws An `AbortError` when cancelled; {@link KernelBridgeError} on a
   *   failed integrity check.
   */
  private async _download(
    begin: IFetchBeginReply,
    name: string,
    signal: AbortSignal | undefined,
    report: (bytes: number, transport: Transport) => void
  ): Promise<Uint8Array> {
    const settings =
      this._sessionContext.session?.serverSettings ??
      ServerConnection.makeSettings();
    const url = URLExt.join(settings.baseUrl, TRANSFER_ROUTE, begin.token!);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        { method: 'GET', signal },
        settings
      );
    } catch (reason) {
      if (signal?.aborted) {
        throw abortError('The transfer');
      }
      throw new Private.FileUnavailable(
        `the request for the transfer file failed (${(reason as Error).message})`
      );
    }
    if (response.status !== 200 || !response.body) {
      void response.body?.cancel().catch(() => undefined);
      throw new Private.FileUnavailable(
        response.status === 404
          ? 'the Jupyter server cannot see the kernel\'s transfer file (the kernel runs on another machine or container, or the server extension jupyterlab_spotlight is not enabled: see "jupyter server extension list")'
          : `the Jupyter server answered ${response.status} ${response.statusText} for the transfer file`
      );
    }
    const bytes = new Uint8Array(begin.nbytes);
    const reader = response.body.getReader();
    let received = 0;
    let reported = 0;
    let crc = 0;
    try {
      for (;;) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (reason) {
          if (signal?.aborted) {
            throw abortError('The transfer');
          }
          throw new Private.FileUnavailable(
            `the transfer file stopped after ${received} of ${begin.nbytes} bytes (${(reason as Error).message})`
          );
        }
        if (next.done) {
          break;
        }
        const view = next.value;
        if (received + view.byteLength > bytes.byteLength) {
          throw Private.corrupted(name, received + view.byteLength, begin);
        }
        bytes.set(view, received);
        crc = CRC32.buf(view, crc);
        received += view.byteLength;
        if (received - reported >= Private.PROGRESS_BYTES) {
          reported = received;
          report(received, 'file');
        }
      }
    } catch (error) {
      void reader.cancel().catch(() => undefined);
      throw error;
    }
    if (received < begin.nbytes) {
      throw new Private.FileUnavailable(
        `the transfer file ended after ${received} of ${begin.nbytes} bytes`
      );
    }
    report(received, 'file');
    Private.verify(name, received, crc, begin);
    return bytes;
  }

  /**
   * Pull a prepared transfer through the comm, chunk by chunk.
   *
   * @returns The verified bytes.
   */
  private async _pullChunks(
    begin: IFetchBeginReply,
    name: string,
    signal: AbortSignal | undefined,
    report: (bytes: number, transport: Transport) => void
  ): Promise<Uint8Array> {
    const transferId = begin.request_id as string;
    const bytes = new Uint8Array(begin.nbytes);
    let received = 0;
    const pending = new Map<number, Promise<Private.IMessage>>();
    let nextToAsk = 0;
    let crc = 0;
    const ask = () => {
      while (nextToAsk < begin.chunks && pending.size < Private.IN_FLIGHT) {
        const chunk = this._request(
          { op: 'fetch-chunk', transfer_id: transferId, index: nextToAsk },
          signal
        ).then(r => r[0]);
        // Chunks asked for but never awaited (after an error or a cancel)
        // must not surface as unhandled rejections.
        chunk.catch(() => undefined);
        pending.set(nextToAsk, chunk);
        nextToAsk++;
      }
    };
    for (let index = 0; index < begin.chunks; index++) {
      ask();
      const message = await pending.get(index)!;
      pending.delete(index);
      const chunk = message.data;
      const buffer = message.buffers[0];
      if (!isFetchChunkReply(chunk) || chunk.index !== index || !buffer) {
        throw Private.protocolError('fetch-chunk');
      }
      const view = bufferBytes(buffer);
      if (
        view.byteLength !== chunk.nbytes ||
        chunk.offset + view.byteLength > bytes.byteLength
      ) {
        throw new KernelBridgeError(
          'checksum',
          `The transfer of '${name}' was corrupted (chunk ${index} has ${view.byteLength} bytes where ${chunk.nbytes} were announced). Run the audit again.`
        );
      }
      bytes.set(view, chunk.offset);
      crc = CRC32.buf(view, crc);
      received += view.byteLength;
      report(received, 'comm');
    }
    Private.verify(name, received, crc, begin);
    return bytes;
  }

  /** Log why the comm carries a transfer, once per reason. */
  private _warnFallback(reason: string): void {
    if (!this._fallbackWarnings.has(reason)) {
      this._fallbackWarnings.add(reason);
      console.warn(
        `Spotlight: arrays come through the kernel's comm (slower) because ${reason}.`
      );
    }
  }

  /**
   * Send a request and wait for its reply (or error).
   */
  private async _request(
    data: Record<string, unknown>,
    signal?: AbortSignal,
    buffers?: ArrayBufferView[],
    requestId = this._nextRequestId()
  ): Promise<Private.IMessage[]> {
    if (signal?.aborted) {
      throw abortError('The request');
    }
    const comm = await this._ensureComm(signal);
    const delegate = new PromiseDelegate<Private.IMessage[]>();
    this._pending.set(requestId, delegate);
    const onAbort = () => {
      this._pending.delete(requestId);
      delegate.reject(abortError('The request'));
    };
    signal?.addEventListener('abort', onAbort);
    const waitTimer = setTimeout(() => this._setWaiting(true), 700);
    let stopWatching = () => {};
    try {
      const future = comm.send(
        { ...data, version: PROTOCOL_VERSION, request_id: requestId } as any,
        undefined,
        buffers as any
      ) as Kernel.IShellFuture | undefined;
      stopWatching = this._watchReply(requestId, String(data.op), future);
      return await delegate.promise;
    } finally {
      stopWatching();
      clearTimeout(waitTimer);
      signal?.removeEventListener('abort', onAbort);
      this._pending.delete(requestId);
      if (this._pending.size === 0) {
        this._setWaiting(false);
      }
    }
  }

  /**
   * Fail a request the kernel will never answer, within seconds, instead of
   * waiting forever. The helper answers inside its message handler, so its
   * reply always comes before the kernel reports the request handled (idle);
   * a request handled without a reply, or one the kernel never even started
   * while it sat idle for `idleTimeoutMs` (a message dropped by the kernel,
   * e.g. sent to a subshell that was deleted), is lost: the request fails
   * with a `no-reply` error and the comm is reset, so the next request opens
   * a fresh one.
   *
   * @param requestId - The pending request.
   * @param op - Its op, for the message.
   * @param future - The comm message's future (its status messages).
   * @returns Stops watching.
   */
  private _watchReply(
    requestId: string,
    op: string,
    future: Kernel.IShellFuture | undefined
  ): () => void {
    const kernel = this._sessionContext.session?.kernel ?? null;
    let started = false;
    let idleSince: number | null = null;
    let graceTimer: ReturnType<typeof setTimeout> | null = null;
    const lost = (why: string) => {
      if (!this._pending.has(requestId) || this._isDisposed) {
        return;
      }
      console.warn(`Spotlight: the kernel ${why} (request '${op}')`);
      this._reset(
        `The kernel is idle but did not answer the Spotlight's '${op}' request: ${why}. The connection was reset; try again (if it happens again, restart the kernel).`,
        'no-reply'
      );
    };
    if (future) {
      future.onIOPub = msg => {
        if (msg.header.msg_type === 'status') {
          started = true;
        }
      };
      future.done.then(
        () => {
          graceTimer = setTimeout(
            () => lost('handled the request without replying'),
            Private.REPLY_GRACE_MS
          );
        },
        () => undefined
      );
    }
    const watchdog = setInterval(() => {
      if (started) {
        return;
      }
      const now = performance.now();
      idleSince = kernel?.status === 'idle' ? (idleSince ?? now) : null;
      if (idleSince !== null && now - idleSince >= this._idleTimeoutMs) {
        lost(
          `never started it in ${Math.round(this._idleTimeoutMs / 1000)} s although idle (the message was lost, e.g. after code in the kernel opened a comm named '${COMM_TARGET}')`
        );
      }
    }, Private.WATCH_INTERVAL_MS);
    return () => {
      clearInterval(watchdog);
      if (graceTimer !== null) {
        clearTimeout(graceTimer);
      }
    };
  }

  /** A new request id (`r1`, `r2`, ...). */
  private _nextRequestId(): string {
    return `r${++this._counter}`;
  }

  /** Send a message that has no reply worth waiting for. */
  private async _send(data: Record<string, unknown>): Promise<void> {
    const comm = this._comm;
    if (!comm || comm.isDisposed) {
      return;
    }
    comm.send({ ...data, version: PROTOCOL_VERSION } as any);
  }

  /** Inject the helper and open the comm, once per kernel. */
  private _ensureComm(signal?: AbortSignal): Promise<Kernel.IComm> {
    if (!this._commReady) {
      const ready = this._openComm();
      this._commReady = ready;
      ready.catch(() => {
        if (this._commReady === ready) {
          this._commReady = null;
        }
      });
    }
    const ready = this._commReady;
    if (!signal) {
      return ready;
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abortError('Waiting for the kernel'));
      signal.addEventListener('abort', onAbort, { once: true });
      ready.then(resolve, reject).finally(() => {
        signal.removeEventListener('abort', onAbort);
      });
    });
  }

  private async _openComm(): Promise<Kernel.IComm> {
    const kernel = this._sessionContext.session?.kernel;
    if (!kernel) {
      throw new KernelBridgeError(
        'no-kernel',
        'This notebook has no running kernel. Start or select a Python kernel, then try again.'
      );
    }
    const generation = this._generation;
    const timer = setTimeout(() => this._setWaiting(true), 700);
    try {
      const info = await kernel.info;
      const language = info.language_info.name;
      if (language.toLowerCase() !== 'python') {
        throw new KernelBridgeError(
          'not-python',
          `This notebook's kernel is ${language}; the Spotlight needs a Python kernel. Switch the notebook to a Python kernel.`
        );
      }
      const future = kernel.requestExecute(
        {
          code: `${helperSource}\n_jupyterlab_spotlight_register()\n`,
          silent: true,
          store_history: false,
          allow_stdin: false,
          stop_on_error: false
        },
        true
      );
      const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
      if (reply.content.status !== 'ok') {
        const content = reply.content as KernelMessage.IReplyErrorContent;
        throw new KernelBridgeError(
          'kernel-failed',
          `The Spotlight could not start its helper in the kernel (${content.ename}: ${content.evalue}). Check that numpy is installed in the kernel's environment.`
        );
      }
    } finally {
      clearTimeout(timer);
      this._setWaiting(false);
    }
    if (generation !== this._generation || this._isDisposed) {
      throw new KernelBridgeError(
        'kernel-restarted',
        'The kernel was restarted while the Spotlight was connecting. Run the cells that define your arrays, then try again.'
      );
    }
    Private.refuseKernelComms(kernel);
    const comm = kernel.createComm(COMM_TARGET);
    comm.onMsg = msg => this._onCommMsg(msg);
    comm.onClose = () => {
      if (this._comm === comm) {
        this._reset(
          'The connection to the kernel closed. Try again.',
          'kernel-restarted'
        );
      }
    };
    this._comm = comm;
    comm.open({ version: PROTOCOL_VERSION, op: 'open' });
    return comm;
  }

  private _onCommMsg(msg: KernelMessage.ICommMsgMsg): void {
    const data: unknown = msg.content.data;
    if (!isReply(data) || !data.request_id) {
      console.warn('Spotlight: ignoring a malformed message from the kernel');
      return;
    }
    const delegate = this._pending.get(data.request_id);
    if (!delegate) {
      return; // A reply to a cancelled request.
    }
    this._setWaiting(false);
    if (isErrorReply(data)) {
      delegate.reject(new KernelBridgeError(data.code, data.message));
      return;
    }
    delegate.resolve([
      {
        data,
        buffers: (msg.buffers ?? []) as (ArrayBuffer | ArrayBufferView)[]
      }
    ]);
  }

  private _onKernelChanged(): void {
    this._reset(
      'The notebook changed kernel while the Spotlight was working. Run the cells that define your arrays, then try again.',
      'kernel-restarted'
    );
    this._kernelReset.emit();
  }

  private _onStatusChanged(
    _: ISessionContext,
    status: Kernel.Status | string
  ): void {
    if (status === 'restarting' || status === 'autorestarting') {
      this._reset(
        'The kernel restarted while the Spotlight was working. Run the cells that define your arrays, then try again.',
        'kernel-restarted'
      );
      this._kernelReset.emit();
    }
  }

  /** Forget the comm and fail every pending request. */
  private _reset(message: string, code: string): void {
    this._generation++;
    const comm = this._comm;
    this._comm = null;
    this._commReady = null;
    if (comm && !comm.isDisposed) {
      try {
        comm.close();
      } catch (reason) {
        console.debug('Spotlight: closing the comm failed', reason);
      }
    }
    const pending = [...this._pending.values()];
    this._pending.clear();
    for (const delegate of pending) {
      delegate.reject(new KernelBridgeError(code, message));
    }
    this._setWaiting(false);
  }

  private _setWaiting(waiting: boolean): void {
    if (waiting && this._pending.size === 0 && this._commReady === null) {
      return;
    }
    if (this._waiting !== waiting && !this._isDisposed) {
      this._waiting = waiting;
      this._waitingChanged.emit(waiting);
    }
  }

  private _sessionContext: ISessionContext;
  private _idleTimeoutMs: number;
  private _comm: Kernel.IComm | null = null;
  private _commReady: Promise<Kernel.IComm> | null = null;
  private _pending = new Map<string, PromiseDelegate<Private.IMessage[]>>();
  private _counter = 0;
  private _generation = 0;
  private _waiting = false;
  private _isDisposed = false;
  private _fallbackWarnings = new Set<string>();
  private _kernelReset = new Signal<this, void>(this);
  private _waitingChanged = new Signal<this, boolean>(this);
}

/** The KernelBridge's namespace. */
export namespace KernelBridge {
  /** Options to create a bridge. */
  export interface IOptions {
    /** The session context of the notebook (borrowed, not disposed). */
    sessionContext: ISessionContext;
    /**
     * How long a request may wait, in ms, while the kernel is idle and has
     * not started it, before it fails as lost (default 5,000).
     */
    idleTimeoutMs?: number;
  }

  /** Options of a fetch. */
  export interface IFetchOptions {
    /** Refuse arrays whose converted size exceeds this many bytes. */
    maxBytes: number;
    /**
     * `auto` (default): a file over HTTP when the server can serve it, else
     * the comm; `comm`: the comm only.
     */
    transport?: 'auto' | 'comm';
    /**
     * Embeddings only: project them on their top `components` principal
     * components in the kernel (0 or absent: send them as they are).
     */
    components?: number;
    /**
     * Metadata only: fetch the whole table (float32 [C, N], one row per
     * column) with its column descriptors (docs/protocol.md, "Metadata tables").
     */
    table?: boolean;
    /** With `table`: the columns to keep (null or absent: all). */
    columns?: string[] | null;
    /** Cancels the transfer (the HTTP request, or between chunks). */
    signal?: AbortSignal;
    /** Called after each comm chunk, or every few MiB of a file. */
    onProgress?: (progress: ITransferProgress) => void;
  }
}

namespace Private {
  /** How often a pending request checks whether the kernel lost it, in ms. */
  export const WATCH_INTERVAL_MS = 500;

  /** How long a reply may trail the kernel's idle for its request, in ms. */
  export const REPLY_GRACE_MS = 1000;

  /** Kernel connections where comms opened by the kernel are refused. */
  const refusing = new WeakSet<Kernel.IKernelConnection>();

  /**
   * Answer comms that code in the kernel opens with the Spotlight's target
   * name by closing them, once their subshell is set up.
   *
   * Without a target here, JupyterLab closes such a comm while it is still
   * being set up, and with comms over per-target subshells that close
   * deletes the subshell the Spotlight's own comm uses: every later request
   * is dropped by the kernel and waits forever.
   *
   * @param kernel - The kernel connection (registered once per connection).
   */
  export function refuseKernelComms(kernel: Kernel.IKernelConnection): void {
    if (refusing.has(kernel)) {
      return;
    }
    refusing.add(kernel);
    kernel.registerCommTarget(COMM_TARGET, comm => {
      console.warn(
        `Spotlight: code in the kernel opened a comm named '${COMM_TARGET}'; that name belongs to the Spotlight panel, so the comm is closed.`
      );
      // Not awaited: the kernel's messages (the subshell's reply among them)
      // are handled only after this callback returns.
      void closeWhenSetUp(kernel, comm);
    });
  }

  /** Close a comm once its subshell (if any) started. */
  export async function closeWhenSetUp(
    kernel: Kernel.IKernelConnection,
    comm: Kernel.IComm
  ): Promise<void> {
    try {
      await kernel.info;
      const started = (comm as { subshellStarted?: Promise<void> })
        .subshellStarted;
      if (kernel.supportsSubshells && started) {
        // Never settles when comms do not use subshells: wait a little only.
        await Promise.race([
          started,
          new Promise(resolve => setTimeout(resolve, 5000))
        ]);
      }
    } catch (reason) {
      console.debug('Spotlight: a refused comm never set up', reason);
    }
    if (!comm.isDisposed) {
      comm.close();
    }
  }

  /** One decoded comm message. */
  export interface IMessage {
    data: IReply;
    buffers: (ArrayBuffer | ArrayBufferView)[];
  }

  /**
   * Bytes per chunk from the kernel. Measured here (benchmarks/RESULTS.md, d):
   * the server → browser path moves large messages faster than many small
   * ones, and more requests in flight did not help.
   */
  export const CHUNK_BYTES = 16 * 1024 * 1024;

  /** Chunks asked for at once (the next is asked for when one arrives). */
  export const IN_FLIGHT = 1;

  /** Bytes per chunk to the kernel: well under the 10 MiB websocket cap. */
  export const UPLOAD_CHUNK_BYTES = 2 * 1024 * 1024;

  /** Bytes of a file download between progress reports. */
  export const PROGRESS_BYTES = 8 * 1024 * 1024;

  /** The server did not serve a transfer file: fall back to the comm. */
  export class FileUnavailable extends Error {
    constructor(message: string) {
      super(message);
      this.name = 'FileUnavailable';
    }
  }

  export function corrupted(
    name: string,
    bytes: number,
    begin: IFetchBeginReply
  ): KernelBridgeError {
    return new KernelBridgeError(
      'checksum',
      `The transfer of '${name}' was corrupted (${bytes} bytes arrived where ${begin.nbytes} were announced). Run the audit again.`
    );
  }

  /**
   * The projection of a `fetch-begin` reply with `components`: its two
   * buffers (mean, D float32; components, k × D float32), checked against
   * their sizes and `projection_checksum`.
   *
   * @throws {KernelBridgeError} `protocol` when a buffer is missing or of the
   *   wrong size, `checksum` when the CRC-32 differs.
   */
  export function projection(
    name: string,
    begin: IFetchBeginReply,
    buffers: (ArrayBuffer | ArrayBufferView)[]
  ): IProjection {
    const k = begin.components!;
    const d = begin.source_shape![1];
    if (buffers.length !== 2) {
      throw protocolError('fetch-begin');
    }
    const [meanBytes, matrixBytes] = buffers.map(b => bufferBytes(b).slice());
    if (
      meanBytes.byteLength !== d * 4 ||
      matrixBytes.byteLength !== k * d * 4
    ) {
      throw protocolError('fetch-begin');
    }
    const crc = CRC32.buf(matrixBytes, CRC32.buf(meanBytes));
    if (crc >>> 0 !== begin.projection_checksum! >>> 0) {
      throw new KernelBridgeError(
        'checksum',
        `The principal components of '${name}' failed their integrity check (CRC-32 ${crc >>> 0} vs ${begin.projection_checksum}). Run the audit again; if it keeps failing, report a bug.`
      );
    }
    return {
      components: k,
      d,
      mean: new Float32Array(meanBytes.buffer),
      matrix: new Float32Array(matrixBytes.buffer),
      explainedVarianceRatio: begin.explained_variance_ratio!,
      sourceChecksum: begin.source_checksum! >>> 0
    };
  }

  /** Check the size and CRC-32 of a finished transfer. */
  export function verify(
    name: string,
    received: number,
    crc: number,
    begin: IFetchBeginReply
  ): void {
    if (received !== begin.nbytes || crc >>> 0 !== begin.checksum >>> 0) {
      throw new KernelBridgeError(
        'checksum',
        `The transfer of '${name}' failed its integrity check (${received} of ${begin.nbytes} bytes, CRC-32 ${crc >>> 0} vs ${begin.checksum}). Run the audit again; if it keeps failing, report a bug.`
      );
    }
  }

  export function protocolError(op: string): KernelBridgeError {
    return new KernelBridgeError(
      'protocol',
      `The kernel's helper sent a malformed '${op}' reply. Restart the kernel; if it persists, check that the extension and the kernel helper versions match.`
    );
  }

  export function assertName(name: string): void {
    if (!isAcceptableName(name)) {
      throw new KernelBridgeError(
        'bad-name',
        `'${name}' is not a variable name the Spotlight can read. Use a plain name, optionally with .attribute or ['key'] access.`
      );
    }
  }

  export function decodeExamples(
    reply: IExamplesReply,
    buffers: (ArrayBuffer | ArrayBufferView)[]
  ): IExamples {
    switch (reply.kind) {
      case 'image': {
        const shape = reply.shape as number[];
        const pixels = buffers[0] ? bufferBytes(buffers[0]) : new Uint8Array();
        if (pixels.length !== shape.reduce((a, b) => a * b, 1)) {
          throw protocolError('examples');
        }
        return { kind: 'image', shape, pixels };
      }
      case 'text':
        return { kind: 'text', items: reply.items as (string | null)[] };
      case 'table':
        return {
          kind: 'table',
          columns: reply.columns as string[],
          items: reply.items as unknown[][]
        };
      default:
        return { kind: 'value', items: reply.items as unknown[] };
    }
  }
}
