/**
 * Errors of the Spotlight engine. Messages are full sentences for the user:
 * what is wrong and what to do.
 */

/** Stable codes of `SpotlightInputError`. */
export type SpotlightInputErrorCode =
  | 'bad-type'
  | 'bad-shape'
  | 'empty-dimension'
  | 'too-few-examples'
  | 'non-finite-embeddings'
  | 'non-finite-losses'
  | 'negative-losses'
  | 'constant-losses'
  | 'huge-losses'
  | 'constant-embeddings'
  | 'bad-option';

/** Stable codes of `SpotlightRunError`. */
export type SpotlightRunErrorCode =
  'zero-weight' | 'non-finite' | 'backend-unavailable' | 'shard-failed';

/** Bad input or options, refused before any work. */
export class SpotlightInputError extends Error {
  /**
   * @param code - A stable machine-readable code.
   * @param message - What is wrong and what to do.
   */
  constructor(
    readonly code: SpotlightInputErrorCode,
    message: string
  ) {
    super(message);
    this.name = 'SpotlightInputError';
  }
}

/** A search that could not run or went wrong while running. */
export class SpotlightRunError extends Error {
  /**
   * @param code - A stable machine-readable code.
   * @param message - What went wrong and what to do.
   */
  constructor(
    readonly code: SpotlightRunErrorCode,
    message: string
  ) {
    super(message);
    this.name = 'SpotlightRunError';
  }

  /**
   * When spotlight j > 1 failed, the result with the j − 1 spotlights found
   * before it (nothing found is thrown away); undefined when none was found.
   * Typed loosely here to keep this module free of the result types: it is an
   * `ISpotlightResult`.
   */
  partial?: unknown;

  /** The index (from 0) of the spotlight that failed, when known. */
  failedSpotlight?: number;
}

/**
 * Make the error a cancelled search rejects with: a `DOMException` named
 * `AbortError` where the platform has one, else an `Error` with that name.
 *
 * @param message - What was cancelled.
 * @returns An error whose `name` is `AbortError`.
 */
export function createAbortError(
  message = 'The spotlight search was cancelled.'
): Error {
  if (typeof DOMException !== 'undefined') {
    return new DOMException(message, 'AbortError') as unknown as Error;
  }
  const error = new Error(message);
  error.name = 'AbortError';
  return error;
}

/**
 * Throw an `AbortError` when the signal has fired.
 *
 * @param signal - The caller's signal, if any.
 * @returns Nothing; throws when aborted.
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw createAbortError();
  }
}
