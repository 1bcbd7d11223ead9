/**
 * OffsetFetch (key 9): the committed offsets of a group (v0-7) or of several groups (v8+, KIP-709). A partition
 * without a commit answers offset -1; a group that does not exist is not an error. Commits are applied only once
 * durable, so `requireStable` (KIP-447) never has an unstable offset to wait for here.
 *
 * @module
 */
import type { ApiKey } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";

/** Answers OffsetFetch. */
export const handleOffsetFetch: Handler<typeof ApiKey.OffsetFetch> = (ctx, request) => {
  const { body, apiVersion } = request;
  if (apiVersion >= 8) {
    return {
      throttleTimeMs: 0,
      topics: [],
      errorCode: 0,
      groups: body.groups.map((g) => {
        const { errorCode, topics } = groupCoordinatorOf(ctx).fetchOffsets(g.groupId, g.topics, {
          memberId: g.memberId,
          memberEpoch: g.memberEpoch,
        });
        return { groupId: g.groupId, errorCode, topics };
      }),
    };
  }
  const { errorCode, topics } = groupCoordinatorOf(ctx).fetchOffsets(body.groupId, body.topics);
  return { throttleTimeMs: 0, topics, errorCode, groups: [] };
};
