/**
 * What every API handler receives: the broker's configuration, its metadata image, its replicas and the
 * controller that changes metadata. Handlers take this and a decoded request and return a response body; they
 * never touch sockets or frames (the dispatcher does).
 *
 * @module
 */
import type {
  OngoingReassignment,
  ReassignmentRequest,
  ReassignmentResult,
} from "./metadata/partition_reassignment.ts";
import type { RequestByKey, RequestHeader, ResponseByKey } from "../protocol/messages.ts";
import type { BrokerConfig } from "./config.ts";
import type { ConnectionInfo } from "./connection.ts";
import type { GroupCoordinator } from "./group/group_coordinator.ts";
import type { LeadershipBalancer } from "./metadata/leadership_balancer.ts";
import type { Logger } from "./logger.ts";
import type { ConfigChangeResult, ConfigResourceChange } from "./config_changes.ts";
import type { MetadataImage } from "./metadata_image.ts";
import type { ConsumerGroupManager } from "./group/consumer_group_manager.ts";
import type { ReplicaManager } from "./replication/replica_manager.ts";
import type { WorkSlicer } from "./work_slices.ts";

/** A topic to create, as CreateTopics (or auto-creation) asks for it. */
export interface TopicCreation {
  name: string;
  /** -1 means `num.partitions`. */
  numPartitions: number;
  /** -1 means `default.replication.factor`. */
  replicationFactor: number;
  /** Explicit replica assignments by partition (CreateTopics `assignments`); empty for automatic. */
  assignments: { partitionIndex: number; brokerIds: number[] }[];
  /** Topic-level config overrides. */
  configs: Record<string, string>;
}

/** The outcome for one topic of a metadata change. */
export interface TopicChangeResult {
  name: string;
  /** The topic id ("" or ZERO_UUID when there is none). */
  topicId: string;
  errorCode: number;
  errorMessage: string | null;
  numPartitions: number;
  replicationFactor: number;
}

/** Changes the cluster metadata: the single writer of `__cluster_metadata`. */
export interface Controller {
  /** Validates and (unless `validateOnly`) creates topics; one result per requested topic, in order. */
  createTopics(topics: TopicCreation[], validateOnly: boolean): Promise<TopicChangeResult[]>;
  /**
   * Deletes topics named, or identified by id; one result per entry, in order. With `slicer` (a large request),
   * planning pauses between slices so that other clients are served meanwhile.
   */
  deleteTopics(
    topics: { name: string | null; topicId: string | null }[],
    slicer?: WorkSlicer,
  ): Promise<TopicChangeResult[]>;
  /** Raises partition counts; one result per topic, in order. */
  createPartitions(
    topics: { name: string; count: number; assignments: number[][] | null }[],
    validateOnly: boolean,
  ): Promise<TopicChangeResult[]>;
  /**
   * Hands out a new producer id (epoch 0) for InitProducerId. Rejects with LogError `storage` when a new block
   * of ids must be reserved and the metadata log cannot be written.
   */
  allocateProducerId(): Promise<bigint>;
  /**
   * Validates and (unless `validateOnly`) commits config changes (IncrementalAlterConfigs, AlterConfigs) as
   * ConfigRecords; every broker then applies them to its open partitions. One result per resource, in order.
   */
  alterConfigs(changes: ConfigResourceChange[], validateOnly: boolean): Promise<ConfigChangeResult[]>;
  /**
   * Starts or cancels (null replicas) partition reassignments (AlterPartitionReassignments); one result per
   * partition, in order. Absent on controllers that cannot move replicas (a test's).
   */
  alterPartitionReassignments?(requests: ReassignmentRequest[]): Promise<ReassignmentResult[]>;
  /** The reassignments in progress, of the partitions named (all when null): ListPartitionReassignments. */
  listPartitionReassignments?(
    wanted: { topic: string; partitions: number[] }[] | null,
  ): Promise<OngoingReassignment[]>;
}

/** The cluster as clients see it (Metadata, DescribeCluster). Absent on a single node, which is all of it. */
export interface ClusterMembership {
  /** The unfenced registered brokers, each at its endpoint on `listenerName` (else its first). */
  liveBrokers(listenerName: string): { nodeId: number; host: string; port: number; rack: string | null }[];
  /** The controller id clients are given. */
  controllerId(): number;
}

/** One member of the metadata quorum as the leader sees it (DescribeQuorum). */
export interface QuorumReplicaState {
  replicaId: number;
  /** The end (exclusive) of the member's log as the leader knows it, -1 when unknown. */
  logEndOffset: number;
  /** When the leader last heard from the member (ms since the epoch), -1 when never. */
  lastFetchTimestamp: number;
  /** When the member last had every committed entry, as far as the leader knows; -1 when unknown. */
  lastCaughtUpTimestamp: number;
}

/** The metadata quorum: its leader, epoch, high watermark, voters and observers, and the voters' listeners. */
export interface QuorumDescription {
  leaderId: number;
  leaderEpoch: number;
  highWatermark: number;
  voters: QuorumReplicaState[];
  observers: QuorumReplicaState[];
  /** The controller endpoints of the voters. */
  nodes: { nodeId: number; listeners: { name: string; host: string; port: number }[] }[];
}

/** Everything a handler may use. */
export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly nodeId: number;
  readonly clusterId: string;
  /** The host and port clients should connect to, per listener name. */
  readonly advertised: ReadonlyMap<string, { host: string; port: number }>;
  readonly metadata: MetadataImage;
  readonly replicas: ReplicaManager;
  readonly controller: Controller;
  /** The brokers and controller of a multi-node cluster; undefined on a single node. */
  readonly cluster?: ClusterMembership;
  /** The metadata quorum as its leader sees it (asked of the active controller); undefined in handler tests. */
  describeQuorum?(): Promise<QuorumDescription>;
  /** Unregisters a broker through the active controller (UnregisterBroker); undefined on a single node. */
  unregisterBroker?(brokerId: number): Promise<{ errorCode: number; errorMessage: string | null }>;
  /** The offset of the last metadata record applied to `metadata` (the finalized features' epoch). */
  metadataOffset?(): number;
  /**
   * The group coordinator: consumer groups and their committed offsets. Optional only so that handler tests
   * which need no groups can leave it out; the broker always has one (see `groupCoordinatorOf`).
   */
  readonly groups?: GroupCoordinator;
  /** Preferred-leader elections of a cluster broker (ElectLeaders); undefined on a single node. */
  readonly leadership?: Pick<LeadershipBalancer, "electPreferred" | "isLive">;
  /** The consumer groups of KIP-848 (ConsumerGroupHeartbeat, ConsumerGroupDescribe). */
  readonly consumerGroups?: ConsumerGroupManager;
  readonly logger: Logger;
  /** Milliseconds since the epoch. */
  now(): number;
}

/** A decoded request as a handler sees it. */
export interface HandlerRequest<K extends keyof RequestByKey> {
  apiVersion: number;
  header: RequestHeader;
  body: RequestByKey[K];
}

/**
 * Answers one API. Returns the response body, or null to send no response (Produce with acks=0).
 *
 * @example
 * ```ts ignore
 * export const handleDescribeCluster: Handler<60> = (ctx, req) => ({ ... });
 * ```
 */
export type Handler<K extends keyof RequestByKey> = (
  ctx: BrokerContext,
  request: HandlerRequest<K>,
  conn: ConnectionInfo,
) => Promise<ResponseByKey[K] | null> | ResponseByKey[K] | null;
