/**
 * Heartbeat (key 12): a member of a classic group shows it is alive, and learns of a rebalance
 * (REBALANCE_IN_PROGRESS).
 *
 * @module
 */
import type { ApiKey } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";

/** Answers Heartbeat. */
export const handleHeartbeat: Handler<typeof ApiKey.Heartbeat> = (ctx, request) => {
  const { body } = request;
  const errorCode = groupCoordinatorOf(ctx).heartbeat(
    body.groupId,
    body.memberId,
    body.groupInstanceId,
    body.generationId,
  );
  return { throttleTimeMs: 0, errorCode };
};
