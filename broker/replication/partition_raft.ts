/**
 * A partition's Raft group: the pure core of `raft/` driven over the partition log, which *is* the Raft log
 * (an entry is a record batch, its term the batch's partition leader epoch, its index the base offset).
 *
 * The produce path stays as cheap as a plain append: the leader stamps a batch with its offset and epoch, writes
 * it to the log file synchronously (one `write`) and proposes it; the ready loop then only has to make it durable
 * (one group-commit fsync for everything proposed meanwhile), send it to the followers, and take the new commit
 * index as the high watermark.
 *
 * A group of one voter (RF=1) elects itself at every start and commits on the fsync. With several voters (the
 * partition's replicas) the ready loop of a follower writes what the leader sends: it first cuts a conflicting
 * suffix (`truncateTo`), then appends the leader's batches as they are, their offset and epoch already stamped.
 * The core's LeaderChange and ConfChange entries become control batches built from (index, term, type, data)
 * alone, so every replica holds byte-identical batches, and they are read back from the log as entries of their
 * type. A follower behind the leader's log start (retention, DeleteRecords) receives a snapshot: the log start,
 * and the producer state as of it; its log restarts there (`truncateFullyAndStartAt`). On a compacted topic the
 * cleaner leaves offset gaps in the log; the storage serves them as filler entries in the terms of the removed
 * offsets, which a follower stores as control batches (`compacted_gap.ts`), so the Raft log stays contiguous.
 *
 * Durability rules of a replicated group: term and vote (and the snapshot point) are written to
 * `raft-state.json` (fsynced) before any message leaves; entries are fsynced before the messages that
 * acknowledge them. The commit index a group starts from is the one last written to that file, a safe lower
 * bound (it only ever grew), never the log end: a follower's tail may not be committed.
 *
 * @module
 */
import type { PartitionLog } from "../../log/partition_log.ts";
import { decodeControlRecordKey, isControlBatch } from "../../protocol/control_records.ts";
import { buildRecordBatch, decodeRecordBatch, iterateBatches } from "../../protocol/record_batch.ts";
import { BatchOffsets, stampBaseOffset, stampPartitionLeaderEpoch } from "../../protocol/record_batch_header.ts";
import { applyConfChange, type ConfChange, encodeConfEntry, sameConf } from "../../raft/conf_change.ts";
import { RawNode } from "../../raft/raw_node.ts";
import { type Quiescence, quiescenceOf } from "./quiescence.ts";
import { type InitialState, sliceEntries, type Storage } from "../../raft/storage.ts";
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  type NodeId,
  NONE,
  type Snapshot,
  type SnapshotMeta,
} from "../../raft/types.ts";
import { gapFillerBatch, gapFillers, isGapFillerBatch } from "./compacted_gap.ts";

/** The file in a partition directory holding the Raft term, vote, a commit lower bound and the snapshot point. */
const RAFT_STATE_FILE = "raft-state.json";
/** Entries handed to the core per read, at most. */
const ENTRY_READ_BYTES = 1024 * 1024;

/** Kafka's control record types for the Raft entries the core creates (KRaft uses the same numbers). */
export const LEADER_CHANGE_CONTROL_TYPE = 2;
/** KRaft's `KRaftVoters` control record: a membership change. */
export const VOTERS_CONTROL_TYPE = 6;

/** Ticks and timeouts of replicated groups (one tick is `PARTITION_TICK_MS`). */
export const PARTITION_TICK_MS = 50;
/** Ticks without a leader before a follower campaigns: 10 ticks = 500 ms, randomized up to 1 s. */
export const PARTITION_ELECTION_TICKS = 10;
/** Ticks between a leader's heartbeats: 100 ms. */
export const PARTITION_HEARTBEAT_TICKS = 2;

/**
 * The control batch that stores a LeaderChange or ConfChange entry: one control record whose key is Kafka's
 * control key of the entry's type and whose value is the entry's data. Built from the entry alone (no clock),
 * so every replica writes the same bytes.
 *
 * @example
 * ```ts
 * import { controlBatchOf } from "./partition_raft.ts";
 * import { EntryType } from "../../raft/types.ts";
 * const batch = controlBatchOf({ index: 7, count: 1, term: 3, type: EntryType.LeaderChange, data: new Uint8Array(0) });
 * ```
 */
export function controlBatchOf(entry: Entry): Uint8Array {
  const type = entry.type === EntryType.LeaderChange ? LEADER_CHANGE_CONTROL_TYPE : VOTERS_CONTROL_TYPE;
  const key = new Uint8Array(4);
  new DataView(key.buffer).setInt16(2, type);
  // No timestamp (-1, Kafka's NO_TIMESTAMP): a clock would make the replicas' bytes differ.
  return buildRecordBatch([{ timestamp: -1, key, value: entry.data }], {
    baseOffset: BigInt(entry.index),
    partitionLeaderEpoch: entry.term,
    control: true,
  });
}

/** The Raft entry a stored batch is: Raft control batches by their control type, every other batch Normal. */
function entryOfBatch(batch: Uint8Array, index: number, count: number, term: number): Entry {
  const attributes = new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getInt16(BatchOffsets.attributes);
  if (isControlBatch(attributes)) {
    const decoded = decodeRecordBatch(batch);
    const record = decoded.records[0];
    const type = record?.key ? decodeControlRecordKey(record.key).type : -1;
    if (type === LEADER_CHANGE_CONTROL_TYPE || type === VOTERS_CONTROL_TYPE) {
      return {
        index,
        count,
        term,
        type: type === LEADER_CHANGE_CONTROL_TYPE ? EntryType.LeaderChange : EntryType.ConfChange,
        data: record.value ?? new Uint8Array(0),
      };
    }
  }
  return { index, count, term, type: EntryType.Normal, data: batch };
}

/** The epoch of `log` holding `offset` and where that epoch ends (the next epoch's start), for `gapFillers`. */
function epochRangeAt(log: PartitionLog, offset: number): { epoch: number; end: number } {
  const epoch = log.epochForOffset(offset);
  const end = log.endOffsetForEpoch(epoch).endOffset;
  return { epoch, end: end > offset ? end : Infinity };
}

/**
 * The partition log seen through Raft's `Storage` interface. `term(i)` comes from the log's leader-epoch cache,
 * so answering it reads no segment.
 */
export class PartitionLogStorage implements Storage {
  /**
   * Entries written and not committed yet: a leader sends them to followers right after writing them, and
   * serving them from memory spares reading back what was just written.
   */
  readonly #recent: Entry[] = [];

  constructor(
    private readonly log: PartitionLog,
    private readonly hardState: HardState,
    /** The membership snapshots carry: the committed configuration (the ready loop keeps it current). */
    public config: ConfState,
    /** The snapshot point received last (its term is not in the emptied log's epochs). */
    private snapshotPoint: { index: number; term: number } | undefined = undefined,
    /** The data a snapshot carries as of the log start (the producer state). */
    private readonly snapshotData: (logStartOffset: number) => Uint8Array = () => new Uint8Array(0),
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

  /** Keeps an entry just written, until `forgetThrough` passes it. */
  remember(entry: Entry): void {
    const last = this.#recent.at(-1);
    if (last && last.index + last.count !== entry.index) this.#recent.length = 0;
    this.#recent.push(entry);
  }

  /** Drops remembered entries that end at or before `index` (committed). */
  forgetThrough(index: number): void {
    let n = 0;
    while (n < this.#recent.length && this.#recent[n].index + this.#recent[n].count - 1 <= index) n++;
    if (n > 0) this.#recent.splice(0, n);
  }

  /** Drops remembered entries at and after `index` (the log was cut there). */
  forgetFrom(index: number): void {
    const keep = this.#recent.findIndex((e) => e.index >= index);
    if (keep >= 0) this.#recent.length = keep;
  }

  /** Records the snapshot point a follower installed. */
  setSnapshotPoint(point: { index: number; term: number }): void {
    this.snapshotPoint = point;
    this.#recent.length = 0;
  }

  /**
   * The entries overlapping [lo, hiExclusive), contiguous from `lo`. Offsets the log cleaner removed (gaps
   * between batches, and fillers stored here when this replica followed) come out as filler entries
   * (`compacted_gap.ts`): cut at `lo`, at `hiExclusive`, at epoch starts and at the next batch, so a follower
   * receives exactly the offsets it asked for, in the terms they had.
   */
  entries(lo: number, hiExclusive: number, maxBytes: number): Entry[] {
    if (this.#recent.length > 0 && lo >= this.#recent[0].index) {
      const cached = sliceEntries(this.#recent, lo, hiExclusive, maxBytes);
      if (cached.length > 0) return cached;
    }
    const out: Entry[] = [];
    const end = Math.min(hiExclusive, this.log.logEndOffset);
    let offset = lo;
    let bytes = 0;
    /** Appends one entry unless it would pass `maxBytes` (the first always goes); false when full. */
    const add = (entry: Entry, size: number): boolean => {
      bytes += size;
      if (out.length > 0 && bytes > maxBytes) return false;
      out.push(entry);
      return true;
    };
    /** Appends fillers for the removed offsets [offset, to); false when full. */
    const fill = (to: number): boolean => {
      for (const filler of gapFillers(offset, to, (o) => epochRangeAt(this.log, o))) {
        const batch = gapFillerBatch(filler);
        if (!add({ ...filler, type: EntryType.Normal, data: batch }, batch.byteLength)) return false;
        offset = filler.index + filler.count;
      }
      return true;
    };
    // `offset` is where the next entry starts; `readAt` where the next read starts (past stored fillers, which
    // are merged into the removed range they belong to).
    let readAt = lo;
    while (offset < end && readAt < this.log.logEndOffset) {
      const { records } = this.log.read(readAt, Math.min(maxBytes, ENTRY_READ_BYTES), { upTo: this.log.logEndOffset });
      if (records.length === 0) break;
      for (const slot of iterateBatches(records)) {
        const index = Number(slot.header.baseOffset);
        const count = slot.header.lastOffsetDelta + 1;
        readAt = index + count;
        const batch = records.subarray(slot.pos, slot.pos + slot.size);
        if (isGapFillerBatch(batch)) continue;
        if (index > offset && !fill(Math.min(index, end))) return out;
        if (offset >= end) return out;
        const term = Math.max(slot.header.partitionLeaderEpoch, 0);
        if (!add(entryOfBatch(batch, index, count, term), slot.size)) return out;
        offset = index + count;
      }
    }
    // No batch left before `end`: the rest was removed (the tail of a closed segment, or stored fillers).
    if (offset < end) fill(end);
    return out;
  }

  snapshotMeta(): SnapshotMeta {
    const index = this.log.logStartOffset - 1;
    if (this.snapshotPoint?.index === index) return { index, term: this.snapshotPoint.term, config: this.config };
    const term = index < 0 ? 0 : Math.max(this.log.epochForOffset(this.log.logStartOffset), 0);
    return { index, term, config: this.config };
  }

  snapshot(): Snapshot {
    const meta = this.snapshotMeta();
    return { meta, data: this.snapshotData(meta.index + 1) };
  }
}

/** What `raft-state.json` holds. */
interface StoredRaftState {
  term: number;
  vote: number;
  /** A committed offset (a lower bound of the commit index when written), -1 if unknown. */
  commit: number;
  /** The snapshot point last installed, if any. */
  snapshot?: { index: number; term: number };
  /**
   * The membership as of `commit`, once a ConfChange entry committed here (a reassignment): from then on it,
   * not the metadata's replica list, is the group's configuration at the next start (the log is the truth).
   */
  config?: ConfState;
}

function readRaftState(dir: string): StoredRaftState {
  try {
    const json = JSON.parse(Deno.readTextFileSync(`${dir}/${RAFT_STATE_FILE}`));
    const snapshot = json.snapshot && Number.isSafeInteger(json.snapshot.index)
      ? { index: Number(json.snapshot.index), term: Number(json.snapshot.term) }
      : undefined;
    return {
      term: Number(json.term),
      vote: Number(json.vote) || NONE,
      commit: Number.isSafeInteger(json.commit) ? json.commit : -1,
      snapshot,
      config: Array.isArray(json.config?.voters) && Array.isArray(json.config?.learners)
        ? { voters: json.config.voters.map(Number), learners: json.config.learners.map(Number) }
        : undefined,
    };
  } catch {
    return { term: -1, vote: NONE, commit: -1 };
  }
}

/** Writes the Raft state durably (temp file, fsync, rename). */
async function writeRaftState(dir: string, state: StoredRaftState): Promise<void> {
  const tmp = `${dir}/${RAFT_STATE_FILE}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    file.writeSync(new TextEncoder().encode(JSON.stringify(state)));
    await file.syncData();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, `${dir}/${RAFT_STATE_FILE}`);
}

/** What the replica around a group learns from it. Only `onCommitted` and `onFailed` are needed for RF=1. */
export interface PartitionRaftHooks {
  /** The high watermark moved (commit index + 1, bounded by what is durable here). */
  onCommitted(highWatermark: number): void;
  /** The log failed under the group: nothing more can be made durable. */
  onFailed(error: unknown): void;
  /** A batch created by another leader was written here (followers record its producer state). */
  onReplicated?(batch: Uint8Array, baseOffset: number): void;
  /** The log was cut at `offset`: the batches from there on are gone. */
  onTruncated?(offset: number): void;
  /** A snapshot from the leader restarted the log at `logStartOffset`; `data` is what `snapshotData` made. */
  onSnapshotInstalled?(logStartOffset: number, data: Uint8Array): void;
  /** The data of a snapshot as of `logStartOffset` (sent to a follower behind the log start). */
  snapshotData?(logStartOffset: number): Uint8Array;
  /** The role, the leader known or the term changed (or the leader became able to take produces). */
  onRoleChanged?(): void;
  /** A follower moved its log start offset to the leader's (DeleteRecords or retention on the leader). */
  onLogStartMoved?(logStartOffset: number): void;
  /** A message from follower `from` was stepped into the leader (its match index may have moved). */
  onFollowerHeard?(from: number): void;
  /** Messages to send to the other replicas. */
  send?(messages: Message[]): void;
  /** The group has work (a tick, a proposal, a message, a transfer): a quiesced group must tick again. */
  onActive?(): void;
}

/** How to open a group. */
export interface PartitionRaftOptions {
  /** The partition directory (for `raft-state.json`). */
  dir: string;
  log: PartitionLog;
  nodeId: number;
  /**
   * The partition's replicas; this broker alone (or an empty list) is a single-voter group. A replica joining
   * a reassignment is given the group's voters without itself: it starts as a learner-to-be and campaigns never.
   * A membership committed by ConfChange entries (kept in `raft-state.json`) takes precedence.
   */
  voters?: readonly number[];
  /** The leader epoch the metadata holds: the group's first term is at least one below it. */
  minimumLeaderEpoch: number;
  /** Replicated groups: campaign at once (the metadata names this replica leader of a new partition). */
  campaign?: boolean;
  /** Election timeouts' randomness; `Math.random` by default. */
  random?: () => number;
  hooks: PartitionRaftHooks;
}

/** Thrown by `appendAsLeader` when this replica cannot take the batch as leader now. */
export class NotLeaderError extends Error {
  constructor(readonly leaderId: number) {
    super(leaderId > 0 ? `not the partition leader (the leader is ${leaderId})` : "not the partition leader");
  }
}

/**
 * The Raft group of one partition hosted by this broker.
 *
 * @example
 * ```ts ignore
 * const group = await PartitionRaft.open({ dir, log, nodeId, minimumLeaderEpoch: 0, hooks: { onCommitted, onFailed } });
 * const { baseOffset } = group.appendAsLeader(batchBytes, count); // written now, committed after the next fsync
 * ```
 */
export class PartitionRaft {
  #node!: RawNode;
  #storage!: PartitionLogStorage;
  #driving = false;
  #closed = false;
  #failure: unknown;
  #persisted: StoredRaftState;
  #view = "";
  /** Ticks left during which a replica told to campaign tries again while no leader is known. */
  #eagerTicks = 0;
  readonly #replicated: boolean;
  /** On the leader: the log start offset each follower reported last. */
  readonly #followerLogStarts = new Map<number, number>();
  /** On a follower: the newest log start offset to follow, and whether a move is running. */
  #logStartTarget = -1;
  #followingLogStart = false;
  /** The configuration the group starts from. */
  readonly #initialConfig: ConfState;

  private constructor(
    private readonly dir: string,
    private readonly log: PartitionLog,
    private readonly hooks: PartitionRaftHooks,
    persisted: StoredRaftState,
    config: ConfState,
  ) {
    this.#persisted = persisted;
    this.#initialConfig = config;
    this.#replicated = config.voters.length + config.learners.length > 1;
  }

  /**
   * Starts the group over `log`. A single voter elects itself at once: the term (the leader epoch) goes up by
   * one at every start, as Kafka's leader epoch does at every leader election. A replicated group starts as a
   * follower from its durable state and campaigns at once only with `campaign`.
   */
  static async open(options: PartitionRaftOptions): Promise<PartitionRaft> {
    const { dir, log, nodeId, minimumLeaderEpoch, hooks } = options;
    const voters = options.voters && options.voters.length > 0 ? [...options.voters] : [nodeId];
    const stored = readRaftState(dir);
    // Batches carry their leader epoch durably; a term below the log's latest epoch would reuse an epoch. The
    // metadata's epoch is a floor too, so the group's first term is at least what clients were told.
    // A single voter's election adds one: a new partition (no state, no batches) elects itself in exactly the
    // metadata's epoch (0 for a new topic, as in Kafka); every later start raises it by one.
    const latestEpoch = log.latestEpoch()?.epoch ?? -1;
    const term = Math.max(stored.term, latestEpoch, minimumLeaderEpoch - 1);
    const vote = term === stored.term ? stored.vote : NONE;
    const config = stored.config ?? { voters, learners: [] };
    const group = new PartitionRaft(dir, log, hooks, { ...stored, term, vote }, config);
    if (!group.#replicated) {
      // With one voter every persisted entry is committed: recovery already cut what was not durable.
      group.#start(nodeId, { term, vote, commit: log.logEndOffset - 1 }, options.random);
      await group.#elect();
      return group;
    }
    // Several voters: only what was known committed is; the tail may be a deposed leader's, to be cut.
    const commit = Math.min(Math.max(stored.commit, log.logStartOffset - 1), log.logEndOffset - 1);
    group.#start(nodeId, { term, vote, commit }, options.random, stored.snapshot);
    if (options.campaign) {
      // The other replicas may not have opened the partition yet (they apply the metadata when they get to it)
      // and drop the first vote requests: try again every other tick for an election timeout. Pre-vote keeps
      // the retries from raising the term.
      group.#eagerTicks = PARTITION_ELECTION_TICKS;
      group.#node.campaign();
    }
    group.#kick();
    return group;
  }

  #start(nodeId: number, hardState: HardState, random = Math.random, snapshotPoint?: StoredRaftState["snapshot"]) {
    this.#storage = new PartitionLogStorage(
      this.log,
      hardState,
      this.#initialConfig,
      snapshotPoint,
      (start) => this.hooks.snapshotData?.(start) ?? new Uint8Array(0),
    );
    this.#node = new RawNode({
      id: nodeId,
      storage: this.#storage,
      random,
      electionTick: PARTITION_ELECTION_TICKS,
      heartbeatTick: PARTITION_HEARTBEAT_TICKS,
      // A new partition's first leader writes nothing of its own: its first record is at offset 0, as in Kafka.
      skipLeaderEntryWhenCommitted: true,
    });
    this.#view = this.#currentView();
  }

  async #elect(): Promise<void> {
    this.#node.campaign();
    await this.#drive();
    if (this.#node.status().role !== "leader") throw new Error(`partition ${this.dir}: the voter did not win`);
  }

  /**
   * Starts a new term (leader epoch) for a single-voter group, as a leader election does: what was appended so
   * far is committed first. Used when the partition's leadership is re-established after fencing.
   */
  async startNewTerm(): Promise<void> {
    if (this.#replicated) return;
    await this.#idle();
    const { id, term, vote } = this.#node.status();
    this.#start(id, { term, vote, commit: this.log.logEndOffset - 1 });
    await this.#elect();
  }

  async #idle(): Promise<void> {
    while (this.#driving || this.#node.hasReady()) {
      if (!this.#driving) await this.#drive();
      else await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** True when the group has more than one voter. */
  get replicated(): boolean {
    return this.#replicated;
  }

  /** The group's voters as committed so far (the partition's replicas, or what a reassignment made of them). */
  get voters(): readonly number[] {
    return this.#node.raft.config.voters;
  }

  /** The group's learners (replicas a reassignment is adding, catching up). */
  get learners(): readonly number[] {
    return this.#node.raft.config.learners;
  }

  /** On the leader, the index up to which the group's entries are committed (-1 elsewhere, or none). */
  get commitIndex(): number {
    return this.#node.raft.role === "leader" ? this.#node.raft.log.committed : -1;
  }

  /**
   * Proposes one membership change (leader only). The change entry is written to the log at once, as a produced
   * batch is, so the produce path never sees the log behind the Raft log. Returns false when the core refuses
   * it now: not the leader, a change still uncommitted, or no entry of this term committed yet.
   */
  proposeConfChange(change: ConfChange): boolean {
    if (this.#failure || !this.isLeader) return false;
    const index = this.#node.nextIndex();
    const term = this.#node.raft.term;
    // The core's entry carries the change and the configuration it leads to (applied when committed).
    const data = encodeConfEntry({ change, config: applyConfChange(this.#node.raft.config, change) });
    const proposed = this.#node.proposeConfChange(change);
    if (!proposed.ok) return false;
    const entry: Entry = {
      index,
      count: 1,
      term,
      type: EntryType.ConfChange,
      data: this.#node.raft.log.unstable.find((e) => e.index === index)?.data ?? data,
    };
    try {
      this.log.append(controlBatchOf(entry), { leaderEpoch: term });
    } catch (e) {
      this.#fail(e);
      return false;
    }
    this.#storage.remember(entry);
    this.#kick();
    return true;
  }

  /** The leader epoch: the Raft term. */
  get leaderEpoch(): number {
    return this.#node.raft.term;
  }

  /** This broker's node id. */
  get nodeId(): number {
    return this.#node.raft.id;
  }

  /**
   * True while this replica leads the group and may take produces: it is the Raft leader, an entry of its own
   * term is committed (so every earlier entry is, and is written here), and its log holds the whole Raft log.
   */
  get isLeader(): boolean {
    const raft = this.#node.raft;
    if (raft.role !== "leader" || this.#closed) return false;
    if (!this.#replicated) return true;
    // Every entry of earlier terms must be committed (then it is written here and the producer state is whole):
    // the entries before this term's first one (its LeaderChange batch, or its first record batch when the
    // leader found its whole log committed and wrote no LeaderChange), or the whole log while the term has none.
    const latest = this.log.latestEpoch();
    const termStart = latest?.epoch === raft.term ? latest.startOffset : this.#node.nextIndex();
    return raft.log.committed >= termStart - 1 && this.log.logEndOffset === this.#node.nextIndex();
  }

  /** True while this replica is the Raft leader, even before it may take produces. */
  get isRaftLeader(): boolean {
    return this.#node.raft.role === "leader";
  }

  /** The group's leader as this replica knows it (NONE, 0, while none is known). */
  get leaderId(): number {
    return this.#node.raft.lead;
  }

  /** The commit index + 1, bounded by what is durable here. */
  get committedEnd(): number {
    return Math.min(this.#node.raft.log.committed + 1, this.log.flushedOffset);
  }

  /** The index (base offset) the next appended batch receives. */
  nextIndex(): number {
    return this.#node.nextIndex();
  }

  /**
   * On the leader, the last offset each replica is known to hold durably (its match index; this broker's own
   * is what it fsynced). Empty on a follower.
   */
  matchIndexes(): Map<number, number> {
    const out = new Map<number, number>();
    const raft = this.#node.raft;
    if (raft.role !== "leader") return out;
    for (const [id, pr] of raft.progress) out.set(id, pr.match);
    return out;
  }

  /** On the leader, the match index of replica `id` (undefined elsewhere); allocates nothing. */
  matchIndex(id: number): number | undefined {
    const raft = this.#node.raft;
    return raft.role === "leader" ? raft.progress.get(id)?.match : undefined;
  }

  /** On the leader, how many replicas (itself included) hold `offset` durably; 0 elsewhere. */
  replicasHolding(offset: number): number {
    const raft = this.#node.raft;
    if (raft.role !== "leader") return 0;
    let n = 0;
    for (const pr of raft.progress.values()) if (pr.match >= offset) n++;
    return n;
  }

  /**
   * Stamps a batch (already validated) with the next offset and this leader's epoch, writes it to the log and
   * proposes it. The write is synchronous; durability, replication and the commit follow in the ready loop.
   * Throws NotLeaderError when this replica may not take produces now (nothing was written), or what
   * `log.append` throws (a LogError; the group then fails, as the core holds an entry the log could not take).
   */
  appendAsLeader(batch: Uint8Array, count: number): { baseOffset: number; lastOffset: number } {
    if (this.#failure) throw this.#failure;
    if (!this.isLeader) throw new NotLeaderError(this.leaderId);
    const index = this.#node.nextIndex();
    const term = this.#node.raft.term;
    // Stamped before proposing: the entry's bytes are what followers receive and store.
    stampBaseOffset(batch, BigInt(index));
    stampPartitionLeaderEpoch(batch, term);
    const proposed = this.#node.propose(count, batch);
    if (!proposed.ok) throw new NotLeaderError(proposed.leader);
    let appended;
    try {
      appended = this.log.append(batch, { leaderEpoch: proposed.term });
    } catch (e) {
      this.#fail(e);
      throw e;
    }
    if (appended.baseOffset !== proposed.index) {
      const error = new Error(`partition ${this.dir}: log offset ${appended.baseOffset} != raft index ${index}`);
      this.#fail(error);
      throw error;
    }
    this.#storage.remember({ index, count, term, type: EntryType.Normal, data: batch });
    this.#kick();
    return { baseOffset: appended.baseOffset, lastOffset: appended.lastOffset };
  }

  /** Advances the group's clock by one tick (replicated groups; the ReplicaManager's timer calls it). */
  tick(): void {
    if (this.#closed || !this.#replicated || this.#failure) return;
    this.#node.tick();
    if (this.#eagerTicks > 0) {
      this.#eagerTicks--;
      const raft = this.#node.raft;
      if (raft.lead !== NONE) this.#eagerTicks = 0;
      else if (this.#eagerTicks % 2 === 0 && raft.role !== "candidate") this.#node.campaign();
    }
    this.#kick();
  }

  /** Steps a message from another replica into the group. */
  step(message: Message): void {
    if (this.#closed || this.#failure) return;
    if (message.type === "app" && message.entries.length > 0) {
      message = { ...message, entries: this.#alignFillers(message.entries) };
    }
    try {
      this.#node.step(message);
    } catch (e) {
      // The core refuses what it cannot reconcile (e.g. entries that do not follow its log): this group stops,
      // logged by its owner; the broker and every other group keep serving.
      this.#fail(e);
      return;
    }
    if (
      (message.type === "app_resp" || message.type === "heartbeat_resp") && this.#node.raft.role === "leader"
    ) {
      if (message.logStartOffset !== undefined) this.#followerLogStarts.set(message.from, message.logStartOffset);
      this.hooks.onFollowerHeard?.(message.from);
    } else if (message.type === "app" || message.type === "heartbeat") {
      this.#followLogStart(message);
    }
    this.#kick();
  }

  /**
   * Splits the leader's filler entries (`compacted_gap.ts`) at this replica's log end and at its epoch starts.
   * A filler has no boundaries of its own, but the core counts an entry present when the log holds its first index
   * in its term; a filler that starts inside this log and runs past its end (the leader resent from its last
   * acknowledged offset, below what arrived here) would then be skipped whole. Split, each piece lies wholly inside
   * one epoch of this log (present, or a clean conflict at an entry boundary) or wholly after it.
   */
  #alignFillers(entries: Entry[]): Entry[] {
    const end = this.#node.raft.log.lastIndex() + 1;
    const straddles = (e: Entry) =>
      e.index < end && e.type === EntryType.Normal && isGapFillerBatch(e.data) && e.count > 1;
    if (!entries.some(straddles)) return entries;
    const out: Entry[] = [];
    for (const e of entries) {
      if (!straddles(e)) {
        out.push(e);
        continue;
      }
      const stop = e.index + e.count;
      const pieces = gapFillers(e.index, Math.min(stop, end), (o) => epochRangeAt(this.log, o));
      if (stop > end) pieces.push({ index: end, count: stop - end, term: e.term });
      for (const piece of pieces) {
        // Every piece keeps the leader's term: a piece whose term differs here is a conflict the core resolves.
        const filler = { index: piece.index, count: piece.count, term: e.term };
        out.push({ ...filler, type: EntryType.Normal, data: gapFillerBatch(filler) });
      }
    }
    return out;
  }

  /**
   * Whether the group may stop ticking now (`broker/replication/quiescence.ts`): nothing in flight on a leader, a
   * live leader on a follower. `isLive` says whether a broker was heard within the election timeout.
   */
  quiescence(isLive: (broker: NodeId) => boolean): Quiescence {
    if (this.#closed || this.#failure || !this.#replicated || this.#eagerTicks > 0) return "tick";
    // A leader whose log start moved (DeleteRecords, retention) keeps heartbeating until every follower reported
    // following it: the new log start travels only on messages, and DeleteRecords waits for the followers.
    if (this.#node.raft.role === "leader") {
      const start = this.log.logStartOffset;
      for (const id of this.#node.raft.progress.keys()) {
        if (id !== this.nodeId && (this.#followerLogStarts.get(id) ?? start) < start) return "tick";
      }
    }
    return quiescenceOf(this.#node.raft, this.#driving || this.#node.hasReady(), isLive);
  }

  /** Wakes a quiesced group (its leader's log start moved: the followers must hear of it). */
  wake(): void {
    this.#kick();
  }

  /** Hands leadership to `target` (an in-sync follower); false when this replica is not the leader. */
  transferLeadership(target: NodeId): boolean {
    const started = this.#node.transferLeadership(target);
    this.#kick();
    return started;
  }

  #fail(e: unknown): void {
    if (this.#failure) return;
    this.#failure = e;
    this.hooks.onFailed(e);
  }

  #kick(): void {
    if (!this.#closed && !this.#failure) this.hooks.onActive?.();
    this.#checkView();
    if (this.#driving || this.#closed || this.#failure) return;
    this.#drive().catch((e) => this.#fail(e));
  }

  #currentView(): string {
    const { voters, learners } = this.#node.raft.config;
    return `${this.isLeader}/${this.#node.raft.lead}/${this.#node.raft.term}/${voters}/${learners}`;
  }

  /** Tells the replica when the role, the leader or the term changed (a tick or a message can change them). */
  #checkView(): void {
    // A single voter leads from its start to its close; its produce path builds no view string.
    if (!this.#replicated) return;
    const view = this.#currentView();
    if (view === this.#view) return;
    this.#view = view;
    this.hooks.onRoleChanged?.();
  }

  /**
   * A partition applies nothing: its state is its log. The core's applied index is moved along so it never
   * reads committed entries back just to hand them out.
   */
  #skipApply(): void {
    const log = this.#node.raft.log;
    const appliable = log.maxAppliable();
    if (appliable > log.applied) log.applied = appliable;
  }

  /**
   * The ready loop: a snapshot restarts the log; entries are written (a follower's conflicting suffix cut
   * first) and made durable with one group-commit fsync; hard-state changes (term, vote) are persisted; only
   * then do messages leave; the core learns everything is durable and the commit index moves.
   */
  async #drive(): Promise<void> {
    if (this.#driving) return;
    this.#driving = true;
    try {
      while (!this.#closed) {
        // Let producers woken by the previous round (a few microtasks away) propose first, so this round's
        // fsync covers them too; a microtask costs ~30 ns where a timer would cost ~2 ms.
        for (let i = 0; i < 8; i++) await Promise.resolve();
        this.#skipApply();
        if (this.#closed || !this.#node.hasReady()) break;
        const ready = this.#node.ready();
        const hs = ready.hardState;
        if (ready.snapshot) await this.#installSnapshot(ready.snapshot);
        if (ready.entries.length > 0) await this.#writeEntries(ready.entries);
        // A leader may send its entries while it fsyncs them itself (Raft §10.2.1): it counts its own copy only
        // once durable (`advance`), and its messages promise nothing about its disk. Its term and vote must be
        // durable already, and none of the messages may be a follower's answer, so only a leader whose hard state
        // did not change in this ready sends early.
        const hsPersisted = !hs || (hs.term === this.#persisted.term && hs.vote === this.#persisted.vote);
        const sendEarly = this.#replicated && !ready.snapshot && ready.softState.role === "leader" && hsPersisted &&
          this.#node.raft.role === "leader";
        if (sendEarly && ready.messages.length > 0) this.#send(ready.messages);
        if (ready.entries.length > 0) {
          const last = ready.entries[ready.entries.length - 1];
          await this.log.waitForDurable(last.index + last.count);
        }
        // A sole voter recovers its term from the log's leader epochs at start (see `open`), so it writes no
        // state file: opening thousands of partitions creates no file each. With other voters, term and vote
        // must be durable before any message leaves.
        if (this.#replicated && hs && (hs.term !== this.#persisted.term || hs.vote !== this.#persisted.vote)) {
          await this.#writeState({ ...this.#persisted, term: hs.term, vote: hs.vote, commit: hs.commit });
        }
        if (!sendEarly && ready.messages.length > 0) this.#send(ready.messages);
        this.#node.advance();
        const commit = this.#node.raft.log.committed;
        await this.#persistConfig();
        this.#storage.forgetThrough(commit);
        this.hooks.onCommitted(this.committedEnd);
        this.#checkView();
      }
    } finally {
      this.#driving = false;
    }
  }

  /**
   * Sends the core's messages with this replica's log start offset on each: the leader's tells the followers
   * where the partition's log starts now, a follower's answer tells the leader how far it followed.
   */
  #send(messages: Message[]): void {
    const logStartOffset = this.log.logStartOffset;
    for (const m of messages) m.logStartOffset = logStartOffset;
    this.hooks.send?.(messages);
  }

  /**
   * Follows the log start offset the current leader sent (it moves on DeleteRecords and retention), as a Kafka
   * follower takes the leader's log start from each fetch response: up to this replica's committed end only, so
   * what is cut is committed, identical on the leader, and never a tail a new leader may still replace. Moves run
   * one at a time; a move asked meanwhile runs after it, to the newest target.
   */
  #followLogStart(m: Message): void {
    const raft = this.#node.raft;
    if (m.logStartOffset === undefined || m.from !== raft.lead || m.term !== raft.term || raft.role === "leader") {
      return;
    }
    const target = Math.min(m.logStartOffset, this.committedEnd);
    if (target <= this.log.logStartOffset || target <= this.#logStartTarget) return;
    this.#logStartTarget = target;
    if (this.#followingLogStart) return;
    this.#followingLogStart = true;
    (async () => {
      try {
        while (!this.#closed && !this.#failure && this.#logStartTarget > this.log.logStartOffset) {
          await this.log.deleteRecordsBefore(this.#logStartTarget);
          this.hooks.onLogStartMoved?.(this.log.logStartOffset);
        }
      } finally {
        this.#followingLogStart = false;
      }
    })().catch((e) => this.#fail(e));
  }

  /** On the leader, the log start offset follower `id` last reported; undefined before it reported one. */
  followerLogStartOffset(id: number): number | undefined {
    return this.#node.raft.role === "leader" ? this.#followerLogStarts.get(id) : undefined;
  }

  /**
   * Once a ConfChange entry committed (the core applied it), the membership is written to `raft-state.json`
   * with a commit index at or past it, so the next start begins from it rather than from the metadata.
   */
  async #persistConfig(): Promise<void> {
    const config = this.#node.raft.config;
    // The core replaces its configuration object at each change: most rounds stop at this comparison.
    if (config === this.#storage.config) return;
    this.#storage.config = config;
    if (!this.#replicated || sameConf(config, this.#persisted.config ?? this.#initialConfig)) return;
    const commit = Math.max(
      this.#persisted.commit,
      Math.min(this.#node.raft.log.committed, this.log.flushedOffset - 1),
    );
    await this.#writeState({ ...this.#persisted, commit, config: { ...config } });
  }

  async #writeState(state: StoredRaftState): Promise<void> {
    await writeRaftState(this.dir, state);
    this.#persisted = state;
  }

  /** Same index and term means the same entry (Raft's log matching): the log holds it already. */
  #holds(e: Entry): boolean {
    return e.index + e.count <= this.log.logEndOffset && e.index >= this.log.logStartOffset &&
      Math.max(this.log.epochForOffset(e.index), 0) === e.term;
  }

  /** Writes the entries the log does not hold yet (not durable: the caller waits for the fsync). */
  async #writeEntries(entries: Entry[]): Promise<void> {
    let i = 0;
    // The leader wrote its own proposals as it made them; entries sent again are held already too.
    while (i < entries.length && this.#holds(entries[i])) i++;
    if (i < entries.length) {
      const first = entries[i].index;
      if (first < this.log.logEndOffset) {
        // A deposed leader's uncommitted tail: cut it before writing the new leader's batches.
        await this.log.truncateTo(first);
        this.#storage.forgetFrom(first);
        this.hooks.onTruncated?.(first);
      }
      for (; i < entries.length; i++) this.#write(entries[i]);
    }
  }

  /** Writes one entry another leader created (or this leader's LeaderChange) at the log end. */
  #write(e: Entry): void {
    const bytes = e.type === EntryType.Normal ? e.data : controlBatchOf(e);
    if (this.log.logEndOffset !== e.index) {
      throw new Error(
        `partition ${this.dir}: raft entry at ${e.index} does not follow the log end ${this.log.logEndOffset}`,
      );
    }
    const appended = this.log.append(bytes, { leaderEpoch: e.term });
    if (appended.lastOffset !== e.index + e.count - 1) {
      throw new Error(
        `partition ${this.dir}: batch at ${e.index} spans ${
          appended.lastOffset - e.index + 1
        } offsets, raft says ${e.count}`,
      );
    }
    this.#storage.remember({ ...e, data: e.type === EntryType.Normal ? bytes : e.data });
    if (e.type === EntryType.Normal) this.hooks.onReplicated?.(bytes, e.index);
  }

  async #installSnapshot(snapshot: Snapshot): Promise<void> {
    const start = snapshot.meta.index + 1;
    await this.log.truncateFullyAndStartAt(start);
    const point = { index: snapshot.meta.index, term: snapshot.meta.term };
    this.#storage.setSnapshotPoint(point);
    await this.#writeState({ ...this.#persisted, commit: snapshot.meta.index, snapshot: point });
    this.hooks.onTruncated?.(start);
    this.hooks.onSnapshotInstalled?.(start, snapshot.data);
  }

  /**
   * Stops the group: no more ticks, messages or rounds. A replicated group writes its commit index (a lower
   * bound for the next start). The log stays open (its owner closes it).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (let i = 0; i < 1000 && this.#driving; i++) await new Promise((r) => setTimeout(r, 1));
    if (this.#replicated && !this.#failure && !this.log.isOffline) {
      const commit = Math.min(this.#node.raft.log.committed, this.log.flushedOffset - 1);
      if (commit > this.#persisted.commit) {
        await this.#writeState({ ...this.#persisted, commit }).catch(() => {});
      }
    }
  }
}
