/**
 * The in-sync replicas of a partition leader (Kafka's ISR): the leader itself, and each follower that was last
 * seen holding the leader's whole log no longer than `replica.lag.time.max.ms` ago. A pure tracker: the caller
 * passes the time in.
 *
 * "Seen" means a message from the follower arrived (an append or heartbeat answer): a follower cut off keeps
 * its old match index, and without this rule it would stay in sync forever on an idle partition.
 *
 * Under a steady stream of produces a healthy follower is always a round trip behind the log end, so, as in
 * Kafka, a follower that holds everything the leader had when it was heard from the time before counts as caught up
 * as of that time.
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
  readonly #followers = new Map<number, { caughtUpMs: number; heardMs: number; leaderLastWhenHeard: number }>();

  /**
   * A new leader counts every follower as caught up at `nowMs` (as Kafka's new leader starts from the ISR it
   * was elected with): a follower leaves only after lagging `replica.lag.time.max.ms`.
   */
  constructor(readonly leaderId: number, followers: readonly number[], nowMs: number) {
    for (const id of followers) {
      if (id !== leaderId) {
        this.#followers.set(id, { caughtUpMs: nowMs, heardMs: nowMs, leaderLastWhenHeard: Infinity });
      }
    }
  }

  /** A message from `follower` arrived: it holds the log up to `match`; the leader's last offset is `leaderLast`. */
  observe(follower: number, match: number, leaderLast: number, nowMs: number): void {
    const state = this.#followers.get(follower);
    if (!state) return;
    if (match >= leaderLast) state.caughtUpMs = nowMs;
    else if (match >= state.leaderLastWhenHeard) state.caughtUpMs = Math.max(state.caughtUpMs, state.heardMs);
    state.heardMs = nowMs;
    state.leaderLastWhenHeard = leaderLast;
  }

  /** The in-sync replicas at `nowMs`, the leader first, then the followers by id. */
  members(nowMs: number, lagTimeMaxMs: number): number[] {
    const inSync = [...this.#followers]
      .filter(([, { caughtUpMs }]) => nowMs - caughtUpMs <= lagTimeMaxMs)
      .map(([id]) => id)
      .sort((a, b) => a - b);
    return [this.leaderId, ...inSync];
  }
}
