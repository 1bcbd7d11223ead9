/**
 * OffsetDelete (key 47, KIP-496): deletes committed offsets of a group, for topics its members are not
 * subscribed to (GROUP_SUBSCRIBED_TO_TOPIC otherwise). Partitions that do not exist are answered
 * UNKNOWN_TOPIC_OR_PARTITION first, as Kafka's request layer does; a group-level error answers no partitions.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";
import { mergeAnswers, splitByExistence } from "../group/known_partitions.ts";

/** Answers OffsetDelete. */
export const handleOffsetDelete: Handler<typeof ApiKey.OffsetDelete> = async (ctx, request) => {
  const { body } = request;
  const { known, unknown } = splitByExistence(ctx.metadata, body.topics);
  const { errorCode, topics } = await groupCoordinatorOf(ctx).deleteOffsets(body.groupId, known);
  if (errorCode !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode, topics: [] };
  return { throttleTimeMs: 0, errorCode, topics: mergeAnswers(unknown, topics) };
};
