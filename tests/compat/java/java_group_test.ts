/**
 * The Java client (org.apache.kafka:kafka-clients 4.x) classic consumer group against a real Samsa broker
 * process, with the classic protocol and with `group.protocol=consumer` (KIP-848): the driver's `group-classic` and
 * `group-consumer` scenarios (one member consumes and commits, a new member resumes after it).
 */
import assert from "node:assert/strict";
import { startBroker } from "../../integration/broker_process.ts";
import { failedChecks, runDriver } from "../client_driver.ts";

const RUN = new URL("./run.sh", import.meta.url).pathname;

for (const scenario of ["group-classic", "group-consumer"]) {
  Deno.test(`Java kafka-clients: ${scenario}`, async () => {
    const broker = await startBroker({ settings: { "group.initial.rebalance.delay.ms": 0 } });
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
