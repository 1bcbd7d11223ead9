/**
 * How large a response the broker builds. A request can ask for far more answer than it weighs (a Metadata or
 * DescribeConfigs request of a million 1-byte names; a Produce of a million empty partition entries), so the
 * answer has a bound of its own: `socket.request.max.bytes` (100 MiB by default, the same order as what
 * librdkafka accepts by default, `receive.message.max.bytes`). Fetch is exempt: the request's own `max_bytes`
 * and `fetch.max.bytes` bound it.
 *
 * A response over the bound is refused, not built whole: encoding stops once the bound is reached (ProtocolError
 * "too_large"), and handlers whose answers grow much faster than their requests check a cheap lower estimate
 * of the response size as they go. The dispatcher then closes the connection and logs it with the other
 * malformed-request closes.
 *
 * @module
 */
import { ApiKey, ProtocolError } from "../protocol/messages.ts";

/** What the response bound derives from. */
export interface ResponseBounds {
  /** `socket.request.max.bytes`. */
  readonly socketRequestMaxBytes: number;
}

/**
 * The largest response frame (size prefix included) the broker builds for `apiKey`.
 *
 * @example
 * ```ts
 * import { responseLimit } from "./response_limit.ts";
 * responseLimit(3, { socketRequestMaxBytes: 104857600 }); // 104857604
 * responseLimit(1, { socketRequestMaxBytes: 104857600 }); // Infinity: Fetch bounds itself
 * ```
 */
export function responseLimit(apiKey: number, bounds: ResponseBounds): number {
  return apiKey === ApiKey.Fetch ? Infinity : bounds.socketRequestMaxBytes + 4;
}

/** Throws ProtocolError "too_large" when a response of at least `bytes` would exceed `limit`. */
export function checkResponseEstimate(what: string, bytes: number, limit: number): void {
  if (bytes > limit) {
    throw new ProtocolError("too_large", `${what} response of at least ${bytes} bytes is over the limit of ${limit}`);
  }
}
