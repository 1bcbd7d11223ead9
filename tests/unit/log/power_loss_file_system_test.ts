/**
 * The power-loss file system keeps what was synced and nothing it need not: file data by `syncData`, directory
 * entries by `syncDir`, an fsync covering only the writes made before it, and a dead process doing nothing more.
 */
import assert from "node:assert/strict";
import { DeadProcessError, PowerLossFileSystem } from "../../../log/power_loss_file_system.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

function freshDisk(): PowerLossFileSystem {
  const fs = new PowerLossFileSystem();
  fs.mkdir("/disk");
  return fs;
}

Deno.test("a crash keeps synced bytes and drops unsynced ones", async () => {
  const fs = freshDisk();
  const file = fs.open("/disk/a", { create: true });
  file.append(bytes(1, 2, 3));
  await file.syncData();
  await fs.syncDir("/disk");
  file.append(bytes(4, 5));
  file.truncate(1);
  const after = fs.crash({ unsyncedWrites: "lost", unsyncedDirOps: "undone" });
  assert.deepEqual(after.readFile("/disk/a"), bytes(1, 2, 3));
});

Deno.test("an unsynced file creation, rename or removal is undone by a crash", async () => {
  const fs = freshDisk();
  const kept = fs.open("/disk/kept", { create: true });
  kept.append(bytes(9));
  await kept.syncData();
  await fs.syncDir("/disk");
  const created = fs.open("/disk/new", { create: true });
  created.append(bytes(1));
  await created.syncData(); // the data is durable, its name is not
  fs.rename("/disk/kept", "/disk/renamed");
  const after = fs.crash({ unsyncedWrites: "kept", unsyncedDirOps: "undone" });
  assert.deepEqual(after.readDir("/disk").sort(), ["kept"]);
  assert.deepEqual(after.readFile("/disk/kept"), bytes(9));
});

Deno.test("syncDir makes creations, renames and removals durable", async () => {
  const fs = freshDisk();
  fs.open("/disk/a", { create: true }).append(bytes(1));
  fs.open("/disk/b", { create: true });
  await fs.syncDir("/disk");
  fs.rename("/disk/a", "/disk/c");
  fs.remove("/disk/b");
  await fs.syncDir("/disk");
  const after = fs.crash({ unsyncedWrites: "lost", unsyncedDirOps: "undone" });
  assert.deepEqual(after.readDir("/disk"), ["c"]);
  assert.deepEqual(after.readFile("/disk/c"), bytes(), "the name survived, the unsynced data did not");
});

Deno.test("a directory made under the disk needs its parent synced to survive", async () => {
  const fs = freshDisk();
  fs.mkdir("/disk/topic-0");
  const file = fs.open("/disk/topic-0/x", { create: true });
  await file.syncData();
  await fs.syncDir("/disk/topic-0");
  const lost = fs.crash({ unsyncedDirOps: "undone" });
  assert.equal(lost.stat("/disk/topic-0"), null);
  lost.mkdir("/disk/topic-0");
  await lost.syncDir("/disk");
  const kept = lost.crash({ unsyncedDirOps: "undone" });
  assert.notEqual(kept.stat("/disk/topic-0"), null);
});

Deno.test("an fsync covers the writes made before it was called, not those made while it ran", async () => {
  const fs = freshDisk();
  const file = fs.open("/disk/a", { create: true });
  await fs.syncDir("/disk");
  let release!: () => void;
  fs.beforeSyncCompletes = () => new Promise((r) => release = r);
  file.append(bytes(1));
  const sync = file.syncData();
  file.append(bytes(2));
  release();
  await sync;
  const after = fs.crash({ unsyncedWrites: "lost" });
  assert.deepEqual(after.readFile("/disk/a"), bytes(1));
});

Deno.test("after a crash the old process's files, fsyncs in flight and paths all fail", async () => {
  const fs = freshDisk();
  const file = fs.open("/disk/a", { create: true });
  file.append(bytes(1));
  let release!: () => void;
  fs.beforeSyncCompletes = () => new Promise((r) => release = r);
  const sync = file.syncData();
  const after = fs.crash({ unsyncedWrites: "lost", unsyncedDirOps: "undone" });
  release();
  await assert.rejects(sync, DeadProcessError);
  assert.throws(() => file.append(bytes(2)), DeadProcessError);
  assert.throws(() => fs.readDir("/disk"), DeadProcessError);
  await assert.rejects(fs.syncDir("/disk"), DeadProcessError);
  assert.deepEqual(after.readDir("/disk"), [], "the unsynced creation is gone");
});

Deno.test("a prefix crash keeps a seeded prefix of the unsynced writes, the same for the same seed", async () => {
  const outcomes = new Set<string>();
  for (let seed = 1; seed <= 60; seed++) {
    const once = async () => {
      const fs = freshDisk();
      const file = fs.open("/disk/a", { create: true });
      await fs.syncDir("/disk");
      file.append(bytes(1, 1, 1, 1));
      await file.syncData();
      for (let i = 2; i <= 5; i++) file.append(new Uint8Array(4).fill(i));
      return fs.crash({ seed, unsyncedWrites: "prefix" }).readFile("/disk/a")!;
    };
    const content = await once();
    assert.deepEqual(await once(), content, `seed ${seed} is deterministic`);
    assert.deepEqual(content.subarray(0, 4), bytes(1, 1, 1, 1), "synced bytes always survive");
    for (let i = 4; i < content.length; i++) {
      const write = Math.floor(i / 4) + 1;
      assert.ok(content[i] === write || content[i] === 0, `byte ${i} is from write ${write} or a zero-filled tail`);
    }
    outcomes.add(String(content.length));
  }
  assert.ok(outcomes.size >= 5, `crashes cut at many places (${[...outcomes].join(", ")})`);
});
