/**
 * Metadata (key 3): brokers, cluster id, controller, and topics with their partitions' leaders. Missing topics
 * are auto-created when both the broker (`auto.create.topics.enable`) and the request (v4+) allow it.
 *
 * Kafka answers an auto-created topic with LEADER_NOT_AVAILABLE and lets the client ask again; Samsa creates the
 * topic before answering, so the first answer already carries its partitions (docs/COMPATIBILITY.md).
 *
 * @module
 */
import { ApiKey, ErrorCode, ZERO_UUID } from "../../protocol/messages.ts";
import type {
  MetadataResponsePartition,
  MetadataResponseTopic,
} from "../../protocol/generated/messages/metadata_response.ts";
import type { BrokerContext, Handler } from "../broker_context.ts";
import { NO_LEADER, type PartitionImage, type TopicImage } from "../metadata_image.ts";
import { isInternalTopic, topicNameProblem } from "../topic_name.ts";
import { slicerFor } from "../work_slices.ts";
import { MAX_RECORDS_PER_USER_OP } from "../controller.ts";
import { checkResponseEstimate, responseLimit } from "../response_limit.ts";

/**
 * Fewest bytes a topic takes in a Metadata response, its name's characters aside, in any version: error code (2),
 * name length (1, compact), partitions count (1, compact).
 */
const MIN_TOPIC_BYTES = 4;
/**
 * Fewest bytes a partition takes in a Metadata response, in any version: error code (2), index (4), leader (4),
 * replica and ISR counts (1 each, compact).
 */
const MIN_PARTITION_BYTES = 12;

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

/**
 * Leader, leader epoch and ISR come from the metadata image, which records what each partition's Raft group
 * elected (`broker/metadata/partition_leadership.ts`). A partition whose leader is -1 (its only in-sync replica is fenced)
 * is answered as Kafka's KRaft metadata cache answers an offline partition: LEADER_NOT_AVAILABLE, leader -1, its
 * leader epoch, replicas and ISR as they are, and the replicas on fenced or unregistered brokers as offline.
 * Clients retry until it has a leader.
 */
function partitionsOf(ctx: BrokerContext, topic: TopicImage): MetadataResponsePartition[] {
  // Replicas of brokers that are not live are offline (only a cluster has other brokers).
  const live = ctx.cluster && new Set(ctx.cluster.liveBrokers("").map((b) => b.nodeId));
  return topic.partitions.filter((p) => p !== undefined).map((p) => ({
    errorCode: p.leader === NO_LEADER ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
    partitionIndex: p.partition,
    leaderId: p.leader,
    leaderEpoch: leaderEpochOf(ctx, topic, p),
    replicaNodes: p.replicas,
    isrNodes: p.isr,
    offlineReplicas: live ? p.replicas.filter((id) => !live.has(id)) : [],
  }));
}

/**
 * The leader epoch to tell clients: the image's, unless this broker is the leader the image names and its replica
 * leads: the epoch is the term of the partition's Raft group, which the leader knows before its report is
 * committed (a sole voter starts a new term at every start).
 */
function leaderEpochOf(ctx: BrokerContext, topic: TopicImage, p: PartitionImage): number {
  if (p.leader !== ctx.nodeId) return p.leaderEpoch;
  const replica = ctx.replicas.get(topic.name, p.partition);
  return replica?.isLeader ? replica.leaderEpoch : p.leaderEpoch;
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
  const slicer = slicerFor(request);
  // A topic named a million times would be answered a million times with all its partitions: the response
  // size is estimated from below as it grows and refused past the bound (response_limit.ts).
  const limit = responseLimit(ApiKey.Metadata, ctx.config);
  let atLeastBytes = 0;
  let autoCreatedPartitions = 0;
  const charge = (answer: MetadataResponseTopic) => {
    // A name's UTF-16 length never exceeds its UTF-8 length: still a lower bound.
    atLeastBytes += MIN_TOPIC_BYTES + (answer.name?.length ?? 0) + answer.partitions.length * MIN_PARTITION_BYTES;
    checkResponseEstimate("Metadata", atLeastBytes, limit);
  };
  if (all) {
    for (const topic of ctx.metadata.topics()) {
      topics.push(topicAnswer(ctx, topic, withOperations));
      charge(topics[topics.length - 1]);
      if (slicer.due()) await slicer.pause();
    }
  } else {
    for (const requested of body.topics ?? []) {
      if (topics.length > 0) charge(topics[topics.length - 1]);
      if (slicer.due()) await slicer.pause();
      // Topic ids exist from v10; before, an empty name is just a (bad) name. A response names a topic it
      // cannot find by id with null from v12 only (the field is not nullable before): "" there.
      if (apiVersion >= 10 && (requested.name === null || requested.name === "")) {
        const topic = ctx.metadata.topicById(requested.topicId);
        topics.push(
          topic
            ? topicAnswer(ctx, topic, withOperations)
            : topicError(ErrorCode.UNKNOWN_TOPIC_ID, apiVersion >= 12 ? null : "", requested.topicId),
        );
        continue;
      }
      if (requested.name === null) {
        topics.push(topicError(ErrorCode.INVALID_TOPIC_EXCEPTION, ""));
        continue;
      }
      const topic = ctx.metadata.topic(requested.name);
      if (topic) topics.push(topicAnswer(ctx, topic, withOperations));
      else if (allowAutoCreate && !isInternalTopic(requested.name) && autoCreatedPartitions < MAX_RECORDS_PER_USER_OP) {
        // Kafka auto-creates a request's missing topics in one controller operation, which refuses more than
        // MAX_RECORDS_PER_USER_OP partitions: one Metadata request cannot create a million topics there, nor here.
        autoCreatedPartitions += ctx.config.numPartitions;
        topics.push(await autoCreate(ctx, requested.name));
      } else {
        // Kafka validates a missing topic's name first: an illegal one is INVALID_TOPIC_EXCEPTION.
        const invalid = topicNameProblem(requested.name) !== undefined;
        topics.push(
          topicError(
            invalid ? ErrorCode.INVALID_TOPIC_EXCEPTION : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            requested.name,
          ),
        );
      }
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
