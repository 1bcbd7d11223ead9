import assert from "node:assert/strict";
import { localClusterPlan } from "../../../cli/local_cluster.ts";
import { BrokerConfig } from "../../../broker/config.ts";
import { clusterSettings } from "../../../broker/metadata/cluster_config.ts";

Deno.test("a local cluster plan gives each node its own ports and folder, and settings a cluster node accepts", () => {
  const nodes = localClusterPlan({ brokers: 3, basePort: 9092, dataDir: "data/cluster", clusterId: "abc" });
  assert.deepEqual(nodes.map((n) => [n.id, n.clientPort, n.controllerPort, n.dataDir]), [
    [1, 9092, 19092, "data/cluster/node-1"],
    [2, 9093, 19093, "data/cluster/node-2"],
    [3, 9094, 19094, "data/cluster/node-3"],
  ]);
  for (const node of nodes) {
    const config = BrokerConfig.from(
      Object.entries(node.settings).map(([key, value]) => ({ key, value, source: { kind: "flag", flag: "--set" } })),
    );
    const settings = clusterSettings(config);
    assert.ok(settings.mode === "cluster" && settings.isController && settings.isBroker);
    assert.equal(settings.voters.length, 3);
  }
});
