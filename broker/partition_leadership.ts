/**
 * Partition leadership as a broker is fenced and unfenced, decided by the controller. Pure: the image in,
 * PartitionChangeRecords out.
 *
 * Partition data is not replicated between brokers yet: each partition lives on its leader only and its ISR is
 * that leader. So, as Kafka's controller does when a partition's only in-sync replica is fenced, the partition
 * becomes leaderless (leader -1, the ISR kept as it is: Kafka never shrinks an ISR to nothing) and is offline
 * until the broker holding its data is unfenced, when that broker leads it again. Each change bumps the leader
 * epoch, so a client holding the old epoch refreshes its metadata.
 *
 * @module
 */
import { type MetadataImage, type MetadataRecord, NO_LEADER } from "./metadata_image.ts";

/**
 * The records that take every partition led by `brokerId` offline (the broker is being fenced).
 *
 * @example
 * ```ts
 * import { MetadataImage } from "./metadata_image.ts";
 * import { leaderlessOnFencing } from "./partition_leadership.ts";
 * leaderlessOnFencing(new MetadataImage(), 1).length; // 0: no partitions
 * ```
 */
export function leaderlessOnFencing(image: MetadataImage, brokerId: number): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (const topic of image.topics()) {
    for (const p of topic.partitions) {
      if (!p || p.leader !== brokerId) continue;
      out.push({
        type: "partition_change",
        record: { topicId: topic.topicId, partitionId: p.partition, leader: NO_LEADER, isr: null },
      });
    }
  }
  return out;
}

/**
 * The records that give `brokerId` back the leadership of the leaderless partitions whose data it holds (it
 * is their only in-sync replica), as it is unfenced.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "./metadata_image.ts";
 * import { leadersOnUnfencing } from "./partition_leadership.ts";
 * leadersOnUnfencing(new MetadataImage(), 1).length; // 0: no partitions
 * ```
 */
export function leadersOnUnfencing(image: MetadataImage, brokerId: number): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (const topic of image.topics()) {
    for (const p of topic.partitions) {
      if (!p || p.leader !== NO_LEADER || !p.isr.includes(brokerId)) continue;
      out.push({
        type: "partition_change",
        record: { topicId: topic.topicId, partitionId: p.partition, leader: brokerId, isr: null },
      });
    }
  }
  return out;
}
