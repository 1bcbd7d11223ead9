/**
 * The single-node controller: the one writer of `__cluster_metadata`. It validates topic changes as Kafka's
 * controller does (ControllerApis + ReplicationControlManager), commits them as metadata records in one durable
 * batch per request, then opens or deletes the partition logs. Changes run one at a time, so two concurrent
 * creates of the same name cannot both succeed.
 *
 * The decisions are pure functions (`planTopicCreations`, `planTopicDeletions`, `planPartitionCreations`) over
 * the metadata image and a `ClusterView`; `LocalController` is the shell that queues, commits and touches disk.
 *
 * Producer ids are handed out in blocks of 1000, as Kafka's ProducerIdControlManager does: each block is
 * reserved by a ProducerIdsRecord (metadata record type 15) committed to the metadata log before any id of it
 * is used, so ids never repeat across restarts (the unused rest of a block is skipped).
 *
 * @module
 */
import {
  type OngoingReassignment,
  ongoingReassignments,
  planReassignments,
  type ReassignmentRequest,
  type ReassignmentResult,
} from "./metadata/partition_reassignment.ts";
import { ErrorCode, errorInfo, Reader, Writer, ZERO_UUID } from "../protocol/messages.ts";
import {
  decodeProducerIdsRecord,
  encodeProducerIdsRecord,
  type ProducerIdsRecord,
} from "../protocol/generated/records/metadata/producer_ids_record.ts";
import { buildRecordBatch } from "../protocol/record_batch.ts";
import { replayRecords } from "./log_replay.ts";
import type { Controller, TopicChangeResult, TopicCreation } from "./broker_context.ts";
import { type BrokerConfig, topicConfigProblem } from "./config.ts";
import { type ConfigChangeResult, type ConfigResourceChange, planConfigChanges } from "./config_changes.ts";
import { bootstrapFeatureRecords } from "./metadata/features.ts";
import type { Logger } from "./logger.ts";
import { type MetadataImage, type MetadataRecord, TOPIC_RESOURCE } from "./metadata_image.ts";
import { METADATA_TOPIC, type MetadataLog } from "./metadata_log.ts";
import type { ReplicaManager } from "./replication/replica_manager.ts";
import type { WorkSlicer } from "./work_slices.ts";
import { topicCollisionKey, topicNameProblem } from "./topic_name.ts";

/** Producer ids reserved per ProducerIdsRecord (Kafka's `ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`). */
export const PRODUCER_ID_BLOCK_SIZE = 1000n;

/**
 * The most records one request may commit (Kafka's `MAX_RECORDS_PER_USER_OP`): larger CreateTopics requests are
 * refused with POLICY_VIOLATION, larger CreatePartitions increases with UNKNOWN_SERVER_ERROR, as Kafka 4.3 does.
 */
export const MAX_RECORDS_PER_USER_OP = 10000;

/** Metadata record type of ProducerIdsRecord. */
const PRODUCER_IDS_RECORD_TYPE = 15;

/** What the planners need to know about the cluster. */
export interface ClusterView {
  /** This node: leader of every partition it places. */
  nodeId: number;
  /** Registered, unfenced brokers (with one node: just `nodeId`). */
  brokers: readonly number[];
  /** Each broker's `broker.rack`, when any is set (replicas of a partition go to different racks first). */
  racks?: ReadonlyMap<number, string | null>;
  /** `num.partitions`, used when a topic asks for -1. */
  defaultNumPartitions: number;
  /** `default.replication.factor`, used when a topic asks for -1. */
  defaultReplicationFactor: number;
}

/** Results in request order, and the records to commit (empty when nothing is to change). */
export interface ChangePlan {
  results: TopicChangeResult[];
  records: MetadataRecord[];
}

/** Topics of one CreateTopics request whose partitions are opened at once. */
const OPEN_TOPICS_AT_ONCE = 16;

/** Kafka's ApiError: a code and a message (null when the client gets the bare code). */
interface ApiError {
  code: number;
  message: string | null;
}

function apiError(code: number, message: string | null): ApiError {
  return { code, message };
}

/** The message Kafka's `new ApiError(error)` carries: the error's default description. */
function defaultMessage(code: number): string | null {
  return errorInfo(code)?.message ?? null;
}

/**
 * A failed result. `name` is null for a deletion by id of an unknown topic (DeleteTopics v6 answers a null
 * name); `TopicChangeResult.name` is typed `string`, so the null travels as is to the handler.
 */
function failed(name: string | null, error: ApiError, topicId = ZERO_UUID): TopicChangeResult {
  return {
    name: name as string,
    topicId,
    errorCode: error.code,
    errorMessage: error.message,
    numPartitions: -1,
    replicationFactor: -1,
  };
}

/** Thrown inside the planners for Kafka's `InvalidReplicaAssignmentException` and friends. */
class PlanError extends Error {
  constructor(readonly code: number, readonly apiMessage: string | null) {
    super(apiMessage ?? String(code));
  }
}

/** Names that occur more than once in `names`. */
function duplicates(names: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) dup.add(n);
    else seen.add(n);
  }
  return dup;
}

/**
 * Kafka's `validateManualPartitionAssignment` as a value: the error a manual assignment gets (an empty list, a
 * broker named twice, a broker not in `cluster`), or undefined when it is valid. Reassignments use it too.
 *
 * @example
 * ```ts
 * import { manualAssignmentError } from "./controller.ts";
 * const cluster = { nodeId: 1, brokers: [1, 2], defaultNumPartitions: 1, defaultReplicationFactor: 1 };
 * manualAssignmentError([1, 3], cluster)?.code; // 39: INVALID_REPLICA_ASSIGNMENT, broker 3 is not registered
 * ```
 */
export function manualAssignmentError(
  replicas: readonly number[],
  cluster: ClusterView,
): { code: number; message: string | null } | undefined {
  try {
    checkManualAssignment(replicas, cluster);
    return undefined;
  } catch (e) {
    if (e instanceof PlanError) return { code: e.code, message: e.apiMessage };
    throw e;
  }
}

/** Kafka's `validateManualPartitionAssignment`. */
function checkManualAssignment(replicas: readonly number[], cluster: ClusterView, replicationFactor?: number): void {
  const seen = new Set<number>();
  for (const brokerId of replicas) {
    if (seen.has(brokerId)) {
      throw new PlanError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `The manual partition assignment includes the broker ${brokerId} more than once.`,
      );
    }
    seen.add(brokerId);
    if (!cluster.brokers.includes(brokerId)) {
      throw new PlanError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `The manual partition assignment includes broker ${brokerId}, but no such broker is registered.`,
      );
    }
  }
  if (replicas.length === 0) {
    throw new PlanError(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      "The manual partition assignment includes an empty replica list.",
    );
  }
  if (replicationFactor !== undefined && replicationFactor !== replicas.length) {
    throw new PlanError(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `The manual partition assignment includes a partition with ${replicas.length} replica(s), but this is not ` +
        `consistent with previous partitions, which have ${replicationFactor} replica(s).`,
    );
  }
}

/**
 * The brokers in placement order: by id, or, when racks are set, taking one broker of each rack in turn (racks
 * by name, brokers of a rack by id), so that consecutive brokers of the order sit in different racks.
 */
export function placementOrder(cluster: ClusterView): number[] {
  const brokers = [...cluster.brokers].sort((a, b) => a - b);
  const racks = cluster.racks;
  if (!racks || brokers.every((b) => (racks.get(b) ?? null) === null)) return brokers;
  const byRack = new Map<string, number[]>();
  for (const b of brokers) {
    const rack = racks.get(b) ?? "";
    byRack.set(rack, [...byRack.get(rack) ?? [], b]);
  }
  const columns = [...byRack.keys()].sort().map((r) => byRack.get(r)!);
  const out: number[] = [];
  for (let row = 0; out.length < brokers.length; row++) {
    for (const column of columns) if (row < column.length) out.push(column[row]);
  }
  return out;
}

/**
 * Striped placement, as Kafka's StripedReplicaPlacer aims: partition p takes `replicationFactor` consecutive
 * brokers of the placement order starting at p, so leaders (the first replica) rotate over every broker and
 * the replicas of a partition land in as many racks as possible.
 */
function placeReplicas(
  startPartition: number,
  numPartitions: number,
  replicationFactor: number,
  cluster: ClusterView,
): number[][] {
  const brokers = placementOrder(cluster);
  if (replicationFactor > brokers.length) {
    // Kafka 4.3's wording, including the log-directory clause (Samsa has no cordoned directories).
    throw new PlanError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `The target replication factor of ${replicationFactor} cannot be reached because only ${brokers.length} ` +
        "broker(s) are registered or some brokers have all their log directories cordoned.",
    );
  }
  const out: number[][] = [];
  for (let p = startPartition; p < startPartition + numPartitions; p++) {
    const replicas: number[] = [];
    for (let r = 0; r < replicationFactor; r++) replicas.push(brokers[(p + r) % brokers.length]);
    out.push(replicas);
  }
  return out;
}

/**
 * The PartitionRecord of a new partition: the first live replica leads. Until partition data is replicated
 * (each partition a Raft group across its replicas, the next step of clustering), only the leader holds the
 * data, so the ISR is the leader alone; the other replicas are listed, out of sync.
 */
function partitionRecord(topicId: string, partitionId: number, replicas: number[], cluster: ClusterView) {
  const leader = replicas.find((b) => cluster.brokers.includes(b)) ?? -1;
  const isr = leader === -1 ? [] : [leader];
  return {
    type: "partition" as const,
    record: { topicId, partitionId, replicas, isr, leader, leaderEpoch: 0, partitionEpoch: 0 },
  };
}

/**
 * Validates topic creations as Kafka's controller does and returns one result per requested topic, in order,
 * with the records that create the valid ones (TopicRecord, ConfigRecords, PartitionRecords per topic). Pure:
 * `newTopicId` is the only source of novelty.
 *
 * Order of checks, as in Kafka: duplicate names in the request and `__cluster_metadata` (INVALID_REQUEST); the
 * name (INVALID_TOPIC_EXCEPTION) and its `.`/`_` collision with an existing topic; existence
 * (TOPIC_ALREADY_EXISTS, which wins over a collision); configs (INVALID_CONFIG); then assignments, replication
 * factor and partition count. Like Kafka 4.3, two new topics of one request that collide with each other are
 * both created: only existing topics are checked for collisions. A request asking for more than 10000
 * partitions, or needing more than 10000 records, is refused whole with POLICY_VIOLATION.
 *
 * Config values may be null at runtime (CreateTopics allows a null value, which Kafka refuses with INVALID_CONFIG).
 *
 * @example
 * ```ts
 * import { MetadataImage } from "./metadata_image.ts";
 * import { planTopicCreations } from "./controller.ts";
 * const cluster = { nodeId: 1, brokers: [1], defaultNumPartitions: 1, defaultReplicationFactor: 1 };
 * const plan = planTopicCreations(new MetadataImage(), [
 *   { name: "orders", numPartitions: 3, replicationFactor: 1, assignments: [], configs: {} },
 * ], cluster, () => crypto.randomUUID());
 * plan.results[0].numPartitions; // 3
 * plan.records.length; // 4: one TopicRecord and three PartitionRecords
 * ```
 */
export function planTopicCreations(
  image: MetadataImage,
  topics: readonly TopicCreation[],
  cluster: ClusterView,
  newTopicId: () => string,
): ChangePlan {
  const dup = duplicates(topics.map((t) => t.name));
  const existingByCollisionKey = new Map<string, string>();
  for (const t of image.topics()) {
    if (!existingByCollisionKey.has(topicCollisionKey(t.name))) {
      existingByCollisionKey.set(topicCollisionKey(t.name), t.name);
    }
  }
  // ControllerApis answers duplicates and the metadata topic itself; the rest goes to the controller.
  const refusal = (topic: TopicCreation): ApiError | undefined => {
    if (dup.has(topic.name)) return apiError(ErrorCode.INVALID_REQUEST, "Duplicate topic name.");
    if (topic.name === METADATA_TOPIC) {
      return apiError(ErrorCode.INVALID_REQUEST, `Creation of internal topic ${METADATA_TOPIC} is prohibited.`);
    }
    return undefined;
  };
  const refuseAll = (message: string): ChangePlan => ({
    results: topics.map((t) => failed(t.name, refusal(t) ?? apiError(ErrorCode.POLICY_VIOLATION, message))),
    records: [],
  });
  const requestedPartitions = topics.filter((t) => !refusal(t)).reduce((n, t) => n + Math.max(t.numPartitions, 0), 0);
  if (requestedPartitions > MAX_RECORDS_PER_USER_OP) {
    return refuseAll("Excessively large number of partitions per request.");
  }
  const results: TopicChangeResult[] = [];
  const records: MetadataRecord[] = [];
  for (const topic of topics) {
    const refused = refusal(topic);
    if (refused) {
      results.push(failed(topic.name, refused));
      continue;
    }
    const error = checkNewTopic(image, topic, existingByCollisionKey);
    if (error) {
      results.push(failed(topic.name, error));
      continue;
    }
    let partitions: number[][];
    try {
      partitions = partitionsOfNewTopic(topic, cluster);
    } catch (e) {
      if (!(e instanceof PlanError)) throw e;
      results.push(failed(topic.name, apiError(e.code, e.apiMessage)));
      continue;
    }
    const topicId = newTopicId();
    records.push({ type: "topic", record: { name: topic.name, topicId } });
    for (const [name, value] of Object.entries(topic.configs)) {
      records.push({ type: "config", record: { resourceType: TOPIC_RESOURCE, resourceName: topic.name, name, value } });
    }
    partitions.forEach((replicas, p) => records.push(partitionRecord(topicId, p, replicas, cluster)));
    results.push({
      name: topic.name,
      topicId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      numPartitions: partitions.length,
      replicationFactor: partitions[0].length,
    });
  }
  if (records.length > MAX_RECORDS_PER_USER_OP) {
    return refuseAll("Unable to perform excessively large batch operation.");
  }
  return { results, records };
}

/** The name, existence and config checks of one new topic. */
function checkNewTopic(
  image: MetadataImage,
  topic: TopicCreation,
  existingByCollisionKey: ReadonlyMap<string, string>,
): ApiError | undefined {
  if (image.topic(topic.name)) {
    return apiError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`);
  }
  const nameProblem = topicNameProblem(topic.name);
  const colliding = existingByCollisionKey.get(topicCollisionKey(topic.name));
  if (colliding !== undefined && /[._]/.test(topic.name)) {
    return apiError(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `Topic '${topic.name}' collides with existing topic: ${colliding}`,
    );
  }
  if (nameProblem !== undefined) return apiError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
  const configs = Object.entries(topic.configs as Record<string, string | null>);
  const nulls = configs.filter(([, v]) => v === null).map(([k]) => k);
  if (nulls.length > 0) {
    return apiError(ErrorCode.INVALID_CONFIG, `Null value not supported for topic configs: ${nulls.join(",")}`);
  }
  for (const [name, value] of configs) {
    const problem = topicConfigProblem(name, value);
    if (problem !== undefined) return apiError(ErrorCode.INVALID_CONFIG, problem);
  }
  return undefined;
}

/** The replicas of each partition of a new topic (Kafka's `createTopic`); throws PlanError. */
function partitionsOfNewTopic(topic: TopicCreation, cluster: ClusterView): number[][] {
  if (topic.assignments.length > 0) {
    if (topic.replicationFactor !== -1) {
      throw new PlanError(
        ErrorCode.INVALID_REQUEST,
        "A manual partition assignment was specified, but replication factor was not set to -1.",
      );
    }
    if (topic.numPartitions !== -1) {
      throw new PlanError(
        ErrorCode.INVALID_REQUEST,
        "A manual partition assignment was specified, but numPartitions was not set to -1.",
      );
    }
    const byIndex = new Map<number, number[]>();
    let replicationFactor: number | undefined;
    for (const a of topic.assignments) {
      if (byIndex.has(a.partitionIndex)) {
        throw new PlanError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Found multiple manual partition assignments for partition ${a.partitionIndex}`,
        );
      }
      checkManualAssignment(a.brokerIds, cluster, replicationFactor);
      replicationFactor = a.brokerIds.length;
      byIndex.set(a.partitionIndex, [...a.brokerIds]);
    }
    const out: number[][] = [];
    for (let p = 0; p < byIndex.size; p++) {
      const replicas = byIndex.get(p);
      if (replicas === undefined) {
        throw new PlanError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          "partitions should be a consecutive 0-based integer sequence",
        );
      }
      out.push(replicas);
    }
    return out;
  }
  if (topic.replicationFactor < -1 || topic.replicationFactor === 0) {
    throw new PlanError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      "Replication factor must be larger than 0, or -1 to use the default value.",
    );
  }
  if (topic.numPartitions < -1 || topic.numPartitions === 0) {
    throw new PlanError(ErrorCode.INVALID_PARTITIONS, "Number of partitions was set to an invalid non-positive value.");
  }
  const numPartitions = topic.numPartitions === -1 ? cluster.defaultNumPartitions : topic.numPartitions;
  const replicationFactor = topic.replicationFactor === -1 ? cluster.defaultReplicationFactor : topic.replicationFactor;
  try {
    return placeReplicas(0, numPartitions, replicationFactor, cluster);
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    throw new PlanError(e.code, `Unable to replicate the partition ${replicationFactor} time(s): ${e.apiMessage}`);
  }
}

/** A topic to delete: by name or by id (the other null). */
export interface TopicDeletion {
  name: string | null;
  topicId: string | null;
}

/**
 * Resolves topic deletions as Kafka's ControllerApis does and returns one result per entry, in order, with the
 * RemoveTopicRecords of the topics to delete. An entry with both a name and an id, or neither, is INVALID_REQUEST;
 * a name or id given twice is INVALID_REQUEST for each occurrence ("Duplicate topic name." / "Duplicate topic
 * id."); a name whose topic is also given by id is INVALID_REQUEST for both entries and deletes nothing; an
 * unknown name is UNKNOWN_TOPIC_OR_PARTITION, an unknown id UNKNOWN_TOPIC_ID. Internal topics other than
 * `__cluster_metadata` (which is not a topic of the image) can be deleted, as in Kafka 4.x.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "./metadata_image.ts";
 * import { planTopicDeletions } from "./controller.ts";
 * const plan = planTopicDeletions(new MetadataImage(), [{ name: "gone", topicId: null }]);
 * plan.results[0].errorCode; // 3 (UNKNOWN_TOPIC_OR_PARTITION)
 * ```
 */
export function planTopicDeletions(image: MetadataImage, topics: readonly TopicDeletion[]): ChangePlan {
  const steps = planTopicDeletionSteps(image, topics);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Entries `planTopicDeletionSteps` handles between two yields. */
const DELETION_ENTRIES_PER_STEP = 1024;

/**
 * {@link planTopicDeletions} as a generator that yields every `DELETION_ENTRIES_PER_STEP` entries, so that a
 * DeleteTopics of a million names can run in slices (`WorkSlicer.run`) instead of holding the event loop for
 * seconds. More than `MAX_RECORDS_PER_USER_OP` topics to delete refuses the whole request with POLICY_VIOLATION
 * "Unable to perform excessively large batch operation.", as Kafka's controller does (its BoundedList of
 * records overflows; ControllerApis answers every entry with that error).
 *
 * @example
 * ```ts
 * import { MetadataImage } from "./metadata_image.ts";
 * import { planTopicDeletionSteps } from "./controller.ts";
 * import { WorkSlicer } from "./work_slices.ts";
 * const plan = await new WorkSlicer().run(planTopicDeletionSteps(new MetadataImage(), [{ name: "gone", topicId: null }]));
 * plan.results[0].errorCode; // 3 (UNKNOWN_TOPIC_OR_PARTITION)
 * ```
 */
export function* planTopicDeletionSteps(
  image: MetadataImage,
  topics: readonly TopicDeletion[],
): Generator<void, ChangePlan> {
  const idOf = (t: TopicDeletion) => t.topicId === null || t.topicId === ZERO_UUID ? null : t.topicId;
  // One pass: which names and ids (given alone) appear twice, and which ids were given.
  const seenNames = new Set<string>();
  const dupNames = new Set<string>();
  const idsGiven = new Set<string>();
  const dupIds = new Set<string>();
  for (let i = 0; i < topics.length; i++) {
    const name = topics[i].name;
    const id = idOf(topics[i]);
    if (name !== null && id === null) {
      if (seenNames.has(name)) dupNames.add(name);
      else seenNames.add(name);
    } else if (name === null && id !== null) {
      if (idsGiven.has(id)) dupIds.add(id);
      else idsGiven.add(id);
    }
    if (i % DELETION_ENTRIES_PER_STEP === DELETION_ENTRIES_PER_STEP - 1) yield;
  }
  seenNames.clear();
  // Ids whose topic is also named: Kafka refuses the name and leaves the topic alone.
  const namedIds = new Map<string, string>();
  if (idsGiven.size > 0) {
    for (let i = 0; i < topics.length; i++) {
      const name = topics[i].name;
      if (name !== null && idOf(topics[i]) === null && !dupNames.has(name)) {
        const topic = image.topic(name);
        if (topic && idsGiven.has(topic.topicId)) namedIds.set(topic.topicId, name);
      }
      if (i % DELETION_ENTRIES_PER_STEP === DELETION_ENTRIES_PER_STEP - 1) yield;
    }
  }
  const results: TopicChangeResult[] = new Array(topics.length);
  const records: MetadataRecord[] = [];
  const invalid = (message: string) => apiError(ErrorCode.INVALID_REQUEST, message);
  // Shared by every entry they answer: a million unknown names need not make a million error objects.
  const unknownName = apiError(
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    defaultMessage(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
  );
  const unknownId = apiError(ErrorCode.UNKNOWN_TOPIC_ID, defaultMessage(ErrorCode.UNKNOWN_TOPIC_ID));
  const duplicateName = invalid("Duplicate topic name.");
  const alreadySupplied = invalid("The provided topic name maps to an ID that was already supplied.");
  for (let i = 0; i < topics.length; i++) {
    const name = topics[i].name;
    const id = idOf(topics[i]);
    if (name !== null && id !== null) {
      results[i] = failed(name, invalid("You may not specify both topic name and topic id."), id);
    } else if (name === null && id === null) {
      results[i] = failed(null, invalid("Neither topic name nor id were specified."));
    } else if (name !== null) {
      const topic = image.topic(name);
      if (dupNames.has(name)) results[i] = failed(name, duplicateName);
      else if (!topic) results[i] = failed(name, unknownName);
      else if (namedIds.has(topic.topicId) || dupIds.has(topic.topicId)) {
        results[i] = failed(name, alreadySupplied, topic.topicId);
      } else {
        records.push({ type: "remove_topic", record: { topicId: topic.topicId } });
        results[i] = deleted(topic.name, topic.topicId);
      }
    } else {
      const topic = image.topicById(id!);
      if (dupIds.has(id!)) results[i] = failed(null, invalid("Duplicate topic id."), id!);
      else if (!topic) results[i] = failed(null, unknownId, id!);
      else if (namedIds.has(id!)) results[i] = failed(namedIds.get(id!)!, alreadySupplied, id!);
      else {
        records.push({ type: "remove_topic", record: { topicId: id! } });
        results[i] = deleted(topic.name, id!);
      }
    }
    if (i % DELETION_ENTRIES_PER_STEP === DELETION_ENTRIES_PER_STEP - 1) yield;
  }
  if (records.length > MAX_RECORDS_PER_USER_OP) {
    const tooLarge = apiError(ErrorCode.POLICY_VIOLATION, "Unable to perform excessively large batch operation.");
    for (let i = 0; i < topics.length; i++) {
      results[i] = failed(topics[i].name, tooLarge, idOf(topics[i]) ?? ZERO_UUID);
      if (i % DELETION_ENTRIES_PER_STEP === DELETION_ENTRIES_PER_STEP - 1) yield;
    }
    return { results, records: [] };
  }
  return { results, records };
}

function deleted(name: string, topicId: string): TopicChangeResult {
  return { name, topicId, errorCode: ErrorCode.NONE, errorMessage: null, numPartitions: -1, replicationFactor: -1 };
}

/** A partition-count increase, as CreatePartitions asks for it. */
export interface PartitionIncrease {
  name: string;
  count: number;
  /** The replicas of each new partition, or null for automatic placement. */
  assignments: number[][] | null;
}

/**
 * Validates partition-count increases as Kafka's controller does and returns one result per entry, in order,
 * with the PartitionRecords of the new partitions. A name given twice is INVALID_REQUEST ("Duplicate topic
 * name.") for each occurrence; an unknown topic is UNKNOWN_TOPIC_OR_PARTITION with a null message; a count not
 * above the current one is INVALID_PARTITIONS; assignments must number exactly the new partitions and each must
 * have the topic's replication factor.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "./metadata_image.ts";
 * import { planPartitionCreations } from "./controller.ts";
 * const cluster = { nodeId: 1, brokers: [1], defaultNumPartitions: 1, defaultReplicationFactor: 1 };
 * planPartitionCreations(new MetadataImage(), [{ name: "t", count: 2, assignments: null }], cluster)
 *   .results[0].errorCode; // 3
 * ```
 */
export function planPartitionCreations(
  image: MetadataImage,
  topics: readonly PartitionIncrease[],
  cluster: ClusterView,
): ChangePlan {
  const dup = duplicates(topics.map((t) => t.name));
  const results: TopicChangeResult[] = [];
  const records: MetadataRecord[] = [];
  for (const t of topics) {
    if (dup.has(t.name)) {
      results.push(failed(t.name, apiError(ErrorCode.INVALID_REQUEST, "Duplicate topic name.")));
      continue;
    }
    const topic = image.topic(t.name);
    if (!topic) {
      results.push(failed(t.name, apiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null)));
      continue;
    }
    try {
      const current = topic.partitions.length;
      if (t.count === current) {
        throw new PlanError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`);
      }
      if (t.count < current) {
        throw new PlanError(
          ErrorCode.INVALID_PARTITIONS,
          `The topic ${t.name} currently has ${current} partition(s); ${t.count} would not be an increase.`,
        );
      }
      const additional = t.count - current;
      if (t.assignments !== null && t.assignments.length !== additional) {
        throw new PlanError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Attempted to add ${additional} additional partition(s), but only ${t.assignments.length} assignment(s) ` +
            "were specified.",
        );
      }
      if (records.length + additional > MAX_RECORDS_PER_USER_OP) {
        // Kafka's bounded record list overflows: an unexpected error, without a message.
        throw new PlanError(ErrorCode.UNKNOWN_SERVER_ERROR, null);
      }
      const replicationFactor = topic.partitions[0]?.replicas.length ?? cluster.defaultReplicationFactor;
      let placed: number[][];
      if (t.assignments !== null) {
        for (const replicas of t.assignments) checkManualAssignment(replicas, cluster, replicationFactor);
        placed = t.assignments.map((r) => [...r]);
      } else {
        placed = placeReplicas(current, additional, replicationFactor, cluster);
      }
      placed.forEach((replicas, i) => records.push(partitionRecord(topic.topicId, current + i, replicas, cluster)));
      results.push({
        name: t.name,
        topicId: topic.topicId,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        numPartitions: t.count,
        replicationFactor,
      });
    } catch (e) {
      if (!(e instanceof PlanError)) throw e;
      results.push(failed(t.name, apiError(e.code, e.apiMessage), topic.topicId));
    }
  }
  return { results, records };
}

// ---------------------------------------------------------------------------------------------------------------
// Producer id blocks in the metadata log

/** Encodes a ProducerIdsRecord as a metadata log record value (frame version 1, type 15, version 0). */
export function encodeProducerIdsValue(record: ProducerIdsRecord): Uint8Array {
  const w = new Writer(32);
  w.uvarint(1);
  w.uvarint(PRODUCER_IDS_RECORD_TYPE);
  w.uvarint(0);
  encodeProducerIdsRecord(w, record, 0);
  return w.finish();
}

/** The ProducerIdsRecord in a metadata log record value, or undefined for records of other types. */
export function decodeProducerIdsValue(value: Uint8Array): ProducerIdsRecord | undefined {
  const r = new Reader(value);
  r.uvarint(); // frame version
  if (r.uvarint() !== PRODUCER_IDS_RECORD_TYPE) return undefined;
  return decodeProducerIdsRecord(r, r.uvarint());
}

/** The `nextProducerId` of the last ProducerIdsRecord in the metadata log (0 when there is none). */
function lastReservedProducerId(metadata: MetadataLog): bigint {
  let next = 0n;
  replayRecords(metadata.log, (record) => {
    const ids = record.value && decodeProducerIdsValue(record.value);
    if (ids && ids.nextProducerId > next) next = ids.nextProducerId;
  });
  return next;
}

// ---------------------------------------------------------------------------------------------------------------
// The controller

/**
 * The controller of a single-node cluster: validates, commits to the metadata log, then opens or deletes
 * partition logs. One change at a time.
 *
 * @example
 * ```ts ignore
 * const controller = new LocalController(metadata, replicas, config, logger);
 * const [result] = await controller.createTopics(
 *   [{ name: "orders", numPartitions: 3, replicationFactor: -1, assignments: [], configs: {} }],
 *   false,
 * );
 * result.errorCode; // 0
 * ```
 */
export class LocalController implements Controller {
  #queue: Promise<unknown> = Promise.resolve();
  /** The next producer id to hand out and the end (exclusive) of the reserved block; undefined until loaded. */
  #producerIds: { next: bigint; end: bigint } | undefined;

  constructor(
    private readonly metadata: MetadataLog,
    private readonly replicas: ReplicaManager,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {}

  /** The cluster as the planners see it: this node alone. */
  cluster(): ClusterView {
    return {
      nodeId: this.config.nodeId,
      brokers: [this.config.nodeId],
      defaultNumPartitions: this.config.numPartitions,
      defaultReplicationFactor: this.config.defaultReplicationFactor,
    };
  }

  /** Runs `change` after every change queued before it; a failure does not stop later changes. */
  #serialize<T>(change: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(change, change);
    this.#queue = run.catch(() => {});
    return run;
  }

  createTopics(topics: TopicCreation[], validateOnly: boolean): Promise<TopicChangeResult[]> {
    return this.#serialize(async () => {
      const plan = planTopicCreations(this.metadata.image, topics, this.cluster(), () => crypto.randomUUID());
      if (validateOnly || plan.records.length === 0) return plan.results;
      if (!await this.#commit(plan)) return plan.results;
      // Topics are opened several at once: creating a partition waits mostly for directory fsyncs.
      const problems = new Map<number, string | null>();
      const created = [...plan.results.entries()].filter(([, r]) => r.errorCode === ErrorCode.NONE);
      for (let k = 0; k < created.length; k += OPEN_TOPICS_AT_ONCE) {
        await Promise.all(
          created.slice(k, k + OPEN_TOPICS_AT_ONCE).map(async ([i, r]) =>
            problems.set(i, await this.#ensureTopic(r.name))
          ),
        );
      }
      for (const [i, r] of created) {
        const problem = problems.get(i) ?? null;
        if (problem !== null) {
          // Never a success for partitions that cannot be written: the topic is taken back, so a retry (once the
          // cause is fixed) creates it afresh.
          await this.#undoCreation(r.name, r.topicId, r.numPartitions);
          plan.results[i] = failed(
            r.name,
            apiError(ErrorCode.KAFKA_STORAGE_ERROR, `Topic '${r.name}' was not created: ${problem}`),
          );
          continue;
        }
        this.logger.info("topic created", {
          topic: r.name,
          topicId: r.topicId,
          partitions: r.numPartitions,
          replicationFactor: r.replicationFactor,
        });
      }
      return plan.results;
    });
  }

  deleteTopics(topics: TopicDeletion[], slicer?: WorkSlicer): Promise<TopicChangeResult[]> {
    return this.#serialize(async () => {
      const steps = planTopicDeletionSteps(this.metadata.image, topics);
      const plan = slicer ? await slicer.run(steps) : planTopicDeletions(this.metadata.image, topics);
      if (plan.records.length === 0) return plan.results;
      if (!await this.#commit(plan)) return plan.results;
      for (const r of plan.results) {
        if (r.errorCode !== ErrorCode.NONE) continue;
        this.logger.info("topic deleted", { topic: r.name, topicId: r.topicId });
        try {
          await this.replicas.removeTopic(r.name);
        } catch (e) {
          this.logger.error("removing partitions of a deleted topic failed", { topic: r.name, error: e });
        }
      }
      return plan.results;
    });
  }

  /**
   * Reassignments on a single node: every partition has its one replica here, so the only valid target is this
   * node (nothing to move); anything else gets Kafka's INVALID_REPLICA_ASSIGNMENT or UNKNOWN_TOPIC_OR_PARTITION.
   */
  alterPartitionReassignments(requests: ReassignmentRequest[]): Promise<ReassignmentResult[]> {
    return Promise.resolve(planReassignments(this.metadata.image, requests, this.cluster()).results);
  }

  /** No reassignment ever runs on a single node. */
  listPartitionReassignments(
    wanted: { topic: string; partitions: number[] }[] | null,
  ): Promise<OngoingReassignment[]> {
    return Promise.resolve(ongoingReassignments(this.metadata.image, wanted));
  }

  createPartitions(
    topics: { name: string; count: number; assignments: number[][] | null }[],
    validateOnly: boolean,
  ): Promise<TopicChangeResult[]> {
    return this.#serialize(async () => {
      const plan = planPartitionCreations(this.metadata.image, topics, this.cluster());
      if (validateOnly || plan.records.length === 0) return plan.results;
      if (!await this.#commit(plan)) return plan.results;
      for (const [i, r] of plan.results.entries()) {
        if (r.errorCode !== ErrorCode.NONE) continue;
        this.logger.info("partitions created", { topic: r.name, partitions: r.numPartitions });
        const problem = await this.#ensureTopic(r.name);
        if (problem !== null) {
          // Kafka cannot take partitions back; they stay in the metadata and are opened at the next start.
          plan.results[i] = failed(
            r.name,
            apiError(ErrorCode.KAFKA_STORAGE_ERROR, `New partitions of '${r.name}' could not be opened: ${problem}`),
          );
        }
      }
      return plan.results;
    });
  }

  alterConfigs(changes: ConfigResourceChange[], validateOnly: boolean): Promise<ConfigChangeResult[]> {
    return this.#serialize(async () => {
      const plan = planConfigChanges(this.metadata.image, changes);
      if (validateOnly || plan.records.length === 0) return plan.results;
      try {
        await this.metadata.commit(plan.records);
      } catch (e) {
        this.logger.error("committing metadata records failed", { records: plan.records.length, error: e });
        const message = `The metadata log could not be written: ${e instanceof Error ? e.message : String(e)}`;
        return plan.results.map((r) =>
          r.errorCode === ErrorCode.NONE ? { ...r, errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errorMessage: message } : r
        );
      }
      for (const r of plan.results) {
        const topic = r.errorCode === ErrorCode.NONE ? this.metadata.image.topic(r.resourceName) : undefined;
        if (!topic) continue;
        this.replicas.applyTopicConfigs(topic);
        this.logger.info("topic configs changed", { topic: topic.name, configs: Object.fromEntries(topic.configs) });
      }
      return plan.results;
    });
  }

  /**
   * Finalizes the feature levels of a new cluster (FeatureLevelRecords, as `kafka-storage format` writes them);
   * a metadata log that has them already is left as is.
   */
  bootstrapFeatures(): Promise<void> {
    return this.#serialize(async () => {
      const records = bootstrapFeatureRecords(this.metadata.image);
      if (records.length > 0) await this.metadata.commit(records);
    });
  }

  allocateProducerId(): Promise<bigint> {
    return this.#serialize(async () => {
      if (this.#producerIds === undefined) {
        const next = lastReservedProducerId(this.metadata);
        this.#producerIds = { next, end: next };
      }
      const ids = this.#producerIds;
      if (ids.next >= ids.end) {
        const start = ids.end;
        const end = start + PRODUCER_ID_BLOCK_SIZE;
        await this.#commitProducerIdsRecord({ brokerId: this.config.nodeId, brokerEpoch: 0n, nextProducerId: end });
        ids.next = start;
        ids.end = end;
      }
      return ids.next++;
    });
  }

  /**
   * Commits the plan's records. When the metadata log cannot be written (the disk is full or failing: it goes
   * offline until the log directory is healthy again), logs the error, turns every would-be success of the plan
   * into KAFKA_STORAGE_ERROR and returns false. Kafka's KRaft controller would fail over to another controller;
   * with no other, the retriable storage error tells admin clients to retry, and names the cause.
   */
  async #commit(plan: ChangePlan): Promise<boolean> {
    try {
      await this.metadata.commit(plan.records);
      return true;
    } catch (e) {
      this.logger.error("committing metadata records failed", { records: plan.records.length, error: e });
      const message = `The metadata log could not be written: ${e instanceof Error ? e.message : String(e)}`;
      plan.results.forEach((r, i) => {
        if (r.errorCode === ErrorCode.NONE) {
          plan.results[i] = failed(r.name, apiError(ErrorCode.KAFKA_STORAGE_ERROR, message), r.topicId);
        }
      });
      return false;
    }
  }

  /**
   * Appends a ProducerIdsRecord to the metadata log as its own batch and waits until it is durable. The image
   * ignores this record type, so it goes to the log directly rather than through `MetadataLog.commit`. Throws
   * LogError `storage` when the metadata log cannot be written.
   */
  async #commitProducerIdsRecord(record: ProducerIdsRecord): Promise<void> {
    const batch = buildRecordBatch([{ timestamp: Date.now(), key: null, value: encodeProducerIdsValue(record) }]);
    await this.metadata.appendDurably(batch);
  }

  /** Opens the partitions of a committed topic; returns why it could not (also logged), or null. */
  async #ensureTopic(name: string): Promise<string | null> {
    const topic = this.metadata.image.topic(name);
    if (!topic) return null;
    try {
      await this.replicas.ensureTopic(topic);
      return null;
    } catch (e) {
      this.logger.error("opening partitions of a topic failed", { topic: name, error: e });
      return e instanceof Error ? e.message : String(e);
    }
  }

  /** Deletes a topic whose partitions could not be opened right after its creation was committed. */
  async #undoCreation(name: string, topicId: string, partitions: number): Promise<void> {
    const plan = planTopicDeletions(this.metadata.image, [{ name: null, topicId }]);
    if (plan.records.length > 0 && !await this.#commit(plan)) return;
    try {
      await this.replicas.discardTopic(name, partitions);
    } catch (e) {
      this.logger.error("removing partitions of a topic not created failed", { topic: name, error: e });
    }
  }
}
