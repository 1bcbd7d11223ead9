/**
 * FindCoordinator (key 10): with one broker, this broker coordinates every group and transactional id; in a
 * cluster a group's coordinator is the leader of its `__consumer_offsets` partition as this broker's metadata
 * image names it (that broker loads the group, and every other one answers it NOT_COORDINATOR). Both the
 * single-key form (v0-3) and the batched form (v4+, KIP-699) are answered. Asking for a group coordinator
 * creates `__consumer_offsets` first when it does not exist yet, as Kafka does; while it cannot be created (too
 * few live brokers for `offsets.topic.replication.factor`, say) or its partition has no live leader, the answer
 * is COORDINATOR_NOT_AVAILABLE and the client asks again.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { BrokerContext, Handler } from "../broker_context.ts";
import { OFFSETS_TOPIC, partitionForGroup } from "../group/coordinator_records.ts";
import { advertisedEndpoint } from "./metadata.ts";

const GROUP = 0;
const TRANSACTION = 1;

/**
 * In a cluster, a group's coordinator is the leader of its `__consumer_offsets` partition, as in Kafka;
 * COORDINATOR_NOT_AVAILABLE while that leader is unknown or fenced (the client asks again).
 */
function groupCoordinatorInCluster(ctx: BrokerContext, groupId: string, listenerName: string) {
  const topic = ctx.metadata.topic(OFFSETS_TOPIC);
  const partition = topic?.partitions[partitionForGroup(groupId, topic.partitions.length)];
  const leader = ctx.cluster!.liveBrokers(listenerName).find((b) => b.nodeId === partition?.leader);
  if (!leader) {
    return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null, nodeId: -1, host: "", port: -1 };
  }
  return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: leader.nodeId, host: leader.host, port: leader.port };
}

/** Answers FindCoordinator. */
export const handleFindCoordinator: Handler<typeof ApiKey.FindCoordinator> = async (ctx, request, conn) => {
  const { body, apiVersion } = request;
  let offsetsTopicError: string | undefined;
  if (body.keyType === GROUP) {
    try {
      await ctx.groups?.ensureOffsetsTopic();
    } catch (e) {
      // Kafka answers COORDINATOR_NOT_AVAILABLE while `__consumer_offsets` cannot be created; clients retry.
      offsetsTopicError = e instanceof Error ? e.message : String(e);
      ctx.logger.warn("cannot create the offsets topic", { error: offsetsTopicError });
    }
  }
  const endpoint = advertisedEndpoint(ctx, conn.listenerName);
  const answer = (keyType: number, key: string) =>
    offsetsTopicError !== undefined
      ? {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: offsetsTopicError,
        nodeId: -1,
        host: "",
        port: -1,
      }
      : keyType === GROUP && ctx.cluster
      ? groupCoordinatorInCluster(ctx, key, conn.listenerName)
      : keyType === GROUP || keyType === TRANSACTION
      ? { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: ctx.nodeId, host: endpoint.host, port: endpoint.port }
      : {
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `Unknown key type ${keyType}`,
        nodeId: -1,
        host: "",
        port: -1,
      };
  if (apiVersion >= 4) {
    return {
      throttleTimeMs: 0,
      // v4+ carries only `coordinators`; the single-key fields keep their defaults.
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      nodeId: 0,
      host: "",
      port: 0,
      coordinators: body.coordinatorKeys.map((key) => ({ key, ...answer(body.keyType, key) })),
    };
  }
  return { throttleTimeMs: 0, ...answer(body.keyType, body.key), coordinators: [] };
};
