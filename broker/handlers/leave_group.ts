/**
 * LeaveGroup (key 13): members leave a classic group, which then rebalances. v0-2 name one member by id; v3+
 * (KIP-345) name several, each by member id and/or group instance id, and get an error per member.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";

/** Answers LeaveGroup. */
export const handleLeaveGroup: Handler<typeof ApiKey.LeaveGroup> = (ctx, request) => {
  const { body, apiVersion } = request;
  const members = apiVersion >= 3
    ? body.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
    : [{ memberId: body.memberId, groupInstanceId: null }];
  const { errorCode, memberErrors } = groupCoordinatorOf(ctx).leaveGroup(body.groupId, members);
  if (apiVersion < 3) {
    return { throttleTimeMs: 0, errorCode: errorCode !== ErrorCode.NONE ? errorCode : memberErrors[0], members: [] };
  }
  return {
    throttleTimeMs: 0,
    errorCode,
    members: errorCode !== ErrorCode.NONE ? [] : members.map((m, i) => ({ ...m, errorCode: memberErrors[i] })),
  };
};
