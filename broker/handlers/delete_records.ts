/**
 * DeleteRecords (key 21): advances a partition's log start offset, as `kafka-delete-records` does. Offset -1
 * means the high watermark; an offset past it is OFFSET_OUT_OF_RANGE; whole segments below the new start are
 * deleted. Only the partition's leader deletes; any other broker answers NOT_LEADER_OR_FOLLOWER.
 *
 * Followers follow the leader's log start (it travels on the leader's Raft messages, and each follower's answers
 * report how far it followed). As Kafka's `DelayedDeleteRecords`, the answer waits until the low watermark (the
 * least log start of the in-sync replicas) reaches the new log start, and carries it; a partition still waiting
 * after the request's `timeoutMs` is answered REQUEST_TIMED_OUT (its deletion stands and completes later), one whose
 * leader moved meanwhile NOT_LEADER_OR_FOLLOWER.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { DeleteRecordsResponseDeleteRecordsTopicResult } from "../../protocol/generated/messages/delete_records_response.ts";
import { LogError } from "../../log/log_error.ts";
import type { Handler } from "../broker_context.ts";
import { leaderReplica } from "../leader_lookup.ts";
import { errorCodeForLogError, type PartitionReplica } from "../replication/partition_replica.ts";
import { slicerFor } from "../work_slices.ts";

const HIGH_WATERMARK = -1n;

/**
 * Waits until the low watermark of `replica` reaches `offset` (every in-sync follower moved its log start), the
 * replica stops leading, or `deadline` passes; answers the error code and low watermark of the partition.
 *
 * @example
 * ```ts ignore
 * const { errorCode, lowWatermark } = await awaitFollowers(replica, newLogStart, deadline);
 * ```
 */
export async function awaitFollowers(
  replica: PartitionReplica,
  offset: number,
  deadline: Promise<void>,
): Promise<{ errorCode: number; lowWatermark: number }> {
  let expired = false;
  deadline.then(() => expired = true);
  for (;;) {
    if (!replica.isLeader) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, lowWatermark: -1 };
    const lowWatermark = replica.lowWatermark;
    if (lowWatermark >= offset) return { errorCode: ErrorCode.NONE, lowWatermark };
    if (expired) return { errorCode: ErrorCode.REQUEST_TIMED_OUT, lowWatermark: -1 };
    let cancel = () => {};
    // Followers answer every heartbeat, so a report (or the loss of leadership, which ends the heartbeats and the
    // in-sync set with them) comes within a heartbeat interval.
    await Promise.race([
      new Promise<void>((resolve) => cancel = replica.followerLogStartReported.once(resolve)),
      deadline,
    ]);
    cancel();
  }
}

/** Answers DeleteRecords. */
export const handleDeleteRecords: Handler<typeof ApiKey.DeleteRecords> = async (ctx, request) => {
  const topics: DeleteRecordsResponseDeleteRecordsTopicResult[] = [];
  const slicer = slicerFor(request);
  const waits: Promise<void>[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => timer = setTimeout(resolve, Math.max(0, request.body.timeoutMs)));
  for (const topic of request.body.topics) {
    const result: DeleteRecordsResponseDeleteRecordsTopicResult = { name: topic.name, partitions: [] };
    topics.push(result);
    for (const p of topic.partitions) {
      if (slicer.due()) await slicer.pause();
      const answer = (errorCode: number, lowWatermark = -1) =>
        result.partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: BigInt(lowWatermark), errorCode });
      const { replica, errorCode } = leaderReplica(ctx, topic.name, p.partitionIndex);
      if (!replica) {
        answer(errorCode);
        continue;
      }
      const target = p.offset === HIGH_WATERMARK ? replica.highWatermark : Number(p.offset);
      if (target < 0 || target > replica.highWatermark) {
        answer(ErrorCode.OFFSET_OUT_OF_RANGE);
        continue;
      }
      let logStartOffset;
      try {
        logStartOffset = await replica.log.deleteRecordsBefore(target);
        replica.announceLogStart();
      } catch (e) {
        if (!(e instanceof LogError)) throw e;
        answer(errorCodeForLogError(e));
        continue;
      }
      const answered = { partitionIndex: p.partitionIndex, lowWatermark: BigInt(logStartOffset), errorCode: 0 };
      result.partitions.push(answered);
      waits.push(
        awaitFollowers(replica, logStartOffset, deadline).then(({ errorCode, lowWatermark }) => {
          answered.errorCode = errorCode;
          answered.lowWatermark = BigInt(lowWatermark);
        }),
      );
    }
  }
  try {
    await Promise.all(waits);
  } finally {
    clearTimeout(timer);
  }
  return { throttleTimeMs: 0, topics };
};
