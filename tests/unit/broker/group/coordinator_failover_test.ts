/**
 * Group coordinators follow the leadership of their `__consumer_offsets` partition: a broker that stops leading
 * it answers NOT_COORDINATOR (held requests included) and drops its groups; one that leads it again reloads them
 * from the log, including what another leader wrote, once earlier entries are committed
 * (COORDINATOR_LOAD_IN_PROGRESS until then). The replicas are real (real logs); only what they say about their
 * leadership is flipped here, as a Raft election would flip it.
 */
import assert from "node:assert/strict";
import type { BrokerContext, HandlerRequest } from "../../../../broker/broker_context.ts";
import { consumerGroupConfigFrom } from "../../../../broker/group/consumer_group.ts";
import { ConsumerGroupManager } from "../../../../broker/group/consumer_group_manager.ts";
import { offsetCommitRecord, OFFSETS_TOPIC, partitionForGroup } from "../../../../broker/group/coordinator_records.ts";
import { GroupCoordinator } from "../../../../broker/group/group_coordinator.ts";
import { handleConsumerGroupDescribe } from "../../../../broker/handlers/consumer_group_describe.ts";
import { handleConsumerGroupHeartbeat } from "../../../../broker/handlers/consumer_group_heartbeat.ts";
import { handleListGroups } from "../../../../broker/handlers/list_groups.ts";
import { handleOffsetFetch } from "../../../../broker/handlers/offset_fetch.ts";
import { silentLogger } from "../../../../broker/logger.ts";
import { PartitionReplica } from "../../../../broker/replication/partition_replica.ts";
import type { ReplicaManager } from "../../../../broker/replication/replica_manager.ts";
import { ErrorCode } from "../../../../protocol/messages.ts";
import { buildRecordBatch } from "../../../../protocol/record_batch.ts";
import { type ReplicaFixture, TEST_PRODUCE_SETTINGS, testConnection, withReplicas } from "../replica_fixture.ts";

const PARTITIONS = 50;

/** What a replica says about its leadership, as the test sets it; unset fields read the real replica. */
interface Leadership {
  isLeader: boolean;
  leaderEpoch?: number;
  highWatermark?: number;
}

/**
 * The replicas as the coordinator sees them, with elections the test runs: `elect` changes what a real replica
 * says about its leadership and tells the leadership listeners, as the replication layer does.
 */
class Elections {
  readonly #listeners = new Set<(replica: PartitionReplica) => void>();
  constructor(readonly replicas: ReplicaManager) {}

  get(topic: string, partition: number): PartitionReplica | undefined {
    return this.replicas.get(topic, partition);
  }

  onLeadership(listener: (replica: PartitionReplica) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sets `replica`'s leadership to `state` (kept live: change its fields later) and, unless quiet, tells. */
  elect(replica: PartitionReplica, state: Leadership, quiet = false): Leadership {
    const real = (name: string) =>
      Object.getOwnPropertyDescriptor(PartitionReplica.prototype, name)!.get!.call(replica);
    Object.defineProperty(replica, "isLeader", { configurable: true, get: () => state.isLeader });
    Object.defineProperty(replica, "leaderEpoch", {
      configurable: true,
      get: () => state.leaderEpoch ?? real("leaderEpoch"),
    });
    Object.defineProperty(replica, "highWatermark", {
      configurable: true,
      get: () => state.highWatermark ?? real("highWatermark"),
    });
    if (!quiet) { for (const listener of this.#listeners) listener(replica); }
    return state;
  }
}

/** Lets deferred work (the coordinator reacts to a leadership change in a microtask) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A group id whose offsets partition is (or is not) `partition`. */
function groupIn(partition: number, prefix: string, inside = true): string {
  for (let i = 0; i < 10_000; i++) {
    const id = `${prefix}-${i}`;
    if ((partitionForGroup(id, PARTITIONS) === partition) === inside) return id;
  }
  throw new Error("no such group id");
}

const commit = (groupId: string, offset: bigint) => ({
  groupId,
  generationIdOrMemberEpoch: -1,
  memberId: "",
  groupInstanceId: null,
  retentionTimeMs: -1n,
  topics: [{
    name: "orders",
    partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: "" }],
  }],
});

const joinRequest = (groupId: string) => ({
  groupId,
  memberId: "",
  groupInstanceId: null,
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 10_000,
  protocolType: "consumer",
  protocols: [{ name: "range", metadata: new Uint8Array([0, 0, 0, 0, 0, 0]) }],
});

function request<K extends number>(apiKey: K, apiVersion: number, body: unknown): HandlerRequest<never> {
  return {
    apiVersion,
    header: { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId: 1, clientId: "app" },
    body,
  } as unknown as HandlerRequest<never>;
}

interface Setup {
  f: ReplicaFixture;
  elections: Elections;
  groups: GroupCoordinator;
  consumerGroups: ConsumerGroupManager;
  ctx: BrokerContext;
}

async function withFailover(fn: (s: Setup) => Promise<void>): Promise<void> {
  await withReplicas(async (f) => {
    await f.addTopic(OFFSETS_TOPIC, { partitions: PARTITIONS, configs: { "cleanup.policy": "compact" } });
    await f.addTopic("orders", { partitions: 1 });
    const elections = new Elections(f.ctx.replicas);
    const groups = new GroupCoordinator({
      config: f.ctx.config,
      metadata: f.ctx.metadata,
      replicas: elections,
      controller: f.ctx.controller,
      logger: silentLogger,
      now: () => Date.now(),
    });
    const consumerGroups = new ConsumerGroupManager({
      config: consumerGroupConfigFrom(f.ctx.config),
      sink: { write: (groupId, records) => groups.writeRecords(groupId, records) },
      topics: f.ctx.metadata,
    });
    groups.extension = consumerGroups.groupExtension();
    await groups.load();
    try {
      await fn({ f, elections, groups, consumerGroups, ctx: { ...f.ctx, groups, consumerGroups } });
    } finally {
      groups.close();
      consumerGroups.close();
    }
  });
}

Deno.test("a broker that stops leading an offsets partition answers its groups NOT_COORDINATOR, held JoinGroups included; other partitions' groups stay", async () => {
  await withFailover(async ({ f, elections, groups, ctx }) => {
    const workers = "workers";
    const partition = partitionForGroup(workers, PARTITIONS);
    const readers = groupIn(partition, "readers");
    const elsewhere = groupIn(partition, "elsewhere", false);
    assert.deepEqual((await groups.commitOffsets(commit(readers, 42n), 8))[0].partitions[0].errorCode, 0);
    assert.deepEqual((await groups.commitOffsets(commit(elsewhere, 7n), 8))[0].partitions[0].errorCode, 0);
    // The first member of a new group waits out group.initial.rebalance.delay.ms: its JoinGroup is held.
    const held = groups.joinGroup(joinRequest(workers), 3, "app", "/127.0.0.1");
    assert.ok(held instanceof Promise);

    elections.elect(f.replica(OFFSETS_TOPIC, partition), { isLeader: false });
    await settle();
    assert.equal((await held).errorCode, ErrorCode.NOT_COORDINATOR);

    const notCoordinator = ErrorCode.NOT_COORDINATOR;
    assert.equal((await groups.joinGroup(joinRequest(workers), 3, "app", "/127.0.0.1")).errorCode, notCoordinator);
    const sync = { memberId: "m", groupInstanceId: null, generationId: 1, protocolType: null, protocolName: null };
    assert.equal((await groups.syncGroup(workers, { ...sync, assignments: [] })).errorCode, notCoordinator);
    assert.equal(groups.heartbeat(readers, "m", null, 1), notCoordinator);
    assert.equal(groups.leaveGroup(readers, [{ memberId: "m", groupInstanceId: null }]).errorCode, notCoordinator);
    assert.equal((await groups.commitOffsets(commit(readers, 43n), 8))[0].partitions[0].errorCode, notCoordinator);
    assert.equal(groups.fetchOffsets(readers, null).errorCode, notCoordinator);
    assert.equal(groups.describeGroup(readers).errorCode, notCoordinator);
    assert.deepEqual(await groups.deleteGroups([readers]), [{ groupId: readers, errorCode: notCoordinator }]);
    assert.equal((await groups.deleteOffsets(readers, [])).errorCode, notCoordinator);
    // OffsetFetch v1 has no group-level error: each partition asked for carries it.
    const v1 = await handleOffsetFetch(
      ctx,
      request(9, 1, { groupId: readers, topics: [{ name: "orders", partitionIndexes: [0] }] }),
      testConnection(),
    );
    assert.deepEqual(v1!.topics[0].partitions.map((p) => [p.committedOffset, p.errorCode]), [[-1n, notCoordinator]]);

    // ListGroups lists only the groups coordinated here; the other partition's group is served as before.
    const listed = await handleListGroups(ctx, request(16, 4, { statesFilter: [], typesFilter: [] }), testConnection());
    assert.deepEqual(listed!.groups.map((g) => g.groupId), [elsewhere]);
    assert.equal(groups.fetchOffsets(elsewhere, null).topics[0].partitions[0].committedOffset, 7n);
  });
});

Deno.test("a broker leading an offsets partition again reloads it from the log, with what another leader wrote, once earlier entries are committed", async () => {
  await withFailover(async ({ f, elections, groups, ctx }) => {
    const readers = "readers";
    const partition = partitionForGroup(readers, PARTITIONS);
    const replica = f.replica(OFFSETS_TOPIC, partition);
    await groups.commitOffsets(commit(readers, 42n), 8);
    const epoch = replica.leaderEpoch;
    elections.elect(replica, { isLeader: false, leaderEpoch: epoch });
    await settle();

    // Another leader (a later epoch) commits offset 77, and the entry reaches this replica's log.
    elections.elect(replica, { isLeader: true, leaderEpoch: epoch }, true);
    const record = offsetCommitRecord(readers, "orders", 0, {
      offset: 77n,
      leaderEpoch: -1,
      metadata: "",
      commitTimestamp: BigInt(Date.now()),
      expireTimestamp: -1n,
    });
    const outcome = replica.append(
      buildRecordBatch([{ timestamp: Date.now(), key: record.key, value: record.value }]),
      TEST_PRODUCE_SETTINGS,
      Date.now(),
    );
    assert.equal(outcome.errorCode, ErrorCode.NONE);
    await outcome.durable;

    // Elected in a new epoch with that entry not known to be committed yet: loading, nothing served.
    const leadership = elections.elect(replica, {
      isLeader: true,
      leaderEpoch: epoch + 2,
      highWatermark: replica.logEndOffset - 1,
    });
    await settle();
    assert.equal(groups.fetchOffsets(readers, null).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    assert.equal(
      (await groups.joinGroup(joinRequest(readers), 3, "app", "/127.0.0.1")).errorCode,
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    const listed = await handleListGroups(ctx, request(16, 4, { statesFilter: [], typesFilter: [] }), testConnection());
    assert.equal(listed!.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);

    // The high watermark reaches the log end the leader had when elected: loaded, and served.
    leadership.highWatermark = undefined;
    replica.highWatermarkAdvanced.notify();
    assert.equal(groups.fetchOffsets(readers, null).topics[0].partitions[0].committedOffset, 77n);
    assert.equal(groups.describeGroup(readers).groupState, "Empty");
    assert.equal((await groups.commitOffsets(commit(readers, 80n), 8))[0].partitions[0].errorCode, ErrorCode.NONE);
  });
});

Deno.test("consumer groups (KIP-848) are unloaded with their partition and reloaded with their members", async () => {
  await withFailover(async ({ f, elections, consumerGroups, ctx }) => {
    const conn = testConnection();
    const heartbeat = (memberEpoch: number, memberId: string) =>
      handleConsumerGroupHeartbeat(
        ctx,
        request(68, 0, {
          groupId: "g",
          memberId,
          memberEpoch,
          instanceId: null,
          rackId: null,
          rebalanceTimeoutMs: 30_000,
          subscribedTopicNames: ["orders"],
          subscribedTopicRegex: null,
          serverAssignor: null,
          topicPartitions: [],
        }),
        conn,
      );
    const joined = await heartbeat(0, "");
    assert.equal(joined!.errorCode, ErrorCode.NONE);
    const memberId = joined!.memberId!;
    const replica = f.replica(OFFSETS_TOPIC, partitionForGroup("g", PARTITIONS));
    const epoch = replica.leaderEpoch;

    elections.elect(replica, { isLeader: false });
    await settle();
    assert.equal(consumerGroups.has("g"), false);
    assert.equal((await heartbeat(joined!.memberEpoch, memberId))!.errorCode, ErrorCode.NOT_COORDINATOR);
    const described = await handleConsumerGroupDescribe(
      ctx,
      request(69, 0, { groupIds: ["g"], includeAuthorizedOperations: false }),
      conn,
    );
    assert.equal(described!.groups[0].errorCode, ErrorCode.NOT_COORDINATOR);

    elections.elect(replica, { isLeader: true, leaderEpoch: epoch + 1 });
    await settle();
    assert.equal(consumerGroups.has("g"), true);
    const again = await heartbeat(joined!.memberEpoch, memberId);
    assert.equal(again!.errorCode, ErrorCode.NONE);
    assert.equal(again!.memberEpoch, joined!.memberEpoch);
  });
});
