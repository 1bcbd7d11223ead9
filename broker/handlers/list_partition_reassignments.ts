/**
 * ListPartitionReassignments (key 46, v0): the reassignments in progress, as the active controller's image holds
 * them (the request is forwarded to it): each partition's replicas, and those being added and removed. Topics or
 * partitions that are unknown or not being reassigned are left out, as in Kafka.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import type { OngoingReassignment } from "../metadata/partition_reassignment.ts";

/** Answers ListPartitionReassignments. */
export const handleListPartitionReassignments: Handler<typeof ApiKey.ListPartitionReassignments> = async (
  ctx,
  { body },
) => {
  const wanted = body.topics === null
    ? null
    : body.topics.map((t) => ({ topic: t.name, partitions: [...t.partitionIndexes] }));
  let ongoing: OngoingReassignment[] = [];
  try {
    ongoing = await ctx.controller.listPartitionReassignments?.(wanted) ?? [];
  } catch (e) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: String(e), topics: [] };
  }
  const byTopic = new Map<string, OngoingReassignment[]>();
  for (const r of ongoing) {
    let list = byTopic.get(r.topic);
    if (!list) byTopic.set(r.topic, list = []);
    list.push(r);
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topics: [...byTopic].map(([name, partitions]) => ({
      name,
      partitions: partitions.map((p) => ({
        partitionIndex: p.partition,
        replicas: p.replicas,
        addingReplicas: p.addingReplicas,
        removingReplicas: p.removingReplicas,
      })),
    })),
  };
};
