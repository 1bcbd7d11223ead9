import assert from "node:assert/strict";
import {
  buildMarkerBatch,
  ControlRecordType,
  decodeControlRecordKey,
  decodeEndTxnMarker,
  encodeControlRecordKey,
  encodeEndTxnMarker,
  isControlBatch,
  readTransactionMarker,
} from "../../../protocol/control_records.ts";
import { ProtocolError } from "../../../protocol/protocol_error.ts";
import { buildRecordBatch, decodeRecordBatch } from "../../../protocol/record_batch.ts";
import { isBatchCrcValid, readBatchHeader, stampBaseOffset } from "../../../protocol/record_batch_header.ts";

function throwsProtocolError(run: () => unknown, kind: ProtocolError["kind"]): void {
  assert.throws(run, (e: unknown) => e instanceof ProtocolError && e.kind === kind);
}

Deno.test("a control record key is version int16 then type int16, big endian", () => {
  assert.deepEqual(encodeControlRecordKey(ControlRecordType.Abort), new Uint8Array([0, 0, 0, 0]));
  assert.deepEqual(encodeControlRecordKey(ControlRecordType.Commit), new Uint8Array([0, 0, 0, 1]));
  assert.deepEqual(decodeControlRecordKey(new Uint8Array([0, 0, 0, 1])), { version: 0, type: 1 });
});

Deno.test("an EndTxnMarker value is version int16 then coordinatorEpoch int32", () => {
  assert.deepEqual(encodeEndTxnMarker(0x01020304), new Uint8Array([0, 0, 1, 2, 3, 4]));
  assert.deepEqual(decodeEndTxnMarker(new Uint8Array([0, 0, 0xff, 0xff, 0xff, 0xff])), {
    version: 0,
    coordinatorEpoch: -1,
  });
});

Deno.test("later key and marker versions are read by their version-0 fields", () => {
  assert.deepEqual(decodeControlRecordKey(new Uint8Array([0, 1, 0, 0, 9, 9])), { version: 1, type: 0 });
  assert.deepEqual(decodeEndTxnMarker(new Uint8Array([0, 1, 0, 0, 0, 7, 9])), { version: 1, coordinatorEpoch: 7 });
});

Deno.test("short or negative-version keys and markers throw ProtocolError", () => {
  throwsProtocolError(() => decodeControlRecordKey(new Uint8Array([0, 0, 0])), "truncated");
  throwsProtocolError(() => decodeEndTxnMarker(new Uint8Array([0, 0, 0, 0, 0])), "truncated");
  throwsProtocolError(() => decodeControlRecordKey(new Uint8Array([0xff, 0xff, 0, 0])), "invalid_value");
  throwsProtocolError(() => decodeEndTxnMarker(new Uint8Array([0x80, 0, 0, 0, 0, 0])), "invalid_value");
});

Deno.test("a marker batch is a transactional control batch holding one control record", () => {
  const batch = buildMarkerBatch({
    type: ControlRecordType.Commit,
    producerId: 4242n,
    producerEpoch: 7,
    coordinatorEpoch: 3,
    timestamp: 1_700_000_000_000,
    partitionLeaderEpoch: 2,
  });
  assert.ok(isBatchCrcValid(batch));
  const header = readBatchHeader(batch);
  assert.equal(header.attributes, 0x30, "control (0x20) + transactional (0x10), uncompressed, create time");
  assert.ok(isControlBatch(header.attributes));
  assert.equal(header.producerId, 4242n);
  assert.equal(header.producerEpoch, 7);
  assert.equal(header.baseSequence, -1);
  assert.equal(header.partitionLeaderEpoch, 2);
  assert.equal(header.recordsCount, 1);
  const [record] = decodeRecordBatch(batch).records;
  assert.deepEqual(record.key, new Uint8Array([0, 0, 0, 1]));
  assert.deepEqual(record.value, new Uint8Array([0, 0, 0, 0, 0, 3]));
  assert.equal(record.timestamp, 1_700_000_000_000);
});

Deno.test("commit and abort markers round-trip through a control batch, after offset stamping too", () => {
  for (const type of [ControlRecordType.Abort, ControlRecordType.Commit]) {
    const batch = buildMarkerBatch({ type, producerId: 9n, producerEpoch: 1, coordinatorEpoch: 12, timestamp: 5 });
    stampBaseOffset(batch, 1000n);
    assert.deepEqual(readTransactionMarker(batch), { type, coordinatorEpoch: 12, producerId: 9n, producerEpoch: 1 });
  }
});

Deno.test("an ordinary data batch is not recognised as a control batch", () => {
  const batch = buildRecordBatch([{ timestamp: 0, key: new Uint8Array([0, 0, 0, 1]), value: null }], {
    transactional: true,
    producerId: 1n,
    producerEpoch: 0,
  });
  assert.equal(isControlBatch(readBatchHeader(batch).attributes), false);
  assert.equal(readTransactionMarker(batch), null);
});

Deno.test("a control batch that compaction emptied, or of a non-marker type, holds no transaction marker", () => {
  assert.equal(readTransactionMarker(buildRecordBatch([], { control: true, transactional: true })), null);
  const leaderChange = buildRecordBatch([{ timestamp: 0, key: encodeControlRecordKey(2), value: new Uint8Array(8) }], {
    control: true,
  });
  assert.equal(readTransactionMarker(leaderChange), null);
});

Deno.test("malformed control batches throw ProtocolError", () => {
  const twoRecords = buildRecordBatch([
    { timestamp: 0, key: encodeControlRecordKey(1), value: encodeEndTxnMarker(0) },
    { timestamp: 0, key: encodeControlRecordKey(1), value: encodeEndTxnMarker(0) },
  ], { control: true, transactional: true });
  throwsProtocolError(() => readTransactionMarker(twoRecords), "invalid_value");
  const nullKey = buildRecordBatch([{ timestamp: 0, key: null, value: encodeEndTxnMarker(0) }], { control: true });
  throwsProtocolError(() => readTransactionMarker(nullKey), "invalid_value");
  const nullValue = buildRecordBatch([{ timestamp: 0, key: encodeControlRecordKey(0), value: null }], {
    control: true,
  });
  throwsProtocolError(() => readTransactionMarker(nullValue), "invalid_value");
  const shortValue = buildRecordBatch([{ timestamp: 0, key: encodeControlRecordKey(0), value: new Uint8Array(3) }], {
    control: true,
  });
  throwsProtocolError(() => readTransactionMarker(shortValue), "truncated");
});

Deno.test("only COMMIT and ABORT can be written as transaction markers", () => {
  throwsProtocolError(
    () =>
      buildMarkerBatch({
        type: 2 as ControlRecordType,
        producerId: 1n,
        producerEpoch: 0,
        coordinatorEpoch: 0,
        timestamp: 0,
      }),
    "invalid_value",
  );
});
