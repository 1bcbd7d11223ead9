/**
 * The chaos harness raises no false alarm: on what the broker guarantees without replication (RF=1 partitions on a
 * three-node cluster, every node killed -9 and restarted under the idempotent acks=all workload), the whole pipeline — cluster, real producer through the
 * fault, real consumer, segment files, checker — comes back clean, and the same history with one acknowledged
 * record dropped does not.
 *
 * Needs python3 with confluent-kafka (`bash tests/install_clients.sh`).
 */
import assert from "node:assert/strict";
import { check, describeResult } from "./checker.ts";
import { planted } from "./main.ts";
import { runScenario } from "./scenario.ts";

Deno.test({
  name: "RF=1, every node killed -9 and restarted under the workload: the checker finds no anomaly, and a planted one",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const outcome = await runScenario({
      replicationFactor: 1,
      partitions: 2,
      faults: ["kill-all", "kill-all"],
      acksBefore: 100,
      acksAfter: 100,
    });
    const verdict = describeResult(outcome.result);
    console.log(verdict);
    assert.ok(outcome.result.valid, `${verdict}\n${outcome.notes.join("\n")}`);
    assert.equal(outcome.history.faults.length, 2);
    assert.ok(outcome.history.acks.length >= 300, `${outcome.history.acks.length} acknowledged`);
    for (const p of outcome.history.replicas) {
      assert.equal(p.replicas.length, 1);
      assert.ok(p.replicas[0].batches!.length > 0, "the replica's segment files were read");
    }
    assert.deepEqual(check(planted(outcome.history, "lost")).anomalies.map((a) => a.kind), ["lost"]);
  },
});
