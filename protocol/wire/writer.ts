/**
 * The byte writer of the Kafka wire codec: a growable buffer with one method per primitive type of the
 * protocol guide (docs/protocol.html, "Protocol Primitive Types"). Generated message codecs call it; nothing
 * here knows about messages.
 *
 * @module
 */
import { ProtocolError } from "../protocol_error.ts";
import { uuidToBytes } from "./uuid.ts";
import { type Filler, fillerOf } from "./deferred_bytes.ts";
import { SLICE_ELEMENTS } from "./limits.ts";

const encoder = new TextEncoder();

/** Raw byte runs from this size on are copied once, at `finish`, instead of into the growing buffer. */
const DEFER_BYTES = 16 * 1024;

/** A tagged field kept as raw bytes: decoded from a tag this codec does not know, written back verbatim. */
export interface TaggedField {
  /** The field's tag number. */
  tag: number;
  /** The field's serialized value, without the tag and size prefixes. */
  data: Uint8Array;
}

/** UTF-8 length of a string without encoding it. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 4 bytes for a surrogate pair of 2 code units
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}

/**
 * A growable byte buffer. Every `write` method appends at the end; {@link Writer.finish} returns the bytes.
 *
 * @example
 * ```ts
 * import { Writer } from "./writer.ts";
 * const w = new Writer();
 * w.int16(18);
 * w.string("samsa", true);
 * w.finish(); // Uint8Array [0, 18, 6, 115, 97, 109, 115, 97]
 * ```
 */
export class Writer {
  /** The underlying buffer of inline bytes; only `[0, pos)` is meaningful (see {@link Writer.finish}). */
  buf: Uint8Array;
  /** The number of inline bytes written so far: large raw byte runs are not counted until `finish`. */
  pos = 0;
  private view: DataView;
  /**
   * Large byte runs (Fetch records) kept by reference rather than copied into `buf`, each with the inline
   * position it belongs at: `finish` copies them once into a buffer of the exact size, where growing `buf`
   * would copy them once per doubling and leave a buffer up to twice too large.
   */
  private deferred: { at: number; bytes: Uint8Array; fill: Filler | undefined }[] = [];
  private deferredBytes = 0;

  /**
   * The most bytes this writer may hold (inline and deferred); writing past it throws ProtocolError
   * "too_large" as soon as the buffer would have to grow beyond it, so an oversized message is refused
   * after at most `maxBytes` of work and memory, never built whole.
   */
  readonly maxBytes: number;

  /** Creates a writer with `initialCapacity` bytes pre-allocated, holding at most `maxBytes`. */
  constructor(initialCapacity = 256, maxBytes = Infinity) {
    this.buf = new Uint8Array(Math.max(16, Math.min(initialCapacity, maxBytes)));
    this.view = new DataView(this.buf.buffer);
    this.maxBytes = maxBytes;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    if (need + this.deferredBytes > this.maxBytes) this.#tooLarge(need + this.deferredBytes);
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  #tooLarge(bytes: number): never {
    throw new ProtocolError("too_large", `message of more than ${bytes} bytes is over the limit of ${this.maxBytes}`);
  }

  /**
   * The bytes written. Without large raw runs it is a view over the internal buffer (no copy); with them,
   * one buffer of the exact size, which becomes the internal buffer (later writes append to it). Deferred runs
   * (`deferredBytes`) are filled in place here; a filler's error propagates.
   */
  finish(): Uint8Array {
    if (this.deferred.length === 0) return this.buf.subarray(0, this.pos);
    const out = new Uint8Array(this.pos + this.deferredBytes);
    let from = 0;
    let to = 0;
    for (const { at, bytes, fill } of this.deferred) {
      out.set(this.buf.subarray(from, at), to);
      to += at - from;
      from = at;
      if (fill) fill(out.subarray(to, to + bytes.length));
      else out.set(bytes, to);
      to += bytes.length;
    }
    out.set(this.buf.subarray(from, this.pos), to);
    this.deferred = [];
    this.deferredBytes = 0;
    this.buf = out;
    this.pos = out.length;
    this.view = new DataView(out.buffer);
    return out;
  }

  /** Writes a signed 8-bit integer. */
  int8(v: number): void {
    this.ensure(1);
    this.view.setInt8(this.pos, v);
    this.pos += 1;
  }

  /** Writes a signed big-endian 16-bit integer. */
  int16(v: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
  }

  /** Writes an unsigned big-endian 16-bit integer. */
  uint16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  /** Writes a signed big-endian 32-bit integer. */
  int32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }

  /** Writes an unsigned big-endian 32-bit integer. */
  uint32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  /** Writes a signed big-endian 64-bit integer. */
  int64(v: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, v);
    this.pos += 8;
  }

  /** Writes an IEEE 754 double, big-endian. */
  float64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  /** Writes a boolean as one byte, 0 or 1. */
  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** Writes an unsigned LEB128 varint of up to 32 bits (`v` in [0, 2^32)). */
  uvarint(v: number): void {
    if (!(v >= 0 && v <= 0xffffffff) || !Number.isInteger(v)) {
      throw new ProtocolError("invalid_value", `unsigned varint out of range: ${v}`);
    }
    this.ensure(5);
    const buf = this.buf;
    let pos = this.pos;
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** Writes a zigzag-encoded signed 32-bit varint. */
  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Writes a zigzag-encoded signed 64-bit varlong. */
  varlong(v: bigint): void {
    let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    this.ensure(10);
    while (z >= 0x80n) {
      this.buf[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.pos++] = Number(z);
  }

  /** Writes a UUID given in its canonical 36-character form. */
  uuid(v: string): void {
    this.ensure(16);
    uuidToBytes(v, this.buf, this.pos);
    this.pos += 16;
  }

  /**
   * Appends raw bytes (a large run by reference: it must not change before `finish`; a `deferredBytes`
   * placeholder is filled by `finish`).
   */
  raw(bytes: Uint8Array): void {
    const fill = fillerOf(bytes);
    if (fill || bytes.length >= DEFER_BYTES) {
      if (this.pos + this.deferredBytes + bytes.length > this.maxBytes) {
        this.#tooLarge(this.pos + this.deferredBytes + bytes.length);
      }
      this.deferred.push({ at: this.pos, bytes, fill });
      this.deferredBytes += bytes.length;
      return;
    }
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Writes `s`, whose UTF-8 length `n` the caller computed for the length prefix. */
  private utf8(s: string, n: number): void {
    this.ensure(n);
    if (n === s.length) {
      // ASCII fast path: one byte per code unit.
      const buf = this.buf;
      let pos = this.pos;
      for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i);
      this.pos = pos;
    } else {
      encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + n));
      this.pos += n;
    }
  }

  /**
   * Writes a STRING (int16 length) or, when `flexible`, a COMPACT_STRING (unsigned varint length + 1).
   * Throws ProtocolError on null (use {@link Writer.nullableString}) or a length over 32767 bytes.
   */
  string(s: string | null, flexible: boolean): void {
    if (typeof s !== "string") throw new ProtocolError("invalid_value", "non-nullable string is null");
    this.nullableString(s, flexible);
  }

  /** Writes a NULLABLE_STRING (length -1 for null) or a COMPACT_NULLABLE_STRING (0 for null); `nullable` false rejects null. */
  nullableString(s: string | null, flexible: boolean, nullable = true): void {
    if (s === null) {
      if (!nullable) throw new ProtocolError("invalid_value", "string is null in a version where it is not nullable");
      if (flexible) this.uvarint(0);
      else this.int16(-1);
      return;
    }
    const n = utf8Length(s);
    if (n > 0x7fff) throw new ProtocolError("invalid_length", `string of ${n} bytes exceeds 32767`);
    if (flexible) this.uvarint(n + 1);
    else this.int16(n);
    this.utf8(s, n);
  }

  /** Writes BYTES (int32 length) or COMPACT_BYTES; throws ProtocolError on null. */
  bytes(b: Uint8Array | null, flexible: boolean): void {
    if (!(b instanceof Uint8Array)) throw new ProtocolError("invalid_value", "non-nullable bytes is null");
    this.nullableBytes(b, flexible);
  }

  /** Writes NULLABLE_BYTES (length -1 for null) or COMPACT_NULLABLE_BYTES (0 for null). */
  nullableBytes(b: Uint8Array | null, flexible: boolean, nullable = true): void {
    if (b === null) {
      if (!nullable) throw new ProtocolError("invalid_value", "bytes is null in a version where it is not nullable");
      if (flexible) this.uvarint(0);
      else this.int32(-1);
      return;
    }
    if (flexible) this.uvarint(b.length + 1);
    else this.int32(b.length);
    this.raw(b);
  }

  /** Writes the length prefix of an ARRAY (int32) or COMPACT_ARRAY (unsigned varint N + 1); -1 is null. */
  arrayLength(n: number, flexible: boolean): void {
    if (flexible) this.uvarint(n + 1);
    else this.int32(n);
  }

  /** Writes a non-null array: its length prefix, then each element with `each`. */
  array<T>(a: readonly T[] | null, flexible: boolean, each: (w: Writer, e: T) => void): void {
    if (!Array.isArray(a)) throw new ProtocolError("invalid_value", "non-nullable array is null");
    this.arrayLength(a.length, flexible);
    for (let i = 0; i < a.length; i++) each(this, a[i]);
  }

  /** Writes a nullable array: length -1 (or compact 0) for null. */
  nullableArray<T>(a: readonly T[] | null, flexible: boolean, each: (w: Writer, e: T) => void, nullable = true): void {
    if (a === null && !nullable) {
      throw new ProtocolError("invalid_value", "array is null in a version where it is not nullable");
    }
    if (a === null) this.arrayLength(-1, flexible);
    else this.array(a, flexible, each);
  }

  /**
   * Like {@link Writer.nullableArray} for arrays of structs written by the generator encoder `each`, pausing
   * (a bare `yield`) every `SLICE_ELEMENTS` elements, so a large response can be encoded in slices.
   */
  *nullableStructArrayInSlices<T>(
    a: readonly T[] | null,
    flexible: boolean,
    each: (w: Writer, e: T) => Generator<void, void>,
    nullable = true,
  ): Generator<void, void> {
    if (a === null && !nullable) {
      throw new ProtocolError("invalid_value", "array is null in a version where it is not nullable");
    }
    if (a === null) {
      this.arrayLength(-1, flexible);
      return;
    }
    if (!Array.isArray(a)) throw new ProtocolError("invalid_value", "non-nullable array is null");
    this.arrayLength(a.length, flexible);
    for (let i = 0; i < a.length; i++) {
      yield* each(this, a[i]);
      if (i % SLICE_ELEMENTS === SLICE_ELEMENTS - 1) yield;
    }
  }

  /** Like {@link Writer.array} for arrays of structs, pausing as {@link Writer.nullableStructArrayInSlices}. */
  *structArrayInSlices<T>(
    a: readonly T[] | null,
    flexible: boolean,
    each: (w: Writer, e: T) => Generator<void, void>,
  ): Generator<void, void> {
    if (!Array.isArray(a)) throw new ProtocolError("invalid_value", "non-nullable array is null");
    yield* this.nullableStructArrayInSlices(a, flexible, each, false);
  }

  /**
   * Writes a tagged-field section: the count, then each field as tag, size, data, in ascending tag order.
   * `known` holds the fields this codec knows (already serialized), `unknown` the raw ones kept from decoding.
   */
  taggedFields(known: TaggedField[] | null, unknown: readonly TaggedField[] | undefined): void {
    if (known === null && (unknown === undefined || unknown.length === 0)) {
      this.uvarint(0);
      return;
    }
    const all = [...(known ?? []), ...(unknown ?? [])].sort((a, b) => a.tag - b.tag);
    this.uvarint(all.length);
    for (const f of all) {
      this.uvarint(f.tag);
      this.uvarint(f.data.length);
      this.raw(f.data);
    }
  }
}

/** Serializes one tagged field's value with `write` into its own bytes (the size prefix needs them first). */
export function taggedValue(tag: number, write: (w: Writer) => void): TaggedField {
  const w = new Writer(32);
  write(w);
  return { tag, data: w.finish() };
}

/** Returns `v`, or throws ProtocolError when it is null where the version does not allow null. */
export function present<T>(v: T | null, what: string): T {
  if (v === null || v === undefined) throw new ProtocolError("invalid_value", `${what} is null`);
  return v;
}
