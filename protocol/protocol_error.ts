/**
 * The one error type of the protocol layer: bytes that cannot be decoded (truncated, oversized, malformed)
 * or values that cannot be encoded. Handlers map it once to a Kafka error code (usually CORRUPT_MESSAGE or
 * INVALID_REQUEST); nothing else escapes a decoder.
 *
 * @module
 */

/** Why decoding or encoding failed. */
export type ProtocolErrorKind =
  | "truncated" // the input ended before the value did
  | "invalid_length" // a length prefix is negative, too large for the input, or over a limit
  | "invalid_value" // a value out of its domain (bad magic, bad varint, unknown codec, ...)
  | "too_large" // a message to encode over its size limit (a response over the broker's bound)
  | "too_many_elements" // an array or tagged-field count over Kafka's decoding limits (see protocol/wire/limits.ts)
  | "unsupported_version"; // an API version the codec has no schema for

/**
 * A typed decode or encode failure.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./protocol_error.ts";
 * try {
 *   throw new ProtocolError("truncated", "int32 needs 4 bytes at offset 10");
 * } catch (e) {
 *   if (e instanceof ProtocolError) e.kind; // "truncated"
 * }
 * ```
 */
export class ProtocolError extends Error {
  constructor(readonly kind: ProtocolErrorKind, message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}
