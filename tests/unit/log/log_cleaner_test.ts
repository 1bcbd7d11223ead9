import assert from "node:assert/strict";
import fc from "fast-check";
import { DenoFileSystem } from "../../../log/file_system.ts";
import { FaultyFileSystem } from "../../../log/faulty_file_system.ts";
import type { LogConfig } from "../../../log/log_config.ts";
import { PartitionLog } from "../../../log/partition_log.ts";
import { buildRecordBatch, decodeRecordBatch, iterateBatches } from "../../../protocol/record_batch.ts";
import { Compression } from "../../../protocol/record_batch_header.ts";
import { buildBatch, ManualClock } from "./batch_fixture.ts";
import { LogError } from "../../../log/log_error.ts";

// A "crash" drops the log object without close(), so crash tests turn off the resource sanitizer.
const crashTest = (name: string, fn: () => Promise<void>) => Deno.test({ name, sanitizeResources: false, fn });

const enc = new TextEncoder();
const dec = new TextDecoder();
const DAY = 86_400_000;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "samsa-cleaner-" });
  try {
    await fn(`${dir}/users-0`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const compacted: Partial<LogConfig> = {
  "cleanup.policy": "compact",
  "segment.bytes": 1024,
  "index.interval.bytes": 128,
};

/** One batch of keyed records (a null value is a tombstone). */
function batchOf(
  entries: [string, string | null][],
  options: { timestamp?: number; compression?: Compression; producerId?: bigint } = {},
): Uint8Array {
  return buildRecordBatch(
    entries.map(([k, v], i) => ({
      timestamp: (options.timestamp ?? 1_000_000) + i,
      key: enc.encode(k),
      value: v === null ? null : enc.encode(v),
    })),
    { compression: options.compression, producerId: options.producerId, producerEpoch: 0, baseSequence: 0 },
  );
}

interface Seen {
  offset: number;
  key: string | null;
  value: string | null;
  compression: number;
  deleteHorizon: boolean;
  baseTimestamp: number;
}

/** Every record a consumer reading from the log start sees, in order. */
function readAll(log: PartitionLog): Seen[] {
  const out: Seen[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { records } = log.read(offset, 1 << 20, { upTo: log.logEndOffset });
    if (records.length === 0) break;
    for (const slot of iterateBatches(records)) {
      const batch = decodeRecordBatch(records.subarray(slot.pos, slot.pos + slot.size));
      const base = Number(batch.header.baseOffset);
      for (const r of batch.records) {
        out.push({
          offset: base + r.offsetDelta,
          key: r.key && dec.decode(r.key),
          value: r.value && dec.decode(r.value),
          compression: batch.attributes.compression,
          deleteHorizon: batch.attributes.hasDeleteHorizon,
          baseTimestamp: Number(batch.header.baseTimestamp),
        });
      }
      offset = base + batch.header.lastOffsetDelta + 1;
    }
  }
  return out;
}

/** The key → value a consumer rebuilds from the log (tombstones delete). */
function materialize(seen: Seen[]): Map<string, string> {
  const state = new Map<string, string>();
  for (const r of seen) {
    if (r.key === null) continue;
    if (r.value === null) state.delete(r.key);
    else state.set(r.key, r.value);
  }
  return state;
}

function assertMonotonic(seen: Seen[]): void {
  for (let i = 1; i < seen.length; i++) {
    assert.ok(seen[i].offset > seen[i - 1].offset, `offsets ${seen[i - 1].offset}, ${seen[i].offset}`);
  }
}

Deno.test("a compacted topic with many updates per key shrinks to one record per key, offsets unchanged", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: compacted });
    const model = new Map<string, string>();
    const offsetOf = new Map<string, number>(); // value -> the offset it was written at
    for (let round = 0; round < 20; round++) {
      for (let k = 0; k < 10; k++) {
        const value = `v${round}-${k}`;
        const { baseOffset } = log.append(batchOf([[`key-${k}`, value]]));
        model.set(`key-${k}`, value);
        offsetOf.set(value, baseOffset);
      }
    }
    await log.flush();
    const before = log.sizeInBytes();
    const report = await log.compact();
    assert.equal(report.reason, "dirty_ratio");
    assert.equal(report.aborted, null);
    assert.equal(report.keys, 10);
    assert.ok(report.recordsRemoved > 100, `removed ${report.recordsRemoved}`);
    assert.ok(report.bytesAfter < report.bytesBefore / 4);
    assert.ok(log.sizeInBytes() < before / 2);
    assert.equal(log.logEndOffset, 200);

    const seen = readAll(log);
    assertMonotonic(seen);
    for (const r of seen) assert.equal(r.offset, offsetOf.get(r.value!), "a record keeps its offset");
    const cleaned = seen.filter((r) => r.offset < report.firstUncleanableOffset);
    assert.equal(new Set(cleaned.map((r) => r.key)).size, cleaned.length, "one record per key in the cleaned part");
    assert.deepEqual(materialize(seen), model);
    // Reading from an offset that was compacted away returns the next record that is still there.
    const firstKept = seen[0].offset;
    if (firstKept > 0) assert.ok(log.read(0, 1 << 20).records.length > 0);

    await log.close();
    const reopened = await PartitionLog.open(dir, { config: compacted });
    assert.deepEqual(readAll(reopened), seen, "the cleaned log survives a restart");
    const again = await reopened.compact();
    assert.equal(again.reason, null, "nothing dirty right after a clean");
    const segmentsAfterFirst = reopened.segmentBaseOffsets().length;
    const merged = await reopened.compact({ force: true });
    assert.ok(merged.segmentsAfter < merged.segmentsBefore, "small cleaned segments merge where they fit");
    assert.ok(reopened.segmentBaseOffsets().length < segmentsAfterFirst);
    assert.deepEqual(readAll(reopened), seen, "merging changes no record");
    await reopened.close();
  });
});

Deno.test("the active segment is never touched, and nothing above the bound is cleaned", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: compacted });
    for (let i = 0; i < 60; i++) log.append(batchOf([["same", `v${i}`]]));
    await log.flush();
    const bases = log.segmentBaseOffsets();
    const activePath = `${dir}/${String(bases[bases.length - 1]).padStart(20, "0")}.log`;
    const activeBytes = await Deno.readFile(activePath);
    const bounded = await log.compact({ upTo: bases[1] + 1 });
    assert.equal(bounded.firstUncleanableOffset, bases[1], "only segments wholly below the bound");
    const report = await log.compact({ force: true });
    assert.equal(report.firstUncleanableOffset, bases[bases.length - 1]);
    assert.deepEqual(await Deno.readFile(activePath), activeBytes);
    const seen = readAll(log);
    // The active segment's records never enter the map: the cleaned part keeps its own latest record too.
    assert.equal(seen.filter((r) => r.offset < bases[bases.length - 1]).length, 1);
    assert.equal(seen[seen.length - 1].value, "v59");
    await log.close();
  });
});

Deno.test("a log whose cleanup.policy is delete is never compacted, and compact-only logs skip retention.ms", async () => {
  await withDir(async (dir) => {
    const clock = new ManualClock(10 * DAY);
    const log = await PartitionLog.open(dir, { config: { ...compacted, "cleanup.policy": "delete" }, clock });
    for (let i = 0; i < 30; i++) log.append(batchOf([["k", `v${i}`]], { timestamp: 1 }));
    await log.flush();
    assert.equal((await log.compact({ force: true })).reason, null);
    await log.close();
    const compactOnly = await PartitionLog.open(dir, { config: { ...compacted, "retention.ms": 1 }, clock });
    assert.deepEqual(await compactOnly.applyRetention(), []);
    await compactOnly.close();
  });
});

Deno.test("tombstones survive delete.retention.ms after their first clean, then disappear", async () => {
  await withDir(async (dir) => {
    const clock = new ManualClock(1_000_000);
    const config = { ...compacted, "delete.retention.ms": DAY };
    const log = await PartitionLog.open(dir, { config, clock });
    log.append(batchOf([["gone", "v1"], ["kept", "k1"]]));
    log.append(batchOf([["gone", null]]));
    for (let i = 0; i < 30; i++) log.append(batchOf([["filler", `f${i}`]]));
    await log.flush();
    const first = await log.compact();
    assert.equal(first.pendingDeleteHorizonMs, 1_000_000 + DAY);
    let tombstone = readAll(log).find((r) => r.key === "gone");
    assert.deepEqual([tombstone?.value, tombstone?.deleteHorizon, tombstone?.baseTimestamp], [
      null,
      true,
      1_000_000 + DAY,
    ]);

    clock.nowMs += DAY - 1;
    const early = await log.compact({ force: true });
    assert.equal(early.tombstonesRemoved, 0);
    tombstone = readAll(log).find((r) => r.key === "gone");
    assert.equal(tombstone?.value, null, "still there one ms before the horizon");

    clock.nowMs += 1;
    const late = await log.compact();
    assert.equal(late.reason, "delete_horizon");
    assert.equal(late.tombstonesRemoved, 1);
    const seen = readAll(log);
    assert.equal(seen.find((r) => r.key === "gone"), undefined);
    assert.equal(seen.find((r) => r.key === "kept")?.value, "k1");
    assert.equal(late.pendingDeleteHorizonMs, null);
    await log.close();
  });
});

Deno.test("the pending delete horizon survives a restart, so expired tombstones still trigger a clean", async () => {
  await withDir(async (dir) => {
    const clock = new ManualClock(1_000_000);
    const config = { ...compacted, "delete.retention.ms": DAY };
    const log = await PartitionLog.open(dir, { config, clock });
    log.append(batchOf([["gone", null]]));
    for (let i = 0; i < 30; i++) log.append(batchOf([["filler", `f${i}`]]));
    await log.flush();
    assert.equal((await log.compact()).pendingDeleteHorizonMs, 1_000_000 + DAY);
    await log.close();
    clock.nowMs += DAY;
    const reopened = await PartitionLog.open(dir, { config, clock });
    const report = await reopened.compact();
    assert.deepEqual([report.reason, report.tombstonesRemoved], ["delete_horizon", 1]);
    await reopened.close();
  });
});

Deno.test("a full offset map ends the clean at a segment boundary; the next clean goes on from there", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: compacted });
    for (let i = 0; i < 120; i++) log.append(batchOf([[`unique-${i}`, "v"], ["hot", `h${i}`]]));
    await log.flush();
    const bases = log.segmentBaseOffsets();
    const first = await log.compact({ maxOffsetMapKeys: 10 });
    assert.ok(first.keys >= 10 && first.firstUncleanableOffset < bases[bases.length - 1], "stopped early");
    assert.ok(bases.includes(first.firstUncleanableOffset), "at a segment boundary");
    const second = await log.compact({ force: true });
    assert.equal(second.firstDirtyOffset, first.firstUncleanableOffset);
    assert.equal(second.firstUncleanableOffset, bases[bases.length - 1]);
    const seen = readAll(log);
    assert.equal(seen.filter((r) => r.key === "hot" && r.offset < second.firstUncleanableOffset).length, 1);
    assert.equal(seen.filter((r) => r.key?.startsWith("unique")).length, 120);
    await log.close();
  });
});

Deno.test("compressed batches are filtered and recompressed with their own codec", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: compacted });
    const codecs = [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
    const model = new Map<string, string>();
    for (let round = 0; round < 12; round++) {
      const codec = codecs[round % codecs.length];
      const entries: [string, string][] = [];
      for (let k = 0; k < 8; k++) entries.push([`k${(round + k) % 11}`, `r${round}-c${codec}-${k}`]);
      for (const [k, v] of entries) model.set(k, v);
      log.append(batchOf(entries, { compression: codec }));
    }
    log.append(batchOf([["tail", "t"]]));
    model.set("tail", "t");
    await log.flush();
    const report = await log.compact({ force: true });
    assert.ok(report.recordsRemoved > 0);
    const seen = readAll(log);
    assertMonotonic(seen);
    assert.deepEqual(materialize(seen), model);
    for (const r of seen) {
      if (r.key === "tail") continue;
      assert.equal(r.compression, Number(r.value!.split("-c")[1].split("-")[0]), "same codec as written");
    }
    await log.close();
  });
});

Deno.test("appends and flushes made while the cleaner runs are not lost", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: { ...compacted, "segment.bytes": 64 * 1024 } });
    const model = new Map<string, string>();
    const big = "x".repeat(2000);
    for (let i = 0; i < 1500; i++) {
      const k = `k${i % 50}`;
      model.set(k, `${i}${big}`);
      log.append(batchOf([[k, `${i}${big}`]]));
    }
    await log.flush();
    let appended = 0;
    const report = await log.compact({
      pause: async () => {
        for (let j = 0; j < 5; j++) {
          const k = `k${appended % 50}`;
          model.set(k, `late${appended}`);
          log.append(batchOf([[k, `late${appended++}`]]));
        }
        await log.flush();
      },
    });
    assert.ok(appended > 0, "the cleaner paused");
    assert.equal(report.aborted, null);
    const seen = readAll(log);
    assertMonotonic(seen);
    assert.deepEqual(materialize(seen), model);
    assert.equal(log.logEndOffset, 1500 + appended);
    await log.close();
  });
});

Deno.test("a producer and a reader running alongside the cleaner see a consistent log throughout", async () => {
  await withDir(async (dir) => {
    const fs = new FaultyFileSystem(new DenoFileSystem());
    // Slow fsyncs make flush rounds overlap the cleaner's swaps.
    fs.beforeSync = () => new Promise((resolve) => setTimeout(resolve, 1));
    const log = await PartitionLog.open(dir, { config: { ...compacted, "segment.bytes": 16 * 1024 }, fs });
    const model = new Map<string, string>();
    const big = "z".repeat(1000);
    let n = 0;
    const put = () => {
      const k = `k${n % 40}`;
      model.set(k, `${n}${big}`);
      log.append(batchOf([[k, `${n++}${big}`]]));
    };
    for (let i = 0; i < 1100; i++) put();
    await log.flush();
    let done = false;
    const producer = (async () => {
      while (!done) {
        put();
        await log.flush();
      }
    })();
    let reads = 0;
    const reader = (async () => {
      while (!done) {
        const seen = readAll(log);
        assertMonotonic(seen);
        reads++;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    })();
    const first = await log.compact();
    const second = await log.compact({ force: true });
    done = true;
    await Promise.all([producer, reader]);
    assert.equal(first.aborted, null);
    assert.equal(second.aborted, null);
    assert.ok(second.segmentsBefore > 0 && reads > 0);
    await log.flush();
    assert.equal(log.logEndOffset, n);
    assert.deepEqual(materialize(readAll(log)), model);
    await log.close();
    const reopened = await PartitionLog.open(dir, { config: compacted });
    assert.deepEqual(materialize(readAll(reopened)), model);
    await reopened.close();
  });
});

Deno.test("a batch whose records do not decode stops the clean with a corrupt error; the log stays online", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: compacted });
    log.append(buildBatch({ records: 2, payloadBytes: 30 })); // a valid header and CRC over garbage records
    for (let i = 0; i < 30; i++) log.append(batchOf([["k", `v${i}`]]));
    await log.flush();
    await assert.rejects(log.compact(), (e) => e instanceof LogError && e.kind === "corrupt");
    assert.equal(log.isOffline, false);
    assert.equal(log.append(batchOf([["k", "after"]])).baseOffset, 32);
    await log.close();
  });
});

Deno.test("truncation during a clean aborts it and leaves the log as truncated", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: { ...compacted, "segment.bytes": 64 * 1024 } });
    const big = "y".repeat(2000);
    for (let i = 0; i < 1000; i++) log.append(batchOf([[`k${i % 7}`, `${i}${big}`]]));
    await log.flush();
    let truncated = false;
    const report = await log.compact({
      pause: async () => {
        if (!truncated) {
          truncated = true;
          await log.truncateTo(10);
        }
      },
    });
    assert.ok(truncated);
    assert.equal(report.aborted, "segments changed during the clean");
    assert.equal(log.logEndOffset, 10);
    assert.deepEqual(readAll(log).map((r) => r.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.name.includes(".cleaned")), []);
    await log.close();
  });
});

Deno.test("closing the log while it is being cleaned stops the clean and leaves the log whole", async () => {
  await withDir(async (dir) => {
    const log = await PartitionLog.open(dir, { config: { ...compacted, "segment.bytes": 64 * 1024 } });
    const model = new Map<string, string>();
    const big = "c".repeat(2000);
    for (let i = 0; i < 1000; i++) {
      model.set(`k${i % 9}`, `${i}${big}`);
      log.append(batchOf([[`k${i % 9}`, `${i}${big}`]]));
    }
    await log.flush();
    let closing: Promise<void> | null = null;
    const report = await log.compact({
      pause: () => {
        closing ??= log.close();
        return Promise.resolve();
      },
    });
    assert.equal(report.aborted, "log closed");
    await closing;
    await assert.rejects(log.compact(), /closed/);
    const reopened = await PartitionLog.open(dir, { config: compacted });
    assert.equal(reopened.recovery.clean, true);
    assert.deepEqual(materialize(readAll(reopened)), model);
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.name.includes(".cleaned")), []);
    await reopened.close();
  });
});

/** Writes 200 keyed updates over 10 keys with a tombstone, returning the model a reader must rebuild. */
async function fillForCrash(log: PartitionLog): Promise<Map<string, string>> {
  const model = new Map<string, string>();
  for (let i = 0; i < 200; i++) {
    const k = `key-${i % 10}`;
    const value = i === 150 ? null : `v${i}`;
    log.append(batchOf([[k, value]]));
    if (value === null) model.delete(k);
    else model.set(k, value);
  }
  await log.flush();
  return model;
}

const crashPoints: { name: string; rule: Parameters<FaultyFileSystem["failOn"]>[0]; committed: boolean }[] = [
  { name: "writing the .cleaned file", rule: { op: "append", pathIncludes: ".cleaned" }, committed: false },
  { name: "fsyncing the .cleaned file", rule: { op: "sync", pathIncludes: ".cleaned" }, committed: false },
  { name: "the commit rename", rule: { op: "rename", pathIncludes: ".cleaned" }, committed: false },
  { name: "the directory fsync after the commit", rule: { op: "syncDir" }, committed: true },
  { name: "removing the replaced segments", rule: { op: "remove", pathIncludes: ".index" }, committed: true },
  { name: "the second directory fsync", rule: { op: "syncDir", nth: 2 }, committed: true },
  { name: "renaming the .swap file", rule: { op: "rename", pathIncludes: ".swap" }, committed: true },
  { name: "fsyncing the rebuilt indexes", rule: { op: "sync", pathIncludes: ".index" }, committed: true },
];

for (const point of crashPoints) {
  crashTest(`a crash at ${point.name} mid-clean recovers a valid log with every key's latest value`, async () => {
    await withDir(async (dir) => {
      const fs = new FaultyFileSystem(new DenoFileSystem());
      const log = await PartitionLog.open(dir, { config: compacted, fs });
      const model = await fillForCrash(log);
      const end = log.logEndOffset;
      fs.failOn(point.rule);
      await assert.rejects(log.compact());
      assert.equal(log.isOffline, point.committed, "offline only when the swap failed past its commit point");
      // Crash: drop the object, reopen from the files with a healthy file system.
      const reopened = await PartitionLog.open(dir, { config: compacted });
      const seen = readAll(reopened);
      assertMonotonic(seen);
      assert.deepEqual(materialize(seen), model);
      assert.equal(reopened.logEndOffset, end);
      const names = [...Deno.readDirSync(dir)].map((e) => e.name);
      assert.deepEqual(names.filter((n) => n.endsWith(".cleaned") || n.endsWith(".swap")), []);
      const report = await reopened.compact({ force: true });
      assert.equal(report.aborted, null);
      assert.deepEqual(materialize(readAll(reopened)), model);
      await reopened.close();
    });
  });
}

crashTest("a crash after the commit rename finishes the swap on open", async () => {
  await withDir(async (dir) => {
    const fs = new FaultyFileSystem(new DenoFileSystem());
    const log = await PartitionLog.open(dir, { config: compacted, fs });
    const model = await fillForCrash(log);
    const bytes = log.sizeInBytes();
    fs.failOn({ op: "syncDir" }); // right after `.cleaned` became `.swap`
    await assert.rejects(log.compact());
    assert.ok([...Deno.readDirSync(dir)].some((e) => e.name.endsWith(".log.swap")));
    const events: Record<string, unknown>[] = [];
    const reopened = await PartitionLog.open(dir, { config: compacted, onEvent: (e) => events.push(e) });
    assert.ok(events.some((e) => e.event === "interrupted_clean_recovered"));
    assert.ok(reopened.sizeInBytes() < bytes, "the swap replaced the old segment");
    const seen = readAll(reopened);
    assertMonotonic(seen);
    assert.deepEqual(materialize(seen), model);
    await reopened.close();
  });
});

for (const rule of [{ op: "syncDir" as const }, { op: "rename" as const, pathIncludes: ".swap" }]) {
  crashTest(`a crash at ${rule.op} while merging cleaned segments leaves one valid copy of each record`, async () => {
    await withDir(async (dir) => {
      const fs = new FaultyFileSystem(new DenoFileSystem());
      const log = await PartitionLog.open(dir, { config: compacted, fs });
      const model = await fillForCrash(log);
      await log.compact();
      const segments = log.segmentBaseOffsets().length;
      const seen = readAll(log);
      fs.failOn(rule);
      await assert.rejects(log.compact({ force: true })); // small cleaned segments merge in this one
      const reopened = await PartitionLog.open(dir, { config: compacted });
      assert.ok(reopened.segmentBaseOffsets().length < segments, "the merge was finished");
      assert.deepEqual(readAll(reopened), seen);
      assert.deepEqual(materialize(seen), model);
      await reopened.close();
    });
  });
}

Deno.test("property: after compaction a reader rebuilds exactly the model's key -> latest value", async () => {
  const op = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant("put" as const),
        key: fc.integer({ min: 0, max: 12 }),
        batch: fc.integer({ min: 1, max: 4 }),
        tombstone: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("compact" as const), advanceMs: fc.integer({ min: 0, max: 2000 }) }),
    },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 120 }), fc.constantFrom(0, 2), async (ops, codec) => {
      await withDir(async (dir) => {
        const clock = new ManualClock(1_000_000);
        const config = { ...compacted, "segment.bytes": 400, "delete.retention.ms": 1000 };
        const log = await PartitionLog.open(dir, { config, clock });
        const model = new Map<string, string>();
        let n = 0;
        for (const o of ops) {
          if (o.kind === "put") {
            const entries: [string, string | null][] = [];
            for (let i = 0; i < o.batch; i++) {
              const key = `k${(o.key + i * 5) % 13}`;
              const value = o.tombstone && i === 0 ? null : `v${n++}`;
              entries.push([key, value]);
              if (value === null) model.delete(key);
              else model.set(key, value);
            }
            log.append(batchOf(entries, { compression: codec }));
          } else {
            clock.nowMs += o.advanceMs;
            await log.flush();
            const report = await log.compact({ force: true });
            assert.equal(report.aborted, null);
          }
        }
        await log.flush();
        await log.compact({ force: true }); // every surviving tombstone gets a horizon...
        clock.nowMs += 5000;
        const report = await log.compact({ force: true }); // past every horizon: tombstones go
        const seen = readAll(log);
        assertMonotonic(seen);
        assert.deepEqual(materialize(seen), model);
        const cleaned = seen.filter((r) => r.offset < report.firstUncleanableOffset);
        assert.equal(new Set(cleaned.map((r) => r.key)).size, cleaned.length, "one record per key where cleaned");
        assert.ok(cleaned.every((r) => r.value !== null), "no tombstone outlives its horizon");
        await log.close();
      });
    }),
    { numRuns: 40 },
  );
});
