import assert from "node:assert/strict";
import { DenoFileSystem } from "../../../log/file_system.ts";
import { FaultyFileSystem } from "../../../log/faulty_file_system.ts";
import { LogError } from "../../../log/log_error.ts";
import { PartitionLog } from "../../../log/partition_log.ts";
import { buildBatch, concatBatches, listBatches, ManualClock } from "./batch_fixture.ts";
import { Writer } from "../../../protocol/wire/writer.ts";
import { fillerOf } from "../../../protocol/wire/deferred_bytes.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "samsa-log-" });
  try {
    await fn(`${dir}/topic-0`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Reads everything from `from` to the end, batch by batch, with reads of `maxBytes`. */
function readAll(log: PartitionLog, from: number, maxBytes: number, upTo = log.logEndOffset) {
  const batches = [];
  let offset = from;
  while (offset < upTo) {
    const { records } = log.read(offset, maxBytes, { upTo });
    assert.ok(records.length > 0, `read at ${offset} returned nothing`);
    const found = listBatches(records);
    batches.push(...found);
    offset = found[found.length - 1].lastOffset + 1;
  }
  return batches;
}

Deno.test("append assigns contiguous offsets and stamps them into the batches", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir);
    const input = concatBatches([buildBatch({ records: 3 }), buildBatch({ records: 1 }), buildBatch({ records: 5 })]);
    const first = log.append(input);
    assert.deepEqual([first.baseOffset, first.lastOffset], [0, 8]);
    assert.deepEqual(listBatches(input).map((b) => [b.baseOffset, b.lastOffset]), [[0, 2], [3, 3], [4, 8]]);
    const second = log.append(buildBatch({ records: 2 }));
    assert.deepEqual([second.baseOffset, second.lastOffset], [9, 10]);
    assert.equal(log.logEndOffset, 11);
    await log.close();
  });
});

Deno.test("batches round-trip byte for byte across many segment rolls", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: { "segment.bytes": 2_000, "index.interval.bytes": 200 } });
    const written: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      const batch = buildBatch({ records: 1 + (i % 4), payloadBytes: 20 + (i * 37) % 300, fill: i % 251 });
      log.append(batch);
      written.push(batch);
    }
    await log.flush();
    assert.ok(log.segmentBaseOffsets().length > 20, `only ${log.segmentBaseOffsets().length} segments`);
    let offset = 0;
    let i = 0;
    while (offset < log.logEndOffset) {
      const { records } = log.read(offset, 1_000);
      for (const b of listBatches(records)) {
        assert.deepEqual(records.subarray(0, 0), new Uint8Array(0));
        offset = b.lastOffset + 1;
      }
      let pos = 0;
      while (pos < records.length) {
        assert.deepEqual(records.subarray(pos, pos + written[i].length), written[i]);
        pos += written[i].length;
        i++;
      }
    }
    assert.equal(i, 300);
    await log.close();
    const reopened = await PartitionLog.open(dir, { config: { "segment.bytes": 2_000, "index.interval.bytes": 200 } });
    assert.equal(reopened.recovery.clean, true);
    assert.equal(readAll(reopened, 0, 700).length, 300);
    await reopened.close();
  });
});

Deno.test("read returns whole batches only, and at least one batch even when larger than maxBytes", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir);
    for (let i = 0; i < 10; i++) log.append(buildBatch({ records: 2, payloadBytes: 100 })); // 161 bytes each
    await log.flush();
    const { records } = log.read(0, 400);
    assert.equal(listBatches(records).length, 2);
    assert.equal(log.read(4, 50).records.length, 161);
    assert.equal(listBatches(log.read(5, 50).records)[0].baseOffset, 4, "starts at the batch holding the offset");
    assert.equal(log.read(4, 50, { minOneBatch: false }).records.length, 0);
    await log.close();
  });
});

Deno.test("read stops at the durable end unless upTo says otherwise, and refuses offsets outside the log", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir);
    log.append(buildBatch());
    await log.flush();
    log.append(buildBatch());
    assert.equal(listBatches(log.read(0, 10_000).records).length, 1);
    assert.equal(listBatches(log.read(0, 10_000, { upTo: 2 }).records).length, 2);
    assert.equal(log.read(2, 10_000).records.length, 0, "reading at the log end is empty, not an error");
    assert.throws(() => log.read(3, 100), (e) => e instanceof LogError && e.kind === "offset_out_of_range");
    await log.close();
  });
});

Deno.test("offsetForTimestamp finds the first batch whose max timestamp reaches the target", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: { "segment.bytes": 1_000, "index.interval.bytes": 100 } });
    const stamps = [100, 300, 200, 400, 400, 900, 500, 1_000];
    for (const ts of stamps) log.append(buildBatch({ timestamp: ts, records: 2, payloadBytes: 90 }));
    await log.flush();
    const expect = (target: number) => {
      const i = stamps.findIndex((ts) => ts >= target);
      return i < 0 ? null : { timestamp: stamps[i], offset: i * 2 };
    };
    for (const target of [0, 100, 101, 250, 300, 301, 400, 401, 600, 900, 950, 1_000, 1_001]) {
      assert.deepEqual(log.offsetForTimestamp(target), expect(target), `target ${target}`);
    }
    assert.deepEqual(log.maxTimestamp(), { timestamp: 1_000, offset: 14 });
    await log.close();
    const reopened = await PartitionLog.open(dir, { config: { "segment.bytes": 1_000, "index.interval.bytes": 100 } });
    for (const target of [0, 250, 401, 950]) assert.deepEqual(reopened.offsetForTimestamp(target), expect(target));
    assert.deepEqual(reopened.maxTimestamp(), { timestamp: 1_000, offset: 14 });
    await reopened.close();
  });
});

Deno.test("group commit: concurrent flush callers share fsyncs and resolve only once their data is durable", async () => {
  await withDir(async (dir) => {
    const fs = new FaultyFileSystem(new DenoFileSystem());
    const log = await PartitionLog.open(dir, { fs });
    // Track what the disk really holds: the log end when an fsync starts is what it covers once it returns.
    let coveredBySyncInFlight = 0;
    let durableOnDisk = 0;
    fs.beforeSync = async () => {
      coveredBySyncInFlight = log.logEndOffset;
      await new Promise((r) => setTimeout(r, 5)); // a slow disk, so appends pile up behind each fsync
    };
    fs.afterSync = () => {
      durableOnDisk = coveredBySyncInFlight;
    };
    fs.resetCounts();
    const writers = 50;
    const perWriter = 10;
    let flushes = 0;
    await Promise.all(Array.from({ length: writers }, async () => {
      for (let i = 0; i < perWriter; i++) {
        const { lastOffset } = log.append(buildBatch());
        const durable = await log.flush();
        flushes++;
        assert.ok(durable > lastOffset, "resolves with a durable offset past its data");
        assert.ok(durableOnDisk > lastOffset, `offset ${lastOffset} acknowledged before an fsync covered it`);
      }
    }));
    assert.equal(flushes, writers * perWriter);
    assert.ok(fs.count("sync") < flushes / 10, `${fs.count("sync")} fsyncs for ${flushes} flushes`);
    assert.equal(log.flushedOffset, writers * perWriter);
    await log.close();
  });
});

Deno.test("waitForDurable resolves at once for durable offsets and after an fsync otherwise", async () => {
  await withDir(async (dir) => {
    const fs = new FaultyFileSystem(new DenoFileSystem());
    const log = await PartitionLog.open(dir, { fs });
    log.append(buildBatch({ records: 3 }));
    fs.resetCounts();
    assert.equal(await log.waitForDurable(2), 3);
    assert.equal(fs.count("sync"), 1);
    assert.equal(await log.waitForDurable(3), 3);
    assert.equal(fs.count("sync"), 1);
    await assert.rejects(log.waitForDurable(9), (e) => e instanceof LogError && e.kind === "invalid_argument");
    await log.close();
  });
});

Deno.test("flush.messages starts fsyncs without the caller asking", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: { "flush.messages": 5 } });
    for (let i = 0; i < 5; i++) log.append(buildBatch());
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(log.flushedOffset, 5);
    await log.close();
  });
});

Deno.test("an append larger than segment.bytes is refused as record_too_large", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: { "segment.bytes": 500 } });
    assert.throws(
      () => log.append(buildBatch({ payloadBytes: 600 })),
      (e) => e instanceof LogError && e.kind === "record_too_large",
    );
    assert.throws(() => log.append(buildBatch().subarray(0, 50)), (e) => e instanceof LogError && e.kind === "corrupt");
    log.append(buildBatch());
    await log.close();
  });
});

Deno.test("segment.ms rolls the active segment by the injected clock", async () => {
  await withDir(async (dir) => {
    const clock = new ManualClock();
    const log = await PartitionLog.open(dir, { clock, config: { "segment.ms": 1_000 } });
    log.append(buildBatch());
    clock.nowMs += 999;
    log.append(buildBatch());
    assert.deepEqual(log.segmentBaseOffsets(), [0]);
    clock.nowMs += 1;
    log.append(buildBatch());
    assert.deepEqual(log.segmentBaseOffsets(), [0, 2]);
    await log.close();
  });
});

Deno.test("segment files are named by base offset in 20 digits", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: { "segment.bytes": 100 } });
    log.append(buildBatch({ payloadBytes: 30 }));
    log.append(buildBatch({ payloadBytes: 30 }));
    await log.close();
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /^\d/.test(n)).sort();
    assert.deepEqual(names, [
      "00000000000000000000.index",
      "00000000000000000000.log",
      "00000000000000000000.timeindex",
      "00000000000000000001.index",
      "00000000000000000001.log",
      "00000000000000000001.timeindex",
    ]);
  });
});

Deno.test("flush.ms starts an fsync on append once the last one is old enough", async () => {
  await withDir(async (dir) => {
    const clock = new ManualClock();
    const log = await PartitionLog.open(dir, { clock, config: { "flush.ms": 100 } });
    log.append(buildBatch());
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(log.flushedOffset, 0);
    clock.nowMs += 100;
    log.append(buildBatch());
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(log.flushedOffset, 2);
    await log.close();
  });
});

Deno.test("a read bounded by upTo inside a batch stops before that batch", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir);
    log.append(buildBatch({ records: 3 }));
    log.append(buildBatch({ records: 3 }));
    await log.flush();
    assert.deepEqual(listBatches(log.read(0, 10_000, { upTo: 4 }).records).map((b) => b.baseOffset), [0]);
    assert.equal(log.read(3, 10_000, { upTo: 4 }).records.length, 0);
    await log.close();
  });
});

Deno.test("truncateTo lets pending flushes finish first, then cuts", async () => {
  await withDir(async (dir) => {
    const fs = new FaultyFileSystem(new DenoFileSystem());
    const log = await PartitionLog.open(dir, { fs });
    log.append(buildBatch());
    await log.flush();
    let release!: () => void;
    fs.beforeSync = () => new Promise<void>((r) => (release = r));
    log.append(buildBatch());
    const first = log.flush(); // its fsync hangs until released
    await new Promise((r) => setTimeout(r, 10));
    log.append(buildBatch());
    const second = log.flush(); // waits for the next round
    const truncated = log.truncateTo(1);
    fs.beforeSync = null;
    release();
    assert.equal(await first, 2);
    await truncated;
    assert.equal(await second, 3, "the caller waiting when truncateTo was called got its fsync");
    assert.equal(log.logEndOffset, 1);
    assert.equal(log.flushedOffset, 1);
    await log.close();
  });
});

/** What a deferred read puts on the wire: the placeholder's bytes as the encoder fills them in. */
function encoded(records: Uint8Array): Uint8Array {
  const w = new Writer();
  w.raw(records);
  return w.finish();
}

Deno.test("deferred reads carry the same whole batches as eager reads, ending on indexed batch starts", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: { "segment.bytes": 400_000, "index.interval.bytes": 4096 } });
    for (let i = 0; i < 400; i++) {
      log.append(buildBatch({ records: 1 + (i % 3), payloadBytes: 500 + (i * 131) % 3000, fill: i % 251 }));
    }
    await log.flush();
    let offset = 0;
    let deferredReads = 0;
    while (offset < log.logEndOffset) {
      const eager = log.read(offset, 50_000).records;
      const deferred = log.read(offset, 50_000, { deferred: true }).records;
      if (fillerOf(deferred)) deferredReads++;
      const bytes = encoded(deferred);
      // Whole batches, the same ones an eager read starts with (it may end up to an index interval sooner).
      const batches = listBatches(bytes);
      assert.ok(batches.length > 0);
      assert.ok(bytes.length <= eager.length && eager.length - bytes.length <= 4096 + 3_600);
      assert.deepEqual(bytes, eager.subarray(0, bytes.length));
      offset = batches[batches.length - 1].lastOffset + 1;
    }
    assert.ok(deferredReads > 10, `only ${deferredReads} deferred reads`);
    // A small read is made at once: its bytes are real.
    const small = log.read(0, 10_000, { deferred: true }).records;
    assert.equal(fillerOf(small), undefined);
    assert.deepEqual(small, log.read(0, 10_000).records);
    await log.close();
  });
});

Deno.test("a deferred read whose segment is gone by encoding time fails instead of sending other bytes", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir);
    for (let i = 0; i < 20; i++) log.append(buildBatch({ records: 2, payloadBytes: 4000 }));
    await log.flush();
    const { records } = log.read(0, 1_000_000, { deferred: true });
    assert.ok(fillerOf(records));
    await log.close();
    assert.throws(() => encoded(records));
  });
});
