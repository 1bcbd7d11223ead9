/**
 * W5's pure parts: the failover summary and the Kafka nodes' settings (RF=3, min.insync.replicas=2, overrides last).
 */

import { deepStrictEqual, ok as assert } from "node:assert/strict";
import { failoverFigures } from "./report/failover.ts";
import { kafkaNodeProperties } from "./report/clusters.ts";

Deno.test("failover figures: median of an odd and an even count of kills, min and max", () => {
  deepStrictEqual(failoverFigures([900, 120, 300]), { median_ms: 300, min_ms: 120, max_ms: 900 });
  deepStrictEqual(failoverFigures([400, 100, 200, 800]), { median_ms: 300, min_ms: 100, max_ms: 800 });
  deepStrictEqual(failoverFigures([]), {});
});

Deno.test("a Kafka W5 node is broker and controller, replicates three ways, and takes the run's overrides", () => {
  const props = kafkaNodeProperties({
    id: 2,
    port: 9093,
    controllerPort: 19093,
    voters: "1@127.0.0.1:19092,2@127.0.0.1:19093,3@127.0.0.1:19094",
    logDir: "/tmp/k2",
    settings: { "log.flush.interval.messages": 1, "min.insync.replicas": 1 },
  });
  const lines = props.trim().split("\n");
  const value = (key: string) => lines.filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
  deepStrictEqual(value("process.roles"), ["broker,controller"]);
  deepStrictEqual(value("node.id"), ["2"]);
  deepStrictEqual(value("default.replication.factor"), ["3"]);
  deepStrictEqual(value("offsets.topic.replication.factor"), ["3"]);
  deepStrictEqual(value("log.flush.interval.messages"), ["1"]);
  // An override replaces the default instead of adding a second line.
  deepStrictEqual(value("min.insync.replicas"), ["1"]);
  assert(value("listeners")[0].includes("CONTROLLER://127.0.0.1:19093"));
});
