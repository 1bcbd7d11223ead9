/**
 * Partition reassignments in the metadata (KIP-455, as KRaft's controller records them), decided on the
 * controller. Pure: the image in, PartitionChangeRecords out.
 *
 * A reassignment is recorded as KRaft does: `replicas` = the target followed by the replicas being removed,
 * `addingReplicas` = target replicas not among the original ones, `removingReplicas` = replicas not in the
 * target. Every broker named in `replicas` opens the partition; the leader of its Raft group carries the move out
 * through membership changes (`reassignment_steps.ts`) and reports its committed configuration with its
 * leadership. The controller follows the group ({@link planReassignmentProgress}): a replica that left the group
 * leaves `replicas`, and once the group's voters are exactly the target the reassignment is complete. The log of
 * the group is the truth; the metadata only follows it.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/messages.ts";
import { type ClusterView, manualAssignmentError } from "../controller.ts";
import { type MetadataImage, type MetadataRecord, NO_LEADER_CHANGE, type PartitionImage } from "../metadata_image.ts";

/** One partition of an AlterPartitionReassignments request: its target replicas, or null to cancel. */
export interface ReassignmentRequest {
  topic: string;
  partition: number;
  replicas: number[] | null;
}

/** The outcome of one requested partition. */
export interface ReassignmentResult {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
}

/** A reassignment in progress, as ListPartitionReassignments answers it. */
export interface OngoingReassignment {
  topic: string;
  partition: number;
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

/** True while a reassignment of `p` runs. */
export function isReassigning(p: PartitionImage): boolean {
  return (p.addingReplicas?.length ?? 0) > 0 || (p.removingReplicas?.length ?? 0) > 0;
}

/** The replicas a reassignment of `p` moves to (its replicas when none runs). */
export function reassignmentTarget(p: PartitionImage): number[] {
  const removing = p.removingReplicas ?? [];
  return p.replicas.filter((id) => !removing.includes(id));
}

/** The replicas `p` had before its reassignment started (the target of a cancellation). */
function originalReplicas(p: PartitionImage): number[] {
  const adding = p.addingReplicas ?? [];
  return p.replicas.filter((id) => !adding.includes(id));
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

/** The placement that moves `p` to `target`: the target first, then the replicas still to leave. */
function placementFor(p: PartitionImage, target: readonly number[]) {
  const original = originalReplicas(p);
  const replicas = [...target, ...p.replicas.filter((id) => !target.includes(id))];
  return {
    replicas,
    addingReplicas: target.filter((id) => !original.includes(id)),
    removingReplicas: replicas.filter((id) => !target.includes(id)),
  };
}

/**
 * Validates AlterPartitionReassignments and plans its records. Kafka's errors: UNKNOWN_TOPIC_OR_PARTITION,
 * INVALID_REPLICA_ASSIGNMENT (empty list, a broker twice, a broker not registered), NO_REASSIGNMENT_IN_PROGRESS
 * for a cancellation of nothing. A partition's replication group must keep at least two replicas on both sides
 * of a move (a single-replica partition is not a Raft group with others to catch up from): INVALID_REPLICA_ASSIGNMENT.
 * A target with the same members as now only reorders the replicas (the preferred leader).
 *
 * @example
 * ```ts
 * import { MetadataImage } from "../metadata_image.ts";
 * import { planReassignments } from "./partition_reassignment.ts";
 * const plan = planReassignments(new MetadataImage(), [{ topic: "t", partition: 0, replicas: [2, 3, 4] }], {
 *   nodeId: 1, brokers: [1, 2, 3, 4], defaultNumPartitions: 1, defaultReplicationFactor: 1 });
 * plan.results[0].errorCode; // 3: UNKNOWN_TOPIC_OR_PARTITION
 * ```
 */
export function planReassignments(
  image: MetadataImage,
  requests: readonly ReassignmentRequest[],
  registered: ClusterView,
): { records: MetadataRecord[]; results: ReassignmentResult[] } {
  const records: MetadataRecord[] = [];
  const results: ReassignmentResult[] = [];
  for (const request of requests) {
    const { topic: name, partition } = request;
    const answer = (errorCode: number, errorMessage: string | null) =>
      results.push({ topic: name, partition, errorCode, errorMessage });
    const topic = image.topic(name);
    const p = topic?.partitions[partition];
    if (!topic || !p) {
      answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unable to find partition ${name}-${partition}.`);
      continue;
    }
    let target: number[];
    if (request.replicas === null) {
      if (!isReassigning(p)) {
        answer(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, null);
        continue;
      }
      target = originalReplicas(p);
    } else {
      const invalid = manualAssignmentError(request.replicas, registered);
      if (invalid) {
        answer(invalid.code, invalid.message);
        continue;
      }
      target = [...request.replicas];
    }
    if (sameMembers(target, p.replicas) && !isReassigning(p)) {
      if (target.some((id, i) => p.replicas[i] !== id)) {
        records.push(change(topic.topicId, partition, { replicas: target, addingReplicas: [], removingReplicas: [] }));
      }
      answer(ErrorCode.NONE, null);
      continue;
    }
    if (originalReplicas(p).length < 2 || target.length < 2) {
      answer(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        "Samsa moves replicas through the partition's Raft group: a reassignment must keep at least two replicas " +
          `(partition ${name}-${partition} has ${p.replicas.length}, the target ${target.length}).`,
      );
      continue;
    }
    records.push(change(topic.topicId, partition, placementFor(p, target)));
    answer(ErrorCode.NONE, null);
  }
  return { records, results };
}

function change(
  topicId: string,
  partitionId: number,
  placement: { replicas: number[]; addingReplicas: number[]; removingReplicas: number[] },
  isr: number[] | null = null,
): MetadataRecord {
  return { type: "partition_change", record: { topicId, partitionId, leader: NO_LEADER_CHANGE, isr, ...placement } };
}

/**
 * The reassignments in progress, for ListPartitionReassignments: of the `wanted` partitions (every partition
 * when null); unknown ones are left out, as Kafka does.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "../metadata_image.ts";
 * import { ongoingReassignments } from "./partition_reassignment.ts";
 * ongoingReassignments(new MetadataImage(), null); // []
 * ```
 */
export function ongoingReassignments(
  image: MetadataImage,
  wanted: readonly { topic: string; partitions: readonly number[] }[] | null,
): OngoingReassignment[] {
  const out: OngoingReassignment[] = [];
  const add = (name: string, p: PartitionImage | undefined) => {
    if (!p || !isReassigning(p)) return;
    out.push({
      topic: name,
      partition: p.partition,
      replicas: [...p.replicas],
      addingReplicas: [...(p.addingReplicas ?? [])],
      removingReplicas: [...(p.removingReplicas ?? [])],
    });
  };
  if (wanted === null) {
    for (const topic of image.topics()) for (const p of topic.partitions) add(topic.name, p);
    return out;
  }
  for (const { topic: name, partitions } of wanted) {
    const topic = image.topic(name);
    if (!topic) continue;
    for (const partition of partitions) add(name, topic.partitions[partition]);
  }
  return out;
}

/** What the leader of a group being reassigned reports of its committed configuration. */
export interface MembershipReport {
  topicId: string;
  partition: number;
  /** The reporting broker, the group's leader. */
  leader: number;
  leaderEpoch: number;
  /** The leader's in-sync replicas, the leader first. */
  isr: number[];
  /** The committed configuration of the group. */
  voters: number[];
  learners: number[];
}

/**
 * The records that make the metadata follow a reassigned group's committed configuration: a replica that left
 * the group leaves `replicas` and `removingReplicas` (and the ISR); once the voters are exactly the target, and no
 * learner is left, the reassignment is complete (`replicas` = the target, nothing adding or removing). Reports of
 * partitions not being reassigned, from a broker that is not a voter of the configuration it reports, or from an
 * epoch older than the image's, change nothing. Pure.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "../metadata_image.ts";
 * import { planReassignmentProgress } from "./partition_reassignment.ts";
 * planReassignmentProgress(new MetadataImage(), 2, []).length; // 0
 * ```
 */
export function planReassignmentProgress(
  image: MetadataImage,
  reporterId: number,
  reports: readonly MembershipReport[],
): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const report of reports) {
    if (!Array.isArray(report?.voters) || !Array.isArray(report.learners) || !Array.isArray(report.isr)) continue;
    const p = image.topicById(report.topicId)?.partitions[report.partition];
    if (!p || !isReassigning(p)) continue;
    if (report.leader !== reporterId || !report.voters.includes(reporterId)) continue;
    if (!Number.isSafeInteger(report.leaderEpoch) || report.leaderEpoch < p.leaderEpoch) continue;
    const target = reassignmentTarget(p);
    const members = [...report.voters, ...report.learners];
    if (sameMembers(report.voters, target) && report.learners.length === 0) {
      const isr = report.isr.filter((id) => target.includes(id));
      records.push(
        change(report.topicId, report.partition, { replicas: target, addingReplicas: [], removingReplicas: [] }, isr),
      );
      continue;
    }
    const gone = (p.removingReplicas ?? []).filter((id) => !members.includes(id));
    if (gone.length === 0) continue;
    const replicas = p.replicas.filter((id) => !gone.includes(id));
    const isr = report.isr.filter((id) => replicas.includes(id));
    records.push(change(report.topicId, report.partition, {
      replicas,
      addingReplicas: [...(p.addingReplicas ?? [])],
      removingReplicas: (p.removingReplicas ?? []).filter((id) => !gone.includes(id)),
    }, isr.length > 0 ? isr : null));
  }
  return records;
}

/**
 * Whether the leader of a group being reassigned has progress to report: its committed configuration would
 * change the image's placement. Pure; `reportFor` (leadership_reporter.ts) uses it.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "../metadata_image.ts";
 * import { hasReassignmentProgress } from "./partition_reassignment.ts";
 * const p = { partition: 0, leader: 1, leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2], isr: [1, 2] };
 * hasReassignmentProgress(p, [1, 2], []); // false: no reassignment runs
 * ```
 */
export function hasReassignmentProgress(
  p: PartitionImage,
  voters: readonly number[],
  learners: readonly number[],
): boolean {
  if (!isReassigning(p)) return false;
  if (sameMembers(voters, reassignmentTarget(p)) && learners.length === 0) return true;
  return (p.removingReplicas ?? []).some((id) => !voters.includes(id) && !learners.includes(id));
}
