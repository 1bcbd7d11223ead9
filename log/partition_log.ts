/**
 * The log of one partition: a directory `<topic>-<partition>` of segments, with group commit, recovery,
 * retention, truncation and the leader-epoch cache.
 *
 * Offsets are Kafka int64s; here they are `number` (exact to 2^53, ~285 years at a billion records a second)
 * and are converted to `bigint` only where a batch header is stamped or read.
 *
 * Durability: `append` writes with one synchronous write and returns at once; `flush`/`waitForDurable` make
 * data durable with group commit (one fdatasync covers everything appended while the previous one ran).
 * `flushedOffset` is the durable end; reads stop there unless the caller passes `upTo`. After a failed write or
 * fsync the log goes offline: appends and flushes fail with LogError `storage` (the broker answers
 * KAFKA_STORAGE_ERROR) rather than risk a hole, while reads of durable data keep working; reopening recovers.
 *
 * Files besides the segments, all small and replaced atomically:
 * - `recovery-point-offset-checkpoint`: an offset below which everything was fsynced (indexes included);
 * - `log-start-offset-checkpoint`: the log start offset after DeleteRecords or retention;
 * - `leader-epoch-checkpoint`: the leader-epoch cache, in Kafka's format;
 * - `.clean-shutdown`: written by `close`, removed by `open`; lets `open` skip the recovery scan.
 *
 * @module
 */
import {
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_PREFIX,
  BatchOffsets,
  stampBaseOffset,
  stampPartitionLeaderEpoch,
} from "../protocol/record_batch_header.ts";
import {
  decodeOffsetCheckpoint,
  encodeOffsetCheckpoint,
  readCheckpoint,
  writeCheckpoint,
  writeCheckpointSync,
} from "./checkpoint_file.ts";
import { DenoFileSystem, type FileSystem, type LogFile } from "./file_system.ts";
import { MAX_DEFERRED_BYTES } from "../protocol/wire/deferred_bytes.ts";
import { type EpochEndOffset, LeaderEpochCache } from "./leader_epoch_cache.ts";
import { type LogConfig, logConfig } from "./log_config.ts";
import { LogError, storageError } from "./log_error.ts";
import { hasCleanupPolicy } from "./compaction.ts";
import {
  type CleanerHost,
  type CompactionReport,
  type CompactOptions,
  LogCleaner,
  recoverInterruptedCleaning,
} from "./log_cleaner.ts";
import { type RetentionDecision, segmentsToDelete } from "./retention.ts";
import { type BatchInfo, LogSegment, parseSegmentLogName, type ScanStop, segmentFileName } from "./segment.ts";

/** Where the log gets the time from (ms since the epoch); injected so tests and the simulator drive it. */
export interface Clock {
  /** Now, in ms. */
  now(): number;
}

/** Options of `PartitionLog.open`. */
export interface PartitionLogOptions {
  /** Settings by Kafka property names; unset ones take their defaults. */
  config?: Partial<LogConfig>;
  /** The file system; the real one by default. */
  fs?: FileSystem;
  /** The clock; `Date.now` by default. */
  clock?: Clock;
  /** Receives structured events worth an operator's attention (recovery, going offline). */
  onEvent?: (event: Record<string, unknown>) => void;
}

/** What recovery cut from a log after an unclean stop. */
export interface RecoveryTruncation {
  /** The segment where the first bad batch was. */
  segmentBaseOffset: number;
  /** Byte position of the cut in that segment. */
  position: number;
  /** Bytes removed from that segment. */
  bytesCut: number;
  /** Whole later segments removed (their base offsets) and their bytes. */
  segmentsDeleted: number[];
  /** Bytes of the removed later segments. */
  segmentsDeletedBytes: number;
  /** The first offset no longer in the log (the new log end offset). */
  firstOffsetCut: number;
  /** What was wrong with the first batch cut. */
  reason: ScanStop;
}

/**
 * A gap recovery left in the log where a closed segment was damaged: the offsets in [firstOffset,
 * nextValidOffset) are not served (a fetch there gets the next batch, as in a compacted log).
 */
export interface DamagedOffsets {
  /** The segment the damage was in. */
  segmentBaseOffset: number;
  /** Byte position of the damage in the segment as found. */
  position: number;
  /** Damaged bytes removed from the segment (kept in `<base>.damaged`). */
  bytes: number;
  /** The first offset of the gap. */
  firstOffset: number;
  /** The offset after the gap: the next valid batch's base offset. */
  nextValidOffset: number;
  /** What was wrong. */
  reason: ScanStop;
}

/** How `open` found the log. */
export interface RecoveryReport {
  /** Gaps this recovery left where closed segments were damaged (empty when none). */
  damaged: DamagedOffsets[];
  /** True when a clean-shutdown marker let `open` skip scanning. */
  clean: boolean;
  /** The recovery point read from its checkpoint (0 when absent). */
  recoveryPoint: number;
  /** Segments whose batches were read and checked. */
  scannedSegments: number;
  /** Bytes read and checked. */
  scannedBytes: number;
  /** What was cut, or null when nothing was. */
  truncation: RecoveryTruncation | null;
}

/** The result of an append. */
export interface AppendResult {
  /** Offset given to the first record. */
  baseOffset: number;
  /** Offset given to the last record. */
  lastOffset: number;
  /** The log's clock at the append (for LogAppendTime topics and the produce response). */
  logAppendTimeMs: number;
}

/** Options of `read`. */
export interface ReadOptions {
  /** Return the first batch whole even when it exceeds `maxBytes` (Kafka's KIP-74 rule). Default true. */
  minOneBatch?: boolean;
  /** Return only batches wholly below this offset. Default `flushedOffset`; the broker passes its high watermark. */
  upTo?: number;
  /**
   * Return a large read (from {@link DEFERRED_READ_MIN_BYTES}) as a deferred run that the response encoder reads
   * straight into the frame (protocol/wire/deferred_bytes.ts): its bytes are NOT readable from the result. Its
   * end is a batch boundary the offset index knows, so it may stop up to an index interval short of `maxBytes`.
   * Default false.
   */
  deferred?: boolean;
}

/** Reads shorter than this are made at once even when `deferred` is asked for: they cost little either way. */
export const DEFERRED_READ_MIN_BYTES = 16 * 1024;

/** The result of a read. */
export interface ReadResult {
  /** Whole batches, as stored; empty when nothing is readable at the offset. */
  records: Uint8Array;
  /** The log start offset when read. */
  logStartOffset: number;
  /** The log end offset when read. */
  logEndOffset: number;
  /** The durable end when read. */
  flushedOffset: number;
}

/** A timestamp and the offset of the batch carrying it. */
export interface TimestampAndOffset {
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** Base offset of the batch (batch granularity: records are not decoded). */
  offset: number;
}

/** Counters for metrics and tests. */
export interface LogStats {
  /** Group-commit rounds (each fdatasyncs every file written since the previous round). */
  syncRounds: number;
  /** fdatasync calls issued (files per round summed). */
  fsyncs: number;
  /** Calls of `flush` and `waitForDurable` that had to wait. */
  flushWaits: number;
}

const RECOVERY_POINT_FILE = "recovery-point-offset-checkpoint";
const LOG_START_FILE = "log-start-offset-checkpoint";
const LEADER_EPOCH_FILE = "leader-epoch-checkpoint";
const CLEAN_MARKER_FILE = ".clean-shutdown";
/** Every gap recovery ever left in this partition (JSON), for operators; removed only with the partition. */
const DAMAGED_RANGES_FILE = "damaged-ranges";
/** Write the (unsynced) recovery-point checkpoint at least this often while flushing, ms. */
const RECOVERY_POINT_INTERVAL_MS = 1000;

interface CleanMarker {
  logEndOffset: number;
  activeBaseOffset: number;
  activeSizeBytes: number;
}

interface Waiter {
  /** Resolve once `flushedOffset >= target`... */
  target: number;
  /** ...by a round numbered at least this (rounds are numbered from 1 as they start). */
  minRound: number;
  resolve: (offset: number) => void;
  reject: (e: unknown) => void;
}

/**
 * A partition's log.
 *
 * @example
 * ```ts
 * import { PartitionLog } from "./partition_log.ts";
 * const dir = await Deno.makeTempDir();
 * const log = await PartitionLog.open(`${dir}/orders-0`, { config: { "segment.bytes": 1024 * 1024 } });
 * // const { baseOffset } = log.append(batchBytes);   // one or more v2 batches
 * // await log.flush();                                 // durable (group commit)
 * // const { records } = log.read(baseOffset, 65536);   // whole batches, as stored
 * await log.close();
 * ```
 */
export class PartitionLog {
  /** How `open` found the log. */
  readonly recovery: RecoveryReport;
  /** Counters. */
  readonly stats: LogStats = { syncRounds: 0, fsyncs: 0, flushWaits: 0 };
  private segments: LogSegment[];
  private startOffset: number;
  private endOffset: number;
  private durableOffset: number;
  private readonly epochs: LeaderEpochCache;
  private epochsDirty = false;
  private readonly unsynced = new Set<LogFile>();
  private dirDirty = false;
  /** A clean-shutdown marker is on disk: it must go before the log changes (see `dropCleanMarker`). */
  private cleanMarkerPresent = false;
  private waiters: Waiter[] = [];
  private syncing: Promise<void> | null = null;
  private roundsStarted = 0;
  /** Where `flushedOffset` falls in the segment files, so reads bounded by it need no header walk to find it. */
  private durableBoundary: { offset: number; segment: LogSegment; position: number } | null = null;
  private offlineError: LogError | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private unflushedMessages = 0;
  private lastFlushMs: number;
  private recoveryPointWritten: number;
  private recoveryPointWrittenMs: number;
  // --- log compaction (log_cleaner.ts) ---
  private cleaner: LogCleaner | null = null;
  private cleaning: Promise<CompactionReport> | null = null;
  /** Held by the cleaner while it swaps segments; truncation, retention and close wait for it (see `idle`). */
  private segmentsLock: Promise<void> | null = null;
  /** The fsync round running now, if any: maintenance waits for it, not for the whole (endless under load) loop. */
  private roundInFlight: Promise<void> | null = null;
  /** Segments the cleaner replaced while an fsync round ran: closed when no round can hold their files. */
  private retiredSegments: LogSegment[] = [];

  private constructor(
    /** The partition directory. */
    readonly dir: string,
    /** The settings in force. */
    readonly config: LogConfig,
    private readonly fs: FileSystem,
    private readonly clock: Clock,
    private readonly onEvent: (event: Record<string, unknown>) => void,
    state: {
      segments: LogSegment[];
      logStartOffset: number;
      epochs: LeaderEpochCache;
      recovery: RecoveryReport;
    },
  ) {
    this.segments = state.segments;
    this.endOffset = this.active.nextOffset;
    this.durableOffset = this.endOffset;
    this.startOffset = Math.min(state.logStartOffset, this.endOffset);
    this.epochs = state.epochs;
    this.recovery = state.recovery;
    this.lastFlushMs = clock.now();
    this.recoveryPointWritten = this.endOffset;
    this.recoveryPointWrittenMs = this.lastFlushMs;
  }

  /**
   * Opens (creating if needed) the log in `dir`. After a clean stop it reads only the checkpoints and the
   * active segment's indexes; otherwise it scans from the recovery point, cuts a torn or corrupt tail, rebuilds
   * the scanned segments' indexes, and makes the result durable before returning.
   */
  static async open(dir: string, options: PartitionLogOptions = {}): Promise<PartitionLog> {
    const config = logConfig(options.config);
    const fs = options.fs ?? new DenoFileSystem();
    const clock = options.clock ?? { now: () => Date.now() };
    const onEvent = options.onEvent ?? (() => {});
    try {
      return await PartitionLog.recover(dir, config, fs, clock, onEvent);
    } catch (e) {
      throw storageError(`opening ${dir}`, e);
    }
  }

  /** Opens the log in `dir`: the clean path (marker, no scan) or recovery from the recovery point. */
  private static async recover(
    dir: string,
    config: LogConfig,
    fs: FileSystem,
    clock: Clock,
    onEvent: (event: Record<string, unknown>) => void,
  ): Promise<PartitionLog> {
    const created = fs.stat(dir) === null;
    fs.mkdir(dir);
    if (created) await fs.syncDir(parentOf(dir));
    const interrupted = await recoverInterruptedCleaning(fs, dir); // compaction: finish or drop a cut-short swap
    if (interrupted.removed.length + interrupted.swapped.length > 0) {
      onEvent({ level: "warn", event: "interrupted_clean_recovered", dir, ...interrupted });
    }
    const now = clock.now();
    const names = fs.readDir(dir);
    for (const name of names) if (name.endsWith(".tmp")) fs.remove(`${dir}/${name}`);
    const bases = names.map(parseSegmentLogName).filter((b): b is number => b !== null).sort((a, b) => a - b);
    // Index files whose .log is gone (a deletion cut short by a crash) would confuse a later segment of that base.
    const logNames = new Set(names.filter((n) => n.endsWith(".log")).map((n) => n.slice(0, -4)));
    for (const name of names) {
      const match = /^(\d{20})\.(index|timeindex)$/.exec(name);
      if (match && !logNames.has(match[1])) fs.remove(`${dir}/${name}`);
    }

    // Checkpoints are read only when the listing has them: a stat of a missing file costs an exception.
    const listed = new Set(names);
    const checkpoint = (name: string) => listed.has(name) ? readCheckpoint(fs, `${dir}/${name}`) : null;
    const markerText = checkpoint(CLEAN_MARKER_FILE);
    let marker: CleanMarker | null = null;
    if (markerText !== null) {
      try {
        marker = JSON.parse(markerText) as CleanMarker;
      } catch {
        marker = null;
      }
    }
    const recoveryPoint = decodeOffsetCheckpoint(checkpoint(RECOVERY_POINT_FILE)) ?? 0;
    const logStartCheckpoint = decodeOffsetCheckpoint(checkpoint(LOG_START_FILE)) ?? 0;
    let epochs: LeaderEpochCache;
    try {
      epochs = LeaderEpochCache.decode(checkpoint(LEADER_EPOCH_FILE) ?? "0\n0\n");
    } catch (e) {
      onEvent({ level: "warn", event: "leader_epoch_checkpoint_unreadable", dir, error: String(e) });
      epochs = new LeaderEpochCache();
    }

    const recovery: RecoveryReport = {
      damaged: [],
      clean: false,
      recoveryPoint,
      scannedSegments: 0,
      scannedBytes: 0,
      truncation: null,
    };
    const segments: LogSegment[] = [];
    for (const base of bases) {
      const size = fs.stat(`${dir}/${String(base).padStart(20, "0")}.log`)?.size ?? 0;
      segments.push(LogSegment.existing(fs, dir, base, size, now));
    }
    for (let i = 0; i + 1 < segments.length; i++) segments[i].nextOffset = segments[i + 1].baseOffset;
    if (segments.length === 0) {
      segments.push(LogSegment.create(fs, dir, logStartCheckpoint, now));
      await fs.syncDir(dir);
      recovery.clean = true;
      return new PartitionLog(dir, config, fs, clock, onEvent, {
        segments,
        logStartOffset: logStartCheckpoint,
        epochs,
        recovery,
      });
    }

    const active = segments[segments.length - 1];
    let scanFrom: number;
    if (
      marker && marker.activeBaseOffset === active.baseOffset && marker.activeSizeBytes === active.sizeBytes &&
      Number.isSafeInteger(marker.logEndOffset) && marker.logEndOffset >= active.baseOffset
    ) {
      active.nextOffset = marker.logEndOffset;
      scanFrom = active.loadIndexes() ? segments.length : segments.length - 1;
      recovery.clean = scanFrom === segments.length;
    } else if (marker && segments.some((s) => s.baseOffset === marker.activeBaseOffset)) {
      // The marker vouches for the segments before the one that was active, not for that one or later ones.
      scanFrom = segments.findIndex((s) => s.baseOffset === marker.activeBaseOffset);
    } else {
      scanFrom = 0;
      for (let i = 0; i < segments.length; i++) if (segments[i].baseOffset <= recoveryPoint) scanFrom = i;
    }

    if (scanFrom < segments.length && markerText !== null) {
      // A marker that recovery does not trust goes before recovery changes anything (rare: a power loss after a
      // clean stop, or a torn marker).
      fs.remove(`${dir}/${CLEAN_MARKER_FILE}`);
      await fs.syncDir(dir);
    }
    if (scanFrom < segments.length) {
      await PartitionLog.scanFrom(dir, fs, config, segments, scanFrom, epochs, recovery, onEvent);
    }
    const logEndOffset = segments[segments.length - 1].nextOffset;
    const logStartOffset = Math.min(Math.max(logStartCheckpoint, segments[0].baseOffset), logEndOffset);
    epochs.truncateFromEnd(logEndOffset);
    epochs.truncateFromStart(logStartOffset);
    const log = new PartitionLog(dir, config, fs, clock, onEvent, { segments, logStartOffset, epochs, recovery });
    // The marker stays until the first append or truncation (`dropCleanMarker`): removing it costs an unlink per
    // partition, most of a clean start's time at 20,000 partitions, and a log that is never written is still
    // what the marker says.
    log.cleanMarkerPresent = markerText !== null && recovery.clean;
    if (names.includes(DAMAGED_RANGES_FILE) && recovery.damaged.length === 0) {
      // Damage found by an earlier recovery: said again at every start, until an operator removes the record.
      const known = readDamagedRanges(fs, dir);
      onEvent({
        level: "warn",
        event: "log_has_damaged_ranges",
        dir,
        ranges: known.length,
        offsetsLost: known.reduce((n, d) => n + d.nextValidOffset - d.firstOffset, 0),
        message: `this partition has ${known.length} gap(s) left by damaged data (see ${DAMAGED_RANGES_FILE})`,
      });
    }
    return log;
  }

  /**
   * Recovery proper: checks the batches of `segments` from index `first` on and makes the result durable.
   * A bad batch in the active (last) segment cuts it there (a torn or corrupt tail). A bad batch in a closed
   * segment is contained: only the damaged bytes are removed (kept in `<base>.damaged`), the valid batches after
   * them and the later segments stay with their offsets, the gap is recorded in `damaged-ranges` and reported.
   * Only what lies past the recovery point is fsynced, so an idle partition costs reads and no fsync.
   */
  private static async scanFrom(
    dir: string,
    fs: FileSystem,
    config: LogConfig,
    segments: LogSegment[],
    first: number,
    epochs: LeaderEpochCache,
    recovery: RecoveryReport,
    onEvent: (event: Record<string, unknown>) => void,
  ): Promise<void> {
    const interval = config["index.interval.bytes"];
    const recoveryPoint = recovery.recoveryPoint;
    const epochsBefore = epochs.encode();
    epochs.truncateFromEnd(segments[first].baseOffset);
    let minOffset = segments[first].baseOffset;
    let dirChanged = false;
    const compacted = hasCleanupPolicy(config["cleanup.policy"], "compact");
    const damage: DamagedOffsets[] = [];
    for (let i = first; i < segments.length; i++) {
      const segment = segments[i];
      const closed = i + 1 < segments.length;
      const result = segment.scan(minOffset, interval, (b) => epochs.assign(b.leaderEpoch, b.baseOffset), true, {
        crcFrom: recoveryPoint,
        containDamage: closed,
      });
      recovery.scannedSegments++;
      recovery.scannedBytes += result.validBytes;
      if (result.damaged.length > 0) {
        const found = result.damaged.map((d) => ({
          segmentBaseOffset: segment.baseOffset,
          position: d.position,
          bytes: d.size,
          firstOffset: d.firstOffset,
          nextValidOffset: d.nextValidOffset >= 0 ? d.nextValidOffset : segments[i + 1].baseOffset,
          reason: d.reason,
        }));
        damage.push(...found);
        // Recorded durably before the bytes go, so a crash in between still leaves the damage on record.
        const known = readDamagedRanges(fs, dir);
        await writeCheckpoint(fs, `${dir}/${DAMAGED_RANGES_FILE}`, JSON.stringify([...known, ...found]), true);
        await segment.removeDamage(result.damaged);
        dirChanged = true;
        const rescan = segment.scan(minOffset, interval, () => {}, true, { crcFrom: recoveryPoint });
        if (rescan.stop) throw new LogError("corrupt", `segment ${segment.baseOffset} of ${dir} still damaged`);
      }
      if (result.stop) {
        const later = segments.splice(i + 1);
        recovery.truncation = {
          segmentBaseOffset: segment.baseOffset,
          position: result.validBytes,
          bytesCut: result.fileBytes - result.validBytes,
          segmentsDeleted: later.map((s) => s.baseOffset),
          segmentsDeletedBytes: later.reduce((n, s) => n + s.sizeBytes, 0),
          firstOffsetCut: result.nextOffset,
          reason: result.stop,
        };
        for (const s of later) s.delete();
        dirChanged = true;
        break;
      }
      minOffset = result.nextOffset;
      // A gap before the next segment is a tail the disk lost while the next segment's data reached it (a roll,
      // then power loss before the round that syncs both): what follows the gap was never durable. Only
      // compaction leaves gaps legitimately, and damage contained up to the segment's end (recorded above).
      const gap = i + 1 < segments.length && segments[i + 1].baseOffset > minOffset && !compacted &&
        !result.damaged.some((d) => d.nextValidOffset < 0);
      if (i + 1 < segments.length && (segments[i + 1].baseOffset < minOffset || gap)) {
        // The next segment overlaps this one, or follows a lost tail: treat it like a corrupt tail.
        const later = segments.splice(i + 1);
        recovery.truncation = {
          segmentBaseOffset: later[0].baseOffset,
          position: 0,
          bytesCut: 0,
          segmentsDeleted: later.map((s) => s.baseOffset),
          segmentsDeletedBytes: later.reduce((n, s) => n + s.sizeBytes, 0),
          firstOffsetCut: minOffset,
          reason: "bad_offset",
        };
        for (const s of later) s.delete();
        dirChanged = true;
        break;
      }
      if (i + 1 < segments.length) segment.nextOffset = segments[i + 1].baseOffset;
    }
    recovery.damaged = damage;
    const end = segments[segments.length - 1].nextOffset;
    // What was scanned is now the truth: what lies past the recovery point is made durable before anything is
    // appended after it. Below the recovery point everything was fsynced already (and an idle partition has
    // nothing past it), so most partitions cost no fsync at all.
    const toSync: LogFile[] = [];
    for (let i = first; i < segments.length; i++) {
      const segment = segments[i];
      const closed = i + 1 < segments.length;
      if (closed) segment.sealTimeIndex();
      if (segment.nextOffset > recoveryPoint || recovery.truncation) {
        toSync.push(segment.log());
        if (closed) toSync.push(...segment.takeDirtyIndexFiles());
      }
    }
    await Promise.all(toSync.map((f) => f.syncData()));
    if (dirChanged) await fs.syncDir(dir);
    // A lower recovery point must be durable (a higher stale one would vouch for bytes written after it).
    if (end !== recoveryPoint) {
      await writeCheckpoint(fs, `${dir}/${RECOVERY_POINT_FILE}`, encodeOffsetCheckpoint(end), end < recoveryPoint);
    }
    const epochText = epochs.encode();
    if (epochText !== epochsBefore) await writeCheckpoint(fs, `${dir}/${LEADER_EPOCH_FILE}`, epochText, true);
    onEvent({
      level: recovery.truncation ? "warn" : "info",
      event: "log_recovered",
      dir,
      clean: false,
      recoveryPoint,
      scannedSegments: recovery.scannedSegments,
      scannedBytes: recovery.scannedBytes,
      truncation: recovery.truncation,
    });
    for (const d of damage) {
      onEvent({
        level: "error",
        event: "log_damage_contained",
        dir,
        ...d,
        message: `offsets ${d.firstOffset}..${d.nextValidOffset - 1} of segment ${d.segmentBaseOffset} were ` +
          `damaged (${d.reason}, ${d.bytes} bytes at ${d.position}, kept in ` +
          `${segmentFileName(d.segmentBaseOffset, "log").slice(0, -4)}.damaged); they are skipped, the rest is served`,
      });
    }
  }

  /** The first offset still in the log. */
  get logStartOffset(): number {
    return this.startOffset;
  }

  /** The offset the next appended record gets. */
  get logEndOffset(): number {
    return this.endOffset;
  }

  /** Everything below this offset is on stable storage. */
  get flushedOffset(): number {
    return this.durableOffset;
  }

  /**
   * Every gap recovery has left in this log where a closed segment was damaged, oldest first (from the
   * partition's `damaged-ranges` file): what an operator should know was lost. Empty for a healthy log.
   */
  damagedRanges(): DamagedOffsets[] {
    return readDamagedRanges(this.fs, this.dir);
  }

  /** True after a write or fsync failure: appends are refused, durable data stays readable. */
  get isOffline(): boolean {
    return this.offlineError !== null;
  }

  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** Bytes in all segment `.log` files. */
  sizeInBytes(): number {
    return this.segments.reduce((n, s) => n + s.sizeBytes, 0);
  }

  /** The segment appends go to (always the last). */
  private get active(): LogSegment {
    return this.segments[this.segments.length - 1];
  }

  /**
   * Removes the clean-shutdown marker before the first change to the log. Its removal becomes durable with the
   * next fsync round (which syncs the directory), before the change is acknowledged. Should a power loss bring
   * it back all the same, it cannot be trusted wrongly: it names the active segment and its size, which the
   * change altered, and a marker that does not match makes recovery scan from the segment it names.
   */
  private dropCleanMarker(): void {
    if (!this.cleanMarkerPresent) return;
    this.fs.remove(this.path(CLEAN_MARKER_FILE));
    this.cleanMarkerPresent = false;
    this.dirDirty = true;
  }

  /** Throws LogError `storage` when the log is closed or offline. */
  private checkWritable(): void {
    if (this.closed) throw new LogError("storage", `log ${this.dir} is closed`);
    if (this.offlineError) {
      throw new LogError("storage", `log ${this.dir} is offline: ${this.offlineError.message}`, {
        cause: this.offlineError,
      });
    }
  }

  /** Takes the log offline after a write or fsync failure, failing every waiter; returns the error to throw. */
  private goOffline(what: string, cause: unknown): LogError {
    const error = storageError(`${what} in ${this.dir}`, cause);
    if (!this.offlineError) {
      this.offlineError = error;
      this.onEvent({ level: "error", event: "log_offline", dir: this.dir, error: error.message });
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
    return error;
  }

  /**
   * Appends `batches` (one or more complete v2 batches, already validated by the caller) with one write.
   * Stamps each batch's base offset in place — and its partition leader epoch when `leaderEpoch` is given —
   * without recomputing the CRC (neither field is covered by it). Rolls the segment first when
   * `segment.bytes` or `segment.ms` says so. Returns at once; `flush` makes the data durable.
   *
   * Throws LogError `record_too_large` when the batches exceed `segment.bytes`, `corrupt` when the bytes do not
   * parse as whole v2 batches, `storage` when the log is offline or the write fails (the log then goes offline).
   */
  append(batches: Uint8Array, options: { leaderEpoch?: number } = {}): AppendResult {
    this.checkWritable();
    if (batches.length > this.config["segment.bytes"]) {
      throw new LogError(
        "record_too_large",
        `${batches.length} bytes exceed segment.bytes ${this.config["segment.bytes"]}`,
      );
    }
    const infos = this.stampBatches(batches, options.leaderEpoch);
    try {
      this.dropCleanMarker();
    } catch (e) {
      throw this.goOffline("removing the clean-shutdown marker", e);
    }
    const baseOffset = this.endOffset;
    const lastOffset = infos[infos.length - 1].lastOffset;
    const now = this.clock.now();
    const active = this.active;
    if (
      active.sizeBytes > 0 &&
      (active.sizeBytes + batches.length > this.config["segment.bytes"] ||
        now - active.createdMs >= this.config["segment.ms"] ||
        lastOffset - active.baseOffset > 0x7fffffff)
    ) {
      this.roll(now);
    }
    const segment = this.active;
    try {
      segment.append(batches, infos, this.config["index.interval.bytes"]);
    } catch (e) {
      throw this.goOffline("append", e);
    }
    this.endOffset = lastOffset + 1;
    this.unsynced.add(segment.log());
    for (const b of infos) if (this.epochs.assign(b.leaderEpoch, b.baseOffset)) this.epochsDirty = true;
    this.unflushedMessages += lastOffset - baseOffset + 1;
    if (
      this.unflushedMessages >= this.config["flush.messages"] || now - this.lastFlushMs >= this.config["flush.ms"]
    ) {
      this.flush().catch(() => {}); // a failure takes the log offline; the next append reports it
    }
    return { baseOffset, lastOffset, logAppendTimeMs: now };
  }

  /** Walks the batches of an append, stamping offsets (and the epoch); throws `corrupt` if they do not parse. */
  private stampBatches(bytes: Uint8Array, leaderEpoch: number | undefined): BatchInfo[] {
    const infos: BatchInfo[] = [];
    let next = this.endOffset;
    let pos = 0;
    if (bytes.length === 0) throw new LogError("corrupt", "append of zero bytes");
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    while (pos < bytes.length) {
      if (bytes.length - pos < BATCH_HEADER_SIZE) throw new LogError("corrupt", `partial batch header at byte ${pos}`);
      // Only the fields the log needs, read straight from the header (no full decode on the hot path).
      const size = view.getInt32(pos + BatchOffsets.batchLength) + BATCH_LENGTH_PREFIX;
      const magic = view.getInt8(pos + BatchOffsets.magic);
      const lastOffsetDelta = view.getInt32(pos + BatchOffsets.lastOffsetDelta);
      if (magic !== 2) throw new LogError("corrupt", `batch at byte ${pos} has magic ${magic}`);
      if (size < BATCH_HEADER_SIZE || pos + size > bytes.length || lastOffsetDelta < 0) {
        throw new LogError("corrupt", `batch at byte ${pos} has an impossible length or offset delta`);
      }
      stampBaseOffset(bytes, BigInt(next), pos);
      let epoch = view.getInt32(pos + BatchOffsets.partitionLeaderEpoch);
      if (leaderEpoch !== undefined) {
        stampPartitionLeaderEpoch(bytes, leaderEpoch, pos);
        epoch = leaderEpoch;
      }
      infos.push({
        baseOffset: next,
        lastOffset: next + lastOffsetDelta,
        maxTimestamp: Number(view.getBigInt64(pos + BatchOffsets.maxTimestamp)),
        leaderEpoch: epoch,
        position: pos,
        size,
      });
      next += lastOffsetDelta + 1;
      pos += size;
    }
    return infos;
  }

  /** Seals the active segment (its indexes join the next fsync round) and starts a new one at the log end. */
  private roll(now: number): void {
    const old = this.active;
    try {
      old.sealTimeIndex();
      for (const f of old.takeDirtyIndexFiles()) this.unsynced.add(f);
      this.unsynced.add(old.log());
      this.segments.push(LogSegment.create(this.fs, this.dir, this.endOffset, now));
      this.dirDirty = true;
    } catch (e) {
      throw this.goOffline("segment roll", e);
    }
  }

  /**
   * Makes everything appended so far durable; resolves with the durable offset. Group commit: if an fsync is
   * running, the caller waits for the next one, which covers everything appended meanwhile.
   */
  flush(): Promise<number> {
    return this.waitForDurable(this.endOffset);
  }

  /**
   * Resolves (with `flushedOffset`) once every record below `endOffset` is durable, starting an fsync if none
   * is running. Rejects with LogError `storage` if the fsync fails (the log then goes offline).
   */
  waitForDurable(endOffset: number): Promise<number> {
    if (endOffset <= this.durableOffset) return Promise.resolve(this.durableOffset);
    if (this.offlineError) return Promise.reject(this.offlineErrorForCaller());
    if (this.closed) return Promise.reject(new LogError("storage", `log ${this.dir} is closed`));
    if (endOffset > this.endOffset) {
      return Promise.reject(
        new LogError("invalid_argument", `cannot wait for ${endOffset} beyond the log end ${this.endOffset}`),
      );
    }
    this.stats.flushWaits++;
    return this.enqueue(endOffset, 0);
  }

  /** Waits for an fsync round that starts after this call (to make a truncation or index rewrite durable). */
  private syncEverything(): Promise<number> {
    if (this.offlineError) return Promise.reject(this.offlineErrorForCaller());
    return this.enqueue(0, this.roundsStarted + 1);
  }

  /** Adds a waiter and starts the fsync rounds if none is running. */
  private enqueue(target: number, minRound: number): Promise<number> {
    const promise = new Promise<number>((resolve, reject) => this.waiters.push({ target, minRound, resolve, reject }));
    this.syncing ??= this.runSyncRounds();
    return promise;
  }

  /** A fresh `storage` error for a caller of an offline log. */
  private offlineErrorForCaller(): LogError {
    return new LogError("storage", `log ${this.dir} is offline: ${this.offlineError!.message}`, {
      cause: this.offlineError,
    });
  }

  /**
   * Runs fsync rounds, one at a time, while callers wait for data that is not durable yet. Serial rounds keep
   * `flushedOffset` honest: a round only claims what was appended before it started.
   */
  private async runSyncRounds(): Promise<void> {
    try {
      while (this.waiters.length > 0 && !this.offlineError) {
        // Yield a few microtasks first, so that callers woken by the previous round (or flushing in the same
        // tick) append their next batches before this round snapshots the log end: they join this fsync
        // instead of waiting for the next one. A microtask costs ~30 ns; a timer would cost ~2 ms.
        for (let i = 0; i < 4; i++) await Promise.resolve();
        const round = ++this.roundsStarted;
        this.roundInFlight = this.syncRound();
        await this.roundInFlight;
        this.roundInFlight = null;
        const durable = this.durableOffset;
        const still: Waiter[] = [];
        for (const w of this.waiters) {
          if (w.target <= durable && w.minRound <= round) w.resolve(durable);
          else still.push(w);
        }
        this.waiters = still;
      }
    } finally {
      this.syncing = null;
    }
  }

  /** One fsync round: every file written since the last round, the directory if segments were created. */
  private async syncRound(): Promise<void> {
    for (const s of this.retiredSegments.splice(0)) s.close(); // the previous round, if any, is over
    const covered = this.endOffset;
    const boundary = { offset: covered, segment: this.active, position: this.active.sizeBytes };
    const files = [...this.unsynced];
    this.unsynced.clear();
    const dirDirty = this.dirDirty;
    this.dirDirty = false;
    const epochText = this.epochsDirty ? this.epochs.encode() : null;
    this.epochsDirty = false;
    try {
      await Promise.all(files.map((f) => f.syncData()));
      if (dirDirty) await this.fs.syncDir(this.dir);
      if (epochText !== null) await writeCheckpoint(this.fs, this.path(LEADER_EPOCH_FILE), epochText, true);
    } catch (e) {
      this.goOffline("fsync", e);
      return;
    }
    this.stats.syncRounds++;
    this.stats.fsyncs += files.length;
    if (covered > this.durableOffset) this.durableOffset = Math.min(covered, this.endOffset);
    if (this.durableOffset === covered) this.durableBoundary = boundary;
    this.unflushedMessages = 0;
    const now = this.clock.now();
    this.lastFlushMs = now;
    // The recovery point need not be exact: an older one only means more scanning after a crash. Write it
    // (without fsync) when the durable end reaches a new segment, or once a second.
    if (
      this.durableOffset > this.recoveryPointWritten &&
      (this.segmentIndexFor(this.durableOffset) !== this.segmentIndexFor(this.recoveryPointWritten) ||
        now - this.recoveryPointWrittenMs >= RECOVERY_POINT_INTERVAL_MS)
    ) {
      try {
        writeCheckpointSync(this.fs, this.path(RECOVERY_POINT_FILE), encodeOffsetCheckpoint(this.durableOffset));
        this.recoveryPointWritten = this.durableOffset;
        this.recoveryPointWrittenMs = now;
      } catch (e) {
        this.goOffline("recovery-point checkpoint", e);
      }
    }
  }

  /**
   * Writes the recovery-point checkpoint when it lags the durable end; the flush rounds write it at most once a
   * second, so a partition that went idle right after a round would otherwise keep an old one, and its next
   * unclean open would scan (and fsync) what was long durable. The broker calls this now and then.
   */
  checkpointRecoveryPoint(): void {
    if (this.closed || this.offlineError || this.roundInFlight || this.durableOffset <= this.recoveryPointWritten) {
      return;
    }
    try {
      writeCheckpointSync(this.fs, this.path(RECOVERY_POINT_FILE), encodeOffsetCheckpoint(this.durableOffset));
      this.recoveryPointWritten = this.durableOffset;
      this.recoveryPointWrittenMs = this.clock.now();
    } catch (e) {
      this.goOffline("recovery-point checkpoint", e);
    }
  }

  /**
   * Waits until no fsync round is running (truncation and deletion must not close files under one) and the
   * cleaner holds no segment lock.
   */
  private async idle(): Promise<void> {
    while (this.syncing || this.segmentsLock) await (this.syncing ?? this.segmentsLock);
  }

  /**
   * Waits until no fsync round is in flight and the cleaner holds no segment lock. Unlike `idle`, it does not
   * wait for the group-commit loop to run dry, which under steady produce load it never does: retention and
   * DeleteRecords only need the files they delete not to be under an fsync.
   */
  private async betweenRounds(): Promise<void> {
    while (this.roundInFlight || this.segmentsLock) await (this.roundInFlight ?? this.segmentsLock);
  }

  /** Path of a file in the partition directory. */
  private path(name: string): string {
    return `${this.dir}/${name}`;
  }

  /** Index of the segment holding `offset` (the last whose base offset is <= it), or -1. */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid].baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Loads a segment's indexes, rebuilding them from its batches when the files are missing or implausible. */
  private ensureIndexes(segment: LogSegment): void {
    if (segment.indexesLoaded) return;
    if (segment.loadIndexes()) return;
    this.onEvent({ level: "warn", event: "index_rebuild", dir: this.dir, segment: segment.baseOffset });
    segment.scan(segment.baseOffset, this.config["index.interval.bytes"], () => {}, segment === this.active);
    for (const f of segment.takeDirtyIndexFiles()) this.unsynced.add(f);
    this.dirDirty = true;
  }

  /**
   * Reads whole batches, as stored, from the one holding `offset`: up to `maxBytes`, but at least one batch
   * when `minOneBatch` (the default). Batches end before `upTo` (default: the durable end). A read never spans
   * two segments; the caller reads again from the next offset. Throws LogError `offset_out_of_range` when
   * `offset` is outside [logStartOffset, logEndOffset].
   */
  read(offset: number, maxBytes: number, options: ReadOptions = {}): ReadResult {
    if (offset < this.startOffset || offset > this.endOffset) {
      throw new LogError(
        "offset_out_of_range",
        `offset ${offset} outside [${this.startOffset}, ${this.endOffset}] in ${this.dir}`,
      );
    }
    const result: ReadResult = {
      records: new Uint8Array(0),
      logStartOffset: this.startOffset,
      logEndOffset: this.endOffset,
      flushedOffset: this.durableOffset,
    };
    const limit = Math.min(options.upTo ?? this.durableOffset, this.endOffset);
    const minOneBatch = options.minOneBatch ?? true;
    try {
      for (let i = Math.max(this.segmentIndexFor(offset), 0); i < this.segments.length; i++) {
        const segment = this.segments[i];
        if (offset >= limit || segment.baseOffset >= limit) break;
        this.ensureIndexes(segment);
        const boundary = this.durableBoundary;
        const endPosition = limit >= segment.nextOffset
          ? segment.sizeBytes
          : boundary && boundary.offset === limit && boundary.segment === segment
          ? boundary.position
          : segment.findBatch(limit)?.position ?? segment.sizeBytes;
        const first = segment.findBatch(offset, endPosition);
        if (!first) continue;
        if (first.size > maxBytes) {
          if (minOneBatch) result.records = segment.read(first.position, first.size);
          return result;
        }
        if (options.deferred) {
          // The end must be a batch boundary known without reading: the read's end, or the last indexed batch
          // start that fits in maxBytes.
          const end = endPosition - first.position <= maxBytes
            ? endPosition
            : segment.indexedBatchStartAtMost(first.position + maxBytes);
          const length = end - first.position;
          if (length >= DEFERRED_READ_MIN_BYTES && length <= MAX_DEFERRED_BYTES) {
            result.records = segment.readDeferred(first.position, length);
            return result;
          }
        }
        const bytes = segment.read(first.position, Math.min(maxBytes, endPosition - first.position));
        result.records = bytes.subarray(0, wholeBatchesLength(bytes));
        return result;
      }
    } catch (e) {
      if (e instanceof LogError) throw e;
      throw storageError(`read at ${offset}`, e);
    }
    return result;
  }

  /**
   * The first batch whose max timestamp is `>= timestamp` (ListOffsets by time), found through the time
   * indexes; null when every batch is older. The offset is the batch's base offset (or the log start offset
   * when that lies inside the batch): records are not decoded.
   */
  offsetForTimestamp(timestamp: number): TimestampAndOffset | null {
    for (const segment of this.segments) {
      if (segment.nextOffset <= this.startOffset && segment !== this.active) continue;
      this.ensureIndexes(segment);
      if (segment.maxTimestamp < timestamp) continue;
      const batch = segment.findTimestamp(timestamp, this.startOffset);
      if (batch) return { timestamp: batch.maxTimestamp, offset: Math.max(batch.baseOffset, this.startOffset) };
    }
    return null;
  }

  /** The largest batch timestamp in the log and the base offset of the first batch carrying it, or null. */
  maxTimestamp(): TimestampAndOffset | null {
    let best: TimestampAndOffset | null = null;
    for (const segment of this.segments) {
      this.ensureIndexes(segment);
      if (segment.maxTimestamp >= 0 && (!best || segment.maxTimestamp > best.timestamp)) {
        best = { timestamp: segment.maxTimestamp, offset: Math.max(segment.offsetOfMaxTimestamp, this.startOffset) };
      }
    }
    return best;
  }

  /** The leader epoch of the batch holding `offset`, or -1 when unknown. */
  epochForOffset(offset: number): number {
    return this.epochs.epochForOffset(offset);
  }

  /** Where `epoch` ended (OffsetsForLeaderEpoch); `{ -1, -1 }` when it precedes every known epoch. */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.epochs.endOffsetForEpoch(epoch, this.endOffset);
  }

  /** The latest leader epoch and its start offset, or undefined. */
  latestEpoch(): { epoch: number; startOffset: number } | undefined {
    return this.epochs.latest();
  }

  /**
   * Removes every batch at and after the one holding `offset` (Raft's conflicting suffix; at a batch boundary
   * when `offset` is a batch's base offset). Below the log start it empties the log and restarts it at
   * `offset`. The cut is durable when the promise resolves; waiters for the removed offsets are rejected.
   */
  truncateTo(offset: number): Promise<void> {
    return this.cut(offset, false);
  }

  /**
   * Empties the log and restarts it at `offset`, whatever it held (Kafka's `truncateFullyAndStartAt`): a
   * follower behind its leader's log start continues from there. Durable when the promise resolves.
   */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    return this.cut(offset, true);
  }

  private async cut(offset: number, fully: boolean): Promise<void> {
    this.checkWritable();
    await this.idle();
    if (!fully && offset >= this.endOffset) return;
    try {
      this.dropCleanMarker();
      const i = this.segmentIndexFor(offset);
      if (fully || offset < this.startOffset || i < 0) {
        this.resetTo(offset);
      } else {
        for (const s of this.segments.splice(i + 1)) this.deleteSegment(s);
        const segment = this.segments[i];
        this.ensureIndexes(segment);
        this.endOffset = segment.truncateTo(offset, this.config["index.interval.bytes"]);
        segment.createdMs = this.clock.now();
        for (const f of [segment.log(), ...segment.takeDirtyIndexFiles()]) this.unsynced.add(f);
        if (this.endOffset < this.startOffset) {
          // The cut fell inside the batch holding the log start: the log is now empty from its new end.
          this.startOffset = this.endOffset;
          writeCheckpointSync(this.fs, this.path(LOG_START_FILE), encodeOffsetCheckpoint(this.startOffset));
        }
      }
      // An emptied log holds nothing that could be lost: everything below its new start counts as durable.
      this.durableOffset = fully ? this.endOffset : Math.min(this.durableOffset, this.endOffset);
      this.durableBoundary = null;
      this.epochs.truncateFromEnd(this.endOffset);
      this.epochsDirty = true;
      this.dirDirty = true;
      const removed = this.waiters.filter((w) => w.target > this.endOffset);
      this.waiters = this.waiters.filter((w) => w.target <= this.endOffset);
      for (const w of removed) {
        w.reject(new LogError("offset_out_of_range", `offsets up to ${w.target} were truncated`));
      }
      await this.syncEverything();
      await writeCheckpoint(this.fs, this.path(RECOVERY_POINT_FILE), encodeOffsetCheckpoint(this.durableOffset), true);
      this.recoveryPointWritten = this.durableOffset;
      await this.fs.syncDir(this.dir);
    } catch (e) {
      throw this.goOffline("truncate", e);
    }
  }

  /** Deletes every segment and starts an empty one at `offset`. */
  private resetTo(offset: number): void {
    for (const s of this.segments.splice(0)) this.deleteSegment(s);
    // Nothing of the old log stays, so neither do its epochs (a later, older epoch must still be recorded).
    this.epochs.clear();
    this.segments.push(LogSegment.create(this.fs, this.dir, offset, this.clock.now()));
    this.endOffset = offset;
    this.startOffset = offset;
    writeCheckpointSync(this.fs, this.path(LOG_START_FILE), encodeOffsetCheckpoint(offset));
  }

  /** Forgets a segment's pending fsyncs and removes its files. */
  private deleteSegment(segment: LogSegment): void {
    for (const f of [...this.unsynced]) {
      if (f.path.startsWith(segment.path("log").slice(0, -4))) this.unsynced.delete(f);
    }
    segment.delete();
  }

  /**
   * Advances the log start offset to `offset` (DeleteRecords) and deletes the segments wholly below it.
   * Resolves with the new log start offset once it is durable. Throws `offset_out_of_range` beyond the end.
   */
  async deleteRecordsBefore(offset: number): Promise<number> {
    this.checkWritable();
    if (offset > this.endOffset) {
      throw new LogError("offset_out_of_range", `cannot delete before ${offset}: log end is ${this.endOffset}`);
    }
    await this.betweenRounds();
    if (offset <= this.startOffset) return this.startOffset;
    this.startOffset = offset;
    try {
      await this.persistLogStart();
      await this.betweenRounds();
      this.deleteSegmentsBelowStart();
    } catch (e) {
      throw this.goOffline("delete records", e);
    }
    return this.startOffset;
  }

  /** Makes the log start offset (and the epoch cache trimmed to it) durable. */
  private async persistLogStart(): Promise<void> {
    if (this.epochs.truncateFromStart(this.startOffset)) {
      await writeCheckpoint(this.fs, this.path(LEADER_EPOCH_FILE), this.epochs.encode(), true);
    }
    await writeCheckpoint(this.fs, this.path(LOG_START_FILE), encodeOffsetCheckpoint(this.startOffset), true);
  }

  /** Deletes the old segments wholly below the log start offset (never the active one). */
  private deleteSegmentsBelowStart(): void {
    while (this.segments.length > 1 && this.segments[1].baseOffset <= this.startOffset) {
      this.deleteSegment(this.segments.shift()!);
    }
  }

  /**
   * Applies `retention.ms` and `retention.bytes` (see `retention.ts`): deletes whole old segments, never the
   * active one, and advances the log start offset past them. Returns what was deleted.
   */
  async applyRetention(): Promise<RetentionDecision[]> {
    this.checkWritable();
    await this.betweenRounds();
    let decisions: RetentionDecision[];
    try {
      const metas = this.segments.map((s, i) => {
        this.ensureIndexes(s);
        return {
          baseOffset: s.baseOffset,
          nextOffset: i + 1 < this.segments.length ? this.segments[i + 1].baseOffset : this.endOffset,
          sizeBytes: s.sizeBytes,
          largestTimestampMs: s.maxTimestamp >= 0 ? s.maxTimestamp : s.mtimeMs(),
        };
      });
      // Time and size retention apply only to `delete` topics; a `compact`-only one keeps its segments.
      const limits = hasCleanupPolicy(this.config["cleanup.policy"], "delete")
        ? this.config
        : { "retention.ms": -1, "retention.bytes": -1 };
      decisions = segmentsToDelete(metas, this.clock.now(), this.startOffset, limits);
      if (decisions.length === 0) return decisions;
      const newStart = this.segments[decisions.length].baseOffset;
      if (newStart > this.startOffset) {
        this.startOffset = newStart;
        await this.persistLogStart();
      }
      await this.betweenRounds();
      this.deleteSegmentsBelowStart();
    } catch (e) {
      throw this.goOffline("retention", e);
    }
    this.onEvent({
      level: "info",
      event: "retention",
      dir: this.dir,
      deleted: decisions,
      logStartOffset: this.startOffset,
    });
    return decisions;
  }

  // --- log compaction (log_cleaner.ts) ---

  /**
   * Cleans the log (`cleanup.policy` with `compact`): keeps the latest record of each key in the segments below
   * the active one and below `options.upTo` (the high watermark; default the durable end), and removes
   * tombstones `delete.retention.ms` after their first clean. Runs in the background: appends and reads go on;
   * a second call while one runs gets the same result. Rejects with LogError `storage` (the log goes offline
   * only when a swap fails past its commit point) or `corrupt` (a batch that does not decode).
   */
  compact(options: CompactOptions = {}): Promise<CompactionReport> {
    try {
      this.checkWritable();
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.closing) return Promise.reject(new LogError("storage", `log ${this.dir} is closing`));
    this.cleaner ??= new LogCleaner(this.cleanerHost());
    return this.cleaning ??= this.cleaner.clean(options).finally(() => {
      this.cleaning = null;
    });
  }

  /** The cleaner's view of this log. */
  private cleanerHost(): CleanerHost {
    return {
      dir: this.dir,
      fs: this.fs,
      config: this.config,
      now: () => this.clock.now(),
      segments: () => this.segments,
      logStartOffset: () => this.startOffset,
      flushedOffset: () => this.durableOffset,
      ensureIndexes: (segment) => this.ensureIndexes(segment),
      stopped: () => this.closing !== null || this.closed || this.offlineError !== null,
      lockSegments: () => {
        let release!: () => void;
        const lock = new Promise<void>((resolve) => release = resolve);
        const previous = this.segmentsLock;
        if (previous) throw new LogError("invalid_argument", "segment lock taken twice");
        this.segmentsLock = lock;
        return () => {
          if (this.segmentsLock === lock) this.segmentsLock = null;
          release();
        };
      },
      replaceSegments: (group, replacement) => {
        const at = this.segments.indexOf(group[0]);
        for (const segment of group) {
          for (const f of [...this.unsynced]) {
            if (f.path.startsWith(segment.path("log").slice(0, -4))) this.unsynced.delete(f);
          }
          if (this.syncing) this.retiredSegments.push(segment); // a running round may be fsyncing its files
          else segment.close();
        }
        replacement.nextOffset = this.segments[at + group.length].baseOffset;
        this.segments.splice(at, group.length, replacement);
        this.durableBoundary = null;
      },
      fail: (what, cause) => this.goOffline(what, cause),
      onEvent: (event) => this.onEvent(event),
    };
  }

  /**
   * Flushes, seals the indexes, and writes the clean-shutdown marker so the next `open` skips scanning; then
   * closes the files. An offline log is closed without the marker (the next open recovers it).
   */
  close(): Promise<void> {
    return this.closing ??= this.closeOnce();
  }

  /** The body of `close`, run once however many callers close the log. */
  private async closeOnce(): Promise<void> {
    await this.cleaning?.catch(() => {}); // the cleaner sees `closing` and stops at its next pause
    await this.idle();
    this.closed = true;
    try {
      if (!this.offlineError) {
        const active = this.active;
        active.sealTimeIndex();
        for (const f of active.takeDirtyIndexFiles()) this.unsynced.add(f);
        await this.syncEverything();
        if (this.cleanMarkerPresent) {
          // Opened clean and never appended to or truncated: the recovery point and the marker on disk are still
          // true, and rewriting them (a rename over each, ~1 ms apiece here) is most of a clean stop's time.
          return;
        }
        writeCheckpointSync(this.fs, this.path(RECOVERY_POINT_FILE), encodeOffsetCheckpoint(this.durableOffset));
        if (this.epochsDirty) await writeCheckpoint(this.fs, this.path(LEADER_EPOCH_FILE), this.epochs.encode(), true);
        const marker: CleanMarker = {
          logEndOffset: this.endOffset,
          activeBaseOffset: active.baseOffset,
          activeSizeBytes: active.sizeBytes,
        };
        // No fsync: a marker lost to a crash only costs a recovery scan, and a torn one fails to parse.
        writeCheckpointSync(this.fs, this.path(CLEAN_MARKER_FILE), JSON.stringify(marker));
      }
    } catch (e) {
      throw this.goOffline("close", e);
    } finally {
      for (const s of [...this.segments, ...this.retiredSegments.splice(0)]) s.close();
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.reject(new LogError("storage", `log ${this.dir} closed`));
    }
  }
}

/** The gaps recorded in a partition's `damaged-ranges` file (empty when there is none or it does not parse). */
function readDamagedRanges(fs: FileSystem, dir: string): DamagedOffsets[] {
  const text = readCheckpoint(fs, `${dir}/${DAMAGED_RANGES_FILE}`);
  if (text === null) return [];
  try {
    const parsed = JSON.parse(text);
    return Array.isArray(parsed) ? parsed as DamagedOffsets[] : [];
  } catch {
    return [];
  }
}

/** The directory holding `path`. */
function parentOf(path: string): string {
  const slash = path.replace(/\/+$/, "").lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
}

/** Length of the whole batches at the start of `bytes`. */
function wholeBatchesLength(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos + 12 <= bytes.length) {
    const size = view.getInt32(pos + BatchOffsets.batchLength) + 12;
    if (size < BATCH_HEADER_SIZE || pos + size > bytes.length) break;
    pos += size;
  }
  return pos;
}
