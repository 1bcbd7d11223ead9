/**
 * OffsetDelete (key 47, KIP-496): deletes committed offsets of a group, for topics its members are not
 * subscribed to (GROUP_SUBSCRIBED_TO_TOPIC otherwise).
 *
 * @module
 */
import type { ApiKey } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";

/** Answers OffsetDelete. */
export const handleOffsetDelete: Handler<typeof ApiKey.OffsetDelete> = async (ctx, request) => {
  const { body } = request;
  const { errorCode, topics } = await groupCoordinatorOf(ctx).deleteOffsets(body.groupId, body.topics);
  return { throttleTimeMs: 0, errorCode, topics };
};
