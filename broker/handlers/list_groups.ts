/**
 * ListGroups (key 16): every group of this coordinator, filtered by state (v4, KIP-518) and type (v5, KIP-848).
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";

/** Answers ListGroups. */
export const handleListGroups: Handler<typeof ApiKey.ListGroups> = (ctx, request) => {
  const { body, apiVersion } = request;
  const groups = groupCoordinatorOf(ctx).listGroups(
    apiVersion >= 4 ? body.statesFilter : [],
    apiVersion >= 5 ? body.typesFilter : [],
  );
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
};
