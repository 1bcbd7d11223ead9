/**
 * The LZ4 frame format (lz4.org's `lz4_Frame_format.md`), which is what Kafka means by "lz4".
 *
 * Encoding writes the frames Kafka's Java client (`KafkaLZ4BlockOutputStream`) and librdkafka both read:
 * version 01, independent blocks, no block checksum, no content size, no content checksum, 64 KiB blocks.
 * Java refuses dependent blocks, so the encoder never writes them. Each block is compressed by `lz4-napi`'s
 * native block codec; a block that does not shrink is stored raw (the "uncompressed" bit), as the spec allows.
 *
 * Decoding accepts any standard frame: concatenated and skippable frames, dependent or independent blocks,
 * block and content checksums (verified), an optional content size. Preset dictionaries are refused (Kafka
 * never uses them and the frame does not carry the dictionary). Output is bounded by `maxOutputBytes` before
 * it is allocated, so a hostile frame cannot exhaust memory.
 *
 * @module
 */
import { compressSync as lz4BlockCompress, uncompressSync as lz4BlockUncompress } from "lz4-napi";
import { ProtocolError } from "./protocol_error.ts";

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** Block size this encoder writes: 64 KiB, the smallest maximum, which every reader accepts. */
const ENCODE_BLOCK_SIZE = 64 * 1024;
/** FLG byte written: version 01 (bits 7-6), block independence (bit 5), nothing else. */
const ENCODE_FLG = 0x60;
/** BD byte written: block maximum size code 4 = 64 KiB (bits 6-4). */
const ENCODE_BD = 0x40;
const UNCOMPRESSED_BLOCK_BIT = 0x80000000;

// ---------------------------------------------------------------------------------------------------------------
// xxHash32, needed for the header checksum (HC) and, when present, block and content checksums.

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function round(acc: number, lane: number): number {
  acc = (acc + Math.imul(lane, PRIME2)) | 0;
  return Math.imul(rotl(acc, 13), PRIME1);
}

function readU32LE(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/** xxHash32 of `bytes[start, end)` with seed 0, as an unsigned 32-bit number. */
export function xxh32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let i = start;
  let h: number;
  if (end - start >= 16) {
    let v1 = (PRIME1 + PRIME2) | 0;
    let v2 = PRIME2;
    let v3 = 0;
    let v4 = -PRIME1 | 0;
    const limit = end - 16;
    while (i <= limit) {
      v1 = round(v1, readU32LE(bytes, i));
      v2 = round(v2, readU32LE(bytes, i + 4));
      v3 = round(v3, readU32LE(bytes, i + 8));
      v4 = round(v4, readU32LE(bytes, i + 12));
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = PRIME5;
  }
  h = (h + (end - start)) | 0;
  while (i + 4 <= end) {
    h = (h + Math.imul(readU32LE(bytes, i), PRIME3)) | 0;
    h = Math.imul(rotl(h, 17), PRIME4);
    i += 4;
  }
  while (i < end) {
    h = (h + Math.imul(bytes[i], PRIME5)) | 0;
    h = Math.imul(rotl(h, 11), PRIME1);
    i++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

/**
 * Compresses `input` into one LZ4 frame that Kafka's Java client and librdkafka accept.
 *
 * @example
 * ```ts
 * import { encodeLz4Frame, decodeLz4Frame } from "./lz4_frame.ts";
 * const frame = encodeLz4Frame(new TextEncoder().encode("hello hello hello"));
 * decodeLz4Frame(frame, 1 << 20).length; // 17
 * ```
 */
export function encodeLz4Frame(input: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 7 + 4;
  const header = new Uint8Array(7);
  header[0] = 0x04;
  header[1] = 0x22;
  header[2] = 0x4d;
  header[3] = 0x18;
  header[4] = ENCODE_FLG;
  header[5] = ENCODE_BD;
  header[6] = (xxh32(header, 4, 6) >>> 8) & 0xff;
  parts.push(header);
  for (let start = 0; start < input.length; start += ENCODE_BLOCK_SIZE) {
    const chunk = input.subarray(start, Math.min(start + ENCODE_BLOCK_SIZE, input.length));
    // lz4-napi's block output is prefixed by the uncompressed size (4 bytes, little endian); the frame wants
    // the compressed size instead, so the prefix is overwritten in place.
    const compressed = lz4BlockCompress(chunk as Parameters<typeof lz4BlockCompress>[0]) as Uint8Array;
    const compressedLength = compressed.length - 4;
    if (compressedLength < chunk.length) {
      new DataView(compressed.buffer, compressed.byteOffset, 4).setUint32(0, compressedLength, true);
      parts.push(compressed);
      total += compressed.length;
    } else {
      const raw = new Uint8Array(4 + chunk.length);
      new DataView(raw.buffer).setUint32(0, (UNCOMPRESSED_BLOCK_BIT | chunk.length) >>> 0, true);
      raw.set(chunk, 4);
      parts.push(raw);
      total += raw.length;
    }
  }
  const out = new Uint8Array(total);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  // The last 4 bytes stay zero: the EndMark.
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/** An output buffer that grows by doubling, never beyond `limit`. */
class BoundedOutput {
  buf: Uint8Array;
  length = 0;

  constructor(initial: number, readonly limit: number) {
    this.buf = new Uint8Array(Math.max(64, Math.min(initial, limit)));
  }

  /** Makes room for `n` more bytes, throwing once the output would pass its limit. */
  reserve(n: number): void {
    const needed = this.length + n;
    if (needed > this.limit) {
      throw new ProtocolError("invalid_length", `lz4: decompressed size exceeds the limit of ${this.limit} bytes`);
    }
    if (needed <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(Math.min(size, this.limit));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }
}

function truncated(what: string): ProtocolError {
  return new ProtocolError("truncated", `lz4: input ends inside the ${what}`);
}

/**
 * Decodes one compressed LZ4 block from `src[start, end)` into `out`, whose bytes from `windowStart` on may be
 * referenced by matches (the frame's earlier output for dependent blocks, the block's own start otherwise).
 */
function decodeBlockInto(src: Uint8Array, start: number, end: number, out: BoundedOutput, windowStart: number): void {
  let i = start;
  for (;;) {
    if (i >= end) throw truncated("block (sequence token)");
    const token = src[i++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (i >= end) throw truncated("block (literal length)");
        b = src[i++];
        literals += b;
      } while (b === 255);
    }
    if (literals > end - i) throw new ProtocolError("invalid_length", "lz4: literal run passes the block's end");
    out.reserve(literals);
    out.buf.set(src.subarray(i, i + literals), out.length);
    out.length += literals;
    i += literals;
    if (i === end) return; // the last sequence has literals only
    if (end - i < 2) throw truncated("block (match offset)");
    const offset = src[i] | (src[i + 1] << 8);
    i += 2;
    if (offset === 0 || offset > out.length - windowStart) {
      throw new ProtocolError("invalid_value", `lz4: match offset ${offset} points outside the window`);
    }
    let matchLength = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (i >= end) throw truncated("block (match length)");
        b = src[i++];
        matchLength += b;
      } while (b === 255);
    }
    out.reserve(matchLength);
    const buf = out.buf;
    let dst = out.length;
    let from = dst - offset;
    if (offset >= matchLength) {
      buf.copyWithin(dst, from, from + matchLength);
      dst += matchLength;
    } else {
      // Overlapping match: the bytes it copies are the ones it is writing, so copy one at a time.
      const stop = dst + matchLength;
      while (dst < stop) buf[dst++] = buf[from++];
    }
    out.length = dst;
  }
}

/** Decodes an independent block with the native codec; its output is capped at `blockMaxSize`. */
function decodeIndependentBlock(src: Uint8Array, start: number, end: number, blockMaxSize: number, out: BoundedOutput) {
  // lz4-napi reads a 4-byte little-endian size prefix and allocates exactly that capacity; giving it the
  // frame's block maximum bounds its output without knowing the real size.
  const prefixed = new Uint8Array(4 + end - start);
  new DataView(prefixed.buffer).setUint32(0, blockMaxSize, true);
  prefixed.set(src.subarray(start, end), 4);
  let decoded: Uint8Array;
  try {
    decoded = lz4BlockUncompress(prefixed as Parameters<typeof lz4BlockUncompress>[0]) as Uint8Array;
  } catch (e) {
    throw new ProtocolError("invalid_value", `lz4: corrupt block: ${(e as Error).message}`);
  }
  out.reserve(decoded.length);
  out.buf.set(decoded, out.length);
  out.length += decoded.length;
}

/**
 * Decompresses a sequence of LZ4 frames, refusing to produce more than `maxOutputBytes`.
 * Throws `ProtocolError` for any malformed, truncated or oversized input.
 *
 * @example
 * ```ts
 * import { encodeLz4Frame, decodeLz4Frame } from "./lz4_frame.ts";
 * decodeLz4Frame(encodeLz4Frame(new Uint8Array(1000)), 1000).length; // 1000
 * ```
 */
export function decodeLz4Frame(input: Uint8Array, maxOutputBytes: number): Uint8Array {
  const out = new BoundedOutput(input.length * 4, maxOutputBytes);
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let pos = 0;
  let frames = 0;
  while (pos < input.length || frames === 0) {
    if (input.length - pos < 4) throw truncated("frame magic");
    const magic = view.getUint32(pos, true);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (input.length - pos < 8) throw truncated("skippable frame size");
      const size = view.getUint32(pos + 4, true);
      if (size > input.length - pos - 8) throw new ProtocolError("invalid_length", "lz4: skippable frame too long");
      pos += 8 + size;
      frames++;
      continue;
    }
    if (magic !== FRAME_MAGIC) {
      throw new ProtocolError("invalid_value", `lz4: bad frame magic 0x${magic.toString(16)}`);
    }
    pos = decodeFrame(input, view, pos + 4, out);
    frames++;
  }
  return out.buf.subarray(0, out.length);
}

/** Decodes the frame whose descriptor starts at `pos`; returns the position after it. */
function decodeFrame(input: Uint8Array, view: DataView, pos: number, out: BoundedOutput): number {
  if (input.length - pos < 3) throw truncated("frame descriptor");
  const descriptorStart = pos;
  const flg = input[pos];
  const bd = input[pos + 1];
  if (flg >>> 6 !== 1) throw new ProtocolError("invalid_value", `lz4: unsupported frame version ${flg >>> 6}`);
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) {
    throw new ProtocolError("invalid_value", "lz4: reserved descriptor bits are set");
  }
  const independent = (flg & 0x20) !== 0;
  const blockChecksum = (flg & 0x10) !== 0;
  const contentSizePresent = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  if ((flg & 0x01) !== 0) throw new ProtocolError("invalid_value", "lz4: preset dictionaries are not supported");
  const sizeCode = (bd >>> 4) & 0x07;
  if (sizeCode < 4) throw new ProtocolError("invalid_value", `lz4: invalid block maximum size code ${sizeCode}`);
  const blockMaxSize = 1 << (8 + 2 * sizeCode);
  pos += 2;
  let contentSize = -1;
  if (contentSizePresent) {
    if (input.length - pos < 8) throw truncated("content size");
    const declared = view.getBigUint64(pos, true);
    if (declared > BigInt(out.limit - out.length)) {
      throw new ProtocolError("invalid_length", `lz4: content size ${declared} exceeds the limit`);
    }
    contentSize = Number(declared);
    pos += 8;
  }
  if (input.length - pos < 1) throw truncated("header checksum");
  const expectedHc = (xxh32(input, descriptorStart, pos) >>> 8) & 0xff;
  if (input[pos] !== expectedHc) throw new ProtocolError("invalid_value", "lz4: header checksum mismatch");
  pos++;
  const frameStart = out.length;
  for (;;) {
    if (input.length - pos < 4) throw truncated("block size");
    const word = view.getUint32(pos, true);
    pos += 4;
    if (word === 0) break; // EndMark
    const uncompressed = (word & UNCOMPRESSED_BLOCK_BIT) !== 0;
    const size = word & 0x7fffffff;
    if (size > blockMaxSize) throw new ProtocolError("invalid_length", `lz4: block of ${size} bytes over its maximum`);
    if (input.length - pos < size + (blockChecksum ? 4 : 0)) throw truncated("block");
    if (blockChecksum && view.getUint32(pos + size, true) !== xxh32(input, pos, pos + size)) {
      throw new ProtocolError("invalid_value", "lz4: block checksum mismatch");
    }
    const blockStart = out.length;
    if (uncompressed) {
      out.reserve(size);
      out.buf.set(input.subarray(pos, pos + size), out.length);
      out.length += size;
    } else if (independent) {
      decodeIndependentBlock(input, pos, pos + size, blockMaxSize, out);
    } else {
      decodeBlockInto(input, pos, pos + size, out, frameStart);
    }
    if (out.length - blockStart > blockMaxSize) {
      throw new ProtocolError("invalid_length", "lz4: block decompresses beyond its maximum size");
    }
    pos += size + (blockChecksum ? 4 : 0);
  }
  if (contentSize >= 0 && out.length - frameStart !== contentSize) {
    throw new ProtocolError("invalid_length", "lz4: frame content does not match its declared size");
  }
  if (contentChecksum) {
    if (input.length - pos < 4) throw truncated("content checksum");
    if (view.getUint32(pos, true) !== xxh32(out.buf, frameStart, out.length)) {
      throw new ProtocolError("invalid_value", "lz4: content checksum mismatch");
    }
    pos += 4;
  }
  return pos;
}
