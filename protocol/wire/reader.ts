/**
 * The byte reader of the Kafka wire codec: a position over a Uint8Array with one method per primitive type.
 *
 * Every read checks the bytes remaining first and throws {@link ProtocolError} (never RangeError): a length
 * prefix is validated against the remaining input BEFORE anything is allocated, so a hostile 2 GiB prefix or
 * array count fails fast instead of allocating. Counts are also held to Kafka's decoding limits
 * (`MAX_ARRAY_LENGTH` elements per array, `MAX_TAGGED_FIELD_COUNT` tagged fields per struct), which bound the
 * work one request can ask for whatever its size.
 *
 * @module
 */
import { ProtocolError } from "../protocol_error.ts";
import type { TaggedField } from "./writer.ts";
import { uuidFromBytes } from "./uuid.ts";
import { MAX_ARRAY_LENGTH, MAX_TAGGED_FIELD_COUNT, SLICE_ELEMENTS } from "./limits.ts";

const decoder = new TextDecoder();

export { SLICE_ELEMENTS };

/**
 * Reads primitives from `bytes`, starting at `pos`.
 *
 * @example
 * ```ts
 * import { Reader } from "./reader.ts";
 * const r = new Reader(new Uint8Array([0, 18, 6, 115, 97, 109, 115, 97]));
 * r.int16(); // 18
 * r.string(true); // "samsa"
 * ```
 */
export class Reader {
  /** The input. */
  readonly buf: Uint8Array;
  /** The offset of the next byte to read. */
  pos: number;
  /**
   * Array elements still allowed in all the arrays read from here on; an array that would go over throws
   * ProtocolError "too_many_elements". Unbounded unless set (request decoding sets MAX_REQUEST_ELEMENTS).
   */
  elementBudget = Infinity;
  private readonly view: DataView;

  /** Creates a reader over `bytes` starting at `pos`. */
  constructor(bytes: Uint8Array, pos = 0) {
    this.buf = bytes;
    this.pos = pos;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The number of bytes left. */
  remaining(): number {
    return this.buf.length - this.pos;
  }

  /** Throws ProtocolError "truncated" unless `n` more bytes are available. */
  need(n: number): void {
    if (this.buf.length - this.pos < n) {
      throw new ProtocolError("truncated", `need ${n} bytes at offset ${this.pos}, have ${this.remaining()}`);
    }
  }

  /** Throws unless the whole input has been consumed (trailing bytes are a malformed frame). */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new ProtocolError("invalid_length", `${this.remaining()} trailing bytes at offset ${this.pos}`);
    }
  }

  /** Reads a signed 8-bit integer. */
  int8(): number {
    this.need(1);
    return this.view.getInt8(this.pos++);
  }

  /** Reads a signed big-endian 16-bit integer. */
  int16(): number {
    this.need(2);
    const v = this.view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }

  /** Reads an unsigned big-endian 16-bit integer. */
  uint16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  /** Reads a signed big-endian 32-bit integer. */
  int32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads an unsigned big-endian 32-bit integer. */
  uint32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads a signed big-endian 64-bit integer. */
  int64(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads an IEEE 754 double, big-endian. */
  float64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a boolean: any non-zero byte is true, as in Kafka. */
  bool(): boolean {
    this.need(1);
    return this.buf[this.pos++] !== 0;
  }

  /** Reads an unsigned varint of up to 32 bits (at most 5 bytes). */
  uvarint(): number {
    const bytes = this.buf;
    let pos = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      if (pos >= bytes.length) throw new ProtocolError("truncated", `varint runs past the end at ${this.pos}`);
      const b = bytes[pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (result > 0xffffffff) break;
        this.pos = pos;
        return result;
      }
      mul *= 128;
    }
    throw new ProtocolError("invalid_value", `unsigned varint longer than 32 bits at offset ${this.pos}`);
  }

  /** Reads a zigzag-encoded signed 32-bit varint. */
  varint(): number {
    const z = this.uvarint();
    return (z >>> 1) ^ -(z & 1);
  }

  /** Reads a zigzag-encoded signed 64-bit varlong (at most 10 bytes). */
  varlong(): bigint {
    const bytes = this.buf;
    let pos = this.pos;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (pos >= bytes.length) throw new ProtocolError("truncated", `varlong runs past the end at ${this.pos}`);
      const b = bytes[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        result = BigInt.asUintN(64, result);
        return (result >> 1n) ^ -(result & 1n);
      }
      shift += 7n;
    }
    throw new ProtocolError("invalid_value", `varlong longer than 64 bits at offset ${this.pos}`);
  }

  /** Reads a UUID as its canonical string. */
  uuid(): string {
    this.need(16);
    const s = uuidFromBytes(this.buf, this.pos);
    this.pos += 16;
    return s;
  }

  /** Reads `n` raw bytes as a view over the input (no copy). */
  raw(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Reads the length of a (compact) string/bytes/array: -1 means null. Checked against `remaining`. */
  private length(flexible: boolean, int16: boolean, what: string): number {
    let n: number;
    if (flexible) n = this.uvarint() - 1;
    else if (int16) n = this.int16();
    else n = this.int32();
    if (n < -1) throw new ProtocolError("invalid_length", `negative ${what} length ${n} at offset ${this.pos}`);
    if (n > this.buf.length - this.pos) {
      throw new ProtocolError("invalid_length", `${what} length ${n} exceeds the ${this.remaining()} bytes left`);
    }
    return n;
  }

  /** Decodes `n` UTF-8 bytes at the position (invalid sequences become U+FFFD, as in Kafka). */
  private utf8(n: number): string {
    const bytes = this.buf;
    const start = this.pos;
    this.pos += n;
    if (n < 64) {
      // Short ASCII strings (topic names, client ids) decode faster by hand than through TextDecoder.
      let s = "";
      for (let i = start; i < start + n; i++) {
        const c = bytes[i];
        if (c >= 0x80) return decoder.decode(bytes.subarray(start, start + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return decoder.decode(bytes.subarray(start, start + n));
  }

  /** Reads a STRING or, when `flexible`, a COMPACT_STRING; null is a ProtocolError. */
  string(flexible: boolean): string {
    const n = this.length(flexible, true, "string");
    if (n < 0) throw new ProtocolError("invalid_value", `null in a non-nullable string at offset ${this.pos}`);
    return this.utf8(n);
  }

  /** Reads a NULLABLE_STRING or COMPACT_NULLABLE_STRING; `nullable` false rejects null. */
  nullableString(flexible: boolean, nullable = true): string | null {
    const n = this.length(flexible, true, "string");
    if (n < 0 && !nullable) throw new ProtocolError("invalid_value", `null string where not nullable at ${this.pos}`);
    return n < 0 ? null : this.utf8(n);
  }

  /** Reads BYTES or COMPACT_BYTES (a view over the input, no copy); null is a ProtocolError. */
  bytes(flexible: boolean): Uint8Array {
    const n = this.length(flexible, false, "bytes");
    if (n < 0) throw new ProtocolError("invalid_value", `null in non-nullable bytes at offset ${this.pos}`);
    return this.raw(n);
  }

  /** Reads NULLABLE_BYTES or COMPACT_NULLABLE_BYTES (a view over the input, no copy). */
  nullableBytes(flexible: boolean, nullable = true): Uint8Array | null {
    const n = this.length(flexible, false, "bytes");
    if (n < 0 && !nullable) throw new ProtocolError("invalid_value", `null bytes where not nullable at ${this.pos}`);
    return n < 0 ? null : this.raw(n);
  }

  /**
   * Reads an ARRAY / COMPACT_ARRAY length; -1 is null. A count above the bytes left, or above
   * `MAX_ARRAY_LENGTH`, fails before allocating.
   */
  arrayLength(flexible: boolean): number {
    const n = this.length(flexible, false, "array");
    if (n > MAX_ARRAY_LENGTH) {
      throw new ProtocolError(
        "too_many_elements",
        `array of ${n} elements at offset ${this.pos} is over the limit of ${MAX_ARRAY_LENGTH}`,
      );
    }
    if (n > 0 && (this.elementBudget -= n) < 0) {
      throw new ProtocolError(
        "too_many_elements",
        `array of ${n} elements at offset ${this.pos} takes the message over its limit of elements in all`,
      );
    }
    return n;
  }

  /** Reads a non-null array, each element with `each`. */
  array<T>(flexible: boolean, each: (r: Reader) => T): T[] {
    const n = this.arrayLength(flexible);
    if (n < 0) throw new ProtocolError("invalid_value", `null in a non-nullable array at offset ${this.pos}`);
    const a: T[] = new Array(n);
    for (let i = 0; i < n; i++) a[i] = each(this);
    return a;
  }

  /** Reads a nullable array. */
  nullableArray<T>(flexible: boolean, each: (r: Reader) => T, nullable = true): T[] | null {
    const n = this.arrayLength(flexible);
    if (n < 0 && !nullable) throw new ProtocolError("invalid_value", `null array where not nullable at ${this.pos}`);
    if (n < 0) return null;
    const a: T[] = new Array(n);
    for (let i = 0; i < n; i++) a[i] = each(this);
    return a;
  }

  /**
   * Like {@link Reader.array}, as a generator that pauses (a bare `yield`) every `SLICE_ELEMENTS` elements,
   * so a caller can spread a large decode over several turns of its event loop.
   */
  *arrayInSlices<T>(flexible: boolean, each: (r: Reader) => T): Generator<void, T[]> {
    const a = yield* this.nullableArrayInSlices(flexible, each, false);
    return a!;
  }

  /** Like {@link Reader.nullableArray}, pausing as {@link Reader.arrayInSlices} does. */
  *nullableArrayInSlices<T>(flexible: boolean, each: (r: Reader) => T, nullable = true): Generator<void, T[] | null> {
    const n = this.arrayLength(flexible);
    if (n < 0 && !nullable) throw new ProtocolError("invalid_value", `null array where not nullable at ${this.pos}`);
    if (n < 0) return null;
    const a: T[] = new Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = each(this);
      if (i % SLICE_ELEMENTS === SLICE_ELEMENTS - 1) yield;
    }
    return a;
  }

  /** Reads a non-null array of structs, each with the generator decoder `each`, pausing as it goes. */
  *structArrayInSlices<T>(flexible: boolean, each: (r: Reader) => Generator<void, T>): Generator<void, T[]> {
    const a = yield* this.nullableStructArrayInSlices(flexible, each, false);
    return a!;
  }

  /** Reads a nullable array of structs, each with the generator decoder `each`, pausing as it goes. */
  *nullableStructArrayInSlices<T>(
    flexible: boolean,
    each: (r: Reader) => Generator<void, T>,
    nullable = true,
  ): Generator<void, T[] | null> {
    const n = this.arrayLength(flexible);
    if (n < 0 && !nullable) throw new ProtocolError("invalid_value", `null array where not nullable at ${this.pos}`);
    if (n < 0) return null;
    const a: T[] = new Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = yield* each(this);
      if (i % SLICE_ELEMENTS === SLICE_ELEMENTS - 1) yield;
    }
    return a;
  }

  /**
   * Reads a tagged-field section. `known(tag, r)` decodes a tag it knows and returns true, or returns false to
   * keep the field raw; raw fields are returned (undefined when there are none). A known field must consume
   * exactly its declared size.
   */
  taggedFields(known: ((tag: number, r: Reader) => boolean) | null): TaggedField[] | undefined {
    const count = this.uvarint();
    if (count > this.remaining()) {
      throw new ProtocolError("invalid_length", `${count} tagged fields exceed the ${this.remaining()} bytes left`);
    }
    if (count > MAX_TAGGED_FIELD_COUNT) {
      throw new ProtocolError(
        "too_many_elements",
        `${count} tagged fields at offset ${this.pos} are over the limit of ${MAX_TAGGED_FIELD_COUNT}`,
      );
    }
    let unknown: TaggedField[] | undefined;
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      const size = this.uvarint();
      this.need(size);
      const end = this.pos + size;
      if (known !== null && known(tag, this)) {
        if (this.pos !== end) {
          throw new ProtocolError(
            "invalid_length",
            `tagged field ${tag} declared ${size} bytes, used ${size - end + this.pos}`,
          );
        }
      } else {
        (unknown ??= []).push({ tag, data: this.raw(size) });
      }
    }
    return unknown;
  }
}
