/**
 * Fetch from the closest replica (KIP-392): which replica a partition's leader tells a consumer to fetch from.
 *
 * With `replica.selector.class` unset (Kafka's default) consumers fetch from the leader. Set to Kafka's
 * `RackAwareReplicaSelector`, a leader answers a consumer fetch (v11+) that names its `rackId` with the
 * `preferredReadReplica` of a replica in the consumer's rack: the leader itself when it is there (answered -1:
 * read on), else the most caught-up in-sync follower there, else the leader. As in Kafka
 * (`ReplicaManager.findPreferredReadReplica`), a follower is a candidate only while it is in sync, holds the fetch
 * offset (log start <= offset <= log end) and its broker is live on the client's listener.
 *
 * `selectReadReplica` is the decision, on plain values; `preferredReadReplica` gathers them from the broker.
 *
 * @module
 */
import type { PartitionReplica } from "./partition_replica.ts";

/** Kafka's class name of the rack-aware selector, the only `replica.selector.class` Samsa implements. */
export const RACK_AWARE_REPLICA_SELECTOR = "org.apache.kafka.common.replica.RackAwareReplicaSelector";

/** One replica as the selector sees it. */
export interface ReplicaView {
  nodeId: number;
  /** Its broker's `broker.rack`; null when unset. */
  rack: string | null;
  /** Its log end offset as the leader knows it. */
  logEndOffset: number;
}

/**
 * The replica a consumer in `clientRack` should read from, as Kafka's `RackAwareReplicaSelector` picks it: the
 * leader when the client names no rack, when no replica is in its rack, or when the leader is; else the
 * same-rack follower with the highest log end offset (the lowest node id among equals). `followers` are the
 * candidates already (in sync, holding the fetch offset, reachable).
 *
 * @example
 * ```ts
 * import { selectReadReplica } from "./replica_selector.ts";
 * const chosen = selectReadReplica("b", { nodeId: 1, rack: "a", logEndOffset: 10 }, [
 *   { nodeId: 2, rack: "b", logEndOffset: 10 },
 *   { nodeId: 3, rack: "c", logEndOffset: 10 },
 * ]);
 * chosen; // 2
 * ```
 */
export function selectReadReplica(clientRack: string, leader: ReplicaView, followers: readonly ReplicaView[]): number {
  if (clientRack === "" || leader.rack === clientRack) return leader.nodeId;
  let best: ReplicaView | undefined;
  for (const f of followers) {
    if (f.rack !== clientRack) continue;
    if (
      !best || f.logEndOffset > best.logEndOffset || (f.logEndOffset === best.logEndOffset && f.nodeId < best.nodeId)
    ) {
      best = f;
    }
  }
  return (best ?? leader).nodeId;
}

/** The live brokers of one request, looked up once (the same for every partition it reads). */
export type LiveBrokers = () => readonly { nodeId: number; rack: string | null }[];

/** What a leader weighs, besides its replica, to name a preferred read replica. */
export interface ReadReplicaQuery {
  /** This broker. */
  nodeId: number;
  /** `replica.selector.class`, or null when unset. */
  selector: string | null;
  /** The consumer's `rackId` (empty when none). */
  clientRack: string;
  fetchOffset: number;
  liveBrokers: LiveBrokers;
}

/**
 * The `preferredReadReplica` a leader answers a consumer fetch with: a follower's node id, or -1 to read from
 * the leader (no selector configured, not the leader, or the selector chose the leader).
 *
 * @example
 * ```ts ignore
 * const preferred = preferredReadReplica(replica, { nodeId: 1, selector, clientRack: "b", fetchOffset: 0, liveBrokers });
 * if (preferred >= 0) return emptyAnswerNaming(preferred);
 * ```
 */
export function preferredReadReplica(replica: PartitionReplica, query: ReadReplicaQuery): number {
  const { nodeId, selector, clientRack, fetchOffset } = query;
  if (selector !== RACK_AWARE_REPLICA_SELECTOR || clientRack === "" || !replica.replicated || !replica.isLeader) {
    return -1;
  }
  const brokers = query.liveBrokers();
  const brokerOf = (id: number) => brokers.find((b) => b.nodeId === id);
  const leader: ReplicaView = { nodeId, rack: brokerOf(nodeId)?.rack ?? null, logEndOffset: replica.logEndOffset };
  const followers: ReplicaView[] = [];
  for (const id of replica.inSyncReplicas()) {
    if (id === nodeId) continue;
    const broker = brokerOf(id);
    const match = replica.raft.matchIndex(id);
    if (!broker || match === undefined) continue;
    const logStartOffset = replica.raft.followerLogStartOffset(id) ?? replica.logStartOffset;
    const logEndOffset = match + 1;
    if (logEndOffset < fetchOffset || logStartOffset > fetchOffset) continue;
    followers.push({ nodeId: id, rack: broker.rack, logEndOffset });
  }
  const chosen = selectReadReplica(clientRack, leader, followers);
  return chosen === nodeId ? -1 : chosen;
}
