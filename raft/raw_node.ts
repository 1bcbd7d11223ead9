/**
 * The caller's handle on one Raft node: feed it ticks, messages and proposals; then take a {@linkcode Ready},
 * do its I/O in order, and `advance()`.
 *
 * The contract, for each `ready()`:
 * 1. persist `snapshot` (if any), then `entries`, then `hardState` (if any) — durably;
 * 2. send `messages` (only now: they may promise what was just persisted, e.g. a vote);
 * 3. apply `snapshot` to the state machine, then `committedEntries` in order;
 * 4. call `advance()` before stepping, ticking or proposing again.
 *
 * @module
 */
import type { ConfChange } from "./conf_change.ts";
import { type ProposeResult, Raft, type RaftConfig, type RaftStatus, type Role } from "./raft.ts";
import {
  type Entry,
  EntryType,
  type HardState,
  lastIndexOf,
  type Message,
  type NodeId,
  type Snapshot,
} from "./types.ts";

/** Volatile state worth reporting (leadership changes). */
export interface SoftState {
  /** Known leader, or NONE. */
  lead: NodeId;
  /** This node's role. */
  role: Role;
}

/** Everything a node needs its caller to do. See the module docs for the order. */
export interface Ready {
  /** Leader and role now. */
  softState: SoftState;
  /** New hard state to persist, if it changed. */
  hardState?: HardState;
  /** Snapshot received from the leader, to persist (it replaces the whole log) and then apply. */
  snapshot?: Snapshot;
  /** Entries to persist, after dropping any persisted entry at or after the first one's index. */
  entries: Entry[];
  /** Messages to send once the above is durable. */
  messages: Message[];
  /** Entries committed and persisted, to apply in order. */
  committedEntries: Entry[];
}

/** Options beyond the core's. */
export interface RawNodeOptions extends RaftConfig {
  /** Most payload bytes of committed entries per ready. Default 4 MiB. */
  maxCommittedSizePerReady?: number;
}

/**
 * A Raft node driven through ready/advance.
 *
 * @example
 * ```ts
 * import { RawNode } from "./raw_node.ts";
 * import { MemoryStorage } from "./storage.ts";
 * const storage = new MemoryStorage({ voters: [1], learners: [] });
 * const node = new RawNode({ id: 1, storage, random: Math.random });
 * node.campaign();
 * node.propose(3, new TextEncoder().encode("batch"));
 * while (node.hasReady()) {
 *   const rd = node.ready();
 *   storage.append(rd.entries);
 *   if (rd.hardState) storage.setHardState(rd.hardState);
 *   node.advance();
 * }
 * node.raft.log.committed; // 2: the batch covers offsets 0..2 (a lone voter appends no entry of its own)
 * ```
 */
export class RawNode {
  /** The protocol state machine. */
  readonly raft: Raft;
  readonly #maxCommittedSize: number;
  #prevHardState: HardState;
  #prevSoft: SoftState;
  #pending: Ready | undefined;

  /** Starts a node from `opts.storage`. */
  constructor(opts: RawNodeOptions) {
    this.raft = new Raft(opts);
    this.#maxCommittedSize = opts.maxCommittedSizePerReady ?? 4 << 20;
    this.#prevHardState = opts.storage.initialState().hardState;
    this.#prevSoft = this.#softState();
  }

  /** Advances logical time by one tick. */
  tick(): void {
    this.raft.tick();
  }

  /** Handles a message from a peer. */
  step(m: Message): void {
    this.raft.step(m);
  }

  /** Starts an election now. */
  campaign(): void {
    this.raft.campaign();
  }

  /**
   * The index the next proposal will receive (the leader's log end offset), so the caller can stamp a
   * batch's base offset and leader epoch (`raft.term`) before proposing it.
   */
  nextIndex(): number {
    return this.raft.log.lastIndex() + 1;
  }

  /** Proposes a batch of `count` offsets (leader only). */
  propose(count: number, data: Uint8Array, type: EntryType = EntryType.Normal): ProposeResult {
    return this.raft.propose(count, data, type);
  }

  /** Proposes a membership change (leader only). */
  proposeConfChange(change: ConfChange): ProposeResult {
    return this.raft.proposeConfChange(change);
  }

  /** Term, role, leader, log bounds, commit and the leader's view of its followers. */
  status(): RaftStatus {
    return this.raft.status();
  }

  /** Hands leadership to `target` (leader only). */
  transferLeadership(target: NodeId): boolean {
    return this.raft.transferLeadership(target);
  }

  #softState(): SoftState {
    return { lead: this.raft.lead, role: this.raft.role };
  }

  #hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.log.committed };
  }

  /** Whether `ready()` has anything to do. */
  hasReady(): boolean {
    const r = this.raft;
    const hs = this.#hardState();
    const p = this.#prevHardState;
    return r.msgs.length > 0 || r.log.unstable.length > 0 || r.log.unstableSnapshot !== undefined ||
      hs.term !== p.term || hs.vote !== p.vote || hs.commit !== p.commit ||
      r.log.maxAppliable() > r.log.applied;
  }

  /** What to persist, send and apply now. Call `advance()` when done. */
  ready(): Ready {
    const r = this.raft;
    const hs = this.#hardState();
    const p = this.#prevHardState;
    const changed = hs.term !== p.term || hs.vote !== p.vote || hs.commit !== p.commit;
    const rd: Ready = {
      softState: this.#softState(),
      hardState: changed ? hs : undefined,
      snapshot: r.log.unstableSnapshot,
      entries: [...r.log.unstable],
      messages: r.msgs,
      committedEntries: r.log.nextCommitted(this.#maxCommittedSize),
    };
    r.msgs = [];
    this.#pending = rd;
    return rd;
  }

  /** Acknowledges that the last ready's work is done. */
  advance(): void {
    const rd = this.#pending;
    if (!rd) return;
    this.#pending = undefined;
    const log = this.raft.log;
    if (rd.hardState) this.#prevHardState = rd.hardState;
    if (rd.snapshot) {
      log.stableSnapTo(rd.snapshot.meta.index);
      log.applied = Math.max(log.applied, rd.snapshot.meta.index);
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      log.stableTo(lastIndexOf(last), last.term);
    }
    if (rd.committedEntries.length > 0) {
      log.applied = lastIndexOf(rd.committedEntries[rd.committedEntries.length - 1]);
    }
    this.#prevSoft = rd.softState;
    this.raft.onPersisted();
  }

  /** The leader and role reported by the previous ready. */
  get lastSoftState(): SoftState {
    return this.#prevSoft;
  }
}
