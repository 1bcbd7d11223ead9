/**
 * Preferred leaders, decided from the metadata image alone (no I/O, no clock): a partition's preferred leader is
 * its first replica, as in Kafka. Two decisions live here:
 *
 * - what an ElectLeaders request means for one partition ({@linkcode preferredElection},
 *   {@linkcode uncleanElection}): nothing to do, impossible, or a leadership transfer from the current leader;
 * - which leaderships the automatic rebalance moves back ({@linkcode imbalancedLeaderships}), as Kafka's
 *   controller decides it with `leader.imbalance.per.broker.percentage`.
 *
 * A partition with one replica has no Raft group to transfer within: its leader is its replica or nobody.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/messages.ts";
import type { PartitionImage, TopicImage } from "../metadata_image.ts";

/** What a preferred-leader election asks of one partition. */
export type PreferredElection =
  | { kind: "done"; errorCode: number; errorMessage: string | null }
  | { kind: "transfer"; leader: number; preferred: number };

/**
 * The preferred-leader election of one partition: ELECTION_NOT_NEEDED when its preferred replica leads;
 * PREFERRED_LEADER_NOT_AVAILABLE when that replica is not live or not in the ISR, or when no leader is there to
 * hand leadership over; otherwise a transfer from the current leader to the preferred replica.
 *
 * @example
 * ```ts
 * import { preferredElection } from "./preferred_leaders.ts";
 * const p = { partition: 0, leader: 2, leaderEpoch: 4, partitionEpoch: 6, replicas: [1, 2, 3], isr: [1, 2, 3] };
 * preferredElection(p, () => true); // { kind: "transfer", leader: 2, preferred: 1 }
 * ```
 */
export function preferredElection(p: PartitionImage, isLive: (brokerId: number) => boolean): PreferredElection {
  const preferred = p.replicas[0];
  if (preferred !== undefined && p.leader === preferred) {
    return { kind: "done", errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null };
  }
  const unavailable = (why: string): PreferredElection => ({
    kind: "done",
    errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    errorMessage: `Failed to elect leader for partition ${p.partition} under strategy PREFERRED: ${why}`,
  });
  if (preferred === undefined) return unavailable("it has no replicas");
  if (!isLive(preferred)) return unavailable(`preferred replica ${preferred} is not live`);
  if (!p.isr.includes(preferred)) return unavailable(`preferred replica ${preferred} is not in the ISR`);
  // Leadership moves by a Raft transfer from the leader; without one, the group elects whoever it elects.
  if (p.leader < 0 || p.replicas.length < 2) return unavailable("no leader can hand leadership over");
  return { kind: "transfer", leader: p.leader, preferred };
}

/**
 * The unclean election of one partition: a Raft group elects only within a majority of its replicas, so an
 * out-of-sync replica is never made leader. With a leader, ELECTION_NOT_NEEDED (as Kafka answers); without one,
 * ELIGIBLE_LEADERS_NOT_AVAILABLE (the group elects a leader itself once a majority is back).
 *
 * @example
 * ```ts
 * import { uncleanElection } from "./preferred_leaders.ts";
 * const p = { partition: 0, leader: -1, leaderEpoch: 4, partitionEpoch: 6, replicas: [1, 2, 3], isr: [1] };
 * uncleanElection(p).errorCode; // 83, ELIGIBLE_LEADERS_NOT_AVAILABLE
 * ```
 */
export function uncleanElection(p: PartitionImage): { errorCode: number; errorMessage: string | null } {
  if (p.leader >= 0) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null };
  return {
    errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
    errorMessage: `Partition ${p.partition} has no leader; its replicas elect one once a majority of them is live ` +
      "(an out-of-sync replica is never elected)",
  };
}

/** A leadership the rebalance moves back to the partition's preferred replica. */
export interface LeadershipMove {
  topic: string;
  partition: number;
  /** The current leader, which hands leadership over. */
  leader: number;
  /** The preferred replica, which takes it. */
  preferred: number;
}

/**
 * The leaderships to move back to their preferred replicas, as Kafka's controller decides its automatic
 * rebalance: for each broker, the share of the partitions it is preferred for that another broker leads; when
 * that share exceeds `imbalancePercentage` percent, each of those partitions whose preferred replica is live and
 * in the ISR moves back. Partitions with one replica, or without a leader, are left alone.
 *
 * @example
 * ```ts
 * import { imbalancedLeaderships } from "./preferred_leaders.ts";
 * const p = (partition: number, leader: number, replicas: number[]) =>
 *   ({ partition, leader, leaderEpoch: 1, partitionEpoch: 1, replicas, isr: replicas });
 * const topic = { name: "t", topicId: "id", configs: new Map(), partitions: [p(0, 2, [1, 2]), p(1, 2, [2, 1])] };
 * imbalancedLeaderships([topic], () => true, 10); // [{ topic: "t", partition: 0, leader: 2, preferred: 1 }]
 * ```
 */
export function imbalancedLeaderships(
  topics: Iterable<TopicImage>,
  isLive: (brokerId: number) => boolean,
  imbalancePercentage: number,
): LeadershipMove[] {
  const preferredCount = new Map<number, number>();
  /** Per preferred broker, its partitions led elsewhere, each with whether it is in their ISR. */
  const displaced = new Map<number, { move: LeadershipMove; inSync: boolean }[]>();
  for (const topic of topics) {
    for (const p of topic.partitions) {
      if (!p || p.replicas.length < 2) continue;
      const preferred = p.replicas[0];
      preferredCount.set(preferred, (preferredCount.get(preferred) ?? 0) + 1);
      if (p.leader === preferred || p.leader < 0) continue;
      let moves = displaced.get(preferred);
      if (!moves) displaced.set(preferred, moves = []);
      moves.push({
        move: { topic: topic.name, partition: p.partition, leader: p.leader, preferred },
        inSync: p.isr.includes(preferred),
      });
    }
  }
  const out: LeadershipMove[] = [];
  for (const [broker, moves] of displaced) {
    // Kafka's rule: imbalance ratio = displaced / preferred, moved when strictly above the percentage.
    if (moves.length * 100 <= imbalancePercentage * preferredCount.get(broker)!) continue;
    if (!isLive(broker)) continue;
    for (const { move, inSync } of moves) if (inSync) out.push(move);
  }
  return out;
}
