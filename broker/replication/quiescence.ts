/**
 * When an idle partition group may stop ticking (quiesce), and which brokers are live: the pure decisions behind
 * `GroupClock` (`broker/replication/group_clock.ts`). No clock of their own: time is counted in the caller's ticks.
 *
 * Why it is safe. A Raft group's clock only drives heartbeats (leader) and elections (follower). A leader with
 * nothing in flight (every follower holds its whole log and was told the commit index, no transfer, nothing to
 * persist) has nothing to send but heartbeats, whose only use is to tell followers it is alive. The brokers tell
 * each other that once per broker pair instead (a liveness message every `LIVENESS_INTERVAL_TICKS`, any partition
 * message counting as well), so a follower whose leader's broker is live has no reason to campaign. When that broker
 * stops being heard for an election timeout, its followers tick again (their election clock caught up by the ticks
 * missed) and elect a new leader by the normal timeout; Raft's safety does not depend on timing at all.
 *
 * @module
 */
import type { NodeId } from "../../raft/types.ts";

/** Ticks between liveness messages to each peer broker (2 ticks = 100 ms). */
export const LIVENESS_INTERVAL_TICKS = 2;
/** A peer broker is live while heard within this many ticks (10 ticks = 500 ms, the election timeout). */
export const LIVENESS_TIMEOUT_TICKS = 10;
/**
 * Ticks a leader's quiescence condition must hold before it stops ticking: long enough for a heartbeat carrying
 * the commit index to go out and be answered while nothing was in flight.
 */
export const LEADER_QUIESCE_TICKS = 4;

/** The leader's view of one follower, as the Raft core's progress tracker holds it. */
export interface FollowerView {
  /** Highest index the follower holds durably. */
  match: number;
  /** Highest commit index sent to it. */
  sentCommit: number;
  /** Replication state ("probe", "replicate" or "snapshot"). */
  state: string;
}

/** The parts of a Raft node the quiescence decision reads (the core's `Raft` has them). */
export interface GroupView {
  id: NodeId;
  role: string;
  /** The leader known, 0 (NONE) if none. */
  lead: NodeId;
  /** Target of a leadership transfer in progress, 0 if none. */
  leadTransferee: NodeId;
  log: { committed: number; lastIndex(): number };
  /** On a leader: every member, itself included. */
  progress: ReadonlyMap<NodeId, FollowerView>;
}

/** What a group may do: keep ticking, or stop as a quiet leader or as a follower of a live leader. */
export type Quiescence = "tick" | "leader" | "follower";

/**
 * Whether a group may stop ticking now. `busy` is true while the group has something to persist or send (its
 * ready loop runs or the core has a ready). `isLive` says whether a broker was heard within the liveness timeout.
 *
 * A leader may stop when nothing is in flight: the commit index is the last index (no pending proposal or
 * membership change), no leadership transfer runs, and every follower matches the last index, was sent that commit
 * index, has no snapshot in flight, and is on a live broker (a leader whose peers go silent keeps ticking, so
 * check-quorum can step it down). A follower may stop while it knows its leader and the leader's broker is live.
 *
 * @example
 * ```ts
 * import { quiescenceOf } from "./quiescence.ts";
 * const follower = { match: 9, sentCommit: 9, state: "replicate" };
 * const leader = {
 *   id: 1, role: "leader", lead: 1, leadTransferee: 0,
 *   log: { committed: 9, lastIndex: () => 9 },
 *   progress: new Map([[1, follower], [2, follower], [3, follower]]),
 * };
 * quiescenceOf(leader, false, () => true); // "leader"
 * ```
 */
export function quiescenceOf(group: GroupView, busy: boolean, isLive: (broker: NodeId) => boolean): Quiescence {
  if (busy) return "tick";
  if (group.role === "follower") {
    return group.lead !== 0 && group.lead !== group.id && isLive(group.lead) ? "follower" : "tick";
  }
  if (group.role !== "leader" || group.leadTransferee !== 0) return "tick";
  const last = group.log.lastIndex();
  const committed = group.log.committed;
  if (committed !== last) return "tick";
  for (const [id, pr] of group.progress) {
    if (id === group.id) continue;
    // A follower may sit in probe state with its whole log matched (an empty log's probe answer was lost): the next
    // proposal reaches it all the same. A snapshot in flight is retried by ticks.
    if (pr.state === "snapshot" || pr.match !== last || pr.sentCommit < committed || !isLive(id)) return "tick";
  }
  return "leader";
}

/** How a peer's liveness changed at a check. */
export interface LivenessChanges {
  /** Peers live at the previous check and silent for the liveness timeout now. */
  died: NodeId[];
  /** Peers not live at the previous check and heard since. */
  revived: NodeId[];
}

/**
 * Which peer brokers are live: heard (a liveness message or any partition message) within `timeoutTicks`.
 *
 * @example
 * ```ts
 * import { BrokerLiveness } from "./quiescence.ts";
 * const liveness = new BrokerLiveness(10);
 * liveness.heard(2, 5);
 * liveness.isLive(2, 14); // true
 * liveness.isLive(2, 16); // false: silent for more than 10 ticks
 * liveness.changes([2], 16); // { died: [], revived: [] }: never reported live, so it did not die either
 * ```
 */
export class BrokerLiveness {
  readonly #lastHeard = new Map<NodeId, number>();
  /** Peers live at the last `changes` call. */
  readonly #reportedLive = new Set<NodeId>();

  constructor(readonly timeoutTicks: number) {}

  /** A message from `broker` arrived at tick `now`. */
  heard(broker: NodeId, now: number): void {
    this.#lastHeard.set(broker, now);
  }

  /** True while `broker` was heard within the timeout. */
  isLive(broker: NodeId, now: number): boolean {
    const last = this.#lastHeard.get(broker);
    return last !== undefined && now - last <= this.timeoutTicks;
  }

  /** Ticks since `broker` was last heard (Infinity if never). */
  silentFor(broker: NodeId, now: number): number {
    const last = this.#lastHeard.get(broker);
    return last === undefined ? Infinity : now - last;
  }

  /** The peers that died or revived since the previous call, among `peers`. */
  changes(peers: Iterable<NodeId>, now: number): LivenessChanges {
    const died: NodeId[] = [];
    const revived: NodeId[] = [];
    for (const peer of peers) {
      const live = this.isLive(peer, now);
      if (live === this.#reportedLive.has(peer)) continue;
      if (live) {
        this.#reportedLive.add(peer);
        revived.push(peer);
      } else {
        this.#reportedLive.delete(peer);
        died.push(peer);
      }
    }
    return { died, revived };
  }

  /** Forgets a peer no group shares with this broker any more. */
  forget(broker: NodeId): void {
    this.#lastHeard.delete(broker);
    this.#reportedLive.delete(broker);
  }
}
