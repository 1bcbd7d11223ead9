/**
 * Fetch as Kafka answers it: reads from the fetch offset up to the high watermark, byte limits per partition
 * and per request (KIP-74), per-partition errors, long polls woken by commits, topic ids (v13+) and sessionless
 * answers to fetch sessions (KIP-227).
 */
import assert from "node:assert/strict";
import { handleFetch } from "../../../broker/handlers/fetch.ts";
import { decodeResponse, encodeResponse, ErrorCode, ZERO_UUID } from "../../../protocol/messages.ts";
import {
  defaultFetchRequest,
  type FetchRequest,
  type FetchRequestFetchPartition,
} from "../../../protocol/generated/messages/fetch_request.ts";
import type { FetchResponse, FetchResponsePartitionData } from "../../../protocol/generated/messages/fetch_response.ts";
import { iterateBatches } from "../../../protocol/record_batch.ts";
import { type ReplicaFixture, testConnection, withReplicas } from "./replica_fixture.ts";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

interface PartitionAsk {
  topic: string;
  topicId?: string;
  partition?: number;
  fetchOffset?: number;
  partitionMaxBytes?: number;
  currentLeaderEpoch?: number;
  lastFetchedEpoch?: number;
}

/** A consumer's fetch request: no wait unless asked, 1 MiB per partition. */
function fetchRequest(asks: PartitionAsk[], fields: Partial<FetchRequest> = {}): FetchRequest {
  const body = { ...defaultFetchRequest(), maxWaitMs: 0, minBytes: 1, maxBytes: 50 * 1024 * 1024, ...fields };
  for (const ask of asks) {
    const partition: FetchRequestFetchPartition = {
      partition: ask.partition ?? 0,
      currentLeaderEpoch: ask.currentLeaderEpoch ?? -1,
      fetchOffset: BigInt(ask.fetchOffset ?? 0),
      lastFetchedEpoch: ask.lastFetchedEpoch ?? -1,
      logStartOffset: -1n,
      partitionMaxBytes: ask.partitionMaxBytes ?? 1024 * 1024,
      replicaDirectoryId: ZERO_UUID,
    };
    const last = body.topics[body.topics.length - 1];
    if (last && last.topic === ask.topic && last.topicId === (ask.topicId ?? ZERO_UUID)) {
      last.partitions.push(partition);
    } else {
      body.topics.push({ topic: ask.topic, topicId: ask.topicId ?? ZERO_UUID, partitions: [partition] });
    }
  }
  return body;
}

async function fetch(
  f: ReplicaFixture,
  body: FetchRequest,
  apiVersion = 12,
  conn = testConnection(),
): Promise<FetchResponse> {
  const header = { requestApiKey: 1, requestApiVersion: apiVersion, correlationId: 1, clientId: "test" };
  const response = await handleFetch(f.ctx, { apiVersion, header, body }, conn);
  assert.ok(response !== null);
  return response;
}

/** The answer for one partition of a one-topic response. */
function only(response: FetchResponse): FetchResponsePartitionData {
  assert.equal(response.responses.length, 1);
  assert.equal(response.responses[0].partitions.length, 1);
  return response.responses[0].partitions[0];
}

/** The (baseOffset, lastOffset) of every batch of an answer. */
function batchesOf(data: FetchResponsePartitionData): [number, number][] {
  return [...iterateBatches(data.records ?? new Uint8Array(0))].map(({ header }) => {
    const base = Number(header.baseOffset);
    return [base, base + header.lastOffsetDelta];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

Deno.test("a fetch returns whole batches from the one holding the fetch offset up to the high watermark", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    await f.produce("orders", 0, { records: 3 });
    await f.produce("orders", 0, { records: 2 });
    await f.produce("orders", 0, { records: 4 });

    const all = only(await fetch(f, fetchRequest([{ topic: "orders", fetchOffset: 0 }])));
    assert.equal(all.errorCode, ErrorCode.NONE);
    assert.deepEqual(batchesOf(all), [[0, 2], [3, 4], [5, 8]]);
    assert.equal(all.highWatermark, 9n);
    assert.equal(all.lastStableOffset, 9n);
    assert.equal(all.logStartOffset, 0n);
    assert.equal(all.abortedTransactions, null);
    assert.equal(all.preferredReadReplica, -1);

    // An offset inside a batch returns that batch whole: the consumer skips the records before its offset.
    const middle = only(await fetch(f, fetchRequest([{ topic: "orders", fetchOffset: 4 }])));
    assert.deepEqual(batchesOf(middle), [[3, 4], [5, 8]]);

    const atEnd = only(await fetch(f, fetchRequest([{ topic: "orders", fetchOffset: 9 }])));
    assert.equal(atEnd.errorCode, ErrorCode.NONE);
    assert.equal(atEnd.records?.length, 0);
    assert.equal(atEnd.highWatermark, 9n);
  });
});

Deno.test("records are invisible until they are committed (past the high watermark, not out of range)", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    await f.produce("orders", 0, { records: 2 });
    await f.produce("orders", 0, { records: 2, durable: false });
    const data = only(await fetch(f, fetchRequest([{ topic: "orders", fetchOffset: 0 }])));
    assert.deepEqual(batchesOf(data), [[0, 1]]);
    assert.equal(data.highWatermark, 2n);
    const beyond = only(await fetch(f, fetchRequest([{ topic: "orders", fetchOffset: 3 }])));
    assert.equal(beyond.errorCode, ErrorCode.NONE);
    assert.equal(beyond.records?.length, 0);
  });
});

Deno.test("a read crosses segment boundaries on the next fetch", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("small-segments", { configs: { "segment.bytes": "1000" } });
    for (let i = 0; i < 6; i++) await f.produce("small-segments", 0, { records: 2, valueBytes: 200 });
    const seen: [number, number][] = [];
    let offset = 0;
    while (offset < 12) {
      const data = only(await fetch(f, fetchRequest([{ topic: "small-segments", fetchOffset: offset }])));
      const batches = batchesOf(data);
      assert.ok(batches.length > 0, `nothing at ${offset}`);
      seen.push(...batches);
      offset = batches[batches.length - 1][1] + 1;
    }
    assert.deepEqual(seen, [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]);
  });
});

Deno.test("read_committed gets an empty aborted-transactions list and the last stable offset", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    await f.produce("orders", 0, { records: 2 });
    const data = only(await fetch(f, fetchRequest([{ topic: "orders" }], { isolationLevel: 1 })));
    assert.deepEqual(data.abortedTransactions, []);
    assert.equal(data.lastStableOffset, 2n);
    assert.deepEqual(batchesOf(data), [[0, 1]]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Byte limits (KIP-74)

Deno.test("the first batch comes back whole even when it exceeds partitionMaxBytes and maxBytes", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("big");
    const first = await f.produce("big", 0, { records: 1, valueBytes: 5_000 });
    await f.produce("big", 0, { records: 1, valueBytes: 5_000 });
    const data = only(
      await fetch(f, fetchRequest([{ topic: "big", partitionMaxBytes: 100 }], { maxBytes: 100 })),
    );
    assert.deepEqual(batchesOf(data), [[0, 0]]);
    assert.equal(data.records?.length, first.size);
  });
});

Deno.test("partitionMaxBytes caps a partition at whole batches", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    const one = await f.produce("orders", 0, { records: 1 });
    await f.produce("orders", 0, { records: 1 });
    await f.produce("orders", 0, { records: 1 });
    const data = only(await fetch(f, fetchRequest([{ topic: "orders", partitionMaxBytes: 2 * one.size + 10 }])));
    assert.deepEqual(batchesOf(data), [[0, 0], [1, 1]]);
  });
});

Deno.test("maxBytes is a budget across partitions: later partitions get only what is left", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { partitions: 3 });
    let size = 0;
    for (const p of [0, 1, 2]) {
      for (let i = 0; i < 2; i++) size = (await f.produce("orders", p, { records: 1 })).size;
    }
    // 2.5 batches of budget: partition 0 takes two, partition 1 cannot fit one more, partition 2 neither.
    const response = await fetch(
      f,
      fetchRequest([0, 1, 2].map((partition) => ({ topic: "orders", partition })), { maxBytes: 2 * size + size / 2 }),
    );
    const [p0, p1, p2] = response.responses[0].partitions;
    assert.deepEqual(batchesOf(p0), [[0, 0], [1, 1]]);
    assert.deepEqual(batchesOf(p1), []);
    assert.deepEqual(batchesOf(p2), []);
    assert.equal(p1.highWatermark, 2n, "a partition left without budget still reports its offsets");
  });
});

Deno.test("the at-least-one-batch rule goes to the first partition that has data, not the first asked", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { partitions: 3 });
    await f.produce("orders", 1, { records: 1, valueBytes: 3_000 });
    await f.produce("orders", 2, { records: 1, valueBytes: 3_000 });
    const response = await fetch(
      f,
      fetchRequest([0, 1, 2].map((partition) => ({ topic: "orders", partition, partitionMaxBytes: 500 })), {
        maxBytes: 500,
      }),
    );
    const [p0, p1, p2] = response.responses[0].partitions;
    assert.equal(p0.records?.length, 0);
    assert.deepEqual(batchesOf(p1), [[0, 0]], "first partition with data: one batch past the limits");
    assert.deepEqual(batchesOf(p2), [], "later partitions must fit the remaining budget");
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Errors

Deno.test("a fetch offset past the log end or before the log start is OFFSET_OUT_OF_RANGE", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    for (let i = 0; i < 4; i++) await f.produce("orders", 0, { records: 1 });
    await f.replica("orders", 0).log.deleteRecordsBefore(2);

    for (const fetchOffset of [5, 1]) {
      const data = only(await fetch(f, fetchRequest([{ topic: "orders", fetchOffset }])));
      assert.equal(data.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${fetchOffset}`);
      // Kafka answers read errors, this one included, with unknown offsets (ReplicaManager.createLogReadResult).
      assert.equal(data.highWatermark, -1n);
      assert.equal(data.logStartOffset, -1n);
      assert.equal(data.lastStableOffset, -1n);
      assert.equal(data.records?.length, 0);
    }
    const fromStart = only(await fetch(f, fetchRequest([{ topic: "orders", fetchOffset: 2 }])));
    assert.equal(fromStart.logStartOffset, 2n);
    assert.deepEqual(batchesOf(fromStart), [[2, 2], [3, 3]]);
  });
});

Deno.test("unknown topics and partitions are UNKNOWN_TOPIC_OR_PARTITION, listed after partitions read", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    await f.produce("orders", 0);
    const response = await fetch(
      f,
      fetchRequest([
        { topic: "nope" },
        { topic: "orders", partition: 7 },
        { topic: "orders", partition: 0 },
      ]),
    );
    assert.deepEqual(
      response.responses.map((t) => [t.topic, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]),
      [
        ["orders", [[0, ErrorCode.NONE]]],
        ["nope", [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        ["orders", [[7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      ],
    );
    const unknown = response.responses[1].partitions[0];
    assert.equal(unknown.highWatermark, -1n);
    assert.equal(unknown.records?.length, 0);
    assert.deepEqual(unknown.abortedTransactions, [], "as Kafka 4.3 answers a partition refused before reading");
  });
});

Deno.test("a partition led by another broker is NOT_LEADER_OR_FOLLOWER", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("elsewhere", { leader: 2, leaderEpoch: 3 });
    const data = only(await fetch(f, fetchRequest([{ topic: "elsewhere" }])));
    assert.equal(data.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.equal(data.highWatermark, -1n);
  });
});

Deno.test("an older current leader epoch is FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 5 });
    await f.produce("orders", 0);
    const ask = (currentLeaderEpoch: number) =>
      fetch(f, fetchRequest([{ topic: "orders", currentLeaderEpoch }])).then(only);
    assert.equal((await ask(4)).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assert.equal((await ask(6)).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.equal((await ask(5)).errorCode, ErrorCode.NONE);
    assert.equal((await ask(-1)).errorCode, ErrorCode.NONE, "-1: no epoch to check");
  });
});

Deno.test("v16+ tells a fenced client the current leader and its endpoint (KIP-951)", async () => {
  await withReplicas(async (f) => {
    const orders = await f.addTopic("orders", { leaderEpoch: 5 });
    const response = await fetch(
      f,
      fetchRequest([{ topic: "", topicId: orders.topicId, currentLeaderEpoch: 4 }]),
      16,
    );
    const data = only(response);
    assert.equal(data.errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assert.deepEqual(data.currentLeader, { leaderId: 1, leaderEpoch: 5 });
    assert.deepEqual(response.nodeEndpoints, [{ nodeId: 1, host: "127.0.0.1", port: 9092, rack: null }]);
  });
});

Deno.test("a last fetched epoch past where the log's epoch ended answers a diverging epoch", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { leaderEpoch: 1 });
    await f.produce("orders", 0, { records: 3 });
    await f.replica("orders", 0).startNewLeaderEpoch();
    await f.replica("orders", 0).startNewLeaderEpoch();
    await f.produce("orders", 0, { records: 3 });
    // The fetcher believes epoch 2 reached offset 5; this log has epoch 1 up to 3, then epoch 3.
    const data = only(await fetch(f, fetchRequest([{ topic: "orders", fetchOffset: 5, lastFetchedEpoch: 2 }])));
    assert.equal(data.errorCode, ErrorCode.NONE);
    assert.deepEqual(data.divergingEpoch, { epoch: 1, endOffset: 3n });
    assert.equal(data.records?.length, 0);
    assert.equal(data.highWatermark, 6n);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Long polls

Deno.test("a long poll returns as soon as a produce is committed, well before maxWait", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    const started = performance.now();
    const pending = fetch(f, fetchRequest([{ topic: "orders" }], { maxWaitMs: 5_000, minBytes: 1 }));
    setTimeout(() => f.produce("orders", 0, { records: 2 }), 50);
    const data = only(await pending);
    const elapsed = performance.now() - started;
    assert.deepEqual(batchesOf(data), [[0, 1]]);
    assert.ok(elapsed < 2_000, `answered after ${elapsed} ms`);
  });
});

Deno.test("a long poll with nothing arriving answers empty once maxWait has passed", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    const started = performance.now();
    const data = only(await fetch(f, fetchRequest([{ topic: "orders" }], { maxWaitMs: 200, minBytes: 1 })));
    const elapsed = performance.now() - started;
    assert.equal(data.errorCode, ErrorCode.NONE);
    assert.equal(data.records?.length, 0);
    assert.ok(elapsed >= 190 && elapsed < 2_000, `answered after ${elapsed} ms`);
  });
});

Deno.test("a long poll waits for minBytes across commits, not for the first commit", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { partitions: 2 });
    const started = performance.now();
    const pending = fetch(
      f,
      fetchRequest([{ topic: "orders", partition: 0 }, { topic: "orders", partition: 1 }], {
        maxWaitMs: 5_000,
        minBytes: 500,
      }),
    );
    // One batch of ~370 bytes is not enough: the poll must keep waiting for the second.
    await f.produce("orders", 0, { records: 1, valueBytes: 300 });
    await new Promise((r) => setTimeout(r, 50));
    await f.produce("orders", 1, { records: 1, valueBytes: 300 });
    const response = await pending;
    const elapsed = performance.now() - started;
    const [p0, p1] = response.responses[0].partitions;
    assert.deepEqual([batchesOf(p0), batchesOf(p1)], [[[0, 0]], [[0, 0]]]);
    assert.ok(elapsed < 2_000, `answered after ${elapsed} ms`);
  });
});

Deno.test("a long poll ends when its connection closes", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    const conn = testConnection();
    const started = performance.now();
    const pending = fetch(f, fetchRequest([{ topic: "orders" }], { maxWaitMs: 10_000 }), 12, conn);
    setTimeout(() => conn.closeNow(), 50);
    await pending;
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 2_000, `answered after ${elapsed} ms`);
  });
});

Deno.test("an error answers at once, without waiting for maxWait", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    const started = performance.now();
    const data = only(
      await fetch(f, fetchRequest([{ topic: "orders", fetchOffset: 99 }], { maxWaitMs: 5_000, minBytes: 1 })),
    );
    assert.equal(data.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.ok(performance.now() - started < 1_000);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Topic ids and sessions

Deno.test("v13+ fetches by topic id; an unknown id is UNKNOWN_TOPIC_ID for each of its partitions", async () => {
  await withReplicas(async (f) => {
    const orders = await f.addTopic("orders");
    await f.produce("orders", 0, { records: 2 });
    const unknownId = "0f0f0f0f-0000-4000-8000-000000000000";
    const response = await fetch(
      f,
      fetchRequest([
        { topic: "", topicId: orders.topicId, partition: 0 },
        { topic: "", topicId: unknownId, partition: 0 },
        { topic: "", topicId: unknownId, partition: 1 },
      ]),
      13,
    );
    assert.equal(response.responses.length, 2);
    assert.equal(response.responses[0].topicId, orders.topicId);
    assert.deepEqual(batchesOf(response.responses[0].partitions[0]), [[0, 1]]);
    assert.equal(response.responses[1].topicId, unknownId);
    assert.deepEqual(response.responses[1].partitions.map((p) => [p.partitionIndex, p.errorCode]), [
      [0, ErrorCode.UNKNOWN_TOPIC_ID],
      [1, ErrorCode.UNKNOWN_TOPIC_ID],
    ]);
  });
});

Deno.test("full fetches are answered sessionless, also when they ask for a new session", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    await f.produce("orders", 0);
    for (const [sessionId, sessionEpoch] of [[0, -1], [0, 0], [77, -1]]) {
      const response = await fetch(f, fetchRequest([{ topic: "orders" }], { sessionId, sessionEpoch }));
      assert.equal(response.errorCode, ErrorCode.NONE);
      assert.equal(response.sessionId, 0);
      assert.equal(only(response).errorCode, ErrorCode.NONE);
    }
  });
});

Deno.test("an incremental fetch names an unknown session: FETCH_SESSION_ID_NOT_FOUND at the top level", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    const response = await fetch(f, fetchRequest([{ topic: "orders" }], { sessionId: 1234, sessionEpoch: 1 }));
    assert.equal(response.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    assert.equal(response.sessionId, 0);
    assert.deepEqual(response.responses, []);
  });
});

Deno.test("the answer encodes at every served version, 4 to 17, records byte for byte", async () => {
  await withReplicas(async (f) => {
    const orders = await f.addTopic("orders", { leaderEpoch: 1 });
    await f.produce("orders", 0, { records: 3 });
    for (let version = 4; version <= 17; version++) {
      const asks = version >= 13
        ? [{ topic: "", topicId: orders.topicId }, { topic: "", topicId: ZERO_UUID }]
        : [{ topic: "orders" }, { topic: "nope" }];
      // The epoch field exists from v9 on (decoding defaults it to -1 before); 0 is older than the replica's 1.
      const currentLeaderEpoch = version >= 9 ? 0 : -1;
      const body = await fetch(f, fetchRequest(asks.map((a) => ({ ...a, currentLeaderEpoch }))), version);
      const frame = encodeResponse(1, version, 9, body);
      const decoded = decodeResponse(1, version, frame).body;
      assert.equal(decoded.responses.length, 2, `v${version}`);
      const read = decoded.responses[0].partitions[0];
      assert.equal(read.errorCode, version >= 9 ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.NONE, `v${version}`);
      if (version < 9) assert.deepEqual(read.records, body.responses[0].partitions[0].records);
    }
  });
});

Deno.test("a partition asked twice is answered once, where first asked, from the offset asked last", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders", { partitions: 2 });
    await f.produce("orders", 0, { records: 2 });
    await f.produce("orders", 0, { records: 2 });
    await f.produce("orders", 1, { records: 1 });
    const response = await fetch(
      f,
      fetchRequest([
        { topic: "orders", partition: 0, fetchOffset: 0 },
        { topic: "orders", partition: 1, fetchOffset: 0 },
        { topic: "orders", partition: 0, fetchOffset: 2 },
      ]),
    );
    const partitions = response.responses[0].partitions;
    assert.deepEqual(partitions.map((p) => p.partitionIndex), [0, 1]);
    assert.deepEqual(batchesOf(partitions[0]), [[2, 3]]);
  });
});
