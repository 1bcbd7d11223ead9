/**
 * The log cleaner of one partition: the shell around `compaction.ts` that reads segments, writes cleaned
 * copies and swaps them into the log. `PartitionLog.compact` runs it; the broker schedules it for topics whose
 * `cleanup.policy` includes `compact`.
 *
 * A clean, in Kafka's steps:
 * 1. plan (`planCleaning`) from the segments, the cleaner checkpoint and the caller's bound (high watermark);
 * 2. build the offset map from the dirty segments (records decoded, the one place the log decodes them);
 * 3. per group of old segments that fit in `segment.bytes` together (`groupSegmentsBySize`): copy the
 *    surviving batches to `<base>.log.cleaned`, fsync it, and swap it in (below);
 * 4. write the checkpoint `cleaner-offset-checkpoint` (the end of what was cleaned).
 * The offset map holds exact keys (Kafka hashes them); `maxOffsetMapKeys` bounds it, ending a clean early at a
 * segment boundary as Kafka's dedupe buffer does.
 * Appends, flushes and reads go on meanwhile: the cleaner yields (`pause`) after each MiB it processes, and
 * only the swap holds the log's segment lock, which truncation, retention and close wait for.
 *
 * The swap, crash-safe at every step (each rename and removal followed by a directory fsync):
 * - `<base>.log.cleaned` → `<base>.log.swap`: the commit point. Before it, recovery deletes `.cleaned` and the
 *   old segments stand; after it, recovery finishes the swap.
 * - remove the group's other segments and the first one's index files (open handles keep reads working);
 * - `<base>.log.swap` → `<base>.log`, replacing the first segment;
 * - in memory: the new segment, its indexes rebuilt from its batches, replaces the group.
 * Recovery (`recoverInterruptedCleaning`, run by `PartitionLog.open` first) finishes a swap like Kafka: the
 * segments whose base offsets fall in [swap base, end of the swap's last batch) are the ones it replaces.
 *
 * The checkpoint also keeps the earliest delete horizon the last clean left pending, so a clean runs once it
 * passes even when nothing is dirty (a Samsa choice; Kafka waits for the dirty ratio or the max lag).
 *
 * @module
 */
import { BATCH_HEADER_SIZE, BatchOffsets } from "../protocol/record_batch_header.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { decodeRecordBatch } from "../protocol/record_batch.ts";
import { decodeOffsetCheckpoint, encodeOffsetCheckpoint, readCheckpoint, writeCheckpoint } from "./checkpoint_file.ts";
import {
  type CleanerSegment,
  type CleaningPlan,
  type CleaningReason,
  filterBatch,
  groupSegmentsBySize,
  hasCleanupPolicy,
  OffsetMap,
  planCleaning,
} from "./compaction.ts";
import type { FileSystem, LogFile } from "./file_system.ts";
import type { LogConfig } from "./log_config.ts";
import { LogError, storageError } from "./log_error.ts";
import { LogSegment, segmentFileName } from "./segment.ts";

/**
 * The file holding the end of the last clean (the first dirty offset of the next) and, on a third line, the
 * earliest delete horizon that clean left pending (-1 for none): `0\n<offset>\n<horizonMs>\n`.
 */
export const CLEANER_CHECKPOINT_FILE = "cleaner-offset-checkpoint";
/**
 * Default bound on the keys of one clean's offset map (Kafka bounds it by `log.cleaner.dedupe.buffer.size`):
 * past it the clean stops at the end of the current dirty segment and the next clean goes on from there.
 */
export const DEFAULT_MAX_OFFSET_MAP_KEYS = 1_000_000;
const CLEANED_SUFFIX = ".cleaned";
const SWAP_SUFFIX = ".swap";
const PAUSE_EVERY_BYTES = 1024 * 1024;
const WRITE_BUFFER_BYTES = 1024 * 1024;

/** Options of `PartitionLog.compact`. */
export interface CompactOptions {
  /** Clean nothing at or above this offset: the broker passes the high watermark. Default: the durable end. */
  upTo?: number;
  /** Clean whatever is cleanable even when the dirty ratio is low. Default false. */
  force?: boolean;
  /** Stop adding dirty segments to the offset map once it holds this many keys. Default 1,000,000. */
  maxOffsetMapKeys?: number;
  /**
   * Awaited after each MiB of input, so appends and fetches are served while cleaning. Default: a zero-delay
   * timer (the cleaner is background work; ~2 ms per MiB is cheap there). Tests use it to interleave appends.
   */
  pause?: () => Promise<void>;
}

/** What one clean did. */
export interface CompactionReport {
  /** Why it ran, or null when there was nothing to do. */
  reason: CleaningReason | null;
  /** Set when the clean stopped early: the log was truncated or closed under it. */
  aborted: string | null;
  /** Where the dirty part started. */
  firstDirtyOffset: number;
  /** The end of the cleanable part (the new cleaner checkpoint when the clean completes). */
  firstUncleanableOffset: number;
  /** The dirty ratio planning saw. */
  dirtyRatio: number;
  /** Distinct keys in the offset map. */
  keys: number;
  /** Segments replaced. */
  segmentsBefore: number;
  /** Segments written in their place (fewer when small ones were merged). */
  segmentsAfter: number;
  /** Bytes of the replaced segments. */
  bytesBefore: number;
  /** Bytes of what replaced them. */
  bytesAfter: number;
  /** Records read from the replaced segments. */
  recordsRead: number;
  /** Records removed: superseded ones and tombstones past their horizon. */
  recordsRemoved: number;
  /** Tombstones removed because their delete horizon had passed. */
  tombstonesRemoved: number;
  /** Batches dropped whole. */
  batchesRemoved: number;
  /** The earliest delete horizon among tombstones kept, or null. */
  pendingDeleteHorizonMs: number | null;
}

/** What the cleaner needs of the log; `PartitionLog` implements it over its private state. */
export interface CleanerHost {
  /** The partition directory. */
  readonly dir: string;
  /** The file system. */
  readonly fs: FileSystem;
  /** The settings. */
  readonly config: LogConfig;
  /** Now (ms) from the log's clock. */
  now(): number;
  /** The current segments, oldest first, the active one last. */
  segments(): readonly LogSegment[];
  /** The log start offset. */
  logStartOffset(): number;
  /** The durable end. */
  flushedOffset(): number;
  /** Loads (or rebuilds) a segment's indexes. */
  ensureIndexes(segment: LogSegment): void;
  /** True once the log is closing, closed or offline: the cleaner stops. */
  stopped(): boolean;
  /** Takes the segment lock (truncation, retention and close wait for it); returns its release. */
  lockSegments(): () => void;
  /** Puts `replacement` where `group` is in the segment list and forgets the group's files (synchronous). */
  replaceSegments(group: readonly LogSegment[], replacement: LogSegment): void;
  /** Takes the log offline after a failure the log cannot roll back; returns the error to throw. */
  fail(what: string, cause: unknown): LogError;
  /** Structured events. */
  onEvent(event: Record<string, unknown>): void;
}

/**
 * Cleans a partition log; one per log, keeping the pending delete horizon between cleans.
 *
 * @example
 * ```ts
 * import { PartitionLog } from "./partition_log.ts";
 * const dir = await Deno.makeTempDir();
 * const log = await PartitionLog.open(`${dir}/users-0`, { config: { "cleanup.policy": "compact" } });
 * // ... appends ...
 * const report = await log.compact(); // PartitionLog owns a LogCleaner
 * report.reason; // null: nothing to clean in an empty log
 * await log.close();
 * ```
 */
export class LogCleaner {
  /** The earliest pending delete horizon; undefined until read from the checkpoint. */
  private pendingDeleteHorizonMs: number | null | undefined = undefined;

  /** A cleaner for the log behind `host`. */
  constructor(private readonly host: CleanerHost) {}

  /** Runs one clean; see the module notes. */
  async clean(options: CompactOptions = {}): Promise<CompactionReport> {
    const host = this.host;
    const pause = options.pause ?? (() => new Promise<void>((resolve) => setTimeout(resolve, 0)));
    const plan = this.plan(options);
    const report: CompactionReport = {
      reason: plan.reason,
      aborted: null,
      firstDirtyOffset: plan.firstDirtyOffset,
      firstUncleanableOffset: plan.firstUncleanableOffset,
      dirtyRatio: plan.dirtyRatio,
      keys: 0,
      segmentsBefore: 0,
      segmentsAfter: 0,
      bytesBefore: 0,
      bytesAfter: 0,
      recordsRead: 0,
      recordsRemoved: 0,
      tombstonesRemoved: 0,
      batchesRemoved: 0,
      pendingDeleteHorizonMs: null,
    };
    if (plan.reason === null) return report;
    const all = host.segments().slice();
    const segments = all.slice(0, plan.segmentCount);
    const sizes = segments.map((s) => s.sizeBytes);
    const nowMs = host.now();
    const map = new OffsetMap();
    const maxKeys = Math.max(1, options.maxOffsetMapKeys ?? DEFAULT_MAX_OFFSET_MAP_KEYS);
    let sincePause = 0;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i];
      if (segment.nextOffset <= plan.firstDirtyOffset) continue;
      if (map.size >= maxKeys) {
        // The map is full: clean up to here now, the rest next time (Kafka's dedupe buffer limit).
        segments.length = sizes.length = i;
        report.firstUncleanableOffset = segment.baseOffset;
        break;
      }
      for (const batch of segmentBatches(segment)) {
        map.addBatch(decode(batch, segment), plan.firstDirtyOffset);
        sincePause += batch.length;
        if (sincePause >= PAUSE_EVERY_BYTES) {
          sincePause = 0;
          await pause();
          const problem = host.stopped() ? "log closed" : groupChanged(host.segments(), segments, sizes);
          if (problem) return { ...report, aborted: problem };
        }
      }
    }
    report.keys = map.size;
    let horizon: number | null = null;
    const groups = groupSegmentsBySize(segments, host.config["segment.bytes"]);
    for (const indexes of groups) {
      const group = indexes.map((i) => segments[i]);
      const cleaned = await this.cleanGroup(group, map, nowMs, pause, report);
      if (cleaned === null) return report;
      if (cleaned.horizon !== null) horizon = Math.min(horizon ?? Infinity, cleaned.horizon);
    }
    this.pendingDeleteHorizonMs = horizon;
    report.pendingDeleteHorizonMs = horizon;
    try {
      await writeCheckpoint(
        host.fs,
        `${host.dir}/${CLEANER_CHECKPOINT_FILE}`,
        `${encodeOffsetCheckpoint(report.firstUncleanableOffset)}${horizon ?? -1}\n`,
        false,
      );
    } catch (e) {
      throw storageError(`writing the cleaner checkpoint of ${host.dir}`, e);
    }
    host.onEvent({ level: "info", event: "log_cleaned", dir: host.dir, ...report });
    return report;
  }

  /** The plan for now: segments summarised, checkpoint read. */
  private plan(options: CompactOptions): CleaningPlan {
    const host = this.host;
    const all = host.segments();
    const config = host.config;
    const summaries: CleanerSegment[] = all.map((s, i) => {
      host.ensureIndexes(s);
      const active = i === all.length - 1;
      return {
        baseOffset: s.baseOffset,
        nextOffset: active ? s.nextOffset : all[i + 1].baseOffset,
        sizeBytes: s.sizeBytes,
        largestTimestampMs: s.maxTimestamp >= 0 ? s.maxTimestamp : s.mtimeMs(),
        firstBatchTimestampMs: -1,
      };
    });
    const text = readCheckpoint(host.fs, `${host.dir}/${CLEANER_CHECKPOINT_FILE}`);
    const checkpoint = decodeOffsetCheckpoint(text) ?? 0;
    if (this.pendingDeleteHorizonMs === undefined) {
      const horizon = Number(text?.split("\n")[2]);
      this.pendingDeleteHorizonMs = Number.isSafeInteger(horizon) && horizon >= 0 ? horizon : null;
    }
    if (config["max.compaction.lag.ms"] !== Infinity) {
      for (let i = 0; i < all.length - 1; i++) {
        if (summaries[i].nextOffset > checkpoint) summaries[i].firstBatchTimestampMs = firstBatchTimestamp(all[i]);
      }
    }
    const plan = planCleaning(summaries, {
      logStartOffset: host.logStartOffset(),
      cleanerCheckpoint: checkpoint,
      upperBoundOffset: Math.min(options.upTo ?? Infinity, host.flushedOffset()),
      nowMs: host.now(),
      pendingDeleteHorizonMs: this.pendingDeleteHorizonMs,
      force: options.force,
    }, config);
    if (!hasCleanupPolicy(config["cleanup.policy"], "compact")) plan.reason = null;
    return plan;
  }

  /**
   * Writes the cleaned copy of `group` and swaps it in. Returns the earliest delete horizon kept, or null when
   * the clean was aborted (recorded in `report`).
   */
  private async cleanGroup(
    group: readonly LogSegment[],
    map: OffsetMap,
    nowMs: number,
    pause: () => Promise<void>,
    report: CompactionReport,
  ): Promise<{ horizon: number | null } | null> {
    const host = this.host;
    const base = group[0].baseOffset;
    const logPath = `${host.dir}/${segmentFileName(base, "log")}`;
    const cleanedPath = logPath + CLEANED_SUFFIX;
    const sizes = group.map((s) => s.sizeBytes);
    let horizon: number | null = null;
    const stats = { recordsRead: 0, recordsRemoved: 0, tombstonesRemoved: 0, batchesRemoved: 0 };
    let out: LogFile | null = null;
    let written = 0;
    try {
      host.fs.remove(cleanedPath);
      out = host.fs.open(cleanedPath, { create: true });
      const writer = new BufferedWriter(out);
      let sincePause = 0;
      for (const segment of group) {
        for (const batch of segmentBatches(segment)) {
          const result = filterBatch(batch, { map, nowMs, deleteRetentionMs: host.config["delete.retention.ms"] });
          stats.recordsRead += result.recordsBefore;
          stats.recordsRemoved += result.recordsBefore - result.recordsAfter;
          stats.tombstonesRemoved += result.tombstonesRemoved;
          if (result.bytes === null) stats.batchesRemoved++;
          else writer.write(result.bytes);
          if (result.deleteHorizonMs !== null) horizon = Math.min(horizon ?? Infinity, result.deleteHorizonMs);
          sincePause += batch.length;
          if (sincePause >= PAUSE_EVERY_BYTES) {
            sincePause = 0;
            await pause();
            const problem = host.stopped() ? "log closed" : groupChanged(host.segments(), group, sizes);
            if (problem) throw new Aborted(problem);
          }
        }
      }
      writer.flush();
      written = writer.bytes;
      await out.syncData();
      out.close();
      out = null;
    } catch (e) {
      out?.close();
      removeQuietly(host.fs, cleanedPath);
      if (e instanceof Aborted) {
        report.aborted = e.message;
        return null;
      }
      if (e instanceof LogError) throw e;
      if (e instanceof ProtocolError) {
        throw new LogError("corrupt", `cleaner cannot decode a batch of segment ${base}: ${e.message}`, { cause: e });
      }
      throw storageError(`cleaning segment ${base} of ${host.dir}`, e);
    }

    const release = host.lockSegments();
    try {
      const problem = host.stopped() ? "log closed" : groupChanged(host.segments(), group, sizes);
      if (problem) {
        removeQuietly(host.fs, cleanedPath);
        report.aborted = problem;
        return null;
      }
      await this.swap(group, cleanedPath, logPath, written);
    } finally {
      release();
    }
    report.segmentsBefore += group.length;
    report.segmentsAfter += 1;
    report.bytesBefore += sizes.reduce((n, s) => n + s, 0);
    report.bytesAfter += written;
    report.recordsRead += stats.recordsRead;
    report.recordsRemoved += stats.recordsRemoved;
    report.tombstonesRemoved += stats.tombstonesRemoved;
    report.batchesRemoved += stats.batchesRemoved;
    return { horizon };
  }

  /** The swap of the module notes; the caller holds the segment lock and checked the group is unchanged. */
  private async swap(group: readonly LogSegment[], cleanedPath: string, logPath: string, size: number): Promise<void> {
    const host = this.host;
    const { fs, dir } = host;
    const base = group[0].baseOffset;
    // Reads must keep working from the old segments while their files go away: open handles and indexes now.
    for (const segment of group) {
      host.ensureIndexes(segment);
      segment.log();
    }
    const swapPath = logPath + SWAP_SUFFIX;
    try {
      fs.rename(cleanedPath, swapPath);
    } catch (e) {
      removeQuietly(fs, cleanedPath);
      throw storageError(`committing the clean of segment ${base} in ${dir}`, e);
    }
    try {
      await fs.syncDir(dir);
      // Oldest first: if a crash leaves some, they are the newest, so no record outlives the later record (say a
      // tombstone) that superseded it; recovery keeps only segments from the swap's end on, which are valid.
      for (const segment of group.slice(1)) removeSegmentFiles(fs, dir, segment.baseOffset, true);
      removeSegmentFiles(fs, dir, base, false);
      await fs.syncDir(dir);
      fs.rename(swapPath, logPath);
      await fs.syncDir(dir);
      const replacement = LogSegment.existing(fs, dir, base, size, host.now());
      replacement.scan(base, host.config["index.interval.bytes"], () => {}, false);
      replacement.sealTimeIndex();
      const indexFiles = replacement.takeDirtyIndexFiles();
      host.replaceSegments(group, replacement);
      await Promise.all(indexFiles.map((f) => f.syncData()));
    } catch (e) {
      // Past the commit point: the files are ahead of the in-memory log; reopening finishes the swap.
      throw host.fail(`swapping in the clean of segment ${base}`, e);
    }
  }
}

/** Thrown inside a clean to stop it without an error. */
class Aborted extends Error {}

/** Why the group can no longer be swapped, or null: truncation or retention changed the segments meanwhile. */
function groupChanged(
  current: readonly LogSegment[],
  group: readonly LogSegment[],
  sizes: readonly number[] = group.map((s) => s.sizeBytes),
): string | null {
  const at = current.indexOf(group[0]);
  if (at < 0 || at + group.length >= current.length) return "segments changed during the clean";
  for (let i = 0; i < group.length; i++) {
    if (current[at + i] !== group[i] || group[i].sizeBytes !== sizes[i]) return "segments changed during the clean";
  }
  return null;
}

/** Decodes a batch of `segment` for the offset map; a batch that does not decode stops the clean. */
function decode(batch: Uint8Array, segment: LogSegment) {
  try {
    return decodeRecordBatch(batch);
  } catch (e) {
    throw new LogError("corrupt", `cleaner cannot decode a batch of segment ${segment.baseOffset}: ${e}`, {
      cause: e,
    });
  }
}

/** The batches of a segment, each a fresh copy, read through a 1 MiB buffer. */
function* segmentBatches(segment: LogSegment): Generator<Uint8Array> {
  const file = segment.log();
  const end = segment.sizeBytes;
  let chunk = new Uint8Array(0);
  let chunkStart = 0;
  let pos = 0;
  /** Makes [pos, pos + n) available in `chunk`; false when the file ends first. */
  const ensure = (n: number): boolean => {
    if (pos + n > chunkStart + chunk.length) {
      const buffer = new Uint8Array(Math.min(end - pos, Math.max(n, WRITE_BUFFER_BYTES)));
      chunk = buffer.subarray(0, file.readAt(buffer, pos));
      chunkStart = pos;
    }
    return pos + n <= chunkStart + chunk.length;
  };
  while (pos + BATCH_HEADER_SIZE <= end) {
    const bad = () => new LogError("corrupt", `segment ${segment.baseOffset} has a bad batch at byte ${pos}`);
    if (!ensure(BATCH_HEADER_SIZE)) throw bad();
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const size = view.getInt32(pos - chunkStart + BatchOffsets.batchLength) + 12;
    if (size < BATCH_HEADER_SIZE || pos + size > end || !ensure(size)) throw bad();
    yield chunk.slice(pos - chunkStart, pos - chunkStart + size);
    pos += size;
  }
}

/** Max timestamp of a segment's first batch, or -1. */
function firstBatchTimestamp(segment: LogSegment): number {
  if (segment.sizeBytes < BATCH_HEADER_SIZE) return -1;
  const header = segment.read(0, BATCH_HEADER_SIZE);
  if (header.length < BATCH_HEADER_SIZE) return -1;
  return Number(new DataView(header.buffer).getBigInt64(BatchOffsets.maxTimestamp));
}

/** Gathers writes into 1 MiB appends. */
class BufferedWriter {
  private buffer = new Uint8Array(WRITE_BUFFER_BYTES);
  private used = 0;
  /** Bytes written so far (flushed or not). */
  bytes = 0;

  constructor(private readonly file: LogFile) {}

  write(bytes: Uint8Array): void {
    if (this.used + bytes.length > this.buffer.length) this.flush();
    if (bytes.length > this.buffer.length) this.file.append(bytes);
    else {
      this.buffer.set(bytes, this.used);
      this.used += bytes.length;
    }
    this.bytes += bytes.length;
  }

  flush(): void {
    if (this.used > 0) this.file.append(this.buffer.subarray(0, this.used));
    this.used = 0;
  }
}

/** Removes a segment's files: the `.log` too when `withLog`, else only its indexes. */
function removeSegmentFiles(fs: FileSystem, dir: string, baseOffset: number, withLog: boolean): void {
  if (withLog) fs.remove(`${dir}/${segmentFileName(baseOffset, "log")}`);
  fs.remove(`${dir}/${segmentFileName(baseOffset, "index")}`);
  fs.remove(`${dir}/${segmentFileName(baseOffset, "timeindex")}`);
}

function removeQuietly(fs: FileSystem, path: string): void {
  try {
    fs.remove(path);
  } catch {
    // A leftover `.cleaned` file is removed by the next open.
  }
}

/**
 * Recovery of an interrupted clean, run by `PartitionLog.open` before it lists the segments: deletes
 * `.cleaned` files (a clean that never committed) and finishes each `.swap` (one that did): the segments whose
 * base offsets fall in [swap base, end of its last batch) go, and the swap becomes `<base>.log`. Returns what
 * it did, for the log's recovery event.
 *
 * @example
 * ```ts
 * import { DenoFileSystem } from "./file_system.ts";
 * import { recoverInterruptedCleaning } from "./log_cleaner.ts";
 * const dir = await Deno.makeTempDir();
 * await recoverInterruptedCleaning(new DenoFileSystem(), dir); // { removed: [], swapped: [] }
 * ```
 */
export async function recoverInterruptedCleaning(
  fs: FileSystem,
  dir: string,
): Promise<{ removed: string[]; swapped: number[] }> {
  const names = fs.readDir(dir);
  const removed: string[] = [];
  const swapped: number[] = [];
  for (const name of names) {
    if (name.endsWith(CLEANED_SUFFIX)) {
      fs.remove(`${dir}/${name}`);
      removed.push(name);
    }
  }
  const swaps = names.map((n) => /^(\d{20})\.log\.swap$/.exec(n)).filter((m): m is RegExpExecArray => m !== null);
  for (const match of swaps) {
    const base = Number(match[1]);
    const swapPath = `${dir}/${match[0]}`;
    const end = endOffsetOf(fs, swapPath, base);
    for (const name of fs.readDir(dir)) {
      const segment = /^(\d{20})\.log$/.exec(name);
      if (!segment) continue;
      const other = Number(segment[1]);
      if (other > base && other < end) removeSegmentFiles(fs, dir, other, true);
    }
    removeSegmentFiles(fs, dir, base, false);
    fs.rename(swapPath, `${dir}/${segmentFileName(base, "log")}`);
    swapped.push(base);
  }
  if (removed.length > 0 || swapped.length > 0) await fs.syncDir(dir);
  return { removed, swapped };
}

/** The offset after the last whole batch of a segment file (its base offset when it holds none). */
function endOffsetOf(fs: FileSystem, path: string, base: number): number {
  const file = fs.open(path);
  try {
    const size = file.size();
    const header = new Uint8Array(BATCH_HEADER_SIZE);
    const view = new DataView(header.buffer);
    let pos = 0;
    let end = base;
    while (pos + BATCH_HEADER_SIZE <= size) {
      if (file.readAt(header, pos) < BATCH_HEADER_SIZE) break;
      const batchSize = view.getInt32(BatchOffsets.batchLength) + 12;
      if (batchSize < BATCH_HEADER_SIZE || pos + batchSize > size) break;
      end = Number(view.getBigInt64(BatchOffsets.baseOffset)) + view.getInt32(BatchOffsets.lastOffsetDelta) + 1;
      pos += batchSize;
    }
    return end;
  } finally {
    file.close();
  }
}
