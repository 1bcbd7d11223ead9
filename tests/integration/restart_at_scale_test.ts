/**
 * Restart after kill -9 at scale: a broker with 1,500 partitions under `ulimit -n 1024` (three descriptors per
 * partition in recovery used to exhaust it) restarts and serves every partition, and warns at startup that the
 * limit is low for that many partitions.
 */
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, startBroker } from "./broker_process.ts";

const PARTITIONS = 1_500;
const OPEN_FILES_LIMIT = 1_024;

function kafkaFor(bootstrap: string): Kafka {
  return new Kafka({
    clientId: "restart-at-scale",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
    connectionTimeout: 3_000,
    requestTimeout: 120_000,
  });
}

Deno.test("after kill -9, a broker with 1,500 partitions under ulimit -n 1024 restarts and serves every partition", async () => {
  const broker = await startBroker({ openFilesLimit: OPEN_FILES_LIMIT });
  const dataDir = broker.dataDir;
  let restarted: BrokerProcess | null = null;
  try {
    await fillAndKill(broker);
    restarted = await startBroker({
      dataDir,
      port: broker.port,
      openFilesLimit: OPEN_FILES_LIMIT,
      startTimeoutMs: 120_000,
    });
    const admin = kafkaFor(restarted.bootstrap).admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets("many");
    await admin.disconnect();
    assert.equal(offsets.length, PARTITIONS);
    const wrong = offsets.filter((o) => o.high !== "1" || o.low !== "0");
    assert.deepEqual(wrong, [], "every partition kept its one acknowledged record");
    assert.doesNotMatch(restarted.logs(), /too many open files/i);
    assert.match(restarted.logs(), /ulimit -n is low for this partition count/, "the startup warns about the limit");
  } finally {
    await broker.kill();
    await restarted?.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** Creates the 1,500 partitions, acknowledges one record on each, and kills the broker. */
async function fillAndKill(broker: BrokerProcess): Promise<void> {
  try {
    const kafka = kafkaFor(broker.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    assert.ok(await admin.createTopics({ topics: [{ topic: "many", numPartitions: PARTITIONS }], timeout: 120_000 }));
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: "many",
      acks: -1,
      messages: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `p${p}` })),
    });
    await producer.disconnect();
  } finally {
    await broker.kill();
  }
}
