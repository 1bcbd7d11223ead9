/**
 * Test helper: builds v2 record batches from header fields and opaque record bytes (records are never
 * decoded by the log, so their content only has to be the right length).
 *
 * @module
 */
import { BatchOffsets, writeBatchCrc } from "../../../protocol/record_batch_header.ts";

/** Fields of a test batch. */
export interface BatchSpec {
  /** Records in the batch (lastOffsetDelta = records - 1). Default 1. */
  records?: number;
  /** Max timestamp (and base timestamp). Default 1_000. */
  timestamp?: number;
  /** Partition leader epoch stamped in the header. Default -1. */
  leaderEpoch?: number;
  /** Bytes of the opaque records section. Default 10. */
  payloadBytes?: number;
  /** Fill byte of the payload. Default 0xab. */
  fill?: number;
}

/** One v2 batch with a valid CRC. */
export function buildBatch(spec: BatchSpec = {}): Uint8Array {
  const records = spec.records ?? 1;
  const payload = spec.payloadBytes ?? 10;
  const bytes = new Uint8Array(61 + payload);
  const v = new DataView(bytes.buffer);
  v.setBigInt64(BatchOffsets.baseOffset, 0n);
  v.setInt32(BatchOffsets.batchLength, bytes.length - 12);
  v.setInt32(BatchOffsets.partitionLeaderEpoch, spec.leaderEpoch ?? -1);
  v.setInt8(BatchOffsets.magic, 2);
  v.setInt16(BatchOffsets.attributes, 0);
  v.setInt32(BatchOffsets.lastOffsetDelta, records - 1);
  v.setBigInt64(BatchOffsets.baseTimestamp, BigInt(spec.timestamp ?? 1_000));
  v.setBigInt64(BatchOffsets.maxTimestamp, BigInt(spec.timestamp ?? 1_000));
  v.setBigInt64(BatchOffsets.producerId, -1n);
  v.setInt16(BatchOffsets.producerEpoch, -1);
  v.setInt32(BatchOffsets.baseSequence, -1);
  v.setInt32(BatchOffsets.recordsCount, records);
  bytes.fill(spec.fill ?? 0xab, 61);
  writeBatchCrc(bytes);
  return bytes;
}

/** Several batches concatenated, as a produce request carries them. */
export function concatBatches(batches: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(batches.reduce((n, b) => n + b.length, 0));
  let pos = 0;
  for (const b of batches) {
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

/** The batches in `bytes` as (baseOffset, lastOffset, size, maxTimestamp), walking headers. */
export function listBatches(
  bytes: Uint8Array,
): { baseOffset: number; lastOffset: number; size: number; maxTimestamp: number; leaderEpoch: number }[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  let pos = 0;
  while (pos < bytes.length) {
    const size = v.getInt32(pos + BatchOffsets.batchLength) + 12;
    const baseOffset = Number(v.getBigInt64(pos + BatchOffsets.baseOffset));
    out.push({
      baseOffset,
      lastOffset: baseOffset + v.getInt32(pos + BatchOffsets.lastOffsetDelta),
      size,
      maxTimestamp: Number(v.getBigInt64(pos + BatchOffsets.maxTimestamp)),
      leaderEpoch: v.getInt32(pos + BatchOffsets.partitionLeaderEpoch),
    });
    pos += size;
  }
  if (pos !== bytes.length) throw new Error(`partial batch at the end (${pos} != ${bytes.length})`);
  return out;
}

/** A clock the test moves by hand. */
export class ManualClock {
  /** Starts at `nowMs`. */
  constructor(public nowMs = 1_000_000) {}
  /** The current time. */
  now(): number {
    return this.nowMs;
  }
}
