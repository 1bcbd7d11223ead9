/**
 * The group coordinator: the shell around the pure classic-group state machine and the offset store. It holds
 * every group, runs one timer for the nearest deadline of all groups, hands held JoinGroup/SyncGroup answers to
 * their callers, and writes groups and committed offsets to `__consumer_offsets` (a commit is answered only once
 * its record is durable).
 *
 * It coordinates the groups of the `__consumer_offsets` partitions this broker leads, as Kafka: when it gains
 * the leadership of one (at startup, or when `ReplicaManager.onLeadership` says so) it replays that partition,
 * once every entry it holds is committed, and only then serves its groups (COORDINATOR_LOAD_IN_PROGRESS
 * meanwhile); when it loses it, it drops them (held requests and later ones get NOT_COORDINATOR, and clients
 * find the new coordinator). The decisions are in coordinator_partitions.ts.
 *
 * `__consumer_offsets` is created through the controller on first use (FindCoordinator, or the first write),
 * with `offsets.topic.num.partitions` partitions, `offsets.topic.replication.factor` replicas (a single node:
 * one), `cleanup.policy=compact` and `offsets.topic.segment.bytes`.
 *
 * Seam for other group types (KIP-848 consumer groups): they share `offsets` (the committed offsets of every
 * group), `writeRecords` (durable appends to the group's partition) and register a `GroupExtension`, which gets
 * the records of key version 3 and up at load and answers for its groups in DescribeGroups, ListGroups,
 * DeleteGroups and OffsetCommit validation.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/messages.ts";
import { buildRecordBatch } from "../../protocol/record_batch.ts";
import { replayRecords } from "../log_replay.ts";
import type { GroupMetadataValue } from "../../protocol/generated/records/group_coordinator/group_metadata_value.ts";
import type { BrokerContext, Controller } from "../broker_context.ts";
import type { BrokerConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { MetadataImage } from "../metadata_image.ts";
import type { PartitionReplica } from "../replication/partition_replica.ts";
import type { ReplicaManager } from "../replication/replica_manager.ts";
import { topicSettings } from "../topic_settings.ts";
import { slicerFor, type WorkSlicer } from "../work_slices.ts";
import {
  ClassicGroup,
  type ClassicGroup as ClassicGroupType,
  type ClassicGroupSettings,
  joinError,
  type JoinRequest,
  type JoinResult,
  type MemberProtocol,
  NEW_MEMBER_JOIN_TIMEOUT_MS,
  type Reply,
  type SyncRequest,
  type SyncResult,
} from "./classic_group.ts";
import {
  decodeCoordinatorRecord,
  groupMetadataRecord,
  javaStringHashCode,
  offsetCommitRecord,
  OFFSETS_TOPIC,
  partitionForGroup,
  type StoredRecord,
} from "./coordinator_records.ts";
import { CoordinatorPartitions } from "./coordinator_partitions.ts";
import { type CommittedOffset, OffsetStore, type TopicPartition } from "./offset_store.ts";

/** A group as ListGroups shows it. */
export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: string;
  groupType: string;
}

/** What another group type (KIP-848) plugs into the coordinator. Every hook is optional. */
export interface GroupExtension {
  /** True when `groupId` is a group of this type (so the classic APIs treat it as taken). */
  has?(groupId: string): boolean;
  /** Replays a `__consumer_offsets` record of key version 3 and up, at load. */
  replay?(record: { keyVersion: number; key: Uint8Array; value: Uint8Array | null }): void;
  /** This type's groups for ListGroups. */
  list?(): ListedGroup[];
  /** Whether a member may commit offsets for `groupId` (an error code), for groups of this type. */
  validateOffsetCommit?(groupId: string, memberId: string, memberEpoch: number): number;
  /** Deletes a group of this type (DeleteGroups): an error code; `records` are its tombstones to write. */
  deleteGroup?(groupId: string): { errorCode: number; records: StoredRecord[] };
  /** DescribeGroups of a group of this type, as Kafka shows such a group to the classic API. */
  describe?(groupId: string): DescribedGroup;
  /** The topics a group of this type is subscribed to (OffsetDelete answers GROUP_SUBSCRIBED_TO_TOPIC for them). */
  subscribedTopics?(groupId: string): ReadonlySet<string>;
  /** OffsetFetch v9+ with a member id and epoch (KIP-848): an error code, NONE to answer. */
  validateOffsetFetch?(groupId: string, memberId: string, memberEpoch: number): number;
  /** Drops the groups `belongs` selects (their offsets partition is no longer led here). */
  unload?(belongs: (groupId: string) => boolean): void;
  /** An offsets partition was replayed (its groups' members get a full session from `nowMs`). */
  loaded?(nowMs: number): void;
}

/** A group as DescribeGroups describes it (without authorized operations, which the handler adds). */
export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  groupState: string;
  protocolType: string;
  protocolData: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    memberMetadata: Uint8Array;
    memberAssignment: Uint8Array;
  }[];
}

/** One partition's answer to an OffsetCommit or OffsetDelete. */
export interface PartitionError {
  partitionIndex: number;
  errorCode: number;
}

/** A committed offset as OffsetFetch answers it. */
export interface FetchedOffset {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

/** What the coordinator needs of the broker. */
export interface GroupCoordinatorDeps {
  config: BrokerConfig;
  metadata: MetadataImage;
  /** The replicas of `__consumer_offsets` here, and word of their leadership changes. */
  replicas: Pick<ReplicaManager, "get" | "onLeadership">;
  controller: Controller;
  logger: Logger;
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * True in a multi-node cluster: `__consumer_offsets` gets `offsets.topic.replication.factor` replicas (refused,
   * as Kafka 4.4 refuses it, while fewer brokers are live). A single node, the only broker there is, gives it one.
   */
  cluster?: boolean;
}

const GROUP_TYPE_CLASSIC = "classic";

const utf8 = new TextEncoder();

/** A v2 record batch's header. */
const RECORD_BATCH_OVERHEAD_BYTES = 61;
/**
 * The fewest bytes a record adds around its key and value (length, attributes, timestamp and offset deltas, key
 * and value lengths, header count: one byte each at least). A lower bound, so that a commit refused early for its
 * size is one the append would have refused too.
 */
const RECORD_OVERHEAD_BYTES = 7;

function configNumber(config: BrokerConfig, name: string, fallback: number): number {
  const value = config.get(name);
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) ? n : fallback;
}

/** Maps an append error to what Kafka answers for a failed group or offset write. */
function writeErrorCode(code: number): number {
  switch (code) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

function addHeld<T>(held: Map<string, ((result: T) => void)[]>, key: string, resolve: (result: T) => void): void {
  const queue = held.get(key);
  if (queue) queue.push(resolve);
  else held.set(key, [resolve]);
}

function takeHeld<T>(held: Map<string, ((result: T) => void)[]>, key: string): ((result: T) => void) | undefined {
  const queue = held.get(key);
  const resolve = queue?.shift();
  if (queue && queue.length === 0) held.delete(key);
  return resolve;
}

/** Reads the topics of a ConsumerProtocolSubscription (version int16, then an int32-counted string array). */
function subscribedTopics(metadata: Uint8Array): Set<string> | undefined {
  try {
    const view = new DataView(metadata.buffer, metadata.byteOffset, metadata.byteLength);
    let pos = 2;
    const count = view.getInt32(pos);
    pos += 4;
    const topics = new Set<string>();
    const decoder = new TextDecoder();
    for (let i = 0; i < count; i++) {
      const len = view.getInt16(pos);
      pos += 2;
      topics.add(decoder.decode(metadata.subarray(pos, pos + len)));
      pos += len;
    }
    return topics;
  } catch {
    return undefined;
  }
}

/**
 * The order in which Kafka answers DeleteGroups: groups are batched by `__consumer_offsets` partition in a Java
 * HashMap keyed by TopicPartition, and the batches answered in the map's iteration order (bucket by bucket, in
 * insertion order within a bucket). Clients do not care; the differential tests do.
 */
export function kafkaDeleteOrder(groupIds: readonly string[], partitions: number): string[] {
  const batches = new Map<number, string[]>();
  for (const groupId of groupIds) {
    const partition = partitionForGroup(groupId, partitions);
    const batch = batches.get(partition);
    if (batch) batch.push(groupId);
    else batches.set(partition, [groupId]);
  }
  let tableSize = 16;
  while (batches.size > tableSize * 0.75) tableSize *= 2;
  const topicHash = javaStringHashCode(OFFSETS_TOPIC);
  const bucketOf = (partition: number) => {
    const h = (Math.imul(31, 31 + partition) + topicHash) | 0;
    return (h ^ (h >>> 16)) & (tableSize - 1);
  };
  const ordered = [...batches.entries()].map(([partition, ids], insertion) => ({
    bucket: bucketOf(partition),
    insertion,
    ids,
  }));
  ordered.sort((a, b) => a.bucket - b.bucket || a.insertion - b.insertion);
  return ordered.flatMap((b) => b.ids);
}

/**
 * The group coordinator of this broker.
 *
 * @example
 * ```ts ignore
 * const groups = new GroupCoordinator({ config, metadata: image, replicas, controller, logger, now: Date.now });
 * await groups.load();
 * groups.start();
 * ```
 */
export class GroupCoordinator {
  /** Committed offsets of every group, of every type. */
  readonly offsets = new OffsetStore();
  /** The classic groups by id. */
  readonly classicGroups = new Map<string, ClassicGroupType>();
  /** Another group type's hooks (KIP-848), if registered. */
  extension: GroupExtension | undefined;

  readonly #deps: GroupCoordinatorDeps;
  readonly #settings: ClassicGroupSettings;
  /**
   * Callers waiting for a held answer, by group and member, oldest first: a member that sends a second JoinGroup
   * while its first is held gets the first answered (REBALANCE_IN_PROGRESS) before the second, in that order.
   */
  readonly #heldJoins = new Map<string, ((result: JoinResult) => void)[]>();
  readonly #heldSyncs = new Map<string, ((result: SyncResult) => void)[]>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAtMs = Infinity;
  #retentionTimer: ReturnType<typeof setInterval> | undefined;
  #creatingTopic: Promise<void> | undefined;
  #closed = false;
  /** Which offsets partitions this broker coordinates, loaded or loading. */
  readonly #partitions = new CoordinatorPartitions();
  /** The replica each loading partition waits on for its high watermark (one listener per replica). */
  readonly #awaitingHighWatermark = new Map<number, PartitionReplica>();
  #stopFollowingLeadership: (() => void) | undefined;

  constructor(deps: GroupCoordinatorDeps) {
    this.#deps = deps;
    this.#settings = {
      initialRebalanceDelayMs: configNumber(deps.config, "group.initial.rebalance.delay.ms", 3000),
      newMemberJoinTimeoutMs: NEW_MEMBER_JOIN_TIMEOUT_MS,
      maxSize: configNumber(
        deps.config,
        "group.classic.max.size",
        configNumber(deps.config, "group.max.size", Infinity),
      ),
    };
  }

  get #minSessionTimeoutMs(): number {
    return configNumber(this.#deps.config, "group.min.session.timeout.ms", 6000);
  }

  get #maxSessionTimeoutMs(): number {
    return configNumber(this.#deps.config, "group.max.session.timeout.ms", 1_800_000);
  }

  get #offsetsRetentionMs(): number {
    return configNumber(this.#deps.config, "offsets.retention.minutes", 10080) * 60_000;
  }

  get #maxMetadataBytes(): number {
    return configNumber(this.#deps.config, "offset.metadata.max.bytes", 4096);
  }

  /** Partitions of `__consumer_offsets`: the topic's when it exists, else what it will be created with. */
  get #partitionCount(): number {
    return this.#deps.metadata.topic(OFFSETS_TOPIC)?.partitions.length ??
      configNumber(this.#deps.config, "offsets.topic.num.partitions", 50);
  }

  // --- load, start, close --------------------------------------------------------------------------------

  /**
   * Starts following the leadership of the `__consumer_offsets` partitions, and loads those this broker leads
   * now (their groups are served once this resolves, unless a load waits for earlier entries to commit).
   */
  load(): Promise<void> {
    this.#stopFollowingLeadership ??= this.#deps.replicas.onLeadership((replica) => {
      // Deferred: the listener runs inside the replica's own state change, and a replay reads its log.
      if (replica.topic === OFFSETS_TOPIC) queueMicrotask(() => this.#reconcile(replica.partition));
    });
    const started = performance.now();
    this.#reconcileAll();
    this.#deps.logger.info("group coordinator started", {
      partitions_led: this.#partitions.partitions().length,
      groups: this.classicGroups.size,
      groupsWithOffsets: this.offsets.groups().length,
      loadMs: Math.round(performance.now() - started),
    });
    return Promise.resolve();
  }

  /** Brings every offsets partition's coordinator state up to date with its replica. */
  #reconcileAll(): void {
    const topic = this.#deps.metadata.topic(OFFSETS_TOPIC);
    for (const p of topic?.partitions ?? []) if (p) this.#reconcile(p.partition);
  }

  /**
   * Looks at this broker's replica of offsets partition `partition`, loads or unloads its groups as it now
   * leads it or not, and returns how its groups are answered (NONE, COORDINATOR_LOAD_IN_PROGRESS,
   * NOT_COORDINATOR). Called on leadership changes and, since a change may reach here only through the replica
   * itself, before each group request.
   */
  #reconcile(partition: number): number {
    if (this.#closed) return ErrorCode.NOT_COORDINATOR;
    const replica = this.#deps.replicas.get(OFFSETS_TOPIC, partition);
    const steps = this.#partitions.observe(
      partition,
      replica && {
        isLeader: replica.isLeader,
        leaderEpoch: replica.leaderEpoch,
        logEndOffset: replica.logEndOffset,
        highWatermark: replica.highWatermark,
      },
    );
    if (steps.unload) this.#unloadPartition(partition, replica);
    if (steps.replay) {
      try {
        this.#replayPartition(replica!);
        this.#partitions.loaded(partition);
      } catch (e) {
        // Its log cannot be read (offline storage): not coordinator until a later request tries again.
        this.#deps.logger.error("loading groups failed", { partition, error: String(e) });
        this.#unloadPartition(partition, replica);
        this.#partitions.observe(partition, undefined);
        return ErrorCode.NOT_COORDINATOR;
      }
    }
    if (steps.awaitHighWatermark && this.#awaitingHighWatermark.get(partition) !== replica) {
      this.#awaitingHighWatermark.set(partition, replica!);
      replica!.highWatermarkAdvanced.once(() => {
        if (this.#awaitingHighWatermark.get(partition) === replica) this.#awaitingHighWatermark.delete(partition);
        this.#reconcile(partition);
      });
    }
    return this.#partitions.errorCode(partition);
  }

  /** Replays one offsets partition up to its high watermark into the groups and offsets, then serves them. */
  #replayPartition(replica: PartitionReplica): void {
    const started = performance.now();
    const groupRecords = new Map<string, GroupMetadataValue | null>();
    const withOffsets = new Set<string>();
    let records = 0;
    replayRecords(replica.log, (r) => {
      if (r.key === null) return;
      records++;
      this.#replay(r.key, r.value, groupRecords, withOffsets);
    }, replica.highWatermark);
    const now = this.#deps.now();
    const loaded: ClassicGroupType[] = [];
    for (const [groupId, value] of groupRecords) {
      if (value === null) continue;
      const group = ClassicGroup.fromRecord(groupId, value, this.#settings, now);
      this.classicGroups.set(groupId, group);
      loaded.push(group);
    }
    // Offsets without group metadata belong to a "simple" group (commits without group management): Kafka
    // recreates it, Empty, when it replays them.
    for (const groupId of withOffsets) {
      if (this.offsets.has(groupId) && !this.classicGroups.has(groupId) && !this.extension?.has?.(groupId)) {
        const group = new ClassicGroup(groupId, this.#settings, now);
        this.classicGroups.set(groupId, group);
        loaded.push(group);
      }
    }
    this.extension?.loaded?.(now);
    for (const group of loaded) this.#schedule(group);
    // Every partition led here is loaded at each start: the empty ones are not worth an operator's line.
    this.#deps.logger.log(records > 0 ? "info" : "debug", "group coordinator loaded partition", {
      partition: replica.partition,
      leader_epoch: replica.leaderEpoch,
      groups: loaded.length,
      records,
      loadMs: Math.round(performance.now() - started),
    });
  }

  /**
   * Drops the groups and offsets of an offsets partition no longer led here: their held JoinGroup and SyncGroup
   * requests are answered NOT_COORDINATOR (the members find the new coordinator), their deadlines are gone with
   * them, and a write still in flight for them is answered NOT_COORDINATOR (see `writeRecords`).
   */
  #unloadPartition(partition: number, replica: PartitionReplica | undefined): void {
    const count = this.#partitionCount;
    const belongs = (groupId: string) => partitionForGroup(groupId, count) === partition;
    let groups = 0;
    for (const [groupId, group] of [...this.classicGroups]) {
      if (!belongs(groupId)) continue;
      this.classicGroups.delete(groupId);
      groups++;
      this.#answerHeld(group.groupId, ErrorCode.NOT_COORDINATOR);
    }
    for (const groupId of this.offsets.groups()) if (belongs(groupId)) this.#forgetOffsets(groupId);
    this.extension?.unload?.(belongs);
    this.#deps.logger.info("group coordinator unloaded partition", {
      partition,
      groups,
      leader: replica?.leaderId ?? -1,
    });
  }

  /** Answers every held JoinGroup and SyncGroup of a group with `errorCode`. */
  #answerHeld(groupId: string, errorCode: number): void {
    const prefix = `${groupId}\u0000`;
    for (const [key, queue] of [...this.#heldJoins]) {
      if (!key.startsWith(prefix)) continue;
      this.#heldJoins.delete(key);
      for (const resolve of queue) resolve(joinError(key.slice(prefix.length), errorCode));
    }
    for (const [key, queue] of [...this.#heldSyncs]) {
      if (!key.startsWith(prefix)) continue;
      this.#heldSyncs.delete(key);
      for (const resolve of queue) {
        resolve({ errorCode, protocolType: null, protocolName: null, assignment: new Uint8Array(0) });
      }
    }
  }

  /**
   * How a request for `groupId` is answered here: NONE when this broker coordinates the group (its offsets
   * partition is led and loaded here), else NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS. Before
   * `__consumer_offsets` exists nothing is stored anywhere, and every group is answered (as empty).
   */
  coordinatorError(groupId: string): number {
    const topic = this.#deps.metadata.topic(OFFSETS_TOPIC);
    if (!topic) return ErrorCode.NONE;
    return this.#reconcile(partitionForGroup(groupId, topic.partitions.length));
  }

  /**
   * {@link coordinatorError} for a request that stores something: `__consumer_offsets` is created first when
   * it does not exist (COORDINATOR_NOT_AVAILABLE when that fails), so no group lives here before its partition.
   */
  async coordinatorErrorForWrite(groupId: string): Promise<number> {
    if (!this.#deps.metadata.topic(OFFSETS_TOPIC)) {
      try {
        await this.ensureOffsetsTopic();
      } catch (e) {
        this.#deps.logger.error("cannot create the offsets topic", { error: String(e) });
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    return this.coordinatorError(groupId);
  }

  /**
   * ListGroups' error: COORDINATOR_LOAD_IN_PROGRESS while a partition led here is still loading, as Kafka
   * answers (partitions led elsewhere are left out, their groups listed by their own coordinators).
   */
  listGroupsError(): number {
    this.#reconcileAll();
    return this.#partitions.anyLoading() ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE;
  }

  #replay(
    key: Uint8Array,
    value: Uint8Array | null,
    groups: Map<string, GroupMetadataValue | null>,
    withOffsets: Set<string>,
  ): void {
    let record;
    try {
      record = decodeCoordinatorRecord(key, value);
    } catch (e) {
      this.#deps.logger.warn("skipping undecodable __consumer_offsets record", { error: String(e) });
      return;
    }
    switch (record.type) {
      case "offset":
        withOffsets.add(record.group);
        if (record.value === null) this.offsets.delete(record.group, record.topic, record.partition);
        else {
          this.offsets.set(record.group, record.topic, record.partition, {
            offset: record.value.offset,
            leaderEpoch: record.value.leaderEpoch,
            metadata: record.value.metadata,
            commitTimestampMs: Number(record.value.commitTimestamp),
            expireTimestampMs: Number(record.value.expireTimestamp),
          });
        }
        break;
      case "group":
        groups.set(record.group, record.value);
        break;
      case "other":
        this.extension?.replay?.(record);
        break;
    }
  }

  /** Starts the offset expiry check (`offsets.retention.check.interval.ms`). */
  start(): void {
    const intervalMs = configNumber(this.#deps.config, "offsets.retention.check.interval.ms", 600_000);
    const timer = setInterval(() => {
      this.expireOffsets().catch((e) => this.#deps.logger.error("offset expiry failed", { error: String(e) }));
    }, intervalMs);
    Deno.unrefTimer(timer);
    this.#retentionTimer = timer;
  }

  /** Stops the timers and stops following leadership; held requests are left to their closing connections. */
  close(): void {
    this.#closed = true;
    this.#stopFollowingLeadership?.();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#retentionTimer !== undefined) clearInterval(this.#retentionTimer);
  }

  // --- timers and held answers ---------------------------------------------------------------------------

  /** Makes sure the one timer fires by the group's next deadline. */
  #schedule(group: ClassicGroupType): void {
    const deadline = group.nextDeadlineMs();
    if (deadline === undefined || deadline >= this.#timerAtMs || this.#closed) return;
    this.#arm(deadline);
  }

  #arm(deadlineMs: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAtMs = deadlineMs;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, deadlineMs - this.#deps.now()));
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAtMs = Infinity;
    const now = this.#deps.now();
    let next = Infinity;
    for (const group of this.classicGroups.values()) {
      const deadline = group.nextDeadlineMs();
      if (deadline !== undefined && deadline <= now) {
        group.tick(now);
        this.#flush(group);
      }
      next = Math.min(next, group.nextDeadlineMs() ?? Infinity);
    }
    if (next < this.#timerAtMs && !this.#closed) this.#arm(next);
  }

  /** Delivers the group's held answers, writes its metadata when asked, and reschedules its deadline. */
  #flush(group: ClassicGroupType): void {
    // A group unloaded meanwhile (its partition led elsewhere now) has nobody left to answer.
    if (this.classicGroups.get(group.groupId) !== group) return;
    this.#deliver(group.groupId, group.takeReplies());
    const store = group.takeStoreRequest();
    if (store !== undefined) {
      const record = groupMetadataRecord(group.groupId, group.toRecord());
      this.writeRecords(group.groupId, [record]).then((errorCode) => {
        if (store.assignmentPending) {
          group.assignmentStored(store.generationId, errorCode, this.#deps.now());
          this.#flush(group);
        } else if (errorCode !== ErrorCode.NONE) {
          this.#deps.logger.warn("storing group metadata failed", { groupId: group.groupId, errorCode });
        }
      });
    }
    this.#schedule(group);
  }

  #deliver(groupId: string, replies: Reply[]): void {
    for (const reply of replies) {
      const key = `${groupId}\u0000${reply.memberId}`;
      if (reply.kind === "join") takeHeld(this.#heldJoins, key)?.(reply.result);
      else takeHeld(this.#heldSyncs, key)?.(reply.result);
    }
  }

  // --- writes --------------------------------------------------------------------------------------------

  /** Creates `__consumer_offsets` unless it exists (FindCoordinator does this first, as in Kafka). */
  ensureOffsetsTopic(): Promise<void> {
    // While the controller creates it, the topic is in the metadata image before its logs are open: wait.
    if (this.#creatingTopic) return this.#creatingTopic;
    if (this.#deps.metadata.topic(OFFSETS_TOPIC)) return Promise.resolve();
    this.#creatingTopic = (async () => {
      const [result] = await this.#deps.controller.createTopics([{
        name: OFFSETS_TOPIC,
        numPartitions: configNumber(this.#deps.config, "offsets.topic.num.partitions", 50),
        // Kafka 4.4 refuses the topic (INVALID_REPLICATION_FACTOR: FindCoordinator answers
        // COORDINATOR_NOT_AVAILABLE) while fewer brokers are live than this; it does not cap it.
        replicationFactor: this.#deps.cluster
          ? configNumber(this.#deps.config, "offsets.topic.replication.factor", 3)
          : 1,
        assignments: [],
        configs: {
          "cleanup.policy": "compact",
          "compression.type": "producer",
          "segment.bytes": String(configNumber(this.#deps.config, "offsets.topic.segment.bytes", 104_857_600)),
        },
      }], false);
      if (result.errorCode !== ErrorCode.NONE && result.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
        throw new Error(`creating ${OFFSETS_TOPIC} failed: ${result.errorCode} ${result.errorMessage}`);
      }
      this.#deps.logger.info("created internal topic", { topic: OFFSETS_TOPIC, partitions: result.numPartitions });
    })().finally(() => this.#creatingTopic = undefined);
    return this.#creatingTopic;
  }

  /**
   * Appends `records` to the `__consumer_offsets` partition of `groupId` and resolves, with an error code, once
   * they are durable. The one write path of every group type.
   */
  async writeRecords(groupId: string, records: StoredRecord[]): Promise<number> {
    if (records.length === 0) return ErrorCode.NONE;
    try {
      await this.ensureOffsetsTopic();
    } catch (e) {
      this.#deps.logger.error("cannot create the offsets topic", { error: String(e) });
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    const partition = partitionForGroup(groupId, this.#partitionCount);
    const coordinatorError = this.#reconcile(partition);
    if (coordinatorError !== ErrorCode.NONE) return coordinatorError;
    const replica = this.#deps.replicas.get(OFFSETS_TOPIC, partition)!;
    const loadId = this.#partitions.loadIdOf(partition);
    const now = this.#deps.now();
    const batch = buildRecordBatch(records.map((r) => ({ timestamp: now, key: r.key, value: r.value })));
    const topic = this.#deps.metadata.topic(OFFSETS_TOPIC)!;
    const settings = topicSettings(this.#deps.config, Object.fromEntries(topic.configs)).produce;
    const outcome = replica.append(batch, settings, now);
    if (outcome.errorCode !== ErrorCode.NONE) return writeErrorCode(outcome.errorCode);
    try {
      await outcome.durable;
    } catch {
      return ErrorCode.NOT_COORDINATOR;
    }
    // The partition was unloaded (and maybe loaded again) meanwhile: the change is in the log, and the new
    // coordinator has it, but the state this write was to update is gone. The client asks the new coordinator.
    if (this.#partitions.loadIdOf(partition) !== loadId) return ErrorCode.NOT_COORDINATOR;
    return ErrorCode.NONE;
  }

  // --- classic group APIs --------------------------------------------------------------------------------

  /** The group, when it exists and is not Dead. */
  group(groupId: string): ClassicGroupType | undefined {
    return this.classicGroups.get(groupId);
  }

  /** JoinGroup. */
  joinGroup(
    req: {
      groupId: string;
      memberId: string;
      groupInstanceId: string | null;
      sessionTimeoutMs: number;
      rebalanceTimeoutMs: number;
      protocolType: string;
      protocols: MemberProtocol[];
    },
    apiVersion: number,
    clientId: string,
    clientHost: string,
  ): Promise<JoinResult> | JoinResult {
    const error = (errorCode: number): JoinResult => joinError(req.memberId, errorCode);
    if (req.groupId === "") return error(ErrorCode.INVALID_GROUP_ID);
    if (req.sessionTimeoutMs < this.#minSessionTimeoutMs || req.sessionTimeoutMs > this.#maxSessionTimeoutMs) {
      return error(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    if (!this.#deps.metadata.topic(OFFSETS_TOPIC)) {
      return this.coordinatorErrorForWrite(req.groupId).then((errorCode) =>
        errorCode === ErrorCode.NONE ? this.#join(req, apiVersion, clientId, clientHost) : error(errorCode)
      );
    }
    const coordinatorError = this.coordinatorError(req.groupId);
    if (coordinatorError !== ErrorCode.NONE) return error(coordinatorError);
    return this.#join(req, apiVersion, clientId, clientHost);
  }

  /** JoinGroup, once the request is valid and the group is coordinated here. */
  #join(
    req: Parameters<GroupCoordinator["joinGroup"]>[0],
    apiVersion: number,
    clientId: string,
    clientHost: string,
  ): Promise<JoinResult> | JoinResult {
    const error = (errorCode: number): JoinResult => joinError(req.memberId, errorCode);
    if (this.extension?.has?.(req.groupId)) return error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    let group = this.classicGroups.get(req.groupId);
    const isNewGroup = !group;
    if (!group) {
      if (req.memberId !== "") return error(ErrorCode.UNKNOWN_MEMBER_ID);
      group = new ClassicGroup(req.groupId, this.#settings, this.#deps.now());
      this.classicGroups.set(req.groupId, group);
    }
    const joinRequest: JoinRequest = {
      ...req,
      // JoinGroup v0 has no rebalance timeout: it is the session timeout.
      rebalanceTimeoutMs: apiVersion === 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs,
      clientId,
      clientHost,
      requireKnownMemberId: apiVersion >= 4,
      newMemberId: `${req.groupInstanceId ?? clientId}-${crypto.randomUUID()}`,
    };
    const answer = group.join(joinRequest, this.#deps.now());
    let held: Promise<JoinResult> | undefined;
    if (answer.held) {
      const key = `${group.groupId}\u0000${answer.memberId}`;
      held = new Promise((resolve) => addHeld(this.#heldJoins, key, resolve));
    }
    if (isNewGroup && !group.hasStoreRequest()) {
      // Kafka commits a group it creates even when the JoinGroup fails (an Empty group record).
      this.writeRecords(group.groupId, [groupMetadataRecord(group.groupId, group.toRecord())]);
    }
    this.#flush(group);
    return answer.held ? held! : answer.result;
  }

  /** SyncGroup. */
  syncGroup(groupId: string, req: SyncRequest): Promise<SyncResult> | SyncResult {
    const error = (errorCode: number): SyncResult => ({
      errorCode,
      protocolType: null,
      protocolName: null,
      assignment: new Uint8Array(0),
    });
    if (groupId === "") return error(ErrorCode.INVALID_GROUP_ID);
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return error(coordinatorError);
    const group = this.classicGroups.get(groupId);
    if (!group) return error(ErrorCode.UNKNOWN_MEMBER_ID);
    const answer = group.sync(req, this.#deps.now());
    let held: Promise<SyncResult> | undefined;
    if (answer.held) {
      const key = `${groupId}\u0000${answer.memberId}`;
      held = new Promise((resolve) => addHeld(this.#heldSyncs, key, resolve));
    }
    this.#flush(group);
    return answer.held ? held! : answer.result;
  }

  /** Heartbeat; returns the error code. */
  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (groupId === "") return ErrorCode.INVALID_GROUP_ID;
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return coordinatorError;
    const group = this.classicGroups.get(groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    const errorCode = group.heartbeat(memberId, groupInstanceId, generationId, this.#deps.now());
    this.#flush(group);
    return errorCode;
  }

  /** LeaveGroup; the group-level error, and each member's. */
  leaveGroup(
    groupId: string,
    members: { memberId: string; groupInstanceId: string | null }[],
  ): { errorCode: number; memberErrors: number[] } {
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, memberErrors: [] };
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return { errorCode: coordinatorError, memberErrors: [] };
    const group = this.classicGroups.get(groupId);
    // Kafka answers each member of a group it does not know with UNKNOWN_MEMBER_ID.
    if (!group) return { errorCode: ErrorCode.NONE, memberErrors: members.map(() => ErrorCode.UNKNOWN_MEMBER_ID) };
    if (group.state === "Dead") return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, memberErrors: [] };
    const memberErrors = group.leave(members, this.#deps.now());
    this.#flush(group);
    return { errorCode: ErrorCode.NONE, memberErrors };
  }

  // --- offsets -------------------------------------------------------------------------------------------

  /** OffsetCommit: one error per partition, in request order. Answers once the records are durable. */
  async commitOffsets(
    req: {
      groupId: string;
      generationIdOrMemberEpoch: number;
      memberId: string;
      groupInstanceId: string | null;
      retentionTimeMs: bigint;
      topics: {
        name: string;
        partitions: {
          partitionIndex: number;
          committedOffset: bigint;
          committedLeaderEpoch: number;
          committedMetadata: string | null;
        }[];
      }[];
    },
    apiVersion: number,
    slicer: WorkSlicer = slicerFor({}),
  ): Promise<{ name: string; partitions: PartitionError[] }[]> {
    const all = (errorCode: number) =>
      req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      }));
    // Kafka 4 accepts an empty group id here (unlike JoinGroup): it is a group like any other.
    const coordinatorError = await this.coordinatorErrorForWrite(req.groupId);
    if (coordinatorError !== ErrorCode.NONE) return all(coordinatorError);
    const groupError = this.#validateCommit(req, apiVersion);
    if (groupError !== ErrorCode.NONE) return all(groupError);

    const now = this.#deps.now();
    const expireTimestampMs = apiVersion <= 4 && req.retentionTimeMs !== -1n ? now + Number(req.retentionTimeMs) : -1;
    const records: StoredRecord[] = [];
    const toApply: { topic: string; partition: number; offset: CommittedOffset }[] = [];
    // Kafka writes a commit's records as one atomic batch and refuses one larger than the offsets topic's
    // max.message.bytes (RecordTooLargeException: INVALID_COMMIT_OFFSET_SIZE). Counting the bytes as the records
    // are built lets a commit of a million partitions stop building them once it is bound to be refused, instead
    // of encoding them all (seconds of work and hundreds of MB) only to have the append refuse the batch.
    const maxBatchBytes = this.#offsetsMaxMessageBytes();
    let batchBytes = RECORD_BATCH_OVERHEAD_BYTES;
    let tooLarge = false;
    const results: { name: string; partitions: PartitionError[] }[] = [];
    for (const t of req.topics) {
      const partitions: PartitionError[] = [];
      results.push({ name: t.name, partitions });
      const topicId = this.#deps.metadata.topic(t.name)?.topicId;
      for (const p of t.partitions) {
        if (slicer.due()) await slicer.pause();
        const metadata = p.committedMetadata ?? "";
        // A UTF-8 character takes at most 3 bytes per UTF-16 unit: most metadata needs no encoding to check.
        if (metadata.length * 3 > this.#maxMetadataBytes && utf8.encode(metadata).length > this.#maxMetadataBytes) {
          partitions.push({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE });
          continue;
        }
        partitions.push({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE });
        if (tooLarge) continue;
        const offset: CommittedOffset = {
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata,
          commitTimestampMs: now,
          expireTimestampMs,
        };
        const record = offsetCommitRecord(req.groupId, t.name, p.partitionIndex, {
          offset: offset.offset,
          leaderEpoch: offset.leaderEpoch,
          metadata,
          commitTimestamp: BigInt(now),
          expireTimestamp: BigInt(expireTimestampMs),
        }, topicId);
        batchBytes += RECORD_OVERHEAD_BYTES + record.key.length + (record.value?.length ?? 0);
        if (batchBytes > maxBatchBytes) {
          tooLarge = true;
          records.length = 0;
          toApply.length = 0;
          continue;
        }
        records.push(record);
        toApply.push({ topic: t.name, partition: p.partitionIndex, offset });
      }
    }
    const writeError = tooLarge ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : await this.writeRecords(req.groupId, records);
    if (writeError !== ErrorCode.NONE) {
      for (const t of results) {
        for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = writeError;
      }
      return results;
    }
    for (const a of toApply) {
      this.offsets.set(req.groupId, a.topic, a.partition, a.offset);
      if (slicer.due()) await slicer.pause();
    }
    return results;
  }

  /** `max.message.bytes` of `__consumer_offsets` (its default before the topic exists). */
  #offsetsMaxMessageBytes(): number {
    const topic = this.#deps.metadata.topic(OFFSETS_TOPIC);
    return topicSettings(this.#deps.config, Object.fromEntries(topic?.configs ?? [])).produce.maxMessageBytes;
  }

  #validateCommit(
    req: { groupId: string; generationIdOrMemberEpoch: number; memberId: string; groupInstanceId: string | null },
    apiVersion: number,
  ): number {
    if (this.extension?.has?.(req.groupId)) {
      return this.extension.validateOffsetCommit?.(req.groupId, req.memberId, req.generationIdOrMemberEpoch) ??
        ErrorCode.NONE;
    }
    let group = this.classicGroups.get(req.groupId);
    if (!group) {
      if (req.generationIdOrMemberEpoch >= 0) {
        // OffsetCommit v9 says GROUP_ID_NOT_FOUND; older versions keep ILLEGAL_GENERATION, as Kafka does.
        return apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION;
      }
      // A "simple" group: offsets committed without group management (kcat -C, assign()).
      group = new ClassicGroup(req.groupId, this.#settings, this.#deps.now());
      this.classicGroups.set(req.groupId, group);
    }
    const errorCode = group.validateOffsetCommit(req.memberId, req.groupInstanceId, req.generationIdOrMemberEpoch);
    if (errorCode === ErrorCode.NONE) group.offsetCommitted(req.memberId, this.#deps.now());
    return errorCode;
  }

  /** OffsetFetch of one group: `topics` null asks for every committed partition. */
  fetchOffsets(
    groupId: string,
    topics: { name: string; partitionIndexes: number[] }[] | null,
    member?: { memberId: string | null; memberEpoch: number },
  ): { errorCode: number; topics: { name: string; partitions: FetchedOffset[] }[] } {
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return { errorCode: coordinatorError, topics: [] };
    if (member?.memberId && this.extension?.has?.(groupId) && this.extension.validateOffsetFetch) {
      const errorCode = this.extension.validateOffsetFetch(groupId, member.memberId, member.memberEpoch);
      if (errorCode !== ErrorCode.NONE) return { errorCode, topics: [] };
    }
    const answer = (topic: string, partition: number): FetchedOffset => {
      const o = this.offsets.get(groupId, topic, partition);
      return {
        partitionIndex: partition,
        committedOffset: o?.offset ?? -1n,
        committedLeaderEpoch: o?.leaderEpoch ?? -1,
        metadata: o?.metadata ?? "",
        errorCode: ErrorCode.NONE,
      };
    };
    if (topics === null) {
      return {
        errorCode: ErrorCode.NONE,
        topics: [...this.offsets.topicsOf(groupId)].map(([name, partitions]) => ({
          name,
          partitions: [...partitions.keys()].map((p) => answer(name, p)),
        })),
      };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => answer(t.name, p)) })),
    };
  }

  /** OffsetDelete: the group-level error and each partition's. */
  deleteOffsets(
    groupId: string,
    topics: { name: string; partitions: { partitionIndex: number }[] }[],
  ): Promise<{ errorCode: number; topics: { name: string; partitions: PartitionError[] }[] }> {
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return Promise.resolve({ errorCode: coordinatorError, topics: [] });
    if (this.extension?.has?.(groupId)) {
      return this.#deleteOffsetsOf(groupId, topics, this.extension.subscribedTopics?.(groupId));
    }
    const group = this.classicGroups.get(groupId);
    if (!group || group.state === "Dead") {
      return Promise.resolve({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] });
    }
    if (group.state !== "Empty" && group.protocolType !== "consumer") {
      return Promise.resolve({ errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] });
    }
    let subscribed: Set<string> | undefined = new Set();
    if (group.state !== "Empty") {
      for (const m of group.members.values()) {
        const topicsOfMember = subscribedTopics(group.metadataOf(m));
        if (topicsOfMember === undefined) {
          subscribed = undefined;
          break;
        }
        for (const t of topicsOfMember) subscribed.add(t);
      }
    }
    return this.#deleteOffsetsOf(groupId, topics, subscribed);
  }

  /** Deletes the offsets of `topics` not in `subscribed` (undefined: subscribed to every topic). */
  async #deleteOffsetsOf(
    groupId: string,
    topics: { name: string; partitions: { partitionIndex: number }[] }[],
    subscribed: ReadonlySet<string> | undefined,
  ): Promise<{ errorCode: number; topics: { name: string; partitions: PartitionError[] }[] }> {
    const records: StoredRecord[] = [];
    const toDelete: TopicPartition[] = [];
    const results = topics.map((t) => {
      const isSubscribed = subscribed === undefined || subscribed.has(t.name);
      return {
        name: t.name,
        partitions: t.partitions.map((p) => {
          if (isSubscribed) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
          if (this.offsets.get(groupId, t.name, p.partitionIndex) !== undefined) {
            records.push(offsetCommitRecord(groupId, t.name, p.partitionIndex, null));
            toDelete.push({ topic: t.name, partition: p.partitionIndex });
          }
          return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE };
        }),
      };
    });
    const writeError = await this.writeRecords(groupId, records);
    if (writeError !== ErrorCode.NONE) return { errorCode: writeError, topics: [] };
    for (const tp of toDelete) this.offsets.delete(groupId, tp.topic, tp.partition);
    return { errorCode: ErrorCode.NONE, topics: results };
  }

  // --- admin ---------------------------------------------------------------------------------------------

  /** DeleteGroups: one error code per group, in order. */
  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const results: { groupId: string; errorCode: number }[] = [];
    for (const groupId of kafkaDeleteOrder(groupIds, this.#partitionCount)) {
      const coordinatorError = this.coordinatorError(groupId);
      if (coordinatorError !== ErrorCode.NONE) {
        results.push({ groupId, errorCode: coordinatorError });
        continue;
      }
      if (this.extension?.has?.(groupId) && this.extension.deleteGroup) {
        const { errorCode, records } = this.extension.deleteGroup(groupId);
        const tombstones = this.offsets.partitionsOf(groupId).map((tp) =>
          offsetCommitRecord(groupId, tp.topic, tp.partition, null)
        );
        const writeError = errorCode === ErrorCode.NONE
          ? await this.writeRecords(groupId, [...tombstones, ...records])
          : errorCode;
        if (writeError === ErrorCode.NONE) this.#forgetOffsets(groupId);
        results.push({ groupId, errorCode: writeError });
        continue;
      }
      const group = this.classicGroups.get(groupId);
      if (!group || group.state === "Dead") {
        results.push({ groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND });
        continue;
      }
      if (group.state !== "Empty") {
        results.push({ groupId, errorCode: ErrorCode.NON_EMPTY_GROUP });
        continue;
      }
      results.push({ groupId, errorCode: await this.#deleteEmptyGroup(group) });
    }
    return results;
  }

  /** Writes the tombstones of an Empty group and its offsets, then forgets it. */
  async #deleteEmptyGroup(group: ClassicGroupType): Promise<number> {
    const groupId = group.groupId;
    const records = this.offsets.partitionsOf(groupId).map((tp) =>
      offsetCommitRecord(groupId, tp.topic, tp.partition, null)
    );
    records.push(groupMetadataRecord(groupId, null));
    const errorCode = await this.writeRecords(groupId, records);
    if (errorCode !== ErrorCode.NONE) return errorCode;
    // A member may have joined while the tombstones were written: then the group lives on.
    if (group.state !== "Empty" || this.classicGroups.get(groupId) !== group) return ErrorCode.NON_EMPTY_GROUP;
    group.markDead(this.#deps.now());
    this.classicGroups.delete(groupId);
    this.#forgetOffsets(groupId);
    return ErrorCode.NONE;
  }

  #forgetOffsets(groupId: string): void {
    for (const tp of this.offsets.partitionsOf(groupId)) this.offsets.delete(groupId, tp.topic, tp.partition);
  }

  /**
   * Expires committed offsets of groups without members after `offsets.retention.minutes` (KIP-211): counted
   * from when a consumer group became Empty, or from each commit for groups that never had members. An Empty
   * group left without offsets is deleted.
   */
  async expireOffsets(): Promise<void> {
    const now = this.#deps.now();
    const retentionMs = this.#offsetsRetentionMs;
    const groupIds = new Set([...this.offsets.groups(), ...this.classicGroups.keys()]);
    for (const groupId of groupIds) {
      if (this.extension?.has?.(groupId)) continue;
      const group = this.classicGroups.get(groupId);
      if (group && group.state !== "Empty") continue;
      const base = group && group.protocolType !== null ? group.currentStateTimestampMs : undefined;
      const expired = this.offsets.expired(groupId, now, retentionMs, base);
      if (expired.length > 0) {
        const records = expired.map((tp) => offsetCommitRecord(groupId, tp.topic, tp.partition, null));
        if (await this.writeRecords(groupId, records) !== ErrorCode.NONE) continue;
        for (const tp of expired) this.offsets.delete(groupId, tp.topic, tp.partition);
        this.#deps.logger.info("expired committed offsets", { groupId, partitions: expired.length });
      }
      if (group && group.state === "Empty" && !this.offsets.has(groupId)) await this.#deleteEmptyGroup(group);
    }
  }

  /** DescribeGroups of one classic group (a group that does not exist is described as Dead). */
  describeGroup(groupId: string): DescribedGroup {
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) {
      // As Kafka's DescribeGroupsResponse.groupError: unknown state, protocol type and protocol.
      return { errorCode: coordinatorError, groupId, groupState: "", protocolType: "", protocolData: "", members: [] };
    }
    if (this.extension?.has?.(groupId) && this.extension.describe) return this.extension.describe(groupId);
    const group = this.classicGroups.get(groupId);
    if (!group) {
      return {
        errorCode: ErrorCode.NONE,
        groupId,
        groupState: "Dead",
        protocolType: "",
        protocolData: "",
        members: [],
      };
    }
    const stable = group.state === "Stable";
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      groupState: group.state,
      protocolType: group.protocolType ?? "",
      protocolData: stable ? group.protocolName ?? "" : "",
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        // Kafka shows metadata and assignment only once the group is Stable.
        memberMetadata: stable ? group.metadataOf(m) : new Uint8Array(0),
        memberAssignment: stable ? m.assignment : new Uint8Array(0),
      })),
    };
  }

  /** ListGroups, filtered by state and type names (case-insensitive; empty filters match all). */
  listGroups(statesFilter: readonly string[], typesFilter: readonly string[]): ListedGroup[] {
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const listed: ListedGroup[] = [...this.classicGroups.values()]
      .filter((g) => g.state !== "Dead")
      .map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType ?? "",
        groupState: g.state,
        groupType: GROUP_TYPE_CLASSIC,
      }));
    listed.push(...(this.extension?.list?.() ?? []));
    return listed.filter((g) =>
      (states.size === 0 || states.has(g.groupState.toLowerCase())) &&
      (types.size === 0 || types.has(g.groupType.toLowerCase()))
    );
  }
}

/**
 * The broker's group coordinator (every running broker has one; a handler test without one fails loudly).
 *
 * @example
 * ```ts ignore
 * const errorCode = groupCoordinatorOf(ctx).heartbeat("g", memberId, null, generationId);
 * ```
 */
export function groupCoordinatorOf(ctx: BrokerContext): GroupCoordinator {
  if (!ctx.groups) throw new Error("this broker context has no group coordinator");
  return ctx.groups;
}
