/**
 * ListOffsets as Kafka answers it: earliest, latest (the high watermark), by timestamp and by max timestamp (at
 * batch granularity), the special timestamps per version, and per-partition errors.
 */
import assert from "node:assert/strict";
import { handleListOffsets } from "../../../broker/handlers/list_offsets.ts";
import { decodeResponse, encodeResponse, ErrorCode } from "../../../protocol/messages.ts";
import type { ListOffsetsRequest } from "../../../protocol/generated/messages/list_offsets_request.ts";
import type {
  ListOffsetsResponse,
  ListOffsetsResponseListOffsetsPartitionResponse,
} from "../../../protocol/generated/messages/list_offsets_response.ts";
import { type ReplicaFixture, testConnection, withReplicas } from "./replica_fixture.ts";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

interface Ask {
  topic?: string;
  partition?: number;
  timestamp: number;
  currentLeaderEpoch?: number;
}

function request(asks: Ask[], fields: Partial<ListOffsetsRequest> = {}): ListOffsetsRequest {
  const body: ListOffsetsRequest = { replicaId: -1, isolationLevel: 0, topics: [], timeoutMs: 0, ...fields };
  for (const ask of asks) {
    const name = ask.topic ?? "orders";
    const partition = {
      partitionIndex: ask.partition ?? 0,
      currentLeaderEpoch: ask.currentLeaderEpoch ?? -1,
      timestamp: BigInt(ask.timestamp),
      maxNumOffsets: 1,
    };
    const last = body.topics[body.topics.length - 1];
    if (last && last.name === name) last.partitions.push(partition);
    else body.topics.push({ name, partitions: [partition] });
  }
  return body;
}

async function listOffsets(f: ReplicaFixture, body: ListOffsetsRequest, apiVersion = 10): Promise<ListOffsetsResponse> {
  const header = { requestApiKey: 2, requestApiVersion: apiVersion, correlationId: 1, clientId: "test" };
  const response = await handleListOffsets(f.ctx, { apiVersion, header, body }, testConnection());
  assert.ok(response !== null);
  return response;
}

/** The answer to a single ask, as [errorCode, offset, timestamp, leaderEpoch]. */
async function answer(f: ReplicaFixture, ask: Ask, apiVersion = 10, fields: Partial<ListOffsetsRequest> = {}) {
  const response = await listOffsets(f, request([ask], fields), apiVersion);
  assert.equal(response.topics.length, 1);
  assert.equal(response.topics[0].partitions.length, 1);
  return tuple(response.topics[0].partitions[0]);
}

function tuple(p: ListOffsetsResponseListOffsetsPartitionResponse): [number, number, number, number] {
  return [p.errorCode, Number(p.offset), Number(p.timestamp), p.leaderEpoch];
}

const { NONE } = ErrorCode;

// ---------------------------------------------------------------------------------------------------------------
// Earliest and latest

Deno.test("earliest is the log start offset and latest the high watermark, with the leader epoch (v4+)", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 3 });
    await f.produce("orders", 0, { records: 3 });
    await f.produce("orders", 0, { records: 2 });
    assert.deepEqual(await answer(f, { timestamp: -2 }), [NONE, 0, -1, 3]);
    assert.deepEqual(await answer(f, { timestamp: -1 }), [NONE, 5, -1, 3]);

    await f.replica("orders", 0).log.deleteRecordsBefore(3);
    assert.deepEqual(await answer(f, { timestamp: -2 }), [NONE, 3, -1, 3]);
  });
});

Deno.test("an empty partition answers 0 for both earliest and latest", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 2 });
    assert.deepEqual(await answer(f, { timestamp: -2 }), [NONE, 0, -1, -1]);
    assert.deepEqual(await answer(f, { timestamp: -1 }), [NONE, 0, -1, 2]);
  });
});

Deno.test("latest is the high watermark for consumers of both isolation levels, the log end for a broker", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    await f.produce("orders", 0, { records: 2 });
    await f.produce("orders", 0, { records: 3, durable: false });
    assert.deepEqual(await answer(f, { timestamp: -1 }), [NONE, 2, -1, 0]);
    assert.deepEqual(await answer(f, { timestamp: -1 }, 10, { isolationLevel: 1 }), [NONE, 2, -1, 0]);
    // replica_id -2 is Kafka's debugging consumer: no isolation, so the log end offset.
    assert.deepEqual(await answer(f, { timestamp: -1 }, 10, { replicaId: -2 }), [NONE, 5, -1, 0]);
  });
});

Deno.test("earliest-local (-4, v8+) is earliest; latest-tiered (-5, v9+) is -1 without tiered storage", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    await f.produce("orders", 0, { records: 4 });
    await f.replica("orders", 0).log.deleteRecordsBefore(4);
    await f.produce("orders", 0, { records: 1 });
    assert.deepEqual(await answer(f, { timestamp: -4 }, 8), [NONE, 4, -1, 0]);
    assert.deepEqual(await answer(f, { timestamp: -5 }, 9), [NONE, -1, -1, -1]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// By timestamp

Deno.test("a timestamp finds the first batch holding a record at or after it (batch granularity)", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    await f.produce("orders", 0, { records: 2, timestamp: 1_000 });
    await f.produce("orders", 0, { records: 2, timestamp: 2_000 });
    await f.produce("orders", 0, { records: 2, timestamp: 3_000 });
    assert.deepEqual(await answer(f, { timestamp: 0 }), [NONE, 0, 1_000, 0]);
    assert.deepEqual(await answer(f, { timestamp: 1_000 }), [NONE, 0, 1_000, 0]);
    assert.deepEqual(await answer(f, { timestamp: 1_500 }), [NONE, 2, 2_000, 0]);
    assert.deepEqual(await answer(f, { timestamp: 3_000 }), [NONE, 4, 3_000, 0]);
  });
});

Deno.test("a timestamp later than every record answers offset -1 and timestamp -1 without error", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    await f.produce("orders", 0, { records: 2, timestamp: 1_000 });
    assert.deepEqual(await answer(f, { timestamp: 5_000 }), [NONE, -1, -1, -1]);
  });
});

Deno.test("a timestamp found only in records not yet committed answers -1 as well", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    await f.produce("orders", 0, { records: 1, timestamp: 1_000 });
    await f.produce("orders", 0, { records: 1, timestamp: 9_000, durable: false });
    assert.deepEqual(await answer(f, { timestamp: 5_000 }), [NONE, -1, -1, -1]);
  });
});

Deno.test("max timestamp (-3, v7+) answers the largest timestamp and the batch carrying it", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 4 });
    assert.deepEqual(await answer(f, { timestamp: -3 }, 7), [NONE, -1, -1, -1], "empty log");
    await f.produce("orders", 0, { records: 2, timestamp: 1_000 });
    await f.produce("orders", 0, { records: 2, timestamp: 5_000 });
    await f.produce("orders", 0, { records: 2, timestamp: 3_000 });
    assert.deepEqual(await answer(f, { timestamp: -3 }, 7), [NONE, 2, 5_000, 4]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Versions and errors

Deno.test("a special timestamp before its version, or an unknown one, is UNSUPPORTED_VERSION", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    const unsupported = [ErrorCode.UNSUPPORTED_VERSION, -1, -1, -1];
    assert.deepEqual(await answer(f, { timestamp: -3 }, 6), unsupported);
    assert.deepEqual(await answer(f, { timestamp: -4 }, 7), unsupported);
    assert.deepEqual(await answer(f, { timestamp: -5 }, 8), unsupported);
    assert.deepEqual(await answer(f, { timestamp: -6 }, 10), unsupported);
    assert.deepEqual(await answer(f, { timestamp: -100 }, 10), unsupported);
  });
});

Deno.test("unknown topics and partitions, partitions led elsewhere, stale or future epochs are errors", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 5 });
    await f.addTopic("elsewhere", { leader: 2 });
    const response = await listOffsets(
      f,
      request([
        { topic: "nope", timestamp: -1 },
        { topic: "orders", partition: 3, timestamp: -1 },
        { topic: "elsewhere", timestamp: -1 },
        { topic: "orders", partition: 0, timestamp: -1, currentLeaderEpoch: 4 },
      ]),
    );
    // Answers are grouped by topic, in the order topics are first asked.
    assert.deepEqual(response.topics.map((t) => [t.name, t.partitions.map(tuple)]), [
      ["nope", [[ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1]]],
      ["orders", [[ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1], [ErrorCode.FENCED_LEADER_EPOCH, -1, -1, -1]]],
      ["elsewhere", [[ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1, -1]]],
    ]);
    assert.deepEqual(await answer(f, { timestamp: -1, currentLeaderEpoch: 6 }), [
      ErrorCode.UNKNOWN_LEADER_EPOCH,
      -1,
      -1,
      -1,
    ]);
    assert.deepEqual(await answer(f, { timestamp: -1, currentLeaderEpoch: 5 }), [NONE, 0, -1, 5]);
  });
});

Deno.test("a partition asked twice is answered once, with INVALID_REQUEST", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { partitions: 2 });
    const response = await listOffsets(
      f,
      request([{ partition: 0, timestamp: -1 }, { partition: 1, timestamp: -1 }, { partition: 0, timestamp: -2 }]),
    );
    assert.deepEqual(response.topics.map((t) => [t.name, t.partitions.map(tuple)]), [
      ["orders", [[ErrorCode.INVALID_REQUEST, -1, -1, -1], [NONE, 0, -1, 0]]],
    ]);
  });
});

Deno.test("the answer encodes at every served version, 1 to 10; the leader epoch only from v4", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 7 });
    await f.produce("orders", 0, { records: 2, timestamp: 1_000 });
    for (let version = 1; version <= 10; version++) {
      const body = await listOffsets(f, request([{ timestamp: -1 }, { topic: "nope", timestamp: 500 }]), version);
      const decoded = decodeResponse(2, version, encodeResponse(2, version, 3, body)).body;
      assert.deepEqual(tuple(decoded.topics[0].partitions[0]), [NONE, 2, -1, version >= 4 ? 7 : -1], `v${version}`);
      assert.equal(decoded.topics[1].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
  });
});
