/**
 * ConsumerGroupDescribe (key 69, v0): the consumer groups of KIP-848 with their epochs, state, assignor and
 * members (current and target assignments, by topic id and name). A group id that is not a consumer group is
 * answered GROUP_ID_NOT_FOUND, which tells the admin client to fall back to DescribeGroups for classic groups.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { describedGroupError } from "../group/consumer_group.ts";
import { consumerGroupsOf } from "../group/consumer_group_manager.ts";

/** Answers ConsumerGroupDescribe. */
export const handleConsumerGroupDescribe: Handler<typeof ApiKey.ConsumerGroupDescribe> = (ctx, request) => {
  const { body } = request;
  const groups = consumerGroupsOf(ctx);
  if (!groups) {
    return {
      throttleTimeMs: 0,
      groups: body.groupIds.map((groupId) => describedGroupError(groupId, ErrorCode.COORDINATOR_NOT_AVAILABLE, null)),
    };
  }
  // Groups whose offsets partition is not led and loaded here: NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS.
  const coordinatorErrors = new Map<string, number>();
  for (const groupId of body.groupIds) {
    const errorCode = groupId === "" ? ErrorCode.NONE : ctx.groups?.coordinatorError(groupId) ?? ErrorCode.NONE;
    if (errorCode !== ErrorCode.NONE) coordinatorErrors.set(groupId, errorCode);
  }
  const valid = body.groupIds.filter((id) => id !== "" && !coordinatorErrors.has(id));
  const described = new Map(
    groups.describe(valid, body.includeAuthorizedOperations).map((group) => [group.groupId, group]),
  );
  return {
    throttleTimeMs: 0,
    groups: body.groupIds.map((groupId) =>
      coordinatorErrors.has(groupId)
        ? describedGroupError(groupId, coordinatorErrors.get(groupId)!, null)
        : described.get(groupId) ?? describedGroupError(groupId, ErrorCode.INVALID_GROUP_ID, null)
    ),
  };
};
