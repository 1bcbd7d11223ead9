/**
 * The leader-epoch cache of a partition: which leader epoch started at which offset (no I/O here; the
 * log persists it through `checkpoint_file.ts`, in the text format of Kafka's `leader-epoch-checkpoint`).
 *
 * Raft and the replica fetcher ask it two questions without scanning the log: the epoch of the batch
 * holding an offset (`epochForOffset`), and where an epoch ended (`endOffsetForEpoch`, the answer to
 * OffsetsForLeaderEpoch).
 *
 * @module
 */

/** An epoch and the first offset written in it. */
export interface EpochEntry {
  /** The leader epoch. */
  epoch: number;
  /** The first offset of that epoch. */
  startOffset: number;
}

/** The answer to OffsetsForLeaderEpoch: `{ leaderEpoch: -1, endOffset: -1 }` means "undefined". */
export interface EpochEndOffset {
  /** The largest known epoch at or below the asked one, or -1. */
  leaderEpoch: number;
  /** The offset where that epoch ended (the next epoch's start, or the log end for the latest), or -1. */
  endOffset: number;
}

/**
 * Entries ascending in both epoch and start offset.
 *
 * @example
 * ```ts
 * import { LeaderEpochCache } from "./leader_epoch_cache.ts";
 * const cache = new LeaderEpochCache();
 * cache.assign(1, 0);
 * cache.assign(3, 100);
 * cache.epochForOffset(150); // 3
 * cache.endOffsetForEpoch(2, 180); // { leaderEpoch: 1, endOffset: 100 }
 * ```
 */
export class LeaderEpochCache {
  private list: EpochEntry[];

  /** A cache holding `entries` (ascending). */
  constructor(entries: EpochEntry[] = []) {
    this.list = entries.map((e) => ({ ...e }));
  }

  /** A copy of the entries. */
  entries(): EpochEntry[] {
    return this.list.map((e) => ({ ...e }));
  }

  /** The latest entry, or undefined. */
  latest(): EpochEntry | undefined {
    return this.list[this.list.length - 1];
  }

  /**
   * Records that `epoch` starts at `startOffset`. A repeat of the latest epoch changes nothing; an epoch
   * older than the latest is ignored. Entries of a newer epoch that start at or after `startOffset`
   * would contradict the new one and cannot exist, so the call returns whether the cache changed.
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0) return false;
    const latest = this.latest();
    if (latest && epoch <= latest.epoch) return false;
    // A new epoch that starts before the latest one's start means that suffix was truncated away.
    while (this.list.length > 0 && this.list[this.list.length - 1].startOffset >= startOffset) this.list.pop();
    this.list.push({ epoch, startOffset });
    return true;
  }

  /** The epoch of the batch holding `offset`, or -1 when no epoch is known for it. */
  epochForOffset(offset: number): number {
    let found = -1;
    for (const e of this.list) {
      if (e.startOffset > offset) break;
      found = e.epoch;
    }
    return found;
  }

  /**
   * Where `epoch` ended, given the log end: the start offset of the first epoch above it (with the largest
   * epoch at or below it), or `logEndOffset` for the latest epoch; undefined (-1, -1) when `epoch` precedes
   * every known epoch.
   */
  endOffsetForEpoch(epoch: number, logEndOffset: number): EpochEndOffset {
    const latest = this.latest();
    if (!latest) return { leaderEpoch: -1, endOffset: -1 };
    if (epoch >= latest.epoch) return { leaderEpoch: latest.epoch, endOffset: logEndOffset };
    for (let i = 0; i < this.list.length; i++) {
      if (this.list[i].epoch > epoch) {
        if (i === 0) return { leaderEpoch: -1, endOffset: -1 };
        return { leaderEpoch: this.list[i - 1].epoch, endOffset: this.list[i].startOffset };
      }
    }
    return { leaderEpoch: latest.epoch, endOffset: logEndOffset };
  }

  /** Forgets the epochs that start at or after `endOffset` (the log was truncated there). */
  truncateFromEnd(endOffset: number): boolean {
    const before = this.list.length;
    this.list = this.list.filter((e) => e.startOffset < endOffset);
    return this.list.length !== before;
  }

  /**
   * Forgets what lies before `startOffset` (the log start advanced): epochs wholly before it go, and the
   * epoch holding it now starts there.
   */
  truncateFromStart(startOffset: number): boolean {
    let changed = false;
    while (this.list.length > 1 && this.list[1].startOffset <= startOffset) {
      this.list.shift();
      changed = true;
    }
    if (this.list.length > 0 && this.list[0].startOffset < startOffset) {
      this.list[0].startOffset = startOffset;
      changed = true;
    }
    return changed;
  }

  /** Forgets every epoch (the log was emptied). */
  clear(): void {
    this.list = [];
  }

  /** Encodes as Kafka's checkpoint text: version, count, then `epoch startOffset` lines. */
  encode(): string {
    return ["0", String(this.list.length), ...this.list.map((e) => `${e.epoch} ${e.startOffset}`)].join("\n") + "\n";
  }

  /** Decodes checkpoint text; throws on anything malformed. */
  static decode(text: string): LeaderEpochCache {
    const lines = text.split("\n").filter((l) => l.length > 0);
    if (lines[0] !== "0") throw new Error("unknown leader-epoch checkpoint version");
    const count = Number(lines[1]);
    if (!Number.isInteger(count) || lines.length !== count + 2) throw new Error("bad leader-epoch checkpoint count");
    const entries: EpochEntry[] = [];
    for (const line of lines.slice(2)) {
      const [epoch, startOffset] = line.split(" ").map(Number);
      if (!Number.isInteger(epoch) || !Number.isInteger(startOffset)) throw new Error("bad leader-epoch entry");
      const prev = entries[entries.length - 1];
      if (prev && (epoch <= prev.epoch || startOffset < prev.startOffset)) throw new Error("unordered epochs");
      entries.push({ epoch, startOffset });
    }
    return new LeaderEpochCache(entries);
  }
}
