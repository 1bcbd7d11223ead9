/**
 * Idempotence proven with real retries (see `idempotence_retry.ts`): for each real client, a broker behind a
 * proxy that cuts the connection after the broker answered a Produce (and, for the clients whose request
 * timeout the driver sets, one that swallows answers until the request times out); the client resends the
 * same batch, and the partition must hold each record exactly once, in send order.
 */
import assert from "node:assert/strict";
import { RETRY_CLIENTS, runRetryScenario, TIMEOUT_CLIENTS } from "./idempotence_retry.ts";

const NAMES: Record<typeof RETRY_CLIENTS[number], string> = {
  java: "Java kafka-clients",
  python: "confluent-kafka-python",
  kcat: "kcat (librdkafka)",
  kafkajs: "kafkajs",
  "franz-go": "franz-go",
};

for (const client of RETRY_CLIENTS) {
  Deno.test(`idempotence with retries: ${NAMES[client]} resends a batch whose answer was lost, stored once`, async () => {
    const checks = await runRetryScenario(client);
    const failed = checks.filter((c) => !c.ok).map((c) => `${c.check}: ${JSON.stringify(c.detail)}`);
    assert.deepEqual(failed, [], failed.join("\n"));
    for (const check of ["same-batch-resent", "stored-exactly-once-in-order", "faults-injected"]) {
      assert.ok(checks.some((c) => c.check === check), `${check} ran`);
    }
  });
}

for (const client of TIMEOUT_CLIENTS) {
  Deno.test(`idempotence with retries: ${NAMES[client]} resends after its request timed out, stored once`, async () => {
    const checks = await runRetryScenario(client, "timeout");
    const failed = checks.filter((c) => !c.ok).map((c) => `${c.check}: ${JSON.stringify(c.detail)}`);
    assert.deepEqual(failed, [], failed.join("\n"));
    assert.ok(checks.some((c) => c.check === "same-batch-resent"), "same-batch-resent ran");
  });
}
