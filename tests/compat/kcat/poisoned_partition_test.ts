/**
 * Issue 15, end to end: one client cannot poison a partition. A batch with a valid CRC-32C but garbage records,
 * a batch that declares 1,000 records but holds 3, and a gzip batch with garbage inside are refused by a real
 * broker process; the records produced before and after them are all read from the beginning, at contiguous
 * offsets, by kcat and by confluent-kafka (both librdkafka, which stalled silently before a poisoned batch).
 */
import assert from "node:assert/strict";
import { startBroker } from "../../integration/broker_process.ts";
import { createTopic, produceBatch, RawClient } from "../../integration/produce_helpers.ts";
import { ErrorCode } from "../../../protocol/messages.ts";
import { Compression } from "../../../protocol/record_batch_header.ts";
import {
  forgeBatch,
  forgeRecordsBatch,
  garbage,
  honestRecords,
  lyingCountBatch,
  poisonedBatch,
} from "../../fixtures/forged_batches.ts";
import { consumeLines, kcat } from "./kcat.ts";

/** Reads `expected` records from the beginning with confluent-kafka (bounded to 30 s); prints "offset value" lines. */
const CONFLUENT_READER = `
import sys, time
from confluent_kafka import Consumer, TopicPartition
bootstrap, topic, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "poison-reader", "enable.auto.commit": False})
c.assign([TopicPartition(topic, 0, 0)])
seen, deadline = [], time.time() + 30
while len(seen) < expected and time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        print("error", m.error(), file=sys.stderr)
        continue
    seen.append("%d %s" % (m.offset(), m.value().decode()))
c.close()
print("\\n".join(seen))
`;

async function hasConfluentKafka(): Promise<boolean> {
  try {
    const probe = await new Deno.Command("python3", { args: ["-c", "import confluent_kafka"], stderr: "null" })
      .output();
    return probe.success;
  } catch {
    return false;
  }
}

Deno.test("poisoned and lying batches are refused; kcat and confluent-kafka read every good record after them", async () => {
  const broker = await startBroker();
  const client = await RawClient.connect(broker.bootstrap);
  try {
    await createTopic(client, "poison");
    const before = await kcat(["-b", broker.bootstrap, "-P", "-t", "poison", "-p", "0"], "before-0\nbefore-1\n");
    assert.equal(before.code, 0, before.stderr);

    const refusals = {
      poisoned: poisonedBatch(),
      lying: lyingCountBatch(),
      "gzip with garbage inside": forgeBatch(garbage(80), 3, { compression: Compression.Gzip }),
      "offset deltas out of order": forgeRecordsBatch([{ offsetDelta: 1 }, { offsetDelta: 0 }]),
    };
    for (const [name, batch] of Object.entries(refusals)) {
      const answer = await produceBatch(client, "poison", batch);
      assert.equal(answer.errorCode, ErrorCode.INVALID_RECORD, `${name}: ${answer.errorMessage}`);
    }
    const good = await produceBatch(client, "poison", forgeRecordsBatch(honestRecords(3)));
    assert.equal(good.errorCode, ErrorCode.NONE);
    assert.equal(good.baseOffset, 2n, "the refused batches used no offsets");
    const after = await kcat(["-b", broker.bootstrap, "-P", "-t", "poison", "-p", "0"], "after-0\nafter-1\n");
    assert.equal(after.code, 0, after.stderr);

    const expected = ["0 before-0", "1 before-1", "2 v0", "3 v1", "4 v2", "5 after-0", "6 after-1"];
    assert.deepEqual(await consumeLines(broker.bootstrap, "poison", "%o %s\n", { timeoutMs: 30_000 }), expected);

    if (await hasConfluentKafka()) {
      const read = await new Deno.Command("python3", {
        args: ["-c", CONFLUENT_READER, broker.bootstrap, "poison", String(expected.length)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(read.stderr);
      assert.equal(read.code, 0, stderr);
      const lines = new TextDecoder().decode(read.stdout).split("\n").filter((l) => l.length > 0);
      assert.deepEqual(lines, expected, stderr);
    } else {
      console.log("confluent-kafka for Python is not installed: only kcat read the partition");
    }
  } finally {
    await client.close();
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});
