/**
 * The byte primitives against encodings written out by hand from the protocol guide
 * (docs/protocol.html, "Protocol Primitive Types").
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { deferredBytes, MAX_DEFERRED_BYTES } from "../../../protocol/wire/deferred_bytes.ts";
import { Reader } from "../../../protocol/wire/reader.ts";
import { Writer } from "../../../protocol/wire/writer.ts";
import { ZERO_UUID } from "../../../protocol/wire/uuid.ts";
import { ProtocolError } from "../../../protocol/protocol_error.ts";

function bytesOf(write: (w: Writer) => void): number[] {
  const w = new Writer(1);
  write(w);
  return [...w.finish()];
}

function reader(bytes: number[]): Reader {
  return new Reader(new Uint8Array(bytes));
}

function isProtocolError(kind: string) {
  return (e: unknown) => e instanceof ProtocolError && e.kind === kind;
}

Deno.test("fixed-width integers are big-endian two's complement", () => {
  deepStrictEqual(bytesOf((w) => w.int8(-1)), [0xff]);
  deepStrictEqual(bytesOf((w) => w.int16(0x1234)), [0x12, 0x34]);
  deepStrictEqual(bytesOf((w) => w.int16(-2)), [0xff, 0xfe]);
  deepStrictEqual(bytesOf((w) => w.uint16(65535)), [0xff, 0xff]);
  deepStrictEqual(bytesOf((w) => w.int32(-2147483648)), [0x80, 0, 0, 0]);
  deepStrictEqual(bytesOf((w) => w.uint32(0xdeadbeef)), [0xde, 0xad, 0xbe, 0xef]);
  deepStrictEqual(bytesOf((w) => w.int64(-1n)), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  deepStrictEqual(bytesOf((w) => w.int64(1n << 62n)), [0x40, 0, 0, 0, 0, 0, 0, 0]);
  deepStrictEqual(bytesOf((w) => w.float64(1.5)), [0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
  const r = reader([0xff, 0xff, 0xfe, 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
  strictEqual(r.int8(), -1);
  strictEqual(r.int16(), -2);
  strictEqual(r.int32(), -2147483648);
  strictEqual(r.int64(), -2n);
  r.end();
});

Deno.test("booleans are one byte and any non-zero byte reads as true", () => {
  deepStrictEqual(bytesOf((w) => (w.bool(true), w.bool(false))), [1, 0]);
  const r = reader([0, 1, 7]);
  deepStrictEqual([r.bool(), r.bool(), r.bool()], [false, true, true]);
});

Deno.test("unsigned varints are little-endian base-128 groups with a continuation bit", () => {
  deepStrictEqual(bytesOf((w) => w.uvarint(0)), [0x00]);
  deepStrictEqual(bytesOf((w) => w.uvarint(127)), [0x7f]);
  deepStrictEqual(bytesOf((w) => w.uvarint(128)), [0x80, 0x01]);
  deepStrictEqual(bytesOf((w) => w.uvarint(300)), [0xac, 0x02]);
  deepStrictEqual(bytesOf((w) => w.uvarint(16383)), [0xff, 0x7f]);
  deepStrictEqual(bytesOf((w) => w.uvarint(16384)), [0x80, 0x80, 0x01]);
  deepStrictEqual(bytesOf((w) => w.uvarint(0xffffffff)), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  for (const v of [0, 1, 127, 128, 255, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28, 2 ** 31, 0xffffffff]) {
    const w = new Writer();
    w.uvarint(v);
    const r = new Reader(w.finish());
    strictEqual(r.uvarint(), v);
    r.end();
  }
});

Deno.test("signed varints use zigzag: 0, -1, 1, -2 map to 0, 1, 2, 3", () => {
  deepStrictEqual(bytesOf((w) => w.varint(0)), [0]);
  deepStrictEqual(bytesOf((w) => w.varint(-1)), [1]);
  deepStrictEqual(bytesOf((w) => w.varint(1)), [2]);
  deepStrictEqual(bytesOf((w) => w.varint(-2)), [3]);
  deepStrictEqual(bytesOf((w) => w.varint(63)), [0x7e]);
  deepStrictEqual(bytesOf((w) => w.varint(-64)), [0x7f]);
  deepStrictEqual(bytesOf((w) => w.varint(64)), [0x80, 0x01]);
  deepStrictEqual(bytesOf((w) => w.varint(2147483647)), [0xfe, 0xff, 0xff, 0xff, 0x0f]);
  deepStrictEqual(bytesOf((w) => w.varint(-2147483648)), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  for (const v of [0, -1, 1, 63, -64, 64, -65, 8191, -8192, 2147483647, -2147483648]) {
    const w = new Writer();
    w.varint(v);
    const r = new Reader(w.finish());
    strictEqual(r.varint(), v);
    r.end();
  }
});

Deno.test("varlongs zigzag all 64 bits and take at most 10 bytes", () => {
  deepStrictEqual(bytesOf((w) => w.varlong(0n)), [0]);
  deepStrictEqual(bytesOf((w) => w.varlong(-1n)), [1]);
  deepStrictEqual(bytesOf((w) => w.varlong(1n)), [2]);
  deepStrictEqual(bytesOf((w) => w.varlong(-(2n ** 63n))), [
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0x01,
  ]);
  deepStrictEqual(bytesOf((w) => w.varlong(2n ** 63n - 1n)), [
    0xfe,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0x01,
  ]);
  for (const v of [0n, -1n, 1n, 2n ** 31n, -(2n ** 31n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 1700000000000n]) {
    const w = new Writer();
    w.varlong(v);
    const r = new Reader(w.finish());
    strictEqual(r.varlong(), v);
    r.end();
  }
});

Deno.test("over-long varints are rejected as invalid values, cut ones as truncated", () => {
  throws(() => reader([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).uvarint(), isProtocolError("invalid_value"));
  throws(() => reader([0xff, 0xff, 0xff, 0xff, 0x1f]).uvarint(), isProtocolError("invalid_value"));
  throws(() => reader([0x80, 0x80]).uvarint(), isProtocolError("truncated"));
  throws(() => reader(new Array(10).fill(0x80).concat([1])).varlong(), isProtocolError("invalid_value"));
  throws(() => reader([0x80]).varlong(), isProtocolError("truncated"));
});

Deno.test("STRING has an int16 length and NULLABLE_STRING uses -1 for null", () => {
  deepStrictEqual(bytesOf((w) => w.string("abc", false)), [0, 3, 0x61, 0x62, 0x63]);
  deepStrictEqual(bytesOf((w) => w.nullableString(null, false)), [0xff, 0xff]);
  deepStrictEqual(bytesOf((w) => w.string("", false)), [0, 0]);
  const r = reader([0, 3, 0x61, 0x62, 0x63, 0xff, 0xff]);
  strictEqual(r.string(false), "abc");
  strictEqual(r.nullableString(false), null);
  r.end();
  throws(() => reader([0xff, 0xff]).string(false), isProtocolError("invalid_value"));
  throws(() => new Writer().string(null, false), isProtocolError("invalid_value"));
});

Deno.test("COMPACT_STRING stores length + 1 as an unsigned varint and 0 means null", () => {
  deepStrictEqual(bytesOf((w) => w.string("abc", true)), [4, 0x61, 0x62, 0x63]);
  deepStrictEqual(bytesOf((w) => w.string("", true)), [1]);
  deepStrictEqual(bytesOf((w) => w.nullableString(null, true)), [0]);
  const r = reader([4, 0x61, 0x62, 0x63, 0, 1]);
  strictEqual(r.string(true), "abc");
  strictEqual(r.nullableString(true), null);
  strictEqual(r.string(true), "");
  r.end();
});

Deno.test("strings are UTF-8 and their length counts bytes, not characters", () => {
  deepStrictEqual(bytesOf((w) => w.string("é😀", true)), [7, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]);
  const long = "ü".repeat(100);
  const w = new Writer();
  w.string(long, false);
  strictEqual(new Reader(w.finish()).string(false), long);
  throws(() => new Writer().string("x".repeat(32768), false), isProtocolError("invalid_length"));
});

Deno.test("BYTES has an int32 length, COMPACT_BYTES length + 1, and null is -1 or 0", () => {
  deepStrictEqual(bytesOf((w) => w.bytes(new Uint8Array([9, 8]), false)), [0, 0, 0, 2, 9, 8]);
  deepStrictEqual(bytesOf((w) => w.nullableBytes(null, false)), [0xff, 0xff, 0xff, 0xff]);
  deepStrictEqual(bytesOf((w) => w.bytes(new Uint8Array([9, 8]), true)), [3, 9, 8]);
  deepStrictEqual(bytesOf((w) => w.nullableBytes(null, true)), [0]);
  const r = reader([0, 0, 0, 2, 9, 8, 0xff, 0xff, 0xff, 0xff, 3, 9, 8, 0]);
  deepStrictEqual([...r.bytes(false)], [9, 8]);
  strictEqual(r.nullableBytes(false), null);
  deepStrictEqual([...r.bytes(true)], [9, 8]);
  strictEqual(r.nullableBytes(true), null);
  r.end();
});

Deno.test("ARRAY has an int32 count, COMPACT_ARRAY count + 1, and null is -1 or 0", () => {
  const each = (w: Writer, e: number) => w.int16(e);
  deepStrictEqual(bytesOf((w) => w.array([1, 2], false, each)), [0, 0, 0, 2, 0, 1, 0, 2]);
  deepStrictEqual(bytesOf((w) => w.nullableArray(null, false, each)), [0xff, 0xff, 0xff, 0xff]);
  deepStrictEqual(bytesOf((w) => w.array([1, 2], true, each)), [3, 0, 1, 0, 2]);
  deepStrictEqual(bytesOf((w) => w.nullableArray(null, true, each)), [0]);
  deepStrictEqual(bytesOf((w) => w.array([], true, each)), [1]);
  const r = reader([3, 0, 1, 0, 2, 0, 0xff, 0xff, 0xff, 0xff]);
  deepStrictEqual(r.array(true, (r) => r.int16()), [1, 2]);
  strictEqual(r.nullableArray(true, (r) => r.int16()), null);
  strictEqual(r.nullableArray(false, (r) => r.int16()), null);
  r.end();
  throws(() => reader([0]).array(true, (r) => r.int16()), isProtocolError("invalid_value"));
});

Deno.test("a UUID is 16 raw bytes and reads as its canonical lowercase string", () => {
  const id = "0123abcd-4567-89ef-0123-456789abcdef";
  deepStrictEqual(bytesOf((w) => w.uuid(id)), [
    0x01,
    0x23,
    0xab,
    0xcd,
    0x45,
    0x67,
    0x89,
    0xef,
    0x01,
    0x23,
    0x45,
    0x67,
    0x89,
    0xab,
    0xcd,
    0xef,
  ]);
  strictEqual(reader(bytesOf((w) => w.uuid(id.toUpperCase()))).uuid(), id);
  strictEqual(reader(new Array(16).fill(0)).uuid(), ZERO_UUID);
  throws(() => new Writer().uuid("not-a-uuid"), isProtocolError("invalid_value"));
});

Deno.test("a tagged-field section is a count, then tag, size and data per field in ascending tag order", () => {
  const bytes = bytesOf((w) =>
    w.taggedFields([{ tag: 5, data: new Uint8Array([0xaa]) }], [{ tag: 1, data: new Uint8Array([0xbb, 0xcc]) }])
  );
  deepStrictEqual(bytes, [2, 1, 2, 0xbb, 0xcc, 5, 1, 0xaa]);
  deepStrictEqual(bytesOf((w) => w.taggedFields(null, undefined)), [0]);
  const r = reader(bytes);
  let five = -1;
  const unknown = r.taggedFields((tag, r) => {
    if (tag !== 5) return false;
    five = r.uint16 === undefined ? -1 : r.int8();
    return true;
  });
  strictEqual(five, -86);
  deepStrictEqual(unknown?.map((f) => [f.tag, [...f.data]]), [[1, [0xbb, 0xcc]]]);
  r.end();
});

Deno.test("a known tagged field must use exactly its declared size", () => {
  const r = reader([1, 0, 2, 0xaa, 0xbb]);
  throws(() => r.taggedFields(() => (r.int8(), true)), isProtocolError("invalid_length"));
});

Deno.test("every read past the end is a ProtocolError 'truncated', never a RangeError", () => {
  const empty = () => reader([]);
  for (
    const read of [
      (r: Reader) => r.int8(),
      (r: Reader) => r.int16(),
      (r: Reader) => r.uint16(),
      (r: Reader) => r.int32(),
      (r: Reader) => r.uint32(),
      (r: Reader) => r.int64(),
      (r: Reader) => r.float64(),
      (r: Reader) => r.bool(),
      (r: Reader) => r.uuid(),
      (r: Reader) => r.uvarint(),
      (r: Reader) => r.varlong(),
      (r: Reader) => r.string(false),
      (r: Reader) => r.string(true),
      (r: Reader) => r.bytes(false),
      (r: Reader) => r.array(false, (r) => r.int8()),
    ]
  ) throws(() => read(empty()), isProtocolError("truncated"));
  throws(() => reader([0, 0, 0]).int32(), isProtocolError("truncated"));
});

Deno.test("length prefixes beyond the bytes left fail before allocating anything", () => {
  // 0x7fffffff-byte BYTES, 32767-byte STRING, 2^31-1 element ARRAY, compact 2^32-2 BYTES in a 10-byte input.
  throws(() => reader([0x7f, 0xff, 0xff, 0xff, 1, 2]).bytes(false), isProtocolError("invalid_length"));
  throws(() => reader([0x7f, 0xff, 1, 2]).string(false), isProtocolError("invalid_length"));
  throws(() => reader([0x7f, 0xff, 0xff, 0xff, 0]).array(false, (r) => r.int8()), isProtocolError("invalid_length"));
  throws(() => reader([0xff, 0xff, 0xff, 0xff, 0x0f, 1]).bytes(true), isProtocolError("invalid_length"));
  throws(
    () => reader([0xff, 0xff, 0xff, 0xff, 0x0f, 1]).array(true, (r) => r.int8()),
    isProtocolError("invalid_length"),
  );
  throws(() => reader([0xff, 0xff, 0xff, 0x7f, 0]).taggedFields(null), isProtocolError("invalid_length"));
});

Deno.test("negative lengths other than -1 are invalid", () => {
  throws(() => reader([0xff, 0xfe, 0, 0]).nullableString(false), isProtocolError("invalid_length"));
  throws(() => reader([0xff, 0xff, 0xff, 0xfe]).nullableBytes(false), isProtocolError("invalid_length"));
  throws(() => reader([0x80, 0, 0, 0]).nullableArray(false, (r) => r.int8()), isProtocolError("invalid_length"));
});

Deno.test("the writer grows past its initial capacity and keeps earlier bytes", () => {
  const w = new Writer(16);
  for (let i = 0; i < 10_000; i++) w.int32(i);
  const r = new Reader(w.finish());
  for (let i = 0; i < 10_000; i++) strictEqual(r.int32(), i);
  r.end();
});

Deno.test("trailing bytes are reported by end()", () => {
  const r = reader([0, 1, 2]);
  r.int16();
  throws(() => r.end(), isProtocolError("invalid_length"));
});

Deno.test("large raw runs come out in place, between the bytes written before and after them", () => {
  const big = new Uint8Array(100_000).map((_, i) => i % 251);
  const small = new Uint8Array([7, 8, 9]);
  const w = new Writer(4);
  w.int32(big.length);
  w.raw(big);
  w.raw(small);
  w.raw(big.subarray(0, 20_000));
  w.int16(-1);
  const out = w.finish();
  const expected = new Uint8Array(out.length);
  new DataView(expected.buffer).setInt32(0, big.length);
  expected.set(big, 4);
  expected.set(small, 100_004);
  expected.set(big.subarray(0, 20_000), 100_007);
  expected.set([0xff, 0xff], 120_007);
  deepStrictEqual(out, expected);
  w.int8(5); // writing after finish appends to the same bytes
  deepStrictEqual([...w.finish().subarray(-3)], [0xff, 0xff, 5]);
});

Deno.test("a deferred run is filled in place when the frame is assembled, at any length", () => {
  for (const length of [0, 5, 70_000]) {
    const w = new Writer(4);
    w.int8(1);
    w.nullableBytes(deferredBytes(length, (dest) => dest.fill(0xab)), false);
    w.int8(2);
    const out = w.finish();
    strictEqual(out.length, 1 + 4 + length + 1);
    strictEqual(new DataView(out.buffer, out.byteOffset).getInt32(1), length);
    ok(out.subarray(5, 5 + length).every((b) => b === 0xab));
    deepStrictEqual([out[0], out[out.length - 1]], [1, 2]);
  }
  throws(() => deferredBytes(MAX_DEFERRED_BYTES + 1, () => {}), RangeError);
});
