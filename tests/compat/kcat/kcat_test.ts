/**
 * kcat (librdkafka) against a real Samsa broker process: metadata, produce per compression codec, consume back
 * byte-exact from the start, from an offset and from a timestamp, and the idempotent producer.
 */
import assert from "node:assert/strict";
import { type BrokerProcess, startBroker } from "../../integration/broker_process.ts";
import { consumeLines, kcat } from "./kcat.ts";

const RECORDS = 100_000;

function keyedLines(count: number, tag: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`key-${i % 1000}:${tag}-value-${i}-${"x".repeat(i % 50)}`);
  return lines;
}

async function produce(broker: BrokerProcess, topic: string, lines: string[], extra: string[] = []) {
  const result = await kcat(
    ["-b", broker.bootstrap, "-P", "-t", topic, "-K:", "-H", "origin=kcat", "-H", "run=1", ...extra],
    lines.join("\n") + "\n",
    120_000,
  );
  assert.equal(result.code, 0, `kcat -P failed: ${result.stderr}`);
}

function consume(broker: BrokerProcess, topic: string, offset: string): Promise<string[]> {
  return consumeLines(broker.bootstrap, topic, "%k:%s|%h\n", { partition: 0, offset, timeoutMs: 120_000 });
}

function withHeaders(lines: string[]): string[] {
  return lines.map((l) => `${l}|origin=kcat,run=1`);
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

Deno.test("kcat -L lists the broker and an auto-created topic", async () => {
  await withBroker(async (broker) => {
    await produce(broker, "listed", ["k:v"]);
    const result = await kcat(["-b", broker.bootstrap, "-L", "-t", "listed"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /1 brokers:\s+broker 1 at 127\.0\.0\.1:\d+/);
    assert.match(result.stdout, /topic "listed" with 1 partitions:\s+partition 0, leader 1, replicas: 1, isrs: 1/);
  });
});

for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
  Deno.test(`kcat produces ${RECORDS} keyed records with headers compressed with ${codec} and reads them back`, async () => {
    await withBroker(async (broker) => {
      const topic = `codec-${codec}`;
      const lines = keyedLines(RECORDS, codec);
      await produce(broker, topic, lines, ["-z", codec]);
      const all = await consume(broker, topic, "beginning");
      assert.equal(all.length, RECORDS);
      assert.deepEqual(all, withHeaders(lines));
      const tail = await consume(broker, topic, String(RECORDS - 1234));
      assert.deepEqual(tail, withHeaders(lines.slice(RECORDS - 1234)));
    });
  });
}

Deno.test("kcat consumes from a timestamp: only records produced after it", async () => {
  await withBroker(async (broker) => {
    await produce(broker, "by-time", keyedLines(500, "before"));
    await new Promise((r) => setTimeout(r, 50));
    const since = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    const after = keyedLines(300, "after");
    await produce(broker, "by-time", after);
    assert.deepEqual(await consume(broker, "by-time", `s@${since}`), withHeaders(after));
  });
});

Deno.test("kcat's idempotent producer writes every record exactly once", async () => {
  await withBroker(async (broker) => {
    const lines = keyedLines(20_000, "idem");
    await produce(broker, "idempotent", lines, ["-X", "enable.idempotence=true", "-X", "acks=all"]);
    assert.deepEqual(await consume(broker, "idempotent", "beginning"), withHeaders(lines));
  });
});
