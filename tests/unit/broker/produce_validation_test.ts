/**
 * Produce answers for batches whose records are bad behind a valid CRC (issue 15): INVALID_RECORD with the log
 * start offset, KIP-467 record errors for keyless records on a compacted topic (v8+), nothing appended, and the
 * partition keeps taking good batches at the next offset.
 */
import assert from "node:assert/strict";
import { handleProduce } from "../../../broker/handlers/produce.ts";
import { decodeResponse, encodeResponse, ErrorCode } from "../../../protocol/messages.ts";
import type { ProduceResponse } from "../../../protocol/generated/messages/produce_response.ts";
import { buildRecordBatch, iterateBatches } from "../../../protocol/record_batch.ts";
import { BatchOffsets, isBatchCrcValid, writeBatchCrc } from "../../../protocol/record_batch_header.ts";
import { forgeRecordsBatch, honestRecords, lyingCountBatch, poisonedBatch } from "../../fixtures/forged_batches.ts";
import { type ReplicaFixture, testConnection, withReplicas } from "./replica_fixture.ts";

async function produce(f: ReplicaFixture, topic: string, records: Uint8Array, apiVersion = 9) {
  const header = { requestApiKey: 0, requestApiVersion: apiVersion, correlationId: 1, clientId: "test" };
  const body = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  };
  const response = await handleProduce(f.ctx, { apiVersion, header, body }, testConnection());
  assert.ok(response !== null);
  return response.responses[0].partitionResponses[0];
}

/** The answer as the client sees it at `apiVersion`: encoded and decoded again. */
function onTheWire(response: ProduceResponse, apiVersion: number): ProduceResponse {
  const frame = encodeResponse(0, apiVersion, 1, response);
  return decodeResponse(0, apiVersion, frame).body as ProduceResponse;
}

const good = () =>
  buildRecordBatch([{ timestamp: Date.now(), key: null, value: new TextEncoder().encode("good") }, {
    timestamp: Date.now(),
    key: null,
    value: new TextEncoder().encode("good too"),
  }]);

Deno.test("a poisoned batch and a lying batch are refused with INVALID_RECORD, and the next good batch gets offset 0", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("poisoned");
    for (const bad of [poisonedBatch(), lyingCountBatch()]) {
      const answer = await produce(f, "poisoned", bad);
      assert.equal(answer.errorCode, ErrorCode.INVALID_RECORD);
      assert.equal(answer.baseOffset, -1n);
      assert.equal(answer.logStartOffset, 0n, "record-level refusals carry the log start offset, as Kafka's do");
      assert.deepEqual(answer.recordErrors, []);
      assert.match(answer.errorMessage ?? "", /Record 0|declares 1000 records but holds 3/);
    }
    assert.equal(f.replica("poisoned", 0).logEndOffset, 0, "nothing was appended");
    const after = await produce(f, "poisoned", good());
    assert.equal(after.errorCode, ErrorCode.NONE);
    assert.equal(after.baseOffset, 0n);
    assert.equal(f.replica("poisoned", 0).highWatermark, 2);
  });
});

Deno.test("keyless records on a compacted topic: INVALID_RECORD with one record error per keyless record (v8+)", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("compacted", { configs: { "cleanup.policy": "compact" } });
    const batch = forgeRecordsBatch(honestRecords(100, (i) => i % 10 === 3 ? null : `k${i}`));
    const answer = await produce(f, "compacted", batch);
    assert.equal(answer.errorCode, ErrorCode.INVALID_RECORD);
    assert.deepEqual(answer.recordErrors.map((e) => e.batchIndex), [3, 13, 23, 33, 43, 53, 63, 73, 83, 93]);
    assert.equal(
      answer.recordErrors[0].batchIndexErrorMessage,
      "Compacted topic cannot accept message without key in topic partition compacted-0",
    );
    assert.match(answer.errorMessage ?? "", /^One or more records have been rejected due to 10 record errors/);

    const response = await handleProduce(f.ctx, {
      apiVersion: 9,
      header: { requestApiKey: 0, requestApiVersion: 9, correlationId: 1, clientId: "test" },
      body: {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5_000,
        topicData: [{ name: "compacted", partitionData: [{ index: 0, records: batch }] }],
      },
    }, testConnection());
    assert.ok(response);
    const v9 = onTheWire(response, 9).responses[0].partitionResponses[0];
    assert.equal(v9.recordErrors.length, 10, "v9 carries the record errors");
    const v7 = onTheWire(response, 7).responses[0].partitionResponses[0];
    assert.equal(v7.errorCode, ErrorCode.INVALID_RECORD);
    assert.deepEqual(v7.recordErrors, [], "before v8 there is no field for them");

    const keyed = await produce(f, "compacted", forgeRecordsBatch(honestRecords(5)));
    assert.equal(keyed.errorCode, ErrorCode.NONE);
    assert.equal(keyed.baseOffset, 0n);
  });
});

Deno.test("records timestamped past message.timestamp.after.max.ms: INVALID_TIMESTAMP naming each of them", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("timed");
    const now = Date.now();
    const future = now + 86_400_000;
    // The batch's max timestamp says `now`: only the records themselves tell the truth.
    const batch = forgeRecordsBatch(
      honestRecords(5).map((r, i) => ({ ...r, timestampDelta: i === 1 || i === 3 ? future - now : 0 })),
      { baseTimestamp: now },
    );
    const answer = await produce(f, "timed", batch);
    assert.equal(answer.errorCode, ErrorCode.INVALID_TIMESTAMP);
    assert.equal(answer.errorMessage, "One or more records have been rejected due to invalid timestamp");
    assert.deepEqual(answer.recordErrors.map((e) => e.batchIndex), [1, 3]);
    assert.match(answer.recordErrors[0].batchIndexErrorMessage ?? "", new RegExp(`^Timestamp ${future} of message`));
    assert.equal(f.replica("timed", 0).logEndOffset, 0);
  });
});

Deno.test("a batch whose header lies about its max timestamp is stored with its records' true max, as Kafka does", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("lying-max");
    const now = Date.now();
    const batch = forgeRecordsBatch(
      honestRecords(3).map((r, i) => ({ ...r, timestampDelta: [0, 7, 3][i] })),
      { baseTimestamp: now },
    );
    new DataView(batch.buffer).setBigInt64(BatchOffsets.maxTimestamp, 253_402_300_799_000n); // year 9999
    writeBatchCrc(batch);
    const answer = await produce(f, "lying-max", batch);
    assert.equal(answer.errorCode, ErrorCode.NONE);
    const read = f.replica("lying-max", 0).read(0, 1 << 20, true);
    const [stored] = [...iterateBatches(read.records)];
    assert.equal(stored.header.maxTimestamp, BigInt(now + 7));
    assert.ok(isBatchCrcValid(read.records, 0), "the CRC was computed again");
  });
});
