/**
 * Test helper: reads a partition log back whole, checking what every reader relies on.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { PartitionLog } from "../../../log/partition_log.ts";
import { isBatchCrcValid } from "../../../protocol/record_batch_header.ts";
import { listBatches } from "./batch_fixture.ts";

/**
 * Every batch of the log from its start to its end, by base offset, read back and checked: each has a valid CRC
 * and offsets are contiguous. `context` prefixes assertion messages.
 */
export function readWholeLog(log: PartitionLog, context = ""): Map<number, Uint8Array> {
  const batches = new Map<number, Uint8Array>();
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { records } = log.read(offset, 64 * 1024, { upTo: log.logEndOffset });
    assert.ok(records.length > 0, `${context}: nothing readable at ${offset} below the log end ${log.logEndOffset}`);
    let pos = 0;
    for (const b of listBatches(records)) {
      const bytes = records.slice(pos, pos + b.size);
      assert.ok(isBatchCrcValid(bytes, 0), `${context}: batch at ${b.baseOffset} has a bad CRC`);
      assert.equal(b.baseOffset, offset, `${context}: offsets are contiguous`);
      batches.set(b.baseOffset, bytes);
      offset = b.lastOffset + 1;
      pos += b.size;
    }
  }
  return batches;
}
