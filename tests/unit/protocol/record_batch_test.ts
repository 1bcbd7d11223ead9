import assert from "node:assert/strict";
import fc from "fast-check";
import { ProtocolError } from "../../../protocol/protocol_error.ts";
import {
  type BatchRecord,
  buildRecordBatch,
  decodeRecordBatch,
  iterateBatches,
  readBatchAttributes,
  TimestampType,
} from "../../../protocol/record_batch.ts";
import {
  BATCH_HEADER_SIZE,
  BatchOffsets,
  Compression,
  isBatchCrcValid,
  readBatchHeader,
  stampBaseOffset,
  stampPartitionLeaderEpoch,
  writeBatchCrc,
} from "../../../protocol/record_batch_header.ts";

const CODECS = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
const te = new TextEncoder();

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** Hex laid out one field a line, each followed by two or more spaces and a comment. */
function annotatedHex(s: string): Uint8Array {
  return hex(s.split("\n").map((line) => line.trim().split(/\s{2,}/)[0]).join(""));
}

/** Bit-by-bit CRC-32C (reflected polynomial 0x82f63b78): slow, obvious, independent of the native one. */
function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function throwsProtocolError(run: () => unknown, kind?: ProtocolError["kind"]): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${e}`);
    if (kind !== undefined) assert.equal(e.kind, kind, (e as Error).message);
    return true;
  });
}

/** A v2 batch around a hand-written records section, with a correct CRC, for decoder edge cases. */
function batchAround(section: Uint8Array, recordsCount: number, attributes = 0): Uint8Array {
  const bytes = new Uint8Array(BATCH_HEADER_SIZE + section.length);
  const view = new DataView(bytes.buffer);
  view.setInt32(BatchOffsets.batchLength, bytes.length - 12);
  view.setInt8(BatchOffsets.magic, 2);
  view.setInt16(BatchOffsets.attributes, attributes);
  view.setInt32(BatchOffsets.lastOffsetDelta, recordsCount - 1);
  view.setInt32(BatchOffsets.recordsCount, recordsCount);
  bytes.set(section, BATCH_HEADER_SIZE);
  writeBatchCrc(bytes);
  return bytes;
}

const headerArb = fc.record({
  key: fc.string({ maxLength: 20, unit: "grapheme" }),
  value: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
});
const recordArb = fc.record({
  timestamp: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
  value: fc.option(
    fc.oneof({ weight: 9, arbitrary: fc.uint8Array({ maxLength: 300 }) }, {
      weight: 1,
      arbitrary: fc.uint8Array({ minLength: 20_000, maxLength: 100_000 }),
    }),
    { nil: null },
  ),
  headers: fc.array(headerArb, { maxLength: 4 }),
});

// --- known answers

Deno.test("the reference CRC-32C gives the standard check value", () => {
  assert.equal(referenceCrc32c(te.encode("123456789")), 0xe3069283);
});

Deno.test("an uncompressed batch is laid out byte for byte as Kafka's spec says", () => {
  const records: BatchRecord[] = [
    { timestamp: 1000, key: te.encode("k"), value: te.encode("v1"), headers: [{ key: "h", value: hex("01") }] },
    { timestamp: 1005, key: null, value: null },
  ];
  const built = buildRecordBatch(records, { partitionLeaderEpoch: 0 });
  const expected = annotatedHex(`
    0000000000000000  baseOffset 0
    00000046          batchLength 70 = 82 - 12
    00000000          partitionLeaderEpoch 0
    02                magic 2
    00000000          crc, filled in below
    0000              attributes: no compression, create time, not transactional, not control
    00000001          lastOffsetDelta 1
    00000000000003e8  baseTimestamp 1000
    00000000000003ed  maxTimestamp 1005
    ffffffffffffffff  producerId -1
    ffff              producerEpoch -1
    ffffffff          baseSequence -1
    00000002          recordsCount 2
    1a                record 0: length 13 (zigzag 26)
    00                  attributes
    00                  timestampDelta 0
    00                  offsetDelta 0
    02 6b               keyLength 1, "k"
    04 7631             valueLength 2, "v1"
    02                  headersCount 1
    02 68               headerKeyLength 1, "h"
    02 01               headerValueLength 1, 0x01
    0c                record 1: length 6
    00                  attributes
    0a                  timestampDelta 5
    02                  offsetDelta 1
    01                  keyLength -1: null
    01                  valueLength -1: null
    00                  headersCount 0
  `);
  assert.equal(expected.length, 82);
  const crc = referenceCrc32c(expected.subarray(BatchOffsets.attributes));
  new DataView(expected.buffer).setUint32(BatchOffsets.crc, crc);
  assert.equal(crc, 0x5cc8b61e, "pinned: the CRC-32C of the bytes above from attributes on");
  assert.deepEqual(built, expected);
});

Deno.test("the known-answer batch decodes to its records", () => {
  const batch = buildRecordBatch([
    { timestamp: 1000, key: te.encode("k"), value: te.encode("v1"), headers: [{ key: "h", value: hex("01") }] },
    { timestamp: 1005, key: null, value: null },
  ]);
  const { header, records } = decodeRecordBatch(batch);
  assert.equal(header.recordsCount, 2);
  assert.deepEqual(records, [
    {
      attributes: 0,
      timestampDelta: 0,
      offsetDelta: 0,
      timestamp: 1000,
      key: te.encode("k"),
      value: te.encode("v1"),
      headers: [{ key: "h", value: hex("01") }],
    },
    { attributes: 0, timestampDelta: 5, offsetDelta: 1, timestamp: 1005, key: null, value: null, headers: [] },
  ]);
});

// --- round trips

Deno.test("random batches round-trip through every codec with a valid CRC", () => {
  fc.assert(
    fc.property(
      fc.array(recordArb, { minLength: 1, maxLength: 30 }),
      fc.constantFrom(...CODECS),
      fc.bigInt({ min: 0n, max: 2n ** 62n }),
      (records, compression, baseOffset) => {
        const batch = buildRecordBatch(records, { compression, baseOffset, producerId: 42n, producerEpoch: 3 });
        assert.ok(isBatchCrcValid(batch));
        assert.equal(
          new DataView(batch.buffer, batch.byteOffset).getUint32(BatchOffsets.crc),
          referenceCrc32c(batch.subarray(BatchOffsets.attributes)),
        );
        const decoded = decodeRecordBatch(batch);
        assert.equal(decoded.attributes.compression, compression);
        assert.equal(decoded.header.baseOffset, baseOffset);
        assert.equal(decoded.header.lastOffsetDelta, records.length - 1);
        assert.equal(decoded.header.baseTimestamp, BigInt(records[0].timestamp));
        assert.equal(decoded.header.maxTimestamp, BigInt(Math.max(...records.map((r) => r.timestamp))));
        assert.equal(decoded.records.length, records.length);
        decoded.records.forEach((got, i) => {
          assert.equal(got.offsetDelta, i);
          assert.equal(got.timestamp, records[i].timestamp);
          assert.deepEqual(got.key, records[i].key);
          assert.deepEqual(got.value, records[i].value);
          assert.deepEqual(got.headers, records[i].headers.map((h) => ({ key: h.key, value: h.value })));
        });
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("an empty batch carries no timestamps and a lastOffsetDelta of -1", () => {
  const { header, records } = decodeRecordBatch(buildRecordBatch([]));
  assert.equal(records.length, 0);
  assert.equal(header.baseTimestamp, -1n);
  assert.equal(header.maxTimestamp, -1n);
  assert.equal(header.lastOffsetDelta, -1);
});

Deno.test("timestamps far before the base timestamp round-trip through negative varlong deltas", () => {
  const records = [1_700_000_000_000, 0, 3_000_000_000_000, 1_699_999_999_999].map((timestamp) => ({
    timestamp,
    key: null,
    value: null,
  }));
  const decoded = decodeRecordBatch(buildRecordBatch(records));
  assert.deepEqual(decoded.records.map((r) => r.timestamp), records.map((r) => r.timestamp));
  assert.deepEqual(decoded.records.map((r) => r.timestampDelta), [0, -1_700_000_000_000, 1_300_000_000_000, -1]);
});

Deno.test("log-append-time batches give every record the batch's maxTimestamp", () => {
  const batch = buildRecordBatch([{ timestamp: 5, key: null, value: null }, { timestamp: 9, key: null, value: null }], {
    timestampType: TimestampType.LogAppendTime,
    logAppendTimeMs: 777,
  });
  const decoded = decodeRecordBatch(batch);
  assert.equal(decoded.attributes.timestampType, TimestampType.LogAppendTime);
  assert.equal(decoded.header.maxTimestamp, 777n);
  assert.deepEqual(decoded.records.map((r) => r.timestamp), [777, 777]);
});

// --- header fields and stamping

Deno.test("stamping the base offset and leader epoch keeps the CRC valid without touching the records", () => {
  for (const compression of CODECS) {
    const batch = buildRecordBatch([{ timestamp: 1, key: te.encode("a"), value: te.encode("b") }], { compression });
    const records = batch.slice(BATCH_HEADER_SIZE);
    stampBaseOffset(batch, 123_456_789_012n);
    stampPartitionLeaderEpoch(batch, 17);
    assert.ok(isBatchCrcValid(batch));
    assert.deepEqual(batch.subarray(BATCH_HEADER_SIZE), records);
    const header = readBatchHeader(batch);
    assert.equal(header.baseOffset, 123_456_789_012n);
    assert.equal(header.partitionLeaderEpoch, 17);
    assert.equal(decodeRecordBatch(batch).records.length, 1);
  }
});

Deno.test("batch fields are written where the header reader finds them", () => {
  const batch = buildRecordBatch([{ timestamp: 10, key: null, value: null }], {
    baseOffset: 99n,
    partitionLeaderEpoch: 4,
    producerId: 1234567890123n,
    producerEpoch: 321,
    baseSequence: 55,
    transactional: true,
    compression: Compression.Zstd,
  });
  const header = readBatchHeader(batch);
  assert.equal(header.baseOffset, 99n);
  assert.equal(header.partitionLeaderEpoch, 4);
  assert.equal(header.magic, 2);
  assert.equal(header.producerId, 1234567890123n);
  assert.equal(header.producerEpoch, 321);
  assert.equal(header.baseSequence, 55);
  assert.equal(header.attributes, 0x14);
  assert.equal(header.batchLength, batch.length - 12);
});

Deno.test("attribute bits are read as codec, timestamp type, transactional, control and delete horizon", () => {
  assert.deepEqual(readBatchAttributes(0), {
    compression: Compression.None,
    timestampType: TimestampType.CreateTime,
    transactional: false,
    control: false,
    hasDeleteHorizon: false,
  });
  assert.deepEqual(readBatchAttributes(0x7c), {
    compression: Compression.Zstd,
    timestampType: TimestampType.LogAppendTime,
    transactional: true,
    control: true,
    hasDeleteHorizon: true,
  });
  for (let codec = 0; codec <= 4; codec++) assert.equal(readBatchAttributes(0x30 | codec).compression, codec);
  assert.equal(readBatchAttributes(0x08).timestampType, TimestampType.LogAppendTime);
  assert.equal(readBatchAttributes(0x10).transactional, true);
  assert.equal(readBatchAttributes(0x20).control, true);
  assert.equal(readBatchAttributes(0x40).hasDeleteHorizon, true);
  // Each built flag lands on its bit.
  const built = buildRecordBatch([], {
    control: true,
    transactional: true,
    timestampType: TimestampType.LogAppendTime,
    compression: Compression.Lz4,
  });
  assert.equal(readBatchHeader(built).attributes, 0x20 | 0x10 | 0x08 | 3);
});

// --- strict decoding

Deno.test("a flipped bit anywhere after the leader epoch fails the CRC check", () => {
  const batch = buildRecordBatch([{ timestamp: 1, key: te.encode("key"), value: te.encode("value") }]);
  for (let i = BatchOffsets.magic + 1; i < batch.length; i++) {
    const bad = batch.slice();
    bad[i] ^= 0x10;
    throwsProtocolError(() => decodeRecordBatch(bad), "invalid_value");
  }
});

Deno.test("every truncation of a valid batch throws ProtocolError", () => {
  for (const compression of CODECS) {
    const batch = buildRecordBatch(
      [
        {
          timestamp: 1,
          key: te.encode("key"),
          value: te.encode("value ".repeat(50)),
          headers: [{ key: "h", value: null }],
        },
        { timestamp: 2, key: null, value: te.encode("second") },
      ],
      { compression },
    );
    for (let n = 0; n < batch.length; n++) throwsProtocolError(() => decodeRecordBatch(batch.subarray(0, n)));
  }
});

Deno.test("every truncation of the records section, re-framed with a valid CRC, throws ProtocolError", () => {
  const batch = buildRecordBatch([
    {
      timestamp: 1,
      key: te.encode("key"),
      value: te.encode("value"),
      headers: [{ key: "hk", value: te.encode("hv") }],
    },
    { timestamp: 300_000, key: null, value: null, headers: [{ key: "x", value: null }] },
  ]);
  const section = batch.subarray(BATCH_HEADER_SIZE);
  for (let n = 0; n < section.length; n++) {
    throwsProtocolError(() => decodeRecordBatch(batchAround(section.subarray(0, n), 2)));
  }
  // Likewise for compressed sections: the codec or the record decoder must notice.
  for (const compression of [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
    const packed = buildRecordBatch([{ timestamp: 1, key: null, value: te.encode("v".repeat(100)) }], { compression });
    const body = packed.subarray(BATCH_HEADER_SIZE);
    for (let n = 0; n < body.length; n++) {
      throwsProtocolError(() => decodeRecordBatch(batchAround(body.subarray(0, n), 1, compression)));
    }
  }
});

Deno.test("random bytes never escape as anything but ProtocolError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodeRecordBatch(bytes);
      } catch (e) {
        assert.ok(e instanceof ProtocolError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("random records sections with valid CRCs decode or throw ProtocolError, for every codec", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 120 }),
      fc.integer({ min: -2, max: 40 }),
      fc.constantFrom(...CODECS, 5, 6, 7),
      (section, count, attributes) => {
        try {
          decodeRecordBatch(batchAround(section, count, attributes));
        } catch (e) {
          assert.ok(e instanceof ProtocolError, String(e));
        }
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("mutated valid batches, re-checksummed, decode or throw ProtocolError", () => {
  const batches = CODECS.map((compression) =>
    buildRecordBatch([
      {
        timestamp: 1,
        key: te.encode("key"),
        value: te.encode("value"),
        headers: [{ key: "h", value: te.encode("v") }],
      },
      { timestamp: 2, key: null, value: te.encode("x".repeat(70)) },
    ], { compression })
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...batches),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      (batch, edits) => {
        const bad = batch.slice();
        for (const [at, value] of edits) bad[BATCH_HEADER_SIZE + (at % (bad.length - BATCH_HEADER_SIZE))] = value;
        writeBatchCrc(bad);
        try {
          decodeRecordBatch(bad);
        } catch (e) {
          assert.ok(e instanceof ProtocolError, String(e));
        }
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("a records count that cannot fit in the bytes fails before any record is decoded", () => {
  throwsProtocolError(() => decodeRecordBatch(batchAround(new Uint8Array(70), 11)), "invalid_length");
  throwsProtocolError(() => decodeRecordBatch(batchAround(new Uint8Array(0), 0x7fffffff)), "invalid_length");
  throwsProtocolError(() => decodeRecordBatch(batchAround(new Uint8Array(0), -1)), "invalid_length");
  // Compressed: the count is checked against the decompression bound before decompressing.
  const gz = buildRecordBatch([{ timestamp: 0, key: null, value: null }], { compression: Compression.Gzip });
  const lying = batchAround(gz.subarray(BATCH_HEADER_SIZE), 2_000_000, Compression.Gzip);
  throwsProtocolError(() => decodeRecordBatch(lying, { maxDecompressedBytes: 1_000_000 }), "invalid_length");
});

Deno.test("hand-written malformed records are refused with the right kind", () => {
  const cases: [string, string, ProtocolError["kind"]][] = [
    ["record length negative", "01" + "000000000000", "invalid_length"],
    ["record length past the section", "1400000000000000", "invalid_length"],
    ["offsetDelta varint of 6 bytes", "16" + "0000" + "ffffffffff7f" + "010100", "invalid_value"],
    ["offsetDelta varint overflowing 32 bits", "14" + "0000" + "ffffffff7f" + "010100", "invalid_value"],
    ["timestampDelta varlong beyond 2^53", "18" + "00" + "ffffffffffffffff7f" + "00010100", "invalid_value"],
    ["key length below -1", "0c0000000301" + "00", "invalid_length"],
    ["key length past the record", "0c0000000a0100", "invalid_length"],
    ["negative headers count", "0c0000000101" + "01", "invalid_length"],
    ["headers count that cannot fit", "0c0000000101" + "0a", "invalid_length"],
    ["null header key", "100000000101020102", "invalid_value"],
    ["header key not UTF-8", "12000000010102" + "02ff" + "01", "invalid_value"],
    ["record length longer than its fields", "0e000000010100" + "00", "invalid_length"],
    ["bytes after the last record", "0c000000010100" + "00", "invalid_length"],
  ];
  for (const [name, section, kind] of cases) {
    assert.throws(() => decodeRecordBatch(batchAround(hex(section), 1)), (e: unknown) => {
      assert.ok(e instanceof ProtocolError, `${name}: ${e}`);
      assert.equal(e.kind, kind, `${name}: ${e.message}`);
      return true;
    });
  }
  // The smallest well-formed record decodes, which shows the cases above fail for the stated reason.
  assert.equal(decodeRecordBatch(batchAround(hex("0c0000000101" + "00"), 1)).records.length, 1);
});

Deno.test("bad magic, a short batchLength and unknown codecs are refused", () => {
  const batch = buildRecordBatch([{ timestamp: 0, key: null, value: null }]);
  const magic1 = batch.slice();
  magic1[BatchOffsets.magic] = 1;
  throwsProtocolError(() => decodeRecordBatch(magic1), "invalid_value");
  const short = batch.slice();
  new DataView(short.buffer).setInt32(BatchOffsets.batchLength, 10);
  throwsProtocolError(() => decodeRecordBatch(short), "invalid_length");
  throwsProtocolError(() => decodeRecordBatch(batchAround(hex("0c000000010100"), 1, 6)), "invalid_value");
});

Deno.test("a compressed batch over the decompression bound is refused", () => {
  const batch = buildRecordBatch([{ timestamp: 0, key: null, value: new Uint8Array(1_000_000) }], {
    compression: Compression.Zstd,
  });
  assert.ok(batch.length < 1000);
  throwsProtocolError(() => decodeRecordBatch(batch, { maxDecompressedBytes: 100_000 }), "invalid_length");
  assert.equal(decodeRecordBatch(batch, { maxDecompressedBytes: 2_000_000 }).records.length, 1);
});

Deno.test("the builder refuses values Kafka cannot carry", () => {
  throwsProtocolError(() => buildRecordBatch([{ timestamp: 1.5, key: null, value: null }]), "invalid_value");
  throwsProtocolError(() => buildRecordBatch([], { producerEpoch: 40_000 }), "invalid_value");
  throwsProtocolError(() => buildRecordBatch([], { compression: 9 as Compression }), "invalid_value");
  throwsProtocolError(() => buildRecordBatch([], { baseOffset: 2n ** 63n }), "invalid_value");
  throwsProtocolError(() => buildRecordBatch([], { producerId: -(2n ** 63n) - 1n }), "invalid_value");
  throwsProtocolError(
    () => buildRecordBatch([], { timestampType: TimestampType.LogAppendTime, logAppendTimeMs: 0.5 }),
    "invalid_value",
  );
  throwsProtocolError(
    () =>
      buildRecordBatch([{ timestamp: 0, key: null, value: null }, { timestamp: 2 ** 53 - 1, key: null, value: null }]),
    "invalid_value",
  );
});

// --- walking concatenated batches

Deno.test("iterateBatches yields each batch's position, size and header", () => {
  const a = buildRecordBatch([{ timestamp: 1, key: null, value: te.encode("a") }], { baseOffset: 0n });
  const b = buildRecordBatch([{ timestamp: 2, key: null, value: te.encode("bb") }], {
    baseOffset: 1n,
    compression: Compression.Snappy,
  });
  const c = buildRecordBatch([], { baseOffset: 2n });
  const all = new Uint8Array([...a, ...b, ...c]);
  const it = iterateBatches(all);
  const slots = [];
  let step = it.next();
  while (!step.done) {
    slots.push(step.value);
    step = it.next();
  }
  assert.equal(step.value, 0, "no trailing bytes");
  assert.deepEqual(slots.map((s) => [s.pos, s.size, s.header.baseOffset]), [
    [0, a.length, 0n],
    [a.length, b.length, 1n],
    [a.length + b.length, c.length, 2n],
  ]);
  for (const slot of slots) assert.ok(isBatchCrcValid(all, slot.pos));
});

Deno.test("iterateBatches stops cleanly at a trailing partial batch, whatever its length", () => {
  const a = buildRecordBatch([{ timestamp: 1, key: null, value: te.encode("a") }]);
  const b = buildRecordBatch([{ timestamp: 2, key: null, value: te.encode("b".repeat(100)) }]);
  for (let cut = 0; cut < b.length; cut++) {
    const bytes = new Uint8Array([...a, ...b.subarray(0, cut)]);
    const it = iterateBatches(bytes);
    const first = it.next();
    assert.ok(!first.done && first.value.size === a.length);
    const end = it.next();
    assert.ok(end.done);
    assert.equal(end.value, cut, "the generator returns the trailing byte count");
  }
  assert.deepEqual([...iterateBatches(new Uint8Array(0))], []);
});

Deno.test("iterateBatches refuses impossible batch lengths and old magic values", () => {
  const batch = buildRecordBatch([{ timestamp: 0, key: null, value: null }]);
  const short = batch.slice();
  new DataView(short.buffer).setInt32(BatchOffsets.batchLength, -5);
  throwsProtocolError(() => [...iterateBatches(short)], "invalid_length");
  const magic0 = batch.slice();
  magic0[BatchOffsets.magic] = 0;
  throwsProtocolError(() => [...iterateBatches(magic0)], "invalid_value");
});
