/**
 * KIP-392 with real clients: three brokers in racks rack-1..rack-3 with `replica.selector.class` set, and the check
 * that the follower a consumer's `client.rack` names served its fetches (the brokers log both sides at debug).
 *
 * @module
 */
import assert from "node:assert/strict";
import { TestCluster } from "../integration/cluster_process.ts";
import { RACK_AWARE_REPLICA_SELECTOR } from "../../broker/replication/replica_selector.ts";
import { type DriverRun, failedChecks } from "./client_driver.ts";

/** Runs `fn` against three brokers in racks rack-1, rack-2, rack-3 that pick read replicas by rack. */
export async function withRackCluster(fn: (cluster: TestCluster) => Promise<void>): Promise<void> {
  const cluster = await TestCluster.start(
    3,
    { "replica.selector.class": RACK_AWARE_REPLICA_SELECTOR, "log.level": "debug" },
    ["rack-1", "rack-2", "rack-3"],
  );
  try {
    await fn(cluster);
  } finally {
    await cluster.stop();
  }
}

/**
 * Asserts that a driver run passed, that its "follower" check names the follower the consumer should have read
 * from, that the leader named it as preferred read replica, and that it, and no other broker, served the fetches.
 */
export function assertFollowerServed(cluster: TestCluster, run: DriverRun): void {
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
}
