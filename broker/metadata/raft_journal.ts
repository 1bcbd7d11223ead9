/**
 * The durable Raft state of the metadata quorum on one node: `quorum-state.json` (term, vote, commit), the
 * latest snapshot (`metadata.snapshot`), and a journal of the entries after it (`metadata.journal`). Every
 * entry's payload is a Kafka record batch of metadata records, framed as Kafka frames them.
 *
 * Why a journal rather than the segment log: the metadata log is small, a follower may have to cut its tail
 * (a conflicting entry from an old term), and a snapshot replaces the log prefix; a journal rewritten in those
 * rare cases does all three in a few lines. Appends are one `write` and one fdatasync per Raft round.
 *
 * Journal record: int32 length, then float64 index, int32 count, int32 term, int8 type, the payload. A torn
 * tail (a crash mid-append) is cut at open.
 *
 * @module
 */
import { MemoryStorage } from "../../raft/storage.ts";
import type { ConfState, Entry, EntryType, HardState, Snapshot } from "../../raft/types.ts";
import type { InitialState, Storage } from "../../raft/storage.ts";

const STATE_FILE = "quorum-state.json";
const JOURNAL_FILE = "metadata.journal";
const SNAPSHOT_FILE = "metadata.snapshot";
const ENTRY_HEADER = 4 + 8 + 4 + 4 + 1;

function encodeEntry(e: Entry): Uint8Array {
  const out = new Uint8Array(ENTRY_HEADER + e.data.length);
  const v = new DataView(out.buffer);
  v.setInt32(0, out.length - 4);
  v.setFloat64(4, e.index);
  v.setInt32(12, e.count);
  v.setInt32(16, e.term);
  v.setInt8(20, e.type);
  out.set(e.data, ENTRY_HEADER);
  return out;
}

function decodeEntries(bytes: Uint8Array): { entries: Entry[]; validBytes: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: Entry[] = [];
  let pos = 0;
  while (pos + ENTRY_HEADER <= bytes.length) {
    const len = v.getInt32(pos);
    if (len < ENTRY_HEADER - 4 || pos + 4 + len > bytes.length) break;
    entries.push({
      index: v.getFloat64(pos + 4),
      count: v.getInt32(pos + 12),
      term: v.getInt32(pos + 16),
      type: v.getInt8(pos + 20) as EntryType,
      data: bytes.slice(pos + ENTRY_HEADER, pos + 4 + len),
    });
    pos += 4 + len;
  }
  return { entries, validBytes: pos };
}

function encodeSnapshot(s: Snapshot): Uint8Array {
  const meta = new TextEncoder().encode(JSON.stringify(s.meta));
  const out = new Uint8Array(4 + meta.length + s.data.length);
  new DataView(out.buffer).setInt32(0, meta.length);
  out.set(meta, 4);
  out.set(s.data, 4 + meta.length);
  return out;
}

function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getInt32(0);
  return { meta: JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n))), data: bytes.slice(4 + n) };
}

function readOptional(path: string): Uint8Array | undefined {
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Writes `bytes` to `path` durably: temp file, fdatasync, rename. */
function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp`;
  const file = Deno.openSync(tmp, { write: true, create: true, truncate: true });
  try {
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    file.syncDataSync();
  } finally {
    file.close();
  }
  Deno.renameSync(tmp, path);
}

/**
 * Raft `Storage` for `__cluster_metadata`, durable in a directory.
 *
 * @example
 * ```ts ignore
 * const journal = RaftJournal.open(`${logDir}/__cluster_metadata-0`, { voters: [1, 2, 3], learners: [] });
 * journal.persist(ready); // snapshot, entries, hard state: durable when this returns
 * ```
 */
export class RaftJournal implements Storage {
  readonly #memory: MemoryStorage;
  #journal: Deno.FsFile;

  private constructor(private readonly dir: string, memory: MemoryStorage) {
    this.#memory = memory;
    this.#journal = Deno.openSync(`${dir}/${JOURNAL_FILE}`, { append: true, create: true });
  }

  /** Opens (or creates) the state in `dir`; `bootstrap` is the membership of a fresh log. */
  static open(dir: string, bootstrap: ConfState): RaftJournal {
    Deno.mkdirSync(dir, { recursive: true });
    const snapshotBytes = readOptional(`${dir}/${SNAPSHOT_FILE}`);
    const snapshot = snapshotBytes ? decodeSnapshot(snapshotBytes) : undefined;
    const memory = new MemoryStorage(bootstrap);
    if (snapshot) memory.applySnapshot(snapshot);
    const journalBytes = readOptional(`${dir}/${JOURNAL_FILE}`) ?? new Uint8Array(0);
    const { entries, validBytes } = decodeEntries(journalBytes);
    if (validBytes < journalBytes.length) Deno.truncateSync(`${dir}/${JOURNAL_FILE}`, validBytes);
    for (const e of entries) {
      if (e.index + e.count - 1 <= memory.snapshotMeta().index) continue;
      memory.append([e]);
    }
    const stateBytes = readOptional(`${dir}/${STATE_FILE}`);
    if (stateBytes) {
      const hs = JSON.parse(new TextDecoder().decode(stateBytes)) as HardState;
      memory.setHardState({ ...hs, commit: Math.min(hs.commit, memory.lastIndex()) });
    }
    return new RaftJournal(dir, memory);
  }

  initialState(): InitialState {
    return this.#memory.initialState();
  }
  firstIndex(): number {
    return this.#memory.firstIndex();
  }
  lastIndex(): number {
    return this.#memory.lastIndex();
  }
  term(index: number): number | undefined {
    return this.#memory.term(index);
  }
  entries(lo: number, hiExclusive: number, maxBytes: number): Entry[] {
    return this.#memory.entries(lo, hiExclusive, maxBytes);
  }
  snapshotMeta() {
    return this.#memory.snapshotMeta();
  }
  snapshot(): Snapshot {
    return this.#memory.snapshot();
  }

  /** The persisted hard state. */
  hardState(): HardState {
    return this.#memory.hardState();
  }

  /** Stores a snapshot from the leader: it replaces the whole log. Durable on return. */
  applySnapshot(snapshot: Snapshot): void {
    writeAtomically(`${this.dir}/${SNAPSHOT_FILE}`, encodeSnapshot(snapshot));
    this.#memory.applySnapshot(snapshot);
    this.#rewriteJournal();
  }

  /** Appends entries (cutting a conflicting tail first). Durable once `sync` returns. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const conflict = entries[0].index <= this.#memory.lastIndex();
    this.#memory.append(entries);
    if (conflict) {
      this.#rewriteJournal();
      return;
    }
    for (const e of entries) {
      const bytes = encodeEntry(e);
      let written = 0;
      while (written < bytes.length) written += this.#journal.writeSync(bytes.subarray(written));
    }
  }

  /** Persists the hard state. Durable on return. */
  setHardState(hs: HardState): void {
    this.#memory.setHardState(hs);
    writeAtomically(`${this.dir}/${STATE_FILE}`, new TextEncoder().encode(JSON.stringify(hs)));
  }

  /** Makes appended entries durable. */
  sync(): void {
    this.#journal.syncDataSync();
  }

  /** Takes a snapshot at `index` (an applied entry's last index) with the image's `data`; drops the prefix. */
  createSnapshot(index: number, data: Uint8Array): void {
    this.#memory.createSnapshot(index, data);
    writeAtomically(`${this.dir}/${SNAPSHOT_FILE}`, encodeSnapshot(this.#memory.snapshot()));
    this.#rewriteJournal();
  }

  /** Entries still in the journal (after the snapshot). */
  get entryCount(): number {
    return this.#memory.allEntries().length;
  }

  #rewriteJournal(): void {
    const parts = this.#memory.allEntries().map(encodeEntry);
    const total = parts.reduce((n, p) => n + p.length, 0);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    this.#journal.close();
    writeAtomically(`${this.dir}/${JOURNAL_FILE}`, bytes);
    this.#journal = Deno.openSync(`${this.dir}/${JOURNAL_FILE}`, { append: true, create: true });
  }

  /** Closes the journal file. */
  close(): void {
    this.#journal.close();
  }
}
