/**
 * AlterPartitionReassignments (key 45, v0): starts or cancels (null replicas) moves of partition replicas. The
 * request goes to the active controller (forwarded from any broker), which validates each partition and records
 * the target; the leaders of the partitions' Raft groups then carry the moves out (`partition_reassignment.ts`).
 * A `timeoutMs` of 0 or less times the request out, changing nothing. v1 (KIP-860's AllowReplicationFactorChange)
 * is not served: clients that leave it at its default (true) use v0.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import type { ReassignmentRequest } from "../metadata/partition_reassignment.ts";

/** Answers AlterPartitionReassignments. */
export const handleAlterPartitionReassignments: Handler<typeof ApiKey.AlterPartitionReassignments> = async (
  ctx,
  { body },
) => {
  const requests: ReassignmentRequest[] = body.topics.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.name,
      partition: p.partitionIndex,
      replicas: p.replicas === null ? null : [...p.replicas],
    }))
  );
  const answer = (errorCode: number, errorMessage: string | null) => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    responses: [],
  });
  if (body.timeoutMs <= 0) return answer(ErrorCode.REQUEST_TIMED_OUT, "The request timed out.");
  if (!ctx.controller.alterPartitionReassignments) {
    return answer(ErrorCode.UNSUPPORTED_VERSION, "This controller does not move replicas.");
  }
  const results = await ctx.controller.alterPartitionReassignments(requests);
  const byTopic = new Map<string, { partitionIndex: number; errorCode: number; errorMessage: string | null }[]>();
  for (const r of results) {
    let partitions = byTopic.get(r.topic);
    if (!partitions) byTopic.set(r.topic, partitions = []);
    partitions.push({ partitionIndex: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage });
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    responses: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
  };
};
