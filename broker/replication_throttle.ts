/**
 * The bound on a reassignment's catch-up traffic: bytes a leader sends to the learners of its groups (replicas a
 * reassignment is adding), at most `leader.replication.throttled.rate` bytes per second, as a token bucket that
 * holds at most one second of traffic. Pure: the caller passes the time.
 *
 * @module
 */

/**
 * A token bucket of bytes.
 *
 * @example
 * ```ts
 * import { ReplicationThrottle } from "./replication_throttle.ts";
 * const throttle = new ReplicationThrottle(1000, 0);
 * throttle.take(800, 0); // true
 * throttle.take(800, 0); // false: 200 bytes left until time passes
 * throttle.take(800, 600); // true: 600 ms refilled 600 bytes
 * ```
 */
export class ReplicationThrottle {
  #tokens: number;
  #lastMs: number;

  /** `rateBytesPerSec` of traffic; the bucket starts full. */
  constructor(readonly rateBytesPerSec: number, nowMs: number) {
    this.#tokens = rateBytesPerSec;
    this.#lastMs = nowMs;
  }

  /** True when the rate is so high nothing is ever held back (Kafka's default, Long.MAX_VALUE). */
  get unbounded(): boolean {
    return this.rateBytesPerSec >= Number.MAX_SAFE_INTEGER;
  }

  /**
   * Takes `bytes` if the bucket holds them at `nowMs`. A message larger than a second's worth goes once the
   * bucket is full, so a large batch is delayed, never stuck.
   */
  take(bytes: number, nowMs: number): boolean {
    if (this.unbounded) return true;
    const elapsed = Math.max(0, nowMs - this.#lastMs);
    this.#lastMs = nowMs;
    this.#tokens = Math.min(this.rateBytesPerSec, this.#tokens + elapsed * this.rateBytesPerSec / 1000);
    const cost = Math.min(bytes, this.rateBytesPerSec);
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }
}
