/**
 * What the Raft core reads from durable state, and an in-memory implementation for tests and the simulator.
 *
 * The core never writes storage itself: the caller persists what {@linkcode Ready} hands out (hard state,
 * entries, snapshot) and then calls `advance()`. The partition log implements this interface for the broker,
 * so a partition's Raft log is its Kafka log.
 *
 * @module
 */
import { decodeConfEntry } from "./conf_change.ts";
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  lastIndexOf,
  NONE,
  type Snapshot,
  type SnapshotMeta,
} from "./types.ts";

/** Durable state the core starts from. */
export interface InitialState {
  /** Last persisted hard state. */
  hardState: HardState;
  /** Membership as of `hardState.commit` (or of the snapshot, whichever is later). */
  config: ConfState;
}

/**
 * Durable Raft state, as the core reads it. Indexes are Kafka offsets; entries may span several.
 */
export interface Storage {
  /** The hard state and configuration to start from. */
  initialState(): InitialState;
  /** First index still in the log (the log start offset): `snapshotMeta().index + 1`. */
  firstIndex(): number;
  /** Last index in the log, or `snapshotMeta().index` when no entry follows the snapshot. */
  lastIndex(): number;
  /**
   * Term of the entry containing `index`; the snapshot's term for `snapshotMeta().index`; undefined
   * below that (compacted) or beyond `lastIndex()`.
   */
  term(index: number): number | undefined;
  /**
   * The entries overlapping `[lo, hiExclusive)`, starting with the one containing `lo`, stopping before the
   * total payload would exceed `maxBytes` (but always at least one entry when any overlaps).
   */
  entries(lo: number, hiExclusive: number, maxBytes: number): Entry[];
  /** Metadata of the latest snapshot (index -1, term 0 and the initial config for a fresh log). */
  snapshotMeta(): SnapshotMeta;
  /** The latest snapshot with its data, to send to a follower that is behind `firstIndex()`. */
  snapshot(): Snapshot;
}

/**
 * Index of the entry containing `index` in `entries` (sorted, contiguous), or -1.
 */
export function findEntry(entries: readonly Entry[], index: number): number {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = entries[mid];
    if (index < e.index) hi = mid - 1;
    else if (index > lastIndexOf(e)) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Collects entries from `list` overlapping `[lo, hi)` within `maxBytes` (at least one). */
export function sliceEntries(list: readonly Entry[], lo: number, hi: number, maxBytes: number): Entry[] {
  const out: Entry[] = [];
  let i = findEntry(list, lo);
  if (i < 0) return out;
  let bytes = 0;
  for (; i < list.length && list[i].index < hi; i++) {
    bytes += list[i].data.byteLength;
    if (out.length > 0 && bytes > maxBytes) break;
    out.push(list[i]);
  }
  return out;
}

/**
 * Durable state held in memory: what survives a simulated crash is exactly what was written through
 * `setHardState`, `append`, `applySnapshot` and `createSnapshot`.
 *
 * @example
 * ```ts
 * import { MemoryStorage } from "./storage.ts";
 * import { EntryType } from "./types.ts";
 * const s = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
 * s.append([{ index: 0, count: 2, term: 1, type: EntryType.Normal, data: new Uint8Array(0) }]);
 * s.lastIndex(); // 1
 * s.term(1); // 1
 * ```
 */
export class MemoryStorage implements Storage {
  #hardState: HardState = { term: 0, vote: NONE, commit: -1 };
  #snapshot: Snapshot;
  #entries: Entry[] = [];

  /** An empty log whose bootstrap membership is `initialConfig` (empty for a node joining later). */
  constructor(initialConfig: ConfState = { voters: [], learners: [] }) {
    this.#snapshot = { meta: { index: -1, term: 0, config: initialConfig }, data: new Uint8Array(0) };
  }

  initialState(): InitialState {
    const commit = Math.max(this.#hardState.commit, this.#snapshot.meta.index);
    return { hardState: { ...this.#hardState }, config: this.configAt(commit) };
  }

  /** Membership as of `index`: the snapshot's, then every change entry up to `index`. */
  configAt(index: number): ConfState {
    let config = this.#snapshot.meta.config;
    for (const e of this.#entries) {
      if (e.index > index) break;
      if (e.type === EntryType.ConfChange) config = decodeConfEntry(e.data).config;
    }
    return config;
  }

  firstIndex(): number {
    return this.#snapshot.meta.index + 1;
  }

  lastIndex(): number {
    const n = this.#entries.length;
    return n === 0 ? this.#snapshot.meta.index : lastIndexOf(this.#entries[n - 1]);
  }

  term(index: number): number | undefined {
    if (index === this.#snapshot.meta.index) return this.#snapshot.meta.term;
    const i = findEntry(this.#entries, index);
    return i < 0 ? undefined : this.#entries[i].term;
  }

  entries(lo: number, hiExclusive: number, maxBytes: number): Entry[] {
    return sliceEntries(this.#entries, lo, hiExclusive, maxBytes);
  }

  snapshotMeta(): SnapshotMeta {
    return this.#snapshot.meta;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** The persisted hard state. */
  hardState(): HardState {
    return { ...this.#hardState };
  }

  /** Persists the hard state. */
  setHardState(hs: HardState): void {
    this.#hardState = { ...hs };
  }

  /** Persists entries, first dropping any stored entry at or after `entries[0].index` (a conflict). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (first < this.firstIndex()) throw new Error(`append at ${first} below first index ${this.firstIndex()}`);
    if (first > this.lastIndex() + 1) throw new Error(`append at ${first} leaves a gap after ${this.lastIndex()}`);
    const i = findEntry(this.#entries, first);
    if (i >= 0) {
      if (this.#entries[i].index !== first) throw new Error(`append at ${first} splits an entry`);
      this.#entries.length = i;
    }
    this.#entries.push(...entries);
  }

  /** Persists a snapshot received from a leader: the whole log is replaced by it. */
  applySnapshot(snap: Snapshot): void {
    this.#snapshot = snap;
    this.#entries = [];
    if (this.#hardState.commit < snap.meta.index) this.#hardState = { ...this.#hardState, commit: snap.meta.index };
  }

  /**
   * Takes a snapshot at `index` (an entry's last index, at most the applied index) with the application's
   * `data`, and compacts the log prefix up to it.
   */
  createSnapshot(index: number, data: Uint8Array): void {
    if (index <= this.#snapshot.meta.index) return;
    const i = findEntry(this.#entries, index);
    if (i < 0 || lastIndexOf(this.#entries[i]) !== index) throw new Error(`snapshot at ${index}: not an entry end`);
    const meta = { index, term: this.#entries[i].term, config: this.configAt(index) };
    this.#snapshot = { meta, data };
    this.#entries = this.#entries.slice(i + 1);
  }

  /** Every stored entry (for checkers and tests). */
  allEntries(): readonly Entry[] {
    return this.#entries;
  }
}
