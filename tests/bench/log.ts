/**
 * Partition-log benchmark: group-commit throughput of 1 KiB batches from K concurrent writers, against the raw
 * write + fdatasync limit of the same disk measured in the same run (64 KiB and 1 MiB appends).
 *
 * Run alone: `deno run --allow-all tests/bench/log.ts [seconds-per-case]`.
 *
 * @module
 */
import { PartitionLog } from "../../log/partition_log.ts";
import { BatchOffsets, writeBatchCrc } from "../../protocol/record_batch_header.ts";

/** One measured case. */
export interface LogBenchResult {
  /** What was measured. */
  name: string;
  /** Payload megabytes (10^6) per second. */
  mbPerSec: number;
  /** fdatasync calls per second. */
  fsyncsPerSec: number;
  /** Appends (or raw writes) per second. */
  writesPerSec: number;
}

/** A 1 KiB v2 batch of one opaque record. */
function batchOf(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const v = new DataView(bytes.buffer);
  v.setInt32(BatchOffsets.batchLength, size - 12);
  v.setInt32(BatchOffsets.partitionLeaderEpoch, -1);
  v.setInt8(BatchOffsets.magic, 2);
  v.setInt32(BatchOffsets.lastOffsetDelta, 0);
  v.setBigInt64(BatchOffsets.baseTimestamp, BigInt(Date.now()));
  v.setBigInt64(BatchOffsets.maxTimestamp, BigInt(Date.now()));
  v.setBigInt64(BatchOffsets.producerId, -1n);
  v.setInt16(BatchOffsets.producerEpoch, -1);
  v.setInt32(BatchOffsets.baseSequence, -1);
  v.setInt32(BatchOffsets.recordsCount, 1);
  writeBatchCrc(bytes);
  return bytes;
}

async function groupCommit(dir: string, writers: number, seconds: number): Promise<LogBenchResult> {
  const log = await PartitionLog.open(`${dir}/bench-${writers}`, { config: { "segment.bytes": 256 * 1024 * 1024 } });
  const template = batchOf(1024);
  const deadline = performance.now() + seconds * 1000;
  let appends = 0;
  const started = performance.now();
  const fsyncsBefore = log.stats.fsyncs;
  await Promise.all(Array.from({ length: writers }, async () => {
    while (performance.now() < deadline) {
      log.append(template.slice());
      appends++;
      await log.flush();
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const fsyncs = log.stats.fsyncs - fsyncsBefore;
  await log.close();
  return {
    name: `log append 1 KiB + flush, ${writers} writer${writers > 1 ? "s" : ""}`,
    mbPerSec: (appends * 1024) / elapsed / 1e6,
    fsyncsPerSec: fsyncs / elapsed,
    writesPerSec: appends / elapsed,
  };
}

/** CPU cost of the append path alone (no fsync), then sequential whole-log reads of 1 MiB. */
async function appendAndRead(dir: string, seconds: number): Promise<LogBenchResult[]> {
  const log = await PartitionLog.open(`${dir}/bench-nosync`, { config: { "segment.bytes": 64 * 1024 * 1024 } });
  const template = batchOf(1024);
  let appends = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 256; i++) log.append(template.slice());
    appends += 256;
  }
  const appendSeconds = (performance.now() - started) / 1000;
  await log.flush();
  const readStarted = performance.now();
  let bytes = 0;
  let reads = 0;
  for (let offset = log.logStartOffset; offset < log.logEndOffset; reads++) {
    const { records } = log.read(offset, 1024 * 1024);
    bytes += records.length;
    offset += records.length / 1024; // one record per 1 KiB batch
  }
  const readSeconds = (performance.now() - readStarted) / 1000;
  await log.close();
  return [
    {
      name: "log append 1 KiB, no flush (CPU + page cache)",
      mbPerSec: (appends * 1024) / appendSeconds / 1e6,
      fsyncsPerSec: 0,
      writesPerSec: appends / appendSeconds,
    },
    {
      name: "log read 1 MiB at a time, whole log (page cache)",
      mbPerSec: bytes / readSeconds / 1e6,
      fsyncsPerSec: 0,
      writesPerSec: reads / readSeconds,
    },
  ];
}

async function rawWriteSync(dir: string, size: number, seconds: number, asyncSync: boolean): Promise<LogBenchResult> {
  const path = `${dir}/raw-${size}-${asyncSync}`;
  const file = await Deno.open(path, { create: true, append: true });
  const buffer = new Uint8Array(size).fill(7);
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let writes = 0;
  while (performance.now() < deadline) {
    let done = 0;
    while (done < size) done += file.writeSync(buffer.subarray(done));
    if (asyncSync) await file.syncData();
    else file.syncDataSync();
    writes++;
  }
  const elapsed = (performance.now() - started) / 1000;
  file.close();
  await Deno.remove(path);
  const label = size >= 1024 * 1024 ? `${size / 1024 / 1024} MiB` : `${size / 1024} KiB`;
  return {
    name: `raw writeSync ${label} + ${asyncSync ? "await syncData" : "syncDataSync"}`,
    mbPerSec: (writes * size) / elapsed / 1e6,
    fsyncsPerSec: writes / elapsed,
    writesPerSec: writes / elapsed,
  };
}

/**
 * Runs the log benchmark and prints a table; returns the figures. Small fsyncs run first: the disk here slows
 * down for minutes after bulk writes (PLATFORM.md).
 *
 * @example
 * ```ts
 * import { runLogBench } from "./log.ts";
 * await runLogBench({ secondsPerCase: 1 });
 * ```
 */
export async function runLogBench(options: { secondsPerCase?: number; dir?: string } = {}): Promise<LogBenchResult[]> {
  const seconds = options.secondsPerCase ?? 3;
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "samsa-log-bench-" });
  const results: LogBenchResult[] = [];
  try {
    results.push(await rawWriteSync(dir, 1024, seconds, false));
    results.push(await rawWriteSync(dir, 1024, seconds, true));
    for (const writers of [1, 4, 16]) results.push(await groupCommit(dir, writers, seconds));
    results.push(await rawWriteSync(dir, 64 * 1024, seconds, false));
    results.push(await rawWriteSync(dir, 64 * 1024, seconds, true));
    results.push(await rawWriteSync(dir, 1024 * 1024, seconds, false));
    results.push(...await appendAndRead(dir, Math.min(seconds, 2)));
  } finally {
    if (!options.dir) await Deno.remove(dir, { recursive: true });
  }
  console.log(`log bench (${seconds} s per case)`);
  console.log(`${"case".padEnd(52)} ${"MB/s".padStart(9)} ${"fsyncs/s".padStart(10)} ${"writes/s".padStart(10)}`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(52)} ${r.mbPerSec.toFixed(1).padStart(9)} ${r.fsyncsPerSec.toFixed(0).padStart(10)} ${
        r.writesPerSec.toFixed(0).padStart(10)
      }`,
    );
  }
  return results;
}

if (import.meta.main) {
  await runLogBench({ secondsPerCase: Number(Deno.args[0] ?? 3) });
}
