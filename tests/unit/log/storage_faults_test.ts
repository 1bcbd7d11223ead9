import assert from "node:assert/strict";
import { DenoFileSystem } from "../../../log/file_system.ts";
import { FaultyFileSystem } from "../../../log/faulty_file_system.ts";
import { LogError } from "../../../log/log_error.ts";
import { PartitionLog } from "../../../log/partition_log.ts";
import { buildBatch, listBatches } from "./batch_fixture.ts";

const faultTest = (name: string, fn: () => Promise<void>) => Deno.test({ name, sanitizeResources: false, fn });

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "samsa-faults-" });
  try {
    await fn(`${dir}/topic-0`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const isStorage = (e: unknown) => e instanceof LogError && e.kind === "storage";

faultTest(
  "ENOSPC on append: the append throws storage, the log refuses appends, durable data stays readable",
  async () => {
    await withDir(async (dir) => {
      const fs = new FaultyFileSystem(new DenoFileSystem());
      const log = await PartitionLog.open(dir, { fs });
      for (let i = 0; i < 5; i++) log.append(buildBatch());
      await log.flush();
      fs.maxFileBytes = 5 * 71 + 30; // room for part of the next batch only: a short write, then ENOSPC
      assert.throws(() => log.append(buildBatch()), isStorage);
      assert.equal(log.isOffline, true);
      fs.heal();
      assert.throws(() => log.append(buildBatch()), isStorage, "still offline after the disk has room again");
      assert.equal(await log.flush(), 5, "flushing what is already durable still answers");
      assert.equal(listBatches(log.read(0, 10_000).records).length, 5);
      assert.equal(log.logEndOffset, 5, "the failed append gave out no offsets");
      // A restart recovers: the torn 30 bytes are cut.
      const reopened = await PartitionLog.open(dir, { fs });
      assert.equal(reopened.recovery.truncation?.bytesCut, 30);
      assert.equal(reopened.append(buildBatch()).baseOffset, 5);
      await reopened.close();
    });
  },
);

faultTest("EIO on fsync: flush rejects with storage and every waiter with it, the log goes offline", async () => {
  await withDir(async (dir) => {
    const fs = new FaultyFileSystem(new DenoFileSystem());
    const log = await PartitionLog.open(dir, { fs });
    log.append(buildBatch());
    await log.flush();
    log.append(buildBatch());
    fs.failOn({ op: "sync", code: "EIO", pathIncludes: ".log" });
    const results = await Promise.allSettled([log.flush(), log.flush(), log.waitForDurable(2)]);
    for (const r of results) assert.ok(r.status === "rejected" && isStorage(r.reason));
    assert.equal(log.isOffline, true);
    assert.equal(log.flushedOffset, 1);
    assert.throws(() => log.append(buildBatch()), isStorage);
    await assert.rejects(log.flush(), isStorage);
    assert.equal(listBatches(log.read(0, 10_000).records).length, 1, "durable data stays readable");
    await log.close(); // no clean marker: the next open recovers
    const reopened = await PartitionLog.open(dir, { fs });
    assert.equal(reopened.recovery.clean, false);
    await reopened.close();
  });
});

faultTest("EIO on the write itself takes the log offline", async () => {
  await withDir(async (dir) => {
    const fs = new FaultyFileSystem(new DenoFileSystem());
    const log = await PartitionLog.open(dir, { fs });
    log.append(buildBatch());
    fs.failOn({ op: "append", code: "EIO", pathIncludes: ".log", shortBytes: 20 });
    assert.throws(() => log.append(buildBatch()), isStorage);
    assert.throws(() => log.append(buildBatch()), isStorage);
    assert.equal(log.logEndOffset, 1);
    await log.close();
  });
});

faultTest("a failing index write at a segment roll takes the log offline (recovery rebuilds the index)", async () => {
  await withDir(async (dir) => {
    const fs = new FaultyFileSystem(new DenoFileSystem());
    // Index entries of the active segment are written when it rolls (or the log closes), not at every append.
    const log = await PartitionLog.open(dir, { fs, config: { "index.interval.bytes": 0, "segment.bytes": 200 } });
    log.append(buildBatch());
    log.append(buildBatch());
    fs.failOn({ op: "append", code: "ENOSPC", pathIncludes: ".index" });
    assert.throws(() => log.append(buildBatch()), isStorage);
    assert.equal(log.isOffline, true);
    await log.close();
    const reopened = await PartitionLog.open(dir, { fs });
    assert.equal(reopened.logEndOffset, 2, "the batches before the failed roll are kept");
    await reopened.close();
  });
});
