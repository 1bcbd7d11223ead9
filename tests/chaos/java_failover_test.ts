/**
 * The official Java client (kafka-clients 4.x) through failovers (issue 17's real-client tests), on three Samsa
 * processes with topics at RF=3:
 * - its idempotent acks=all producer through the kill -9 of the partition leader, judged by the chaos checker
 *   (nothing acknowledged lost, duplicated or moved; the wait from the kill to the next acknowledgement printed);
 * - a consumer that follows the partition while its leader is killed: it learns the new leader and epoch,
 *   validates its position with OffsetsForLeaderEpoch (KIP-320, seen in the client's debug log) and goes on with
 *   nothing skipped and nothing read twice.
 *
 * Needs Java 17+ and Maven (`bash tests/install_clients.sh`); the driver is built on first use
 * (`tests/compat/java/run.sh`).
 */
import assert from "node:assert/strict";
import { createTopics, TestCluster, waitFor } from "../integration/cluster_process.ts";
import { describeResult } from "./checker.ts";
import { partitionLeadership, runningNodes } from "./nemesis.ts";
import { runScenario } from "./scenario.ts";
import { JavaTail, produceJava } from "./java_workload.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "Java idempotent producer: kill -9 of the partition leader loses, duplicates and moves nothing acknowledged",
  ...OPTIONS,
  fn: async () => {
    const outcome = await runScenario({ faults: ["kill-leader"], client: "java" });
    const verdict = describeResult(outcome.result);
    console.log(`Java producer, kill-leader: ${verdict}${outcome.notes.length ? `\nnotes: ${outcome.notes}` : ""}`);
    assert.ok(outcome.result.valid, `${verdict}\n${outcome.notes.join("\n")}`);
    assert.equal(outcome.result.figures.faults[0]?.toNextAckMs !== null, true, "an acknowledgement after the kill");
  },
});

Deno.test({
  name: "Java consumer: after the leader's kill -9 it validates its position (KIP-320) and skips or re-reads nothing",
  ...OPTIONS,
  fn: async () => {
    const topic = "followed";
    const cluster = await TestCluster.start(3, { "replica.lag.time.max.ms": 2000 });
    let tail: JavaTail | undefined;
    try {
      const all = () => runningNodes(cluster).map((id) => cluster.bootstrap(id)).join(",");
      assert.equal(
        (await createTopics(cluster.bootstrap(1), [{ name: topic, partitions: 1, replicationFactor: 3 }]))
          .get(topic),
        0,
      );
      const { leader } = await partitionLeadership(cluster, topic, 0, 20_000);
      const before = Array.from({ length: 200 }, (_, i) => `before-${i}`);
      await produceJava(all(), topic, before);
      tail = new JavaTail(all(), topic);
      await waitFor("the consumer read the first records", () => Promise.resolve(tail!.reads.length >= 200), 40_000);

      await cluster.nodes.get(leader)!.kill();
      cluster.nodes.delete(leader);
      const next = await partitionLeadership(cluster, topic, 0, 20_000);
      const after = Array.from({ length: 200 }, (_, i) => `after-${i}`);
      await produceJava(all(), topic, after);
      await waitFor("the consumer read the records written after the failover", () => {
        return Promise.resolve(tail!.reads.length >= 400);
      }, 40_000);
      await tail.stop();

      assert.deepEqual(tail.reads.map((r) => r.offset), Array.from({ length: 400 }, (_, i) => i), "offsets read");
      assert.deepEqual(tail.reads.map((r) => r.value), [...before, ...after], "values read");
      const validation = tail.validationLog();
      console.log(
        `leader ${leader} killed, new leader ${next.leader}; the consumer's KIP-320 log:\n  ${
          validation.slice(0, 8).join("\n  ")
        }`,
      );
      // The client asked the new leader where the epoch of its position ends and was told: at its position (200),
      // so there is nothing to truncate and it fetches on from there.
      assert.ok(
        validation.some((l) => /OffsetsForLeaderEpoch response for followed-0\. Got offset 200 for epoch \d+/.test(l)),
        `no OffsetsForLeaderEpoch answer at the consumer's position in its debug log:\n${tail.stderr.slice(-3000)}`,
      );
    } finally {
      await tail?.stop();
      await cluster.stop();
    }
  },
});
