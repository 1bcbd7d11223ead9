import assert from "node:assert/strict";
import { LogError } from "../../../log/log_error.ts";
import { PartitionLog } from "../../../log/partition_log.ts";
import { buildBatch, listBatches, ManualClock } from "./batch_fixture.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "samsa-trunc-" });
  try {
    await fn(`${dir}/topic-0`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function offsetsIn(log: PartitionLog): number[] {
  const out: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const found = listBatches(log.read(offset, 100_000, { upTo: log.logEndOffset }).records);
    if (found.length === 0) break;
    out.push(...found.map((b) => b.baseOffset));
    offset = found[found.length - 1].lastOffset + 1;
  }
  return out;
}

const config = { "segment.bytes": 500, "index.interval.bytes": 100 }; // 4 batches of 101 bytes per segment

Deno.test("truncateTo removes the suffix at a batch boundary, across segments, durably", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config });
    for (let i = 0; i < 20; i++) {
      log.append(buildBatch({ records: 2, payloadBytes: 40, timestamp: i }), { leaderEpoch: i < 10 ? 1 : 2 });
    }
    await log.flush();
    assert.equal(log.segmentBaseOffsets().length, 5);
    await log.truncateTo(14); // batch 7 starts at offset 14
    assert.equal(log.logEndOffset, 14);
    assert.equal(log.flushedOffset, 14);
    assert.deepEqual(offsetsIn(log), [0, 2, 4, 6, 8, 10, 12]);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 8]);
    assert.deepEqual(log.maxTimestamp(), { timestamp: 6, offset: 12 });
    assert.equal(log.latestEpoch()?.epoch, 1, "the epoch that started after the cut is forgotten");
    assert.equal(log.append(buildBatch({ records: 2, payloadBytes: 40 }), { leaderEpoch: 3 }).baseOffset, 14);
    assert.deepEqual(log.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 14 });
    await log.close();
    const reopened = await PartitionLog.open(dir, { config });
    assert.deepEqual(offsetsIn(reopened), [0, 2, 4, 6, 8, 10, 12, 14]);
    assert.deepEqual(reopened.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 14 });
    await reopened.close();
  });
});

Deno.test("truncateTo inside a batch removes that whole batch", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config });
    for (let i = 0; i < 3; i++) log.append(buildBatch({ records: 5 }));
    await log.truncateTo(7);
    assert.equal(log.logEndOffset, 5);
    await log.truncateTo(100); // beyond the end: nothing to do
    assert.equal(log.logEndOffset, 5);
    await log.close();
  });
});

Deno.test("truncateTo below the log start empties the log and restarts it there", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config });
    for (let i = 0; i < 10; i++) log.append(buildBatch({ payloadBytes: 40 }));
    await log.flush();
    await log.deleteRecordsBefore(6);
    await log.truncateTo(3);
    assert.equal(log.logStartOffset, 3);
    assert.equal(log.logEndOffset, 3);
    assert.equal(log.append(buildBatch()).baseOffset, 3);
    await log.close();
    const reopened = await PartitionLog.open(dir, { config });
    assert.deepEqual([reopened.logStartOffset, reopened.logEndOffset], [3, 4]);
    await reopened.close();
  });
});

Deno.test("deleteRecordsBefore advances the log start, deletes whole segments below it, and survives restart", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config });
    for (let i = 0; i < 20; i++) log.append(buildBatch({ payloadBytes: 40 }));
    await log.flush();
    assert.equal(await log.deleteRecordsBefore(9), 9);
    assert.equal(log.logStartOffset, 9);
    assert.deepEqual(log.segmentBaseOffsets(), [8, 12, 16]);
    assert.throws(() => log.read(8, 1000), (e) => e instanceof LogError && e.kind === "offset_out_of_range");
    assert.equal(listBatches(log.read(9, 1000).records)[0].baseOffset, 9);
    await assert.rejects(log.deleteRecordsBefore(21), (e) => e instanceof LogError && e.kind === "offset_out_of_range");
    await log.close();
    const reopened = await PartitionLog.open(dir, { config });
    assert.equal(reopened.logStartOffset, 9);
    await reopened.close();
  });
});

Deno.test("retention.ms deletes old segments by their newest timestamp, never the active one", async () => {
  await withDir(async (dir) => {
    const clock = new ManualClock(10_000);
    const log = await PartitionLog.open(dir, { clock, config: { ...config, "retention.ms": 5_000 } });
    for (let i = 0; i < 16; i++) log.append(buildBatch({ payloadBytes: 40, timestamp: 1_000 * i }));
    await log.flush();
    assert.deepEqual(log.segmentBaseOffsets(), [0, 4, 8, 12]);
    clock.nowMs = 12_001; // segments with newest timestamp 3_000 and 7_000 are more than 5 s old
    const deleted = await log.applyRetention();
    assert.deepEqual(deleted, [{ baseOffset: 0, reason: "retention.ms" }, { baseOffset: 4, reason: "retention.ms" }]);
    assert.equal(log.logStartOffset, 8);
    clock.nowMs = 1_000_000;
    await log.applyRetention();
    assert.deepEqual(log.segmentBaseOffsets(), [12], "the active segment stays");
    assert.equal(log.logStartOffset, 12);
    assert.equal(log.logEndOffset, 16);
    await log.close();
  });
});

Deno.test("retention.bytes deletes the oldest segments while the partition stays within the limit", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: { ...config, "retention.bytes": 1_000, "retention.ms": -1 } });
    for (let i = 0; i < 20; i++) log.append(buildBatch({ payloadBytes: 40 })); // 5 segments of 404 bytes
    const deleted = await log.applyRetention();
    // 2,020 bytes: dropping two segments leaves 1,212; dropping a third would leave 808, under the limit.
    assert.deepEqual(deleted.map((d) => d.reason), ["retention.bytes", "retention.bytes"]);
    assert.equal(log.sizeInBytes(), 1_212);
    assert.equal(log.logStartOffset, 8);
    await log.close();
  });
});

Deno.test("the leader-epoch cache answers without scanning and survives a restart", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config });
    log.append(buildBatch({ records: 10 }), { leaderEpoch: 1 });
    log.append(buildBatch({ records: 10 }), { leaderEpoch: 1 });
    log.append(buildBatch({ records: 10 }), { leaderEpoch: 3 });
    log.append(buildBatch({ records: 10, leaderEpoch: 5 })); // a follower append keeps the leader's stamp
    assert.deepEqual([log.epochForOffset(0), log.epochForOffset(19), log.epochForOffset(20), log.epochForOffset(39)], [
      1,
      1,
      3,
      5,
    ]);
    assert.deepEqual(log.endOffsetForEpoch(2), { leaderEpoch: 1, endOffset: 20 });
    assert.deepEqual(log.endOffsetForEpoch(5), { leaderEpoch: 5, endOffset: 40 });
    await log.close();
    const reopened = await PartitionLog.open(dir, { config });
    assert.deepEqual(reopened.endOffsetForEpoch(2), { leaderEpoch: 1, endOffset: 20 });
    assert.deepEqual(reopened.endOffsetForEpoch(3), { leaderEpoch: 3, endOffset: 30 });
    assert.equal(reopened.epochForOffset(25), 3);
    await reopened.deleteRecordsBefore(25);
    assert.deepEqual(reopened.endOffsetForEpoch(1), { leaderEpoch: -1, endOffset: -1 });
    assert.equal(reopened.epochForOffset(25), 3);
    await reopened.close();
  });
});

Deno.test("retention runs while producers keep the group-commit loop busy", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: { ...config, "retention.bytes": 1_000, "retention.ms": -1 } });
    for (let i = 0; i < 20; i++) log.append(buildBatch({ payloadBytes: 40 }));
    await log.flush();
    let producing = true;
    const producer = (async () => {
      while (producing) {
        log.append(buildBatch({ payloadBytes: 40 }));
        await log.flush();
      }
    })();
    const deleted = await Promise.race([
      log.applyRetention(),
      new Promise<"stuck">((r) => setTimeout(() => r("stuck"), 5_000)),
    ]);
    producing = false;
    await producer;
    assert.notEqual(deleted, "stuck", "retention did not wait for the flush loop to run dry");
    assert.ok(Array.isArray(deleted) && deleted.length > 0);
    await log.close();
  });
});

Deno.test("truncateFullyAndStartAt empties the log and restarts it at an offset past its end, durably, epochs forgotten", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config });
    for (let i = 0; i < 6; i++) log.append(buildBatch({ records: 2, payloadBytes: 40 }), { leaderEpoch: 5 });
    await log.flush();
    await log.truncateFullyAndStartAt(100);
    assert.equal(log.logStartOffset, 100);
    assert.equal(log.logEndOffset, 100);
    assert.equal(log.flushedOffset, 100);
    assert.equal(log.latestEpoch(), undefined);
    // A batch of an older epoch than the forgotten ones is recorded (a leader's log may hold older epochs there).
    assert.equal(log.append(buildBatch({ records: 2 }), { leaderEpoch: 3 }).baseOffset, 100);
    assert.equal(log.epochForOffset(101), 3);
    await log.flush();
    await log.close();
    const reopened = await PartitionLog.open(dir, { config });
    assert.equal(reopened.logStartOffset, 100);
    assert.deepEqual(offsetsIn(reopened), [100]);
    assert.equal(reopened.epochForOffset(100), 3);
    await reopened.close();
  });
});
