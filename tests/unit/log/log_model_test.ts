import assert from "node:assert/strict";
import fc from "fast-check";
import { PartitionLog } from "../../../log/partition_log.ts";
import { buildBatch, concatBatches, listBatches } from "./batch_fixture.ts";

/** What the log should hold: each batch's offsets and bytes. */
interface ModelBatch {
  timestamp: number;
  baseOffset: number;
  lastOffset: number;
  bytes: Uint8Array;
}

type Op =
  | { kind: "append"; batches: { records: number; payloadBytes: number; timestamp: number }[] }
  | { kind: "flush" }
  | { kind: "byTime"; timestamp: number }
  | { kind: "read"; at: number; maxBytes: number }
  | { kind: "truncate"; at: number }
  | { kind: "deleteBefore"; at: number }
  | { kind: "reopen"; clean: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      batches: fc.array(
        fc.record({
          records: fc.integer({ min: 1, max: 5 }),
          payloadBytes: fc.integer({ min: 0, max: 300 }),
          timestamp: fc.integer({ min: 0, max: 1_000 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: "flush" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("byTime" as const), timestamp: fc.integer({ min: -1, max: 1_001 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("read" as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      maxBytes: fc.integer({ min: 1, max: 2_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("deleteBefore" as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reopen" as const), clean: fc.boolean() }) },
);

Deno.test({
  name: "the log behaves like a list of batches under random appends, reads, truncations, deletions and restarts",
  sanitizeResources: false, // unclean reopens drop the old object without closing it, like a crash
  fn: async () => {
    const config = { "segment.bytes": 1_500, "index.interval.bytes": 250 };
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 20, maxLength: 80, size: "max" }), async (ops) => {
        const root = await Deno.makeTempDir({ prefix: "samsa-model-" });
        const dir = `${root}/topic-0`;
        try {
          let log = await PartitionLog.open(dir, { config });
          let model: ModelBatch[] = [];
          let logStart = 0;
          let emptyEnd = 0; // the log end when the model holds no batch (after truncating everything)
          const end = () => (model.length ? model[model.length - 1].lastOffset + 1 : emptyEnd);
          for (const op of ops) {
            if (op.kind === "append") {
              const parts = op.batches.map((b) => buildBatch({ ...b, fill: model.length % 256 }));
              const input = concatBatches(parts);
              const expectedBase = end();
              const { baseOffset } = log.append(input); // stamps the offsets into `input`
              assert.equal(baseOffset, expectedBase);
              let next = baseOffset;
              let pos = 0;
              for (const [i, part] of parts.entries()) {
                const bytes = input.slice(pos, pos + part.length);
                model.push({
                  timestamp: op.batches[i].timestamp,
                  baseOffset: next,
                  lastOffset: next + op.batches[i].records - 1,
                  bytes,
                });
                next += op.batches[i].records;
                pos += part.length;
              }
            } else if (op.kind === "byTime") {
              const found = model.find((b) => b.lastOffset >= logStart && b.timestamp >= op.timestamp);
              const expected = found
                ? { timestamp: found.timestamp, offset: Math.max(found.baseOffset, logStart) }
                : null;
              assert.deepEqual(log.offsetForTimestamp(op.timestamp), expected);
            } else if (op.kind === "flush") {
              assert.equal(await log.flush(), log.logEndOffset);
            } else if (op.kind === "read") {
              const visible = model.filter((b) => b.lastOffset >= logStart);
              if (visible.length === 0) continue;
              const target = logStart + Math.floor(op.at * (log.logEndOffset - logStart));
              if (target >= log.logEndOffset) continue;
              const { records } = log.read(target, op.maxBytes, { upTo: log.logEndOffset });
              const i = model.findIndex((b) => b.lastOffset >= target);
              const expected: Uint8Array[] = [model[i].bytes];
              let size = model[i].bytes.length;
              // Whole following batches while they fit (the log may stop earlier, at a segment end).
              for (let j = i + 1; j < model.length && size + model[j].bytes.length <= op.maxBytes; j++) {
                expected.push(model[j].bytes);
                size += model[j].bytes.length;
              }
              const got = listBatches(records);
              assert.ok(got.length >= 1 && got.length <= expected.length);
              assert.deepEqual(records, concatBatches(expected.slice(0, got.length)));
            } else if (op.kind === "truncate") {
              const target = logStart + Math.floor(op.at * (log.logEndOffset - logStart));
              await log.truncateTo(target);
              const cut = model.findIndex((b) => b.lastOffset >= target);
              if (cut >= 0) {
                if (cut === 0) emptyEnd = target < logStart ? target : model[0].baseOffset;
                model = model.slice(0, cut);
              }
              logStart = Math.min(logStart, end());
            } else if (op.kind === "deleteBefore") {
              const target = logStart + Math.floor(op.at * (log.logEndOffset - logStart));
              await log.deleteRecordsBefore(target);
              logStart = Math.max(logStart, target);
            } else {
              if (op.clean) await log.close();
              // An unclean reopen drops the object as a killed process would; the page cache keeps what was written.
              log = await PartitionLog.open(dir, { config });
              assert.equal(log.recovery.truncation, null);
            }
            assert.equal(log.logEndOffset, end());
            assert.equal(log.logStartOffset, logStart);
          }
          await log.close();
        } finally {
          await Deno.remove(root, { recursive: true });
        }
      }),
      { numRuns: Number(Deno.env.get("LOG_MODEL_RUNS") ?? 60) },
    );
  },
});
