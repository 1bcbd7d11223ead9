/**
 * A consumer group's committed offsets, read with Samsa's own codec (OffsetFetch v7), for group tests that
 * wait until a group has committed what it consumed instead of sleeping.
 *
 * @module
 */
import { ApiKey } from "../../protocol/messages.ts";
import { RawClient } from "../diff/raw_client.ts";

/**
 * The committed offset of each of `partitions` of `topic` for `group` (-1 where nothing is committed), by
 * partition index.
 *
 * @example
 * ```ts ignore
 * const offsets = await committedOffsets(broker.bootstrap, "readers", "orders", [0, 1, 2]);
 * offsets.get(0); // 42
 * ```
 */
export async function committedOffsets(
  bootstrap: string,
  group: string,
  topic: string,
  partitions: readonly number[],
): Promise<Map<number, number>> {
  const client = await RawClient.connect(bootstrap, "samsa-test-offsets");
  try {
    const answer = await client.request(ApiKey.OffsetFetch, 7, {
      groupId: group,
      topics: [{ name: topic, partitionIndexes: [...partitions] }],
      groups: [],
      requireStable: false,
    });
    if (answer.errorCode !== 0) throw new Error(`OffsetFetch ${group}: error ${answer.errorCode}`);
    const out = new Map<number, number>();
    for (const p of answer.topics.find((t) => t.name === topic)?.partitions ?? []) {
      if (p.errorCode !== 0) throw new Error(`OffsetFetch ${group} ${topic}/${p.partitionIndex}: error ${p.errorCode}`);
      out.set(p.partitionIndex, Number(p.committedOffset));
    }
    return out;
  } finally {
    await client.close();
  }
}

/** The sum of the committed offsets of `partitions` (a partition with nothing committed counts 0). */
export async function committedTotal(
  bootstrap: string,
  group: string,
  topic: string,
  partitions: readonly number[],
): Promise<number> {
  const offsets = await committedOffsets(bootstrap, group, topic, partitions);
  return partitions.reduce((sum, p) => sum + Math.max(0, offsets.get(p) ?? 0), 0);
}
