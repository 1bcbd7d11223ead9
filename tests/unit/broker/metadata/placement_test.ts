import assert from "node:assert/strict";
import { MetadataImage } from "../../../../broker/metadata_image.ts";
import { placementOrder, planTopicCreations } from "../../../../broker/controller.ts";

const racks = new Map<number, string | null>([[1, "a"], [2, "a"], [3, "b"], [4, "b"], [5, "c"], [6, "c"]]);
const cluster = { nodeId: 1, brokers: [1, 2, 3, 4, 5, 6], racks, defaultNumPartitions: 1, defaultReplicationFactor: 1 };

Deno.test("placement order takes one broker of each rack in turn", () => {
  assert.deepEqual(placementOrder(cluster), [1, 3, 5, 2, 4, 6]);
  assert.deepEqual(placementOrder({ ...cluster, racks: undefined }), [1, 2, 3, 4, 5, 6]);
});

Deno.test("striped placement spreads each partition over racks and balances leaders over brokers", () => {
  const plan = planTopicCreations(
    new MetadataImage(),
    [
      { name: "orders", numPartitions: 6, replicationFactor: 3, assignments: [], configs: {} },
    ],
    cluster,
    () => "00000000-0000-0000-0000-000000000001",
  );
  const partitions = plan.records.filter((r) => r.type === "partition").map((r) =>
    r.record as { replicas: number[]; leader: number }
  );
  for (const p of partitions) {
    assert.equal(new Set(p.replicas.map((b) => racks.get(b))).size, 3, `replicas ${p.replicas} in three racks`);
  }
  assert.deepEqual(partitions.map((p) => p.leader).sort(), [1, 2, 3, 4, 5, 6]);
});

Deno.test("a replication factor above the unfenced brokers is INVALID_REPLICATION_FACTOR", () => {
  const plan = planTopicCreations(
    new MetadataImage(),
    [
      { name: "wide", numPartitions: 1, replicationFactor: 7, assignments: [], configs: {} },
    ],
    cluster,
    () => "00000000-0000-0000-0000-000000000002",
  );
  assert.equal(plan.results[0].errorCode, 38);
});
