/**
 * Idempotence proven with real retries: each real client produces through a proxy that lets the broker write
 * a Produce request and then cuts the connection before the answer reaches the client. The client cannot
 * know whether the batch was written, so it resends it with the same producer id, epoch and sequence; the
 * broker must recognise the duplicate. The partition, read back with Samsa's own codec, must hold each record
 * exactly once, in send order, and the proxy must have seen the same batch sent twice.
 *
 * Without deduplication on the broker these tests fail: the resent batch is either written a second time or
 * refused as out of order.
 */
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { ApiKey, decodeRequest } from "../../protocol/messages.ts";
import { iterateBatches } from "../../protocol/record_batch.ts";
import { type BrokerProcess, freePort, startBroker } from "../integration/broker_process.ts";
import { createTopic, RawClient } from "../integration/produce_helpers.ts";
import { readPartition } from "../harness/read_partition.ts";
import { startTcpProxy, type TcpProxy } from "../harness/tcp_proxy.ts";
import { failedChecks, runDriver } from "./client_driver.ts";
import { kcat } from "./kcat/kcat.ts";

const RECORDS = 100;
const TOPIC = "retried";
const JAVA = new URL("./java/run.sh", import.meta.url).pathname;
const PYTHON = new URL("./python/driver.py", import.meta.url).pathname;
const GO_DIR = new URL("./go/", import.meta.url).pathname;
const DRIVER_ENV = { COMPAT_TOPIC: TOPIC, COMPAT_RECORDS: String(RECORDS) };

/** One batch as a producer sent it: who, which epoch, which sequence. */
function producedBatchIds(frame: Uint8Array): string[] {
  if (new DataView(frame.buffer, frame.byteOffset).getInt16(0) !== ApiKey.Produce) return [];
  const request = decodeRequest(frame);
  if (request.apiKey !== ApiKey.Produce) return [];
  const ids: string[] = [];
  for (const topic of request.body.topicData) {
    for (const partition of topic.partitionData) {
      const records = partition.records ?? new Uint8Array(0);
      for (const { header } of iterateBatches(records)) {
        ids.push(`${header.producerId}/${header.producerEpoch}/${header.baseSequence}-${header.lastOffsetDelta}`);
      }
    }
  }
  return ids;
}

/**
 * A broker behind a proxy that cuts the connection once the answer to the first Produce is back from the
 * broker, and again for the fourth; `produce` sends `RECORDS` records `k-i`/`v-i` to partition 0 of TOPIC.
 */
async function assertRetriedExactlyOnce(
  produce: (bootstrap: string, direct: string) => Promise<void>,
): Promise<void> {
  const brokerPort = freePort();
  const proxy: TcpProxy = startTcpProxy({ targetPort: brokerPort });
  let broker: BrokerProcess | undefined;
  try {
    broker = await startBroker({
      port: brokerPort,
      // Clients must come back through the proxy after bootstrap, so the broker advertises its address.
      settings: { "advertised.listeners": `PLAINTEXT://${proxy.address}` },
    });
    const admin = await RawClient.connect(broker.bootstrap);
    try {
      await createTopic(admin, TOPIC);
    } finally {
      await admin.close();
    }
    const sent: string[] = [];
    proxy.observeRequests((frame) => sent.push(...producedBatchIds(frame)));
    proxy.cutBeforeAnswer({ apiKey: ApiKey.Produce, nth: 1 });
    proxy.cutBeforeAnswer({ apiKey: ApiKey.Produce, nth: 4 });

    await produce(proxy.address, broker.bootstrap);

    assert.deepEqual(proxy.observerErrors(), []);
    assert.equal(proxy.fired().length, 2, "both cuts happened");
    const resent = sent.filter((id, i) => sent.indexOf(id) !== i);
    assert.ok(resent.length > 0, `the client resent a batch with the same producer id, epoch and sequence: ${sent}`);
    const stored = await readPartition(broker.bootstrap, TOPIC);
    assert.deepEqual(
      stored.map((r) => `${r.offset}:${r.key}=${r.value}`),
      Array.from({ length: RECORDS }, (_, i) => `${i}:k-${i}=v-${i}`),
      "each record exactly once, in send order",
    );
    assert.equal(new Set(stored.map((r) => `${r.producerId}/${r.producerEpoch}`)).size, 1, "one producer, one epoch");
  } finally {
    await proxy.close();
    if (broker !== undefined) {
      await broker.stop();
      await Deno.remove(broker.dataDir, { recursive: true });
    }
  }
}

Deno.test("idempotence with retries: Java kafka-clients resends a batch whose answer was lost, stored once", async () => {
  await assertRetriedExactlyOnce(async (bootstrap) => {
    const run = await runDriver("bash", [JAVA, bootstrap, "produce-retry"], 300_000, DRIVER_ENV);
    assert.equal(run.code, 0, failedChecks(run));
    assert.deepEqual(run.checks.map((c) => `${c.check}:${c.ok}`), ["all-acked:true", "offsets-in-send-order:true"]);
  });
});

Deno.test("idempotence with retries: confluent-kafka-python resends a batch whose answer was lost, stored once", async () => {
  await assertRetriedExactlyOnce(async (bootstrap) => {
    const run = await runDriver("python3", [PYTHON, bootstrap, "produce-retry"], 180_000, DRIVER_ENV);
    assert.equal(run.code, 0, failedChecks(run));
    assert.deepEqual(run.checks.map((c) => `${c.check}:${c.ok}`), [
      "all-delivered:true",
      "offsets-in-send-order:true",
    ]);
  });
});

Deno.test("idempotence with retries: franz-go resends a batch whose answer was lost, stored once", async () => {
  const build = await new Deno.Command("go", { args: ["build", "-o", `${GO_DIR}.driver`, "."], cwd: GO_DIR })
    .output();
  assert.ok(build.success, new TextDecoder().decode(build.stderr));
  await assertRetriedExactlyOnce(async (bootstrap) => {
    const run = await runDriver(`${GO_DIR}.driver`, [bootstrap, "produce-retry"], 180_000, DRIVER_ENV);
    assert.equal(run.code, 0, failedChecks(run));
    assert.deepEqual(run.checks.map((c) => `${c.check}:${c.ok}`), ["all-acked:true", "offsets-in-send-order:true"]);
  });
});

Deno.test("idempotence with retries: kcat (librdkafka) resends a batch whose answer was lost, stored once", async () => {
  // kcat exits when every broker connection is down, which the cut makes true for a moment with one broker; a
  // second bootstrap address (the broker itself, used only for metadata) keeps one up, as a cluster would.
  await assertRetriedExactlyOnce(async (bootstrap, direct) => {
    const input = Array.from({ length: RECORDS }, (_, i) => `k-${i}:v-${i}\n`).join("");
    const result = await kcat([
      "-b",
      `${bootstrap},${direct}`,
      "-P",
      "-t",
      TOPIC,
      "-p",
      "0",
      "-K",
      ":",
      "-X",
      "enable.idempotence=true",
      "-X",
      "acks=all",
      "-X",
      "linger.ms=5",
      "-X",
      "batch.num.messages=10",
    ], input);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /Delivery failed/i);
  });
});

Deno.test("idempotence with retries: kafkajs resends a batch whose answer was lost, stored once", async () => {
  await assertRetriedExactlyOnce(async (bootstrap) => {
    const kafka = new Kafka({
      clientId: "samsa-retry-test",
      brokers: [bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100 },
    });
    // kafkajs's idempotent producer allows one request in flight; batches of ten records, one after another.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let first = 0; first < RECORDS; first += 10) {
        const messages = Array.from({ length: 10 }, (_, i) => ({ key: `k-${first + i}`, value: `v-${first + i}` }));
        const [meta] = await producer.send({
          topic: TOPIC,
          acks: -1,
          messages: messages.map((m) => ({ ...m, partition: 0 })),
        });
        assert.equal(meta.baseOffset, String(first), "each batch acknowledged at its first offset");
      }
    } finally {
      await producer.disconnect();
    }
  });
});
