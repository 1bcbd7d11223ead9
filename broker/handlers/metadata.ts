/**
 * Metadata (key 3): brokers, cluster id, controller, and topics with their partitions' leaders. Missing topics
 * are auto-created when both the broker (`auto.create.topics.enable`) and the request (v4+) allow it.
 *
 * Kafka answers an auto-created topic with LEADER_NOT_AVAILABLE and lets the client ask again; Samsa creates the
 * topic before answering, so the first answer already carries its partitions (docs/COMPATIBILITY.md).
 *
 * @module
 */
import { type ApiKey, ErrorCode, ZERO_UUID } from "../../protocol/messages.ts";
import type {
  MetadataResponsePartition,
  MetadataResponseTopic,
} from "../../protocol/generated/messages/metadata_response.ts";
import type { BrokerContext, Handler } from "../broker_context.ts";
import type { TopicImage } from "../metadata_image.ts";
import { isInternalTopic, topicNameProblem } from "../topic_name.ts";

/** "Authorized operations not requested", Kafka's Int.MIN_VALUE. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/**
 * With no authorizer every operation is allowed; Kafka reports these bit sets (AclOperation codes): for a topic
 * READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS; for the cluster CREATE, ALTER,
 * DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
 */
export const TOPIC_OPERATIONS_ALL = 3576;
/** See {@link TOPIC_OPERATIONS_ALL}. */
export const CLUSTER_OPERATIONS_ALL = 8096;

/** Where clients of `listenerName` reach this broker. */
export function advertisedEndpoint(ctx: BrokerContext, listenerName: string): { host: string; port: number } {
  return ctx.advertised.get(listenerName) ?? ctx.advertised.values().next().value ?? { host: "127.0.0.1", port: 9092 };
}

function partitionsOf(ctx: BrokerContext, topic: TopicImage): MetadataResponsePartition[] {
  return topic.partitions.filter((p) => p !== undefined).map((p) => ({
    errorCode: ErrorCode.NONE,
    partitionIndex: p.partition,
    leaderId: p.leader,
    // The leader epoch is the term of the partition's Raft group, which the replica knows first.
    leaderEpoch: ctx.replicas.get(topic.name, p.partition)?.leaderEpoch ?? p.leaderEpoch,
    replicaNodes: p.replicas,
    isrNodes: p.isr,
    offlineReplicas: [],
  }));
}

function topicAnswer(ctx: BrokerContext, topic: TopicImage, includeOperations = false): MetadataResponseTopic {
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: isInternalTopic(topic.name),
    partitions: partitionsOf(ctx, topic),
    topicAuthorizedOperations: includeOperations ? TOPIC_OPERATIONS_ALL : AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function topicError(errorCode: number, name: string | null, topicId = ZERO_UUID): MetadataResponseTopic {
  return {
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

/** Creates a missing topic with the broker's defaults, answering what a client should see. */
async function autoCreate(ctx: BrokerContext, name: string): Promise<MetadataResponseTopic> {
  if (topicNameProblem(name) !== undefined) return topicError(ErrorCode.INVALID_TOPIC_EXCEPTION, name);
  const [result] = await ctx.controller.createTopics(
    [{ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: {} }],
    false,
  );
  const created = ctx.metadata.topic(name);
  if (created) return topicAnswer(ctx, created);
  return topicError(result.errorCode === ErrorCode.NONE ? ErrorCode.LEADER_NOT_AVAILABLE : result.errorCode, name);
}

/** Answers Metadata. */
export const handleMetadata: Handler<typeof ApiKey.Metadata> = async (ctx, request, conn) => {
  const { body, apiVersion } = request;
  const endpoint = advertisedEndpoint(ctx, conn.listenerName);
  // v0 asks for every topic with an empty list; v1+ with null.
  const all = body.topics === null || (apiVersion === 0 && body.topics.length === 0);
  const allowAutoCreate = ctx.config.autoCreateTopicsEnable && (apiVersion < 4 || body.allowAutoTopicCreation);
  const topics: MetadataResponseTopic[] = [];
  const withOperations = body.includeTopicAuthorizedOperations;
  if (all) {
    for (const topic of ctx.metadata.topics()) topics.push(topicAnswer(ctx, topic, withOperations));
  } else {
    for (const requested of body.topics ?? []) {
      if (requested.name === null || requested.name === "") {
        const topic = ctx.metadata.topicById(requested.topicId);
        topics.push(
          topic
            ? topicAnswer(ctx, topic, withOperations)
            : topicError(ErrorCode.UNKNOWN_TOPIC_ID, null, requested.topicId),
        );
        continue;
      }
      const topic = ctx.metadata.topic(requested.name);
      if (topic) topics.push(topicAnswer(ctx, topic, withOperations));
      else if (allowAutoCreate && !isInternalTopic(requested.name)) topics.push(await autoCreate(ctx, requested.name));
      else topics.push(topicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, requested.name));
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: ctx.cluster?.liveBrokers(conn.listenerName) ??
      [{ nodeId: ctx.nodeId, host: endpoint.host, port: endpoint.port, rack: null }],
    clusterId: ctx.clusterId,
    controllerId: ctx.cluster?.controllerId() ?? ctx.nodeId,
    topics,
    clusterAuthorizedOperations: body.includeClusterAuthorizedOperations
      ? CLUSTER_OPERATIONS_ALL
      : AUTHORIZED_OPERATIONS_OMITTED,
  };
};
