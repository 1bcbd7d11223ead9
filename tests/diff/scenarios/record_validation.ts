/**
 * Record validation (issue 15): batches whose CRC-32C is valid but whose records are not what the header says:
 * garbage records, a declared count larger or smaller than what the batch holds, record lengths, key, value and
 * header lengths that lie, truncated varints, offset deltas out of order, compressed batches with garbage inside,
 * keyless records on a compacted topic and records timestamped out of range (KIP-467 record errors). After every
 * refusal, good records still go to offset 0 onwards and read back whole.
 *
 * @module
 */
import { ApiKey } from "../../../protocol/messages.ts";
import type { ProduceRequest } from "../../../protocol/generated/mod.ts";
import { defaultFetchRequest, defaultFetchRequestFetchPartition } from "../../../protocol/generated/mod.ts";
import { Compression } from "../../../protocol/record_batch_header.ts";
import { ZERO_UUID } from "../../../protocol/wire/uuid.ts";
import {
  forgeBatch,
  forgeRecord,
  forgeRecordsBatch,
  garbage,
  honestRecords,
  lyingCountBatch,
  poisonedBatch,
  relabelled,
  varint,
} from "../../fixtures/forged_batches.ts";
import { batch, type Scenario, T0 } from "../scenario.ts";

function produce(topic: string, records: Uint8Array, partition = 0): ProduceRequest {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  };
}

/** Record validation scenarios. */
export const scenario: Scenario = {
  name: "record_validation",
  description: "Produce of batches with a valid CRC and bad records: the error codes, record errors, and the log after",
  async run(s) {
    // Partition 0 takes the refusals both brokers make, then good records; partition 1 the batches on which
    // Samsa and Kafka knowingly differ (known_differences.ts), so they cannot shift partition 0's offsets.
    const { name: topic } = await s.createTopic("records", { partitions: 2 });
    const p = (step: string, records: Uint8Array, partition = 0) =>
      s.step(step, ApiKey.Produce, 9, produce(topic, records, partition));

    await p("garbage records with a valid CRC", poisonedBatch());
    await p("declares 1000 records, holds 3", lyingCountBatch());
    await p("declares 2 records, holds 3", forgeRecordsBatch(honestRecords(3), { recordsCount: 2 }));
    await p("record length longer than the record", forgeRecordsBatch([{ offsetDelta: 0, lengthAdjust: 5 }]));
    await p("record length shorter than the record", forgeRecordsBatch([{ offsetDelta: 0, lengthAdjust: -2 }]));
    await p("negative record length", forgeBatch([...varint(-2), ...forgeRecord({ offsetDelta: 0 }).slice(1)], 1));
    await p("key length past the end of the record", forgeRecordsBatch([{ offsetDelta: 0, key: "k", keyLength: 40 }]));
    await p("value length past the end of the record", forgeRecordsBatch([{ offsetDelta: 0, valueLength: 90 }]));
    await p("header count lying", forgeRecordsBatch([{ offsetDelta: 0, headers: [["h", "v"]], headerCount: 3 }]));
    await p("negative header count", forgeRecordsBatch([{ offsetDelta: 0, headerCount: -2 }]));
    await p("null header key", forgeRecordsBatch([{ offsetDelta: 0, headers: [[null, "v"]] }]));
    await p("truncated varint at the end", forgeBatch([...forgeRecord({ offsetDelta: 0 }), 0x80], 2));
    await p(
      "offset deltas 0, 2, 1",
      forgeRecordsBatch([{ offsetDelta: 0 }, { offsetDelta: 2 }, { offsetDelta: 1 }]),
      1,
    );
    await p("gzip stream of garbage", relabelled(forgeBatch(garbage(40), 2), Compression.Gzip), 1);
    await p("gzip batch with garbage records inside", forgeBatch(garbage(60), 3, { compression: Compression.Gzip }));
    await p(
      "zstd batch declaring 1000 records, holding 3",
      forgeBatch(
        honestRecords(3).flatMap(forgeRecord),
        3,
        { compression: Compression.Zstd, recordsCount: 1000 },
      ),
    );
    await p("good batch after the refusals (offset 0)", batch(["good-0", "good-1"]));
    await s.step("fetch from offset 0: only the good records", ApiKey.Fetch, 12, {
      ...defaultFetchRequest(),
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1_048_576,
      topics: [{
        topic,
        topicId: ZERO_UUID,
        partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: 0n }],
      }],
    });

    // KIP-467: Kafka names each keyless record on a compacted topic, and keeps the innocent ones out of the list.
    const { name: compacted } = await s.createTopic("compacted", { configs: { "cleanup.policy": "compact" } });
    const tenOfHundredKeyless = forgeRecordsBatch(honestRecords(100, (i) => i % 10 === 3 ? null : `k${i}`));
    for (const v of [7, 8, 9, 11]) {
      await s.step(
        `compacted topic, 10 of 100 records keyless v${v}`,
        ApiKey.Produce,
        v,
        produce(compacted, tenOfHundredKeyless),
      );
    }
    // Per-record timestamps (CreateTime, message.timestamp.after.max.ms 1 hour): records 1 and 3 are from 2096.
    const { name: timed } = await s.createTopic("timestamps");
    const future = 4_000_000_000_000;
    const twoFuture = forgeRecordsBatch(
      honestRecords(5).map((r, i) => ({ ...r, timestampDelta: i === 1 || i === 3 ? future - T0 : i })),
      { baseTimestamp: T0 },
    );
    await s.step(
      "records 1 and 3 of 5 timestamped past message.timestamp.after.max.ms",
      ApiKey.Produce,
      9,
      produce(
        timed,
        twoFuture,
      ),
    );
    await s.step(
      "compacted topic, keyed records",
      ApiKey.Produce,
      9,
      produce(compacted, forgeRecordsBatch(honestRecords(5))),
    );
  },
};
