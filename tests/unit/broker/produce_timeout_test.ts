/**
 * acks=-1 honours the request's timeout, as Kafka's DelayedProduce does: a batch that enough replicas have not
 * acknowledged in time is answered REQUEST_TIMED_OUT instead of holding the answer until leadership moves.
 */
import assert from "node:assert/strict";
import { handleProduce } from "../../../broker/handlers/produce.ts";
import { ErrorCode } from "../../../protocol/messages.ts";
import { buildRecordBatch } from "../../../protocol/record_batch.ts";
import { testConnection, withReplicas } from "./replica_fixture.ts";
import { playRole } from "./replica_role.ts";

function request(acks: number, timeoutMs: number) {
  const records = buildRecordBatch([{ timestamp: Date.now(), key: null, value: new TextEncoder().encode("v") }]);
  return {
    apiVersion: 9,
    header: { requestApiKey: 0, requestApiVersion: 9, correlationId: 1, clientId: "test" },
    body: {
      transactionalId: null,
      acks,
      timeoutMs,
      topicData: [{ name: "orders", partitionData: [{ index: 0, records }] }],
    },
  };
}

Deno.test("acks=-1 answers REQUEST_TIMED_OUT when the batch is not acknowledged within the request's timeout", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    const replica = f.ctx.replicas.get("orders", 0)!;
    // A replica whose batch never gathers its acknowledgements (no majority reachable).
    playRole(f.ctx.replicas, "orders", 0, {
      append: (records, settings, nowMs, acks) => ({
        ...replica.append(records, settings, nowMs, acks),
        durable: new Promise<void>(() => {}),
      }),
    });
    const started = performance.now();
    const response = await handleProduce(f.ctx, request(-1, 200), testConnection());
    const answer = response!.responses[0].partitionResponses[0];
    assert.equal(answer.errorCode, ErrorCode.REQUEST_TIMED_OUT);
    assert.equal(answer.baseOffset, -1n);
    assert.ok(performance.now() - started >= 150, "answered only once the timeout ran out");
  });
});

Deno.test("acks=-1 answers as soon as the batch is durable, well within the timeout", async () => {
  await withReplicas(async (f) => {
    await f.addTopic("orders");
    const response = await handleProduce(f.ctx, request(-1, 60_000), testConnection());
    const answer = response!.responses[0].partitionResponses[0];
    assert.equal(answer.errorCode, ErrorCode.NONE);
    assert.equal(answer.baseOffset, 0n);
  });
});
