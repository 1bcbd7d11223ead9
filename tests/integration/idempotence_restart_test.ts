/**
 * The idempotent producer's per-partition state survives restarts, clean or not: a batch retried after the
 * broker came back is answered with its original offset and not written twice, and sequence gaps still fail.
 */
import assert from "node:assert/strict";
import { ApiKey, ErrorCode } from "../../protocol/messages.ts";
import { buildRecordBatch } from "../../protocol/record_batch.ts";
import { startBroker } from "./broker_process.ts";
import { createTopic, produceBatch, RawClient } from "./produce_helpers.ts";

const batch = (producerId: bigint, baseSequence: number) =>
  buildRecordBatch(
    Array.from(
      { length: 5 },
      (_, i) => ({ timestamp: Date.now(), key: null, value: new TextEncoder().encode(`${baseSequence + i}`) }),
    ),
    { producerId, producerEpoch: 0, baseSequence },
  );

for (const how of ["a clean stop", "kill -9"]) {
  Deno.test(`a retried idempotent batch is recognised after ${how}`, async () => {
    const broker = await startBroker();
    let client = await RawClient.connect(broker.bootstrap);
    await createTopic(client, "idem");
    const { producerId } = await client.request(ApiKey.InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    });
    assert.equal((await produceBatch(client, "idem", batch(producerId, 0))).baseOffset, 0n);
    assert.equal((await produceBatch(client, "idem", batch(producerId, 5))).baseOffset, 5n);
    await client.close();
    if (how === "kill -9") await broker.kill();
    else assert.equal(await broker.stop(), 0);

    const restarted = await startBroker({ dataDir: broker.dataDir, port: broker.port });
    client = await RawClient.connect(restarted.bootstrap);
    try {
      const retry = await produceBatch(client, "idem", batch(producerId, 5));
      assert.equal(retry.errorCode, ErrorCode.NONE);
      assert.equal(retry.baseOffset, 5n, "the retry gets its original offset");
      const next = await produceBatch(client, "idem", batch(producerId, 10));
      assert.equal(next.baseOffset, 10n, "nothing was written twice");
      const gap = await produceBatch(client, "idem", batch(producerId, 30));
      assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    } finally {
      await client.close();
      await restarted.stop();
      await Deno.remove(broker.dataDir, { recursive: true });
    }
  });
}

Deno.test("a clean stop lets the next start open every log without a recovery scan", async () => {
  const broker = await startBroker();
  const client = await RawClient.connect(broker.bootstrap);
  await createTopic(client, "clean", 3);
  await produceBatch(client, "clean", batch(-1n, -1));
  await client.close();
  assert.equal(await broker.stop(), 0, "SIGTERM exits 0");
  const restarted = await startBroker({ dataDir: broker.dataDir, port: broker.port });
  try {
    await new Promise((r) => setTimeout(r, 200));
    assert.doesNotMatch(restarted.logs(), /recovered|truncat|scanned/i);
    assert.match(restarted.logs(), /broker started/);
  } finally {
    await restarted.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});
