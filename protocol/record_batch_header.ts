/**
 * The fixed 61-byte header of a record batch (magic v2), read and stamped in place.
 *
 * Hot paths (produce, log append, recovery scan, fetch) use only this module: the records after the
 * header stay opaque bytes. Stamping the base offset or the partition leader epoch needs no CRC
 * recomputation because the CRC covers the bytes from `attributes` to the end, and both fields lie before it.
 *
 * @module
 */
import { crc32c } from "./crc32c.ts";

/** Byte offsets of the header fields, as laid out in Kafka's docs/implementation.html. */
export const BatchOffsets = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
} as const;

/** Size of the v2 header, up to and including `recordsCount`. */
export const BATCH_HEADER_SIZE = 61;
/** Bytes before `batchLength` counts start: baseOffset (8) + batchLength (4). */
export const BATCH_LENGTH_PREFIX = 12;
/** Where the CRC-covered region starts (`attributes`). */
export const CRC_START = BatchOffsets.attributes;

/** Attribute bits of a v2 batch. */
export const Attributes = {
  compressionMask: 0x07,
  timestampTypeLogAppend: 0x08,
  transactional: 0x10,
  control: 0x20,
  deleteHorizon: 0x40,
} as const;

/** Compression codecs, as numbered in the batch attributes. */
export enum Compression {
  None = 0,
  Gzip = 1,
  Snappy = 2,
  Lz4 = 3,
  Zstd = 4,
}

/** The decoded fixed header of one batch. */
export interface BatchHeader {
  /** Offset of the first record; stamped by the leader. */
  baseOffset: bigint;
  /** Bytes after this field to the end of the batch. */
  batchLength: number;
  /** Epoch of the leader that appended the batch (its Raft term). */
  partitionLeaderEpoch: number;
  /** Format version; 2 for every batch Samsa accepts. */
  magic: number;
  /** CRC-32C from `attributes` to the end. */
  crc: number;
  /** Compression, timestamp type, transactional and control bits. */
  attributes: number;
  /** Offset of the last record minus `baseOffset`. */
  lastOffsetDelta: number;
  /** Timestamp of the first record. */
  baseTimestamp: bigint;
  /** Largest timestamp in the batch (or the log append time). */
  maxTimestamp: bigint;
  /** Idempotent/transactional producer id, or -1. */
  producerId: bigint;
  /** Epoch of that producer id, or -1. */
  producerEpoch: number;
  /** Sequence number of the first record, or -1. */
  baseSequence: number;
  /** Number of records in the batch. */
  recordsCount: number;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads the header of the batch that starts at `pos` in `bytes`. The caller checks that
 * `bytes.length - pos >= BATCH_HEADER_SIZE`.
 *
 * @example
 * ```ts
 * import { readBatchHeader } from "./record_batch_header.ts";
 * const header = readBatchHeader(new Uint8Array(61));
 * header.magic; // 0
 * ```
 */
export function readBatchHeader(bytes: Uint8Array, pos = 0): BatchHeader {
  const v = view(bytes);
  return {
    baseOffset: v.getBigInt64(pos + BatchOffsets.baseOffset),
    batchLength: v.getInt32(pos + BatchOffsets.batchLength),
    partitionLeaderEpoch: v.getInt32(pos + BatchOffsets.partitionLeaderEpoch),
    magic: v.getInt8(pos + BatchOffsets.magic),
    crc: v.getUint32(pos + BatchOffsets.crc),
    attributes: v.getInt16(pos + BatchOffsets.attributes),
    lastOffsetDelta: v.getInt32(pos + BatchOffsets.lastOffsetDelta),
    baseTimestamp: v.getBigInt64(pos + BatchOffsets.baseTimestamp),
    maxTimestamp: v.getBigInt64(pos + BatchOffsets.maxTimestamp),
    producerId: v.getBigInt64(pos + BatchOffsets.producerId),
    producerEpoch: v.getInt16(pos + BatchOffsets.producerEpoch),
    baseSequence: v.getInt32(pos + BatchOffsets.baseSequence),
    recordsCount: v.getInt32(pos + BatchOffsets.recordsCount),
  };
}

/** Total size in bytes of the batch at `pos`: its `batchLength` plus the 12-byte prefix. */
export function batchSize(bytes: Uint8Array, pos = 0): number {
  return view(bytes).getInt32(pos + BatchOffsets.batchLength) + BATCH_LENGTH_PREFIX;
}

/** Writes the base offset in place; the CRC stays valid. */
export function stampBaseOffset(bytes: Uint8Array, baseOffset: bigint, pos = 0): void {
  view(bytes).setBigInt64(pos + BatchOffsets.baseOffset, baseOffset);
}

/** Writes the partition leader epoch in place; the CRC stays valid. */
export function stampPartitionLeaderEpoch(bytes: Uint8Array, epoch: number, pos = 0): void {
  view(bytes).setInt32(pos + BatchOffsets.partitionLeaderEpoch, epoch);
}

/** Computes the CRC-32C of the batch at `pos` (from `attributes` to its end). */
export function computeBatchCrc(bytes: Uint8Array, pos = 0): number {
  const end = pos + batchSize(bytes, pos);
  return crc32c(bytes.subarray(pos + CRC_START, end));
}

/** True when the stored CRC matches the batch bytes. The caller checks the batch is complete. */
export function isBatchCrcValid(bytes: Uint8Array, pos = 0): boolean {
  return view(bytes).getUint32(pos + BatchOffsets.crc) === computeBatchCrc(bytes, pos);
}

/** Recomputes and stores the CRC, for batches the broker builds or rewrites itself. */
export function writeBatchCrc(bytes: Uint8Array, pos = 0): void {
  view(bytes).setUint32(pos + BatchOffsets.crc, computeBatchCrc(bytes, pos));
}
