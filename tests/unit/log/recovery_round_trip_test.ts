/**
 * Recovery round trips: a damaged segment tail (a torn last batch, garbage appended, a zero-filled tail) is cut
 * by recovery, the log takes new batches after it, and after another restart — clean, killed (the page cache
 * survives) or a power loss — every batch reads back byte for byte and every segment file has exactly the size
 * of its batches. A recovery that leaves the damage in place puts the new batches after it, where the next
 * recovery cuts them: acknowledged, then lost.
 */
import assert from "node:assert/strict";
import { PartitionLog } from "../../../log/partition_log.ts";
import { PowerLossFileSystem } from "../../../log/power_loss_file_system.ts";
import { parseSegmentLogName, segmentFileName } from "../../../log/segment.ts";
import { stampBaseOffset } from "../../../protocol/record_batch_header.ts";
import { buildBatch } from "./batch_fixture.ts";
import { readWholeLog } from "./whole_log.ts";

const DIR = "/data/events-0";
const CONFIG = { "segment.bytes": 2000, "index.interval.bytes": 150 };

type Damage = "a torn last batch" | "appended garbage" | "a zero-filled tail";
type Restart = "clean" | "killed" | "power loss";

/** The bytes a damage of the active segment's tail appends. */
function damageBytes(damage: Damage, nextOffset: number): Uint8Array {
  switch (damage) {
    case "a torn last batch": {
      const batch = buildBatch({ records: 3, payloadBytes: 120, fill: 0xee });
      stampBaseOffset(batch, BigInt(nextOffset));
      return batch.subarray(0, 90); // the header and part of the records reached the disk
    }
    case "appended garbage":
      return Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 0xff);
    case "a zero-filled tail":
      return new Uint8Array(4096); // the size reached the disk, the data did not
  }
}

/** Ends the log's process as `restart` says; returns the file system of the next one. */
async function stop(log: PartitionLog, fs: PowerLossFileSystem, restart: Restart): Promise<PowerLossFileSystem> {
  if (restart === "clean") {
    await log.close();
    return fs;
  }
  return fs.crash({ unsyncedWrites: restart === "killed" ? "kept" : "lost", unsyncedDirOps: "undone" });
}

/** Each segment file's size equals the bytes of the batches the log reads back from it. */
function assertFileSizes(fs: PowerLossFileSystem, log: PartitionLog, batches: Map<number, Uint8Array>): void {
  const bases = log.segmentBaseOffsets();
  for (let i = 0; i < bases.length; i++) {
    const end = i + 1 < bases.length ? bases[i + 1] : Infinity;
    let expected = 0;
    for (const [offset, bytes] of batches) if (offset >= bases[i] && offset < end) expected += bytes.length;
    assert.equal(fs.stat(`${DIR}/${segmentFileName(bases[i], "log")}`)?.size, expected, `segment ${bases[i]} size`);
  }
  assert.equal(log.sizeInBytes(), [...batches.values()].reduce((n, b) => n + b.length, 0));
}

for (const damage of ["a torn last batch", "appended garbage", "a zero-filled tail"] as const) {
  for (const restart of ["clean", "killed", "power loss"] as const) {
    Deno.test(`${damage} is cut, appends after recovery survive a ${restart} restart byte for byte`, async () => {
      let fs = new PowerLossFileSystem();
      fs.mkdir("/data");
      const expected = new Map<number, Uint8Array>();
      let fill = 1;
      const appendSome = async (log: PartitionLog, count: number) => {
        for (let i = 0; i < count; i++) {
          const batch = buildBatch({ records: 1 + (i % 3), payloadBytes: 60 + (i * 37) % 200, fill: fill++ });
          const { baseOffset } = log.append(batch);
          expected.set(baseOffset, batch.slice());
        }
        await log.flush();
      };

      // A log of several segments, acknowledged (flushed), then killed.
      let log = await PartitionLog.open(DIR, { fs, config: CONFIG });
      await appendSome(log, 25);
      const endBefore = log.logEndOffset;
      assert.ok(log.segmentBaseOffsets().length >= 3, "several segments");
      const active = `${DIR}/${segmentFileName(log.segmentBaseOffsets().at(-1)!, "log")}`;
      fs = fs.crash({ unsyncedWrites: "kept", unsyncedDirOps: "kept" });

      // The damage reaches the disk.
      const sizeBefore = fs.stat(active)!.size;
      const bad = damageBytes(damage, endBefore);
      const file = fs.open(active);
      file.append(bad);
      await file.syncData();
      file.close();

      log = await PartitionLog.open(DIR, { fs, config: CONFIG });
      assert.equal(log.recovery.clean, false);
      assert.ok(log.recovery.truncation, "recovery reports a cut");
      assert.equal(log.recovery.truncation.bytesCut, bad.length);
      assert.equal(log.recovery.truncation.firstOffsetCut, endBefore);
      assert.equal(log.logEndOffset, endBefore);
      assert.equal(fs.stat(active)!.size, sizeBefore, "the damage is gone from the file");
      assert.deepEqual(readWholeLog(log, "recovered"), expected);

      // New batches after the cut, acknowledged; then the restart under test.
      await appendSome(log, 12);
      fs = await stop(log, fs, restart);
      log = await PartitionLog.open(DIR, { fs, config: CONFIG });
      if (restart === "clean") {
        assert.equal(log.recovery.clean, true, "a clean stop needs no scan");
        assert.equal(log.recovery.scannedBytes, 0);
      } else {
        assert.equal(log.recovery.clean, false, "an unclean stop is never trusted as clean");
        assert.equal(log.recovery.truncation, null, "nothing acknowledged is cut");
      }
      assert.deepEqual(readWholeLog(log, `after the ${restart} restart`), expected);
      assertFileSizes(fs, log, expected);

      // And once more, to be sure the second life's log is a sound base for a third.
      await appendSome(log, 3);
      fs = fs.crash({ unsyncedWrites: "lost", unsyncedDirOps: "undone" });
      log = await PartitionLog.open(DIR, { fs, config: CONFIG });
      assert.deepEqual(readWholeLog(log, "third life"), expected);
      assertFileSizes(fs, log, expected);
      await log.close();
    });
  }
}

Deno.test("a clean-shutdown marker vouches for one restart only: a kill after a clean restart is recovered", async () => {
  let fs = new PowerLossFileSystem();
  fs.mkdir("/data");
  let log = await PartitionLog.open(DIR, { fs, config: CONFIG });
  const expected = new Map<number, Uint8Array>();
  for (let i = 0; i < 30; i++) {
    const batch = buildBatch({ records: 2, payloadBytes: 100, fill: i });
    expected.set(log.append(batch).baseOffset, batch.slice());
  }
  await log.close();
  log = await PartitionLog.open(DIR, { fs, config: CONFIG });
  assert.equal(log.recovery.clean, true);
  // Appends after the clean restart roll segments; then the process is killed with a torn batch at the end.
  for (let i = 0; i < 30; i++) {
    const batch = buildBatch({ records: 2, payloadBytes: 100, fill: 100 + i });
    expected.set(log.append(batch).baseOffset, batch.slice());
  }
  await log.flush();
  const end = log.logEndOffset;
  const torn = buildBatch({ records: 2, payloadBytes: 100 });
  stampBaseOffset(torn, BigInt(end));
  log.append(torn.slice());
  fs = fs.crash({ unsyncedWrites: "kept", unsyncedDirOps: "kept" });
  const active = `${DIR}/${
    segmentFileName(Math.max(...fs.readDir(DIR).map(parseSegmentLogName).filter((b) => b !== null)), "log")
  }`;
  const file = fs.open(active);
  file.truncate(file.size() - 50);
  await file.syncData();
  file.close();
  log = await PartitionLog.open(DIR, { fs, config: CONFIG });
  assert.equal(log.recovery.clean, false, "the marker of the earlier clean stop does not vouch for this one");
  assert.equal(log.logEndOffset, end);
  assert.deepEqual(readWholeLog(log, "after the kill"), expected);
  await log.close();
});

Deno.test("the marker of an earlier clean stop does not vouch for a segment written after it", async () => {
  let fs = new PowerLossFileSystem();
  fs.mkdir("/data");
  let log = await PartitionLog.open(DIR, { fs, config: CONFIG });
  const expected = new Map<number, Uint8Array>();
  for (let i = 0; i < 5; i++) {
    const batch = buildBatch({ records: 1, payloadBytes: 100, fill: i });
    expected.set(log.append(batch).baseOffset, batch.slice());
  }
  await log.close();
  // The kernel writes the (unsynced) marker back in time, as it does some seconds after any write.
  fs = fs.crash({ unsyncedWrites: "kept", unsyncedDirOps: "kept" });
  log = await PartitionLog.open(DIR, { fs, config: CONFIG });
  assert.equal(log.recovery.clean, true);
  const end = log.logEndOffset;
  // Unflushed appends roll a new segment; the power goes before any of it is synced, but the new segment's
  // name reached the disk.
  for (let i = 0; i < 20; i++) log.append(buildBatch({ records: 1, payloadBytes: 150, fill: 50 + i }));
  assert.ok(log.segmentBaseOffsets().length > 1, "a segment was rolled");
  fs = fs.crash({ unsyncedWrites: "lost", unsyncedDirOps: "kept" });
  log = await PartitionLog.open(DIR, { fs, config: CONFIG });
  assert.equal(log.recovery.clean, false);
  assert.equal(log.logEndOffset, end, "the log ends where its durable data ends");
  assert.deepEqual(readWholeLog(log, "after the power loss"), expected);
  const batch = buildBatch({ records: 1, payloadBytes: 10, fill: 0x77 });
  expected.set(log.append(batch).baseOffset, batch.slice());
  await log.close();
  log = await PartitionLog.open(DIR, { fs, config: CONFIG });
  assert.deepEqual(readWholeLog(log, "after the next restart"), expected);
  await log.close();
});
