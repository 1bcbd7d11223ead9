import assert from "node:assert/strict";
import {
  GAP_FILLER_CONTROL_TYPE,
  gapFillerBatch,
  gapFillers,
  isGapFillerBatch,
  MAX_GAP_FILLER_OFFSETS,
} from "../../../broker/replication/compacted_gap.ts";
import { decodeControlRecordKey } from "../../../protocol/control_records.ts";
import { buildRecordBatch, decodeRecordBatch } from "../../../protocol/record_batch.ts";

/** Epoch 3 from offset 0, epoch 5 from offset 10, epoch 6 from offset 20 (the latest). */
const epochAt = (offset: number) =>
  offset < 10 ? { epoch: 3, end: 10 } : offset < 20 ? { epoch: 5, end: 20 } : { epoch: 6, end: Infinity };

Deno.test("a removed range becomes one filler per epoch it crosses, each in that epoch", () => {
  assert.deepEqual(gapFillers(4, 25, epochAt), [
    { index: 4, count: 6, term: 3 },
    { index: 10, count: 10, term: 5 },
    { index: 20, count: 5, term: 6 },
  ]);
  assert.deepEqual(gapFillers(12, 13, epochAt), [{ index: 12, count: 1, term: 5 }]);
  assert.deepEqual(gapFillers(7, 7, epochAt), []);
});

Deno.test("offsets before every known epoch are term 0, and a huge range is split into int32-sized fillers", () => {
  assert.deepEqual(gapFillers(0, 3, () => ({ epoch: -1, end: Infinity })), [{ index: 0, count: 3, term: 0 }]);
  const fillers = gapFillers(0, 2 * MAX_GAP_FILLER_OFFSETS + 1, () => ({ epoch: 1, end: Infinity }));
  assert.deepEqual(fillers.map((f) => f.count), [MAX_GAP_FILLER_OFFSETS, MAX_GAP_FILLER_OFFSETS, 1]);
});

Deno.test("a filler batch is a control batch spanning its offsets with one record of the filler type", () => {
  const batch = gapFillerBatch({ index: 100, count: 40, term: 2 });
  const decoded = decodeRecordBatch(batch); // also checks the CRC
  assert.equal(decoded.header.baseOffset, 100n);
  assert.equal(decoded.header.lastOffsetDelta, 39);
  assert.equal(decoded.header.partitionLeaderEpoch, 2);
  assert.equal(decoded.header.producerId, -1n);
  assert.ok(decoded.attributes.control);
  assert.equal(decoded.records.length, 1);
  assert.deepEqual(decodeControlRecordKey(decoded.records[0].key!), { version: 0, type: GAP_FILLER_CONTROL_TYPE });
  assert.deepEqual(gapFillerBatch({ index: 100, count: 40, term: 2 }), batch, "the same filler, the same bytes");
});

Deno.test("only filler batches are recognized as fillers", () => {
  assert.ok(isGapFillerBatch(gapFillerBatch({ index: 0, count: 1, term: 0 })));
  const key = new Uint8Array([0, 0, 0, 2]); // a LeaderChange control record
  assert.ok(!isGapFillerBatch(buildRecordBatch([{ timestamp: -1, key, value: null }], { control: true })));
  const data = new Uint8Array([0, 0, 0x53, 0x67]); // the filler type's bytes, in a data batch
  assert.ok(!isGapFillerBatch(buildRecordBatch([{ timestamp: -1, key: data, value: null }])));
});
