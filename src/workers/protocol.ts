/**
 * The messages between the page and the audit worker (version 1): plain,
 * typed data that `postMessage` clones, with the large arrays moved in the
 * transfer list. Errors cross as {@link ISerialisedError} and are rebuilt
 * as the engine's own classes, so `instanceof SpotlightRunError` (which
 * `keptSpotlights` relies on) still holds on the page.
 */
import type { IAuditResult } from '../model';
import type { IFinding } from '../notebook/cells';
import type { MapMethod } from '../summaries/projection';
import {
  createAbortError,
  ISpotlight,
  ISpotlightProgress,
  ISpotlightResult,
  SpotlightInputError,
  SpotlightInputErrorCode,
  SpotlightRunError,
  SpotlightRunErrorCode
} from '../spotlight';
import type {
  IAuditData,
  IAuditOptions,
  IProjectionBasis,
  ISummariseInput
} from '../tokens';

/** The protocol's version; a worker refuses requests of another. */
export const WORKER_PROTOCOL_VERSION = 2;

/**
 * The most float32 values of X moved in one message (256 Mi values, 1 GiB):
 * Chromium refuses to post an ArrayBuffer of more than 2 GiB ("size exceeds
 * the supported range"), so a larger X goes to the audit worker in `rows`
 * blocks (a copy of each block on the page, moved, then freed).
 */
export const LOAD_BLOCK_VALUES = 2 ** 28;

/**
 * A spotlight on the wire: the key under which the worker keeps it (a
 * summary request names it by its key instead of sending its weights back),
 * or the spotlight itself with its key.
 */
export type WireSpotlight = number | (ISpotlight & { key?: number });

/** A search result on the wire: its spotlights as {@link WireSpotlight}s. */
export type WireSearch = Omit<ISpotlightResult, 'spotlights'> & {
  spotlights: WireSpotlight[];
};

/** What {@link ISummariseInput} becomes: the data named by its id. */
export type WireSummariseInput = Omit<ISummariseInput, 'data' | 'search'> & {
  search: WireSearch;
  /**
   * True when the page already holds this data set's map layout (2 × N
   * float32, the same for every summary of it): the reply leaves it out.
   */
  hasMapLayout?: boolean;
};

/**
 * The part of an audit result the worker computes: everything but the
 * page's own arrays (losses, labels, …) and the search it was given.
 */
export type WireSummary = Omit<
  IAuditResult,
  | 'embeddings'
  | 'losses'
  | 'referenceLosses'
  | 'referencePredictions'
  | 'labels'
  | 'labelNames'
  | 'predictions'
  | 'metadata'
  | 'metadataNames'
  | 'metadataTable'
  | 'transports'
  | 'search'
  | 'names'
>;

/** An error as it crosses the worker boundary. */
export interface ISerialisedError {
  /** The class: `SpotlightRunError`, `SpotlightInputError`, `AbortError`, … */
  name: string;
  /** The message for the user. */
  message: string;
  /** The engine error's stable code, when it has one. */
  code?: string;
  /** A `SpotlightRunError`'s spotlights found before the failure. */
  partial?: WireSearch;
  /** A `SpotlightRunError`'s failed spotlight (from 0). */
  failedSpotlight?: number;
  /** The worker-side stack, for the console. */
  stack?: string;
}

/** Requests from the page to the worker; `id` pairs them with replies. */
export type WorkerRequest =
  | {
      /**
       * A block of the embeddings' values, moved ahead of `load` when X is
       * larger than one message can carry (`LOAD_BLOCK_VALUES`): the first
       * block allocates X (`total` values), each is copied in at `start`.
       */
      type: 'rows';
      version: number;
      id: number;
      dataId: number;
      /** Offset of the block's first value in X (row-major N × D). */
      start: number;
      /** N · D. */
      total: number;
      /** The block's float32 values (transferred). */
      data: ArrayBuffer;
    }
  | {
      /**
       * Keep the data (its embeddings transferred, or null when they came
       * before in `rows` blocks) under `data`'s id.
       */
      type: 'load';
      version: number;
      id: number;
      /** The data's id for the later requests. */
      dataId: number;
      /** The fetched data, embeddings included (transferred). */
      data: IAuditData;
      /** A saved projection to apply to the embeddings first, or null. */
      projection: IProjectionBasis | null;
    }
  | {
      type: 'search';
      version: number;
      id: number;
      dataId: number;
      options: IAuditOptions;
    }
  | {
      type: 'summarise';
      version: number;
      id: number;
      dataId: number;
      input: WireSummariseInput;
    }
  | {
      type: 'reconstruct';
      version: number;
      id: number;
      dataId: number;
      findings: IFinding[];
    }
  | {
      type: 'nullDistribution';
      version: number;
      id: number;
      dataId: number;
      options: IAuditOptions;
    }
  | {
      /** The overview map's layout by another projection (UMAP). */
      type: 'layout';
      version: number;
      id: number;
      dataId: number;
      method: MapMethod;
    }
  | {
      /** Free a data set and the spotlights found on it (no reply). */
      type: 'release';
      version: number;
      id: number;
      dataId: number;
    };

/** What a `load` answers: what the worker derived from the embeddings. */
export interface ILoaded {
  /** The embeddings' width after the projection (k), else D. */
  d: number;
  /** The saved projection's own checksum of the source embeddings, or null. */
  sourceChecksum: number | null;
}

/** Replies from the worker to the page. */
export type WorkerReply =
  | { type: 'progress'; id: number; progress: ISpotlightProgress }
  | { type: 'nullProgress'; id: number; done: number; total: number }
  | { type: 'layoutProgress'; id: number; fraction: number; stage: string }
  | {
      /** A spotlight, as soon as it is found (its arrays transferred). */
      type: 'spotlight';
      id: number;
      index: number;
      spotlight: ISpotlight & { key: number };
    }
  | { type: 'done'; id: number; value: unknown }
  | { type: 'error'; id: number; error: ISerialisedError };

/**
 * Turn what a stage threw into plain data.
 *
 * @param error - Anything thrown.
 * @param wireSearch - Encodes a `SpotlightRunError`'s partial result.
 * @returns The serialised error.
 */
export function serialiseError(
  error: unknown,
  wireSearch: (search: ISpotlightResult) => WireSearch
): ISerialisedError {
  if (!(error instanceof Error) && !(error instanceof Object)) {
    return { name: 'Error', message: String(error) };
  }
  const e = error as Error & {
    code?: unknown;
    partial?: unknown;
    failedSpotlight?: unknown;
  };
  const out: ISerialisedError = {
    name: String(e.name ?? 'Error'),
    message: String(e.message ?? error),
    stack: typeof e.stack === 'string' ? e.stack : undefined
  };
  if (typeof e.code === 'string') {
    out.code = e.code;
  }
  if (error instanceof SpotlightRunError) {
    if (error.partial) {
      out.partial = wireSearch(error.partial as ISpotlightResult);
    }
    if (error.failedSpotlight !== undefined) {
      out.failedSpotlight = error.failedSpotlight;
    }
  }
  return out;
}

/**
 * Rebuild an error that crossed the worker boundary as its own class.
 *
 * @param error - The serialised error.
 * @param readSearch - Decodes a `SpotlightRunError`'s partial result.
 * @returns A `SpotlightRunError`, `SpotlightInputError`, an `AbortError`
 *   (see `isAbortError`) or an `Error` with the same name and message.
 */
export function deserialiseError(
  error: ISerialisedError,
  readSearch: (search: WireSearch) => ISpotlightResult
): Error {
  let out: Error;
  switch (error.name) {
    case 'SpotlightRunError': {
      const run = new SpotlightRunError(
        (error.code ?? 'non-finite') as SpotlightRunErrorCode,
        error.message
      );
      if (error.partial) {
        run.partial = readSearch(error.partial);
      }
      if (error.failedSpotlight !== undefined) {
        run.failedSpotlight = error.failedSpotlight;
      }
      out = run;
      break;
    }
    case 'SpotlightInputError':
      out = new SpotlightInputError(
        (error.code ?? 'bad-option') as SpotlightInputErrorCode,
        error.message
      );
      break;
    case 'AbortError':
      return createAbortError(error.message);
    default:
      out = new Error(error.message);
      out.name = error.name;
  }
  if (error.stack) {
    out.stack = `${out.name}: ${out.message}\n    (in the audit worker)\n${error.stack}`;
  }
  return out;
}

/**
 * The buffers of a spotlight's arrays, for a transfer list.
 *
 * @param s - A spotlight whose arrays this side may give away.
 * @returns Its distinct array buffers.
 */
export function spotlightBuffers(s: ISpotlight): ArrayBuffer[] {
  const arrays = [
    s.center,
    s.kernelWeights,
    s.normalizedWeights,
    s.history.objective,
    s.history.totalWeight,
    s.history.learningRate
  ];
  return [...new Set(arrays.map(a => a.buffer as ArrayBuffer))];
}

/**
 * A copy of a spotlight with its own arrays, to send while keeping the
 * original (the worker keeps its spotlights for the summaries).
 *
 * @param s - The spotlight.
 * @returns The copy; its arrays share no buffer with `s`'s.
 */
export function copySpotlight(s: ISpotlight): ISpotlight {
  return {
    ...s,
    center: s.center.slice(),
    kernelWeights: s.kernelWeights.slice(),
    normalizedWeights: s.normalizedWeights.slice(),
    history: {
      objective: s.history.objective.slice(),
      totalWeight: s.history.totalWeight.slice(),
      learningRate: s.history.learningRate.slice()
    }
  };
}
