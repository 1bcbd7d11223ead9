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

/** Answers ConsumerGroupHeartbeat. */
export const handleConsumerGroupHeartbeat: Handler<typeof ApiKey.ConsumerGroupHeartbeat> = async (
  ctx,
  request,
  conn,
) => {
  const groups = consumerGroupsOf(ctx);
  if (!groups) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorMessage: null,
      memberId: null,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
      assignment: null,
    };
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
