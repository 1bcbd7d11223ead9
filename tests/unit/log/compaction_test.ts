import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type CleanerSegment,
  type CompactionConfig,
  filterBatch,
  groupSegmentsBySize,
  hasCleanupPolicy,
  OffsetMap,
  planCleaning,
} from "../../../log/compaction.ts";
import { type BatchFields, buildRecordBatch, decodeRecordBatch } from "../../../protocol/record_batch.ts";
import { Compression } from "../../../protocol/record_batch_header.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const DAY = 86_400_000;

const config: CompactionConfig = {
  "cleanup.policy": "compact",
  "delete.retention.ms": DAY,
  "min.cleanable.dirty.ratio": 0.5,
  "min.compaction.lag.ms": 0,
  "max.compaction.lag.ms": Infinity,
  "segment.bytes": 1000,
};

function segment(baseOffset: number, nextOffset: number, extra: Partial<CleanerSegment> = {}): CleanerSegment {
  return { baseOffset, nextOffset, sizeBytes: 100, largestTimestampMs: 0, firstBatchTimestampMs: 0, ...extra };
}

const input = {
  logStartOffset: 0,
  cleanerCheckpoint: 0,
  upperBoundOffset: 1_000,
  nowMs: 10_000,
  pendingDeleteHorizonMs: null,
};

Deno.test("cleanup.policy lists delete, compact or both", () => {
  assert.ok(hasCleanupPolicy("compact,delete", "compact"));
  assert.ok(hasCleanupPolicy("compact, delete", "delete"));
  assert.ok(!hasCleanupPolicy("delete", "compact"));
});

Deno.test("planning never cleans the active segment", () => {
  const plan = planCleaning([segment(0, 10), segment(10, 20), segment(20, 25)], input, config);
  assert.deepEqual(
    [plan.reason, plan.segmentCount, plan.firstDirtyOffset, plan.firstUncleanableOffset, plan.dirtyRatio],
    ["dirty_ratio", 2, 0, 20, 1],
  );
  assert.equal(planCleaning([segment(0, 10)], input, config).reason, null, "a lone active segment is not cleaned");
});

Deno.test("planning stops at the caller's bound (the high watermark)", () => {
  const plan = planCleaning(
    [segment(0, 10), segment(10, 20), segment(20, 25)],
    { ...input, upperBoundOffset: 15 },
    config,
  );
  assert.deepEqual([plan.segmentCount, plan.firstUncleanableOffset], [1, 10]);
});

Deno.test("planning cleans only when the dirty ratio exceeds min.cleanable.dirty.ratio", () => {
  const segments = [segment(0, 10), segment(10, 20), segment(20, 30), segment(30, 31)];
  const half = planCleaning(segments, { ...input, cleanerCheckpoint: 10 }, config);
  assert.deepEqual([half.reason, half.cleanBytes, half.dirtyBytes], ["dirty_ratio", 100, 200]);
  const low = planCleaning(segments, { ...input, cleanerCheckpoint: 20 }, config);
  assert.deepEqual([low.reason, low.dirtyRatio], [null, 1 / 3]);
  assert.equal(planCleaning(segments, { ...input, cleanerCheckpoint: 20, force: true }, config).reason, "forced");
});

Deno.test("min.compaction.lag.ms keeps young segments out of the clean", () => {
  const segments = [
    segment(0, 10, { largestTimestampMs: 1_000 }),
    segment(10, 20, { largestTimestampMs: 9_500 }),
    segment(20, 30, { largestTimestampMs: 2_000 }),
    segment(30, 31),
  ];
  const plan = planCleaning(segments, input, { ...config, "min.compaction.lag.ms": 1_000 });
  assert.deepEqual([plan.segmentCount, plan.firstUncleanableOffset], [1, 10]);
});

Deno.test("max.compaction.lag.ms forces a clean of old dirty data whatever the ratio", () => {
  const segments = [
    segment(0, 10),
    segment(10, 20),
    segment(20, 30, { firstBatchTimestampMs: 3_000 }),
    segment(30, 31),
  ];
  const checkpointed = { ...input, cleanerCheckpoint: 20 };
  assert.equal(planCleaning(segments, checkpointed, { ...config, "max.compaction.lag.ms": 8_000 }).reason, null);
  assert.equal(
    planCleaning(segments, checkpointed, { ...config, "max.compaction.lag.ms": 5_000 }).reason,
    "max_compaction_lag",
  );
});

Deno.test("a passed delete horizon triggers a clean even with nothing dirty", () => {
  const segments = [segment(0, 10), segment(10, 11)];
  const clean = { ...input, cleanerCheckpoint: 10 };
  assert.equal(planCleaning(segments, { ...clean, pendingDeleteHorizonMs: 10_001 }, config).reason, null);
  assert.equal(planCleaning(segments, { ...clean, pendingDeleteHorizonMs: 10_000 }, config).reason, "delete_horizon");
});

Deno.test("a cleaner checkpoint outside the log restarts from the log start", () => {
  const segments = [segment(0, 10), segment(10, 20), segment(20, 21)];
  assert.equal(planCleaning(segments, { ...input, cleanerCheckpoint: 99 }, config).firstDirtyOffset, 0);
  const started = planCleaning(segments, { ...input, logStartOffset: 12, cleanerCheckpoint: 5 }, config);
  assert.deepEqual([started.firstDirtyOffset, started.cleanBytes, started.dirtyBytes], [12, 0, 100]);
});

Deno.test("segments are grouped while their sizes fit in segment.bytes", () => {
  const s = (baseOffset: number, nextOffset: number, sizeBytes: number) => ({ baseOffset, nextOffset, sizeBytes });
  assert.deepEqual(groupSegmentsBySize([s(0, 5, 40), s(5, 9, 40), s(9, 12, 40), s(12, 13, 90)], 100), [[0, 1], [2], [
    3,
  ]]);
  assert.deepEqual(groupSegmentsBySize([s(0, 5, 200)], 100), [[0]], "an oversized segment is a group of its own");
  assert.deepEqual(
    groupSegmentsBySize([s(0, 5, 1), s(2 ** 31, 2 ** 31 + 1, 1)], 100),
    [[0], [1]],
    "a group's offsets fit in 32-bit relative offsets",
  );
});

// ---------------------------------------------------------------------------------------------------------------
// filterBatch

type Entry = [key: string | null, value: string | null];

function batch(entries: Entry[], fields: BatchFields = {}, timestamp = 5_000): Uint8Array {
  return buildRecordBatch(
    entries.map(([k, v], i) => ({
      timestamp: timestamp + i,
      key: k === null ? null : enc.encode(k),
      value: v === null ? null : enc.encode(v),
      headers: [{ key: "h", value: enc.encode(`${i}`) }],
    })),
    { baseOffset: 100n, partitionLeaderEpoch: 7, ...fields },
  );
}

function mapOf(latest: Record<string, number>): OffsetMap {
  const map = new OffsetMap();
  for (const [k, offset] of Object.entries(latest)) map.put(enc.encode(k), offset);
  return map;
}

function records(bytes: Uint8Array) {
  const b = decodeRecordBatch(bytes);
  return b.records.map((r) => ({
    offset: Number(b.header.baseOffset) + r.offsetDelta,
    key: r.key && dec.decode(r.key),
    value: r.value && dec.decode(r.value),
    timestamp: r.timestamp,
    header: r.headers[0] && dec.decode(r.headers[0].value!),
  }));
}

const now = 1_000_000;

Deno.test("a batch keeps each key's latest record, with its offset, timestamp and headers", () => {
  const original = batch([["a", "1"], ["b", "1"], ["a", "2"], ["c", "1"]]);
  const result = filterBatch(original, { map: mapOf({ a: 102, b: 150, c: 103 }), nowMs: now, deleteRetentionMs: DAY });
  assert.deepEqual([result.action, result.recordsBefore, result.recordsAfter], ["rewrite", 4, 2]);
  assert.deepEqual(records(result.bytes!), [
    { offset: 102, key: "a", value: "2", timestamp: 5_002, header: "2" },
    { offset: 103, key: "c", value: "1", timestamp: 5_003, header: "3" },
  ]);
  const header = decodeRecordBatch(result.bytes!).header;
  assert.deepEqual(
    [header.baseOffset, header.lastOffsetDelta, header.partitionLeaderEpoch, header.baseTimestamp, header.maxTimestamp],
    [100n, 3, 7, 5_002n, 5_003n],
    "same base offset and lastOffsetDelta; timestamps of the kept records",
  );
});

Deno.test("a batch losing no record and holding no new tombstone is kept byte for byte", () => {
  const original = batch([["a", "1"], ["b", "1"]]);
  const result = filterBatch(original, { map: mapOf({ a: 100 }), nowMs: now, deleteRetentionMs: DAY });
  assert.equal(result.action, "keep");
  assert.equal(result.bytes, original);
});

Deno.test("the last record of a batch may go: lastOffsetDelta stays so offsets remain monotonic", () => {
  const result = filterBatch(batch([["a", "1"], ["b", "1"]]), {
    map: mapOf({ b: 200 }),
    nowMs: now,
    deleteRetentionMs: DAY,
  });
  const decoded = decodeRecordBatch(result.bytes!);
  assert.deepEqual([decoded.header.lastOffsetDelta, decoded.header.recordsCount], [1, 1]);
});

Deno.test("a surviving tombstone gets a delete horizon (bit 6, stored in baseTimestamp) and goes after it", () => {
  const original = batch([["gone", null], ["kept", "v"]]);
  const first = filterBatch(original, { map: mapOf({}), nowMs: now, deleteRetentionMs: DAY });
  assert.deepEqual([first.action, first.deleteHorizonMs], ["rewrite", now + DAY]);
  const marked = decodeRecordBatch(first.bytes!);
  assert.equal(marked.attributes.hasDeleteHorizon, true);
  assert.equal(marked.header.baseTimestamp, BigInt(now + DAY));
  assert.deepEqual(records(first.bytes!).map((r) => r.timestamp), [5_000, 5_001], "record timestamps unchanged");

  const before = filterBatch(first.bytes!, { map: mapOf({}), nowMs: now + DAY - 1, deleteRetentionMs: DAY });
  assert.deepEqual([before.action, before.deleteHorizonMs], ["keep", now + DAY], "the horizon is not moved");

  const after = filterBatch(first.bytes!, { map: mapOf({}), nowMs: now + DAY, deleteRetentionMs: DAY });
  assert.deepEqual([after.action, after.tombstonesRemoved, after.deleteHorizonMs], ["rewrite", 1, null]);
  const cleared = decodeRecordBatch(after.bytes!);
  assert.equal(cleared.attributes.hasDeleteHorizon, false);
  assert.deepEqual(records(after.bytes!), [{ offset: 101, key: "kept", value: "v", timestamp: 5_001, header: "1" }]);
});

Deno.test("a superseded tombstone goes at once", () => {
  const result = filterBatch(batch([["k", null]]), { map: mapOf({ k: 300 }), nowMs: now, deleteRetentionMs: DAY });
  assert.deepEqual([result.action, result.bytes, result.recordsAfter], ["drop", null, 0]);
});

Deno.test("records without a key are kept (the broker refuses them for compacted topics)", () => {
  const result = filterBatch(batch([[null, "x"], ["a", "1"]]), {
    map: mapOf({ a: 500 }),
    nowMs: now,
    deleteRetentionMs: DAY,
  });
  assert.deepEqual(records(result.bytes!).map((r) => [r.key, r.value]), [[null, "x"]]);
});

Deno.test("control and transactional batches are copied as they are", () => {
  const map = mapOf({ a: 999 });
  for (
    const fields of [{ control: true }, { transactional: true, producerId: 5n, producerEpoch: 0, baseSequence: 0 }]
  ) {
    const original = batch([["a", "1"]], fields);
    const result = filterBatch(original, { map, nowMs: now, deleteRetentionMs: DAY });
    assert.deepEqual([result.action, result.bytes], ["keep", original]);
  }
});

Deno.test("an emptied batch is dropped, unless it is an idempotent producer's last one", () => {
  const map = mapOf({ a: 999 });
  const plain = filterBatch(batch([["a", "1"]]), { map, nowMs: now, deleteRetentionMs: DAY });
  assert.equal(plain.action, "drop");

  const idempotent = { producerId: 42n, producerEpoch: 3, baseSequence: 17 };
  const last = filterBatch(batch([["a", "1"], ["a", "2"]], idempotent), { map, nowMs: now, deleteRetentionMs: DAY });
  assert.equal(last.action, "rewrite");
  const header = decodeRecordBatch(last.bytes!).header;
  assert.deepEqual(
    [
      header.baseOffset,
      header.lastOffsetDelta,
      header.recordsCount,
      header.producerId,
      header.producerEpoch,
      header.baseSequence,
    ],
    [100n, 1, 0, 42n, 3, 17],
  );

  map.putProducerBatch(42n, 900);
  const earlier = filterBatch(batch([["a", "1"]], idempotent), { map, nowMs: now, deleteRetentionMs: DAY });
  assert.equal(earlier.action, "drop", "a later batch of the producer carries its state");
});

Deno.test("compressed batches are recompressed with the same codec", () => {
  for (const compression of [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
    const original = batch([["a", "1"], ["a", "2"], ["b", "1"]], { compression });
    const result = filterBatch(original, { map: mapOf({ a: 101, b: 102 }), nowMs: now, deleteRetentionMs: DAY });
    const decoded = decodeRecordBatch(result.bytes!);
    assert.equal(decoded.attributes.compression, compression);
    assert.deepEqual(records(result.bytes!).map((r) => [r.offset, r.value]), [[101, "2"], [102, "1"]]);
  }
});

Deno.test("the offset map skips control and transactional batches and records below the dirty start", () => {
  const map = new OffsetMap();
  map.addBatch(decodeRecordBatch(batch([["a", "1"], ["b", "1"]])), 101);
  map.addBatch(decodeRecordBatch(batch([["c", "1"]], { baseOffset: 200n, transactional: true, producerId: 1n })), 0);
  map.addBatch(decodeRecordBatch(batch([["d", "1"]], { baseOffset: 300n, control: true })), 0);
  assert.deepEqual([map.get(enc.encode("a")), map.get(enc.encode("b")), map.get(enc.encode("c"))], [
    undefined,
    101,
    undefined,
  ]);
  assert.equal(map.latestOffset, 101);
  assert.ok(!map.isLastBatchOfProducer(1n, 100));
  assert.ok(map.isLastBatchOfProducer(1n, 200));
});

Deno.test("property: filtering every batch against the map keeps exactly each key's last record", () => {
  const entry = fc.tuple(fc.constantFrom("a", "b", "c", "d", "e"), fc.option(fc.constantFrom("x", "y", "z")));
  fc.assert(
    fc.property(
      fc.array(fc.array(entry, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 20 }),
      (batches) => {
        let next = 0;
        const built = batches.map((entries) => {
          const b = batch(entries as Entry[], { baseOffset: BigInt(next) });
          next += entries.length;
          return b;
        });
        const map = new OffsetMap();
        for (const b of built) map.addBatch(decodeRecordBatch(b), 0);
        const expected = new Map<string, { offset: number; value: string | null }>();
        let offset = 0;
        for (const entries of batches) for (const [k, v] of entries) expected.set(k, { offset: offset++, value: v });
        const kept: { offset: number; key: string | null; value: string | null }[] = [];
        for (const b of built) {
          const result = filterBatch(b, { map, nowMs: now, deleteRetentionMs: DAY });
          if (result.bytes) {
            kept.push(
              ...records(result.bytes).map(({ offset, key, value }) => ({ offset, key, value })),
            );
          }
        }
        const want = [...expected].map(([key, r]) => ({ offset: r.offset, key, value: r.value }));
        assert.deepEqual(kept, want.sort((x, y) => x.offset - y.offset));
      },
    ),
  );
});
