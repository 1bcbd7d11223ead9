/**
 * The log as the core sees it: durable entries in {@linkcode Storage}, followed by unstable entries (and
 * possibly a snapshot) that were accepted but not yet persisted, plus the commit and applied indexes.
 *
 * Appends and truncations happen only at entry boundaries. Two entries with the same term that contain the
 * same index were created by the same leader and are identical, so boundaries align wherever terms match.
 *
 * @module
 */
import { findEntry, sliceEntries, type Storage } from "./storage.ts";
import { type Entry, lastIndexOf, type Snapshot } from "./types.ts";

/**
 * Durable storage plus the unstable tail.
 *
 * @example
 * ```ts
 * import { RaftLog } from "./raft_log.ts";
 * import { MemoryStorage } from "./storage.ts";
 * const log = new RaftLog(new MemoryStorage());
 * log.lastIndex(); // -1: an empty log
 * ```
 */
export class RaftLog {
  /** Entries accepted but not yet handed out for persistence, or handed out and not yet acknowledged. */
  unstable: Entry[] = [];
  /** A snapshot received from the leader and not yet persisted. */
  unstableSnapshot: Snapshot | undefined;
  /** Last committed index. */
  committed: number;
  /** Last index the application has applied. */
  applied: number;

  /** The log held by `storage`, with nothing unstable yet. */
  constructor(readonly storage: Storage) {
    const snapIndex = storage.snapshotMeta().index;
    this.committed = Math.max(storage.initialState().hardState.commit, snapIndex);
    this.applied = snapIndex;
  }

  /** Index of the first unstable entry (or where the next one would go). */
  unstableOffset(): number {
    if (this.unstable.length > 0) return this.unstable[0].index;
    if (this.unstableSnapshot) return this.unstableSnapshot.meta.index + 1;
    return this.storage.lastIndex() + 1;
  }

  /** First index present (the log start offset). */
  firstIndex(): number {
    if (this.unstableSnapshot) return this.unstableSnapshot.meta.index + 1;
    return this.storage.firstIndex();
  }

  /** Last index present, -1 for an empty log. */
  lastIndex(): number {
    const n = this.unstable.length;
    if (n > 0) return lastIndexOf(this.unstable[n - 1]);
    if (this.unstableSnapshot) return this.unstableSnapshot.meta.index;
    return this.storage.lastIndex();
  }

  /** Index and term of the snapshot the log starts after. */
  snapshotPoint(): { index: number; term: number } {
    const m = this.unstableSnapshot?.meta ?? this.storage.snapshotMeta();
    return { index: m.index, term: m.term };
  }

  /** Term of the entry containing `index`; undefined if compacted or beyond the end. */
  term(index: number): number | undefined {
    const snap = this.snapshotPoint();
    if (index === snap.index) return snap.term;
    if (index < snap.index || index > this.lastIndex()) return undefined;
    if (index >= this.unstableOffset()) {
      const i = findEntry(this.unstable, index);
      return i < 0 ? undefined : this.unstable[i].term;
    }
    return this.storage.term(index);
  }

  /** Term of the last entry. */
  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** Whether the entry containing `index` has `term`. */
  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** The entry containing `index` (undefined if compacted, beyond the end, or the snapshot point). */
  entryAt(index: number): Entry | undefined {
    if (index < this.firstIndex() || index > this.lastIndex()) return undefined;
    if (index >= this.unstableOffset()) {
      const i = findEntry(this.unstable, index);
      return i < 0 ? undefined : this.unstable[i];
    }
    return this.storage.entries(index, index + 1, Infinity)[0];
  }

  /**
   * Entries overlapping `[lo, hi)` within `maxBytes` (at least one). `lo` must be at least `firstIndex()`.
   */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    const off = this.unstableOffset();
    const out: Entry[] = [];
    let bytes = 0;
    if (lo < off) {
      const stable = this.storage.entries(lo, Math.min(hi, off), maxBytes);
      for (const e of stable) bytes += e.data.byteLength;
      out.push(...stable);
      if (bytes >= maxBytes || stable.length === 0 || lastIndexOf(stable[stable.length - 1]) + 1 < Math.min(hi, off)) {
        return out;
      }
    }
    if (hi > off) {
      const rest = sliceEntries(this.unstable, Math.max(lo, off), hi, out.length > 0 ? maxBytes - bytes : maxBytes);
      for (const e of rest) {
        bytes += e.data.byteLength;
        if (out.length > 0 && bytes > maxBytes) break;
        out.push(e);
      }
    }
    return out;
  }

  /**
   * The largest entry boundary `j <= index` of this log whose term is `<= term` (the snapshot point counts
   * as a boundary). Used for fast backtracking on both sides of a rejected append: a follower answers with
   * it, and the leader maps the answer onto its own log. If no such boundary is left, the result lies below
   * the snapshot point.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    const snap = this.snapshotPoint();
    let i = Math.min(index, this.lastIndex());
    while (i > snap.index) {
      const e = this.entryAt(i);
      if (!e) break;
      // i may sit inside e: only e's end or the previous entry's end are boundaries.
      if (e.term <= term && lastIndexOf(e) === i) return { index: i, term: e.term };
      if (e.term <= term && lastIndexOf(e) <= index) return { index: lastIndexOf(e), term: e.term };
      i = e.index - 1;
    }
    if (i >= snap.index && snap.term <= term) return { index: snap.index, term: snap.term };
    // Nothing this log still holds can match: the answer lies below the snapshot (a leader then sends it).
    return { index: Math.min(i, snap.index - 1), term: 0 };
  }

  /**
   * Appends `entries` (contiguous, starting at an entry boundary no later than `lastIndex() + 1`),
   * dropping any conflicting suffix.
   */
  truncateAndAppend(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (first < this.committed + 1) throw new Error(`raft: truncating committed index ${first} <= ${this.committed}`);
    const off = this.unstableOffset();
    if (first === this.lastIndex() + 1) {
      this.unstable.push(...entries);
    } else if (first <= off) {
      // Replaces everything unstable; the durable suffix at and after `first` is dropped on persistence.
      this.unstable = [...entries];
    } else {
      const i = findEntry(this.unstable, first);
      if (i < 0 || this.unstable[i].index !== first) throw new Error(`raft: append at ${first} splits an entry`);
      this.unstable = [...this.unstable.slice(0, i), ...entries];
    }
  }

  /**
   * For each of `entries` (following a matching prefix), the first whose term differs from ours, or
   * undefined when all are already present.
   */
  findConflict(entries: readonly Entry[]): number | undefined {
    for (let k = 0; k < entries.length; k++) {
      if (!this.matchTerm(entries[k].index, entries[k].term)) return k;
    }
    return undefined;
  }

  /** Replaces the whole log by `snap` (not yet persisted). */
  restore(snap: Snapshot): void {
    this.unstableSnapshot = snap;
    this.unstable = [];
    this.committed = snap.meta.index;
  }

  /** Index up to which committed entries may be applied: committed and locally persisted. */
  maxAppliable(): number {
    if (this.unstableSnapshot) return this.applied;
    const persisted = this.unstable.length > 0 ? this.unstable[0].index - 1 : this.storage.lastIndex();
    return Math.min(this.committed, persisted);
  }

  /** The persisted, committed entries after `applied`, within `maxBytes`. */
  nextCommitted(maxBytes: number): Entry[] {
    const hi = this.maxAppliable();
    if (hi <= this.applied) return [];
    return this.slice(this.applied + 1, hi + 1, maxBytes);
  }

  /** The entries in `unstable` up to the one ending at `index` with `term` are now durable. */
  stableTo(index: number, term: number): void {
    const i = findEntry(this.unstable, index);
    if (i < 0 || this.unstable[i].term !== term || lastIndexOf(this.unstable[i]) !== index) return;
    this.unstable = this.unstable.slice(i + 1);
  }

  /** The unstable snapshot at `index` is now durable. */
  stableSnapTo(index: number): void {
    if (this.unstableSnapshot?.meta.index === index) this.unstableSnapshot = undefined;
  }

  /** Whether a log ending at (`lastIndex`, `lastTerm`) is at least as up to date as this one (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const t = this.lastTerm();
    return lastTerm > t || (lastTerm === t && lastIndex >= this.lastIndex());
  }
}
