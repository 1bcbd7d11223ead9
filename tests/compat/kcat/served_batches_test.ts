/**
 * Batches built by Samsa's own record-batch encoder, with every compression codec, are served by the broker
 * and read back by kcat (librdkafka) record for record: our encoding is what real clients expect.
 */
import assert from "node:assert/strict";
import { buildRecordBatch, Compression } from "../../../protocol/record_batch.ts";
import { startBroker } from "../../integration/broker_process.ts";
import { createTopic, produceBatch, RawClient } from "../../integration/produce_helpers.ts";
import { kcat } from "./kcat.ts";

const encoder = new TextEncoder();
const CODECS: [string, Compression][] = [
  ["none", Compression.None],
  ["gzip", Compression.Gzip],
  ["snappy", Compression.Snappy],
  ["lz4", Compression.Lz4],
  ["zstd", Compression.Zstd],
];

Deno.test("kcat reads the records of batches Samsa encodes with every compression codec", async () => {
  const broker = await startBroker();
  const client = await RawClient.connect(broker.bootstrap);
  try {
    for (const [name, compression] of CODECS) {
      const topic = `encoded-${name}`;
      await createTopic(client, topic);
      const expected: string[] = [];
      const records = Array.from({ length: 200 }, (_, i) => {
        const value = `${name} value ${i} ${"payload ".repeat(i % 20)}`;
        expected.push(`key-${i}=${value}|h=${i}`);
        return {
          timestamp: Date.now(),
          key: encoder.encode(`key-${i}`),
          value: encoder.encode(value),
          headers: [{ key: "h", value: encoder.encode(String(i)) }],
        };
      });
      const answer = await produceBatch(client, topic, buildRecordBatch(records, { compression }));
      assert.equal(answer.errorCode, 0, `produce ${name}: ${answer.errorMessage}`);
      const read = await kcat([
        "-b",
        broker.bootstrap,
        "-C",
        "-t",
        topic,
        "-o",
        "beginning",
        "-e",
        "-q",
        "-f",
        "%k=%s|%h\n",
      ]);
      assert.equal(read.code, 0, read.stderr);
      assert.deepEqual(read.stdout.split("\n").filter((l) => l), expected, `codec ${name}`);
    }
  } finally {
    await client.close();
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});
