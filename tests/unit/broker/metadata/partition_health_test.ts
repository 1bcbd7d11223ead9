import assert from "node:assert/strict";
import { MetadataImage, type MetadataRecord } from "../../../../broker/metadata_image.ts";
import { PartitionHealth } from "../../../../broker/metadata/partition_health.ts";

const A = "8d3e1d6b-4f50-4b82-9dce-3f4a5b6c7d8e";
const B = "9e4f2e7c-5061-4c93-aedf-4a5b6c7d8e9f";

function apply(image: MetadataImage, health: PartitionHealth, records: MetadataRecord[]) {
  for (const r of records) image.apply(r);
  return health.update(records);
}

function partition(topicId: string, partitionId: number, replicas: number[], isr: number[], leader: number) {
  return {
    type: "partition" as const,
    record: { topicId, partitionId, replicas, isr, leader, leaderEpoch: 0, partitionEpoch: 0 },
  };
}

Deno.test("under-replicated and offline partitions are counted from the image, and told only when they change", () => {
  const image = new MetadataImage();
  const health = new PartitionHealth(image);
  assert.deepEqual(health.counts, { underReplicated: 0, offline: 0 });
  assert.deepEqual(
    apply(image, health, [
      { type: "topic", record: { name: "a", topicId: A } },
      partition(A, 0, [1, 2, 3], [1, 2, 3], 1),
      partition(A, 1, [2, 3, 1], [2], 2),
      { type: "topic", record: { name: "b", topicId: B } },
      partition(B, 0, [3], [3], -1),
    ]),
    { underReplicated: 1, offline: 1 },
  );
  // An ISR shrink under-replicates a partition; a config change tells nothing.
  assert.deepEqual(
    apply(image, health, [{ type: "partition_change", record: { topicId: A, partitionId: 0, leader: -2, isr: [1] } }]),
    { underReplicated: 2, offline: 1 },
  );
  assert.equal(
    apply(image, health, [{ type: "config", record: { resourceType: 2, resourceName: "a", name: "x", value: "1" } }]),
    undefined,
  );
  // The same figures again: nothing to tell.
  assert.equal(
    apply(image, health, [{ type: "partition_change", record: { topicId: A, partitionId: 1, leader: 3, isr: [3] } }]),
    undefined,
  );
  // Deleting the offline topic's partitions takes them out of the figures.
  assert.deepEqual(apply(image, health, [{ type: "remove_topic", record: { topicId: B } }]), {
    underReplicated: 2,
    offline: 0,
  });
});

Deno.test("after a snapshot rebuilds the image, topics deleted meanwhile leave the figures", () => {
  const image = new MetadataImage();
  const health = new PartitionHealth(image);
  apply(image, health, [
    { type: "topic", record: { name: "a", topicId: A } },
    partition(A, 0, [1, 2], [1], 1),
    { type: "topic", record: { name: "b", topicId: B } },
    partition(B, 0, [1], [1], -1),
  ]);
  assert.deepEqual(health.counts, { underReplicated: 1, offline: 1 });
  // The snapshot holds topic a only (b was deleted while this node was away); its records are all it sees.
  image.reset();
  const snapshot: MetadataRecord[] = [
    { type: "topic", record: { name: "a", topicId: A } },
    partition(A, 0, [1, 2], [1], 1),
  ];
  assert.deepEqual(apply(image, health, snapshot), { underReplicated: 1, offline: 0 });
});
