/**
 * The one error type of the log layer. The broker maps `kind` to a Kafka error code once, at the handler:
 * `storage` → KAFKA_STORAGE_ERROR, `corrupt` → CORRUPT_MESSAGE, `offset_out_of_range` → OFFSET_OUT_OF_RANGE,
 * `record_too_large` → RECORD_LIST_TOO_LARGE / MESSAGE_TOO_LARGE, `invalid_argument` → a bug in the caller.
 *
 * @module
 */

/** What went wrong, in terms the broker can map to a Kafka error code. */
export type LogErrorKind = "storage" | "corrupt" | "offset_out_of_range" | "record_too_large" | "invalid_argument";

/**
 * An error raised by partition storage.
 *
 * @example
 * ```ts
 * import { LogError } from "./log_error.ts";
 * try {
 *   throw new LogError("offset_out_of_range", "offset 7 outside [0, 5]");
 * } catch (e) {
 *   if (e instanceof LogError && e.kind === "offset_out_of_range") {
 *     // answer OFFSET_OUT_OF_RANGE
 *   }
 * }
 * ```
 */
export class LogError extends Error {
  /** The category the broker maps to a Kafka error code. */
  readonly kind: LogErrorKind;

  /** Creates a LogError of `kind`; `cause` keeps the underlying error (an I/O error, say). */
  constructor(kind: LogErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LogError";
    this.kind = kind;
  }
}

/** Wraps any error thrown by the file system as a `storage` LogError (a LogError passes through unchanged). */
export function storageError(what: string, cause: unknown): LogError {
  if (cause instanceof LogError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new LogError("storage", `${what}: ${detail}`, { cause });
}
