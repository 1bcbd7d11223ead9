/**
 * OffsetForLeaderEpoch v2-v4 (Kafka 4.x's range) as a consumer uses it to detect truncation (KIP-320): the end of
 * the current epoch (the log end), of an epoch above every known one and of -1 (undefined), of an epoch below the
 * first known one (the log start), on an empty partition and after DeleteRecords; unknown topics and partitions;
 * and the current-leader-epoch check (KIP-320) that OffsetForLeaderEpoch, ListOffsets and Fetch share: a newer
 * epoch is UNKNOWN_LEADER_EPOCH, an older one FENCED_LEADER_EPOCH, and which values mean "no epoch" (-1 only for
 * OffsetForLeaderEpoch and ListOffsets, any negative value for Fetch).
 *
 * Every partition here is new, so its leader epoch is 0 on both brokers.
 *
 * @module
 */
import {
  ApiKey,
  defaultFetchRequest,
  defaultFetchRequestFetchPartition,
  type FetchRequest,
  type ListOffsetsRequest,
  type OffsetForLeaderEpochRequest,
} from "../../../protocol/generated/mod.ts";
import { ZERO_UUID } from "../../../protocol/messages.ts";
import { batch, LATEST_TIMESTAMP, type Scenario } from "../scenario.ts";

interface EpochAsk {
  topic: string;
  partition?: number;
  leaderEpoch: number;
  currentLeaderEpoch?: number;
}

function offsetForLeaderEpoch(asks: EpochAsk[], replicaId = -1): OffsetForLeaderEpochRequest {
  return {
    replicaId,
    topics: asks.map((a) => ({
      topic: a.topic,
      partitions: [{
        partition: a.partition ?? 0,
        currentLeaderEpoch: a.currentLeaderEpoch ?? -1,
        leaderEpoch: a.leaderEpoch,
      }],
    })),
  };
}

function listLatest(topic: string, currentLeaderEpoch: number): ListOffsetsRequest {
  return {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{
      name: topic,
      partitions: [{ partitionIndex: 0, currentLeaderEpoch, timestamp: LATEST_TIMESTAMP, maxNumOffsets: 1 }],
    }],
    timeoutMs: 10_000,
  };
}

function fetchFromZero(version: number, topic: string, topicId: string, currentLeaderEpoch: number): FetchRequest {
  return {
    ...defaultFetchRequest(),
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 52_428_800,
    topics: [{
      topic: version < 13 ? topic : "",
      topicId: version >= 13 ? topicId : ZERO_UUID,
      partitions: [{
        ...defaultFetchRequestFetchPartition(),
        partition: 0,
        currentLeaderEpoch,
        fetchOffset: 0n,
        partitionMaxBytes: 1_048_576,
      }],
    }],
  };
}

/** OffsetForLeaderEpoch and current-leader-epoch scenarios. */
export const scenario: Scenario = {
  name: "offset_for_leader_epoch",
  description: "OffsetForLeaderEpoch v2-v4 (KIP-320), and the current leader epoch check of Fetch and ListOffsets",
  async run(s) {
    const { name, topicId } = await s.createTopic("epochs", { partitions: 1 });
    await s.produce(name, 0, [batch(["a", "b"]), batch(["c"])]);
    const { name: empty } = await s.createTopic("epochs-empty", { partitions: 1 });
    const { name: trimmed } = await s.createTopic("epochs-trimmed", { partitions: 1 });
    await s.produce(trimmed, 0, [batch(["x", "y"]), batch(["z", "w"])]);
    await s.step("delete records before offset 2", ApiKey.DeleteRecords, 2, {
      topics: [{ name: trimmed, partitions: [{ partitionIndex: 0, offset: 2n }] }],
      timeoutMs: 10_000,
    });

    for (const v of [2, 3, 4]) {
      const q = (step: string, asks: EpochAsk[], replicaId = -1) =>
        s.step(`${step} v${v}`, ApiKey.OffsetForLeaderEpoch, v, offsetForLeaderEpoch(asks, replicaId));
      await q("the current epoch ends at the log end", [{ topic: name, leaderEpoch: 0 }]);
      await q("an epoch above every known one", [{ topic: name, leaderEpoch: 1 }]);
      await q("epoch -1", [{ topic: name, leaderEpoch: -1 }]);
      await q("epoch -2 (below every known one)", [{ topic: name, leaderEpoch: -2 }]);
      await q("an empty partition's current epoch", [{ topic: empty, leaderEpoch: 0 }]);
      await q("after delete records", [{ topic: trimmed, leaderEpoch: 0 }]);
      await q("current leader epoch equal", [{ topic: name, leaderEpoch: 0, currentLeaderEpoch: 0 }]);
      await q("current leader epoch newer", [{ topic: name, leaderEpoch: 0, currentLeaderEpoch: 1 }]);
      await q("current leader epoch -2 (checked)", [{ topic: name, leaderEpoch: 0, currentLeaderEpoch: -2 }]);
      await q("unknown partition", [{ topic: name, partition: 4, leaderEpoch: 0 }]);
      await q("unknown topic", [{ topic: s.topic(`no-such-topic-v${v}`), leaderEpoch: 0 }]);
      await q("several topics in order", [
        { topic: trimmed, leaderEpoch: 0 },
        { topic: name, leaderEpoch: 0 },
        { topic: empty, leaderEpoch: 0 },
      ]);
      if (v >= 3) await q("a broker's replica id", [{ topic: name, leaderEpoch: 0 }], 1);
    }

    for (const v of [4, 10]) {
      const q = (step: string, currentLeaderEpoch: number) =>
        s.step(`list offsets ${step} v${v}`, ApiKey.ListOffsets, v, listLatest(name, currentLeaderEpoch));
      await q("current leader epoch equal", 0);
      await q("current leader epoch newer", 1);
      await q("current leader epoch -2 (checked)", -2);
    }

    for (const v of [12, 17]) {
      const q = (step: string, currentLeaderEpoch: number) =>
        s.step(`fetch ${step} v${v}`, ApiKey.Fetch, v, fetchFromZero(v, name, topicId, currentLeaderEpoch));
      await q("current leader epoch equal", 0);
      await q("current leader epoch newer", 1);
      await q("current leader epoch -2 (no epoch)", -2);
    }
  },
};
