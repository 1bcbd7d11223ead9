/**
 * Power loss under the partition log: a seeded workload appends batches and waits for durability (what acks=-1
 * waits for), the power goes at a random point — with a random, seeded part of the unsynced writes and directory
 * operations surviving — and after recovery every acknowledged batch is there, byte for byte, and the log is one
 * valid run of batches that takes new appends. Several crashes per seed, with appends after each recovery, so a
 * torn tail left in place shows up as a lost acknowledged batch at the next restart.
 */
import assert from "node:assert/strict";
import { PartitionLog } from "../../../log/partition_log.ts";
import { type CrashOptions, PowerLossFileSystem } from "../../../log/power_loss_file_system.ts";
import { buildBatch } from "./batch_fixture.ts";
import { readWholeLog } from "./whole_log.ts";

const DIR = "/data/orders-0";
/** Seeds run by default; `SEEDS=5000 deno test ...` searches deeper. */
const SEEDS = Number(Deno.env.get("SEEDS") ?? 120);
const CONFIG = { "segment.bytes": 1500, "index.interval.bytes": 200 };

/** A small seeded generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Acked {
  baseOffset: number;
  lastOffset: number;
  bytes: Uint8Array;
}

/** Asserts every acknowledged batch is in the log, byte for byte. */
function assertAcknowledgedPresent(log: PartitionLog, acked: Map<number, Acked>, context: string): void {
  const present = readWholeLog(log, context);
  for (const a of acked.values()) {
    const found = present.get(a.baseOffset);
    assert.ok(found, `${context}: acknowledged batch ${a.baseOffset}-${a.lastOffset} is missing`);
    assert.deepEqual(found, a.bytes, `${context}: acknowledged batch ${a.baseOffset} differs`);
  }
}

const CRASH_MODES: CrashOptions[] = [
  { unsyncedWrites: "lost", unsyncedDirOps: "undone" },
  { unsyncedWrites: "prefix", unsyncedDirOps: "prefix" },
  { unsyncedWrites: "prefix", unsyncedDirOps: "undone" },
  { unsyncedWrites: "prefix", unsyncedDirOps: "kept" },
];

/** One seed: a few lives of the log, each ended by a power loss (or, now and then, a clean close first). */
async function runSeed(seed: number): Promise<void> {
  const rand = random(seed);
  let fs = new PowerLossFileSystem();
  fs.mkdir("/data");
  const acked = new Map<number, Acked>();
  const appended: Acked[] = [];
  let fill = 1;
  for (let life = 0; life < 4; life++) {
    const log = await PartitionLog.open(DIR, { fs, config: CONFIG });
    const context = `seed ${seed}, life ${life}`;
    assertAcknowledgedPresent(log, acked, context);
    // What the last life left unacknowledged may or may not be here; from now on only this log's batches count.
    appended.length = 0;
    const steps = 1 + Math.floor(rand() * 25);
    const flushes: Promise<void>[] = [];
    for (let step = 0; step < steps; step++) {
      const batch = buildBatch({
        records: 1 + Math.floor(rand() * 4),
        payloadBytes: Math.floor(rand() * 300),
        fill: fill++ & 0xff,
        timestamp: 1_000 + step,
      });
      const { baseOffset, lastOffset } = log.append(batch);
      const entry = { baseOffset, lastOffset, bytes: batch.slice() };
      appended.push(entry);
      const choice = rand();
      if (choice < 0.3) {
        // acks=-1: acknowledged once durable.
        const end = await log.flush();
        for (const a of appended) if (a.lastOffset < end) acked.set(a.baseOffset, a);
      } else if (choice < 0.5) {
        // A flush still running when the power goes: acknowledged only if it completed.
        flushes.push(log.waitForDurable(lastOffset + 1).then(() => void acked.set(baseOffset, entry), () => {}));
      }
    }
    const ending = rand();
    if (ending < 0.15) {
      await log.close(); // a clean stop; the power may still go right after
    } else if (ending < 0.3) {
      log.close().catch(() => {}); // the power goes during the clean stop
      for (let i = 0; i < Math.floor(rand() * 20); i++) await Promise.resolve();
    } else {
      for (let i = 0; i < Math.floor(rand() * 20); i++) await Promise.resolve();
    }
    fs = fs.crash({ ...CRASH_MODES[Math.floor(rand() * CRASH_MODES.length)], seed: seed * 31 + life });
    await Promise.all(flushes);
  }
  const log = await PartitionLog.open(DIR, { fs, config: CONFIG });
  assertAcknowledgedPresent(log, acked, `seed ${seed}, last open`);
  // The recovered log takes appends, and they read back after a clean restart.
  const batch = buildBatch({ records: 2, payloadBytes: 50, fill: 0x5a });
  const { baseOffset } = log.append(batch);
  await log.flush();
  await log.close();
  const reopened = await PartitionLog.open(DIR, { fs, config: CONFIG });
  assert.deepEqual(readWholeLog(reopened).get(baseOffset), batch, `seed ${seed}: the append after recovery`);
  await reopened.close();
}

Deno.test("power loss at a random point never loses an acknowledged batch (seeded, 4 crashes per seed)", async () => {
  for (let seed = 1; seed <= SEEDS; seed++) await runSeed(seed);
});

Deno.test("power loss keeping only synced bytes loses exactly the unacknowledged tail", async () => {
  const fs = new PowerLossFileSystem();
  fs.mkdir("/data");
  const log = await PartitionLog.open(DIR, { fs, config: CONFIG });
  const first = buildBatch({ records: 3, payloadBytes: 40, fill: 1 });
  log.append(first);
  const durable = await log.flush();
  log.append(buildBatch({ records: 2, payloadBytes: 40, fill: 2 })); // never flushed
  const after = fs.crash({ unsyncedWrites: "lost", unsyncedDirOps: "undone" });
  const recovered = await PartitionLog.open(DIR, { fs: after, config: CONFIG });
  assert.equal(recovered.logEndOffset, durable);
  assert.deepEqual([...readWholeLog(recovered).values()], [first]);
  await recovered.close();
});
