/**
 * Partition leadership in the metadata, decided on the controller. Pure: the image in, PartitionChangeRecords out.
 *
 * A partition with more than one replica is a Raft group (docs/ARCHITECTURE.md): the group elects its leader, the
 * Raft term is the leader epoch, and the leader reports both with its in-sync replicas. The controller only
 * records what the groups decide ({@link planLeadershipReports}); it never invents a leader or an epoch for them,
 * and fencing a broker does not touch them (their groups elect another leader, which reports).
 *
 * A partition with one replica lives on that broker only. So, as Kafka's controller does when a partition's only
 * in-sync replica is fenced, it becomes leaderless (leader -1, the ISR kept as it is: Kafka never shrinks an ISR
 * to nothing) and is offline until the broker is unfenced, when that broker leads it again. Each change bumps the
 * leader epoch, so a client holding the old epoch refreshes its metadata.
 *
 * @module
 */
import {
  type MetadataImage,
  type MetadataRecord,
  NO_LEADER,
  NO_LEADER_CHANGE,
  type PartitionImage,
} from "../metadata_image.ts";

/** The controller decides the leadership of a partition with this many replicas; larger ones elect their own. */
const SOLE_REPLICA = 1;

/**
 * The records that take every single-replica partition led by `brokerId` offline (the broker is being fenced or
 * unregistered). Partitions with more replicas keep their leader until their Raft group elects another.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "../metadata_image.ts";
 * import { leaderlessOnFencing } from "./partition_leadership.ts";
 * leaderlessOnFencing(new MetadataImage(), 1).length; // 0: no partitions
 * ```
 */
export function leaderlessOnFencing(image: MetadataImage, brokerId: number): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (const topic of image.topics()) {
    for (const p of topic.partitions) {
      if (!p || p.leader !== brokerId || p.replicas.length > SOLE_REPLICA) continue;
      out.push({
        type: "partition_change",
        record: { topicId: topic.topicId, partitionId: p.partition, leader: NO_LEADER, isr: null },
      });
    }
  }
  return out;
}

/**
 * The records that give `brokerId` back the leadership of the leaderless single-replica partitions whose data it
 * holds (it is their only in-sync replica), as it is unfenced.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "../metadata_image.ts";
 * import { leadersOnUnfencing } from "./partition_leadership.ts";
 * leadersOnUnfencing(new MetadataImage(), 1).length; // 0: no partitions
 * ```
 */
export function leadersOnUnfencing(image: MetadataImage, brokerId: number): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (const topic of image.topics()) {
    for (const p of topic.partitions) {
      if (!p || p.leader !== NO_LEADER || p.replicas.length > SOLE_REPLICA || !p.isr.includes(brokerId)) continue;
      out.push({
        type: "partition_change",
        record: { topicId: topic.topicId, partitionId: p.partition, leader: brokerId, isr: null },
      });
    }
  }
  return out;
}

/** What the leader of a partition's Raft group reports to the controller. */
export interface LeadershipReport {
  topicId: string;
  partition: number;
  /** The reporting broker: the group's leader. */
  leader: number;
  /** The group's Raft term. */
  leaderEpoch: number;
  /** The replicas caught up with the leader, the leader first. */
  isr: number[];
  /** While the partition is reassigned: the group's committed voters and learners (`partition_reassignment.ts`). */
  voters?: number[];
  learners?: number[];
}

/** What the controller made of one report. */
export interface ReportOutcome {
  report: LeadershipReport;
  /** `leader` a new leader or leader epoch was recorded, `isr` a new ISR only, `ignored` nothing. */
  change: "leader" | "isr" | "ignored";
  /** Why the report was ignored. */
  reason?: string;
}

/** The records to commit for a set of reports, and the outcome of each report, in order. */
export interface LeadershipPlan {
  records: MetadataRecord[];
  outcomes: ReportOutcome[];
}

function isBrokerId(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/** The report's shape, checked (it arrives as JSON from another node): undefined when it is well formed. */
function malformed(report: LeadershipReport): string | undefined {
  if (typeof report !== "object" || report === null) return "not a report";
  if (typeof report.topicId !== "string") return "no topic id";
  if (!Number.isSafeInteger(report.partition) || report.partition < 0) return "bad partition";
  if (!isBrokerId(report.leader)) return "bad leader";
  if (!Number.isSafeInteger(report.leaderEpoch) || report.leaderEpoch < 0) return "bad leader epoch";
  if (!Array.isArray(report.isr) || !report.isr.every(isBrokerId)) return "bad ISR";
  return undefined;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

/**
 * Decides which leadership reports from broker `reporterId` the metadata takes. A report is taken when the
 * reporter is the leader it reports, a registered broker and a replica of the partition, its ISR holds the leader
 * and only replicas of the partition, and it is news: a higher leader epoch than the image's (a new leader, or
 * the same one re-elected in a new term), or the same leader in the same epoch with a different ISR. Anything
 * else is stale (an old leader that has not heard of its successor yet) or wrong, and ignored. A partition with
 * one replica keeps the leader the controller gave it: its report can only raise the epoch (the sole voter's new
 * term after a restart) while the image names it as leader.
 *
 * Reports of one partition in one call are judged in order, each against the outcome of those before. Taken
 * reports become PartitionChangeRecords carrying the exact leader epoch.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "../metadata_image.ts";
 * import { planLeadershipReports } from "./partition_leadership.ts";
 * const plan = planLeadershipReports(new MetadataImage(), 2, [
 *   { topicId: "5a0b8a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", partition: 0, leader: 2, leaderEpoch: 4, isr: [2, 1] },
 * ]);
 * plan.outcomes[0].reason; // "unknown partition"
 * ```
 */
export function planLeadershipReports(
  image: MetadataImage,
  reporterId: number,
  reports: readonly LeadershipReport[],
): LeadershipPlan {
  const records: MetadataRecord[] = [];
  const outcomes: ReportOutcome[] = [];
  /** The partitions' state after the reports taken so far in this call. */
  const current = new Map<string, Pick<PartitionImage, "leader" | "leaderEpoch" | "isr">>();
  const registered = image.broker(reporterId) !== undefined;
  for (const report of reports) {
    const ignore = (reason: string) => outcomes.push({ report, change: "ignored", reason });
    const problem = malformed(report);
    if (problem !== undefined) {
      ignore(problem);
      continue;
    }
    const p = image.topicById(report.topicId)?.partitions[report.partition];
    if (!p) {
      ignore("unknown partition");
      continue;
    }
    if (report.leader !== reporterId) {
      ignore("the reporter is not the reported leader");
      continue;
    }
    if (!registered) {
      ignore("the reporter is not a registered broker");
      continue;
    }
    if (!p.replicas.includes(reporterId)) {
      ignore("the reporter is not a replica of the partition");
      continue;
    }
    const isr = report.isr;
    if (!isr.includes(report.leader) || !isr.every((id) => p.replicas.includes(id)) || new Set(isr).size < isr.length) {
      ignore("the ISR must hold the leader and only replicas of the partition, once each");
      continue;
    }
    const key = `${report.topicId}:${report.partition}`;
    const now = current.get(key) ?? p;
    if (p.replicas.length === SOLE_REPLICA && now.leader !== reporterId) {
      ignore("the controller leads a partition with one replica");
      continue;
    }
    const isrChanged = !sameMembers(isr, now.isr);
    if (report.leaderEpoch > now.leaderEpoch) {
      records.push({
        type: "partition_change",
        record: {
          topicId: report.topicId,
          partitionId: report.partition,
          leader: report.leader,
          isr: isrChanged ? [...isr] : null,
          leaderEpoch: report.leaderEpoch,
        },
      });
      outcomes.push({ report, change: "leader" });
    } else if (report.leaderEpoch === now.leaderEpoch && report.leader === now.leader && isrChanged) {
      records.push({
        type: "partition_change",
        record: { topicId: report.topicId, partitionId: report.partition, leader: NO_LEADER_CHANGE, isr: [...isr] },
      });
      outcomes.push({ report, change: "isr" });
    } else {
      ignore(report.leaderEpoch < now.leaderEpoch ? "stale leader epoch" : "nothing new");
      continue;
    }
    current.set(key, { leader: report.leader, leaderEpoch: report.leaderEpoch, isr: [...isr] });
  }
  return { records, outcomes };
}
