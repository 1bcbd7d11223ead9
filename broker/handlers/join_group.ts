/**
 * JoinGroup (key 11): a member joins a classic group, or rejoins it for a rebalance. The answer may be held
 * until the join phase completes (the coordinator resolves it).
 *
 * @module
 */
import type { ApiKey } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";

/** Answers JoinGroup. */
export const handleJoinGroup: Handler<typeof ApiKey.JoinGroup> = async (ctx, request, conn) => {
  const { body, apiVersion, header } = request;
  const result = await groupCoordinatorOf(ctx).joinGroup(
    body,
    apiVersion,
    header.clientId ?? "",
    `/${conn.remoteAddr.hostname}`,
  );
  return {
    throttleTimeMs: 0,
    ...result,
    // Before v7 the protocol name is not nullable: Kafka sends "" when there is none.
    protocolName: apiVersion < 7 ? result.protocolName ?? "" : result.protocolName,
    skipAssignment: apiVersion >= 9 && result.skipAssignment,
  };
};
