/**
 * Produce: a good batch at v3 (the oldest Kafka 4.x accepts), v7 (kafkajs), v9 (librdkafka, first flexible) and v11 (latest in our codec, Java
 * 4.x sends v12+), a gzip batch, a LogAppendTime topic, then everything a broker must refuse: a bad CRC, batches over message.max.bytes and over a
 * topic's max.message.bytes, acks=2, unknown topics and partitions, empty and null records, two batches in one
 * partition's records, and idempotent producers with sequence gaps, duplicates and stale epochs.
 *
 * @module
 */
import { ApiKey } from "../../../protocol/messages.ts";
import type { ProduceRequest } from "../../../protocol/generated/mod.ts";
import { type BatchFields, buildRecordBatch, Compression } from "../../../protocol/record_batch.ts";
import { batch, records, type Scenario, T0 } from "../scenario.ts";

function produce(topic: string, partition: number, records: Uint8Array | null, acks = -1): ProduceRequest {
  return {
    transactionalId: null,
    acks,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  };
}

/** A batch of `count` records starting at `seq` for an idempotent producer. */
function idempotent(producerId: bigint, producerEpoch: number, baseSequence: number, count = 2): Uint8Array {
  const values = Array.from({ length: count }, (_, i) => `e${producerEpoch}s${baseSequence + i}`);
  const fields: BatchFields = { producerId, producerEpoch, baseSequence };
  return batch(values, fields);
}

/** Produce scenarios. */
export const scenario: Scenario = {
  name: "produce",
  description: "Produce: good batches at v3/v7/v9/v11, gzip, LogAppendTime, and every refusal a broker must make",
  async run(s) {
    // Partition 0 takes the batches every broker accepts, partition 2 the ones a broker must refuse (so one
    // that is wrongly accepted does not shift the offsets of later steps), partition 1 the idempotent ones.
    const { name: topic } = await s.createTopic("produce", { partitions: 3 });
    const REFUSED = 2;
    for (const v of [3, 7, 9, 11]) {
      await s.step(`good batch v${v}`, ApiKey.Produce, v, produce(topic, 0, batch([`v${v}-a`, `v${v}-b`])));
    }
    await s.step(
      "batch with baseOffset 100 (Kafka 4.x wants 0)",
      ApiKey.Produce,
      9,
      produce(topic, REFUSED, batch(["x"], { baseOffset: 100n })),
    );

    const gzip = buildRecordBatch(records(["zipped-a", "zipped-b"]), { compression: Compression.Gzip });
    await s.step("gzip batch", ApiKey.Produce, 9, produce(topic, 0, gzip));
    const { name: appendTime } = await s.createTopic("log-append-time", {
      configs: { "message.timestamp.type": "LogAppendTime" },
    });
    await s.step("batch to a LogAppendTime topic", ApiKey.Produce, 9, produce(appendTime, 0, batch(["t"])));

    const corrupt = batch(["will be corrupted"]);
    corrupt[corrupt.length - 3] ^= 0xff; // inside the last record's value: the CRC no longer matches
    await s.step("bad CRC", ApiKey.Produce, 9, produce(topic, REFUSED, corrupt));

    const big = buildRecordBatch([{ timestamp: T0, key: null, value: new Uint8Array(1_100_000) }]);
    await s.step("batch over message.max.bytes (1 MiB default)", ApiKey.Produce, 9, produce(topic, REFUSED, big));
    const { name: small } = await s.createTopic("small-max", { configs: { "max.message.bytes": "1000" } });
    const medium = buildRecordBatch([{ timestamp: T0, key: null, value: new Uint8Array(2000) }]);
    await s.step("batch over the topic's max.message.bytes", ApiKey.Produce, 9, produce(small, 0, medium));

    await s.step("acks=2", ApiKey.Produce, 9, produce(topic, REFUSED, batch(["acks2"]), 2));
    await s.step("acks=2 v7", ApiKey.Produce, 7, produce(topic, REFUSED, batch(["acks2"]), 2));
    await s.step("acks=1", ApiKey.Produce, 9, produce(topic, 0, batch(["acks1"]), 1));
    await s.step("unknown topic", ApiKey.Produce, 9, produce(s.topic("no-such-topic"), 0, batch(["x"])));
    await s.step("unknown topic v7", ApiKey.Produce, 7, produce(s.topic("no-such-topic-v7"), 0, batch(["x"])));
    await s.step("unknown partition", ApiKey.Produce, 9, produce(topic, 7, batch(["x"])));
    await s.step("empty records field", ApiKey.Produce, 9, produce(topic, REFUSED, new Uint8Array(0)));
    const two = new Uint8Array([...batch(["first"]), ...batch(["second"])]);
    await s.step("two batches in one partition's records", ApiKey.Produce, 9, produce(topic, REFUSED, two));
    await s.step("truncated batch", ApiKey.Produce, 9, produce(topic, REFUSED, batch(["cut short"]).subarray(0, 40)));
    await s.step(
      "transactional batch without a transactional id",
      ApiKey.Produce,
      9,
      produce(
        topic,
        REFUSED,
        batch(["txn"], { producerId: 1n, producerEpoch: 0, baseSequence: 0, transactional: true }),
      ),
    );

    const init = await s.stepRetrying("init producer id", ApiKey.InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    });
    if (init === undefined || init.errorCode !== 0) return;
    const pid = init.producerId;
    const epoch = init.producerEpoch;
    const p = (name: string, records: Uint8Array) => s.step(name, ApiKey.Produce, 9, produce(topic, 1, records));
    await p("idempotent seq 0", idempotent(pid, epoch, 0));
    await p("idempotent seq 2 (next)", idempotent(pid, epoch, 2));
    await p("idempotent seq 2 again (duplicate)", idempotent(pid, epoch, 2));
    await p("idempotent seq 0 again (older duplicate)", idempotent(pid, epoch, 0));
    await p("idempotent seq 7 (gap)", idempotent(pid, epoch, 7));
    await p("idempotent seq 1 (overlaps)", idempotent(pid, epoch, 1));
    await p("idempotent next epoch seq 0", idempotent(pid, epoch + 1, 0));
    await p("idempotent stale epoch", idempotent(pid, epoch, 4));
    await p("idempotent next epoch seq 5 (must start at 0)", idempotent(pid, epoch + 2, 5));
    await p("unknown producer id seq 0", idempotent(pid + 1_000_000n, 0, 0));
    await p("unknown producer id seq 9", idempotent(pid + 2_000_000n, 0, 9));
    await s.step("idempotent seq 2 v7", ApiKey.Produce, 7, produce(topic, 1, idempotent(pid, epoch + 1, 2)));

    // Kafka 4.3 throws a NullPointerException for null records and never answers; on its own connection.
    await s.step("null records field", ApiKey.Produce, 9, produce(topic, 1, null), {
      freshConnection: true,
      timeoutMs: 5_000,
    });
  },
};
