/**
 * Test helper for handler tests: gives a real replica of a `ReplicaFixture` another role as the handlers see it
 * (a follower that knows some other leader, a new leader whose high watermark lags its epoch start), without a
 * Raft group of several brokers. Only what the handlers read about leadership is replaced; everything else (the
 * log, the high watermark, reads and appends) is the real replica's.
 *
 * @module
 */
import type { PartitionReplica } from "../../../broker/replication/partition_replica.ts";
import type { ReplicaManager } from "../../../broker/replication/replica_manager.ts";

/** The leadership facts a test may set, and `append` (to answer as a replica deposed in the middle of a request). */
export type ReplicaRole = Partial<
  Pick<PartitionReplica, "isLeader" | "leaderId" | "leaderEpoch" | "leaderEpochStartOffset" | "append">
>;

/**
 * From now on `replicas.get(topic, partition)` returns that partition's replica with `role` over its own facts.
 *
 * @example
 * ```ts ignore
 * playRole(f.ctx.replicas, "orders", 0, { isLeader: false, leaderId: 2 }); // a follower of broker 2
 * ```
 */
export function playRole(replicas: ReplicaManager, topic: string, partition: number, role: ReplicaRole): void {
  const get = replicas.get.bind(replicas);
  replicas.get = (t, p) => {
    const replica = get(t, p);
    if (!replica || t !== topic || p !== partition) return replica;
    // Private fields are read through the real replica, so every member not in `role` is bound to it.
    return new Proxy(replica, {
      get(target, property) {
        if (Object.hasOwn(role, property)) return role[property as keyof ReplicaRole];
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
}
