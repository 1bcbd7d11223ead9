import assert from "node:assert/strict";
import { PartitionLog } from "../../../log/partition_log.ts";
import { ErrorCode } from "../../../protocol/messages.ts";
import { buildRecordBatch } from "../../../protocol/record_batch.ts";
import { PartitionReplica, type ProduceSettings } from "../../../broker/replication/partition_replica.ts";
import { ProducerStateTable } from "../../../broker/producer_state.ts";
import { readBatchHeader } from "../../../protocol/record_batch_header.ts";

const settings: ProduceSettings = {
  logAppendTime: false,
  maxMessageBytes: 1024 * 1024,
  timestampBeforeMaxMs: Infinity,
  timestampAfterMaxMs: 3_600_000,
};

async function withReplica(fn: (replica: PartitionReplica) => void | Promise<void>) {
  const dir = await Deno.makeTempDir();
  const log = await PartitionLog.open(`${dir}/t-0`);
  try {
    await fn(await PartitionReplica.open("t", 0, log, `${dir}/t-0`, 1, new ProducerStateTable()));
  } finally {
    await log.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const now = Date.now();
const records = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ timestamp: now, key: null, value: new TextEncoder().encode(`v${i}`) }));

Deno.test("appended batches get contiguous offsets and become visible once durable", async () => {
  await withReplica(async (replica) => {
    const first = replica.append(buildRecordBatch(records(3)), settings, now);
    const second = replica.append(buildRecordBatch(records(2)), settings, now);
    assert.equal(first.errorCode, ErrorCode.NONE);
    assert.equal(first.baseOffset, 0);
    assert.equal(second.baseOffset, 3);
    await second.durable;
    assert.equal(replica.highWatermark, 5);
    const read = replica.read(0, 1 << 20, true);
    assert.equal(replica.leaderEpoch, 0, "a new partition's group of one elects itself in epoch 0, as Kafka starts");
    assert.equal(readBatchHeader(read.records, 0).partitionLeaderEpoch, 0, "the leader epoch is stamped");
  });
});

Deno.test("a retried idempotent batch is answered with its original offset and not written twice", async () => {
  await withReplica((replica) => {
    const fields = { producerId: 9n, producerEpoch: 0, baseSequence: 0 };
    const a = replica.append(buildRecordBatch(records(2), fields), settings, now);
    const retry = replica.append(buildRecordBatch(records(2), fields), settings, now);
    assert.equal(retry.errorCode, ErrorCode.NONE);
    assert.equal(retry.baseOffset, a.baseOffset);
    assert.equal(replica.logEndOffset, 2);
    const gap = replica.append(buildRecordBatch(records(1), { ...fields, baseSequence: 5 }), settings, now);
    assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const bumped = replica.append(buildRecordBatch(records(1), { ...fields, producerEpoch: 1 }), settings, now);
    assert.equal(bumped.errorCode, ErrorCode.NONE);
    const stale = replica.append(buildRecordBatch(records(1), { ...fields, baseSequence: 2 }), settings, now);
    assert.equal(stale.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  });
});

Deno.test("bad payloads get Kafka's error codes and nothing is appended", async () => {
  await withReplica((replica) => {
    const corrupt = buildRecordBatch(records(1));
    corrupt[corrupt.length - 1] ^= 1;
    assert.equal(replica.append(corrupt, settings, now).errorCode, ErrorCode.CORRUPT_MESSAGE);
    const two = new Uint8Array([...buildRecordBatch(records(1)), ...buildRecordBatch(records(1))]);
    assert.equal(replica.append(two, settings, now).errorCode, ErrorCode.INVALID_RECORD);
    const big = buildRecordBatch(records(1));
    assert.equal(replica.append(big, { ...settings, maxMessageBytes: 10 }, now).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    const future = buildRecordBatch([{ timestamp: now + 7_200_000, key: null, value: null }]);
    assert.equal(replica.append(future, settings, now).errorCode, ErrorCode.INVALID_TIMESTAMP);
    assert.equal(replica.append(new Uint8Array(0), settings, now).errorCode, ErrorCode.INVALID_RECORD);
    assert.equal(replica.logEndOffset, 0);
  });
});

Deno.test("LogAppendTime topics stamp the broker's time and keep a valid CRC", async () => {
  await withReplica(async (replica) => {
    const outcome = replica.append(buildRecordBatch(records(1)), { ...settings, logAppendTime: true }, 12345);
    assert.equal(outcome.logAppendTimeMs, 12345);
    await outcome.durable;
    const header = readBatchHeader(replica.read(0, 1 << 20, true).records, 0);
    assert.equal(header.maxTimestamp, 12345n);
    assert.equal(header.attributes & 0x08, 0x08);
  });
});

Deno.test("every start of the partition's Raft group is a new leader epoch, and committed data stays committed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (let start = 0; start < 3; start++) {
      const log = await PartitionLog.open(`${dir}/t-0`);
      const replica = await PartitionReplica.open("t", 0, log, `${dir}/t-0`, 1, new ProducerStateTable());
      assert.equal(replica.leaderEpoch, start);
      assert.equal(replica.highWatermark, start * 2, "what earlier terms wrote is committed at once");
      await replica.append(buildRecordBatch(records(2)), settings, now).durable;
      assert.equal(replica.highWatermark, start * 2 + 2);
      await log.close();
    }
    const log = await PartitionLog.open(`${dir}/t-0`);
    assert.deepEqual([0, 2, 4].map((o) => log.epochForOffset(o)), [0, 1, 2], "batches carry the term that wrote them");
    await log.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
