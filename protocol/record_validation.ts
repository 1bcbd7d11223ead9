/**
 * Record validation as Kafka's broker performs it on a produced batch (its `LogValidator` walking
 * `DefaultRecordBatch`'s records): every record's framing is checked against the batch header before the batch
 * may enter the log, so one client cannot poison a partition with a batch that consumers cannot read past.
 *
 * What is checked, for each of the header's `recordsCount` records (after decompression for compressed batches):
 * the length varint, and that the record holds exactly that many bytes; attributes; the timestamp delta varlong;
 * the offset delta, which must be the record's index (0..n-1, in order); key and value lengths (-1 for null, else
 * within the record); the header count (not negative, not more than the bytes left) and each header's key (not
 * null) and value lengths. The records must end exactly where the records section ends: a count that promises
 * more records than the bytes hold, or fewer, is a defect. Well-framed records can still be refused one by one,
 * named by index in KIP-467 record errors while the innocent ones are not: a keyless record on a compacted topic,
 * and (CreateTime topics) a record whose own timestamp lies outside `message.timestamp.before/after.max.ms`.
 *
 * Cost: a single forward walk over varints, no allocation per record, keys and values never copied or decoded.
 * Compressed batches are decompressed within the bound of `protocol/compression.ts`, as Kafka does to validate.
 *
 * The caller has already checked the batch header (magic, size, CRC-32C, `lastOffsetDelta + 1 === recordsCount`).
 * Nothing here does I/O; the broker maps a {@linkcode RecordsDefect} to a Kafka error code in one place.
 *
 * @module
 */
import { decompress, DEFAULT_MAX_DECOMPRESSED_BYTES } from "./compression.ts";
import {
  Attributes,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_PREFIX,
  BatchOffsets,
  Compression,
} from "./record_batch_header.ts";

/** One record a batch was refused for (KIP-467): its index in the batch and why. */
export interface RecordError {
  /** The record's position in its batch, from 0. */
  batchIndex: number;
  /** Why this record was refused. */
  message: string;
}

/**
 * Why a batch's records were refused.
 * - `malformed`: a record's framing disagrees with its bytes or with the batch header (Kafka: INVALID_RECORD,
 *   without record errors: the whole batch is unreadable past the defect).
 * - `undecompressable`: the compressed records section does not decompress within the bound.
 * - `keyless_records`: well-formed records without a key on a compacted topic; `recordErrors` names each one.
 * - `invalid_timestamps`: some well-formed records have timestamps out of range (Kafka: INVALID_TIMESTAMP);
 *   `recordErrors` names each refused record, keyless ones included.
 */
export interface RecordsDefect {
  /** The class of defect. */
  kind: "malformed" | "undecompressable" | "keyless_records" | "invalid_timestamps";
  /** A sentence for the client and the log. */
  message: string;
  /** The refused records, for `keyless_records` and `invalid_timestamps`; empty otherwise. */
  recordErrors: RecordError[];
}

/** What {@linkcode validateRecords} found. */
export interface RecordsVerdict {
  /** Why the batch must be refused; absent when Kafka would accept its records. */
  defect?: RecordsDefect;
  /**
   * With `timestampRange`: the largest record timestamp (-1 when no record has one), which Kafka writes into the
   * batch's maxTimestamp whatever the client put there. -1 without `timestampRange`.
   */
  maxTimestamp: number;
}

/** Options of {@linkcode validateRecords}. */
export interface RecordValidationOptions {
  /** The topic is compacted: every record needs a key. Default false. */
  requireKeys?: boolean;
  /** Names the partition in record error messages, e.g. "orders-0" (as Kafka's messages do). */
  topicPartition?: string;
  /** Largest records section accepted after decompression. Default `DEFAULT_MAX_DECOMPRESSED_BYTES`. */
  maxDecompressedBytes?: number;
  /**
   * CreateTime topics: the timestamps records may carry, inclusive (now - `message.timestamp.before.max.ms`, now +
   * `message.timestamp.after.max.ms`). Records with no timestamp (-1) pass, as in Kafka. Absent: not checked.
   */
  timestampRange?: { min: number; max: number };
}

/** One record refused by a per-record rule (which kind decides the batch's error). */
interface RefusedRecord extends RecordError {
  timestamp: boolean;
}

/** The smallest record body: attributes, timestampDelta, offsetDelta, keyLength, valueLength, headersCount. */
const MIN_RECORD_BODY = 6;
/** A record timestamp of -1: none was set, and none is checked. */
const NO_TIMESTAMP = -1;

/** Thrown inside the walk to leave it at the first framing defect; never escapes this module. */
class FramingDefect {
  constructor(readonly message: string) {}
}

/**
 * A bounds-checked forward cursor over a records section. One per batch; reads never allocate. Every read
 * stays below `limit`, which is the end of the current record while inside one.
 */
class RecordCursor {
  pos: number;
  limit: number;

  constructor(readonly buf: Uint8Array, start: number, readonly end: number) {
    this.pos = start;
    this.limit = end;
  }

  /** A zigzag varint of at most 5 bytes (an int32), as `ByteUtils.readVarint` reads it. */
  varint(what: string): number {
    const buf = this.buf;
    let z = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.limit) throw new FramingDefect(`${what} varint is cut short`);
      const b = buf[this.pos++];
      z |= (b & 0x7f) << shift;
      if (b < 0x80) {
        if (shift === 28 && b > 0x0f) throw new FramingDefect(`${what} varint overflows 32 bits`);
        return (z >>> 1) ^ -(z & 1);
      }
    }
    throw new FramingDefect(`${what} varint is longer than 5 bytes`);
  }

  /** Skips a varlong of at most 10 bytes; its value is not needed. */
  skipVarlong(what: string): void {
    const buf = this.buf;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.limit) throw new FramingDefect(`${what} varlong is cut short`);
      if (buf[this.pos++] < 0x80) return;
    }
    throw new FramingDefect(`${what} varlong is longer than 10 bytes`);
  }

  /**
   * A zigzag varlong of at most 10 bytes as a number: exact within ±2^53, and beyond that of the right sign and
   * magnitude, which is all a range check needs.
   */
  varlong(what: string): number {
    const buf = this.buf;
    let z = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.limit) throw new FramingDefect(`${what} varlong is cut short`);
      const b = buf[this.pos++];
      z += (b & 0x7f) * scale;
      if (b < 0x80) return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      scale *= 0x80;
    }
    throw new FramingDefect(`${what} varlong is longer than 10 bytes`);
  }

  /**
   * Skips a byte field (varint length `lengthWhat`, then the bytes of `what`; -1 = null when `nullable`); returns
   * false for null. Both names are constants, so no string is built unless the field is bad.
   */
  skipBytes(what: string, lengthWhat: string, nullable: boolean): boolean {
    const length = this.varint(lengthWhat);
    if (length === -1 && nullable) return false;
    if (length < 0) throw new FramingDefect(`${what} length ${length} is invalid`);
    if (length > this.limit - this.pos) {
      throw new FramingDefect(`${what} length ${length} runs past the record (${this.limit - this.pos} bytes left)`);
    }
    this.pos += length;
    return true;
  }
}

/**
 * Checks every record of the batch at the start of `batch` (exactly one batch, header already validated) and
 * returns what is wrong with them, if anything, and the largest record timestamp.
 *
 * @example
 * ```ts
 * import { buildRecordBatch } from "./record_batch.ts";
 * import { validateRecords } from "./record_validation.ts";
 * const batch = buildRecordBatch([{ timestamp: 0, key: null, value: new Uint8Array(3) }]);
 * validateRecords(batch).defect; // undefined: well-formed
 * validateRecords(batch, { requireKeys: true }).defect?.recordErrors[0].batchIndex; // 0: keyless on a compacted topic
 * validateRecords(batch, { timestampRange: { min: 0, max: 10 } }).maxTimestamp; // 0
 * ```
 */
export function validateRecords(batch: Uint8Array, options: RecordValidationOptions = {}): RecordsVerdict {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const recordsCount = view.getInt32(BatchOffsets.recordsCount);
  const compression = view.getInt16(BatchOffsets.attributes) & Attributes.compressionMask;
  const end = view.getInt32(BatchOffsets.batchLength) + BATCH_LENGTH_PREFIX;
  let section = batch.subarray(BATCH_HEADER_SIZE, Math.min(end, batch.length));
  if (compression !== Compression.None) {
    const maxDecompressedBytes = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
    if (recordsCount > maxDecompressedBytes / (MIN_RECORD_BODY + 1)) {
      return refuse(
        malformed(`The batch declares ${recordsCount} records, more than ${maxDecompressedBytes} bytes can hold`),
      );
    }
    try {
      section = decompress(compression as Compression, section, maxDecompressedBytes);
    } catch (e) {
      return refuse({
        kind: "undecompressable",
        message: `The batch's ${Compression[compression]} records do not decompress: ${(e as Error).message}`,
        recordErrors: [],
      });
    }
  }
  const rules: RecordRules = {
    requireKeys: options.requireKeys ?? false,
    topicPartition: options.topicPartition ?? "this partition",
    baseTimestamp: Number(view.getBigInt64(BatchOffsets.baseTimestamp)),
    timestampRange: options.timestampRange,
  };
  const refused: RefusedRecord[] = [];
  const walked = walkRecords(section, recordsCount, rules, refused);
  if (typeof walked === "string") return refuse(malformed(walked));
  if (refused.length > 0) return refuse(refusedRecords(refused));
  return { maxTimestamp: walked };
}

function refuse(defect: RecordsDefect): RecordsVerdict {
  return { defect, maxTimestamp: NO_TIMESTAMP };
}

/** The per-record rules of one batch. */
interface RecordRules {
  requireKeys: boolean;
  topicPartition: string;
  baseTimestamp: number;
  timestampRange: { min: number; max: number } | undefined;
}

function malformed(message: string): RecordsDefect {
  return { kind: "malformed", message, recordErrors: [] };
}

/**
 * Walks `count` records over the whole of `section`; returns the first framing defect as a sentence, or else the
 * largest record timestamp (-1 without a timestamp range). Pushes each record a per-record rule refuses onto
 * `refused` (one error per record, the key rule first, as Kafka does).
 */
function walkRecords(
  section: Uint8Array,
  count: number,
  rules: RecordRules,
  refused: RefusedRecord[],
): string | number {
  const range = rules.timestampRange;
  let maxTimestamp = NO_TIMESTAMP;
  const cursor = new RecordCursor(section, 0, section.length);
  let index = 0;
  try {
    for (; index < count; index++) {
      if (cursor.pos >= cursor.end) {
        return `The batch declares ${count} records but holds ${index}`;
      }
      const length = cursor.varint("record length");
      if (length < MIN_RECORD_BODY) return `Record ${index} has length ${length}, below the minimum of 6`;
      if (length > cursor.end - cursor.pos) {
        return `Record ${index} has length ${length}, but ${cursor.end - cursor.pos} bytes are left in the batch`;
      }
      const recordEnd = cursor.pos + length;
      cursor.limit = recordEnd;
      cursor.pos++; // attributes: unused by Kafka so far, any value is kept as sent
      let timestamp = NO_TIMESTAMP;
      if (range === undefined) cursor.skipVarlong("timestamp delta");
      else {
        timestamp = rules.baseTimestamp + cursor.varlong("timestamp delta");
        if (timestamp > maxTimestamp) maxTimestamp = timestamp;
      }
      const offsetDelta = cursor.varint("offset delta");
      if (offsetDelta !== index) return `Record ${index} has offset delta ${offsetDelta}, expected ${index}`;
      const hasKey = cursor.skipBytes("key", "key length", true);
      if (!hasKey && rules.requireKeys) {
        refused.push({
          batchIndex: index,
          message: `Compacted topic cannot accept message without key in topic partition ${rules.topicPartition}`,
          timestamp: false,
        });
      } else if (
        range !== undefined && timestamp !== NO_TIMESTAMP && (timestamp < range.min || timestamp > range.max)
      ) {
        refused.push({
          batchIndex: index,
          message: `Timestamp ${timestamp} of message with offset ${index} is out of range. The timestamp should be ` +
            `within [${range.min}, ${range.max}]`,
          timestamp: true,
        });
      }
      cursor.skipBytes("value", "value length", true);
      const headerCount = cursor.varint("header count");
      if (headerCount < 0 || headerCount > cursor.limit - cursor.pos) {
        return `Record ${index} has header count ${headerCount}, which its ${length} bytes cannot hold`;
      }
      for (let h = 0; h < headerCount; h++) {
        cursor.skipBytes("header key", "header key length", false);
        cursor.skipBytes("header value", "header value length", true);
      }
      if (cursor.pos !== recordEnd) {
        return `Record ${index} has length ${length}, but its fields take ${length - (recordEnd - cursor.pos)} bytes`;
      }
      cursor.limit = cursor.end;
    }
  } catch (e) {
    if (e instanceof FramingDefect) return `Record ${index}: ${e.message}`;
    throw e;
  }
  if (cursor.pos !== cursor.end) {
    return `The batch declares ${count} records, but ${cursor.end - cursor.pos} bytes follow the last of them`;
  }
  return maxTimestamp;
}

/**
 * Kafka's answer to records refused one by one: one record error each; any timestamp error makes the whole an
 * invalid-timestamp refusal, else the message shows the first three errors (Kafka's `processRecordErrors`).
 */
function refusedRecords(refused: RefusedRecord[]): RecordsDefect {
  const recordErrors = refused.map(({ batchIndex, message }) => ({ batchIndex, message }));
  if (refused.some((r) => r.timestamp)) {
    return {
      kind: "invalid_timestamps",
      message: "One or more records have been rejected due to invalid timestamp",
      recordErrors,
    };
  }
  const shown = recordErrors.slice(0, 3).map((e) => `RecordError(batchIndex=${e.batchIndex}, message='${e.message}')`);
  return {
    kind: "keyless_records",
    message: `One or more records have been rejected due to ${recordErrors.length} record errors in total, and ` +
      `only showing the first three errors at most: [${shown.join(", ")}]`,
    recordErrors,
  };
}
