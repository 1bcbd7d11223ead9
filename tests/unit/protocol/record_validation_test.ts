import assert from "node:assert/strict";
import fc from "fast-check";
import { buildRecordBatch, decodeRecordBatch } from "../../../protocol/record_batch.ts";
import { Compression } from "../../../protocol/record_batch_header.ts";
import {
  type RecordsDefect,
  type RecordValidationOptions,
  validateRecords,
} from "../../../protocol/record_validation.ts";
import {
  forgeBatch,
  forgeRecord,
  forgeRecordsBatch,
  garbage,
  honestRecords,
  lyingCountBatch,
  poisonedBatch,
  relabelled,
  varint,
} from "../../fixtures/forged_batches.ts";

const CODECS = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
const te = new TextEncoder();

/** What is wrong with the batch's records, or undefined when Kafka would accept them. */
function defectOf(batch: Uint8Array, options?: RecordValidationOptions): RecordsDefect | undefined {
  return validateRecords(batch, options).defect;
}

function malformed(batch: Uint8Array, pattern: RegExp): RecordsDefect {
  const defect = defectOf(batch);
  assert.ok(defect, "the batch should be refused");
  assert.equal(defect.kind, "malformed");
  assert.match(defect.message, pattern);
  assert.deepEqual(defect.recordErrors, []);
  return defect;
}

Deno.test("well-formed batches of every codec pass, with keys, null values and headers", () => {
  for (const compression of CODECS) {
    const batch = buildRecordBatch([
      { timestamp: 1, key: te.encode("k"), value: te.encode("v"), headers: [{ key: "h", value: null }] },
      { timestamp: 9, key: null, value: null },
      {
        timestamp: 5,
        key: new Uint8Array(0),
        value: new Uint8Array(300),
        headers: [{ key: "", value: te.encode("x") }],
      },
    ], { compression });
    assert.equal(defectOf(batch), undefined, Compression[compression]);
  }
  assert.equal(defectOf(forgeRecordsBatch(honestRecords(200))), undefined);
});

Deno.test("garbage records behind a valid CRC are malformed", () => {
  malformed(poisonedBatch(), /^Record 0/);
});

Deno.test("a batch declaring more records than it holds is malformed", () => {
  malformed(lyingCountBatch(), /declares 1000 records but holds 3/);
});

Deno.test("a batch declaring fewer records than it holds is malformed", () => {
  malformed(forgeRecordsBatch(honestRecords(3), { recordsCount: 2 }), /declares 2 records, but \d+ bytes follow/);
});

Deno.test("a record length that disagrees with the record's fields is malformed", () => {
  malformed(
    forgeRecordsBatch([{ offsetDelta: 0, lengthAdjust: 5 }]),
    /^Record 0 has length \d+, but \d+ bytes are left/,
  );
  malformed(
    forgeRecordsBatch([{ offsetDelta: 0, lengthAdjust: 2 }, { offsetDelta: 1 }]),
    /^Record 0 has length \d+, but its fields take \d+ bytes/,
  );
  malformed(
    forgeRecordsBatch([{ offsetDelta: 0, lengthAdjust: -2 }]),
    /^Record 0: value length 2 runs past the record \(1 bytes left\)/,
  );
  malformed(forgeBatch([...varint(-2), ...forgeRecord({ offsetDelta: 0 }).slice(1)], 1), /length -2, below/);
  malformed(forgeBatch([...varint(3), 0, 0, 0], 1), /length 3, below the minimum/);
});

Deno.test("offset deltas must be 0..n-1 in order", () => {
  malformed(
    forgeRecordsBatch([{ offsetDelta: 0 }, { offsetDelta: 2 }, { offsetDelta: 1 }]),
    /^Record 1 has offset delta 2, expected 1$/,
  );
  malformed(forgeRecordsBatch([{ offsetDelta: 1 }]), /^Record 0 has offset delta 1, expected 0$/);
});

Deno.test("truncated and overlong varints are malformed", () => {
  malformed(forgeBatch([...forgeRecord({ offsetDelta: 0 }), 0x80], 2), /^Record 1: record length varint is cut short/);
  malformed(forgeBatch([0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 1), /longer than 5 bytes/);
  malformed(forgeBatch([0xff, 0xff, 0xff, 0xff, 0x7f], 1), /overflows 32 bits/);
  // A timestamp delta varlong running past its record.
  malformed(forgeBatch([...varint(6), 0, 0xff, 0xff, 0xff, 0xff, 0xff], 1), /timestamp delta varlong is cut short/);
});

Deno.test("key and value lengths past the end of the record are malformed", () => {
  malformed(forgeRecordsBatch([{ offsetDelta: 0, key: "k", keyLength: 40 }]), /key length 40 runs past the record/);
  malformed(forgeRecordsBatch([{ offsetDelta: 0, valueLength: 90 }]), /value length 90 runs past the record/);
  malformed(forgeRecordsBatch([{ offsetDelta: 0, key: "k", keyLength: -3 }]), /key length -3 is invalid/);
});

Deno.test("a header count that lies, a negative one, and a null header key are malformed", () => {
  malformed(forgeRecordsBatch([{ offsetDelta: 0, headers: [["h", "v"]], headerCount: 3 }]), /^Record 0: header key/);
  malformed(forgeRecordsBatch([{ offsetDelta: 0, headerCount: 1_000_000 }]), /header count 1000000/);
  malformed(forgeRecordsBatch([{ offsetDelta: 0, headerCount: -2 }]), /header count -2/);
  malformed(forgeRecordsBatch([{ offsetDelta: 0, headers: [[null, "v"]] }]), /header key length -1 is invalid/);
});

Deno.test("compressed batches are validated after decompression", () => {
  for (const compression of CODECS.slice(1)) {
    const name = Compression[compression];
    malformed(forgeBatch(garbage(60), 3, { compression }), /^Record 0/);
    malformed(
      forgeRecordsBatch(honestRecords(3), { compression, recordsCount: 1000 }),
      /declares 1000 records but holds 3/,
    );
    const undecompressable = defectOf(relabelled(forgeBatch(garbage(40), 2), compression));
    assert.equal(undecompressable?.kind, "undecompressable", name);
    assert.match(undecompressable.message, new RegExp(`${name} records do not decompress`));
  }
});

Deno.test("decompression stays within its bound, and a count no bound can hold is refused before decompressing", () => {
  const big = buildRecordBatch([{ timestamp: 0, key: null, value: new Uint8Array(100_000) }], {
    compression: Compression.Zstd,
  });
  assert.equal(defectOf(big, { maxDecompressedBytes: 10_000 })?.kind, "undecompressable");
  assert.equal(defectOf(big, { maxDecompressedBytes: 200_000 }), undefined);
  const huge = forgeRecordsBatch(honestRecords(1), { compression: Compression.Gzip, recordsCount: 2_000_000_000 });
  malformed(huge, /declares 2000000000 records, more than/);
});

Deno.test("keyless records on a compacted topic: one record error per keyless record, the innocent ones unnamed", () => {
  const batch = forgeRecordsBatch(honestRecords(100, (i) => i % 10 === 3 ? null : `k${i}`));
  assert.equal(defectOf(batch), undefined, "keys are only required on compacted topics");
  const defect = defectOf(batch, { requireKeys: true, topicPartition: "orders-0" });
  assert.equal(defect?.kind, "keyless_records");
  assert.deepEqual(defect.recordErrors.map((e) => e.batchIndex), [3, 13, 23, 33, 43, 53, 63, 73, 83, 93]);
  const perRecord = "Compacted topic cannot accept message without key in topic partition orders-0";
  assert.ok(defect.recordErrors.every((e) => e.message === perRecord));
  assert.equal(
    defect.message,
    "One or more records have been rejected due to 10 record errors in total, and only showing the first three " +
      `errors at most: [RecordError(batchIndex=3, message='${perRecord}'), RecordError(batchIndex=13, ` +
      `message='${perRecord}'), RecordError(batchIndex=23, message='${perRecord}')]`,
  );
  assert.equal(defectOf(forgeRecordsBatch(honestRecords(5)), { requireKeys: true }), undefined);
});

Deno.test("a malformed batch on a compacted topic is malformed, without record errors", () => {
  const batch = forgeRecordsBatch([{ offsetDelta: 0 }, { offsetDelta: 1, valueLength: 99 }]);
  assert.equal(defectOf(batch, { requireKeys: true })?.kind, "malformed");
});

Deno.test("property: whatever validation accepts, the strict decoder decodes; whatever it refuses, it does not", () => {
  // Single-byte corruptions of a well-formed batch, CRC re-summed: the validator and the decoder must agree.
  const base = buildRecordBatch([
    { timestamp: 10, key: te.encode("key"), value: te.encode("value"), headers: [{ key: "h", value: te.encode("x") }] },
    { timestamp: 11, key: null, value: te.encode("second") },
  ]);
  fc.assert(
    fc.property(fc.integer({ min: 61, max: base.length - 1 }), fc.integer({ min: 0, max: 255 }), (pos, byte) => {
      const batch = forgeBatch(base.subarray(61).with(pos - 61, byte), 2);
      let decodes = true;
      try {
        const decoded = decodeRecordBatch(batch);
        decodes = decoded.records.every((r, i) => r.offsetDelta === i);
      } catch {
        decodes = false;
      }
      const accepted = defectOf(batch) === undefined;
      // The decoder also rejects header keys that are not UTF-8, which Kafka (and the validator) accept.
      if (!accepted) assert.equal(decodes, false, `validator refused what decodes: pos ${pos} byte ${byte}`);
      if (accepted && !decodes) {
        assert.throws(() => decodeRecordBatch(batch), /UTF-8/, `pos ${pos} byte ${byte}`);
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("records with timestamps out of range: INVALID_TIMESTAMP-class refusal naming each such record", () => {
  const base = 1_700_000_000_000;
  const records = honestRecords(5).map((r, i) => ({ ...r, timestampDelta: i === 1 || i === 3 ? 86_400_000 : i }));
  const batch = forgeRecordsBatch(records, { baseTimestamp: base });
  const range = { min: base - 1000, max: base + 3_600_000 };
  assert.equal(defectOf(batch), undefined, "timestamps are only checked when a range is given");
  const defect = defectOf(batch, { timestampRange: range });
  assert.equal(defect?.kind, "invalid_timestamps");
  assert.equal(defect.message, "One or more records have been rejected due to invalid timestamp");
  assert.deepEqual(defect.recordErrors.map((e) => e.batchIndex), [1, 3]);
  assert.equal(
    defect.recordErrors[0].message,
    `Timestamp ${base + 86_400_000} of message with offset 1 is out of range. The timestamp should be within ` +
      `[${range.min}, ${range.max}]`,
  );
  assert.equal(defectOf(batch, { timestampRange: { min: base, max: base + 86_400_000 } }), undefined);
});

Deno.test("a record whose own timestamp is -1 passes the range check; one before the range is refused", () => {
  const batch = forgeRecordsBatch([{ offsetDelta: 0, timestampDelta: 0 }, { offsetDelta: 1, timestampDelta: -1 }], {
    baseTimestamp: 0,
  });
  assert.deepEqual(
    defectOf(batch, { timestampRange: { min: 0, max: 10 } }),
    undefined,
    "record 1's timestamp is 0 + -1 = -1: no timestamp",
  );
  const refused = defectOf(batch, { timestampRange: { min: 5, max: 10 } });
  assert.deepEqual(refused?.recordErrors.map((e) => e.batchIndex), [0]);
});

Deno.test("on a compacted topic a keyless record gets the key error, others their timestamp errors, all in one answer", () => {
  const records = honestRecords(4, (i) => i === 0 ? null : `k${i}`).map((r, i) => ({
    ...r,
    timestampDelta: i === 0 || i === 2 ? 1_000_000_000 : 0,
  }));
  const defect = defectOf(forgeRecordsBatch(records, { baseTimestamp: 1000 }), {
    requireKeys: true,
    timestampRange: { min: 0, max: 2000 },
  });
  assert.equal(defect?.kind, "invalid_timestamps", "any timestamp error makes it INVALID_TIMESTAMP, as in Kafka");
  assert.deepEqual(defect.recordErrors.map((e) => [e.batchIndex, e.message.split(" ")[0]]), [
    [0, "Compacted"],
    [2, "Timestamp"],
  ]);
});

Deno.test("the largest record timestamp is reported, whatever the batch header says, as Kafka rewrites it", () => {
  const records = honestRecords(3).map((r, i) => ({ ...r, timestampDelta: [5, 40, -3][i] }));
  const batch = forgeRecordsBatch(records, { baseTimestamp: 1000 }); // its header's maxTimestamp says 1000
  assert.equal(validateRecords(batch, { timestampRange: { min: 0, max: 2000 } }).maxTimestamp, 1040);
  assert.equal(validateRecords(batch).maxTimestamp, -1, "not decoded without a range");
  const none = forgeRecordsBatch([{ offsetDelta: 0, timestampDelta: 0 }], { baseTimestamp: -1 });
  assert.equal(validateRecords(none, { timestampRange: { min: 0, max: 10 } }).maxTimestamp, -1);
});
