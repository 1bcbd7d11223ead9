/**
 * KIP-392 with a real client: confluent-kafka (librdkafka) with `client.rack` against three brokers in racks
 * rack-1..rack-3 with `replica.selector.class` set reads a whole partition, and the follower in its rack served it.
 */
import assert from "node:assert/strict";
import { TestCluster } from "../../integration/cluster_process.ts";
import { failedChecks, runDriver } from "../client_driver.ts";
import { RACK_AWARE_REPLICA_SELECTOR } from "../../../broker/replica_selector.ts";

const DRIVER = new URL("./follower_fetch.py", import.meta.url).pathname;
const RECORDS = 500;

Deno.test("confluent-kafka-python: a consumer with client.rack reads everything from the follower in its rack (KIP-392)", async () => {
  const cluster = await TestCluster.start(
    3,
    { "replica.selector.class": RACK_AWARE_REPLICA_SELECTOR, "log.level": "debug" },
    ["rack-1", "rack-2", "rack-3"],
  );
  try {
    const run = await runDriver("python3", [DRIVER, cluster.bootstrap(1), String(RECORDS)]);
    assert.equal(run.code, 0, failedChecks(run));
    assert.ok(run.checks.every((c) => c.ok), failedChecks(run));
    const chosen = run.checks.find((c) => c.check === "follower")?.detail as
      | { leader: number; follower: number; topic: string }
      | undefined;
    assert.ok(chosen, failedChecks(run));
    const linesOf = (id: number, event: string) =>
      cluster.nodes.get(id)!.logs().split("\n").filter((line) => line.includes(event) && line.includes(chosen.topic));
    const served = (id: number) => linesOf(id, "consumer fetch served by a follower").length;
    assert.ok(
      linesOf(chosen.leader, "preferred read replica named").some((l) =>
        l.includes(`preferred_read_replica=${chosen.follower}`)
      ),
      "the leader named the follower in the consumer's rack",
    );
    assert.ok(served(chosen.follower) > 0, "the follower in the consumer's rack served its fetches");
    for (const id of [1, 2, 3]) if (id !== chosen.follower) assert.equal(served(id), 0, `broker ${id} served none`);
  } finally {
    await cluster.stop();
  }
});
