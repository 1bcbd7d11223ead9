/**
 * One segment of a partition log: the `.log` file of batches and its `.index` and `.timeindex`, named by the
 * segment's base offset in 20 digits as Kafka names them (`00000000000000000000.log`).
 *
 * A segment appends batches as bytes and reads only their 61-byte headers: to index them, to find the batch
 * holding an offset, and to validate them during recovery. Files are opened lazily, so opening a partition
 * with many old segments opens (and reads) none of them until a fetch or a retention check needs one.
 *
 * Offsets and positions are `number`; the int64 `baseOffset` of a batch header is converted here.
 *
 * @module
 */
import {
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_PREFIX,
  BatchOffsets,
  isBatchCrcValid,
  readBatchHeader,
} from "../protocol/record_batch_header.ts";
import type { FileSystem, LogFile } from "./file_system.ts";
import { deferredBytes } from "../protocol/wire/deferred_bytes.ts";
import { LogError } from "./log_error.ts";
import { OFFSET_INDEX_ENTRY_SIZE, OffsetIndex } from "./offset_index.ts";
import { TIME_INDEX_ENTRY_SIZE, TimeIndex } from "./time_index.ts";

/** The file kinds of a segment. */
export type SegmentFileKind = "log" | "index" | "timeindex";

/**
 * The file name of a segment file: the base offset in 20 digits, then the extension.
 *
 * @example
 * ```ts
 * import { segmentFileName } from "./segment.ts";
 * segmentFileName(42, "log"); // "00000000000000000042.log"
 * ```
 */
export function segmentFileName(baseOffset: number, kind: SegmentFileKind): string {
  return `${String(baseOffset).padStart(20, "0")}.${kind}`;
}

/** The base offset of a segment `.log` file name, or null for any other name. */
export function parseSegmentLogName(name: string): number | null {
  const match = /^(\d{20})\.log$/.exec(name);
  if (!match) return null;
  const value = Number(match[1]);
  return Number.isSafeInteger(value) ? value : null;
}

/** What a segment remembers of one batch it appends or scans. */
export interface BatchInfo {
  /** Absolute base offset. */
  baseOffset: number;
  /** Absolute last offset (base + lastOffsetDelta). */
  lastOffset: number;
  /** The batch's max timestamp (ms). */
  maxTimestamp: number;
  /** The partition leader epoch stamped in the batch. */
  leaderEpoch: number;
  /** Byte position of the batch (in the appended buffer, or in the segment for scans and lookups). */
  position: number;
  /** Size of the whole batch in bytes. */
  size: number;
}

/** Why a recovery scan stopped before the end of a segment. */
export type ScanStop = "truncated_header" | "bad_length" | "truncated_batch" | "bad_magic" | "bad_crc" | "bad_offset";

/**
 * Bytes of a closed segment that recovery found damaged (a batch failing its checks) and left out, keeping the
 * valid batches after them: the log then has a gap of offsets there, as a compacted log has.
 */
export interface DamagedRange {
  /** Byte position of the damage in the segment as it was found. */
  position: number;
  /** Bytes left out: up to the next valid batch, or to the end of the segment. */
  size: number;
  /** The first offset the damaged bytes may have held (the offset after the last valid batch before them). */
  firstOffset: number;
  /** The base offset of the next valid batch of the segment, or -1 when none follows in it. */
  nextValidOffset: number;
  /** What was wrong at `position`. */
  reason: ScanStop;
}

/** How `scan` treats the batches it reads. */
export interface ScanOptions {
  /**
   * Batches whose last offset is below this were fsynced before (below the recovery point): their headers are
   * checked but not their CRC-32C. Default 0 (check every batch).
   */
  crcFrom?: number;
  /**
   * A closed segment: a bad batch does not end the scan; the scan looks for the next valid batch (whole, magic 2,
   * CRC-32C correct, offsets increasing) and reports the bytes in between in `damaged`; only a torn end (a short
   * or zeroed last batch with nothing valid after it) still stops the scan. Default false: the scan stops at the
   * first bad batch (a torn or corrupt tail).
   */
  containDamage?: boolean;
}

/** The result of scanning a segment. */
export interface ScanResult {
  /** Damaged ranges skipped (`containDamage` scans only), in file order. */
  damaged: DamagedRange[];
  /** Bytes of valid batches from the segment start. */
  validBytes: number;
  /** Size of the file before any truncation. */
  fileBytes: number;
  /** The offset after the last valid batch. */
  nextOffset: number;
  /** Valid batches seen. */
  batches: number;
  /** Why the scan stopped early, if it did. */
  stop?: ScanStop;
}

const HEADER_READ = BATCH_HEADER_SIZE;

/** Why a scan stops where a write was lost (a short file, or zeros where a length should be), not damaged. */
const TORN_WRITE: ReadonlySet<ScanStop> = new Set(["truncated_header", "truncated_batch", "bad_length"]);

/** Reads a file through a chunk buffer so walking many small batch headers costs few system calls. */
class ChunkReader {
  private buf: Uint8Array;
  private start = 0;
  private length = 0;

  constructor(private readonly file: LogFile, private readonly chunkBytes: number) {
    this.buf = new Uint8Array(chunkBytes);
  }

  /** The bytes [pos, pos+n) (a view into the buffer, valid until the next call), or null past end of file. */
  bytes(pos: number, n: number): Uint8Array | null {
    if (pos < this.start || pos + n > this.start + this.length) {
      const want = Math.max(n, this.chunkBytes);
      if (this.buf.length < want) this.buf = new Uint8Array(want);
      this.start = pos;
      this.length = this.file.readAt(this.buf.subarray(0, want), pos);
    }
    if (pos + n > this.start + this.length) return null;
    return this.buf.subarray(pos - this.start, pos - this.start + n);
  }
}

function headerInfo(bytes: Uint8Array, position: number): BatchInfo {
  const h = readBatchHeader(bytes, 0);
  const baseOffset = Number(h.baseOffset);
  return {
    baseOffset,
    lastOffset: baseOffset + h.lastOffsetDelta,
    maxTimestamp: Number(h.maxTimestamp),
    leaderEpoch: h.partitionLeaderEpoch,
    position,
    size: h.batchLength + BATCH_LENGTH_PREFIX,
  };
}

/**
 * A segment of a partition log.
 *
 * @example
 * ```ts
 * import { DenoFileSystem } from "./file_system.ts";
 * import { LogSegment } from "./segment.ts";
 * const dir = await Deno.makeTempDir();
 * const segment = LogSegment.create(new DenoFileSystem(), dir, 0, Date.now());
 * segment.sizeBytes; // 0
 * segment.close();
 * ```
 */
export class LogSegment {
  /** Bytes in the `.log` file. */
  sizeBytes: number;
  /** The offset after the last batch (for an old segment, the next segment's base offset). */
  nextOffset: number;
  /** When the segment was created, or when the log was opened (ms, from the log's clock); drives `segment.ms`. */
  createdMs: number;
  /** Largest batch max timestamp appended or indexed, -1 when none is known yet. */
  maxTimestamp: number = -1;
  /** Base offset of the first batch that reached `maxTimestamp`. */
  offsetOfMaxTimestamp: number = -1;
  /** Bytes appended since the last offset-index entry. */
  private bytesSinceIndexEntry = 0;
  private logHandle: LogFile | null = null;
  private indexHandle: LogFile | null = null;
  private timeIndexHandle: LogFile | null = null;
  private offsetIndex: OffsetIndex | null = null;
  private indexDirty = false;
  private timeIndexDirty = false;
  /** Index entries not yet written to their files (see `writePendingIndexes`). */
  private pendingIndex: Uint8Array[] = [];
  private pendingTimeIndex: Uint8Array[] = [];
  private timeIndex: TimeIndex | null = null;
  /** The index files hold entries of a replaced index: truncate them before writing the pending entries. */
  private indexFilesStale = false;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    /** First offset of the segment. */
    readonly baseOffset: number,
    sizeBytes: number,
    createdMs: number,
  ) {
    this.sizeBytes = sizeBytes;
    this.nextOffset = baseOffset;
    this.createdMs = createdMs;
  }

  /** Creates a new, empty segment (its three files included). */
  static create(fs: FileSystem, dir: string, baseOffset: number, nowMs: number): LogSegment {
    const segment = new LogSegment(fs, dir, baseOffset, 0, nowMs);
    for (const kind of ["index", "timeindex"] as const) fs.remove(segment.path(kind));
    segment.logHandle = fs.open(segment.path("log"), { create: true });
    if (segment.logHandle.size() !== 0) segment.logHandle.truncate(0);
    // The index files exist from the start (empty); their entries are written when the segment stops being
    // active or the log closes, so an active segment holds one descriptor, not three.
    for (const kind of ["index", "timeindex"] as const) fs.open(segment.path(kind), { create: true }).close();
    segment.offsetIndex = new OffsetIndex(baseOffset);
    segment.timeIndex = new TimeIndex(baseOffset);
    return segment;
  }

  /** A segment already on disk, of `sizeBytes`; nothing is opened or read yet. */
  static existing(fs: FileSystem, dir: string, baseOffset: number, sizeBytes: number, nowMs: number): LogSegment {
    return new LogSegment(fs, dir, baseOffset, sizeBytes, nowMs);
  }

  /** Path of one of the segment's files. */
  path(kind: SegmentFileKind): string {
    return `${this.dir}/${segmentFileName(this.baseOffset, kind)}`;
  }

  /** The `.log` file, opened on first use. */
  log(): LogFile {
    return this.logHandle ??= this.fs.open(this.path("log"), { create: false });
  }

  /**
   * The index files written since the last call, to fsync. Indexes are fsynced only when their segment stops
   * being active, at close, and after a rebuild: a crash before that is covered by recovery, which rebuilds the
   * indexes of every segment it scans.
   */
  takeDirtyIndexFiles(): LogFile[] {
    this.writePendingIndexes();
    const files: LogFile[] = [];
    if (this.indexDirty && this.indexHandle) files.push(this.indexHandle);
    if (this.timeIndexDirty && this.timeIndexHandle) files.push(this.timeIndexHandle);
    this.indexDirty = this.timeIndexDirty = false;
    return files;
  }

  /** The `.index` file, opened (created) on first use. */
  private indexFile(): LogFile {
    return this.indexHandle ??= this.fs.open(this.path("index"), { create: true });
  }

  /** The `.timeindex` file, opened (created) on first use. */
  private timeIndexFile(): LogFile {
    return this.timeIndexHandle ??= this.fs.open(this.path("timeindex"), { create: true });
  }

  /** Keeps encoded offset-index entries for the file; they are written by `writePendingIndexes`. */
  private appendIndex(bytes: Uint8Array): void {
    this.pendingIndex.push(bytes);
    this.indexDirty = true;
  }

  /** Keeps encoded time-index entries for the file; they are written by `writePendingIndexes`. */
  private appendTimeIndex(bytes: Uint8Array): void {
    this.pendingTimeIndex.push(bytes);
    this.timeIndexDirty = true;
  }

  /**
   * Writes the index entries kept in memory to their files. Until then the in-memory indexes serve every
   * lookup; the files are only read at the next open, and after a crash recovery rebuilds them anyway.
   */
  private writePendingIndexes(): void {
    if (this.indexFilesStale) {
      // A rebuild replaced the whole index: the files start over (their entries are all pending).
      this.indexFile().truncate(0);
      this.timeIndexFile().truncate(0);
      this.indexFilesStale = false;
    }
    if (this.pendingIndex.length > 0) {
      this.indexFile().append(concat(this.pendingIndex));
      this.pendingIndex = [];
    }
    if (this.pendingTimeIndex.length > 0) {
      this.timeIndexFile().append(concat(this.pendingTimeIndex));
      this.pendingTimeIndex = [];
    }
  }

  /**
   * Loads both indexes from their files when not in memory yet. Returns false when a file is missing or its
   * content is implausible for this segment (the caller then rebuilds the segment with `scan`).
   */
  loadIndexes(): boolean {
    if (this.offsetIndex && this.timeIndex) return true;
    const offsetBytes = this.readWhole("index");
    const timeBytes = this.readWhole("timeindex");
    if (offsetBytes === null || timeBytes === null) return false;
    const offsetIndex = OffsetIndex.decode(this.baseOffset, offsetBytes);
    const timeIndex = TimeIndex.decode(this.baseOffset, timeBytes);
    const end = Math.max(this.nextOffset, this.baseOffset + 1);
    if (!offsetIndex.isSaneFor(this.sizeBytes, end) || !timeIndex.isSaneFor(end)) return false;
    if (offsetBytes.length % 8 !== 0 || timeBytes.length % 12 !== 0) return false;
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    const lastTime = timeIndex.last();
    if (lastTime && lastTime.timestamp > this.maxTimestamp) {
      this.maxTimestamp = lastTime.timestamp;
      this.offsetOfMaxTimestamp = lastTime.offset;
    }
    const lastEntry = offsetIndex.last();
    this.bytesSinceIndexEntry = this.sizeBytes - (lastEntry ? lastEntry.position : 0);
    return true;
  }

  /** The whole content of an index file, or null when it is missing or reads short. */
  private readWhole(kind: SegmentFileKind): Uint8Array | null {
    const info = this.fs.stat(this.path(kind));
    if (!info) return null;
    // Read through a descriptor of its own, closed at once: an idle partition keeps no index file open.
    const open = kind === "index" ? this.indexHandle : this.timeIndexHandle;
    const file = open ?? this.fs.open(this.path(kind), { create: false });
    try {
      const bytes = new Uint8Array(info.size);
      const n = file.readAt(bytes, 0);
      return n === bytes.length ? bytes : null;
    } finally {
      if (!open) file.close();
    }
  }

  /** True once the in-memory indexes exist (loaded or built). */
  get indexesLoaded(): boolean {
    return this.offsetIndex !== null && this.timeIndex !== null;
  }

  /**
   * Appends `bytes` (the batches described by `batches`, positions relative to `bytes`) with one write, then
   * the index entries they earn with one write per index file.
   */
  append(bytes: Uint8Array, batches: readonly BatchInfo[], indexIntervalBytes: number): void {
    const start = this.sizeBytes;
    this.log().append(bytes);
    this.sizeBytes += bytes.length;
    this.nextOffset = batches[batches.length - 1].lastOffset + 1;
    const offsetEntries: Uint8Array[] = [];
    const timeEntries: Uint8Array[] = [];
    for (const b of batches) this.indexBatch(b, start + b.position, indexIntervalBytes, offsetEntries, timeEntries);
    if (offsetEntries.length > 0) this.appendIndex(concat(offsetEntries));
    if (timeEntries.length > 0) this.appendTimeIndex(concat(timeEntries));
  }

  /** Kafka's rule: a batch gets an index entry once more than `index.interval.bytes` came since the last. */
  private indexBatch(
    b: BatchInfo,
    position: number,
    indexIntervalBytes: number,
    offsetEntries: Uint8Array[],
    timeEntries: Uint8Array[],
  ): void {
    const offsetIndex = this.offsetIndex!;
    const timeIndex = this.timeIndex!;
    if (b.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = b.maxTimestamp;
      this.offsetOfMaxTimestamp = b.baseOffset;
    }
    if (this.bytesSinceIndexEntry > indexIntervalBytes) {
      offsetEntries.push(offsetIndex.append(b.baseOffset, position));
      const t = timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      if (t) timeEntries.push(t);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += b.size;
  }

  /**
   * Seals the time index when the segment stops being active: a last entry with the segment's largest
   * timestamp, so retention and ListOffsets read it from the index alone after a restart.
   */
  sealTimeIndex(): void {
    if (!this.timeIndex || this.maxTimestamp < 0) return;
    const t = this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
    if (t) this.appendTimeIndex(t);
  }

  /**
   * The first batch whose last offset is `>= offset`, found from the offset index and a walk of headers;
   * null when the segment has none before byte `endPosition`.
   */
  findBatch(offset: number, endPosition = this.sizeBytes): BatchInfo | null {
    const start = this.offsetIndex ? this.offsetIndex.lookup(offset).position : 0;
    return this.walk(start, endPosition, (b) => b.lastOffset >= offset);
  }

  /** The first batch whose max timestamp is `>= timestamp` and whose last offset is `>= minOffset`, or null. */
  findTimestamp(timestamp: number, minOffset = 0): BatchInfo | null {
    let start = 0;
    const entry = this.timeIndex?.lookup(timestamp);
    if (entry && this.offsetIndex) start = this.offsetIndex.lookup(entry.offset).position;
    return this.walk(start, this.sizeBytes, (b) => b.maxTimestamp >= timestamp && b.lastOffset >= minOffset);
  }

  /** Walks batch headers from `position` until `stop` accepts one; null at `endPosition`. */
  private walk(position: number, endPosition: number, stop: (b: BatchInfo) => boolean): BatchInfo | null {
    const reader = new ChunkReader(this.log(), 8192);
    let pos = position;
    while (pos + HEADER_READ <= endPosition) {
      const header = reader.bytes(pos, HEADER_READ);
      if (!header) return null;
      const info = headerInfo(header, pos);
      if (info.size < BATCH_HEADER_SIZE) return null;
      if (pos + info.size > endPosition) return null;
      if (stop(info)) return info;
      pos += info.size;
    }
    return null;
  }

  /**
   * The start of the last indexed batch at or before byte `position` (a whole-batch boundary found without
   * reading the file), or -1 when no indexed batch starts there. Needs the indexes loaded.
   */
  indexedBatchStartAtMost(position: number): number {
    return this.offsetIndex ? this.offsetIndex.lastPositionAtMost(position) : -1;
  }

  /**
   * `length` bytes at `position` of the `.log` file as a deferred run (protocol/wire/deferred_bytes.ts): read
   * straight into the response frame when it is assembled, moments later. The range must be durable batches,
   * which never change; the file handle is taken now, so a roll does not matter, and a segment deleted in between
   * makes the read fail rather than return other bytes.
   */
  readDeferred(position: number, length: number): Uint8Array {
    const file = this.log();
    return deferredBytes(length, (dest) => {
      const n = file.readAt(dest, position);
      if (n !== length) {
        throw new LogError("storage", `short read of ${file.path}: ${n} of ${length} bytes at ${position}`);
      }
    });
  }

  /** Reads `length` bytes at `position` of the `.log` file. */
  read(position: number, length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    const n = this.log().readAt(bytes, position);
    return n === length ? bytes : bytes.subarray(0, n);
  }

  /**
   * Recovery: validates every batch from the start (length sane, complete, magic 2, CRC-32C, offsets
   * increasing from `minOffset`), cuts the file after the last valid one, and rebuilds both indexes (in memory;
   * their files are rewritten with the next `takeDirtyIndexFiles`, at the latest when the segment stops being
   * active or closes). `onBatch` sees each valid batch (the log rebuilds its leader-epoch cache from them). With
   * `repair` false the file is left as it is (rebuilding the indexes of an old, flushed segment must not cut it).
   * With `options.containDamage`, bad batches are skipped and reported instead (see `removeDamage`).
   */
  scan(
    minOffset: number,
    indexIntervalBytes: number,
    onBatch: (b: BatchInfo) => void,
    repair = true,
    options: ScanOptions = {},
  ): ScanResult {
    const file = this.log();
    const fileBytes = file.size();
    // A chunk no larger than the file: most partitions are small, and a 1 MiB buffer each would dominate.
    const reader = new ChunkReader(file, Math.max(HEADER_READ, Math.min(1024 * 1024, fileBytes)));
    const crcFrom = options.crcFrom ?? 0;
    this.offsetIndex = new OffsetIndex(this.baseOffset);
    this.timeIndex = new TimeIndex(this.baseOffset);
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.bytesSinceIndexEntry = 0;
    const offsetEntries: Uint8Array[] = [];
    const timeEntries: Uint8Array[] = [];
    const damaged: DamagedRange[] = [];
    let pos = 0;
    let next = Math.max(minOffset, this.baseOffset);
    let batches = 0;
    let stop: ScanStop | undefined;
    while (pos < fileBytes) {
      let checked = this.checkBatch(reader, pos, next, crcFrom, fileBytes);
      if (typeof checked === "string") {
        if (!options.containDamage) {
          stop = checked;
          break;
        }
        const reason = checked;
        const from = pos;
        // Look for the next whole valid batch after the damage; its CRC makes a false match ~2^-32 unlikely.
        checked = "truncated_header";
        for (pos = from + 1; pos + HEADER_READ <= fileBytes; pos++) {
          if (reader.bytes(pos, HEADER_READ)![BatchOffsets.magic] !== 2) continue; // most bytes fail this cheaply
          checked = this.checkBatch(reader, pos, next, -1, fileBytes);
          if (typeof checked !== "string") break;
        }
        if (typeof checked === "string" && TORN_WRITE.has(reason)) {
          // Nothing valid after a short or zeroed end: the shape a write lost to a crash leaves. That is a tail,
          // so it is cut, as in the active segment.
          pos = from;
          stop = reason;
          break;
        }
        if (typeof checked === "string") pos = fileBytes;
        damaged.push({
          position: from,
          size: pos - from,
          firstOffset: next,
          nextValidOffset: typeof checked === "string" ? -1 : checked.baseOffset,
          reason,
        });
        if (typeof checked === "string") break;
      }
      const info = checked;
      this.indexBatch(info, pos, indexIntervalBytes, offsetEntries, timeEntries);
      onBatch(info);
      next = info.lastOffset + 1;
      pos += info.size;
      batches++;
    }
    if (repair) {
      if (pos < fileBytes) file.truncate(pos);
      this.sizeBytes = pos;
    }
    if (repair) this.nextOffset = batches > 0 ? next : this.baseOffset;
    this.rewriteIndexes();
    return { damaged, validBytes: pos, fileBytes, nextOffset: this.nextOffset, batches, stop };
  }

  /**
   * The batch at `pos` of a file of `fileBytes` if it passes recovery's checks, else why not. Its CRC-32C is
   * checked when the batch ends at or after `crcFrom`: below it (the recovery point) batches were fsynced
   * before, and recovery only walks their headers, as Kafka does.
   */
  private checkBatch(
    reader: ChunkReader,
    pos: number,
    next: number,
    crcFrom: number,
    fileBytes: number,
  ): BatchInfo | ScanStop {
    const header = reader.bytes(pos, HEADER_READ);
    if (!header) return "truncated_header";
    const info = headerInfo(header, pos);
    if (info.size < BATCH_HEADER_SIZE || info.size > 0x7fffffff) return "bad_length";
    if (header[BatchOffsets.magic] !== 2) return "bad_magic";
    if (
      info.baseOffset < next || info.lastOffset < info.baseOffset || info.lastOffset - this.baseOffset > 0x7fffffff
    ) {
      return "bad_offset";
    }
    if (pos + info.size > fileBytes) return "truncated_batch";
    if (info.lastOffset < crcFrom) return info;
    const whole = reader.bytes(pos, info.size);
    if (!whole) return "truncated_batch";
    if (!isBatchCrcValid(whole, 0)) return "bad_crc";
    return info;
  }

  /**
   * Removes the damaged ranges `scan` found from the `.log` file: the valid batches are copied to a new file
   * that replaces the old one by rename (a crash before the rename leaves the old file, and recovery finds the
   * damage again), and the damaged bytes are kept in `<base>.damaged` for inspection. Offsets do not change;
   * the log has a gap where the damage was. The caller fsyncs the directory and rescans the segment.
   */
  async removeDamage(damaged: readonly DamagedRange[]): Promise<void> {
    const logPath = this.path("log");
    const repairedPath = `${logPath}.repaired.tmp`; // `.tmp` files are removed by the next open
    const damagedPath = `${this.dir}/${String(this.baseOffset).padStart(20, "0")}.damaged`;
    const source = this.log();
    this.fs.remove(repairedPath);
    const out = this.fs.open(repairedPath, { create: true });
    const kept = this.fs.open(damagedPath, { create: true });
    try {
      let from = 0;
      for (const range of [...damaged, { position: this.sizeBytes, size: 0 }]) {
        copyRange(source, out, from, range.position - from);
        copyRange(source, kept, range.position, range.size);
        from = range.position + range.size;
      }
      await Promise.all([out.syncData(), kept.syncData()]);
      this.sizeBytes = out.size();
    } finally {
      out.close();
      kept.close();
    }
    source.close();
    this.logHandle = null;
    this.fs.rename(repairedPath, logPath);
  }

  /**
   * Makes the in-memory indexes replace their files, at the next `writePendingIndexes`: recovery of a partition
   * then touches no index file of its active segment (those are written when it stops being active or closes).
   */
  private rewriteIndexes(): void {
    this.pendingIndex = [];
    this.pendingTimeIndex = [];
    const offsetBytes = this.offsetIndex!.encode();
    if (offsetBytes.length > 0) this.pendingIndex.push(offsetBytes);
    const timeBytes = this.timeIndex!.encode();
    if (timeBytes.length > 0) this.pendingTimeIndex.push(timeBytes);
    this.indexFilesStale = true;
    this.indexDirty = this.timeIndexDirty = true;
  }

  /**
   * Removes the batches at and after the one holding `offset`; returns the new end offset (the base offset of
   * that batch, or the segment's end when no batch holds it). The indexes lose their entries for the removed
   * batches, and the largest timestamp is recomputed from the last kept time-index entry plus a walk of the
   * headers after the last kept offset-index entry (at most about `index.interval.bytes`).
   */
  truncateTo(offset: number, indexIntervalBytes: number): number {
    if (!this.loadIndexes()) this.scan(this.baseOffset, indexIntervalBytes, () => {});
    const batch = this.findBatch(offset);
    if (!batch) return this.nextOffset;
    const newEnd = batch.baseOffset;
    this.log().truncate(batch.position);
    this.sizeBytes = batch.position;
    this.nextOffset = newEnd;
    const offsetIndex = this.offsetIndex!;
    const timeIndex = this.timeIndex!;
    this.writePendingIndexes();
    offsetIndex.truncateTo(newEnd);
    timeIndex.truncateTo(newEnd);
    this.indexFile().truncate(offsetIndex.entries * OFFSET_INDEX_ENTRY_SIZE);
    this.timeIndexFile().truncate(timeIndex.entries * TIME_INDEX_ENTRY_SIZE);
    this.indexDirty = this.timeIndexDirty = true;
    // Every kept batch before the last kept offset entry has a max timestamp <= the last kept time entry
    // (time entries are written with offset entries, whenever the running maximum grew).
    const lastTime = timeIndex.last();
    this.maxTimestamp = lastTime ? lastTime.timestamp : -1;
    this.offsetOfMaxTimestamp = lastTime ? lastTime.offset : -1;
    const lastEntry = offsetIndex.last();
    const from = lastEntry ? lastEntry.position : 0;
    this.walk(from, this.sizeBytes, (b) => {
      if (b.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = b.maxTimestamp;
        this.offsetOfMaxTimestamp = b.baseOffset;
      }
      return false;
    });
    this.bytesSinceIndexEntry = this.sizeBytes - from;
    return newEnd;
  }

  /** Closes the open files. */
  close(): void {
    try {
      this.writePendingIndexes();
    } catch {
      // The indexes are rebuilt from the log when their files fall short.
    }
    for (const file of [this.logHandle, this.indexHandle, this.timeIndexHandle]) file?.close();
    this.logHandle = this.indexHandle = this.timeIndexHandle = null;
  }

  /** Closes and removes the segment's files. */
  delete(): void {
    this.close();
    for (const kind of ["log", "index", "timeindex"] as const) this.fs.remove(this.path(kind));
  }

  /** Modification time of the `.log` file (ms), for retention when no timestamp is known. */
  mtimeMs(): number {
    return this.fs.stat(this.path("log"))?.mtimeMs ?? 0;
  }
}

/** Copies `length` bytes at `position` of `from` to the end of `to`, 1 MiB at a time. */
function copyRange(from: LogFile, to: LogFile, position: number, length: number): void {
  const chunk = new Uint8Array(Math.min(length, 1024 * 1024));
  for (let done = 0; done < length;) {
    const n = from.readAt(chunk.subarray(0, Math.min(chunk.length, length - done)), position + done);
    if (n === 0) throw new LogError("storage", `short read of ${from.path} at ${position + done}`);
    to.append(chunk.subarray(0, n));
    done += n;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
