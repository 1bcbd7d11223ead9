/**
 * ListOffsets: earliest (-2), latest (-1), by timestamp (an exact hit, between records, past every record),
 * max timestamp (-3, KIP-734, v7+), earliest local (-4, KIP-405, v8+), after DeleteRecords, and unknown
 * partitions; at v1 (the oldest Kafka 4.x serves), v5 (kafkajs-era, not flexible), v7 (flexible, Java 3.x)
 * and v10 (the newest our codec has; Java 4.x).
 *
 * The log: offsets 0-1 at T0 and T0+1, offsets 2-3 at T0+100 and T0+50 (the maximum is not the last record),
 * offset 4 at T0+10 (timestamps need not increase).
 *
 * @module
 */
import { ApiKey } from "../../../protocol/messages.ts";
import type { ListOffsetsRequest } from "../../../protocol/generated/mod.ts";
import { batch, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MAX_TIMESTAMP, type Scenario, T0 } from "../scenario.ts";

const EARLIEST_LOCAL_TIMESTAMP = -4n;

function listOffsets(topic: string, timestamp: bigint, partition = 0): ListOffsetsRequest {
  return {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{
      name: topic,
      partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }],
    }],
    timeoutMs: 10_000,
  };
}

/** ListOffsets scenarios. */
export const scenario: Scenario = {
  name: "list_offsets",
  description: "ListOffsets v1/v5/v7/v10: earliest, latest, by timestamp, max timestamp, earliest local",
  async run(s) {
    const { name } = await s.createTopic("list-offsets", { partitions: 1 });
    await s.produce(name, 0, [
      batch(["a", "b"], {}, [T0, T0 + 1]),
      batch(["c", "d"], {}, [T0 + 100, T0 + 50]),
      batch(["e"], {}, [T0 + 10]),
    ]);
    const { name: trimmed } = await s.createTopic("list-offsets-trimmed", { partitions: 1 });
    await s.produce(trimmed, 0, [batch(["x", "y"]), batch(["z"])]);
    await s.step("delete records before offset 2", ApiKey.DeleteRecords, 2, {
      topics: [{ name: trimmed, partitions: [{ partitionIndex: 0, offset: 2n }] }],
      timeoutMs: 10_000,
    });

    for (const v of [1, 5, 7, 10]) {
      const q = (step: string, timestamp: bigint, topic = name, partition = 0) =>
        s.step(`${step} v${v}`, ApiKey.ListOffsets, v, listOffsets(topic, timestamp, partition));
      await q("earliest", EARLIEST_TIMESTAMP);
      await q("latest", LATEST_TIMESTAMP);
      await q("timestamp T0+1 (exact)", BigInt(T0 + 1));
      await q("timestamp T0+20 (first record at or after it is offset 2)", BigInt(T0 + 20));
      await q("timestamp T0+1000 (after every record)", BigInt(T0 + 1000));
      await q("timestamp 0 (before every record)", 0n);
      await q("max timestamp", MAX_TIMESTAMP);
      await q("earliest local", EARLIEST_LOCAL_TIMESTAMP);
      await q("earliest after delete records", EARLIEST_TIMESTAMP, trimmed);
      await q("latest after delete records", LATEST_TIMESTAMP, trimmed);
      await q("unknown partition", EARLIEST_TIMESTAMP, name, 3);
      await q("unknown topic", EARLIEST_TIMESTAMP, s.topic(`no-such-topic-v${v}`));
    }
  },
};
