/**
 * Record batch v2 as a whole: building a batch from records, decoding a batch's records, and walking the
 * batches of a buffer. The layout is Kafka's docs/implementation.html ("5.3 Message Format").
 *
 * Only code that needs records' meaning decodes them (compaction, transaction markers, the HTTP side); the
 * produce and fetch paths use `iterateBatches` and the header functions of `record_batch_header.ts`.
 *
 * Decoding is strict: every length is checked against the bytes that remain before anything is allocated,
 * a record count that cannot fit fails at once, and any malformed or truncated input throws `ProtocolError`.
 *
 * Timestamps of records are JavaScript numbers (milliseconds); a timestamp delta must stay within
 * ±2^52 so that its zigzag encoding is a safe integer, which any real clock satisfies.
 *
 * @module
 */
import { compress, decompress, DEFAULT_MAX_DECOMPRESSED_BYTES } from "./compression.ts";
import { crc32c } from "./crc32c.ts";
import { ProtocolError } from "./protocol_error.ts";
import {
  Attributes,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_PREFIX,
  type BatchHeader,
  BatchOffsets,
  Compression,
  readBatchHeader,
  writeBatchCrc,
} from "./record_batch_header.ts";

export { type BatchHeader, Compression } from "./record_batch_header.ts";

/** The magic byte of record batch v2. */
export const MAGIC_V2 = 2;

/** Where record timestamps come from (attribute bit 3). */
export enum TimestampType {
  /** Set by the producer. */
  CreateTime = 0,
  /** Set by the broker when it appended the batch; every record's timestamp is the batch's maxTimestamp. */
  LogAppendTime = 1,
}

/** One record header. Kafka header keys are non-null strings; values may be null. */
export interface RecordHeader {
  /** The header name, UTF-8 on the wire. */
  key: string;
  /** The header value; null is distinct from empty. */
  value: Uint8Array | null;
}

/** A record to put in a batch; its offset delta is its index in the batch. */
export interface BatchRecord {
  /** Milliseconds since the epoch (create time). */
  timestamp: number;
  /** The record key; null means no key (length -1 on the wire). */
  key: Uint8Array | null;
  /** The record value; null is a tombstone for compacted topics. */
  value: Uint8Array | null;
  /** Record headers, in order; none when omitted. */
  headers?: readonly RecordHeader[];
}

/** A record read from a batch. `key`, `value` and header values are views into the (decompressed) batch bytes. */
export interface DecodedRecord {
  /** The record attributes byte (unused by Kafka so far, kept as read). */
  attributes: number;
  /** Milliseconds from the batch's baseTimestamp. */
  timestampDelta: number;
  /** Offset from the batch's baseOffset (the record's offset is baseOffset + offsetDelta). */
  offsetDelta: number;
  /** baseTimestamp + timestampDelta, or the batch's maxTimestamp for log-append-time batches. */
  timestamp: number;
  /** The record key, or null. */
  key: Uint8Array | null;
  /** The record value, or null. */
  value: Uint8Array | null;
  /** Record headers, in wire order. */
  headers: RecordHeader[];
}

/** The batch-level fields of a batch to build. Every field has Kafka's "not set" default. */
export interface BatchFields {
  /** Default 0n; the broker stamps the real one on append. */
  baseOffset?: bigint;
  /** Default -1. */
  partitionLeaderEpoch?: number;
  /** Default -1n (no producer id). */
  producerId?: bigint;
  /** Default -1. */
  producerEpoch?: number;
  /** Default -1. */
  baseSequence?: number;
  /** Part of a transaction (attribute bit 4). */
  transactional?: boolean;
  /** A control batch, e.g. a transaction marker (attribute bit 5). */
  control?: boolean;
  /** Default CreateTime. */
  timestampType?: TimestampType;
  /** For LogAppendTime batches: the append time, stored as maxTimestamp. */
  logAppendTimeMs?: number;
  /** Default None. */
  compression?: Compression;
  /** Codec level for gzip and zstd (see `CompressOptions`). */
  compressionLevel?: number;
}

/** The attribute bits of a batch, spelled out. */
export interface BatchAttributes {
  /** Bits 0-2: the codec of the records section (values above 4 are invalid). */
  compression: Compression;
  /** Bit 3. */
  timestampType: TimestampType;
  /** Bit 4. */
  transactional: boolean;
  /** Bit 5. */
  control: boolean;
  /** Bit 6: baseTimestamp holds the delete horizon set by compaction. */
  hasDeleteHorizon: boolean;
}

/** A decoded batch: its header, its attributes and its records. */
export interface DecodedBatch {
  /** The fixed 61-byte header. */
  header: BatchHeader;
  /** The header's attribute bits, spelled out. */
  attributes: BatchAttributes;
  /** The records, `header.recordsCount` of them. */
  records: DecodedRecord[];
}

/** Options of {@linkcode decodeRecordBatch}. */
export interface DecodeOptions {
  /** Largest records section accepted after decompression. Default `DEFAULT_MAX_DECOMPRESSED_BYTES`. */
  maxDecompressedBytes?: number;
  /** Check the CRC-32C before decoding (default true). */
  verifyCrc?: boolean;
}

/** Where one batch lies in a buffer of concatenated batches, with its header. */
export interface BatchSlot {
  /** Where the batch starts in the buffer. */
  pos: number;
  /** The batch's size in bytes: batchLength + 12. */
  size: number;
  /** The batch's header. */
  header: BatchHeader;
}

/** The smallest record: length, attributes, timestampDelta, offsetDelta, keyLength, valueLength, headersCount. */
const MIN_RECORD_SIZE = 7;
/** The smallest header: key length and value length. */
const MIN_HEADER_SIZE = 2;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const NO_TIMESTAMP = -1;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

// ---------------------------------------------------------------------------------------------------------------
// Attributes

/**
 * Spells out the attribute bits of a batch.
 *
 * @example
 * ```ts
 * import { readBatchAttributes } from "./record_batch.ts";
 * const attributes = readBatchAttributes(0x32); // control (0x20) | transactional (0x10) | snappy (2)
 * attributes.control; // true
 * attributes.compression; // Compression.Snappy
 * ```
 */
export function readBatchAttributes(attributes: number): BatchAttributes {
  return {
    compression: (attributes & Attributes.compressionMask) as Compression,
    timestampType: (attributes & Attributes.timestampTypeLogAppend) !== 0
      ? TimestampType.LogAppendTime
      : TimestampType.CreateTime,
    transactional: (attributes & Attributes.transactional) !== 0,
    control: (attributes & Attributes.control) !== 0,
    hasDeleteHorizon: (attributes & Attributes.deleteHorizon) !== 0,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Varints (zigzag, as protobuf): int32 varints and varlongs limited to safe integers.

function zigzag32(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}

function unsignedVarintSize(z: number): number {
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  if (z < 0x800000000) return 5;
  let size = 5;
  for (let v = Math.floor(z / 0x800000000); v > 0; v = Math.floor(v / 0x80)) size++;
  return size;
}

function writeUnsignedVarint(buf: Uint8Array, pos: number, z: number): number {
  while (z >= 0x80000000) {
    buf[pos++] = (z % 0x80) | 0x80;
    z = Math.floor(z / 0x80);
  }
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/** Zigzag of a varlong value; throws when the encoding would not be a safe integer. */
function zigzag64(n: number): number {
  if (n >= -0x80000000 && n <= 0x7fffffff) return zigzag32(n);
  const z = n >= 0 ? n * 2 : -n * 2 - 1;
  if (!Number.isSafeInteger(n) || z > MAX_SAFE) {
    throw new ProtocolError("invalid_value", `timestamp delta ${n} is outside the supported ±2^52 range`);
  }
  return z;
}

function checkInt32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
    throw new ProtocolError("invalid_value", `${what} ${n} is not an int32`);
  }
}

function checkInt64(n: bigint, what: string): void {
  if (n < -(2n ** 63n) || n >= 2n ** 63n) throw new ProtocolError("invalid_value", `${what} ${n} is not an int64`);
}

function checkInt16(n: number, what: string): void {
  if (!Number.isInteger(n) || n < -0x8000 || n > 0x7fff) {
    throw new ProtocolError("invalid_value", `${what} ${n} is not an int16`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Building

/** Sizes worked out for one record before writing it. */
interface RecordPlan {
  bodySize: number;
  timestampDeltaZ: number;
  headerKeys: Uint8Array[];
}

/**
 * Builds a complete v2 batch (header, records, CRC-32C) from records and batch fields. The records section is
 * compressed with `fields.compression`; `recordsCount` stays outside the compressed part, as Kafka requires.
 *
 * @example
 * ```ts
 * import { buildRecordBatch, decodeRecordBatch } from "./record_batch.ts";
 * const value = new TextEncoder().encode("hello");
 * const batch = buildRecordBatch([{ timestamp: 1700000000000, key: null, value }]);
 * decodeRecordBatch(batch).records[0].value; // Uint8Array "hello"
 * ```
 */
export function buildRecordBatch(records: readonly BatchRecord[], fields: BatchFields = {}): Uint8Array {
  const compression = fields.compression ?? Compression.None;
  if (!Number.isInteger(compression) || compression < Compression.None || compression > Compression.Zstd) {
    throw new ProtocolError("invalid_value", `unknown compression codec ${compression}`);
  }
  const timestampType = fields.timestampType ?? TimestampType.CreateTime;
  const partitionLeaderEpoch = fields.partitionLeaderEpoch ?? -1;
  const producerEpoch = fields.producerEpoch ?? -1;
  const baseSequence = fields.baseSequence ?? -1;
  checkInt32(partitionLeaderEpoch, "partitionLeaderEpoch");
  checkInt16(producerEpoch, "producerEpoch");
  checkInt32(baseSequence, "baseSequence");
  const baseOffset = fields.baseOffset ?? 0n;
  const producerId = fields.producerId ?? -1n;
  checkInt64(baseOffset, "baseOffset");
  checkInt64(producerId, "producerId");
  if (records.length > 0x7fffffff) throw new ProtocolError("invalid_value", "too many records for one batch");

  let baseTimestamp = NO_TIMESTAMP;
  let maxTimestamp = NO_TIMESTAMP;
  if (records.length > 0) {
    baseTimestamp = records[0].timestamp;
    maxTimestamp = baseTimestamp;
  }
  const plans: RecordPlan[] = new Array(records.length);
  let recordsSize = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (!Number.isSafeInteger(record.timestamp)) {
      throw new ProtocolError("invalid_value", `record ${i} timestamp ${record.timestamp} is not a safe integer`);
    }
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
    const timestampDeltaZ = zigzag64(record.timestamp - baseTimestamp);
    let bodySize = 1 + unsignedVarintSize(timestampDeltaZ) + unsignedVarintSize(zigzag32(i));
    bodySize += record.key === null ? 1 : unsignedVarintSize(zigzag32(record.key.length)) + record.key.length;
    bodySize += record.value === null ? 1 : unsignedVarintSize(zigzag32(record.value.length)) + record.value.length;
    const headers = record.headers ?? [];
    bodySize += unsignedVarintSize(zigzag32(headers.length));
    const headerKeys: Uint8Array[] = new Array(headers.length);
    for (let h = 0; h < headers.length; h++) {
      const key = utf8Encoder.encode(headers[h].key);
      headerKeys[h] = key;
      const value = headers[h].value;
      bodySize += unsignedVarintSize(zigzag32(key.length)) + key.length;
      bodySize += value === null ? 1 : unsignedVarintSize(zigzag32(value.length)) + value.length;
    }
    plans[i] = { bodySize, timestampDeltaZ, headerKeys };
    recordsSize += unsignedVarintSize(zigzag32(bodySize)) + bodySize;
  }
  if (timestampType === TimestampType.LogAppendTime && fields.logAppendTimeMs !== undefined) {
    if (!Number.isSafeInteger(fields.logAppendTimeMs)) {
      throw new ProtocolError("invalid_value", `logAppendTimeMs ${fields.logAppendTimeMs} is not a safe integer`);
    }
    maxTimestamp = fields.logAppendTimeMs;
  }

  let out: Uint8Array;
  if (compression === Compression.None) {
    out = new Uint8Array(BATCH_HEADER_SIZE + recordsSize);
    writeRecords(out, BATCH_HEADER_SIZE, records, plans);
  } else {
    const plain = new Uint8Array(recordsSize);
    writeRecords(plain, 0, records, plans);
    const packed = compress(compression, plain, { level: fields.compressionLevel });
    out = new Uint8Array(BATCH_HEADER_SIZE + packed.length);
    out.set(packed, BATCH_HEADER_SIZE);
  }
  if (out.length - BATCH_LENGTH_PREFIX > 0x7fffffff) {
    throw new ProtocolError("invalid_length", "batch larger than 2 GiB");
  }

  let attributes = compression;
  if (timestampType === TimestampType.LogAppendTime) attributes |= Attributes.timestampTypeLogAppend;
  if (fields.transactional) attributes |= Attributes.transactional;
  if (fields.control) attributes |= Attributes.control;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setBigInt64(BatchOffsets.baseOffset, baseOffset);
  view.setInt32(BatchOffsets.batchLength, out.length - BATCH_LENGTH_PREFIX);
  view.setInt32(BatchOffsets.partitionLeaderEpoch, partitionLeaderEpoch);
  view.setInt8(BatchOffsets.magic, MAGIC_V2);
  view.setInt16(BatchOffsets.attributes, attributes);
  view.setInt32(BatchOffsets.lastOffsetDelta, records.length - 1);
  view.setBigInt64(BatchOffsets.baseTimestamp, BigInt(baseTimestamp));
  view.setBigInt64(BatchOffsets.maxTimestamp, BigInt(maxTimestamp));
  view.setBigInt64(BatchOffsets.producerId, producerId);
  view.setInt16(BatchOffsets.producerEpoch, producerEpoch);
  view.setInt32(BatchOffsets.baseSequence, baseSequence);
  view.setInt32(BatchOffsets.recordsCount, records.length);
  writeBatchCrc(out);
  return out;
}

function writeBytesField(buf: Uint8Array, pos: number, bytes: Uint8Array | null): number {
  if (bytes === null) {
    buf[pos] = 0x01; // zigzag(-1)
    return pos + 1;
  }
  pos = writeUnsignedVarint(buf, pos, zigzag32(bytes.length));
  buf.set(bytes, pos);
  return pos + bytes.length;
}

function writeRecords(buf: Uint8Array, pos: number, records: readonly BatchRecord[], plans: RecordPlan[]): number {
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    const plan = plans[i];
    pos = writeUnsignedVarint(buf, pos, zigzag32(plan.bodySize));
    buf[pos++] = 0; // record attributes: unused
    pos = writeUnsignedVarint(buf, pos, plan.timestampDeltaZ);
    pos = writeUnsignedVarint(buf, pos, zigzag32(i));
    pos = writeBytesField(buf, pos, record.key);
    pos = writeBytesField(buf, pos, record.value);
    const headers = record.headers ?? [];
    pos = writeUnsignedVarint(buf, pos, zigzag32(headers.length));
    for (let h = 0; h < headers.length; h++) {
      pos = writeBytesField(buf, pos, plan.headerKeys[h]);
      pos = writeBytesField(buf, pos, headers[h].value);
    }
  }
  return pos;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/** A bounds-checked cursor over the records section. */
class Reader {
  constructor(readonly buf: Uint8Array, public pos: number, public end: number) {}

  varint(what: string): number {
    const buf = this.buf;
    let z = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw new ProtocolError("truncated", `input ends inside the ${what} varint`);
      const b = buf[this.pos++];
      if (shift === 28 && b > 0x0f) throw new ProtocolError("invalid_value", `${what} varint overflows 32 bits`);
      z |= (b & 0x7f) << shift;
      if (b < 0x80) return (z >>> 1) ^ -(z & 1);
    }
    throw new ProtocolError("invalid_value", `${what} varint is longer than 5 bytes`);
  }

  varlong(what: string): number {
    let z = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtocolError("truncated", `input ends inside the ${what} varlong`);
      const b = this.buf[this.pos++];
      z += (b & 0x7f) * scale;
      if (z > MAX_SAFE) throw new ProtocolError("invalid_value", `${what} varlong is outside the safe integer range`);
      if (b < 0x80) return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      scale *= 0x80;
    }
    throw new ProtocolError("invalid_value", `${what} varlong is longer than 10 bytes`);
  }

  /** A nullable byte field: varint length (-1 = null) then the bytes, as a view. */
  bytes(what: string): Uint8Array | null {
    const length = this.varint(`${what} length`);
    if (length === -1) return null;
    if (length < -1) throw new ProtocolError("invalid_length", `${what} length ${length} is negative`);
    if (length > this.end - this.pos) {
      throw new ProtocolError(
        "invalid_length",
        `${what} length ${length} exceeds the ${this.end - this.pos} bytes left`,
      );
    }
    const start = this.pos;
    this.pos += length;
    return this.buf.subarray(start, this.pos);
  }
}

/**
 * Decodes the batch at the start of `bytes` (which may continue past it): validates magic, length and CRC,
 * decompresses the records section within the configured bound, and decodes every record.
 *
 * @example
 * ```ts
 * import { buildRecordBatch, decodeRecordBatch } from "./record_batch.ts";
 * import { Compression } from "./record_batch_header.ts";
 * const batch = buildRecordBatch([{ timestamp: 0, key: null, value: null }], { compression: Compression.Lz4 });
 * decodeRecordBatch(batch).records.length; // 1
 * ```
 */
export function decodeRecordBatch(bytes: Uint8Array, options: DecodeOptions = {}): DecodedBatch {
  const maxDecompressedBytes = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  if (bytes.length < BATCH_HEADER_SIZE) {
    throw new ProtocolError("truncated", `a batch needs ${BATCH_HEADER_SIZE} header bytes, got ${bytes.length}`);
  }
  const header = readBatchHeader(bytes);
  if (header.magic !== MAGIC_V2) throw new ProtocolError("invalid_value", `unsupported batch magic ${header.magic}`);
  const size = header.batchLength + BATCH_LENGTH_PREFIX;
  if (header.batchLength < BATCH_HEADER_SIZE - BATCH_LENGTH_PREFIX) {
    throw new ProtocolError("invalid_length", `batchLength ${header.batchLength} is smaller than the header`);
  }
  if (size > bytes.length) throw new ProtocolError("truncated", `batch of ${size} bytes, only ${bytes.length} given`);
  const batch = bytes.subarray(0, size);
  if ((options.verifyCrc ?? true) && !isCrcValid(batch, header.crc)) {
    throw new ProtocolError("invalid_value", "batch CRC-32C mismatch");
  }
  const attributes = readBatchAttributes(header.attributes);
  if (attributes.compression > Compression.Zstd) {
    throw new ProtocolError("invalid_value", `unknown compression codec ${attributes.compression}`);
  }
  const count = header.recordsCount;
  if (count < 0) throw new ProtocolError("invalid_length", `recordsCount ${count} is negative`);

  let section: Uint8Array;
  if (attributes.compression === Compression.None) {
    section = batch.subarray(BATCH_HEADER_SIZE);
  } else {
    if (count > maxDecompressedBytes / MIN_RECORD_SIZE) {
      throw new ProtocolError("invalid_length", `recordsCount ${count} cannot fit in ${maxDecompressedBytes} bytes`);
    }
    section = decompress(attributes.compression, batch.subarray(BATCH_HEADER_SIZE), maxDecompressedBytes);
  }
  if (count > section.length / MIN_RECORD_SIZE) {
    throw new ProtocolError("invalid_length", `recordsCount ${count} cannot fit in ${section.length} bytes`);
  }

  const logAppendTime = attributes.timestampType === TimestampType.LogAppendTime;
  const baseTimestamp = Number(header.baseTimestamp);
  const maxTimestamp = Number(header.maxTimestamp);
  const reader = new Reader(section, 0, section.length);
  const records: DecodedRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    records[i] = readRecord(reader, baseTimestamp, logAppendTime ? maxTimestamp : undefined);
  }
  if (reader.pos !== section.length) {
    throw new ProtocolError("invalid_length", `${section.length - reader.pos} bytes follow the last record`);
  }
  return { header, attributes, records };
}

function isCrcValid(batch: Uint8Array, stored: number): boolean {
  // Computed here rather than with isBatchCrcValid so a lying batchLength can never read past `batch`.
  return computeCrcOver(batch) === stored;
}

function computeCrcOver(batch: Uint8Array): number {
  return crc32c(batch.subarray(BatchOffsets.attributes));
}

function readRecord(reader: Reader, baseTimestamp: number, logAppendTimestamp: number | undefined): DecodedRecord {
  const length = reader.varint("record length");
  if (length < MIN_RECORD_SIZE - 1) throw new ProtocolError("invalid_length", `record length ${length} is too small`);
  if (length > reader.end - reader.pos) {
    throw new ProtocolError(
      "invalid_length",
      `record length ${length} exceeds the ${reader.end - reader.pos} bytes left`,
    );
  }
  const sectionEnd = reader.end;
  const recordEnd = reader.pos + length;
  reader.end = recordEnd;
  const attributes = reader.buf[reader.pos++];
  const timestampDelta = reader.varlong("timestampDelta");
  const offsetDelta = reader.varint("offsetDelta");
  const key = reader.bytes("key");
  const value = reader.bytes("value");
  const headerCount = reader.varint("headersCount");
  if (headerCount < 0) throw new ProtocolError("invalid_length", `headersCount ${headerCount} is negative`);
  if (headerCount > (recordEnd - reader.pos) / MIN_HEADER_SIZE) {
    throw new ProtocolError("invalid_length", `headersCount ${headerCount} cannot fit in the record`);
  }
  const headers: RecordHeader[] = new Array(headerCount);
  for (let h = 0; h < headerCount; h++) {
    const keyBytes = reader.bytes("header key");
    if (keyBytes === null) throw new ProtocolError("invalid_value", "header key is null");
    let headerKey: string;
    try {
      headerKey = utf8Decoder.decode(keyBytes);
    } catch {
      throw new ProtocolError("invalid_value", "header key is not valid UTF-8");
    }
    headers[h] = { key: headerKey, value: reader.bytes("header value") };
  }
  if (reader.pos !== recordEnd) {
    throw new ProtocolError("invalid_length", `record length ${length} disagrees with its fields`);
  }
  reader.end = sectionEnd;
  return {
    attributes,
    timestampDelta,
    offsetDelta,
    timestamp: logAppendTimestamp ?? baseTimestamp + timestampDelta,
    key,
    value,
    headers,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Walking a buffer of batches

/**
 * Yields every complete batch in `bytes` (a Produce request's records, a fetched chunk, a log segment),
 * without decoding records or checking CRCs. Stops cleanly at a trailing partial batch, which Kafka allows at
 * the end of a fetch response; the generator's return value is the number of trailing bytes left unread.
 * Throws `ProtocolError` for a batch whose length is impossible or whose magic is not 2.
 *
 * @example
 * ```ts
 * import { buildRecordBatch, iterateBatches } from "./record_batch.ts";
 * const one = buildRecordBatch([{ timestamp: 0, key: null, value: null }]);
 * const two = new Uint8Array([...one, ...one.subarray(0, 30)]);
 * [...iterateBatches(two)].length; // 1: the partial second batch is skipped
 * ```
 */
export function* iterateBatches(bytes: Uint8Array): Generator<BatchSlot, number, undefined> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (bytes.length - pos >= BATCH_HEADER_SIZE) {
    const batchLength = view.getInt32(pos + BatchOffsets.batchLength);
    if (batchLength < BATCH_HEADER_SIZE - BATCH_LENGTH_PREFIX) {
      throw new ProtocolError("invalid_length", `batchLength ${batchLength} at ${pos} is smaller than the header`);
    }
    const size = batchLength + BATCH_LENGTH_PREFIX;
    if (size > bytes.length - pos) break;
    const magic = view.getInt8(pos + BatchOffsets.magic);
    if (magic !== MAGIC_V2) throw new ProtocolError("invalid_value", `unsupported batch magic ${magic} at ${pos}`);
    yield { pos, size, header: readBatchHeader(bytes, pos) };
    pos += size;
  }
  return bytes.length - pos;
}
