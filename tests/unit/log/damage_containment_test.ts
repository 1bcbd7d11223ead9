/**
 * Corruption is contained, not spread: a bad batch in a closed segment costs that batch alone. The valid batches
 * after it, in its segment and in the later ones, stay with their offsets; the gap is reported and recorded;
 * reads positioned in the gap get the next batch, as in a compacted log. And recovery of an idle partition costs
 * no fsync.
 */
import assert from "node:assert/strict";
import { DenoFileSystem } from "../../../log/file_system.ts";
import { FaultyFileSystem } from "../../../log/faulty_file_system.ts";
import { PartitionLog } from "../../../log/partition_log.ts";
import { BatchOffsets } from "../../../protocol/record_batch_header.ts";
import { buildBatch, listBatches } from "./batch_fixture.ts";

// A "crash" drops the log object without close(), as a killed process does.
const crashTest = (name: string, fn: () => Promise<void>) => Deno.test({ name, sanitizeResources: false, fn });

const config = { "segment.bytes": 3_000, "index.interval.bytes": 300 };
const RECORDS_PER_BATCH = 10;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "samsa-damage-" });
  try {
    await fn(`${root}/topic-0`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Every batch of the log, read as a consumer reads: from the log start, each read from the offset after the last. */
function readAll(log: PartitionLog) {
  const out = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const found = listBatches(log.read(offset, 100_000, { upTo: log.logEndOffset }).records);
    if (found.length === 0) break;
    out.push(...found);
    offset = found[found.length - 1].lastOffset + 1;
  }
  return out;
}

const segmentPath = (dir: string, base: number) => `${dir}/${String(base).padStart(20, "0")}.log`;

/** A log of 100 batches of 10 records over several segments, flushed, then "crashed" without its checkpoint. */
async function crashedLog(dir: string) {
  const log = await PartitionLog.open(dir, { config });
  for (let i = 0; i < 100; i++) {
    log.append(buildBatch({ records: RECORDS_PER_BATCH, payloadBytes: 100, timestamp: 1_000 + i, fill: i }));
  }
  await log.flush();
  const batches = readAll(log);
  const segments = log.segmentBaseOffsets();
  // As if the crash came before the recovery point was ever checkpointed: recovery checks every batch.
  Deno.removeSync(`${dir}/recovery-point-offset-checkpoint`);
  return { batches, segments, end: log.logEndOffset };
}

/** Byte position of the batch at `baseOffset` in the segment at `segmentBase`. */
function positionOf(batches: ReturnType<typeof readAll>, segmentBase: number, baseOffset: number): number {
  return batches.filter((b) => b.baseOffset >= segmentBase && b.baseOffset < baseOffset).reduce(
    (n, b) => n + b.size,
    0,
  );
}

crashTest("a flipped byte in the first of several closed segments loses only the damaged batch", async () => {
  await withDir(async (dir) => {
    const { batches, segments, end } = await crashedLog(dir);
    assert.ok(segments.length >= 5, `${segments.length} segments`);
    const inFirst = batches.filter((b) => b.lastOffset < segments[1]);
    const victim = inFirst[Math.floor(inFirst.length / 2)];
    const position = positionOf(batches, 0, victim.baseOffset);
    const bytes = Deno.readFileSync(segmentPath(dir, 0));
    bytes[position + 70] ^= 0x01; // one bit inside the records: the CRC no longer matches
    Deno.writeFileSync(segmentPath(dir, 0), bytes);
    const events: Record<string, unknown>[] = [];

    const reopened = await PartitionLog.open(dir, { config, onEvent: (e) => events.push(e) });
    const survivors = readAll(reopened);
    assert.deepEqual(survivors, batches.filter((b) => b !== victim), "every other batch, offsets unchanged");
    assert.equal(reopened.logEndOffset, end);
    assert.deepEqual(reopened.segmentBaseOffsets(), segments, "no segment was deleted");
    assert.equal(reopened.recovery.truncation, null);
    const gap = {
      segmentBaseOffset: 0,
      position,
      bytes: victim.size,
      firstOffset: victim.baseOffset,
      nextValidOffset: victim.lastOffset + 1,
      reason: "bad_crc",
    };
    assert.deepEqual(reopened.recovery.damaged, [gap]);
    const logged = events.find((e) => e.event === "log_damage_contained");
    assert.equal(logged?.level, "error", "the damage is logged as an error");
    assert.match(String(logged?.message), new RegExp(`offsets ${victim.baseOffset}\\.\\.${victim.lastOffset}`));
    // The damaged bytes are kept for inspection, the segment lost exactly them.
    assert.equal(Deno.statSync(`${dir}/00000000000000000000.damaged`).size, victim.size);
    assert.equal(Deno.statSync(segmentPath(dir, 0)).size, bytes.length - victim.size);

    // A read positioned in the gap gets the next batch, as a fetch in a compacted log does.
    const next = listBatches(reopened.read(victim.baseOffset + 3, 1, { upTo: reopened.logEndOffset }).records);
    assert.equal(next[0].baseOffset, victim.lastOffset + 1);
    reopened.append(buildBatch());
    await reopened.close();

    // The gap stays on record after a clean restart, and nothing more is lost.
    const later: Record<string, unknown>[] = [];
    const again = await PartitionLog.open(dir, { config, onEvent: (e) => later.push(e) });
    assert.equal(again.recovery.clean, true);
    assert.deepEqual(again.damagedRanges(), [gap]);
    assert.equal(later.find((e) => e.event === "log_has_damaged_ranges")?.offsetsLost, RECORDS_PER_BATCH);
    assert.equal(readAll(again).length, batches.length);
    await again.close();
  });
});

crashTest("a damaged batch length in a closed segment is skipped by finding the next valid batch", async () => {
  await withDir(async (dir) => {
    const { batches, segments } = await crashedLog(dir);
    const inFirst = batches.filter((b) => b.lastOffset < segments[1]);
    const victim = inFirst[2];
    const position = positionOf(batches, 0, victim.baseOffset);
    const bytes = Deno.readFileSync(segmentPath(dir, 0));
    new DataView(bytes.buffer).setInt32(position + BatchOffsets.batchLength, 0x00ffffff); // points far away
    Deno.writeFileSync(segmentPath(dir, 0), bytes);

    const reopened = await PartitionLog.open(dir, { config });
    assert.deepEqual(readAll(reopened), batches.filter((b) => b !== victim));
    assert.equal(reopened.recovery.damaged.length, 1);
    assert.equal(reopened.recovery.damaged[0].reason, "truncated_batch");
    assert.equal(reopened.recovery.damaged[0].nextValidOffset, victim.lastOffset + 1);
    await reopened.close();
  });
});

crashTest("a damaged last batch of a closed segment leaves a gap up to the next segment", async () => {
  await withDir(async (dir) => {
    const { batches, segments } = await crashedLog(dir);
    const inSecond = batches.filter((b) => b.baseOffset >= segments[1] && b.lastOffset < segments[2]);
    const victim = inSecond[inSecond.length - 1];
    const path = segmentPath(dir, segments[1]);
    const bytes = Deno.readFileSync(path);
    bytes[bytes.length - 1] ^= 0xff;
    Deno.writeFileSync(path, bytes);

    const reopened = await PartitionLog.open(dir, { config });
    assert.deepEqual(readAll(reopened), batches.filter((b) => b !== victim));
    assert.deepEqual(reopened.recovery.damaged.map((d) => [d.firstOffset, d.nextValidOffset]), [[
      victim.baseOffset,
      segments[2],
    ]]);
    await reopened.close();
  });
});

crashTest("damage in the active segment still cuts the tail there (a torn or corrupt write)", async () => {
  await withDir(async (dir) => {
    const { batches, segments } = await crashedLog(dir);
    const active = segments[segments.length - 1];
    const inActive = batches.filter((b) => b.baseOffset >= active);
    const victim = inActive[0];
    const bytes = Deno.readFileSync(segmentPath(dir, active));
    bytes[70] ^= 0x01;
    Deno.writeFileSync(segmentPath(dir, active), bytes);

    const reopened = await PartitionLog.open(dir, { config });
    assert.equal(reopened.logEndOffset, victim.baseOffset);
    assert.equal(reopened.recovery.truncation?.reason, "bad_crc");
    assert.deepEqual(reopened.recovery.damaged, []);
    await reopened.close();
  });
});

crashTest("an idle partition whose recovery point is current reopens after a crash with no fsync", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config });
    for (let i = 0; i < 30; i++) log.append(buildBatch({ payloadBytes: 100 }));
    await log.flush();
    log.checkpointRecoveryPoint(); // what the broker does now and then for idle partitions
    const fs = new FaultyFileSystem(new DenoFileSystem());
    const reopened = await PartitionLog.open(dir, { config, fs });
    assert.equal(reopened.recovery.clean, false);
    assert.equal(reopened.recovery.scannedSegments, 1);
    assert.equal(fs.count("sync"), 0, "no fdatasync");
    assert.equal(fs.count("syncDir"), 0, "no directory fsync");
    assert.equal(reopened.logEndOffset, 30);
    assert.equal(readAll(reopened).length, 30);
    await reopened.close();
  });
});
