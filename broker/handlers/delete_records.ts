/**
 * DeleteRecords (key 21): advances a partition's log start offset, as `kafka-delete-records` does. Offset -1
 * means the high watermark; an offset past it is OFFSET_OUT_OF_RANGE; whole segments below the new start are
 * deleted. The answer carries the new low watermark (log start offset). Only the partition's leader deletes; any other
 * broker answers NOT_LEADER_OR_FOLLOWER.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { DeleteRecordsResponseDeleteRecordsTopicResult } from "../../protocol/generated/messages/delete_records_response.ts";
import { LogError } from "../../log/log_error.ts";
import type { Handler } from "../broker_context.ts";
import { leaderReplica } from "../leader_lookup.ts";
import { errorCodeForLogError } from "../partition_replica.ts";
import { slicerFor } from "../work_slices.ts";

const HIGH_WATERMARK = -1n;

/** Answers DeleteRecords. */
export const handleDeleteRecords: Handler<typeof ApiKey.DeleteRecords> = async (ctx, request) => {
  const topics: DeleteRecordsResponseDeleteRecordsTopicResult[] = [];
  const slicer = slicerFor(request);
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
      try {
        answer(ErrorCode.NONE, await replica.log.deleteRecordsBefore(target));
      } catch (e) {
        if (!(e instanceof LogError)) throw e;
        answer(errorCodeForLogError(e));
      }
    }
  }
  return { throttleTimeMs: 0, topics };
};
