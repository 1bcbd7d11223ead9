/**
 * The in-sync replicas of a partition leader (Kafka's ISR): the leader itself, and each follower that was last
 * seen holding the leader's whole log no longer than `replica.lag.time.max.ms` ago. A pure tracker: the caller
 * passes the time in.
 *
 * "Seen" means a message from the follower arrived (an append or heartbeat answer): a follower cut off keeps
 * its old match index, and without this rule it would stay in sync forever on an idle partition.
 *
 * @module
 */

/**
 * Tracks when each follower last caught up with the leader's log end.
 *
 * @example
 * ```ts
 * import { InSyncReplicas } from "./in_sync_replicas.ts";
 * const isr = new InSyncReplicas(1, [2, 3], 0);
 * isr.observe(2, 9, 9, 1_000); // follower 2 holds everything up to the leader's last offset 9
 * isr.members(20_000, 10_000); // [1, 2]: follower 3 was last caught up at 0
 * ```
 */
export class InSyncReplicas {
  readonly #lastCaughtUpMs = new Map<number, number>();

  /**
   * A new leader counts every follower as caught up at `nowMs` (as Kafka's new leader starts from the ISR it
   * was elected with): a follower leaves only after lagging `replica.lag.time.max.ms`.
   */
  constructor(readonly leaderId: number, followers: readonly number[], nowMs: number) {
    for (const id of followers) if (id !== leaderId) this.#lastCaughtUpMs.set(id, nowMs);
  }

  /** A message from `follower` arrived: it holds the log up to `match`; the leader's last offset is `leaderLast`. */
  observe(follower: number, match: number, leaderLast: number, nowMs: number): void {
    if (!this.#lastCaughtUpMs.has(follower)) return;
    if (match >= leaderLast) this.#lastCaughtUpMs.set(follower, nowMs);
  }

  /** The in-sync replicas at `nowMs`, the leader first, then the followers by id. */
  members(nowMs: number, lagTimeMaxMs: number): number[] {
    const inSync = [...this.#lastCaughtUpMs]
      .filter(([, caughtUpMs]) => nowMs - caughtUpMs <= lagTimeMaxMs)
      .map(([id]) => id)
      .sort((a, b) => a - b);
    return [this.leaderId, ...inSync];
  }
}
