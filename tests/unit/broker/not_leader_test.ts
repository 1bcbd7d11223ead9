/**
 * What a client sees when it asks a broker that does not lead the partition (issue 17): Produce, Fetch,
 * ListOffsets and DeleteRecords answer NOT_LEADER_OR_FOLLOWER from a follower as from a broker without a replica,
 * after the KIP-320 current-leader-epoch check; Produce v10+ and Fetch v16+ name the current leader, its epoch and
 * its endpoint (KIP-951); a new leader answers ListOffsets "latest" with OFFSET_NOT_AVAILABLE until its high
 * watermark reaches the start of its epoch.
 */
import assert from "node:assert/strict";
import type { BrokerContext, ClusterMembership } from "../../../broker/broker_context.ts";
import { handleDeleteRecords } from "../../../broker/handlers/delete_records.ts";
import { handleFetch } from "../../../broker/handlers/fetch.ts";
import { handleListOffsets } from "../../../broker/handlers/list_offsets.ts";
import { handleProduce } from "../../../broker/handlers/produce.ts";
import { decodeResponse, encodeResponse, ErrorCode, ZERO_UUID } from "../../../protocol/messages.ts";
import { defaultFetchRequest, type FetchRequest } from "../../../protocol/generated/messages/fetch_request.ts";
import type { FetchResponse } from "../../../protocol/generated/messages/fetch_response.ts";
import type { ListOffsetsRequest } from "../../../protocol/generated/messages/list_offsets_request.ts";
import type { ProduceResponse } from "../../../protocol/generated/messages/produce_response.ts";
import { buildRecordBatch } from "../../../protocol/record_batch.ts";
import { testConnection, withReplicas } from "./replica_fixture.ts";
import { playRole } from "./replica_role.ts";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** A cluster of brokers 1-3 on ports 9092-9094 of 127.0.0.1, racks r1-r3; `fenced` ones are not live. */
function threeBrokers(fenced: number[] = []): ClusterMembership {
  return {
    liveBrokers: () =>
      [1, 2, 3].filter((id) => !fenced.includes(id)).map((id) => ({
        nodeId: id,
        host: "127.0.0.1",
        port: 9091 + id,
        rack: `r${id}`,
      })),
    controllerId: () => 1,
  };
}

function batch(): Uint8Array {
  return buildRecordBatch([{ timestamp: Date.now(), key: null, value: new TextEncoder().encode("v") }]);
}

/** Produces one batch to `topic`-0 at `apiVersion`; the response as the client decodes it. */
async function produce(ctx: BrokerContext, topic: string, apiVersion: number): Promise<ProduceResponse> {
  const header = { requestApiKey: 0, requestApiVersion: apiVersion, correlationId: 1, clientId: "test" };
  const body = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch() }] }],
  };
  const response = await handleProduce(ctx, { apiVersion, header, body }, testConnection());
  assert.ok(response !== null);
  return decodeResponse(0, apiVersion, encodeResponse(0, apiVersion, 1, response)).body as ProduceResponse;
}

/** Fetches `topic`-0 by topic id (v13+) or name at `apiVersion`; the response as the client decodes it. */
async function fetch(
  ctx: BrokerContext,
  topic: { name: string; topicId: string },
  apiVersion: number,
  currentLeaderEpoch = -1,
  replicaId = -1,
): Promise<FetchResponse> {
  const body: FetchRequest = {
    ...defaultFetchRequest(),
    replicaId,
    replicaState: { replicaId, replicaEpoch: -1n },
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1024 * 1024,
    topics: [{
      topic: apiVersion >= 13 ? "" : topic.name,
      topicId: apiVersion >= 13 ? topic.topicId : ZERO_UUID,
      partitions: [{
        partition: 0,
        currentLeaderEpoch,
        fetchOffset: 0n,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: 1024 * 1024,
        replicaDirectoryId: ZERO_UUID,
      }],
    }],
  };
  const header = { requestApiKey: 1, requestApiVersion: apiVersion, correlationId: 1, clientId: "test" };
  const response = await handleFetch(ctx, { apiVersion, header, body }, testConnection());
  assert.ok(response !== null);
  return decodeResponse(1, apiVersion, encodeResponse(1, apiVersion, 1, response)).body as FetchResponse;
}

/** ListOffsets of `topic`-0 for `timestamp`: [errorCode, offset]. */
async function listOffset(
  ctx: BrokerContext,
  topic: string,
  timestamp: number,
  options: { apiVersion?: number; replicaId?: number; currentLeaderEpoch?: number } = {},
): Promise<[number, number]> {
  const apiVersion = options.apiVersion ?? 10;
  const body: ListOffsetsRequest = {
    replicaId: options.replicaId ?? -1,
    isolationLevel: 0,
    timeoutMs: 0,
    topics: [{
      name: topic,
      partitions: [{
        partitionIndex: 0,
        currentLeaderEpoch: options.currentLeaderEpoch ?? -1,
        timestamp: BigInt(timestamp),
        maxNumOffsets: 1,
      }],
    }],
  };
  const header = { requestApiKey: 2, requestApiVersion: apiVersion, correlationId: 1, clientId: "test" };
  const response = await handleListOffsets(ctx, { apiVersion, header, body }, testConnection());
  assert.ok(response !== null);
  const p = response.topics[0].partitions[0];
  return [p.errorCode, Number(p.offset)];
}

const { NONE, NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH } = ErrorCode;

// ---------------------------------------------------------------------------------------------------------------
// Produce

Deno.test("a follower refuses a produce with NOT_LEADER_OR_FOLLOWER and appends nothing", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 4 });
    playRole(f.ctx.replicas, "orders", 0, { isLeader: false, leaderId: 2 });
    const answer = (await produce(f.ctx, "orders", 9)).responses[0].partitionResponses[0];
    assert.equal(answer.errorCode, NOT_LEADER_OR_FOLLOWER);
    assert.equal(answer.baseOffset, -1n);
    assert.equal(f.replica("orders", 0).logEndOffset, 0);
  });
});

Deno.test("a broker with no replica of a known partition answers a produce NOT_LEADER_OR_FOLLOWER", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("elsewhere", { leader: 2 });
    const answer = (await produce(f.ctx, "elsewhere", 9)).responses[0].partitionResponses[0];
    assert.equal(answer.errorCode, NOT_LEADER_OR_FOLLOWER, "the client refreshes its metadata and retries");
    const unknown = (await produce(f.ctx, "no-such-topic", 9)).responses[0].partitionResponses[0];
    assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

Deno.test("produce v10+ names the leader a follower knows, its epoch and its endpoint (KIP-951)", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 4 });
    // The Raft group elected broker 2 in epoch 5; the metadata still says broker 1, epoch 4.
    playRole(f.ctx.replicas, "orders", 0, { isLeader: false, leaderId: 2, leaderEpoch: 5 });
    const ctx = { ...f.ctx, cluster: threeBrokers() };
    const response = await produce(ctx, "orders", 11);
    assert.deepEqual(response.responses[0].partitionResponses[0].currentLeader, { leaderId: 2, leaderEpoch: 5 });
    assert.deepEqual(response.nodeEndpoints, [{ nodeId: 2, host: "127.0.0.1", port: 9093, rack: "r2" }]);

    const v9 = await produce(ctx, "orders", 9);
    assert.equal(v9.responses[0].partitionResponses[0].errorCode, NOT_LEADER_OR_FOLLOWER);
    assert.deepEqual(v9.responses[0].partitionResponses[0].currentLeader, { leaderId: -1, leaderEpoch: -1 });
    assert.deepEqual(v9.nodeEndpoints, [], "before v10 the fields do not exist");
  });
});

Deno.test("without a replica the hint comes from the metadata; a fenced leader's endpoint is left out", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("elsewhere", { leader: 3, leaderEpoch: 7 });
    const live = await produce({ ...f.ctx, cluster: threeBrokers() }, "elsewhere", 10);
    assert.deepEqual(live.responses[0].partitionResponses[0].currentLeader, { leaderId: 3, leaderEpoch: 7 });
    assert.deepEqual(live.nodeEndpoints, [{ nodeId: 3, host: "127.0.0.1", port: 9094, rack: "r3" }]);

    const fenced = await produce({ ...f.ctx, cluster: threeBrokers([3]) }, "elsewhere", 10);
    assert.deepEqual(fenced.responses[0].partitionResponses[0].currentLeader, { leaderId: 3, leaderEpoch: 7 });
    assert.deepEqual(fenced.nodeEndpoints, []);
  });
});

Deno.test("a follower that knows no leader yet hints the metadata's leader", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 4 });
    // An election is under way: the group's term moved on, no leader is known.
    playRole(f.ctx.replicas, "orders", 0, { isLeader: false, leaderId: -1, leaderEpoch: 6 });
    const response = await produce({ ...f.ctx, cluster: threeBrokers() }, "orders", 10);
    assert.deepEqual(response.responses[0].partitionResponses[0].currentLeader, { leaderId: 1, leaderEpoch: 4 });
  });
});

Deno.test("a replica deposed between the leader check and its append answers with the hint too", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 4 });
    playRole(f.ctx.replicas, "orders", 0, {
      leaderId: 3,
      leaderEpoch: 5,
      append: () => ({
        errorCode: NOT_LEADER_OR_FOLLOWER,
        errorMessage: "deposed",
        baseOffset: -1,
        logAppendTimeMs: -1,
        logStartOffset: -1,
      }),
    });
    const response = await produce({ ...f.ctx, cluster: threeBrokers() }, "orders", 11);
    assert.equal(response.responses[0].partitionResponses[0].errorCode, NOT_LEADER_OR_FOLLOWER);
    assert.deepEqual(response.responses[0].partitionResponses[0].currentLeader, { leaderId: 3, leaderEpoch: 5 });
    assert.deepEqual(response.nodeEndpoints, [{ nodeId: 3, host: "127.0.0.1", port: 9094, rack: "r3" }]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Fetch

Deno.test("a follower refuses a consumer fetch before v11 with NOT_LEADER_OR_FOLLOWER; from v11 on it answers (KIP-392)", async () => {
  await withReplicas(async (f) => {
    const orders = await f.addTopic("orders", { leaderEpoch: 4 });
    await f.produce("orders", 0, { records: 2 });
    playRole(f.ctx.replicas, "orders", 0, { isLeader: false, leaderId: 3, leaderEpoch: 4 });
    const ctx = { ...f.ctx, cluster: threeBrokers() };

    const v10 = (await fetch(ctx, orders, 10)).responses[0].partitions[0];
    assert.equal(v10.errorCode, NOT_LEADER_OR_FOLLOWER);
    assert.equal(v10.records?.length ?? 0, 0, "no records from a follower");
    assert.equal(v10.highWatermark, -1n);

    for (const version of [11, 15, 17]) {
      const served = (await fetch(ctx, orders, version)).responses[0].partitions[0];
      assert.equal(served.errorCode, NONE, `v${version}`);
      assert.ok((served.records?.length ?? 0) > 0, `v${version}: records from the follower`);
      assert.equal(served.highWatermark, 2n);
      assert.equal(served.preferredReadReplica, -1);
    }
  });
});

Deno.test("a follower refuses a replica's fetch with NOT_LEADER_OR_FOLLOWER; v16+ names the leader", async () => {
  await withReplicas(async (f) => {
    const orders = await f.addTopic("orders", { leaderEpoch: 4 });
    await f.produce("orders", 0, { records: 2 });
    playRole(f.ctx.replicas, "orders", 0, { isLeader: false, leaderId: 3, leaderEpoch: 4 });
    const ctx = { ...f.ctx, cluster: threeBrokers() };
    const v17 = await fetch(ctx, orders, 17, -1, 2);
    assert.equal(v17.responses[0].partitions[0].errorCode, NOT_LEADER_OR_FOLLOWER);
    assert.deepEqual(v17.responses[0].partitions[0].currentLeader, { leaderId: 3, leaderEpoch: 4 });
    assert.deepEqual(v17.nodeEndpoints, [{ nodeId: 3, host: "127.0.0.1", port: 9094, rack: "r3" }]);
  });
});

Deno.test("the current leader epoch is checked before leadership, as Kafka does", async () => {
  await withReplicas(async (f) => {
    const orders = await f.addTopic("orders", { leaderEpoch: 4 });
    playRole(f.ctx.replicas, "orders", 0, { isLeader: false, leaderId: 2, leaderEpoch: 5 });
    const ctx = { ...f.ctx, cluster: threeBrokers() };
    const code = async (epoch: number, version = 17) =>
      (await fetch(ctx, orders, version, epoch)).responses[0].partitions[0].errorCode;
    assert.equal(await code(4), FENCED_LEADER_EPOCH, "the client's metadata is older than the follower's");
    assert.equal(await code(6), UNKNOWN_LEADER_EPOCH);
    assert.equal(await code(5, 10), NOT_LEADER_OR_FOLLOWER);
    assert.equal(await code(-1, 10), NOT_LEADER_OR_FOLLOWER);
    assert.equal(await code(5), NONE, "v11+: the follower answers");

    const fenced = await fetch(ctx, orders, 17, 4);
    assert.deepEqual(fenced.responses[0].partitions[0].currentLeader, { leaderId: 2, leaderEpoch: 5 });
    assert.deepEqual(fenced.nodeEndpoints, [{ nodeId: 2, host: "127.0.0.1", port: 9093, rack: "r2" }]);
  });
});

Deno.test("errors other than NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH carry no leader hint", async () => {
  await withReplicas(async (f) => {
    const orders = await f.addTopic("orders", { leaderEpoch: 4 });
    const response = await fetch({ ...f.ctx, cluster: threeBrokers() }, orders, 17, 9);
    assert.equal(response.responses[0].partitions[0].errorCode, UNKNOWN_LEADER_EPOCH);
    assert.deepEqual(response.responses[0].partitions[0].currentLeader, { leaderId: -1, leaderEpoch: -1 });
    assert.deepEqual(response.nodeEndpoints, []);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// ListOffsets

Deno.test("a follower refuses ListOffsets from a consumer, but answers a debugging client (replica id -2)", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 4 });
    await f.produce("orders", 0, { records: 3 });
    playRole(f.ctx.replicas, "orders", 0, { isLeader: false, leaderId: 2 });
    assert.deepEqual(await listOffset(f.ctx, "orders", -1), [NOT_LEADER_OR_FOLLOWER, -1]);
    assert.deepEqual(await listOffset(f.ctx, "orders", -2), [NOT_LEADER_OR_FOLLOWER, -1]);
    assert.deepEqual(await listOffset(f.ctx, "orders", -1, { replicaId: 2 }), [NOT_LEADER_OR_FOLLOWER, -1]);
    // Kafka lets only the debugging replica id read a follower (and it sees the log end offset).
    assert.deepEqual(await listOffset(f.ctx, "orders", -1, { replicaId: -2 }), [NONE, 3]);
    assert.deepEqual(await listOffset(f.ctx, "orders", -1, { currentLeaderEpoch: 3 }), [FENCED_LEADER_EPOCH, -1]);
  });
});

Deno.test("a new leader answers latest with OFFSET_NOT_AVAILABLE until its high watermark reaches its epoch start", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 4 });
    await f.produce("orders", 0, { records: 3, timestamp: 1_000 });
    await f.produce("orders", 0, { records: 1, timestamp: 2_000 });
    // Elected in epoch 5 with entries up to offset 6 not yet committed: its epoch starts at 6, the high watermark is 4.
    playRole(f.ctx.replicas, "orders", 0, { leaderEpoch: 5, leaderEpochStartOffset: 6 });
    assert.deepEqual(await listOffset(f.ctx, "orders", -1, { apiVersion: 5 }), [ErrorCode.OFFSET_NOT_AVAILABLE, -1]);
    assert.deepEqual(await listOffset(f.ctx, "orders", -1, { apiVersion: 4 }), [ErrorCode.LEADER_NOT_AVAILABLE, -1]);
    // A search that finds nothing visible fails the same way; one that finds a visible offset is answered.
    assert.deepEqual(await listOffset(f.ctx, "orders", Date.now() + 60_000), [ErrorCode.OFFSET_NOT_AVAILABLE, -1]);
    assert.deepEqual(await listOffset(f.ctx, "orders", 1_500), [NONE, 3]);
    assert.deepEqual(await listOffset(f.ctx, "orders", -2), [NONE, 0]);
    // Brokers and debugging clients are not held back (Kafka checks clients only).
    assert.deepEqual(await listOffset(f.ctx, "orders", -1, { replicaId: -2 }), [NONE, 4]);
  });
});

Deno.test("a leader whose high watermark reached its epoch start answers latest", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 4 });
    await f.produce("orders", 0, { records: 3 });
    playRole(f.ctx.replicas, "orders", 0, { leaderEpoch: 5, leaderEpochStartOffset: 3 });
    assert.deepEqual(await listOffset(f.ctx, "orders", -1), [NONE, 3]);
    assert.deepEqual(await listOffset(f.ctx, "orders", -3), [NONE, 0]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// DeleteRecords

Deno.test("a follower refuses DeleteRecords with NOT_LEADER_OR_FOLLOWER and keeps its log start", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    await f.produce("orders", 0, { records: 3 });
    playRole(f.ctx.replicas, "orders", 0, { isLeader: false, leaderId: 2 });
    const header = { requestApiKey: 21, requestApiVersion: 2, correlationId: 1, clientId: "test" };
    const body = { topics: [{ name: "orders", partitions: [{ partitionIndex: 0, offset: 2n }] }], timeoutMs: 1000 };
    const response = await handleDeleteRecords(f.ctx, { apiVersion: 2, header, body }, testConnection());
    assert.ok(response !== null);
    assert.equal(response.topics[0].partitions[0].errorCode, NOT_LEADER_OR_FOLLOWER);
    assert.equal(response.topics[0].partitions[0].lowWatermark, -1n);
    assert.equal(f.replica("orders", 0).logStartOffset, 0);
  });
});
