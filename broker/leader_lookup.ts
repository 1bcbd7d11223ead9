/**
 * The partition leader as a client's request meets it. Produce, Fetch, ListOffsets, DeleteRecords and
 * OffsetForLeaderEpoch are served by the partition's leader only; any other broker answers with the error a client
 * acts on, and (KIP-951) tells the client where the leader is, so it need not wait for a metadata refresh.
 *
 * The checks follow Kafka's `ReplicaManager.getPartitionOrException` and `Partition.getLocalLog`, in Kafka's order:
 * 1. no replica here: NOT_LEADER_OR_FOLLOWER when the metadata knows the partition, else UNKNOWN_TOPIC_OR_PARTITION;
 * 2. the request's current leader epoch (KIP-320), when it carries one: older than the replica's leader epoch is
 *    FENCED_LEADER_EPOCH (the client's metadata is stale), newer is UNKNOWN_LEADER_EPOCH (this broker's is);
 * 3. a follower (or a replica that knows no leader yet): NOT_LEADER_OR_FOLLOWER.
 *
 * @module
 */
import { ErrorCode } from "../protocol/messages.ts";
import type { BrokerContext } from "./broker_context.ts";
import type { PartitionReplica } from "./replication/partition_replica.ts";

/** The local leader replica of a partition, or the error a client gets instead. */
export type LeaderLookup =
  | { replica: PartitionReplica; errorCode: typeof ErrorCode.NONE }
  | { replica: undefined; errorCode: number };

/** What the lookup checks beyond the replica's existence. */
export interface LeaderCheck {
  /** The request's current leader epoch; undefined when it carries none (each API says which values mean none). */
  currentLeaderEpoch?: number;
  /** False for the requests Kafka lets a follower answer (consumer Fetch v11+, ListOffsets from a debugging client). Default true. */
  requireLeader?: boolean;
}

/**
 * The replica of `topic`-`partition` that may answer a client here, or why none may.
 *
 * @example
 * ```ts ignore
 * const found = leaderReplica(ctx, "orders", 0, { currentLeaderEpoch: 4 });
 * if (found.replica === undefined) return errorAnswer(found.errorCode);
 * ```
 */
export function leaderReplica(
  ctx: BrokerContext,
  topic: string,
  partition: number,
  check: LeaderCheck = {},
): LeaderLookup {
  const replica = ctx.replicas.get(topic, partition);
  if (!replica) {
    const known = partition >= 0 && ctx.metadata.topic(topic)?.partitions[partition] !== undefined;
    return {
      replica: undefined,
      errorCode: known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    };
  }
  const epoch = check.currentLeaderEpoch;
  if (epoch !== undefined && epoch < replica.leaderEpoch) {
    return { replica: undefined, errorCode: ErrorCode.FENCED_LEADER_EPOCH };
  }
  if (epoch !== undefined && epoch > replica.leaderEpoch) {
    return { replica: undefined, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH };
  }
  if ((check.requireLeader ?? true) && !replica.isLeader) {
    return { replica: undefined, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
  }
  return { replica, errorCode: ErrorCode.NONE };
}

/** A partition's leader and leader epoch as a KIP-951 hint: -1 and -1 when unknown. */
export interface CurrentLeader {
  leaderId: number;
  leaderEpoch: number;
}

/** A broker endpoint as Produce (v10+) and Fetch (v16+) responses list it in `NodeEndpoints`. */
export interface LeaderEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/**
 * The KIP-951 hints of one response: each partition answered NOT_LEADER_OR_FOLLOWER (Produce, Fetch) or
 * FENCED_LEADER_EPOCH (Fetch) names the current leader and its epoch, and the response lists every such leader's
 * endpoint on the client's listener once, when the leader is a live broker (Kafka's `getAliveBrokerNode`).
 *
 * The leader comes from this broker's replica when it knows a leader at least as new as the metadata's (a Raft
 * group learns of its new leader before the controller records it), else from the metadata image, as Kafka's
 * `KafkaApis.getCurrentLeader` prefers the local partition over the metadata cache.
 *
 * @example
 * ```ts ignore
 * const hints = new LeaderHints(ctx, conn.listenerName);
 * answer.currentLeader = hints.currentLeader("orders", 0);
 * response.nodeEndpoints = hints.nodeEndpoints;
 * ```
 */
export class LeaderHints {
  /** The endpoints of the leaders named so far, each once, in the order first named. */
  readonly nodeEndpoints: LeaderEndpoint[] = [];
  readonly #listed = new Set<number>();
  #liveBrokers: LeaderEndpoint[] | undefined;

  constructor(private readonly ctx: BrokerContext, private readonly listenerName: string) {}

  /** The current leader of `topic`-`partition`; its endpoint joins `nodeEndpoints` when it is known and live. */
  currentLeader(topic: string, partition: number): CurrentLeader {
    const leader = this.#leaderOf(topic, partition);
    if (leader.leaderId >= 0 && !this.#listed.has(leader.leaderId)) {
      const endpoint = this.#endpointOf(leader.leaderId);
      if (endpoint) {
        this.#listed.add(leader.leaderId);
        this.nodeEndpoints.push(endpoint);
      }
    }
    return leader;
  }

  #leaderOf(topic: string, partition: number): CurrentLeader {
    const image = partition >= 0 ? this.ctx.metadata.topic(topic)?.partitions[partition] : undefined;
    const fromImage = image ? { leaderId: image.leader, leaderEpoch: image.leaderEpoch } : undefined;
    const replica = this.ctx.replicas.get(topic, partition);
    if (replica && replica.leaderId >= 0 && (!fromImage || replica.leaderEpoch >= fromImage.leaderEpoch)) {
      return { leaderId: replica.leaderId, leaderEpoch: replica.leaderEpoch };
    }
    return fromImage ?? { leaderId: -1, leaderEpoch: -1 };
  }

  #endpointOf(nodeId: number): LeaderEndpoint | undefined {
    if (this.ctx.cluster) {
      this.#liveBrokers ??= this.ctx.cluster.liveBrokers(this.listenerName);
      return this.#liveBrokers.find((b) => b.nodeId === nodeId);
    }
    // A single node is the whole cluster: only its own endpoint exists.
    const own = nodeId === this.ctx.nodeId ? this.ctx.advertised.get(this.listenerName) : undefined;
    return own && { nodeId, host: own.host, port: own.port, rack: null };
  }
}
