/**
 * Log compaction decisions, as Kafka's log cleaner makes them (design.html, "Log Compaction"): which segments
 * to clean, the map of each key to its latest offset, which records of a batch survive, and when a tombstone's
 * delete horizon has passed. Pure: bytes and numbers in, bytes and numbers out; `log_cleaner.ts` does the I/O.
 *
 * The rules:
 * - Only segments wholly below the first uncleanable offset are cleaned: never the active segment, nothing at
 *   or above the caller's bound (the high watermark), nothing from the first segment holding a record younger
 *   than `min.compaction.lag.ms`.
 * - The offset map covers the dirty part (from the cleaner checkpoint to the first uncleanable offset); the
 *   whole cleanable part, from the log start, is then recopied keeping a keyed record only when its offset is
 *   the latest for its key.
 * - A tombstone (null value) that survives gets a delete horizon, now + `delete.retention.ms`, stored as
 *   Kafka does since KIP-534: attribute bit 6 set and the horizon in `baseTimestamp` (record timestamp deltas
 *   are relative to it). A later clean after the horizon removes the tombstone.
 * - Offsets never change: a rewritten batch keeps its base offset, each record its offset delta, and the batch
 *   its `lastOffsetDelta` (so an idempotent producer's last sequence stays derivable); it may hold fewer
 *   records than its offset range. Producer id, epoch, base sequence and leader epoch are kept as they are.
 * - A batch left with no records is dropped, except the last batch of an idempotent producer within what the
 *   map saw (Kafka keeps it so the producer's state survives; a producer absent from the dirty part counts as
 *   "last", which may keep an extra 61-byte header but never drops one Kafka keeps).
 * - Deviations, kept simple until transactions land: control batches and transactional batches are copied as
 *   they are, and their keys do not enter the map (an aborted record must never hide a committed one); records
 *   with a null key, which the broker refuses for compacted topics, are kept when present (Kafka drops them).
 *
 * @module
 */
import { compress } from "../protocol/compression.ts";
import { type DecodedBatch, type DecodedRecord, decodeRecordBatch } from "../protocol/record_batch.ts";
import {
  Attributes,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_PREFIX,
  BatchOffsets,
  Compression,
  writeBatchCrc,
} from "../protocol/record_batch_header.ts";

/** The settings compaction reads, by Kafka's property names (see `log_config.ts`). */
export interface CompactionConfig {
  /** `delete`, `compact` or `compact,delete`. */
  "cleanup.policy": string;
  /** How long a surviving tombstone stays after its first clean (ms). */
  "delete.retention.ms": number;
  /** Dirty ratio above which the log is cleaned. */
  "min.cleanable.dirty.ratio": number;
  /** Segments holding records younger than this (ms) are not cleaned. */
  "min.compaction.lag.ms": number;
  /** Clean regardless of the ratio once the oldest dirty record is this old (ms). */
  "max.compaction.lag.ms": number;
  /** Cleaned segments are merged while their originals fit in this many bytes. */
  "segment.bytes": number;
}

/** True when `cleanup.policy` lists `name`. */
export function hasCleanupPolicy(policy: string, name: "compact" | "delete"): boolean {
  return policy.split(",").some((p) => p.trim() === name);
}

/** What planning needs to know of a segment. */
export interface CleanerSegment {
  /** First offset of the segment. */
  baseOffset: number;
  /** The offset after it (the next segment's base offset, or the log end for the active one). */
  nextOffset: number;
  /** Bytes of its `.log` file. */
  sizeBytes: number;
  /** Its largest batch timestamp (ms), or the file's mtime when none is known. */
  largestTimestampMs: number;
  /** Max timestamp of its first batch (ms), for `max.compaction.lag.ms`; -1 when empty or unknown. */
  firstBatchTimestampMs: number;
}

/** Why a clean runs. */
export type CleaningReason = "dirty_ratio" | "max_compaction_lag" | "delete_horizon" | "forced";

/** The inputs of `planCleaning` besides the segments. */
export interface CleaningInput {
  /** The log start offset. */
  logStartOffset: number;
  /** The cleaner checkpoint: where the last clean ended (everything below was cleaned once). */
  cleanerCheckpoint: number;
  /** Nothing at or above this offset is cleaned (the high watermark, or the durable end). */
  upperBoundOffset: number;
  /** Now (ms). */
  nowMs: number;
  /** The earliest delete horizon among tombstones the last clean kept, or null when none (or unknown). */
  pendingDeleteHorizonMs: number | null;
  /** Clean whatever is cleanable, whatever the ratio. */
  force?: boolean;
}

/** What `planCleaning` decided. */
export interface CleaningPlan {
  /** Why to clean now, or null to leave the log alone. */
  reason: CleaningReason | null;
  /** Where the dirty part starts (the checkpoint, clamped to the log). */
  firstDirtyOffset: number;
  /** The end of the cleanable part: the base offset of the first segment not cleaned. */
  firstUncleanableOffset: number;
  /** How many leading segments are cleaned (all of them wholly below `firstUncleanableOffset`). */
  segmentCount: number;
  /** Bytes of cleanable segments below the dirty part. */
  cleanBytes: number;
  /** Bytes of cleanable segments in the dirty part. */
  dirtyBytes: number;
  /** dirtyBytes / (cleanBytes + dirtyBytes), 0 when both are 0. */
  dirtyRatio: number;
}

/**
 * Decides whether and how far to clean. `segments` are in offset order, the last one active (never cleaned).
 *
 * @example
 * ```ts
 * import { planCleaning } from "./compaction.ts";
 * const segment = (baseOffset: number, nextOffset: number) =>
 *   ({ baseOffset, nextOffset, sizeBytes: 100, largestTimestampMs: 0, firstBatchTimestampMs: 0 });
 * const plan = planCleaning([segment(0, 10), segment(10, 20), segment(20, 25)], {
 *   logStartOffset: 0, cleanerCheckpoint: 0, upperBoundOffset: 25, nowMs: 1000, pendingDeleteHorizonMs: null,
 * }, {
 *   "cleanup.policy": "compact", "delete.retention.ms": 0, "min.cleanable.dirty.ratio": 0.5,
 *   "min.compaction.lag.ms": 0, "max.compaction.lag.ms": Infinity, "segment.bytes": 1 << 20,
 * });
 * plan.segmentCount; // 2: the active segment stays
 * plan.reason; // "dirty_ratio" (all of it is dirty)
 * ```
 */
export function planCleaning(
  segments: readonly CleanerSegment[],
  input: CleaningInput,
  config: CompactionConfig,
): CleaningPlan {
  const logEnd = segments.length > 0 ? segments[segments.length - 1].nextOffset : input.logStartOffset;
  // Kafka resets a checkpoint outside the log (after DeleteRecords or a truncation) to the log start.
  const firstDirtyOffset = input.cleanerCheckpoint < input.logStartOffset || input.cleanerCheckpoint > logEnd
    ? input.logStartOffset
    : input.cleanerCheckpoint;
  const minLag = config["min.compaction.lag.ms"];
  let count = 0;
  for (; count < segments.length - 1; count++) {
    const s = segments[count];
    if (s.nextOffset > input.upperBoundOffset) break;
    if (minLag > 0 && s.nextOffset > firstDirtyOffset && s.largestTimestampMs > input.nowMs - minLag) break;
  }
  const firstUncleanableOffset = count < segments.length ? segments[count].baseOffset : logEnd;
  let cleanBytes = 0;
  let dirtyBytes = 0;
  let earliestDirtyMs = Infinity;
  for (let i = 0; i < count; i++) {
    const s = segments[i];
    if (s.nextOffset <= input.logStartOffset) continue;
    if (s.nextOffset <= firstDirtyOffset) {
      cleanBytes += s.sizeBytes;
    } else {
      dirtyBytes += s.sizeBytes;
      if (s.firstBatchTimestampMs >= 0) earliestDirtyMs = Math.min(earliestDirtyMs, s.firstBatchTimestampMs);
    }
  }
  const total = cleanBytes + dirtyBytes;
  const dirtyRatio = total === 0 ? 0 : dirtyBytes / total;
  let reason: CleaningReason | null = null;
  if (count > 0 && total > 0) {
    if (input.force) reason = "forced";
    else if (dirtyBytes > 0 && dirtyRatio > config["min.cleanable.dirty.ratio"]) reason = "dirty_ratio";
    else if (dirtyBytes > 0 && input.nowMs - earliestDirtyMs > config["max.compaction.lag.ms"]) {
      reason = "max_compaction_lag";
    } else if (input.pendingDeleteHorizonMs !== null && input.pendingDeleteHorizonMs <= input.nowMs) {
      reason = "delete_horizon";
    }
  }
  return { reason, firstDirtyOffset, firstUncleanableOffset, segmentCount: count, cleanBytes, dirtyBytes, dirtyRatio };
}

/**
 * Groups consecutive segments (by index) so that each group's original bytes fit in `maxBytes` and its offset
 * range in a 32-bit relative offset, as Kafka's `groupSegmentsBySize`: each group is cleaned into one segment.
 *
 * @example
 * ```ts
 * import { groupSegmentsBySize } from "./compaction.ts";
 * const s = (baseOffset: number, nextOffset: number, sizeBytes: number) => ({ baseOffset, nextOffset, sizeBytes });
 * groupSegmentsBySize([s(0, 5, 40), s(5, 9, 40), s(9, 12, 40)], 100); // [[0, 1], [2]]
 * ```
 */
export function groupSegmentsBySize(
  segments: readonly { baseOffset: number; nextOffset: number; sizeBytes: number }[],
  maxBytes: number,
): number[][] {
  const groups: number[][] = [];
  let i = 0;
  while (i < segments.length) {
    const group = [i];
    let bytes = segments[i].sizeBytes;
    let j = i + 1;
    while (
      j < segments.length && bytes + segments[j].sizeBytes <= maxBytes &&
      segments[j].nextOffset - 1 - segments[i].baseOffset <= 0x7fffffff
    ) {
      bytes += segments[j].sizeBytes;
      group.push(j++);
    }
    groups.push(group);
    i = j;
  }
  return groups;
}

/**
 * The key → latest offset map of the dirty part (Kafka's OffsetMap; exact keys here rather than hashes), and the
 * base offset of each idempotent producer's last batch seen.
 *
 * @example
 * ```ts
 * import { OffsetMap } from "./compaction.ts";
 * const map = new OffsetMap();
 * map.put(new TextEncoder().encode("k"), 3);
 * map.put(new TextEncoder().encode("k"), 7);
 * map.get(new TextEncoder().encode("k")); // 7
 * ```
 */
export class OffsetMap {
  private readonly offsets = new Map<string, number>();
  private readonly producers = new Map<bigint, number>();
  /** The largest offset put, -1 when empty. */
  latestOffset: number = -1;

  /** Records `offset` as the latest for `key` (offsets arrive in increasing order). */
  put(key: Uint8Array, offset: number): void {
    this.offsets.set(keyString(key), offset);
    if (offset > this.latestOffset) this.latestOffset = offset;
  }

  /** The latest offset of `key`, or undefined when the dirty part does not hold it. */
  get(key: Uint8Array): number | undefined {
    return this.offsets.get(keyString(key));
  }

  /** Keys in the map. */
  get size(): number {
    return this.offsets.size;
  }

  /** Notes a batch of an idempotent producer (producerId >= 0). */
  putProducerBatch(producerId: bigint, baseOffset: number): void {
    this.producers.set(producerId, baseOffset);
  }

  /** True when no later batch of `producerId` was seen than the one at `baseOffset`. */
  isLastBatchOfProducer(producerId: bigint, baseOffset: number): boolean {
    return (this.producers.get(producerId) ?? -1) <= baseOffset;
  }

  /**
   * Adds a decoded batch: each keyed record at or above `fromOffset`, unless the batch is a control or
   * transactional one (see the module notes).
   */
  addBatch(batch: DecodedBatch, fromOffset: number): void {
    const base = Number(batch.header.baseOffset);
    if (batch.header.producerId >= 0n) this.putProducerBatch(batch.header.producerId, base);
    if (batch.attributes.control || batch.attributes.transactional) return;
    for (const r of batch.records) {
      const offset = base + r.offsetDelta;
      if (r.key !== null && offset >= fromOffset) this.put(r.key, offset);
    }
  }
}

/** A key's bytes as a string usable as a Map key (one UTF-16 unit per byte: injective). */
function keyString(key: Uint8Array): string {
  let s = "";
  for (let i = 0; i < key.length; i += 4096) {
    s += String.fromCharCode.apply(null, key.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}

/** What happens to one batch. */
export type BatchAction = "keep" | "rewrite" | "drop";

/** The result of filtering one batch. */
export interface BatchFilterResult {
  /** `keep`: copy the bytes as they are; `rewrite`: write `bytes` instead; `drop`: write nothing. */
  action: BatchAction;
  /** The batch to write (the original for `keep`), or null for `drop`. */
  bytes: Uint8Array | null;
  /** Records in the original batch. */
  recordsBefore: number;
  /** Records written. */
  recordsAfter: number;
  /** Tombstones removed because their delete horizon had passed. */
  tombstonesRemoved: number;
  /** The delete horizon of the batch written when it still holds tombstones, else null. */
  deleteHorizonMs: number | null;
}

/** The inputs of `filterBatch` besides the batch. */
export interface FilterContext {
  /** The offset map of this clean. */
  map: OffsetMap;
  /** Now (ms): tombstones whose horizon is at or before it go. */
  nowMs: number;
  /** `delete.retention.ms`: a surviving tombstone's horizon is now + this. */
  deleteRetentionMs: number;
}

/**
 * Filters one v2 batch (`bytes` holds exactly one) against the map: keeps the records that are the latest of
 * their key, sets or honours the delete horizon of tombstones, and says whether the batch is kept as is,
 * rewritten, or dropped. Throws `ProtocolError` when the batch does not decode.
 *
 * @example
 * ```ts
 * import { buildRecordBatch } from "../protocol/record_batch.ts";
 * import { filterBatch, OffsetMap } from "./compaction.ts";
 * const key = new TextEncoder().encode("k");
 * const batch = buildRecordBatch([
 *   { timestamp: 1, key, value: new Uint8Array([1]) },
 *   { timestamp: 2, key, value: new Uint8Array([2]) },
 * ]);
 * const map = new OffsetMap();
 * map.put(key, 1);
 * const result = filterBatch(batch, { map, nowMs: 10, deleteRetentionMs: 100 });
 * result.action; // "rewrite": offset 0 is superseded by offset 1
 * result.recordsAfter; // 1
 * ```
 */
export function filterBatch(bytes: Uint8Array, context: FilterContext): BatchFilterResult {
  const batch = decodeRecordBatch(bytes);
  const { header, attributes } = batch;
  const before = batch.records.length;
  const unchanged: BatchFilterResult = {
    action: "keep",
    bytes,
    recordsBefore: before,
    recordsAfter: before,
    tombstonesRemoved: 0,
    deleteHorizonMs: null,
  };
  if (attributes.control || attributes.transactional) return unchanged;
  const base = Number(header.baseOffset);
  const oldHorizon = attributes.hasDeleteHorizon ? Number(header.baseTimestamp) : null;
  const retained: DecodedRecord[] = [];
  let tombstonesRemoved = 0;
  let tombstonesKept = 0;
  for (const r of batch.records) {
    if (r.key !== null) {
      const latest = context.map.get(r.key);
      if (latest !== undefined && base + r.offsetDelta < latest) continue;
      if (r.value === null) {
        if (oldHorizon !== null && oldHorizon <= context.nowMs) {
          tombstonesRemoved++;
          continue;
        }
        tombstonesKept++;
      }
    }
    retained.push(r);
  }
  const horizon = tombstonesKept > 0 ? oldHorizon ?? context.nowMs + context.deleteRetentionMs : null;
  if (retained.length === before && horizon === oldHorizon) return { ...unchanged, deleteHorizonMs: horizon };
  const result = { recordsBefore: before, recordsAfter: retained.length, tombstonesRemoved, deleteHorizonMs: horizon };
  if (retained.length === 0) {
    if (header.producerId >= 0n && context.map.isLastBatchOfProducer(header.producerId, base)) {
      return { action: "rewrite", bytes: emptyBatch(bytes), ...result };
    }
    return { action: "drop", bytes: null, ...result };
  }
  return { action: "rewrite", bytes: rebuildBatch(batch, bytes, retained, horizon), ...result };
}

/**
 * The batch `original` with only `retained` records: same base offset, lastOffsetDelta, producer fields,
 * leader epoch and codec; offset deltas as they were; timestamps re-based on the delete horizon when there is
 * one (bit 6 set, as KIP-534 stores it), else on the first retained record.
 */
function rebuildBatch(
  batch: DecodedBatch,
  original: Uint8Array,
  retained: readonly DecodedRecord[],
  horizon: number | null,
): Uint8Array {
  const header = batch.header;
  const oldBase = Number(header.baseTimestamp);
  // The timestamp each record was written with (for LogAppendTime batches the decoder reports maxTimestamp).
  const stamps = retained.map((r) => oldBase + r.timestampDelta);
  const baseTimestamp = horizon ?? stamps[0];
  const logAppendTime = (header.attributes & Attributes.timestampTypeLogAppend) !== 0;
  let maxTimestamp = logAppendTime ? Number(header.maxTimestamp) : stamps[0];
  if (!logAppendTime) { for (const t of stamps) if (t > maxTimestamp) maxTimestamp = t; }
  const parts = retained.map((r, i) => encodeRecord(r, stamps[i] - baseTimestamp));
  const plain = concat(parts);
  const codec = (header.attributes & Attributes.compressionMask) as Compression;
  const section = codec === Compression.None ? plain : compress(codec, plain);
  const out = new Uint8Array(BATCH_HEADER_SIZE + section.length);
  out.set(original.subarray(0, BATCH_HEADER_SIZE));
  out.set(section, BATCH_HEADER_SIZE);
  let attributes = header.attributes & ~Attributes.deleteHorizon;
  if (horizon !== null) attributes |= Attributes.deleteHorizon;
  const v = new DataView(out.buffer);
  v.setInt32(BatchOffsets.batchLength, out.length - BATCH_LENGTH_PREFIX);
  v.setInt16(BatchOffsets.attributes, attributes);
  v.setBigInt64(BatchOffsets.baseTimestamp, BigInt(baseTimestamp));
  v.setBigInt64(BatchOffsets.maxTimestamp, BigInt(maxTimestamp));
  v.setInt32(BatchOffsets.recordsCount, retained.length);
  writeBatchCrc(out);
  return out;
}

/** The header of `original` with no records, uncompressed, as Kafka writes an emptied batch it must keep. */
function emptyBatch(original: Uint8Array): Uint8Array {
  const out = original.slice(0, BATCH_HEADER_SIZE);
  const v = new DataView(out.buffer);
  const attributes = v.getInt16(BatchOffsets.attributes) & ~(Attributes.compressionMask | Attributes.deleteHorizon);
  const maxTimestamp = v.getBigInt64(BatchOffsets.maxTimestamp);
  v.setInt32(BatchOffsets.batchLength, BATCH_HEADER_SIZE - BATCH_LENGTH_PREFIX);
  v.setInt16(BatchOffsets.attributes, attributes);
  v.setBigInt64(BatchOffsets.baseTimestamp, maxTimestamp);
  v.setInt32(BatchOffsets.recordsCount, 0);
  writeBatchCrc(out);
  return out;
}

// Record encoding. protocol/record_batch.ts builds records with offset delta = index; a cleaned batch must keep
// each record's original offset delta and re-base timestamps, so the few lines of the record layout are here.

/** One record in the v2 layout: length, attributes, timestampDelta, offsetDelta, key, value, headers. */
function encodeRecord(r: DecodedRecord, timestampDelta: number): Uint8Array {
  const headerKeys = r.headers.map((h) => textEncoder.encode(h.key));
  let body = 1 + varlongSize(timestampDelta) + varlongSize(r.offsetDelta) + bytesFieldSize(r.key) +
    bytesFieldSize(r.value) + varlongSize(r.headers.length);
  for (let h = 0; h < r.headers.length; h++) body += bytesFieldSize(headerKeys[h]) + bytesFieldSize(r.headers[h].value);
  const out = new Uint8Array(varlongSize(body) + body);
  let pos = writeVarlong(out, 0, body);
  out[pos++] = r.attributes;
  pos = writeVarlong(out, pos, timestampDelta);
  pos = writeVarlong(out, pos, r.offsetDelta);
  pos = writeBytesField(out, pos, r.key);
  pos = writeBytesField(out, pos, r.value);
  pos = writeVarlong(out, pos, r.headers.length);
  for (let h = 0; h < r.headers.length; h++) {
    pos = writeBytesField(out, pos, headerKeys[h]);
    pos = writeBytesField(out, pos, r.headers[h].value);
  }
  return out;
}

const textEncoder = new TextEncoder();

/** Zigzag of a safe integer (varints and varlongs share the encoding). */
function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function varlongSize(n: number): number {
  let z = zigzag(n);
  let size = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 0x80);
    size++;
  }
  return size;
}

function writeVarlong(buf: Uint8Array, pos: number, n: number): number {
  let z = zigzag(n);
  while (z >= 0x80) {
    buf[pos++] = (z % 0x80) | 0x80;
    z = Math.floor(z / 0x80);
  }
  buf[pos++] = z;
  return pos;
}

function bytesFieldSize(bytes: Uint8Array | null): number {
  return bytes === null ? 1 : varlongSize(bytes.length) + bytes.length;
}

function writeBytesField(buf: Uint8Array, pos: number, bytes: Uint8Array | null): number {
  if (bytes === null) return writeVarlong(buf, pos, -1);
  pos = writeVarlong(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
