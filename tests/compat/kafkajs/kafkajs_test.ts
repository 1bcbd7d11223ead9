/**
 * kafkajs 2.x, run under Deno, against a real Samsa broker process: the admin client, producers with acks 1 and
 * -1, the idempotent producer, and a consumer reading everything back.
 */
import assert from "node:assert/strict";
import { CompressionTypes, Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, startBroker } from "../../integration/broker_process.ts";
import { consumeLines } from "../kcat/kcat.ts";

function client(broker: BrokerProcess): Kafka {
  return new Kafka({
    clientId: "samsa-kafkajs-test",
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 100 },
  });
}

async function withBroker(fn: (broker: BrokerProcess) => Promise<void>) {
  const broker = await startBroker();
  try {
    await fn(broker);
  } finally {
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
}

/**
 * Reads partition 0 of `topic` from the start. Consumer groups are not served yet, so the read-back uses kcat's
 * group-less consumer after checking the end offset through kafkajs's admin client.
 */
async function readAll(kafka: Kafka, broker: BrokerProcess, topic: string, count: number): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  // acks=1 answers before the fsync; the high watermark (what consumers see) follows once it is durable.
  let high = 0;
  for (const deadline = Date.now() + 5000; high < count && Date.now() < deadline;) {
    high = Number((await admin.fetchTopicOffsets(topic))[0].high);
    if (high < count) await new Promise((r) => setTimeout(r, 20));
  }
  await admin.disconnect();
  assert.equal(high, count);
  return await consumeLines(broker.bootstrap, topic, "%s\n", { partition: 0 });
}

Deno.test("kafkajs admin creates, lists and deletes topics", async () => {
  await withBroker(async (broker) => {
    const admin = client(broker).admin();
    await admin.connect();
    try {
      assert.equal(
        await admin.createTopics({ topics: [{ topic: "alpha", numPartitions: 3 }, { topic: "beta" }] }),
        true,
      );
      assert.deepEqual((await admin.listTopics()).sort(), ["alpha", "beta"]);
      const metadata = await admin.fetchTopicMetadata({ topics: ["alpha"] });
      assert.equal(metadata.topics[0].partitions.length, 3);
      // An existing topic is answered TOPIC_ALREADY_EXISTS, which kafkajs reports as `false`.
      assert.equal(await admin.createTopics({ topics: [{ topic: "alpha" }] }), false);
      await admin.deleteTopics({ topics: ["beta"] });
      assert.deepEqual(await admin.listTopics(), ["alpha"]);
    } finally {
      await admin.disconnect();
    }
  });
});

for (const acks of [1, -1]) {
  Deno.test(`kafkajs producer with acks=${acks} gets contiguous offsets`, async () => {
    await withBroker(async (broker) => {
      const kafka = client(broker);
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "orders" }] });
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      const offsets: number[] = [];
      for (let i = 0; i < 20; i++) {
        const [meta] = await producer.send({
          topic: "orders",
          acks,
          compression: i % 2 ? CompressionTypes.GZIP : CompressionTypes.None,
          messages: Array.from({ length: 10 }, (_, j) => ({ key: `k${j}`, value: `v${i * 10 + j}` })),
        });
        assert.equal(meta.errorCode, 0);
        offsets.push(Number(meta.baseOffset));
      }
      await producer.disconnect();
      assert.deepEqual(offsets, Array.from({ length: 20 }, (_, i) => i * 10));
      const records = await readAll(kafka, broker, "orders", 200);
      assert.deepEqual(records, Array.from({ length: 200 }, (_, i) => `v${i}`));
    });
  });
}

Deno.test("kafkajs idempotent producer writes each message exactly once", async () => {
  await withBroker(async (broker) => {
    const kafka = client(broker);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < 50; i++) {
      await producer.send({ topic: "idempotent", acks: -1, messages: [{ key: "k", value: `m${i}` }] });
    }
    await producer.disconnect();
    const records = await readAll(kafka, broker, "idempotent", 50);
    assert.deepEqual(records, Array.from({ length: 50 }, (_, i) => `m${i}`));
  });
});
