import assert from "node:assert/strict";
import { DenoFileSystem } from "../../../log/file_system.ts";
import { FaultyFileSystem } from "../../../log/faulty_file_system.ts";
import { PartitionLog } from "../../../log/partition_log.ts";
import { seededRandom } from "../../../raft/prng.ts";
import { buildBatch, listBatches } from "./batch_fixture.ts";

// A "crash" drops the log object without close(): its file handles stay open, as in a killed process whose
// page cache survives, so these tests turn off the resource sanitizer.
const crashTest = (name: string, fn: () => Promise<void>) => Deno.test({ name, sanitizeResources: false, fn });

/**
 * The randomized rounds draw from a seeded generator, so a failure names a seed that replays it exactly;
 * SAMSA_TEST_SEED shifts every seed to explore other cases.
 */
const SEED_BASE = Number(Deno.env.get("SAMSA_TEST_SEED") ?? "0");

async function seededRound(round: number, fn: (random: () => number) => Promise<void>): Promise<void> {
  const seed = SEED_BASE + round;
  try {
    await fn(seededRandom(seed));
  } catch (e) {
    if (e instanceof Error) e.message = `seed ${seed} (SAMSA_TEST_SEED=${SEED_BASE}, round ${round}): ${e.message}`;
    throw e;
  }
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "samsa-recovery-" });
  try {
    await fn(`${dir}/topic-0`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function readAllBatches(log: PartitionLog) {
  const out = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const found = listBatches(log.read(offset, 100_000, { upTo: log.logEndOffset }).records);
    out.push(...found);
    offset = found[found.length - 1].lastOffset + 1;
  }
  return out;
}

function lastSegmentPath(dir: string): string {
  const logs = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".log")).sort();
  return `${dir}/${logs[logs.length - 1]}`;
}

const config = { "segment.bytes": 3_000, "index.interval.bytes": 300 };

crashTest("after a crash every flushed batch survives and the torn tail is cut (random cut points)", async () => {
  for (let round = 0; round < 15; round++) {
    await seededRound(round, (random) =>
      withDir(async (dir) => {
        const log = await PartitionLog.open(dir, { config });
        const sizes: number[] = [];
        const flushedCount = 20 + Math.floor(random() * 40);
        for (let i = 0; i < flushedCount; i++) {
          const b = buildBatch({ records: 1 + (i % 3), payloadBytes: 50 + (i * 13) % 200, timestamp: 1_000 + i });
          log.append(b);
          sizes.push(b.length);
        }
        await log.flush();
        const flushedEnd = log.flushedOffset;
        for (let i = 0; i < 10; i++) log.append(buildBatch({ payloadBytes: 100 })); // not flushed
        // Lose unflushed bytes: cut the last segment somewhere past the flushed end.
        const path = lastSegmentPath(dir);
        const segmentBase = Number(path.slice(-24, -4));
        const flushedBytesInSegment = flushedEnd <= segmentBase ? 0 : durableBytesIn(log, segmentBase, flushedEnd);
        const size = Deno.statSync(path).size;
        const cut = flushedBytesInSegment + Math.floor(random() * (size - flushedBytesInSegment + 1));
        Deno.truncateSync(path, cut);

        const reopened = await PartitionLog.open(dir, { config });
        assert.equal(reopened.recovery.clean, false);
        assert.ok(reopened.logEndOffset >= flushedEnd, `end ${reopened.logEndOffset} < flushed ${flushedEnd}`);
        const batches = readAllBatches(reopened);
        assert.equal(batches[batches.length - 1].lastOffset + 1, reopened.logEndOffset);
        for (let i = 1; i < batches.length; i++) assert.equal(batches[i].baseOffset, batches[i - 1].lastOffset + 1);
        if (reopened.recovery.truncation) {
          assert.equal(reopened.recovery.truncation.firstOffsetCut, reopened.logEndOffset);
          assert.ok(reopened.recovery.truncation.bytesCut > 0);
        }
        assert.equal(reopened.flushedOffset, reopened.logEndOffset, "recovered data is made durable");
        reopened.append(buildBatch());
        await reopened.close();
      }));
  }
});

/** Bytes of the batches of the segment at `segmentBase` below `end`. */
function durableBytesIn(log: PartitionLog, segmentBase: number, end: number): number {
  let bytes = 0;
  let offset = segmentBase;
  while (offset < end) {
    const found = listBatches(log.read(offset, 1, { upTo: end }).records);
    bytes += found[0].size;
    offset = found[0].lastOffset + 1;
  }
  return bytes;
}

crashTest("a corrupt last batch is cut on recovery and reported", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config });
    for (let i = 0; i < 5; i++) log.append(buildBatch({ records: 2, payloadBytes: 40 }));
    await log.flush();
    const path = lastSegmentPath(dir);
    const bytes = Deno.readFileSync(path);
    bytes[bytes.length - 5] ^= 0xff; // inside the last batch's records: its CRC no longer matches
    Deno.writeFileSync(path, bytes);

    const reopened = await PartitionLog.open(dir, { config });
    assert.deepEqual(reopened.recovery.truncation, {
      segmentBaseOffset: 0,
      position: 4 * 101,
      bytesCut: 101,
      segmentsDeleted: [],
      segmentsDeletedBytes: 0,
      firstOffsetCut: 8,
      reason: "bad_crc",
    });
    assert.equal(reopened.logEndOffset, 8);
    assert.equal(readAllBatches(reopened).length, 4);
    assert.equal(reopened.append(buildBatch()).baseOffset, 8);
    await reopened.close();
  });
});

crashTest("garbage after the last batch (a torn header) is cut", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config });
    for (let i = 0; i < 3; i++) log.append(buildBatch());
    await log.flush();
    Deno.writeFileSync(lastSegmentPath(dir), new Uint8Array([0, 0, 0, 0, 0, 0, 0, 9, 0, 0]), { append: true });
    const reopened = await PartitionLog.open(dir, { config });
    assert.equal(reopened.recovery.truncation?.reason, "truncated_header");
    assert.equal(reopened.recovery.truncation?.bytesCut, 10);
    assert.equal(reopened.logEndOffset, 3);
    await reopened.close();
  });
});

crashTest("a batch with a wrong magic byte or a backwards offset stops the scan there", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config });
    for (let i = 0; i < 3; i++) log.append(buildBatch());
    await log.flush();
    const again = buildBatch(); // base offset 0: goes backwards
    Deno.writeFileSync(lastSegmentPath(dir), again, { append: true });
    const reopened = await PartitionLog.open(dir, { config });
    assert.equal(reopened.recovery.truncation?.reason, "bad_offset");
    assert.equal(reopened.logEndOffset, 3);
    await reopened.close();
  });
});

crashTest("recovery scans from the recovery point, not from the first segment", async () => {
  await withDir(async (dir) => {
    const fs = new FaultyFileSystem(new DenoFileSystem());
    const log = await PartitionLog.open(dir, { config, fs });
    for (let i = 0; i < 100; i++) {
      log.append(buildBatch({ payloadBytes: 100 }));
      await log.flush(); // the recovery point is checkpointed each time the durable end enters a new segment
    }
    const segments = log.segmentBaseOffsets();
    assert.ok(segments.length >= 5);
    fs.resetCounts();
    const reopened = await PartitionLog.open(dir, { config, fs });
    assert.equal(reopened.recovery.clean, false);
    assert.equal(reopened.recovery.scannedSegments, 1);
    for (const base of segments.slice(0, -1)) {
      assert.equal(fs.readsByPath.get(`${dir}/${String(base).padStart(20, "0")}.log`), undefined);
    }
    assert.equal(reopened.logEndOffset, 100);
    assert.equal(readAllBatches(reopened).length, 100);
    await reopened.close();
  });
});

crashTest("lost index files are rebuilt from the segment", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config });
    for (let i = 0; i < 60; i++) log.append(buildBatch({ payloadBytes: 100, timestamp: i }));
    await log.close();
    for (const name of [...Deno.readDirSync(dir)].map((e) => e.name)) {
      if (name.endsWith(".index") || name.endsWith(".timeindex")) Deno.removeSync(`${dir}/${name}`);
    }
    const reopened = await PartitionLog.open(dir, { config });
    assert.equal(reopened.logEndOffset, 60);
    assert.equal(readAllBatches(reopened).length, 60);
    assert.deepEqual(reopened.offsetForTimestamp(42), { timestamp: 42, offset: 42 });
    await reopened.close();
  });
});

crashTest("leader epochs of unflushed batches are rebuilt from the batch headers after a crash", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config });
    log.append(buildBatch({ records: 5 }), { leaderEpoch: 1 });
    await log.flush();
    log.append(buildBatch({ records: 5 }), { leaderEpoch: 4 }); // never flushed, epoch never checkpointed
    const reopened = await PartitionLog.open(dir, { config });
    assert.equal(reopened.epochForOffset(7), 4);
    assert.deepEqual(reopened.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 5 });
    await reopened.close();
  });
});

crashTest("a crash losing unflushed segments, bytes and index entries keeps every flushed batch", async () => {
  for (let round = 0; round < 20; round++) {
    await seededRound(round, (random) =>
      withDir(async (dir) => {
        const log = await PartitionLog.open(dir, { config });
        const appendSome = (n: number) => {
          for (let i = 0; i < n; i++) {
            log.append(buildBatch({ records: 1 + (i % 3), payloadBytes: 30 + Math.floor(random() * 250) }));
          }
        };
        appendSome(10 + Math.floor(random() * 40));
        await log.flush();
        const flushedEnd = log.flushedOffset;
        const flushedBatches = readAllBatches(log).filter((b) => b.lastOffset < flushedEnd);
        appendSome(Math.floor(random() * 60));
        const segments = log.segmentBaseOffsets();
        const flushedSegment = segments.filter((b) => b <= flushedEnd).pop()!;
        const name = (base: number, ext: string) => `${dir}/${String(base).padStart(20, "0")}.${ext}`;
        // Lose a random suffix of what was not flushed: whole later segments, then part of one.
        const later = segments.filter((b) => b > flushedSegment);
        const keep = Math.floor(random() * (later.length + 1));
        for (const base of later.slice(keep)) {
          for (const ext of ["log", "index", "timeindex"]) if (random() < 0.8) Deno.removeSync(name(base, ext));
        }
        const cutSegment = keep > 0 ? later[keep - 1] : flushedSegment;
        const floor = cutSegment === flushedSegment ? durableBytesIn(log, flushedSegment, flushedEnd) : 0;
        const size = Deno.statSync(name(cutSegment, "log")).size;
        Deno.truncateSync(name(cutSegment, "log"), floor + Math.floor(random() * (size - floor + 1)));
        // Unflushed index entries may be lost too.
        for (const base of [flushedSegment, ...later.slice(0, keep)]) {
          for (const ext of ["index", "timeindex"]) {
            const path = name(base, ext);
            if (random() < 0.5) Deno.truncateSync(path, Math.floor(random() * (Deno.statSync(path).size + 1)));
          }
        }

        const reopened = await PartitionLog.open(dir, { config });
        const batches = readAllBatches(reopened);
        assert.deepEqual(batches.slice(0, flushedBatches.length), flushedBatches, "every flushed batch survives");
        for (let i = 1; i < batches.length; i++) assert.equal(batches[i].baseOffset, batches[i - 1].lastOffset + 1);
        assert.equal(reopened.logEndOffset, batches.length ? batches[batches.length - 1].lastOffset + 1 : 0);
        for (const b of batches) {
          const found = listBatches(reopened.read(b.lastOffset, 1).records);
          assert.equal(found[0].baseOffset, b.baseOffset, "every offset finds its batch through the rebuilt indexes");
        }
        await reopened.close();
      }));
  }
});
