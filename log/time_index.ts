/**
 * The sparse time index of one segment, in memory, with its on-disk encoding (no I/O here).
 *
 * As in Kafka's `.timeindex`, each entry is 12 bytes: a timestamp (int64, ms) and an offset relative to the
 * segment's base (int32). Timestamps strictly increase across entries: an entry `(T, o)` says that the batch
 * starting at `o` is the first of the segment whose max timestamp reaches `T`, so every batch before `o` has
 * a max timestamp below `T`. To find the first batch whose max timestamp is `>= ts`, start at the entry
 * returned by `lookup(ts)` (or the segment start) and walk batch headers forward.
 *
 * @module
 */
import { lastAtMost } from "./binary_search.ts";

/** Bytes per entry on disk. */
export const TIME_INDEX_ENTRY_SIZE = 12;

/** A timestamp and the absolute offset of the batch that first reached it. */
export interface TimestampOffset {
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** Absolute offset of the batch. */
  offset: number;
}

/**
 * The sparse timestamp → offset map of one segment.
 *
 * @example
 * ```ts
 * import { TimeIndex } from "./time_index.ts";
 * const index = new TimeIndex(0);
 * index.append(1_000, 0);
 * index.append(2_000, 40);
 * index.lookup(1_500); // { timestamp: 1000, offset: 0 }: start walking there
 * index.lookup(500); // null: start walking at the segment start
 * ```
 */
export class TimeIndex {
  private timestamps: Float64Array;
  private relOffsets: Float64Array;
  private count = 0;

  /** An empty index of the segment starting at `baseOffset`. */
  constructor(readonly baseOffset: number, capacity = 16) {
    this.timestamps = new Float64Array(Math.max(capacity, 1));
    this.relOffsets = new Float64Array(Math.max(capacity, 1));
  }

  /** Decodes a time index file's bytes; a trailing partial entry is ignored. */
  static decode(baseOffset: number, bytes: Uint8Array): TimeIndex {
    const n = Math.floor(bytes.length / TIME_INDEX_ENTRY_SIZE);
    const index = new TimeIndex(baseOffset, n);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) {
      index.timestamps[i] = Number(view.getBigInt64(i * TIME_INDEX_ENTRY_SIZE));
      index.relOffsets[i] = view.getInt32(i * TIME_INDEX_ENTRY_SIZE + 8);
    }
    index.count = n;
    return index;
  }

  /** Number of entries. */
  get entries(): number {
    return this.count;
  }

  /** The last entry (the segment's largest indexed timestamp), or null. */
  last(): TimestampOffset | null {
    if (this.count === 0) return null;
    return { timestamp: this.timestamps[this.count - 1], offset: this.baseOffset + this.relOffsets[this.count - 1] };
  }

  /** Entry `i` (0-based). */
  entry(i: number): TimestampOffset {
    return { timestamp: this.timestamps[i], offset: this.baseOffset + this.relOffsets[i] };
  }

  /**
   * Adds `(timestamp, offset)` when `timestamp` exceeds the last entry's; returns the 12 encoded bytes, or
   * null when the entry adds nothing.
   */
  maybeAppend(timestamp: number, offset: number): Uint8Array | null {
    const last = this.last();
    if (last && timestamp <= last.timestamp) return null;
    const rel = offset - this.baseOffset;
    if (rel < 0 || rel > 0x7fffffff || (last && offset < last.offset)) {
      throw new RangeError(`time index entry (${timestamp}, ${offset}) out of range for base ${this.baseOffset}`);
    }
    if (this.count === this.timestamps.length) this.grow();
    this.timestamps[this.count] = timestamp;
    this.relOffsets[this.count] = rel;
    this.count++;
    const bytes = new Uint8Array(TIME_INDEX_ENTRY_SIZE);
    const view = new DataView(bytes.buffer);
    view.setBigInt64(0, BigInt(timestamp));
    view.setInt32(8, rel);
    return bytes;
  }

  /** The last entry whose timestamp is `<= timestamp`, or null when none is. */
  lookup(timestamp: number): TimestampOffset | null {
    const i = lastAtMost(this.timestamps, this.count, timestamp);
    return i < 0 ? null : this.entry(i);
  }

  /** Drops the entries for batches starting at or after `offset`; returns the entries kept. */
  truncateTo(offset: number): number {
    const rel = offset - this.baseOffset;
    let n = this.count;
    while (n > 0 && this.relOffsets[n - 1] >= rel) n--;
    this.count = n;
    return n;
  }

  /** The whole index, encoded as its file. */
  encode(): Uint8Array {
    const bytes = new Uint8Array(this.count * TIME_INDEX_ENTRY_SIZE);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < this.count; i++) {
      view.setBigInt64(i * TIME_INDEX_ENTRY_SIZE, BigInt(this.timestamps[i]));
      view.setInt32(i * TIME_INDEX_ENTRY_SIZE + 8, this.relOffsets[i]);
    }
    return bytes;
  }

  /** True when timestamps strictly increase, offsets never decrease, and every offset is below `endOffset`. */
  isSaneFor(endOffset: number): boolean {
    for (let i = 0; i < this.count; i++) {
      if (this.relOffsets[i] < 0 || this.baseOffset + this.relOffsets[i] >= endOffset) return false;
      if (i > 0 && (this.timestamps[i] <= this.timestamps[i - 1] || this.relOffsets[i] < this.relOffsets[i - 1])) {
        return false;
      }
    }
    return true;
  }

  /** Doubles the capacity. */
  private grow(): void {
    const timestamps = new Float64Array(this.timestamps.length * 2);
    timestamps.set(this.timestamps);
    const relOffsets = new Float64Array(this.relOffsets.length * 2);
    relOffsets.set(this.relOffsets);
    this.timestamps = timestamps;
    this.relOffsets = relOffsets;
  }
}
