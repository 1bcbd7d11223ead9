/**
 * Reads a partition log back record by record, for the internal topics whose state is rebuilt from their log at
 * startup (`__cluster_metadata`, `__consumer_offsets`). The hot paths never decode records; only these do.
 *
 * @module
 */
import type { PartitionLog } from "../log/partition_log.ts";
import { type DecodedRecord, decodeRecordBatch, iterateBatches } from "../protocol/record_batch.ts";

const READ_BYTES = 1024 * 1024;

/**
 * Calls `visit` with every record of `log` below `upTo` (default: the log end), in offset order, skipping
 * control batches (transaction markers).
 *
 * @example
 * ```ts ignore
 * replayRecords(metadata.log, (record) => image.apply(decodeMetadataRecord(record.value!)));
 * ```
 */
export function replayRecords(
  log: PartitionLog,
  visit: (record: DecodedRecord) => void,
  upTo: number = log.logEndOffset,
): void {
  let offset = log.logStartOffset;
  while (offset < upTo) {
    const { records } = log.read(offset, READ_BYTES, { upTo });
    if (records.length === 0) break;
    for (const slot of iterateBatches(records)) {
      offset = Number(slot.header.baseOffset) + slot.header.lastOffsetDelta + 1;
      const batch = decodeRecordBatch(records.subarray(slot.pos, slot.pos + slot.size));
      if (batch.attributes.control) continue;
      for (const record of batch.records) visit(record);
    }
  }
}
