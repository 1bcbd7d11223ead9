import assert from "node:assert/strict";
import { MetadataImage, type MetadataRecord } from "../../../../broker/metadata_image.ts";
import { leaderlessOnFencing, leadersOnUnfencing } from "../../../../broker/partition_leadership.ts";
import { decodeMetadataBatches, encodeMetadataBatch } from "../../../../broker/metadata/image_snapshot.ts";

const TOPIC_ID = "5a0b8a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

/** One topic with a partition led by each of brokers 1, 2 and 1. */
function imageWithPartitions(): MetadataImage {
  const image = new MetadataImage();
  image.apply({ type: "topic", record: { name: "orders", topicId: TOPIC_ID } });
  [1, 2, 1].forEach((leader, partitionId) =>
    image.apply({
      type: "partition",
      record: {
        topicId: TOPIC_ID,
        partitionId,
        replicas: [leader],
        isr: [leader],
        leader,
        leaderEpoch: 0,
        partitionEpoch: 0,
      },
    })
  );
  return image;
}

/** Applies `records` after a round trip through the metadata log's framing, as a follower would. */
function applyFramed(image: MetadataImage, records: MetadataRecord[]): void {
  for (const r of decodeMetadataBatches(encodeMetadataBatch(records, 0))) image.apply(r);
}

Deno.test("fencing a broker leaves the partitions it led without a leader, in a new leader epoch, ISR kept", () => {
  const image = imageWithPartitions();
  const fencing = leaderlessOnFencing(image, 1);
  assert.equal(fencing.length, 2);
  applyFramed(image, fencing);
  const partitions = image.topic("orders")!.partitions;
  assert.deepEqual(partitions.map((p) => [p.leader, p.leaderEpoch, p.partitionEpoch, p.isr]), [
    [-1, 1, 1, [1]],
    [2, 0, 0, [2]],
    [-1, 1, 1, [1]],
  ]);
  // Fencing it again changes nothing more.
  assert.deepEqual(leaderlessOnFencing(image, 1), []);
});

Deno.test("unfencing the broker gives it back the leaderless partitions whose data it holds, in a newer epoch", () => {
  const image = imageWithPartitions();
  applyFramed(image, leaderlessOnFencing(image, 1));
  // Another broker is not given partitions whose only in-sync replica it is not.
  assert.deepEqual(leadersOnUnfencing(image, 2), []);
  applyFramed(image, leadersOnUnfencing(image, 1));
  const partitions = image.topic("orders")!.partitions;
  assert.deepEqual(partitions.map((p) => [p.leader, p.leaderEpoch, p.partitionEpoch]), [[1, 2, 2], [2, 0, 0], [
    1,
    2,
    2,
  ]]);
  assert.deepEqual(leadersOnUnfencing(image, 1), []);
});
