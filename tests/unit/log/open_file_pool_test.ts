/**
 * The open-file pool: partition logs share a bounded number of descriptors, files closed to make room reopen on
 * use without losing a byte, and running out of descriptors is a clear storage error, not a crash.
 */
import assert from "node:assert/strict";
import { DenoFileSystem, type LogFile } from "../../../log/file_system.ts";
import { LogError } from "../../../log/log_error.ts";
import { isOutOfDescriptors, OpenFilePool } from "../../../log/open_file_pool.ts";
import { PartitionLog } from "../../../log/partition_log.ts";
import { buildBatch, listBatches } from "./batch_fixture.ts";

/** Descriptors this process holds on files under `root` (other test files share the process). */
function openFilesUnder(root: string): number {
  return [...Deno.readDirSync("/proc/self/fd")].filter((fd) => {
    try {
      return Deno.readLinkSync(`/proc/self/fd/${fd.name}`).startsWith(root);
    } catch {
      return false;
    }
  }).length;
}

/** A file system that answers EMFILE to every open while `full` is set, as a process at its limit does. */
class DescriptorLimitedFileSystem extends DenoFileSystem {
  full = false;
  failNextOpen = false;
  override open(path: string, options?: { create?: boolean }): LogFile {
    const fail = this.full || this.failNextOpen;
    this.failNextOpen = false;
    if (fail) throw Object.assign(new Error(`Too many open files (os error 24): open '${path}'`), { code: "EMFILE" });
    return super.open(path, options);
  }
}

async function withRoot(fn: (root: string) => Promise<void> | void): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "samsa-pool-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("60 partitions written through a pool of 8 descriptors hold at most 8 and keep every batch", async () => {
  await withRoot(async (root) => {
    const pool = new OpenFilePool(new DenoFileSystem(), 8);
    const logs: PartitionLog[] = [];
    try {
      for (let p = 0; p < 60; p++) {
        const log = await PartitionLog.open(`${root}/t-${p}`, { fs: pool });
        log.append(buildBatch({ fill: p % 256 }));
        logs.push(log);
        assert.ok(openFilesUnder(root) <= 8, `${openFilesUnder(root)} descriptors after ${p + 1} partitions`);
      }
      await Promise.all(logs.map((log) => log.flush()));
      for (const [p, log] of logs.entries()) {
        log.append(buildBatch({ fill: p % 256 })); // reopens a file the pool closed
        const batches = listBatches(log.read(0, 10_000, { upTo: log.logEndOffset }).records);
        assert.equal(batches.length, 2, `partition ${p}`);
      }
      assert.ok(pool.evictions > 0, "the pool closed files to stay within its bound");
      assert.ok(openFilesUnder(root) <= 8);
    } finally {
      for (const log of logs) await log.close();
    }
    assert.equal(openFilesUnder(root), 0, "closing the logs closes every descriptor");
  });
});

Deno.test("at the process's descriptor limit the pool closes idle files and the open succeeds", async () => {
  await withRoot((root) => {
    const inner = new DescriptorLimitedFileSystem();
    const pool = new OpenFilePool(inner, 100);
    const files = Array.from({ length: 4 }, (_, i) => pool.open(`${root}/${i}.log`, { create: true }));
    inner.failNextOpen = true; // the process is full until the pool gives a descriptor back
    const opened = pool.open(`${root}/new.log`, { create: true });
    assert.ok(pool.evictions >= 1, "idle files were closed to make room");
    opened.append(new Uint8Array([7]));
    files[0].append(new Uint8Array([8])); // a closed file reopens on use
    assert.equal(files[0].size(), 1);
    for (const f of [...files, opened]) f.close();
    assert.equal(pool.openDescriptors, 0);
  });
});

Deno.test("with no idle file to close, running out of descriptors is a storage error naming the limit", async () => {
  await withRoot((root) => {
    const inner = new DescriptorLimitedFileSystem();
    const pool = new OpenFilePool(inner, 100);
    const idle = pool.open(`${root}/idle.log`, { create: true });
    idle.append(new Uint8Array([1, 2, 3]));
    inner.full = true;
    // An idle file is closed to make room, but the limit is still there: the open fails clearly.
    assert.throws(
      () => pool.open(`${root}/new.log`, { create: true }),
      (e) => e instanceof LogError && e.kind === "storage" && /too many open files.*ulimit -n/.test(e.message),
    );
    assert.equal(pool.openDescriptors, 0, "the idle file was closed while trying");
    inner.full = false;
    const bytes = new Uint8Array(3);
    assert.equal(idle.readAt(bytes, 0), 3, "the closed file reopens on use");
    assert.deepEqual([...bytes], [1, 2, 3]);
    idle.close();
  });
});

Deno.test("a partition cannot be created at the descriptor limit: PartitionLog.open fails with a storage error", async () => {
  await withRoot(async (root) => {
    const inner = new DescriptorLimitedFileSystem();
    const pool = new OpenFilePool(inner, 100);
    inner.full = true;
    await assert.rejects(
      PartitionLog.open(`${root}/t-0`, { fs: pool }),
      (e) => e instanceof LogError && e.kind === "storage" && /too many open files/.test(e.message),
    );
  });
});

Deno.test("EMFILE and ENFILE are recognised as running out of descriptors, other errors are not", () => {
  assert.ok(isOutOfDescriptors(Object.assign(new Error("x"), { code: "EMFILE" })));
  assert.ok(isOutOfDescriptors(new Error("Too many open files in system (os error 23)")));
  assert.ok(!isOutOfDescriptors(new Deno.errors.NotFound("gone")));
  assert.ok(!isOutOfDescriptors("EMFILE"));
});
