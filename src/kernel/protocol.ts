/**
 * Version 1 of the comm protocol between the panel and the kernel-side helper
 * (`jupyterlab_spotlight/kernel_helper.py`); docs/protocol.md describes it.
 * Everything here is pure: type guards and buffer decoding, tested by jest
 * against the golden payloads under protocol/v1/ that pytest also reads.
 */
import type { IVariable, Role } from '../tokens';
import { ROLES } from '../tokens';

/** Protocol version spoken by this extension. */
export const PROTOCOL_VERSION = 1;

/** The helper's comm target name. */
export const COMM_TARGET = 'jupyterlab-spotlight';

/**
 * How a fetched array travels: `file` is written by the kernel and streamed
 * by the server extension over HTTP; `comm` comes in chunks through the
 * kernel's comm (the fallback, always available).
 */
export type Transport = 'file' | 'comm';

/** The server extension's route for transfer files, under the base URL. */
export const TRANSFER_ROUTE = 'jupyterlab-spotlight/transfer';

/** A decoded message from the kernel. */
export interface IReply {
  version: number;
  op: string;
  request_id?: string;
  [key: string]: unknown;
}

/** An error reply. */
export interface IErrorReply extends IReply {
  op: 'error';
  code: string;
  message: string;
}

/** The reply to `fetch-begin`. */
export interface IFetchBeginReply extends IReply {
  op: 'fetch-begin';
  name: string;
  role: Role;
  dtype: 'float32' | 'int32';
  shape: number[];
  nbytes: number;
  chunk_bytes: number;
  chunks: number;
  checksum: number;
  categories?: string[];
  /** The transport the kernel prepared (present when the request asked for one). */
  via?: Transport;
  /** With `via: "file"`: the file's token (32 lowercase hex digits). */
  token?: string;
  /** With `via: "comm"` after asking for a file: why the kernel wrote none. */
  via_reason?: string;
  /**
   * When the request asked for `components` (k > 0): k. The transfer then
   * holds the N × k coordinates, and the reply carries two buffers: the mean
   * (D float32) and the components (k × D float32, row-major).
   */
  components?: number;
  /** With `components`: the embeddings' own shape [N, D]. */
  source_shape?: number[];
  /** With `components`: CRC-32 of the N × D float32 embeddings. */
  source_checksum?: number;
  /** With `components`: each component's share of the total variance. */
  explained_variance_ratio?: number[];
  /** With `components`: CRC-32 of the mean's bytes continued over the components'. */
  projection_checksum?: number;
  /** With `table`: the descriptors of the [C, N] table's columns. */
  columns?: IMetadataColumnInfo[];
  /** With `table`: the columns that cannot be explained. */
  skipped?: { name: string; reason: string }[];
}

/** One column of a metadata table (docs/protocol.md, "Metadata tables"). */
export interface IMetadataColumnInfo {
  name: string;
  /** A name the helper accepts for the column, or null. */
  path: string | null;
  dtype: string;
  kind: 'categorical' | 'continuous';
  /** Missing values (None, NaN, ±Inf, NA, NaT). */
  missing: number;
  /** Categorical: the names of the codes. */
  categories?: string[];
  /** Continuous: `seconds` for datetimes and timedeltas. */
  unit?: string;
  /** Datetimes: the ISO time of value 0. */
  origin?: string;
}

/** The reply to `columns`. */
export interface IColumnsReply extends IReply {
  op: 'columns';
  name: string;
  n: number;
  columns: IMetadataColumnInfo[];
  skipped: { name: string; reason: string }[];
}

/** The reply to `fetch-chunk`: `nbytes` bytes at `offset`, in one buffer. */
export interface IFetchChunkReply extends IReply {
  op: 'fetch-chunk';
  index: number;
  offset: number;
  nbytes: number;
}

/** The reply to `examples`. */
export interface IExamplesReply extends IReply {
  op: 'examples';
  kind: 'image' | 'text' | 'table' | 'value';
  items?: unknown[];
  columns?: string[];
  shape?: number[];
  dtype?: string;
}

/** The reply to `check`: the common number of rows and the embedding width. */
export interface ICheckReply extends IReply {
  op: 'check';
  n: number;
  d: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumberArray(value: unknown): value is number[] {
  return (
    Array.isArray(value) &&
    value.every(v => typeof v === 'number' && Number.isFinite(v))
  );
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/**
 * Check that a comm message's data is a version-1 reply.
 *
 * @param data - The `content.data` of a comm message.
 * @returns Whether it has `version === 1` and a string `op`.
 */
export function isReply(data: unknown): data is IReply {
  return (
    isObject(data) &&
    data.version === PROTOCOL_VERSION &&
    typeof data.op === 'string' &&
    (data.request_id === undefined || typeof data.request_id === 'string')
  );
}

/**
 * Check that a reply is an error reply.
 *
 * @param data - A decoded reply.
 * @returns Whether it carries `op: "error"`, a `code` and a `message`.
 */
export function isErrorReply(data: unknown): data is IErrorReply {
  return (
    isReply(data) &&
    data.op === 'error' &&
    typeof data.code === 'string' &&
    typeof data.message === 'string'
  );
}

/**
 * Check one listed variable.
 *
 * @param value - One entry of a `list` reply's `variables`.
 * @returns Whether it has every field of {@link IVariable} with valid types.
 */
export function isVariable(value: unknown): value is IVariable {
  if (!isObject(value)) {
    return false;
  }
  const v = value;
  return (
    typeof v.name === 'string' &&
    typeof v.type === 'string' &&
    (v.shape === null || isNumberArray(v.shape)) &&
    (v.dtype === null || typeof v.dtype === 'string') &&
    (v.nbytes === null || isNonNegativeInteger(v.nbytes)) &&
    (v.length === null || isNonNegativeInteger(v.length)) &&
    Array.isArray(v.roles) &&
    v.roles.every(r => (ROLES as readonly unknown[]).includes(r))
  );
}

/**
 * Decode a `list` reply.
 *
 * @param data - A decoded reply.
 * @returns The variables, or null when the reply is malformed.
 */
export function decodeList(data: unknown): IVariable[] | null {
  if (!isReply(data) || data.op !== 'list' || !Array.isArray(data.variables)) {
    return null;
  }
  return data.variables.every(isVariable)
    ? (data.variables as IVariable[])
    : null;
}

/**
 * Check a `fetch-begin` reply.
 *
 * @param data - A decoded reply.
 * @returns Whether its shape, sizes and checksum are consistent.
 */
export function isFetchBeginReply(data: unknown): data is IFetchBeginReply {
  if (!isReply(data) || data.op !== 'fetch-begin') {
    return false;
  }
  const d = data as Record<string, unknown>;
  if (
    !(d.dtype === 'float32' || d.dtype === 'int32') ||
    !isNumberArray(d.shape) ||
    !isNonNegativeInteger(d.nbytes) ||
    !isNonNegativeInteger(d.chunk_bytes) ||
    !isNonNegativeInteger(d.chunks) ||
    !isNonNegativeInteger(d.checksum)
  ) {
    return false;
  }
  const elements = (d.shape as number[]).reduce((a, b) => a * b, 1);
  return (
    elements * 4 === d.nbytes &&
    (d.categories === undefined ||
      (Array.isArray(d.categories) &&
        d.categories.every(c => typeof c === 'string'))) &&
    (d.via === undefined || d.via === 'comm' || d.via === 'file') &&
    (d.via === 'file' ? isTransferToken(d.token) : d.token === undefined) &&
    (d.via_reason === undefined || typeof d.via_reason === 'string') &&
    (d.components === undefined || Private.isProjectionReply(d)) &&
    (d.columns === undefined ||
      (Array.isArray(d.columns) &&
        d.columns.every(isMetadataColumnInfo) &&
        d.shape.length === 2 &&
        d.shape[0] === d.columns.length &&
        Private.isSkipped(d.skipped)))
  );
}

/**
 * Check one metadata column descriptor.
 *
 * @param value - One entry of a `columns` reply's (or a table fetch's) `columns`.
 * @returns Whether it has a name, a kind, a missing count, and categories
 *   exactly when it is categorical.
 */
export function isMetadataColumnInfo(
  value: unknown
): value is IMetadataColumnInfo {
  if (!isObject(value)) {
    return false;
  }
  const c = value;
  return (
    typeof c.name === 'string' &&
    (c.path === null || typeof c.path === 'string') &&
    typeof c.dtype === 'string' &&
    isNonNegativeInteger(c.missing) &&
    ((c.kind === 'categorical' &&
      Array.isArray(c.categories) &&
      c.categories.every(v => typeof v === 'string')) ||
      (c.kind === 'continuous' && c.categories === undefined)) &&
    (c.unit === undefined || typeof c.unit === 'string') &&
    (c.origin === undefined || typeof c.origin === 'string')
  );
}

/**
 * Check a `columns` reply.
 *
 * @param data - A decoded reply.
 * @returns Whether it carries the rows and valid column descriptors.
 */
export function isColumnsReply(data: unknown): data is IColumnsReply {
  return (
    isReply(data) &&
    data.op === 'columns' &&
    typeof data.name === 'string' &&
    isNonNegativeInteger(data.n) &&
    Array.isArray(data.columns) &&
    data.columns.every(isMetadataColumnInfo) &&
    Private.isSkipped(data.skipped)
  );
}

/**
 * Check a transfer-file token before it goes into a URL.
 *
 * @param token - The `token` of a `fetch-begin` reply.
 * @returns Whether it is 32 lowercase hex digits (128 random bits).
 */
export function isTransferToken(token: unknown): token is string {
  return typeof token === 'string' && /^[0-9a-f]{32}$/.test(token);
}

/**
 * Check a `fetch-chunk` reply.
 *
 * @param data - A decoded reply.
 * @returns Whether it names a chunk index, offset and size.
 */
export function isFetchChunkReply(data: unknown): data is IFetchChunkReply {
  return (
    isReply(data) &&
    data.op === 'fetch-chunk' &&
    isNonNegativeInteger(data.index) &&
    isNonNegativeInteger(data.offset) &&
    isNonNegativeInteger(data.nbytes)
  );
}

/**
 * Check an `examples` reply.
 *
 * @param data - A decoded reply.
 * @returns Whether its kind and fields are consistent.
 */
export function isExamplesReply(data: unknown): data is IExamplesReply {
  if (!isReply(data) || data.op !== 'examples') {
    return false;
  }
  switch (data.kind) {
    case 'image':
      return (
        isNumberArray(data.shape) &&
        data.shape.length === 4 &&
        data.dtype === 'uint8'
      );
    case 'text':
      return (
        Array.isArray(data.items) &&
        data.items.every(i => typeof i === 'string' || i === null)
      );
    case 'table':
      return (
        Array.isArray(data.items) &&
        Array.isArray(data.columns) &&
        data.items.every(Array.isArray)
      );
    case 'value':
      return Array.isArray(data.items);
    default:
      return false;
  }
}

/**
 * Check a `check` reply.
 *
 * @param data - A decoded reply.
 * @returns Whether it carries the row count `n` and width `d`.
 */
export function isCheckReply(data: unknown): data is ICheckReply {
  return (
    isReply(data) &&
    data.op === 'check' &&
    isNonNegativeInteger(data.n) &&
    isNonNegativeInteger(data.d)
  );
}

/**
 * View a comm buffer as bytes, whatever form it arrived in.
 *
 * Comm buffers reach the browser as `DataView` (JupyterLab 4) or
 * `ArrayBuffer` (older versions); both are supported without copying.
 *
 * @param buffer - One entry of a comm message's `buffers`.
 * @returns A `Uint8Array` over the same memory.
 */
export function bufferBytes(buffer: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (buffer instanceof ArrayBuffer) {
    return new Uint8Array(buffer);
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Check a request id / variable name pair before it is sent.
 *
 * Names are data: the helper parses them itself and never evaluates them.
 * This check only gives an early, friendly error in the panel.
 *
 * @param name - A variable name, optionally with `.attr` or `['key']` access.
 * @returns Whether the name has the accepted form.
 */
export function isAcceptableName(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*|\[(\d+|'[^'\\]*'|"[^"\\]*")\])*$/.test(
    name
  );
}

namespace Private {
  /** Check a list of skipped columns: `{name, reason}` strings. */
  export function isSkipped(value: unknown): boolean {
    return (
      value === undefined ||
      (Array.isArray(value) &&
        value.every(
          s =>
            isObject(s) &&
            typeof s.name === 'string' &&
            typeof s.reason === 'string'
        ))
    );
  }

  /**
   * Check the projection fields of a `fetch-begin` reply that has
   * `components`: k ≥ 1, the transfer N × k, the source N × D with k < D,
   * the checksums and k variance ratios.
   */
  export function isProjectionReply(d: Record<string, unknown>): boolean {
    const k = d.components;
    const shape = d.shape as number[];
    const source = d.source_shape;
    return (
      isNonNegativeInteger(k) &&
      k >= 1 &&
      shape.length === 2 &&
      shape[1] === k &&
      isNumberArray(source) &&
      source.length === 2 &&
      source[0] === shape[0] &&
      isNonNegativeInteger(source[1]) &&
      source[1] > k &&
      isNonNegativeInteger(d.source_checksum) &&
      isNonNegativeInteger(d.projection_checksum) &&
      isNumberArray(d.explained_variance_ratio) &&
      d.explained_variance_ratio.length === k
    );
  }
}
