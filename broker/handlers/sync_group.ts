/**
 * SyncGroup (key 14): the leader hands in the assignment of a new generation; every member gets its part. A
 * SyncGroup sent before the leader's assignment is stored is held until it is.
 *
 * @module
 */
import type { ApiKey } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";

/** Answers SyncGroup. */
export const handleSyncGroup: Handler<typeof ApiKey.SyncGroup> = async (ctx, request) => {
  const { body } = request;
  const result = await groupCoordinatorOf(ctx).syncGroup(body.groupId, body);
  return { throttleTimeMs: 0, ...result };
};
