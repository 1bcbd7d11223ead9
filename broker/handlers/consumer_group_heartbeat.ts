/**
 * ConsumerGroupHeartbeat (key 68, v0-1): the one request of the consumer group protocol (KIP-848). Members join
 * (epoch 0), heartbeat with their epoch and owned partitions, and leave (-1, or -2 for a static member that will
 * come back); the coordinator answers with the member's epoch and, when it changed, its assignment. v1 adds
 * `subscribedTopicRegex` and expects the client to choose its own member id (KIP-1082); both versions are
 * served alike, and a member joining without an id gets one from the coordinator.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { consumerGroupsOf } from "../group/consumer_group_manager.ts";

/** The answer to a heartbeat the group's coordinator cannot take here (and the member must not act on). */
function refused(errorCode: number) {
  return {
    throttleTimeMs: 0,
    errorCode,
    errorMessage: null,
    memberId: null,
    memberEpoch: 0,
    heartbeatIntervalMs: 0,
    assignment: null,
  };
}

/** Answers ConsumerGroupHeartbeat. */
export const handleConsumerGroupHeartbeat: Handler<typeof ApiKey.ConsumerGroupHeartbeat> = async (
  ctx,
  request,
  conn,
) => {
  const groups = consumerGroupsOf(ctx);
  if (!groups) return refused(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  // A group led elsewhere (NOT_COORDINATOR) or still loading here (COORDINATOR_LOAD_IN_PROGRESS); an empty group
  // id is left to the request's validation (INVALID_REQUEST).
  if (ctx.groups && request.body.groupId !== "") {
    const errorCode = await ctx.groups.coordinatorErrorForWrite(request.body.groupId);
    if (errorCode !== ErrorCode.NONE) return refused(errorCode);
  }
  return await groups.heartbeat(
    request.body,
    {
      clientId: request.header.clientId ?? "",
      // Kafka reports the client's address as Java prints an InetAddress.
      clientHost: `/${conn.remoteAddr.hostname}`,
      apiVersion: request.apiVersion,
    },
    ctx.now(),
  );
};
