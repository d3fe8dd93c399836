/**
 * An error from the kernel side of an audit, with a stable code and a
 * message written for the user (what went wrong and what to do).
 */
export class KernelBridgeError extends Error {
  /**
   * @param code - A stable machine-readable code (docs/protocol.md lists the
   *   helper's; the bridge adds `no-kernel`, `not-python`, `kernel-restarted`,
   *   `kernel-failed`, `protocol`, `checksum`, `too-large`, `no-reply`).
   * @param message - A full sentence for the user.
   */
  constructor(
    readonly code: string,
    message: string
  ) {
    super(message);
    this.name = 'KernelBridgeError';
  }
}

/**
 * Whether an error is the rejection of a cancelled operation.
 *
 * @param error - Anything thrown.
 * @returns True for an `AbortError` (from an AbortSignal).
 */
export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'AbortError'
  );
}

/**
 * Make the error an AbortSignal's cancellation rejects with.
 *
 * @param what - What was cancelled, for the message.
 * @returns An Error whose name is `AbortError`.
 */
export function abortError(what: string): Error {
  const error = new Error(`${what} was cancelled.`);
  error.name = 'AbortError';
  return error;
}
