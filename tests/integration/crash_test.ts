/**
 * Durability across crashes: kill -9 during acks=-1 production loses no acknowledged record, and a torn or
 * corrupt segment tail is cut at restart while everything before it is served.
 */
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { iterateBatches } from "../../protocol/record_batch.ts";
import { startBroker } from "./broker_process.ts";
import { consumeLines, kcat } from "../compat/kcat/kcat.ts";

function kafkaFor(bootstrap: string): Kafka {
  return new Kafka({
    clientId: "crash-test",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
    requestTimeout: 5000,
  });
}

/** Offset and value of every record of partition 0, read with kcat. */
async function readPartition(bootstrap: string, topic: string): Promise<{ offset: number; value: string }[]> {
  return (await consumeLines(bootstrap, topic, "%o %s\n", { partition: 0 })).map((l) => {
    const [offset, value] = l.split(" ");
    return { offset: Number(offset), value };
  });
}

async function createTopic(bootstrap: string, topic: string) {
  const admin = kafkaFor(bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
}

Deno.test("kill -9 during acks=-1 production loses no acknowledged record", async () => {
  const broker = await startBroker();
  await createTopic(broker.bootstrap, "durable");
  const producer = kafkaFor(broker.bootstrap).producer();
  await producer.connect();
  const acknowledged = new Map<number, string>();
  let sent = 0;
  let stop = false;
  const writers = Array.from({ length: 4 }, async (_, w) => {
    while (!stop) {
      const values = Array.from({ length: 5 }, () => `w${w}-${sent++}`);
      try {
        const [meta] = await producer.send({
          topic: "durable",
          acks: -1,
          messages: values.map((value) => ({ value })),
        });
        values.forEach((v, i) => acknowledged.set(Number(meta.baseOffset) + i, v));
      } catch {
        return; // the broker died under us
      }
    }
  });
  const deadline = Date.now() + 10_000;
  while (acknowledged.size < 2000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await broker.kill();
  stop = true;
  await Promise.all(writers);
  await producer.disconnect().catch(() => {});
  assert.ok(acknowledged.size > 0, "the producer got acknowledgements before the crash");

  const restarted = await startBroker({ dataDir: broker.dataDir, port: broker.port });
  try {
    const records = await readPartition(restarted.bootstrap, "durable");
    records.forEach((r, i) => assert.equal(r.offset, i, "offsets are contiguous from 0"));
    const byOffset = new Map(records.map((r) => [r.offset, r.value]));
    for (const [offset, value] of acknowledged) assert.equal(byOffset.get(offset), value, `acked offset ${offset}`);
  } finally {
    await restarted.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});

Deno.test("a torn and corrupt segment tail is cut at restart, logged, and everything before is served", async () => {
  const broker = await startBroker();
  const lines = Array.from({ length: 30 }, (_, i) => `record-${i}`);
  // One record per batch: linger 0 and a batch size of 1 message.
  const produced = await kcat(
    ["-b", broker.bootstrap, "-P", "-t", "torn", "-X", "linger.ms=0", "-X", "batch.num.messages=1", "-X", "acks=all"],
    lines.join("\n") + "\n",
  );
  assert.equal(produced.code, 0, produced.stderr);
  await broker.kill();

  const dir = `${broker.dataDir}/torn-0`;
  const segment = `${dir}/00000000000000000000.log`;
  const bytes = await Deno.readFile(segment);
  const batches = [...iterateBatches(bytes)];
  assert.ok(batches.length >= 10, `expected one batch per record, found ${batches.length}`);
  const last = batches[batches.length - 1];
  const secondLast = batches[batches.length - 2];
  // Tear the last batch in half, and flip a byte inside the records of the one before it.
  const damaged = bytes.slice(0, last.pos + Math.floor(last.size / 2));
  damaged[secondLast.pos + secondLast.size - 3] ^= 0xff;
  await Deno.writeFile(segment, damaged);
  // As if the crash came before the recovery point was checkpointed: recovery must scan the whole segment.
  await Deno.remove(`${dir}/recovery-point-offset-checkpoint`).catch(() => {});

  const restarted = await startBroker({
    dataDir: broker.dataDir,
    port: broker.port,
    settings: { "log.format": "json" },
  });
  try {
    const survivors = batches.length - 2;
    const records = await readPartition(restarted.bootstrap, "torn");
    assert.deepEqual(records.map((r) => r.value), lines.slice(0, survivors));
    // Every unclean start logs log_recovered, with truncation=null when nothing was cut: only a truncation that
    // names the cut (from the corrupt batch on, bytes removed) shows that recovery reported what it did.
    const recovered = restarted.logs().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
      .filter((e) => e.msg === "log_recovered" && e.topic === "torn" && e.partition === 0);
    assert.equal(recovered.length, 1, `one recovery event for torn-0:\n${restarted.logs()}`);
    const { truncation } = recovered[0];
    assert.ok(truncation, `the recovery event names a cut: ${JSON.stringify(recovered[0])}`);
    assert.equal(truncation.firstOffsetCut, survivors, "the cut starts at the corrupt batch");
    assert.equal(truncation.segmentBaseOffset, 0);
    assert.equal(truncation.position, secondLast.pos, "the valid part ends where the corrupt batch starts");
    assert.equal(truncation.bytesCut, damaged.length - secondLast.pos, "everything from the corrupt batch on");
  } finally {
    await restarted.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});
