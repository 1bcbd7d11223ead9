/**
 * The clock of a broker's replicated partition groups: ticks only the groups that have something to do, and keeps
 * every peer broker told that this one is alive, so idle groups cost nothing (issue 17, "Scale").
 *
 * - **Liveness.** Every `LIVENESS_INTERVAL_TICKS` each peer broker sharing a group with this one gets one small
 *   message (group `LIVENESS_GROUP`), unless something else was sent to it meanwhile; anything received from a
 *   peer marks it heard (`BrokerLiveness`). A peer is live while heard within the election timeout.
 * - **Quiescence.** Each tick visits the ticking groups only. A group that `quiescenceOf` finds quiet (a leader for
 *   `LEADER_QUIESCE_TICKS` checks in a row, a follower of a live leader at once) leaves the ticking set before it
 *   ticks again. Any activity (a proposal, a message stepped in, a transfer: the group's `onActive` hook) puts it
 *   back (`wake`).
 * - **Changes of liveness.** When a peer dies, the followers whose leader it was wake with their election clocks
 *   advanced by the ticks they missed (so a dead leader is replaced as fast as without quiescence), and this
 *   broker's leaders of groups it belongs to wake (check-quorum, heartbeats, ISR shrink run again). When a peer
 *   revives, this broker's leaders of its groups wake, so its replicas learn their leader at once.
 * - **ISR.** A quiesced leader hears nothing from its followers, so every `ISR_REFRESH_TICKS` it counts its live
 *   followers (which held its whole log when it quiesced) as caught up now.
 *
 * @module
 */
import type { NodeId } from "../../raft/types.ts";
import {
  BrokerLiveness,
  LEADER_QUIESCE_TICKS,
  LIVENESS_INTERVAL_TICKS,
  LIVENESS_TIMEOUT_TICKS,
  type Quiescence,
} from "./quiescence.ts";

/**
 * The group id of liveness messages on the replication network. It cannot be a partition's group id
 * (`${topicId}:${partition}`); a broker that does not know it drops it as an unknown group.
 */
export const LIVENESS_GROUP = "__broker_liveness";
/** Ticks between refreshes of quiesced leaders' in-sync followers (20 ticks = 1 s). */
export const ISR_REFRESH_TICKS = 20;

/** What the clock needs of a group (a `PartitionReplica` of a replicated partition). */
export interface ClockedGroup {
  /** The group's voters. */
  readonly replicas: readonly NodeId[];
  /** The leader this replica knows, -1 or 0 if none. */
  readonly leaderId: NodeId;
  /** One tick of the group's Raft clock. */
  tick(): void;
  /** Whether the group may stop ticking now (`quiescenceOf`). */
  quiescence(isLive: (broker: NodeId) => boolean): Quiescence;
  /** On a leader: its live followers count as caught up now (they held its whole log when it quiesced). */
  keepLiveFollowersInSync(isLive: (broker: NodeId) => boolean): void;
}

/** What a `GroupClock` needs. */
export interface GroupClockOptions {
  /** This broker. */
  nodeId: NodeId;
  /** Sends one liveness message to peer broker `to`. */
  sendLiveness(to: NodeId): void;
}

/**
 * Ticks a broker's replicated groups, quiescing idle ones, and tracks which peer brokers are live.
 *
 * @example
 * ```ts ignore
 * const clock = new GroupClock<PartitionReplica>({ nodeId: 1, sendLiveness: (to) => send(to) });
 * clock.add(replica);
 * setInterval(() => clock.tick(), PARTITION_TICK_MS);
 * ```
 */
export class GroupClock<G extends ClockedGroup> {
  /** Ticks since start: the clock of liveness. */
  #now = 0;
  readonly #liveness = new BrokerLiveness(LIVENESS_TIMEOUT_TICKS);
  readonly #groups = new Set<G>();
  /** The groups ticking, with how many checks in a row found them quiet. */
  readonly #ticking = new Map<G, number>();
  /** Peer brokers sharing groups with this one, with how many. */
  readonly #peers = new Map<NodeId, number>();
  /** The tick of the last message sent to each peer. */
  readonly #lastSent = new Map<NodeId, number>();

  constructor(private readonly options: GroupClockOptions) {}

  /** True while `broker` is this one or a peer heard within the liveness timeout. */
  readonly isLive = (broker: NodeId): boolean =>
    broker === this.options.nodeId || this.#liveness.isLive(broker, this.#now);

  /** Starts clocking a group (ticking until it is found quiet). */
  add(group: G): void {
    if (this.#groups.has(group)) return;
    this.#groups.add(group);
    this.#ticking.set(group, 0);
    for (const id of group.replicas) {
      if (id !== this.options.nodeId) this.#peers.set(id, (this.#peers.get(id) ?? 0) + 1);
    }
  }

  /** Stops clocking a group (closed or deleted). */
  remove(group: G): void {
    if (!this.#groups.delete(group)) return;
    this.#ticking.delete(group);
    for (const id of group.replicas) {
      const n = this.#peers.get(id);
      if (n === undefined) continue;
      if (n > 1) this.#peers.set(id, n - 1);
      else {
        this.#peers.delete(id);
        this.#lastSent.delete(id);
        this.#liveness.forget(id);
      }
    }
  }

  /** The group has work (a proposal, a message, a transfer): it ticks again until found quiet. */
  wake(group: G): void {
    if (!this.#ticking.has(group) && this.#groups.has(group)) this.#ticking.set(group, 0);
  }

  /** Something arrived from `broker`. */
  heard(broker: NodeId): void {
    this.#liveness.heard(broker, this.#now);
  }

  /** Something was sent to `broker` (a liveness message is not needed this interval). */
  sent(broker: NodeId): void {
    this.#lastSent.set(broker, this.#now);
  }

  /** Groups ticking now, and groups quiesced. */
  get counts(): { ticking: number; quiesced: number } {
    return { ticking: this.#ticking.size, quiesced: this.#groups.size - this.#ticking.size };
  }

  /** True while `group` is quiesced (not ticking). */
  isQuiesced(group: G): boolean {
    return this.#groups.has(group) && !this.#ticking.has(group);
  }

  /** One tick: the ticking groups tick (or quiesce), liveness goes out and is checked. */
  tick(): void {
    this.#now++;
    for (const [group, quietChecks] of this.#ticking) {
      // Checked before ticking: a quiesced leader's last act is never a heartbeat whose answer would wake it.
      const quiescence = group.quiescence(this.isLive);
      const quiet = quiescence === "tick" ? 0 : quietChecks + 1;
      if (quiescence === "follower" || (quiescence === "leader" && quiet >= LEADER_QUIESCE_TICKS)) {
        this.#ticking.delete(group);
        if (quiescence === "leader") group.keepLiveFollowersInSync(this.isLive);
        continue;
      }
      this.#ticking.set(group, quiet);
      group.tick();
    }
    if (this.#now % LIVENESS_INTERVAL_TICKS === 0) this.#livenessRound();
    if (this.#now % ISR_REFRESH_TICKS === 0) {
      for (const group of this.#groups) if (!this.#ticking.has(group)) group.keepLiveFollowersInSync(this.isLive);
    }
  }

  #livenessRound(): void {
    for (const peer of this.#peers.keys()) {
      if (this.#now - (this.#lastSent.get(peer) ?? -Infinity) < LIVENESS_INTERVAL_TICKS) continue;
      this.#lastSent.set(peer, this.#now);
      this.options.sendLiveness(peer);
    }
    const { died, revived } = this.#liveness.changes(this.#peers.keys(), this.#now);
    if (died.length === 0 && revived.length === 0) return;
    const changed = new Set([...died, ...revived]);
    for (const group of this.#groups) {
      if (this.#ticking.has(group)) continue;
      const leader = group.leaderId;
      if (leader === this.options.nodeId) {
        if (group.replicas.some((id) => changed.has(id))) this.#ticking.set(group, 0);
      } else if (died.includes(leader)) {
        // Without quiescence its election clock would have run since the leader was last heard: catch it up, so
        // the dead leader is replaced by the normal election timeout counted from then.
        const missed = Math.min(this.#liveness.silentFor(leader, this.#now), LIVENESS_TIMEOUT_TICKS);
        this.#ticking.set(group, 0);
        for (let i = 0; i < missed; i++) group.tick();
      }
    }
  }
}
