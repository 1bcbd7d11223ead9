/**
 * Fetch at the versions real clients use: v11 (kafkajs, by name, not flexible), v12 (first flexible, by
 * name), v13 (first with topic ids), v16 and v17 (Java 4.x; librdkafka 2.x uses v11 up to v16). Covers a
 * plain read, offsets below the log start (after DeleteRecords) and past the end, limits smaller than the
 * first batch (Kafka still returns that whole batch), long polling with min_bytes and max_wait_ms, and
 * unknown topics, topic ids and partitions, read_committed, and opening a fetch session (KIP-227).
 *
 * @module
 */
import {
  ApiKey,
  defaultFetchRequest,
  defaultFetchRequestFetchPartition,
  type FetchRequest,
} from "../../../protocol/generated/mod.ts";
import { ZERO_UUID } from "../../../protocol/messages.ts";
import { batch, type Scenario } from "../scenario.ts";

const VERSIONS = [11, 12, 13, 16, 17];

interface FetchOptions {
  offset: bigint;
  partition?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
  minBytes?: number;
  maxWaitMs?: number;
  isolationLevel?: number;
}

/** Kafka's Fetch request from a consumer (replica id -1, no session), by name before v13, by id from v13. */
function fetch(version: number, topic: string, topicId: string, o: FetchOptions): FetchRequest {
  return {
    ...defaultFetchRequest(),
    maxWaitMs: o.maxWaitMs ?? 0,
    minBytes: o.minBytes ?? 0,
    maxBytes: o.maxBytes ?? 52_428_800,
    isolationLevel: o.isolationLevel ?? 0,
    topics: [{
      topic: version < 13 ? topic : "",
      topicId: version >= 13 ? topicId : ZERO_UUID,
      partitions: [{
        ...defaultFetchRequestFetchPartition(),
        partition: o.partition ?? 0,
        fetchOffset: o.offset,
        partitionMaxBytes: o.partitionMaxBytes ?? 1_048_576,
      }],
    }],
  };
}

/** Fetch scenarios. */
export const scenario: Scenario = {
  name: "fetch",
  description: "Fetch v11/v12/v13/v16/v17: reads, out-of-range offsets, small limits, long polling, unknowns",
  async run(s) {
    const { name, topicId } = await s.createTopic("fetch", { partitions: 1 });
    await s.produce(name, 0, [batch(["a0", "a1"]), batch(["b0", "b1", "b2"]), batch(["c0"])]);
    const { name: trimmed, topicId: trimmedId } = await s.createTopic("trimmed", { partitions: 1 });
    await s.produce(trimmed, 0, [batch(["t0", "t1"]), batch(["t2", "t3"])]);
    await s.step("delete records before offset 2", ApiKey.DeleteRecords, 2, {
      topics: [{ name: trimmed, partitions: [{ partitionIndex: 0, offset: 2n }] }],
      timeoutMs: 10_000,
    });

    for (const v of VERSIONS) {
      const f = (step: string, o: FetchOptions, topic = name, id = topicId) =>
        s.step(`${step} v${v}`, ApiKey.Fetch, v, fetch(v, topic, id, o));
      await f("from offset 0", { offset: 0n });
      await f("from the middle of a batch (offset 3)", { offset: 3n });
      await f("at the high watermark", { offset: 6n });
      await f("past the end", { offset: 9n });
      await f("offset -1", { offset: -1n });
      await f("below the log start", { offset: 0n }, trimmed, trimmedId);
      await f("at the log start", { offset: 2n }, trimmed, trimmedId);
      await f("partition max bytes 10 (smaller than the first batch)", { offset: 0n, partitionMaxBytes: 10 });
      await f("request max bytes 10 (smaller than the first batch)", { offset: 0n, maxBytes: 10 });
      await f("unknown partition", { offset: 0n, partition: 5 });
      await f("unknown topic", { offset: 0n }, s.topic("no-such-topic"), "0a0b0c0d-0000-4000-8000-000000000000");

      await f("read_committed", { offset: 0n, isolationLevel: 1 });
      await s.step(`open a fetch session (epoch 0) v${v}`, ApiKey.Fetch, v, {
        ...fetch(v, name, topicId, { offset: 0n }),
        sessionId: 0,
        sessionEpoch: 0,
      });

      const started = performance.now();
      const waited = await s.call(
        ApiKey.Fetch,
        v,
        fetch(v, name, topicId, { offset: 6n, minBytes: 1, maxWaitMs: 500 }),
      );
      const elapsedMs = performance.now() - started;
      const p = waited.responses[0]?.partitions[0];
      s.observe(`min bytes 1, max wait 500 ms at the end v${v}`, {
        waitedAtLeast400Ms: elapsedMs >= 400,
        answeredWithin3s: elapsedMs < 3_000,
        errorCode: p?.errorCode ?? null,
        recordsBytes: p?.records?.length ?? null,
      });
    }
  },
};
