/**
 * OffsetCommit (key 8): a group member (checked against its generation) or a group-less consumer (generation
 * -1) commits offsets. Answered once the offset records are durable in `__consumer_offsets`.
 *
 * @module
 */
import type { ApiKey } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";

/** Answers OffsetCommit. */
export const handleOffsetCommit: Handler<typeof ApiKey.OffsetCommit> = async (ctx, request) => {
  const { body, apiVersion } = request;
  const topics = await groupCoordinatorOf(ctx).commitOffsets(body, apiVersion);
  return { throttleTimeMs: 0, topics };
};
