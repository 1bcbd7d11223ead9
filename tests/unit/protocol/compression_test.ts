import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import fc from "fast-check";
import { compressSync as snappyRawCompress } from "snappy";
import { compressFrameSync, decompressFrameSync } from "lz4-napi";
import { compress, decompress, isXerialSnappy } from "../../../protocol/compression.ts";
import { decodeLz4Frame, encodeLz4Frame, xxh32 } from "../../../protocol/lz4_frame.ts";
import { ProtocolError } from "../../../protocol/protocol_error.ts";
import { Compression } from "../../../protocol/record_batch_header.ts";

const CODECS = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
const MiB = 1024 * 1024;

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function jsonLines(n: number): Uint8Array {
  let s = "";
  for (let i = 0; i < n; i++) s += `{"id":${i % 10},"name":"samsa"}\n`;
  return new TextEncoder().encode(s);
}

function throwsProtocolError(run: () => unknown, kind?: ProtocolError["kind"]): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${e}`);
    if (kind !== undefined) assert.equal(e.kind, kind);
    return true;
  });
}

Deno.test("every codec round-trips arbitrary bytes", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...CODECS),
      fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ minLength: 60_000, maxLength: 200_000 })),
      (codec, data) => {
        const packed = compress(codec, data);
        assert.deepEqual(decompress(codec, packed, data.length), data);
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("every codec round-trips compressible record-like data spanning many blocks", () => {
  const data = jsonLines(20_000); // 560 kB: many lz4 and xerial blocks
  for (const codec of CODECS) {
    const packed = compress(codec, data);
    if (codec !== Compression.None) assert.ok(packed.length < data.length / 4, `codec ${codec} compresses`);
    assert.deepEqual(decompress(codec, packed, data.length), data);
  }
});

Deno.test("every codec round-trips empty input", () => {
  for (const codec of CODECS) assert.equal(decompress(codec, compress(codec, new Uint8Array(0)), 0).length, 0);
});

Deno.test("decompression beyond the limit throws invalid_length instead of exhausting memory (zip bomb)", () => {
  const zeros = new Uint8Array(32 * MiB);
  for (const codec of CODECS) {
    const bomb = compress(codec, zeros);
    throwsProtocolError(() => decompress(codec, bomb, MiB), "invalid_length");
    throwsProtocolError(() => decompress(codec, bomb, zeros.length - 1), "invalid_length");
    assert.equal(decompress(codec, bomb, zeros.length).length, zeros.length);
  }
});

Deno.test("a raw snappy block declaring a huge length is refused before decoding", () => {
  // varint 0xffffffff then garbage: the declared size alone is over the limit.
  throwsProtocolError(() => decompress(Compression.Snappy, hex("ffffffff0f0102"), MiB), "invalid_length");
});

Deno.test("garbage input throws ProtocolError for every compressing codec", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd),
      fc.uint8Array({ maxLength: 300 }),
      (codec, data) => {
        try {
          decompress(codec, data, MiB);
        } catch (e) {
          assert.ok(e instanceof ProtocolError, `codec ${codec}: ${e}`);
        }
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("every truncation of gzip, lz4 and zstd data throws ProtocolError", () => {
  const data = jsonLines(3000);
  for (const codec of [Compression.Gzip, Compression.Lz4, Compression.Zstd]) {
    const packed = compress(codec, data);
    for (let n = 0; n < packed.length; n++) {
      throwsProtocolError(() => decompress(codec, packed.subarray(0, n), MiB));
    }
  }
});

Deno.test("a truncated xerial snappy stream throws ProtocolError, or yields a prefix when cut between blocks", () => {
  // xerial framing has no end marker: a stream cut exactly between blocks is well formed. The batch CRC and
  // the records count catch such a cut one level up.
  const data = jsonLines(3000);
  const packed = compress(Compression.Snappy, data);
  for (let n = 0; n < packed.length; n++) {
    try {
      const out = decompress(Compression.Snappy, packed.subarray(0, n), MiB);
      assert.ok(out.length % (32 * 1024) === 0, `cut at ${n} gives whole blocks`);
      assert.deepEqual(out, data.subarray(0, out.length));
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `cut at ${n}: ${e}`);
    }
  }
});

Deno.test("unknown codec numbers throw invalid_value", () => {
  throwsProtocolError(() => compress(5 as Compression, new Uint8Array(1)), "invalid_value");
  throwsProtocolError(() => decompress(7 as Compression, new Uint8Array(1), 10), "invalid_value");
});

// --- snappy framing

Deno.test("snappy compression writes the xerial framing of the Java client", () => {
  const data = jsonLines(3000); // 72 kB: three 32 KiB xerial blocks
  const packed = compress(Compression.Snappy, data);
  assert.deepEqual(packed.subarray(0, 16), hex("82534e41505059000000000100000001"));
  assert.ok(isXerialSnappy(packed));
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  let pos = 16;
  let blocks = 0;
  while (pos < packed.length) {
    pos += 4 + view.getInt32(pos);
    blocks++;
  }
  assert.equal(pos, packed.length);
  assert.equal(blocks, 3);
});

Deno.test("snappy decompression reads raw snappy (librdkafka) as well as xerial framing", () => {
  const data = jsonLines(500);
  const raw = snappyRawCompress(data as Parameters<typeof snappyRawCompress>[0]) as Uint8Array;
  assert.ok(!isXerialSnappy(raw));
  assert.deepEqual(decompress(Compression.Snappy, raw, data.length), data);

  // A hand-framed xerial stream with two blocks of different sizes.
  const first = snappyRawCompress(data.subarray(0, 1000) as Parameters<typeof snappyRawCompress>[0]) as Uint8Array;
  const second = snappyRawCompress(data.subarray(1000) as Parameters<typeof snappyRawCompress>[0]) as Uint8Array;
  const framed = new Uint8Array(16 + 4 + first.length + 4 + second.length);
  const view = new DataView(framed.buffer);
  framed.set(hex("82534e41505059000000000100000001"));
  view.setInt32(16, first.length);
  framed.set(first, 20);
  view.setInt32(20 + first.length, second.length);
  framed.set(second, 24 + first.length);
  assert.deepEqual(decompress(Compression.Snappy, framed, data.length), data);
});

Deno.test("xerial snappy with a block length past the input throws invalid_length", () => {
  const framed = new Uint8Array([...hex("82534e41505059000000000100000001"), 0, 0, 1, 0, 1, 2]);
  throwsProtocolError(() => decompress(Compression.Snappy, framed, MiB), "invalid_length");
});

// --- lz4 frames

Deno.test("xxh32 matches the reference vectors", () => {
  const te = new TextEncoder();
  assert.equal(xxh32(new Uint8Array(0)), 0x02cc5d05);
  assert.equal(xxh32(te.encode("abc")), 0x32d153ff);
  assert.equal(xxh32(te.encode("Nobody inspects the spammish repetition")), 0xe2293b2f);
});

Deno.test("lz4 frames carry the flags Kafka's Java client and librdkafka accept", () => {
  const data = jsonLines(10_000); // 280 kB: several 64 KiB blocks
  const frame = encodeLz4Frame(data);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  assert.equal(view.getUint32(0, true), 0x184d2204, "magic");
  assert.equal(frame[4], 0x60, "FLG: version 01, independent blocks, no checksums, no content size");
  assert.equal(frame[5], 0x40, "BD: 64 KiB block maximum");
  assert.equal(frame[6], (xxh32(frame, 4, 6) >>> 8) & 0xff, "HC: second byte of xxh32(FLG, BD)");
  let pos = 7;
  let blocks = 0;
  for (;;) {
    const word = view.getUint32(pos, true);
    pos += 4;
    if (word === 0) break;
    assert.ok((word & 0x7fffffff) <= 65536);
    pos += word & 0x7fffffff;
    blocks++;
  }
  assert.equal(pos, frame.length, "EndMark ends the frame, no content checksum follows");
  assert.equal(blocks, Math.ceil(data.length / 65536));
});

Deno.test("lz4 frames written here are read by lz4-napi's own frame decoder", () => {
  const data = jsonLines(10_000);
  assert.deepEqual(new Uint8Array(decompressFrameSync(encodeLz4Frame(data) as Buffer)), data);
});

Deno.test("lz4 stores an incompressible block raw, with the uncompressed bit", () => {
  const noise = new Uint8Array(1000);
  let x = 12345;
  for (let i = 0; i < noise.length; i++) noise[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  const frame = encodeLz4Frame(noise);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  assert.equal(view.getUint32(7, true), (0x80000000 | 1000) >>> 0);
  assert.deepEqual(decodeLz4Frame(frame, noise.length), noise);
});

Deno.test("lz4 decoding reads frames from lz4-napi, with default flags", () => {
  const data = jsonLines(4000);
  assert.deepEqual(decodeLz4Frame(compressFrameSync(data as Buffer), data.length), data);
});

// Written by the lz4 1.9.4 command line (`lz4 -BD -BX --content-size -B4`) from jsonLines(3000): dependent
// blocks (the second block's first match reaches back into the first block), block checksums, content size
// and content checksum.
const LZ4_CLI_DEPENDENT_FRAME = "04224d185c4040190100000000001152010000f2097b226964223a302c226e616d65223a227361" +
  "6d7361227d0a18001f311800041f321800041f331800041f341800041f351800041f361800041f371800041f381800041f3918" +
  "00040ff000" + "ff".repeat(255) + "f1506d65223a22271c7852230000000ff0" + "ff".repeat(26) +
  "41507361227d0a51c8d310000000000ac8f1b5";

Deno.test("lz4 decoding accepts any standard frame: dependent blocks, checksums, content size", () => {
  const frame = hex(LZ4_CLI_DEPENDENT_FRAME);
  assert.equal(frame.length, 412);
  assert.deepEqual(decodeLz4Frame(frame, MiB), jsonLines(3000));
});

Deno.test("lz4 decoding verifies block and content checksums and the header checksum", () => {
  const frame = hex(LZ4_CLI_DEPENDENT_FRAME);
  const badHeader = frame.slice();
  badHeader[14] ^= 1; // HC
  throwsProtocolError(() => decodeLz4Frame(badHeader, MiB), "invalid_value");
  const badContent = frame.slice();
  badContent[frame.length - 1] ^= 1; // content checksum
  throwsProtocolError(() => decodeLz4Frame(badContent, MiB), "invalid_value");
  const badBlockSum = frame.slice();
  badBlockSum[frame.length - 4 - 4 - 4] ^= 1; // last block's checksum
  throwsProtocolError(() => decodeLz4Frame(badBlockSum, MiB), "invalid_value");
});

Deno.test("lz4 decoding skips skippable frames and reads concatenated frames", () => {
  const a = new TextEncoder().encode("first frame ");
  const b = new TextEncoder().encode("second frame");
  const skippable = hex("5a2a4d1803000000010203");
  const joined = new Uint8Array([...encodeLz4Frame(a), ...skippable, ...encodeLz4Frame(b)]);
  assert.equal(new TextDecoder().decode(decodeLz4Frame(joined, 100)), "first frame second frame");
});

Deno.test("lz4 decoding refuses preset dictionaries, bad versions and reserved bits", () => {
  const frame = encodeLz4Frame(new Uint8Array(10));
  for (const [index, value] of [[4, 0x61], [4, 0xa0], [4, 0x62], [5, 0x41], [5, 0x30]] as const) {
    const bad = frame.slice();
    bad[index] = value;
    bad[6] = (xxh32(bad, 4, 6) >>> 8) & 0xff;
    throwsProtocolError(() => decodeLz4Frame(bad, 100), "invalid_value");
  }
});

Deno.test("zstd decoding reads concatenated frames and skips skippable frames", () => {
  const a = compress(Compression.Zstd, new TextEncoder().encode("first frame "));
  const b = compress(Compression.Zstd, new TextEncoder().encode("second frame"));
  const skippable = hex("502a4d1803000000010203");
  const joined = new Uint8Array([...a, ...skippable, ...b]);
  assert.equal(new TextDecoder().decode(decompress(Compression.Zstd, joined, 100)), "first frame second frame");
  throwsProtocolError(() => decompress(Compression.Zstd, joined, 20), "invalid_length");
});

Deno.test("zstd decoding reads frames with a content checksum (zstd --check)", () => {
  // `echo -n "hello zstd cli" | zstd --check`: single segment, content size, xxh64 checksum.
  const frame = hex("28b52ffd045871000068656c6c6f207a73746420636c69fddc2c52");
  assert.equal(new TextDecoder().decode(decompress(Compression.Zstd, frame, 100)), "hello zstd cli");
  frame[frame.length - 1] ^= 1;
  throwsProtocolError(() => decompress(Compression.Zstd, frame, 100), "invalid_value");
});

Deno.test("gzip and zstd output is standard (node:zlib reads it back independently)", () => {
  const data = jsonLines(100);
  assert.deepEqual(new Uint8Array(zlib.gunzipSync(compress(Compression.Gzip, data))), data);
  assert.deepEqual(new Uint8Array(zlib.zstdDecompressSync(compress(Compression.Zstd, data))), data);
});
