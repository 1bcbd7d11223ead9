/**
 * The four compression codecs of record batch v2, as Kafka clients write and read them.
 *
 * - gzip: a gzip stream (`node:zlib`); concatenated members are read too.
 * - snappy: compression writes the xerial framing the Java client writes (magic `0x82 "SNAPPY" 0x00`, version
 *   and compatible-version int32s, then `[int32 length][raw snappy block]` per 32 KiB of input), which Java and
 *   librdkafka both read; decompression accepts that framing and also bare raw snappy, which librdkafka may
 *   write.
 * - lz4: the LZ4 frame format (see `lz4_frame.ts`).
 * - zstd: a zstd frame (`node:zlib`).
 *
 * Decompression is always bounded: it takes the largest output the caller accepts and throws a
 * `ProtocolError` beyond it, without first allocating the oversized output. Any malformed input also throws
 * a `ProtocolError`; nothing else escapes.
 *
 * @module
 */
import * as zlib from "node:zlib";
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from "snappy";
import { decodeLz4Frame, encodeLz4Frame } from "./lz4_frame.ts";
import { ProtocolError } from "./protocol_error.ts";
import { Compression } from "./record_batch_header.ts";

export { Compression } from "./record_batch_header.ts";

/** A default decompression limit for callers without a better one: 64 MiB. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** Tuning for {@linkcode compress}. */
export interface CompressOptions {
  /**
   * Compression level for gzip (1-9, default 6, as `java.util.zip.Deflater`) and zstd (default 3, Kafka's
   * `compression.zstd.level` default). Snappy and lz4 have no level here.
   */
  level?: number;
}

/** The xerial snappy-java stream header: magic (8 bytes), version 1, compatible version 1. */
const XERIAL_HEADER = new Uint8Array([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
const XERIAL_MAGIC_LENGTH = 8;
/** snappy-java's `SnappyOutputStream` default block size. */
const XERIAL_BLOCK_SIZE = 32 * 1024;

/**
 * Compresses `data` with `codec`. `Compression.None` returns `data` itself.
 *
 * @example
 * ```ts
 * import { compress, decompress } from "./compression.ts";
 * import { Compression } from "./record_batch_header.ts";
 * const packed = compress(Compression.Zstd, new Uint8Array(4096));
 * decompress(Compression.Zstd, packed, 4096).length; // 4096
 * ```
 */
export function compress(codec: Compression, data: Uint8Array, options: CompressOptions = {}): Uint8Array {
  return plain(compressAny(codec, data, options));
}

function compressAny(codec: Compression, data: Uint8Array, options: CompressOptions): Uint8Array {
  switch (codec) {
    case Compression.None:
      return data;
    case Compression.Gzip:
      return zlib.gzipSync(data, { level: options.level ?? 6 });
    case Compression.Snappy:
      return compressXerialSnappy(data);
    case Compression.Lz4:
      return encodeLz4Frame(data);
    case Compression.Zstd:
      return zlib.zstdCompressSync(data, {
        params: { [zlib.constants.ZSTD_c_compressionLevel]: options.level ?? 3 },
      });
    default:
      throw new ProtocolError("invalid_value", `unknown compression codec ${codec}`);
  }
}

/**
 * Decompresses `data` written with `codec`, producing at most `maxOutputBytes` bytes.
 * Throws `ProtocolError` ("invalid_length") when the output would be larger, and ("invalid_value" or
 * "truncated") when the input is not valid for the codec.
 *
 * @example
 * ```ts
 * import { compress, decompress } from "./compression.ts";
 * import { Compression } from "./record_batch_header.ts";
 * import { ProtocolError } from "./protocol_error.ts";
 * const packed = compress(Compression.Gzip, new Uint8Array(1 << 20));
 * decompress(Compression.Gzip, packed, 1 << 20).length; // 1048576
 * try {
 *   decompress(Compression.Gzip, packed, 1024);
 * } catch (e) {
 *   (e as ProtocolError).kind; // "invalid_length": over the limit
 * }
 * ```
 */
export function decompress(codec: Compression, data: Uint8Array, maxOutputBytes: number): Uint8Array {
  return plain(decompressAny(codec, data, maxOutputBytes));
}

/** A plain Uint8Array view of a codec's output (node:zlib and the napi codecs return Node Buffers). */
function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decompressAny(codec: Compression, data: Uint8Array, maxOutputBytes: number): Uint8Array {
  switch (codec) {
    case Compression.None:
      if (data.length > maxOutputBytes) throw overLimit("none", maxOutputBytes);
      return data;
    case Compression.Gzip:
      return zlibBounded("gzip", zlib.gunzipSync, data, maxOutputBytes);
    case Compression.Snappy:
      return isXerialSnappy(data)
        ? decompressXerialSnappy(data, maxOutputBytes)
        : decompressRawSnappy(data, maxOutputBytes);
    case Compression.Lz4:
      return decodeLz4Frame(data, maxOutputBytes);
    case Compression.Zstd:
      return decompressZstd(data, maxOutputBytes);
    default:
      throw new ProtocolError("invalid_value", `unknown compression codec ${codec}`);
  }
}

function overLimit(codec: string, maxOutputBytes: number): ProtocolError {
  return new ProtocolError(
    "invalid_length",
    `${codec}: decompressed size exceeds the limit of ${maxOutputBytes} bytes`,
  );
}

/** Runs a `node:zlib` decompression under a bound, mapping its errors to `ProtocolError`. */
function zlibBounded(
  codec: string,
  run: (data: Uint8Array, options: { maxOutputLength: number }) => Uint8Array,
  data: Uint8Array,
  maxOutputBytes: number,
): Uint8Array {
  let out: Uint8Array;
  try {
    // node:zlib wants maxOutputLength >= 1; a 0 limit is enforced by the length check below.
    out = run(data, { maxOutputLength: Math.max(1, maxOutputBytes) });
  } catch (e) {
    // node:zlib stops at maxOutputLength and throws RangeError ERR_BUFFER_TOO_LARGE.
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw overLimit(codec, maxOutputBytes);
    throw new ProtocolError("invalid_value", `${codec}: ${(e as Error).message}`);
  }
  if (out.length > maxOutputBytes) throw overLimit(codec, maxOutputBytes);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Zstd

const ZSTD_MAGIC = 0xfd2fb528;

/**
 * Decompresses every zstd frame in `data`. The frames are found here, by walking their headers, because
 * `node:zlib`'s zstd silently returns the output of a truncated stream and stops after the first frame.
 */
function decompressZstd(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  const frames = findZstdFrames(data);
  if (frames.length === 1 && frames[0][0] === 0 && frames[0][1] === data.length) {
    return zlibBounded("zstd", zlib.zstdDecompressSync, data, maxOutputBytes);
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const [start, end] of frames) {
    const part = zlibBounded("zstd", zlib.zstdDecompressSync, data.subarray(start, end), maxOutputBytes - total);
    parts.push(part);
    total += part.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The [start, end) of each data frame of a zstd stream, skippable frames left out; throws if one is cut. */
function findZstdFrames(data: Uint8Array): [number, number][] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const cut = (what: string) => new ProtocolError("truncated", `zstd: input ends inside the ${what}`);
  const frames: [number, number][] = [];
  let pos = 0;
  do {
    const start = pos;
    if (data.length - pos < 4) throw cut("frame magic");
    const magic = view.getUint32(pos, true);
    pos += 4;
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
      if (data.length - pos < 4) throw cut("skippable frame size");
      const size = view.getUint32(pos, true);
      if (size > data.length - pos - 4) throw cut("skippable frame");
      pos += 4 + size;
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new ProtocolError("invalid_value", `zstd: bad frame magic 0x${magic.toString(16)}`);
    if (data.length - pos < 1) throw cut("frame header");
    const descriptor = data[pos++];
    if ((descriptor & 0x08) !== 0) throw new ProtocolError("invalid_value", "zstd: reserved frame header bit set");
    const singleSegment = (descriptor & 0x20) !== 0;
    const fcsFlag = descriptor >>> 6;
    const headerRest = (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 0x03] +
      [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag];
    if (data.length - pos < headerRest) throw cut("frame header");
    pos += headerRest;
    for (let last = false; !last;) {
      if (data.length - pos < 3) throw cut("block header");
      const blockHeader = data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16);
      pos += 3;
      last = (blockHeader & 1) !== 0;
      const type = (blockHeader >>> 1) & 0x03;
      if (type === 3) throw new ProtocolError("invalid_value", "zstd: reserved block type");
      const size = type === 1 ? 1 : blockHeader >>> 3;
      if (data.length - pos < size) throw cut("block");
      pos += size;
    }
    if ((descriptor & 0x04) !== 0) {
      if (data.length - pos < 4) throw cut("content checksum");
      pos += 4;
    }
    frames.push([start, pos]);
  } while (pos < data.length);
  return frames;
}

// ---------------------------------------------------------------------------------------------------------------
// Snappy

/** True when `data` starts with the xerial snappy-java magic. */
export function isXerialSnappy(data: Uint8Array): boolean {
  if (data.length < XERIAL_MAGIC_LENGTH) return false;
  for (let i = 0; i < XERIAL_MAGIC_LENGTH; i++) if (data[i] !== XERIAL_HEADER[i]) return false;
  return true;
}

function compressXerialSnappy(data: Uint8Array): Uint8Array {
  const blocks: Uint8Array[] = [];
  let total = XERIAL_HEADER.length;
  for (let start = 0; start < data.length; start += XERIAL_BLOCK_SIZE) {
    const chunk = data.subarray(start, Math.min(start + XERIAL_BLOCK_SIZE, data.length));
    const block = snappyCompress(chunk as Parameters<typeof snappyCompress>[0]) as Uint8Array;
    blocks.push(block);
    total += 4 + block.length;
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(XERIAL_HEADER, 0);
  let pos = XERIAL_HEADER.length;
  for (const block of blocks) {
    view.setInt32(pos, block.length);
    out.set(block, pos + 4);
    pos += 4 + block.length;
  }
  return out;
}

function decompressXerialSnappy(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  if (data.length < XERIAL_HEADER.length) {
    throw new ProtocolError("truncated", "snappy: xerial header needs 16 bytes");
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const blocks: Uint8Array[] = [];
  let total = 0;
  let pos = XERIAL_HEADER.length;
  while (pos < data.length) {
    if (data.length - pos < 4) throw new ProtocolError("truncated", "snappy: xerial block length needs 4 bytes");
    const length = view.getInt32(pos);
    pos += 4;
    if (length < 0 || length > data.length - pos) {
      throw new ProtocolError("invalid_length", `snappy: xerial block length ${length} does not fit the input`);
    }
    const block = decompressRawSnappy(data.subarray(pos, pos + length), maxOutputBytes - total);
    blocks.push(block);
    total += block.length;
    pos += length;
  }
  if (blocks.length === 1) return blocks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const block of blocks) {
    out.set(block, at);
    at += block.length;
  }
  return out;
}

/** Decodes raw snappy, checking its declared length against the limit before the codec allocates it. */
function decompressRawSnappy(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  let declared = 0;
  let i = 0;
  for (let shift = 0;; shift += 7) {
    if (i >= data.length) throw new ProtocolError("truncated", "snappy: input ends inside the length varint");
    if (i >= 5) throw new ProtocolError("invalid_value", "snappy: length varint longer than 5 bytes");
    const b = data[i++];
    declared += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  if (declared > maxOutputBytes) throw overLimit("snappy", maxOutputBytes);
  try {
    return snappyUncompress(data as Parameters<typeof snappyUncompress>[0], { asBuffer: true }) as Uint8Array;
  } catch (e) {
    throw new ProtocolError("invalid_value", `snappy: ${(e as Error).message}`);
  }
}
