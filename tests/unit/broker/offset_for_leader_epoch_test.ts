/**
 * OffsetForLeaderEpoch (key 23) as Kafka answers a consumer checking for truncation (KIP-320): each asked epoch's
 * end offset and the largest epoch at or below it, undefined (-1, -1) for epochs it cannot place, the current
 * leader epoch checked first, and NOT_LEADER_OR_FOLLOWER from anything but the leader.
 */
import assert from "node:assert/strict";
import { handleOffsetForLeaderEpoch } from "../../../broker/handlers/offset_for_leader_epoch.ts";
import { isSupported } from "../../../broker/supported_apis.ts";
import { decodeResponse, encodeResponse, ErrorCode } from "../../../protocol/messages.ts";
import type { OffsetForLeaderEpochRequest } from "../../../protocol/generated/messages/offset_for_leader_epoch_request.ts";
import type { OffsetForLeaderEpochResponse } from "../../../protocol/generated/messages/offset_for_leader_epoch_response.ts";
import { type ReplicaFixture, testConnection, withReplicas } from "./replica_fixture.ts";
import { playRole } from "./replica_role.ts";

interface Ask {
  topic?: string;
  partition?: number;
  leaderEpoch: number;
  currentLeaderEpoch?: number;
}

async function offsetsForEpochs(
  f: ReplicaFixture,
  asks: Ask[],
  apiVersion = 4,
  replicaId = -1,
): Promise<OffsetForLeaderEpochResponse> {
  const body: OffsetForLeaderEpochRequest = { replicaId, topics: [] };
  for (const ask of asks) {
    const partition = {
      partition: ask.partition ?? 0,
      currentLeaderEpoch: ask.currentLeaderEpoch ?? -1,
      leaderEpoch: ask.leaderEpoch,
    };
    const name = ask.topic ?? "orders";
    const last = body.topics[body.topics.length - 1];
    if (last?.topic === name) last.partitions.push(partition);
    else body.topics.push({ topic: name, partitions: [partition] });
  }
  const header = { requestApiKey: 23, requestApiVersion: apiVersion, correlationId: 1, clientId: "test" };
  const response = await handleOffsetForLeaderEpoch(f.ctx, { apiVersion, header, body }, testConnection());
  assert.ok(response !== null);
  // As the client reads it.
  return decodeResponse(23, apiVersion, encodeResponse(23, apiVersion, 1, response))
    .body as OffsetForLeaderEpochResponse;
}

/** The answer to one ask: [errorCode, leaderEpoch, endOffset]. */
async function answer(f: ReplicaFixture, ask: Ask, apiVersion = 4): Promise<[number, number, number]> {
  const response = await offsetsForEpochs(f, [ask], apiVersion);
  const p = response.topics[0].partitions[0];
  assert.equal(p.partition, ask.partition ?? 0);
  return [p.errorCode, p.leaderEpoch, Number(p.endOffset)];
}

/**
 * A log with epochs 3 (offsets 0-2), 4 (3-4) and 6 (5): the leader epoch is raised between produces, as
 * elections do (epoch 5 wrote nothing).
 */
async function threeEpochs(f: ReplicaFixture): Promise<void> {
  await f.addTopic("orders", { leaderEpoch: 3 });
  await f.produce("orders", 0, { records: 3 });
  await f.replica("orders", 0).startNewLeaderEpoch();
  await f.produce("orders", 0, { records: 2 });
  await f.replica("orders", 0).startNewLeaderEpoch();
  await f.replica("orders", 0).startNewLeaderEpoch();
  await f.produce("orders", 0, { records: 1 });
  assert.equal(f.replica("orders", 0).leaderEpoch, 6);
}

const { NONE } = ErrorCode;

Deno.test("each epoch ends where the next one starts; the current epoch at the log end offset", async () => {
  await withReplicas(async (f) => {
    await threeEpochs(f);
    assert.deepEqual(await answer(f, { leaderEpoch: 3 }), [NONE, 3, 3]);
    assert.deepEqual(await answer(f, { leaderEpoch: 4 }), [NONE, 4, 5]);
    assert.deepEqual(await answer(f, { leaderEpoch: 6 }), [NONE, 6, 6]);
    await f.produce("orders", 0, { records: 4, durable: false });
    assert.deepEqual(await answer(f, { leaderEpoch: 6 }), [NONE, 6, 10], "the log end, not the high watermark");
  });
});

Deno.test("an epoch that wrote nothing is answered with the epoch before it", async () => {
  await withReplicas(async (f) => {
    await threeEpochs(f);
    assert.deepEqual(await answer(f, { leaderEpoch: 5 }), [NONE, 4, 5]);
  });
});

Deno.test("an epoch above every known one, or -1, is undefined; one below them ends at the log start", async () => {
  await withReplicas(async (f) => {
    await threeEpochs(f);
    assert.deepEqual(await answer(f, { leaderEpoch: 7 }), [NONE, -1, -1]);
    assert.deepEqual(await answer(f, { leaderEpoch: -1 }), [NONE, -1, -1]);
    // Kafka answers the asked epoch with the first known epoch's start (the data before is gone).
    assert.deepEqual(await answer(f, { leaderEpoch: 2 }), [NONE, 2, 0]);
    await f.replica("orders", 0).log.deleteRecordsBefore(4);
    assert.deepEqual(await answer(f, { leaderEpoch: 3 }), [NONE, 3, 4]);
    assert.deepEqual(await answer(f, { leaderEpoch: 4 }), [NONE, 4, 5]);
  });
});

Deno.test("the epoch a leader leads in counts from the log end before it writes, as Kafka's election records it", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("empty", { leaderEpoch: 3 });
    assert.deepEqual(await answer(f, { topic: "empty", leaderEpoch: 3 }), [NONE, 3, 0]);
    assert.deepEqual(await answer(f, { topic: "empty", leaderEpoch: 0 }), [NONE, 0, 0]);
    assert.deepEqual(await answer(f, { topic: "empty", leaderEpoch: 4 }), [NONE, -1, -1]);

    await threeEpochs(f);
    await f.replica("orders", 0).startNewLeaderEpoch(); // epoch 7, nothing written in it yet
    assert.deepEqual(await answer(f, { leaderEpoch: 7 }), [NONE, 7, 6]);
    assert.deepEqual(await answer(f, { leaderEpoch: 6 }), [NONE, 6, 6]);
    assert.deepEqual(await answer(f, { leaderEpoch: 4 }), [NONE, 4, 5]);
    assert.deepEqual(await answer(f, { leaderEpoch: 8 }), [NONE, -1, -1]);
  });
});

Deno.test("the current leader epoch: older is FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH, -1 unchecked", async () => {
  await withReplicas(async (f) => {
    await threeEpochs(f);
    assert.deepEqual(await answer(f, { leaderEpoch: 4, currentLeaderEpoch: 5 }), [
      ErrorCode.FENCED_LEADER_EPOCH,
      -1,
      -1,
    ]);
    assert.deepEqual(await answer(f, { leaderEpoch: 4, currentLeaderEpoch: 7 }), [
      ErrorCode.UNKNOWN_LEADER_EPOCH,
      -1,
      -1,
    ]);
    assert.deepEqual(await answer(f, { leaderEpoch: 4, currentLeaderEpoch: 6 }), [NONE, 4, 5]);
    // Only -1 means "no epoch" here: another negative value is checked, and is older than any epoch.
    assert.deepEqual(await answer(f, { leaderEpoch: 4, currentLeaderEpoch: -2 }), [
      ErrorCode.FENCED_LEADER_EPOCH,
      -1,
      -1,
    ]);
  });
});

Deno.test("only the leader answers: a follower or a broker without a replica says NOT_LEADER_OR_FOLLOWER", async () => {
  await withReplicas(async (f) => {
    await threeEpochs(f);
    await f.addTopic("elsewhere", { leader: 2 });
    assert.deepEqual(await answer(f, { topic: "elsewhere", leaderEpoch: 0 }), [
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      -1,
      -1,
    ]);
    assert.deepEqual(await answer(f, { topic: "no-such-topic", leaderEpoch: 0 }), [
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      -1,
      -1,
    ]);
    assert.deepEqual(await answer(f, { partition: 1, leaderEpoch: 0 }), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1]);

    playRole(f.ctx.replicas, "orders", 0, { isLeader: false, leaderId: 2 });
    assert.deepEqual(await answer(f, { leaderEpoch: 4 }), [ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1]);
    // A follower's replica id changes nothing: partitions replicate through Raft, not through this API.
    const asBroker = await offsetsForEpochs(f, [{ leaderEpoch: 4 }], 4, 2);
    assert.equal(asBroker.topics[0].partitions[0].errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });
});

Deno.test("topics and partitions are answered in the order asked, at versions 2 to 4", async () => {
  await withReplicas(async (f) => {
    await threeEpochs(f);
    await f.addTopic("other", { partitions: 2, leaderEpoch: 0 });
    await f.produce("other", 1, { records: 2 });
    for (const version of [2, 3, 4]) {
      const response = await offsetsForEpochs(f, [
        { topic: "other", partition: 1, leaderEpoch: 0 },
        { topic: "other", partition: 0, leaderEpoch: 0 },
        { topic: "orders", leaderEpoch: 3 },
      ], version);
      assert.deepEqual(
        response.topics.map((
          t,
        ) => [t.topic, t.partitions.map((p) => [p.partition, p.leaderEpoch, Number(p.endOffset)])]),
        [["other", [[1, 0, 2], [0, 0, 0]]], ["orders", [[0, 3, 3]]]],
        `v${version}`,
      );
    }
  });
});

Deno.test("versions 2-4 are served, as by Kafka 4.x; 0 and 1 are not", () => {
  assert.equal(isSupported(23, 1), false);
  for (const version of [2, 3, 4]) assert.equal(isSupported(23, version), true);
  assert.equal(isSupported(23, 5), false);
});
