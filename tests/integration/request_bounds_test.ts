/**
 * One request cannot take the broker down: a huge Metadata, Produce, DeleteTopics or OffsetCommit request (near
 * `socket.request.max.bytes`, lowered here to keep the test quick) are answered or refused while a bystander
 * client keeps getting its small requests answered promptly, the broker's memory stays bounded, and it keeps
 * serving afterwards.
 */
import assert from "node:assert/strict";
import { ApiKey, decodeResponse, encodeRequest, MAX_REQUEST_ELEMENTS, ZERO_UUID } from "../../protocol/messages.ts";
import { Writer } from "../../protocol/wire/writer.ts";
import { RawClient } from "../diff/raw_client.ts";
import { buildRecordBatch } from "../../protocol/record_batch.ts";
import { type BrokerProcess, startBroker } from "./broker_process.ts";
import { createTopic } from "./produce_helpers.ts";

const REQUEST_MAX_BYTES = 24 * 1024 * 1024;
const SMALL_METADATA = {
  topics: [],
  allowAutoTopicCreation: false,
  includeClusterAuthorizedOperations: false,
  includeTopicAuthorizedOperations: false,
};
/** Generous for a busy 2-core machine: an unsliced 1M-element request stalls everyone for seconds. */
const BYSTANDER_MAX_ROUND_TRIP_MS = 1000;
/** The broker idles at ~100 MB; unbounded, these requests took it past 1.5 GB. */
const MAX_RSS_BYTES = 900 * 1024 * 1024;

function rssBytes(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = /VmRSS:\s+(\d+) kB/.exec(status);
    return kb ? Number(kb[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples the broker's RSS every 50 ms until stopped; returns the peak. */
function watchRss(pid: number): { stop(): number } {
  let peak = rssBytes(pid);
  const timer = setInterval(() => peak = Math.max(peak, rssBytes(pid)), 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssBytes(pid));
    },
  };
}

/** A Metadata v4 request naming `count` topics of 14 bytes (none exists; auto-creation off). */
function hugeMetadata(count: number): Uint8Array {
  const w = new Writer(64 + count * 16);
  w.int32(0); // size prefix, filled below
  w.int16(ApiKey.Metadata);
  w.int16(4);
  w.int32(1); // correlation id
  w.string("huge", false);
  w.int32(count);
  for (let i = 0; i < count; i++) w.string(`t-${String(i).padStart(12, "0")}`, false);
  w.bool(false);
  return sized(w);
}

/** A Produce v3 request with `topics` x `perTopic` partition entries, records null, acks=1. */
function hugeProduce(topics: number, perTopic: number): Uint8Array {
  const w = new Writer(64 + topics * (16 + perTopic * 8));
  w.int32(0);
  w.int16(ApiKey.Produce);
  w.int16(3);
  w.int32(2);
  w.string("huge", false);
  w.int16(-1); // transactional id
  w.int16(1); // acks
  w.int32(5000);
  w.int32(topics);
  for (let t = 0; t < topics; t++) {
    w.string(`missing-${t}`, false);
    w.int32(perTopic);
    for (let p = 0; p < perTopic; p++) {
      w.int32(p);
      w.int32(-1); // records: null
    }
  }
  return sized(w);
}

function sized(w: Writer): Uint8Array {
  const frame = w.finish();
  new DataView(frame.buffer, frame.byteOffset).setInt32(0, frame.length - 4);
  return frame;
}

/**
 * Sends one sized frame on a connection of its own and reads one response frame; null when the broker
 * closes the connection instead.
 */
async function sendAlone(broker: BrokerProcess, frame: Uint8Array): Promise<Uint8Array | null> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: broker.port });
  try {
    const writing = (async () => {
      let written = 0;
      while (written < frame.length) written += await conn.write(frame.subarray(written));
    })().catch(() => {});
    const head = await readExactly(conn, 4);
    if (head === null) return null;
    const body = await readExactly(conn, new DataView(head.buffer).getInt32(0));
    await writing;
    return body;
  } finally {
    conn.close();
  }
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array | null> {
  const out = new Uint8Array(n);
  let filled = 0;
  while (filled < n) {
    const got = await conn.read(out.subarray(filled)).catch(() => null);
    if (got === null) return null;
    filled += got;
  }
  return out;
}

/** Keeps a small Metadata round trip going until `done` settles; returns every round-trip time (ms). */
async function bystander(client: RawClient, done: Promise<unknown>): Promise<number[]> {
  let finished = false;
  void done.finally(() => finished = true);
  const times: number[] = [];
  const deadline = Date.now() + 120_000;
  while (!finished && Date.now() < deadline) {
    const start = performance.now();
    const answer = await client.request(ApiKey.Metadata, 4, SMALL_METADATA);
    times.push(performance.now() - start);
    assert.ok(answer.brokers.length === 1);
  }
  return times;
}

async function withBroker(body: (broker: BrokerProcess) => Promise<void>): Promise<void> {
  const broker = await startBroker({
    settings: {
      "socket.request.max.bytes": REQUEST_MAX_BYTES,
      "queued.max.request.bytes": 2 * REQUEST_MAX_BYTES,
      "auto.create.topics.enable": false,
    },
  });
  try {
    await body(broker);
  } finally {
    await broker.stop();
  }
}

Deno.test("a Metadata request of a million topic names neither stalls other clients nor runs away with memory", async () => {
  await withBroker(async (broker) => {
    const client = await RawClient.connect(broker.bootstrap);
    try {
      const frame = hugeMetadata(MAX_REQUEST_ELEMENTS);
      assert.ok(frame.length < REQUEST_MAX_BYTES);
      const rss = watchRss(broker.pid);
      const big = sendAlone(broker, frame);
      const times = await bystander(client, big);
      const response = await big;
      const peak = rss.stop();
      // ~1M unknown topics answer in ~23 MB: under the response bound (socket.request.max.bytes), so answered.
      assert.ok(response !== null, "the huge Metadata request is answered");
      const { body } = decodeResponse(ApiKey.Metadata, 4, response);
      assert.equal(body.topics.length, MAX_REQUEST_ELEMENTS);
      assert.equal(body.topics[0].errorCode, 3); // UNKNOWN_TOPIC_OR_PARTITION
      const slowest = Math.max(...times);
      console.log(
        `bystander: ${times.length} round trips, slowest ${slowest.toFixed(1)} ms; broker peak RSS ${
          (peak / 2 ** 20).toFixed(0)
        } MiB`,
      );
      assert.ok(slowest < BYSTANDER_MAX_ROUND_TRIP_MS, `bystander waited ${slowest.toFixed(0)} ms`);
      assert.ok(peak < MAX_RSS_BYTES, `broker RSS reached ${(peak / 2 ** 20).toFixed(0)} MiB`);
      assert.ok(times.length >= 5, "the bystander was served while the huge request was handled");
    } finally {
      await client.close();
    }
  });
});

Deno.test("Produce requests of a million partition entries are answered or refused without stalling others", async () => {
  await withBroker(async (broker) => {
    const client = await RawClient.connect(broker.bootstrap);
    try {
      const rss = watchRss(broker.pid);
      // Under the element bound: answered (UNKNOWN_TOPIC_OR_PARTITION for each of 600,000 entries).
      const answered = sendAlone(broker, hugeProduce(3, 200_000));
      // Over it (arrays each under Kafka's 1,000,000, 1.2M elements in all): the connection is closed.
      const refused = sendAlone(broker, hugeProduce(4, 300_000));
      const both = Promise.all([answered, refused]);
      const times = await bystander(client, both);
      const [answer, refusal] = await both;
      const peak = rss.stop();
      assert.ok(answer !== null, "a Produce of 600,000 partition entries is answered");
      const { body } = decodeResponse(ApiKey.Produce, 3, answer);
      assert.equal(body.responses.reduce((n, t) => n + t.partitionResponses.length, 0), 600_000);
      assert.equal(body.responses[0].partitionResponses[0].errorCode, 3);
      assert.equal(refusal, null, "a Produce of 1.2M partition entries closes its connection");
      const slowest = Math.max(...times);
      console.log(
        `bystander: ${times.length} round trips, slowest ${slowest.toFixed(1)} ms; broker peak RSS ${
          (peak / 2 ** 20).toFixed(0)
        } MiB`,
      );
      assert.ok(slowest < BYSTANDER_MAX_ROUND_TRIP_MS, `bystander waited ${slowest.toFixed(0)} ms`);
      assert.ok(peak < MAX_RSS_BYTES, `broker RSS reached ${(peak / 2 ** 20).toFixed(0)} MiB`);
      assert.match(broker.logs(), /malformed request/, "the refusal is logged");
      // Still serving, on old and new connections.
      const again = await RawClient.connect(broker.bootstrap);
      const md = await again.request(ApiKey.Metadata, 4, SMALL_METADATA);
      assert.equal(md.brokers.length, 1);
      await again.close();
    } finally {
      await client.close();
    }
  });
});

/** A request framed with its size prefix, as `sendAlone` sends it. */
function framed<K extends ApiKey>(apiKey: K, apiVersion: number, body: unknown): Uint8Array {
  return encodeRequest(
    { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId: 3, clientId: "huge" } as never,
    body as never,
    { sizePrefix: true, initialCapacity: 1 << 20 },
  );
}

Deno.test("a DeleteTopics of 900,000 names deletes the topics that exist without stalling others", async () => {
  await withBroker(async (broker) => {
    const client = await RawClient.connect(broker.bootstrap);
    try {
      for (const name of ["doomed-0", "doomed-1"]) await createTopic(client, name);
      const topicNames = Array.from({ length: 900_000 }, (_, i) => i < 2 ? `doomed-${i}` : `missing-${i}`);
      // v4: from v5 each unknown name is answered with a 48-byte message too, and 900,000 of them exceed this
      // test's response bound (socket.request.max.bytes, 24 MiB), which closes the connection instead.
      const big = sendAlone(broker, framed(ApiKey.DeleteTopics, 4, { topicNames, topics: [], timeoutMs: 60_000 }));
      const times = await bystander(client, big);
      const response = await big;
      assert.ok(response !== null, "the DeleteTopics request is answered");
      const { body } = decodeResponse(ApiKey.DeleteTopics, 4, response);
      assert.equal(body.responses.length, 900_000);
      assert.deepEqual(body.responses.slice(0, 3).map((r) => [r.name, r.errorCode]), [
        ["doomed-0", 0],
        ["doomed-1", 0],
        ["missing-2", 3], // UNKNOWN_TOPIC_OR_PARTITION
      ]);
      const slowest = Math.max(...times);
      console.log(`bystander: ${times.length} round trips, slowest ${slowest.toFixed(1)} ms`);
      assert.ok(slowest < BYSTANDER_MAX_ROUND_TRIP_MS, `bystander waited ${slowest.toFixed(0)} ms`);
      const md = await client.request(ApiKey.Metadata, 4, {
        ...SMALL_METADATA,
        topics: [{ name: "doomed-0", topicId: ZERO_UUID }],
      });
      assert.equal(md.topics[0].errorCode, 3, "the topic is gone");
    } finally {
      await client.close();
    }
  });
});

Deno.test("an OffsetCommit of 900,000 partitions is refused as too large without stalling others", async () => {
  await withBroker(async (broker) => {
    const client = await RawClient.connect(broker.bootstrap);
    try {
      await createTopic(client, "committed", 2);
      const commit = (count: number) =>
        framed(ApiKey.OffsetCommit, 8, {
          groupId: "huge",
          generationIdOrMemberEpoch: -1,
          memberId: "",
          groupInstanceId: null,
          retentionTimeMs: -1n,
          topics: [{
            name: "committed",
            partitions: Array.from({ length: count }, (_, i) => ({
              partitionIndex: i % 2,
              committedOffset: BigInt(i),
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: null,
            })),
          }],
        });
      const big = sendAlone(broker, commit(900_000));
      const times = await bystander(client, big);
      const response = await big;
      assert.ok(response !== null, "the OffsetCommit request is answered");
      const { body } = decodeResponse(ApiKey.OffsetCommit, 8, response);
      assert.equal(body.topics[0].partitions.length, 900_000);
      // Its records would exceed the offsets topic's max.message.bytes: Kafka refuses such a commit whole.
      assert.ok(body.topics[0].partitions.every((p) => p.errorCode === 28), "INVALID_COMMIT_OFFSET_SIZE");
      const slowest = Math.max(...times);
      console.log(`bystander: ${times.length} round trips, slowest ${slowest.toFixed(1)} ms`);
      assert.ok(slowest < BYSTANDER_MAX_ROUND_TRIP_MS, `bystander waited ${slowest.toFixed(0)} ms`);
      const small = await sendAlone(broker, commit(2));
      assert.ok(small !== null);
      const answer = decodeResponse(ApiKey.OffsetCommit, 8, small).body;
      assert.deepEqual(answer.topics[0].partitions.map((p) => p.errorCode), [0, 0], "a commit that fits is accepted");
    } finally {
      await client.close();
    }
  });
});

Deno.test("a request declaring more than a million array elements closes its connection at once", async () => {
  await withBroker(async (broker) => {
    const w = new Writer(64);
    w.int32(0);
    w.int16(ApiKey.Metadata);
    w.int16(4);
    w.int32(3);
    w.string("liar", false);
    w.int32(2_000_000); // topics: more than Kafka's limit, and more than the bytes that follow
    for (let i = 0; i < 10; i++) w.string("x", false);
    assert.equal(await sendAlone(broker, sized(w)), null);
    const frame = encodeRequest(
      { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId: 4, clientId: "after" },
      { clientSoftwareName: "t", clientSoftwareVersion: "1" },
      { sizePrefix: true },
    );
    assert.ok(await sendAlone(broker, frame) !== null, "the broker still answers");
  });
});

Deno.test("Metadata with an empty topic name (v4) or an unknown topic id (v10) is answered, not a crash", async () => {
  await withBroker(async (broker) => {
    const client = await RawClient.connect(broker.bootstrap);
    try {
      const byName = await client.request(ApiKey.Metadata, 4, {
        ...SMALL_METADATA,
        topics: [{ name: "", topicId: "00000000-0000-0000-0000-000000000000" }],
      });
      assert.equal(byName.topics.length, 1);
      assert.equal(byName.topics[0].name, "");
      assert.notEqual(byName.topics[0].errorCode, 0);
      const byId = await client.request(ApiKey.Metadata, 10, {
        ...SMALL_METADATA,
        topics: [{ name: null, topicId: "5a8e0b3c-0000-4000-8000-000000000001" }],
      });
      assert.equal(byId.topics[0].errorCode, 100); // UNKNOWN_TOPIC_ID
      assert.equal(byId.topics[0].name, "");
    } finally {
      await client.close();
    }
  });
});

Deno.test("one Metadata request auto-creates at most 10,000 partitions, as one Kafka controller operation", async () => {
  // 10,001 partitions per topic: the first creation is refused by the controller's own bound, and the budget of
  // the request is spent, so the other topics are not even tried. (A budget spent on real creations would take
  // tens of seconds of fsyncs here.)
  const broker = await startBroker({ settings: { "num.partitions": 10_001, "auto.create.topics.enable": true } });
  const client = await RawClient.connect(broker.bootstrap);
  try {
    const names = Array.from({ length: 50 }, (_, i) => `auto-${i}`);
    const answer = await client.request(ApiKey.Metadata, 4, {
      ...SMALL_METADATA,
      allowAutoTopicCreation: true,
      topics: names.map((name) => ({ name, topicId: "00000000-0000-0000-0000-000000000000" })),
    }, 60_000);
    assert.equal(answer.topics[0].errorCode, 44, "POLICY_VIOLATION: too many partitions for one operation");
    assert.ok(answer.topics.slice(1).every((t) => t.errorCode === 3), "the rest: UNKNOWN_TOPIC_OR_PARTITION");
  } finally {
    await client.close();
    await broker.stop();
  }
});

Deno.test("pipelined large Produce requests of an idempotent producer are appended in order", async () => {
  const broker = await startBroker();
  const client = await RawClient.connect(broker.bootstrap);
  try {
    await createTopic(client, "pipelined");
    const { producerId, producerEpoch } = await client.request(ApiKey.InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    });
    // Large requests (sliced) whose batch comes after 200,000 entries for a missing topic, so that they pause
    // before appending, each followed by a small request sent without waiting: a small one overtaking a large
    // one would be answered OUT_OF_ORDER_SEQUENCE_NUMBER.
    const value = new Uint8Array(100).fill(7);
    const junk = Array.from({ length: 200_000 }, (_, index) => ({ index, records: null }));
    const answers = [];
    for (let i = 0; i < 12; i++) {
      const count = i % 2 === 0 ? 100 : 1;
      const records = Array.from({ length: count }, () => ({ timestamp: Date.now(), key: null, value }));
      const sequence = Math.floor(i / 2) * 101 + (i % 2 === 0 ? 0 : 100);
      const batch = buildRecordBatch(records, { producerId, producerEpoch, baseSequence: sequence });
      const real = { name: "pipelined", partitionData: [{ index: 0, records: batch }] };
      answers.push(client.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: i % 2 === 0 ? [{ name: "missing", partitionData: junk }, real] : [real],
      }));
    }
    const offsets = [];
    for (const a of await Promise.all(answers)) {
      const p = a.responses[a.responses.length - 1].partitionResponses[0];
      assert.equal(p.errorCode, 0, p.errorMessage ?? "");
      offsets.push(Number(p.baseOffset));
    }
    assert.deepEqual(offsets, offsets.toSorted((x, y) => x - y), "appended in request order");
    assert.equal(offsets[11], 6 * 101 - 1);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- broker log ---\n${broker.logs()}`, { cause: e });
  } finally {
    await client.close();
    await broker.stop();
  }
});
