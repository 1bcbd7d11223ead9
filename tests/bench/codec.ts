/**
 * `deno task bench codec`: throughput of the record batch codec and what it is built on.
 *
 * Measures CRC-32C (the native binding used by `protocol/crc32c.ts` against a TypeScript slicing-by-8
 * written here for comparison), batch-header parse and stamp, batch build and decode per codec, and each
 * compression codec on JSON-like 1 KiB record values, and the produce path's record validation (per batch shape
 * and codec, against the CRC check it follows). Every case warms up, then runs for a fixed time; the
 * whole run stays well under a minute. Figures are single-threaded and indicative: compare ratios within
 * one run, not absolute numbers across machines (see shared/PLATFORM.md).
 *
 * @module
 */
import process from "node:process";
import { compressFrameSync, decompressFrameSync } from "lz4-napi";
import { compress, decompress } from "../../protocol/compression.ts";
import { crc32c } from "../../protocol/crc32c.ts";
import { type BatchRecord, buildRecordBatch, decodeRecordBatch, iterateBatches } from "../../protocol/record_batch.ts";
import { validateRecords } from "../../protocol/record_validation.ts";
import {
  Compression,
  isBatchCrcValid,
  readBatchHeader,
  stampBaseOffset,
  stampPartitionLeaderEpoch,
} from "../../protocol/record_batch_header.ts";

const WARMUP_MS = 150;
const MEASURE_MS = 700;
const MiB = 1024 * 1024;
const CODEC_NAMES: Record<Compression, string> = {
  [Compression.None]: "none",
  [Compression.Gzip]: "gzip",
  [Compression.Snappy]: "snappy",
  [Compression.Lz4]: "lz4",
  [Compression.Zstd]: "zstd",
};

/** One row of the results table. */
interface Row {
  name: string;
  opsPerSec: number;
  mbPerSec: number;
  note: string;
}

/** Keeps results alive so the JIT cannot drop the measured work. */
let sink = 0;

function consume(value: unknown): void {
  if (typeof value === "number") sink = (sink + value) | 0;
  else if (value instanceof Uint8Array) sink = (sink + value.length) | 0;
  else if (value !== null && typeof value === "object") sink = (sink + 1) | 0;
}

/** Runs `op` for WARMUP_MS, then for MEASURE_MS in calibrated rounds, and reports ops/s and MB/s. */
function measure(name: string, bytesPerOp: number, op: () => unknown, note = ""): Row {
  const runFor = (ms: number) => {
    let ops = 0;
    let round = 1;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      for (let i = 0; i < round; i++) consume(op());
      ops += round;
      elapsed = performance.now() - start;
      if (elapsed < ms / 20) round *= 2;
    }
    return { ops, elapsed };
  };
  runFor(WARMUP_MS);
  const { ops, elapsed } = runFor(MEASURE_MS);
  const opsPerSec = ops / (elapsed / 1000);
  return { name, opsPerSec, mbPerSec: (opsPerSec * bytesPerOp) / 1e6, note };
}

// ---------------------------------------------------------------------------------------------------------------
// Test data

/** A small deterministic PRNG (mulberry32), so every run measures the same bytes. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  "checkout",
  "page_view",
  "add_to_cart",
  "search",
  "login",
  "logout",
  "Chrome",
  "Firefox",
  "Safari",
  "de-DE",
  "en-US",
  "fr-FR",
  "mobile",
  "desktop",
  "tablet",
  "campaign",
  "newsletter",
  "organic",
  "referral",
  "premium",
];

/** A JSON event of about `size` bytes: field names repeat, values vary, as in real topics. */
function jsonValue(random: () => number, id: number, size: number): Uint8Array {
  const pick = () => WORDS[Math.floor(random() * WORDS.length)];
  const event: Record<string, unknown> = {
    id,
    user: `user-${Math.floor(random() * 100000)}`,
    event: pick(),
    ts: 1_700_000_000_000 + Math.floor(random() * 1e9),
    session: Math.floor(random() * 2 ** 48).toString(16),
    device: { kind: pick(), browser: pick(), locale: pick() },
    price: Math.round(random() * 100000) / 100,
    items: [] as unknown[],
  };
  const items = event.items as unknown[];
  let text = JSON.stringify(event);
  while (text.length < size - 60) {
    items.push({ sku: `SKU-${Math.floor(random() * 1e6)}`, qty: 1 + Math.floor(random() * 5), tag: pick() });
    text = JSON.stringify(event);
  }
  return new TextEncoder().encode(text.padEnd(size, " "));
}

function makeRecords(count: number, valueSize: number, seed: number): BatchRecord[] {
  const random = prng(seed);
  const records: BatchRecord[] = [];
  for (let i = 0; i < count; i++) {
    records.push({
      timestamp: 1_700_000_000_000 + i * 3,
      key: new TextEncoder().encode(`user-${Math.floor(random() * 100000)}`),
      value: jsonValue(random, i, valueSize),
      headers: [{ key: "trace-id", value: new TextEncoder().encode(Math.floor(random() * 2 ** 52).toString(16)) }],
    });
  }
  return records;
}

// ---------------------------------------------------------------------------------------------------------------
// CRC-32C in TypeScript, slicing-by-8, for comparison with the native binding

const SLICING_TABLES = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
    tables[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 8; t++) tables[t][n] = (tables[t - 1][n] >>> 8) ^ tables[0][tables[t - 1][n] & 0xff];
  }
  return tables;
})();

function crc32cSlicingBy8(bytes: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = SLICING_TABLES;
  let crc = 0xffffffff;
  let i = 0;
  const end8 = bytes.length - (bytes.length % 8);
  while (i < end8) {
    const a = crc ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    crc = t7[a & 0xff] ^ t6[(a >>> 8) & 0xff] ^ t5[(a >>> 16) & 0xff] ^ t4[a >>> 24] ^
      t3[bytes[i + 4]] ^ t2[bytes[i + 5]] ^ t1[bytes[i + 6]] ^ t0[bytes[i + 7]];
    i += 8;
  }
  while (i < bytes.length) crc = (crc >>> 8) ^ t0[(crc ^ bytes[i++]) & 0xff];
  return (crc ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------------

function formatRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(1);
}

function printTable(title: string, rows: Row[]): void {
  const nameWidth = Math.max(...rows.map((r) => r.name.length), 10);
  console.log(`\n${title}`);
  console.log(`${"case".padEnd(nameWidth)}  ${"ops/s".padStart(10)}  ${"MB/s".padStart(9)}  note`);
  console.log(`${"-".repeat(nameWidth)}  ${"-".repeat(10)}  ${"-".repeat(9)}  ----`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(nameWidth)}  ${formatRate(r.opsPerSec).padStart(10)}  ${
        r.mbPerSec.toFixed(0).padStart(9)
      }  ${r.note}`,
    );
  }
}

/** `makeRecords` with values cut to exactly `valueSize` bytes (its JSON events are at least ~200 bytes). */
function recordsOfSize(count: number, valueSize: number, seed: number): BatchRecord[] {
  return makeRecords(count, 1024, seed).map((r) => ({ ...r, value: r.value!.subarray(0, valueSize) }));
}

/** The produce path's options on a CreateTime topic: record timestamps decoded and range-checked. */
const CREATE_TIME = { timestampRange: { min: 0, max: Number.MAX_SAFE_INTEGER } };

/**
 * A row whose note gives the cost of one operation in microseconds of this process's CPU time, which other
 * processes on a shared machine disturb far less than wall time (ops/s and MB/s stay wall-clock figures).
 */
function perBatch(name: string, bytes: number, op: () => unknown, note = ""): Row {
  const row = measure(name, bytes, op);
  const count = Math.max(1, Math.round(row.opsPerSec * (MEASURE_MS / 1000)));
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) consume(op());
  const used = process.cpuUsage(before);
  const cpuMicros = (used.user + used.system) / count;
  row.note = `${cpuMicros.toFixed(2)} µs CPU/batch${note ? `; ${note}` : ""}`;
  return row;
}

/**
 * Record validation as the produce path runs it: after the CRC check, one walk over the records (uncompressed),
 * or decompression and the walk (compressed). Shapes (value sizes; each record also has a ~10 B key and a
 * 24 B header): 1 KiB x 16, many small records (100 B x 500) and tiny ones (10 B x 1000), where the walk costs
 * most per byte.
 */
function recordValidationRows(): Row[] {
  const rows: Row[] = [];
  const shapes = [
    { count: 16, size: 1024 },
    { count: 500, size: 100 },
    { count: 1000, size: 10 },
  ];
  for (const { count, size } of shapes) {
    const batch = buildRecordBatch(recordsOfSize(count, size, 4));
    if (validateRecords(batch, CREATE_TIME).defect !== undefined) {
      throw new Error("the benchmark batch should be valid");
    }
    const shape = `${count} x ${size} B, ${batch.length} B`;
    rows.push(perBatch(`CRC only (${shape})`, batch.length, () => isBatchCrcValid(batch)));
    rows.push(perBatch(`validateRecords only (${shape})`, batch.length, () => validateRecords(batch, CREATE_TIME)));
    rows.push(
      perBatch(
        `CRC + validateRecords (${shape})`,
        batch.length,
        () => isBatchCrcValid(batch) && validateRecords(batch, CREATE_TIME).defect === undefined,
        "the produce path now",
      ),
    );
  }
  for (const codec of [Compression.Lz4, Compression.Zstd, Compression.Gzip]) {
    for (const { count, size } of [shapes[0], shapes[1]]) {
      const batch = buildRecordBatch(recordsOfSize(count, size, 4), { compression: codec });
      const packed = batch.subarray(61);
      const shape = `${CODEC_NAMES[codec]} ${count} x ${size} B, ${batch.length} B`;
      rows.push(perBatch(`decompress only (${shape})`, batch.length, () => decompress(codec, packed, 64 * MiB)));
      rows.push(perBatch(`CRC + validateRecords (${shape})`, batch.length, () => {
        return isBatchCrcValid(batch) && validateRecords(batch, CREATE_TIME).defect === undefined;
      }, "decompresses, then walks"));
    }
  }
  return rows;
}

/** Runs the codec benchmark and prints its tables. */
export function runCodecBench(): void {
  const started = performance.now();
  console.log(`codec bench: ${WARMUP_MS} ms warm-up, ${MEASURE_MS} ms per case; MB = 10^6 bytes`);
  // Other processes on a 2-core machine skew every figure; the load average says how much to trust them.
  console.log(`load average at start: ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}`);

  // CRC-32C over 1 MiB.
  const random = prng(1);
  const mib = new Uint8Array(MiB);
  for (let i = 0; i < mib.length; i++) mib[i] = Math.floor(random() * 256);
  if (crc32cSlicingBy8(mib) !== crc32c(mib)) throw new Error("slicing-by-8 disagrees with the native CRC-32C");
  printTable("CRC-32C over 1 MiB", [
    measure("native @node-rs/crc32 (protocol/crc32c.ts)", MiB, () => crc32c(mib)),
    measure("TypeScript slicing-by-8", MiB, () => crc32cSlicingBy8(mib)),
  ]);

  // A batch of 64 records with JSON-like 1 KiB values (~68 KB), and 1 MiB-ish of such batches back to back.
  const records = makeRecords(64, 1024, 2);
  const recordBytes = records.reduce((n, r) => n + (r.value?.length ?? 0) + (r.key?.length ?? 0), 0);
  const batch = buildRecordBatch(records);
  const chunkBatches = Math.floor(MiB / batch.length);
  const chunk = new Uint8Array(batch.length * chunkBatches);
  for (let i = 0; i < chunkBatches; i++) chunk.set(batch, i * batch.length);
  let nextOffset = 0n;
  printTable(`Batch header (batch of ${records.length} records, ${batch.length} bytes)`, [
    measure("readBatchHeader", batch.length, () => readBatchHeader(batch), "MB/s: batch bytes it lets pass undecoded"),
    measure("stamp baseOffset + leaderEpoch", batch.length, () => {
      stampBaseOffset(batch, nextOffset += 64n);
      stampPartitionLeaderEpoch(batch, 7);
    }, "in place, CRC untouched"),
    measure("isBatchCrcValid", batch.length, () => isBatchCrcValid(batch)),
    measure(`iterate ${chunkBatches} batches (headers only)`, chunk.length, () => {
      let n = 0;
      for (const slot of iterateBatches(chunk)) n += slot.header.recordsCount;
      return n;
    }),
    measure(
      `iterate + CRC-check ${chunkBatches} batches`,
      chunk.length,
      () => {
        let n = 0;
        for (const slot of iterateBatches(chunk)) if (isBatchCrcValid(chunk, slot.pos)) n++;
        return n;
      },
      "the produce-path validation",
    ),
  ]);

  // Build and decode per codec; MB/s counts record keys and values.
  const buildRows: Row[] = [];
  for (const codec of [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
    const built = buildRecordBatch(records, { compression: codec });
    const ratio = (recordBytes / (built.length - 61)).toFixed(2);
    buildRows.push(
      measure(`build ${CODEC_NAMES[codec]}`, recordBytes, () => buildRecordBatch(records, { compression: codec }), ""),
    );
    buildRows.push(
      measure(
        `decode ${CODEC_NAMES[codec]}`,
        recordBytes,
        () => decodeRecordBatch(built),
        `${built.length} B, ratio ${ratio}`,
      ),
    );
  }
  printTable(`Record batch build / decode (${records.length} records, MB/s of keys + values)`, buildRows);

  printTable(
    "Record validation (protocol/record_validation.ts; MB/s of batch bytes, CPU µs per batch in the note)",
    recordValidationRows(),
  );

  // Raw codecs on 1 MiB of concatenated JSON-like values.
  const plain = new Uint8Array(MiB);
  const valueRandom = prng(3);
  for (let pos = 0, id = 0; pos < plain.length; id++) {
    const v = jsonValue(valueRandom, id, 1024);
    plain.set(v.subarray(0, Math.min(v.length, plain.length - pos)), pos);
    pos += v.length;
  }
  const codecRows: Row[] = [];
  for (const codec of [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
    const packed = compress(codec, plain);
    const ratio = (plain.length / packed.length).toFixed(2);
    codecRows.push(
      measure(`${CODEC_NAMES[codec]} compress`, plain.length, () => compress(codec, plain), `ratio ${ratio}`),
    );
    codecRows.push(measure(`${CODEC_NAMES[codec]} decompress`, plain.length, () => decompress(codec, packed, 2 * MiB)));
  }
  const napiFrame = compressFrameSync(plain as Buffer);
  codecRows.push(
    measure(
      "lz4-napi compressFrameSync (not used)",
      plain.length,
      () => compressFrameSync(plain as Buffer),
      "comparison",
    ),
  );
  codecRows.push(
    measure(
      "lz4-napi decompressFrameSync (not used)",
      plain.length,
      () => decompressFrameSync(napiFrame),
      "comparison",
    ),
  );
  printTable("Compression codecs on 1 MiB of JSON-like values (MB/s of uncompressed bytes)", codecRows);

  const load = Deno.loadavg().map((l) => l.toFixed(2)).join(" ");
  console.log(
    `\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s, load average ${load} (sink ${sink & 0xff})`,
  );
}
