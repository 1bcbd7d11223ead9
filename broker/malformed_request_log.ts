/**
 * How an operator hears of connections closed for malformed requests (an oversized size prefix, a header or
 * body that does not decode, an unsupported API version, arrays over Kafka's limits).
 *
 * Kafka logs every such close at ERROR. A broken or hostile client can open thousands of connections a second,
 * though, and one line each would drown everything else; dropping lines silently hides the attack. So each
 * window of `windowMs` logs its first `detailedPerWindow` closes one line each (at warn, with the remote
 * address and the reason), and folds the rest into ONE summary line when the window ends: how many more, by
 * kind, and the last remote address seen. Nothing is dropped without being counted.
 *
 * Pure: the clock comes in as `now`; the server calls `flush()` from a timer so a summary never waits for
 * the next close.
 *
 * @module
 */
import type { LogFields, Logger } from "./logger.ts";

/** What kind of malformed request closed the connection (the summary counts by kind). */
export type MalformedKind =
  | "request_size" // a size prefix negative or over socket.request.max.bytes
  | "header" // a request header that does not decode
  | "unsupported_version" // an API key or version this broker does not serve
  | "body" // a request body that does not decode (truncated, bad values, arrays over the limits)
  | "response_too_large"; // the answer would exceed the response bound

/** Options of {@link MalformedRequestLog}. */
export interface MalformedRequestLogOptions {
  /** Length of a window (ms). Default 10000. */
  windowMs?: number;
  /** Closes logged one line each per window. Default 10. */
  detailedPerWindow?: number;
  /** The clock (ms). Default `Date.now`. */
  now?: () => number;
}

/**
 * Rate-limited logging of malformed-request closes.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 * import { MalformedRequestLog } from "./malformed_request_log.ts";
 * const lines: string[] = [];
 * const log = new MalformedRequestLog(createLogger({ sink: (l) => lines.push(l) }), { detailedPerWindow: 1 });
 * log.report("body", "array of 2000000 elements is over the limit", { remote: "127.0.0.1:5000" });
 * log.report("body", "truncated", { remote: "127.0.0.1:5001" }); // counted, logged in the summary
 * log.flush(true); // ends the window now: one summary line
 * lines.length; // 2
 * ```
 */
export class MalformedRequestLog {
  readonly #log: Logger;
  readonly #windowMs: number;
  readonly #detailedPerWindow: number;
  readonly #now: () => number;
  #windowStart: number;
  #detailed = 0;
  #suppressed = 0;
  #byKind = new Map<MalformedKind, number>();
  #lastRemote: unknown = undefined;
  /** Closes reported since the start, all windows together. */
  total = 0;

  /** Logs through `logger`. */
  constructor(logger: Logger, options: MalformedRequestLogOptions = {}) {
    this.#log = logger;
    this.#windowMs = options.windowMs ?? 10_000;
    this.#detailedPerWindow = options.detailedPerWindow ?? 10;
    this.#now = options.now ?? Date.now;
    this.#windowStart = this.#now();
  }

  /** Records one close: logged on its own line, or counted for the window's summary. */
  report(kind: MalformedKind, reason: string, fields: LogFields = {}): void {
    this.total++;
    this.#roll(this.#now(), false);
    if (this.#detailed < this.#detailedPerWindow) {
      this.#detailed++;
      this.#log.warn("closing connection: malformed request", { ...fields, kind, reason });
      return;
    }
    this.#suppressed++;
    this.#byKind.set(kind, (this.#byKind.get(kind) ?? 0) + 1);
    this.#lastRemote = fields.remote;
  }

  /**
   * Ends the window if it is over (or at once with `force`, at shutdown), logging the summary of the closes
   * it did not log one by one.
   */
  flush(force = false): void {
    this.#roll(this.#now(), force);
  }

  #roll(now: number, force: boolean): void {
    if (!force && now - this.#windowStart < this.#windowMs) return;
    if (this.#suppressed > 0) {
      this.#log.warn("more connections closed for malformed requests", {
        closed: this.#suppressed,
        window_ms: Math.round(now - this.#windowStart),
        ...Object.fromEntries([...this.#byKind].map(([k, n]) => [k, n])),
        last_remote: this.#lastRemote,
      });
    }
    this.#windowStart = now;
    this.#detailed = 0;
    this.#suppressed = 0;
    this.#byKind = new Map();
    this.#lastRemote = undefined;
  }
}
