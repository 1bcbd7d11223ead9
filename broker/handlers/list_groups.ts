/**
 * ListGroups (key 16): every group of this coordinator, filtered by state (v4, KIP-518) and type (v5, KIP-848).
 * Only the groups of the `__consumer_offsets` partitions this broker leads: admin clients ask every broker.
 * While one of those partitions is still loading, COORDINATOR_LOAD_IN_PROGRESS, as Kafka answers.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";

/** Answers ListGroups. */
export const handleListGroups: Handler<typeof ApiKey.ListGroups> = (ctx, request) => {
  const { body, apiVersion } = request;
  const coordinator = groupCoordinatorOf(ctx);
  const errorCode = coordinator.listGroupsError();
  if (errorCode !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode, groups: [] };
  const groups = coordinator.listGroups(
    apiVersion >= 4 ? body.statesFilter : [],
    apiVersion >= 5 ? body.typesFilter : [],
  );
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
};
