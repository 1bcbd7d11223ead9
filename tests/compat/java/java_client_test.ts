/**
 * The Java client (org.apache.kafka:kafka-clients 4.x) against a real Samsa broker process. The driver is built
 * with Maven on first use (the jars come from Maven Central into ~/.m2).
 */
import assert from "node:assert/strict";
import { startBroker } from "../../integration/broker_process.ts";
import { failedChecks, runDriver } from "../client_driver.ts";

const RUN = new URL("./run.sh", import.meta.url).pathname;

for (const scenario of ["produce-idempotent", "consume", "admin"]) {
  Deno.test(`Java kafka-clients: ${scenario}`, async () => {
    const broker = await startBroker();
    try {
      const run = await runDriver("bash", [RUN, broker.bootstrap, scenario], 300_000);
      assert.equal(run.code, 0, failedChecks(run));
      assert.ok(run.checks.length > 0 && run.checks.every((c) => c.ok), failedChecks(run));
    } finally {
      await broker.stop();
      await Deno.remove(broker.dataDir, { recursive: true });
    }
  });
}
