import assert from "node:assert/strict";
import { DenoFileSystem, type FileSystem, type LogFile } from "../../../log/file_system.ts";
import { FaultyFileSystem } from "../../../log/faulty_file_system.ts";
import { PartitionLog } from "../../../log/partition_log.ts";
import { buildBatch, listBatches } from "./batch_fixture.ts";

/**
 * The real file system minus fsyncs: this test is about which files are read, and 1,000 partitions' worth of
 * fsyncs would make its run time hostage to the disk.
 */
class NoSyncFileSystem extends DenoFileSystem implements FileSystem {
  override open(path: string, options?: { create?: boolean }): LogFile {
    const file = super.open(path, options);
    file.syncData = () => Promise.resolve();
    return file;
  }
  override syncDir(): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("opening 1,000 partitions after a clean stop reads no segment .log file", async () => {
  const root = await Deno.makeTempDir({ prefix: "samsa-clean-" });
  try {
    const config = { "segment.bytes": 400, "index.interval.bytes": 100 };
    const fs = new FaultyFileSystem(new NoSyncFileSystem());
    const partitions = 1_000;
    const dirs = Array.from({ length: partitions }, (_, p) => `${root}/topic-${p}`);
    const logs = await Promise.all(dirs.map((dir) => PartitionLog.open(dir, { fs, config })));
    for (const [p, log] of logs.entries()) {
      for (let i = 0; i < 3 + (p % 2); i++) log.append(buildBatch({ payloadBytes: 100, timestamp: i })); // 2 segments
    }
    await Promise.all(logs.map((log) => log.close()));

    fs.resetCounts();
    const started = performance.now();
    const reopened = await Promise.all(dirs.map((dir) => PartitionLog.open(dir, { fs, config })));
    const openMs = performance.now() - started;
    assert.equal(fs.readsOf(".log"), 0, "no segment was read");
    for (const [p, log] of reopened.entries()) {
      assert.equal(log.recovery.clean, true);
      assert.equal(log.recovery.scannedSegments, 0);
      assert.equal(log.logEndOffset, 3 + (p % 2));
      assert.deepEqual(log.segmentBaseOffsets(), [0, 2]);
    }
    console.log(`opened ${partitions} partitions after a clean stop in ${openMs.toFixed(0)} ms`);
    // Appends continue where they left off, and the data reads back.
    const last = reopened[partitions - 1];
    assert.equal(last.append(buildBatch()).baseOffset, last.logEndOffset - 1);
    await last.flush();
    assert.equal(listBatches(last.read(0, 100_000).records).length >= 1, true);
    await Promise.all(reopened.map((log) => log.close()));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a clean marker that does not match the active segment falls back to scanning that segment only", async () => {
  const root = await Deno.makeTempDir({ prefix: "samsa-clean-" });
  try {
    const dir = `${root}/topic-0`;
    const config = { "segment.bytes": 400 };
    const log = await PartitionLog.open(dir, { config });
    for (let i = 0; i < 10; i++) log.append(buildBatch({ payloadBytes: 100 }));
    await log.close();
    const active = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".log")).sort().pop()!;
    Deno.writeFileSync(`${dir}/${active}`, new Uint8Array(7), { append: true }); // written after the marker
    const reopened = await PartitionLog.open(dir, { config });
    assert.equal(reopened.recovery.clean, false);
    assert.equal(reopened.recovery.scannedSegments, 1);
    assert.equal(reopened.recovery.truncation?.bytesCut, 7);
    assert.equal(reopened.logEndOffset, 10);
    await reopened.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an active partition holds one open file, however many appends it took", async () => {
  const root = await Deno.makeTempDir({ prefix: "samsa-fds-" });
  // Only descriptors of files under this test's directory: other test files run in the same process.
  const openFiles = () =>
    [...Deno.readDirSync("/proc/self/fd")].filter((fd) => {
      try {
        return Deno.readLinkSync(`/proc/self/fd/${fd.name}`).startsWith(root);
      } catch {
        return false;
      }
    }).length;
  const logs: PartitionLog[] = [];
  try {
    const before = openFiles();
    for (let p = 0; p < 100; p++) {
      const log = await PartitionLog.open(`${root}/t-${p}`, { config: { "index.interval.bytes": 0 } });
      for (let i = 0; i < 5; i++) log.append(buildBatch());
      logs.push(log);
    }
    const perPartition = (openFiles() - before) / 100;
    assert.ok(perPartition >= 1, "each partition's active segment is open");
    assert.ok(perPartition <= 1.05, `${perPartition} open files per partition`);
  } finally {
    for (const log of logs) await log.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "a clean start changes no file; the marker goes with the first append, so a crash after it recovers",
  sanitizeResources: false, // the "crash" drops a log without closing it
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "samsa-marker-" });
    try {
      const dir = `${root}/topic-0`;
      const log = await PartitionLog.open(dir);
      for (let i = 0; i < 5; i++) log.append(buildBatch());
      await log.close();
      const fs = new FaultyFileSystem(new DenoFileSystem());
      const reopened = await PartitionLog.open(dir, { fs });
      assert.equal(reopened.recovery.clean, true);
      assert.equal(fs.count("remove") + fs.count("rename") + fs.count("syncDir"), 0, "nothing removed or synced");
      assert.ok(Deno.statSync(`${dir}/.clean-shutdown`).isFile, "the marker stays while nothing changes");
      const idle = await PartitionLog.open(`${root}/topic-1`);
      idle.append(buildBatch());
      await idle.close();
      const idleAgain = await PartitionLog.open(`${root}/topic-1`, { fs });
      fs.resetCounts();
      await idleAgain.close();
      assert.equal(fs.count("open") + fs.count("rename"), 0, "closing an untouched log writes nothing");
      const third = await PartitionLog.open(`${root}/topic-1`);
      assert.equal(third.recovery.clean, true, "and it opens clean again");
      await third.close();
      reopened.append(buildBatch());
      assert.throws(() => Deno.statSync(`${dir}/.clean-shutdown`), Deno.errors.NotFound, "the first append drops it");
      await reopened.flush();
      const afterCrash = await PartitionLog.open(dir); // reopened was never closed: a crash
      assert.equal(afterCrash.recovery.clean, false);
      assert.equal(afterCrash.logEndOffset, 6);
      await afterCrash.close();
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
