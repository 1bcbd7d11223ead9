/**
 * The sparse offset index of one segment, in memory, with its on-disk encoding (no I/O here).
 *
 * As in Kafka's `.index` file, each entry is 8 bytes: the offset relative to the segment's base offset
 * (int32) and the byte position of a batch in the segment's `.log` file (int32). An entry is added for a
 * batch when at least `index.interval.bytes` were appended since the previous entry, so a lookup lands at
 * most that many bytes before the wanted batch and the reader walks batch headers from there. Unlike Kafka,
 * which indexes a batch by its last offset, an entry here names the batch's *base* offset, so "the entry
 * at or before offset X" is always a batch that starts at or before X.
 *
 * Offsets are `number` (exact to 2^53); the int64 of Kafka's wire format is converted at the batch header.
 *
 * @module
 */
import { lastAtMost } from "./binary_search.ts";

/** Bytes per entry on disk. */
export const OFFSET_INDEX_ENTRY_SIZE = 8;

/** A batch start found through the index: its (absolute) base offset and its position in the segment. */
export interface OffsetPosition {
  /** Absolute offset. */
  offset: number;
  /** Byte position in the segment's log file. */
  position: number;
}

/**
 * The sparse offset → position map of one segment.
 *
 * @example
 * ```ts
 * import { OffsetIndex } from "./offset_index.ts";
 * const index = new OffsetIndex(100);
 * index.append(150, 4096);
 * index.append(190, 8200);
 * index.lookup(170); // { offset: 150, position: 4096 }
 * index.lookup(120); // { offset: 100, position: 0 }: before the first entry, the segment's start
 * ```
 */
export class OffsetIndex {
  private relOffsets: Float64Array;
  private positions: Float64Array;
  private count = 0;

  /** An empty index of the segment starting at `baseOffset`. */
  constructor(readonly baseOffset: number, capacity = 16) {
    this.relOffsets = new Float64Array(Math.max(capacity, 1));
    this.positions = new Float64Array(Math.max(capacity, 1));
  }

  /** Decodes an index file's bytes; a trailing partial entry is ignored. */
  static decode(baseOffset: number, bytes: Uint8Array): OffsetIndex {
    const n = Math.floor(bytes.length / OFFSET_INDEX_ENTRY_SIZE);
    const index = new OffsetIndex(baseOffset, n);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) {
      index.relOffsets[i] = view.getInt32(i * OFFSET_INDEX_ENTRY_SIZE);
      index.positions[i] = view.getInt32(i * OFFSET_INDEX_ENTRY_SIZE + 4);
    }
    index.count = n;
    return index;
  }

  /** Number of entries. */
  get entries(): number {
    return this.count;
  }

  /** The last entry, or null for an empty index. */
  last(): OffsetPosition | null {
    if (this.count === 0) return null;
    return { offset: this.baseOffset + this.relOffsets[this.count - 1], position: this.positions[this.count - 1] };
  }

  /** Entry `i` (0-based). */
  entry(i: number): OffsetPosition {
    return { offset: this.baseOffset + this.relOffsets[i], position: this.positions[i] };
  }

  /**
   * Adds an entry for the batch starting at `offset`, at byte `position`. Both must be greater than the
   * last entry's; returns the 8 encoded bytes for the file.
   */
  append(offset: number, position: number): Uint8Array {
    const rel = offset - this.baseOffset;
    if (rel < 0 || rel > 0x7fffffff || position > 0x7fffffff) {
      throw new RangeError(`index entry (${offset}, ${position}) out of range for base ${this.baseOffset}`);
    }
    const last = this.last();
    if (last && (offset <= last.offset || position <= last.position)) {
      throw new RangeError(`index entry (${offset}, ${position}) not after (${last.offset}, ${last.position})`);
    }
    if (this.count === this.relOffsets.length) this.grow();
    this.relOffsets[this.count] = rel;
    this.positions[this.count] = position;
    this.count++;
    const bytes = new Uint8Array(OFFSET_INDEX_ENTRY_SIZE);
    const view = new DataView(bytes.buffer);
    view.setInt32(0, rel);
    view.setInt32(4, position);
    return bytes;
  }

  /** The last entry at or before `offset`, or the segment start (base offset, position 0) when none is. */
  lookup(offset: number): OffsetPosition {
    const i = lastAtMost(this.relOffsets, this.count, offset - this.baseOffset);
    return i < 0 ? { offset: this.baseOffset, position: 0 } : this.entry(i);
  }

  /** The position of the last indexed batch that starts at or before byte `position`, or -1 when none does. */
  lastPositionAtMost(position: number): number {
    const i = lastAtMost(this.positions, this.count, position);
    return i < 0 ? -1 : this.positions[i];
  }

  /** Drops the entries for batches starting at or after `offset`; returns the entries kept. */
  truncateTo(offset: number): number {
    const i = lastAtMost(this.relOffsets, this.count, offset - this.baseOffset - 1);
    this.count = i + 1;
    return this.count;
  }

  /** The whole index, encoded as its file. */
  encode(): Uint8Array {
    const bytes = new Uint8Array(this.count * OFFSET_INDEX_ENTRY_SIZE);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < this.count; i++) {
      view.setInt32(i * OFFSET_INDEX_ENTRY_SIZE, this.relOffsets[i]);
      view.setInt32(i * OFFSET_INDEX_ENTRY_SIZE + 4, this.positions[i]);
    }
    return bytes;
  }

  /**
   * True when the entries are plausible for a log of `logSize` bytes ending before `endOffset`: strictly
   * increasing offsets and positions, every position inside the log, every offset below the end.
   */
  isSaneFor(logSize: number, endOffset: number): boolean {
    for (let i = 0; i < this.count; i++) {
      if (this.relOffsets[i] < 0 || this.positions[i] < 0 || this.positions[i] >= logSize) return false;
      if (this.baseOffset + this.relOffsets[i] >= endOffset) return false;
      if (i > 0 && (this.relOffsets[i] <= this.relOffsets[i - 1] || this.positions[i] <= this.positions[i - 1])) {
        return false;
      }
    }
    return true;
  }

  /** Doubles the capacity. */
  private grow(): void {
    const relOffsets = new Float64Array(this.relOffsets.length * 2);
    relOffsets.set(this.relOffsets);
    const positions = new Float64Array(this.positions.length * 2);
    positions.set(this.positions);
    this.relOffsets = relOffsets;
    this.positions = positions;
  }
}
