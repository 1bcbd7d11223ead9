/**
 * The bound on a reassignment's catch-up traffic: bytes a leader sends to the learners of its groups (replicas a
 * reassignment is adding), at most `leader.replication.throttled.rate` bytes per second, as a token bucket that
 * holds at most one second of traffic. Pure: the caller passes the time.
 *
 * @module
 */

/**
 * A token bucket of bytes that may go into debt: a message is sent while the bucket holds anything, and what it
 * costs beyond that is paid off before the next one goes. Messages cannot be split (a Raft append carries up to
 * 1 MiB), so over any span of `t` seconds at most `rate × (t + 1)` bytes plus one message leave.
 *
 * @example
 * ```ts
 * import { ReplicationThrottle } from "./replication_throttle.ts";
 * const throttle = new ReplicationThrottle(1000, 0);
 * throttle.take(800, 0); // true: 200 bytes left
 * throttle.take(800, 0); // true: 600 bytes owed
 * throttle.take(10, 0); // false: the debt is paid off first
 * throttle.take(10, 700); // true: 700 ms refilled 700 bytes
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

  /** Takes `bytes` if the bucket is not empty (or in debt) at `nowMs`. */
  take(bytes: number, nowMs: number): boolean {
    if (this.unbounded) return true;
    const elapsed = Math.max(0, nowMs - this.#lastMs);
    this.#lastMs = nowMs;
    this.#tokens = Math.min(this.rateBytesPerSec, this.#tokens + elapsed * this.rateBytesPerSec / 1000);
    if (this.#tokens <= 0) return false;
    this.#tokens -= bytes;
    return true;
  }
}
