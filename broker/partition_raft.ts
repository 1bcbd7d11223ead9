/**
 * A partition's Raft group: the pure core of `raft/` driven over the partition log, which *is* the Raft log
 * (an entry is a record batch, its term the batch's partition leader epoch, its index the base offset).
 *
 * The produce path stays as cheap as a plain append: the leader writes a batch to the log file synchronously
 * (one `write`) and proposes it; the ready loop then only has to make it durable (one group-commit fsync for
 * everything proposed meanwhile), acknowledge the persistence to the core, and take the new commit index as
 * the high watermark. Today every group has one voter (this broker), so the commit index follows the fsync.
 *
 * @module
 */
import type { PartitionLog } from "../log/partition_log.ts";
import { iterateBatches } from "../protocol/record_batch.ts";
import { RawNode } from "../raft/raw_node.ts";
import { type InitialState, sliceEntries, type Storage } from "../raft/storage.ts";
import { type ConfState, type Entry, EntryType, type HardState, NONE, type Snapshot } from "../raft/types.ts";

/** The file in a partition directory holding the Raft term and vote. */
const RAFT_STATE_FILE = "raft-state.json";
/** Entries handed to the core per read, at most. */
const ENTRY_READ_BYTES = 1024 * 1024;

/**
 * The partition log seen through Raft's `Storage` interface. `term(i)` comes from the log's leader-epoch cache,
 * so answering it reads no segment.
 */
export class PartitionLogStorage implements Storage {
  /**
   * Entries this leader wrote and the core has not applied yet: the ready loop asks for them right after the
   * fsync, and serving them from memory spares reading back what was just written.
   */
  readonly #recent: Entry[] = [];

  constructor(
    private readonly log: PartitionLog,
    private readonly hardState: HardState,
    private readonly config: ConfState,
  ) {}

  initialState(): InitialState {
    return { hardState: { ...this.hardState }, config: this.config };
  }

  firstIndex(): number {
    return this.log.logStartOffset;
  }

  lastIndex(): number {
    return this.log.logEndOffset - 1;
  }

  term(index: number): number | undefined {
    if (index === this.log.logStartOffset - 1) return this.snapshotMeta().term;
    if (index < this.log.logStartOffset || index >= this.log.logEndOffset) return undefined;
    return Math.max(this.log.epochForOffset(index), 0);
  }

  /** Keeps an entry the leader just wrote, until `forgetThrough` passes it. */
  remember(entry: Entry): void {
    this.#recent.push(entry);
  }

  /** Drops remembered entries that end at or before `index` (they were applied). */
  forgetThrough(index: number): void {
    let n = 0;
    while (n < this.#recent.length && this.#recent[n].index + this.#recent[n].count - 1 <= index) n++;
    if (n > 0) this.#recent.splice(0, n);
  }

  entries(lo: number, hiExclusive: number, maxBytes: number): Entry[] {
    if (this.#recent.length > 0 && lo >= this.#recent[0].index) {
      const cached = sliceEntries(this.#recent, lo, hiExclusive, maxBytes);
      if (cached.length > 0) return cached;
    }
    const out: Entry[] = [];
    let offset = lo;
    let bytes = 0;
    while (offset < hiExclusive) {
      const { records } = this.log.read(offset, Math.min(maxBytes, ENTRY_READ_BYTES), {
        upTo: this.log.logEndOffset,
      });
      if (records.length === 0) break;
      for (const slot of iterateBatches(records)) {
        const index = Number(slot.header.baseOffset);
        if (index >= hiExclusive) return out;
        bytes += slot.size;
        if (out.length > 0 && bytes > maxBytes) return out;
        out.push({
          index,
          count: slot.header.lastOffsetDelta + 1,
          term: Math.max(slot.header.partitionLeaderEpoch, 0),
          type: EntryType.Normal,
          data: records.subarray(slot.pos, slot.pos + slot.size),
        });
        offset = index + slot.header.lastOffsetDelta + 1;
      }
    }
    return out;
  }

  snapshotMeta() {
    const index = this.log.logStartOffset - 1;
    const term = index < 0 ? 0 : Math.max(this.log.epochForOffset(this.log.logStartOffset), 0);
    return { index, term, config: this.config };
  }

  snapshot(): Snapshot {
    // Followers that fall behind the log start get the partition by snapshot once replication lands.
    return { meta: this.snapshotMeta(), data: new Uint8Array(0) };
  }
}

function readHardState(dir: string): { term: number; vote: number } {
  try {
    const json = JSON.parse(Deno.readTextFileSync(`${dir}/${RAFT_STATE_FILE}`));
    return { term: Number(json.term), vote: Number(json.vote) || NONE };
  } catch {
    return { term: -1, vote: NONE };
  }
}

/** Writes the term and vote durably (temp file, fsync, rename). */
async function writeHardState(dir: string, term: number, vote: number): Promise<void> {
  const tmp = `${dir}/${RAFT_STATE_FILE}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    file.writeSync(new TextEncoder().encode(JSON.stringify({ term, vote })));
    await file.syncData();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, `${dir}/${RAFT_STATE_FILE}`);
}

/**
 * The Raft group of one partition hosted by this broker.
 *
 * @example
 * ```ts ignore
 * const group = await PartitionRaft.open(dir, log, nodeId, (hw) => onCommitted(hw), (e) => onFailed(e));
 * const { index } = group.appendAsLeader(batchBytes, count); // written now, committed after the next fsync
 * ```
 */
export class PartitionRaft {
  #node: RawNode;
  #storage: PartitionLogStorage;
  #driving = false;
  #failure: unknown;

  private constructor(
    private readonly dir: string,
    private readonly log: PartitionLog,
    [node, storage]: [RawNode, PartitionLogStorage],
    private readonly onCommitted: (highWatermark: number) => void,
    private readonly onFailed: (error: unknown) => void,
    persisted: { term: number; vote: number },
  ) {
    this.#node = node;
    this.#storage = storage;
    this.#persisted = persisted;
  }

  /**
   * Starts the group over `log` with this broker as its only voter, and elects it: the term (the leader
   * epoch) goes up by one at every start, as Kafka's leader epoch does at every leader election.
   */
  static async open(
    dir: string,
    log: PartitionLog,
    nodeId: number,
    minimumLeaderEpoch: number,
    onCommitted: (highWatermark: number) => void,
    onFailed: (error: unknown) => void,
  ): Promise<PartitionRaft> {
    const stored = readHardState(dir);
    // Batches carry their leader epoch durably; a term below the log's latest epoch would reuse an epoch. The
    // metadata's epoch is a floor too, so the group's first term is at least what clients were told.
    // The election adds one: a new partition (no state, no batches) elects itself in exactly the metadata's
    // epoch (0 for a new topic, as in Kafka); every later start raises it by one, like a Kafka leader election.
    const latestEpoch = log.latestEpoch()?.epoch ?? -1;
    const term = Math.max(stored.term, latestEpoch, minimumLeaderEpoch - 1);
    const vote = term === stored.term ? stored.vote : NONE;
    const group = new PartitionRaft(
      dir,
      log,
      PartitionRaft.#newNode(log, nodeId, term, vote),
      onCommitted,
      onFailed,
      { term, vote },
    );
    await group.#elect();
    return group;
  }

  static #newNode(log: PartitionLog, nodeId: number, term: number, vote: number): [RawNode, PartitionLogStorage] {
    // With one voter every persisted entry is committed: recovery already cut what was not durable.
    const hardState: HardState = { term, vote, commit: log.logEndOffset - 1 };
    const storage = new PartitionLogStorage(log, hardState, { voters: [nodeId], learners: [] });
    return [new RawNode({ id: nodeId, storage, random: Math.random }), storage];
  }

  async #elect(): Promise<void> {
    this.#node.campaign();
    await this.#drive();
    if (this.#node.status().role !== "leader") throw new Error(`partition ${this.dir}: the voter did not win`);
  }

  /**
   * Starts a new term (leader epoch) for the group, as a leader election does: what was appended so far is
   * committed first. Used when the partition's leadership is re-established.
   */
  async startNewTerm(): Promise<void> {
    await this.#idle();
    const { id, term, vote } = this.#node.status();
    [this.#node, this.#storage] = PartitionRaft.#newNode(this.log, id, term, vote);
    await this.#elect();
  }

  async #idle(): Promise<void> {
    while (this.#driving || this.#node.hasReady()) {
      if (!this.#driving) await this.#drive();
      else await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** The leader epoch: the Raft term. */
  get leaderEpoch(): number {
    return this.#node.status().term;
  }

  /** This broker's node id. */
  get nodeId(): number {
    return this.#node.status().id;
  }

  /** True while this replica is the group's leader. */
  get isLeader(): boolean {
    return this.#node.status().role === "leader";
  }

  /** The group's leader as this replica knows it (NONE, 0, while none is known). */
  get leaderId(): number {
    return this.#node.status().lead;
  }

  /** The index (base offset) the next appended batch receives. */
  nextIndex(): number {
    return this.#node.nextIndex();
  }

  /**
   * Writes a batch (already validated, its base offset stamped to `nextIndex()`) to the log and proposes it.
   * The write is synchronous; durability and the commit follow in the ready loop. Throws what `log.append`
   * throws (a LogError), in which case nothing was proposed.
   */
  appendAsLeader(batch: Uint8Array, count: number): { baseOffset: number; lastOffset: number } {
    if (this.#failure) throw this.#failure;
    const proposed = this.#node.propose(count, batch);
    if (!proposed.ok) throw new Error(`partition ${this.dir}: proposal refused (${proposed.error})`);
    let appended;
    try {
      appended = this.log.append(batch, { leaderEpoch: proposed.term });
    } catch (e) {
      // The core holds an entry the log could not take; the log is offline now, and so is the group.
      this.#failure = e;
      this.onFailed(e);
      throw e;
    }
    if (appended.baseOffset !== proposed.index) {
      throw new Error(`partition ${this.dir}: log offset ${appended.baseOffset} != raft index ${proposed.index}`);
    }
    this.#storage.remember({ index: proposed.index, count, term: proposed.term, type: EntryType.Normal, data: batch });
    this.#kick();
    return { baseOffset: appended.baseOffset, lastOffset: appended.lastOffset };
  }

  #kick(): void {
    if (this.#driving) return;
    this.#drive().catch((e) => {
      this.#failure = e;
      this.onFailed(e);
    });
  }

  /**
   * The ready loop: entries the leader wrote are made durable with one group-commit fsync, hard-state changes
   * (term, vote) are persisted, then the core learns they are durable and the commit index moves.
   */
  async #drive(): Promise<void> {
    if (this.#driving) return;
    this.#driving = true;
    try {
      while (true) {
        // Let producers woken by the previous round (a few microtasks away) propose first, so this round's
        // fsync covers them too; a microtask costs ~30 ns where a timer would cost ~2 ms.
        for (let i = 0; i < 8; i++) await Promise.resolve();
        if (!this.#node.hasReady()) break;
        const ready = this.#node.ready();
        if (ready.entries.length > 0) {
          const last = ready.entries[ready.entries.length - 1];
          const end = last.index + last.count;
          if (end > this.log.logEndOffset) {
            throw new Error(`raft entry ending at ${end} was never written (log end ${this.log.logEndOffset})`);
          }
          await this.log.waitForDurable(end);
        }
        const hs = ready.hardState;
        // A sole voter recovers its term from the log's leader epochs at start (see `open`), so it writes no
        // state file: opening thousands of partitions creates no file each. With other voters, term and vote
        // must be durable before any message leaves.
        const replicated = this.#node.raft.config.voters.length > 1 || this.#node.raft.config.learners.length > 0;
        if (replicated && hs && (hs.term !== this.#persisted.term || hs.vote !== this.#persisted.vote)) {
          await writeHardState(this.dir, hs.term, hs.vote);
          this.#persisted = { term: hs.term, vote: hs.vote };
        }
        this.#node.advance();
        const { commit } = this.#node.status();
        this.#storage.forgetThrough(Math.min(commit, this.#node.raft.log.applied));
        this.onCommitted(commit + 1);
      }
    } finally {
      this.#driving = false;
    }
  }

  #persisted: { term: number; vote: number };
}
