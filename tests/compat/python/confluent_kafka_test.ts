/**
 * confluent-kafka for Python (librdkafka) against a real Samsa broker process.
 */
import assert from "node:assert/strict";
import { startBroker } from "../../integration/broker_process.ts";
import { failedChecks, runDriver } from "../client_driver.ts";

const DRIVER = new URL("./driver.py", import.meta.url).pathname;

for (const scenario of ["produce-idempotent", "consume", "admin"]) {
  Deno.test(`confluent-kafka-python: ${scenario}`, async () => {
    const broker = await startBroker();
    try {
      const run = await runDriver("python3", [DRIVER, broker.bootstrap, scenario]);
      assert.equal(run.code, 0, failedChecks(run));
      assert.ok(run.checks.length > 0 && run.checks.every((c) => c.ok), failedChecks(run));
    } finally {
      await broker.stop();
      await Deno.remove(broker.dataDir, { recursive: true });
    }
  });
}
