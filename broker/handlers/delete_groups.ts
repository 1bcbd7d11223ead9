/**
 * DeleteGroups (key 42): deletes empty groups and their committed offsets (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP).
 *
 * @module
 */
import type { ApiKey } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";

/** Answers DeleteGroups. */
export const handleDeleteGroups: Handler<typeof ApiKey.DeleteGroups> = async (ctx, request) => {
  const results = await groupCoordinatorOf(ctx).deleteGroups(request.body.groupsNames);
  return { throttleTimeMs: 0, results };
};
