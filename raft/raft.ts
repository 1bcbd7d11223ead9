/**
 * The Raft protocol as a pure state machine: messages in through `step`, time in through `tick`, and
 * everything to persist or send collected for {@linkcode RawNode} to hand out. No I/O, no clocks, no
 * randomness of its own: election timeouts come from the injected `random` function.
 *
 * Features: randomized elections, pre-vote, check-quorum with leader leases, pipelined replication with
 * flow control (in-flight messages and bytes), fast backtracking by term, commit by majority of
 * current-term entries only, snapshots for followers behind the log start, single-node membership changes
 * with learners, and leadership transfer.
 *
 * @module
 */
import { applyConfChange, type ConfChange, decodeConfEntry, encodeConfEntry } from "./conf_change.ts";
import { Progress } from "./progress.ts";
import { committedIndex, hasQuorum, type VoteResult, voteResult } from "./quorum.ts";
import { RaftLog } from "./raft_log.ts";
import type { Storage } from "./storage.ts";
import {
  type ConfState,
  entriesBytes,
  type Entry,
  EntryType,
  lastIndexOf,
  type Message,
  message,
  type MessageType,
  type NodeId,
  NONE,
  type Snapshot,
} from "./types.ts";

/** A node's role in its group. */
export type Role = "follower" | "pre_candidate" | "candidate" | "leader";

/** Settings of one Raft node. Times are in ticks. */
export interface RaftConfig {
  /** This node's id (positive). */
  id: NodeId;
  /** Durable state to start from. */
  storage: Storage;
  /** Ticks without hearing from a leader before campaigning (randomized in `[e, 2e)`). Default 10. */
  electionTick?: number;
  /** Ticks between leader heartbeats. Default 1. */
  heartbeatTick?: number;
  /** Uniform random numbers in `[0, 1)`; inject a seeded PRNG for determinism. */
  random: () => number;
  /** Run a pre-vote round before incrementing the term. Default true. */
  preVote?: boolean;
  /** Leaders step down without a quorum; followers ignore votes while they hear a leader. Default true. */
  checkQuorum?: boolean;
  /** Most payload bytes per append message (at least one entry is always sent). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Most append messages in flight per follower. Default 64. */
  maxInflightMsgs?: number;
  /** Most payload bytes in flight per follower. Default 8 MiB. */
  maxInflightBytes?: number;
  /**
   * A new leader whose whole log is already known to be committed appends no LeaderChange entry: there is nothing
   * of earlier terms left to commit (§5.4.2). A partition's first leader then leaves offset 0 to the first record,
   * as in Kafka. Membership changes wait until an entry of the new term is committed, as they must (the
   * single-server change fix). Default false (the metadata quorum relies on the entry to know it caught up).
   */
  skipLeaderEntryWhenCommitted?: boolean;
}

/** Why a proposal was refused. */
export type ProposeError = "not_leader" | "transferring" | "conf_change_pending" | "invalid_conf_change";

/** The outcome of a proposal: the index range assigned, or why there is none. */
export type ProposeResult =
  | { ok: true; index: number; lastIndex: number; term: number }
  | { ok: false; error: ProposeError; leader: NodeId };

/** A snapshot of a node's volatile and persistent state, for tests, metrics and the simulator. */
export interface RaftStatus {
  /** This node. */
  id: NodeId;
  /** Current term (the partition leader epoch). */
  term: number;
  /** Vote cast in `term`. */
  vote: NodeId;
  /** Known leader, or NONE. */
  lead: NodeId;
  /** Current role. */
  role: Role;
  /** Last committed index (high watermark - 1). */
  commit: number;
  /** Last applied index. */
  applied: number;
  /** Last index in the log (log end offset - 1). */
  lastIndex: number;
  /** First index in the log (log start offset). */
  firstIndex: number;
  /** Membership in effect. */
  config: ConfState;
  /** Target of a leadership transfer in progress, or NONE. */
  leadTransferee: NodeId;
  /** The leader's view of each member (empty on followers). */
  progress: Map<NodeId, { match: number; next: number; state: string; inflight: number }>;
}

/**
 * One Raft node.
 *
 * @example
 * ```ts
 * import { Raft } from "./raft.ts";
 * import { MemoryStorage } from "./storage.ts";
 * const r = new Raft({ id: 1, storage: new MemoryStorage({ voters: [1], learners: [] }), random: Math.random });
 * r.campaign(); // a single voter wins at once
 * r.role; // "leader"
 * ```
 */
export class Raft {
  /** This node. */
  readonly id: NodeId;
  /** Current term. */
  term = 0;
  /** Vote cast in `term`, or NONE. */
  vote: NodeId = NONE;
  /** Known leader of `term`, or NONE. */
  lead: NodeId = NONE;
  /** Current role. */
  role: Role = "follower";
  /** Durable log plus the unstable tail, with commit and applied indexes. */
  readonly log: RaftLog;
  /** Membership in effect (changes take effect when committed). */
  config: ConfState;
  /** The leader's view of every member, itself included. */
  progress = new Map<NodeId, Progress>();
  /** Outgoing messages, handed out by `RawNode.ready()`. */
  msgs: Message[] = [];
  /** Node being handed leadership, or NONE. */
  leadTransferee: NodeId = NONE;

  /** See {@linkcode RaftConfig.electionTick}. */
  readonly electionTick: number;
  /** See {@linkcode RaftConfig.heartbeatTick}. */
  readonly heartbeatTick: number;
  /** See {@linkcode RaftConfig.preVote}. */
  readonly preVote: boolean;
  /** See {@linkcode RaftConfig.checkQuorum}. */
  readonly checkQuorum: boolean;
  /** See {@linkcode RaftConfig.maxSizePerMsg}. */
  readonly maxSizePerMsg: number;
  /** See {@linkcode RaftConfig.maxInflightMsgs}. */
  readonly maxInflightMsgs: number;
  /** See {@linkcode RaftConfig.maxInflightBytes}. */
  readonly maxInflightBytes: number;
  readonly #skipLeaderEntryWhenCommitted: boolean;
  readonly #random: () => number;

  #votes = new Map<NodeId, boolean>();
  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #randomizedElectionTimeout = 0;
  /** Index of the latest config change this leader appended (or of its first entry): none may follow until committed. */
  #pendingConfIndex = -1;
  /** This leader appended no LeaderChange entry: conf changes wait for an entry of its term to commit. */
  #leaderEntrySkipped = false;
  /** Change entries in the log beyond the commit index; they take effect when committed. */
  #pendingConfs: { index: number; config: ConfState }[] = [];

  /** Starts a node from the durable state in `cfg.storage`, as a follower. */
  constructor(cfg: RaftConfig) {
    if (cfg.id === NONE) throw new Error("raft: node id must not be NONE");
    this.id = cfg.id;
    this.electionTick = cfg.electionTick ?? 10;
    this.heartbeatTick = cfg.heartbeatTick ?? 1;
    this.preVote = cfg.preVote ?? true;
    this.checkQuorum = cfg.checkQuorum ?? true;
    this.maxSizePerMsg = cfg.maxSizePerMsg ?? 1 << 20;
    this.maxInflightMsgs = cfg.maxInflightMsgs ?? 64;
    this.maxInflightBytes = cfg.maxInflightBytes ?? 8 << 20;
    this.#skipLeaderEntryWhenCommitted = cfg.skipLeaderEntryWhenCommitted ?? false;
    this.#random = cfg.random;
    this.log = new RaftLog(cfg.storage);
    const init = cfg.storage.initialState();
    this.config = init.config;
    // Changes beyond the durable commit index are still pending: re-read them from the log tail.
    const last = this.log.lastIndex();
    if (this.log.committed < last) {
      for (const e of this.log.slice(this.log.committed + 1, last + 1, Infinity)) this.#trackConf(e);
    }
    this.#becomeFollower(init.hardState.term, NONE);
    this.vote = init.hardState.vote;
  }

  // ---------------------------------------------------------------------------------------------------
  // Inputs

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.role === "leader") this.#tickLeader();
    else this.#tickElection();
  }

  /** Starts an election now (pre-vote first when enabled), if this node may vote. */
  campaign(): void {
    if (!this.#promotable() || this.role === "leader") return;
    this.#campaign(this.preVote ? "pre" : "real");
  }

  /**
   * Appends a proposal of `count` offsets to the leader's log; the index it receives is the leader's last
   * index + 1.
   */
  propose(count: number, data: Uint8Array, type: EntryType = EntryType.Normal): ProposeResult {
    if (count < 1 || !Number.isInteger(count)) throw new Error(`raft: proposal count ${count} must be >= 1`);
    if (this.role !== "leader") return { ok: false, error: "not_leader", leader: this.lead };
    if (this.leadTransferee !== NONE) return { ok: false, error: "transferring", leader: this.lead };
    if (this.#removingSelf()) return { ok: false, error: "not_leader", leader: NONE };
    const index = this.log.lastIndex() + 1;
    this.#appendEntry({ index, count, term: this.term, type, data });
    this.#bcastAppend();
    return { ok: true, index, lastIndex: index + count - 1, term: this.term };
  }

  /** Proposes a membership change; refused while another is uncommitted. */
  proposeConfChange(change: ConfChange): ProposeResult {
    if (this.role !== "leader") return { ok: false, error: "not_leader", leader: this.lead };
    if (this.#pendingConfIndex > this.log.committed || this.#pendingConfs.length > 0) {
      return { ok: false, error: "conf_change_pending", leader: this.lead };
    }
    if (this.#leaderEntrySkipped && this.log.term(this.log.committed) !== this.term) {
      // No entry of this term is committed yet: an uncommitted change of an earlier term may still win.
      return { ok: false, error: "conf_change_pending", leader: this.lead };
    }
    const next = applyConfChange(this.config, change);
    if (next.voters.length === 0) return { ok: false, error: "invalid_conf_change", leader: this.lead };
    const r = this.propose(1, encodeConfEntry({ change, config: next }), EntryType.ConfChange);
    if (r.ok) this.#pendingConfIndex = r.index;
    return r;
  }

  /** Asks the leader to hand leadership to `target` once its log is caught up. */
  transferLeadership(target: NodeId): boolean {
    if (this.role !== "leader" || target === this.id || !this.config.voters.includes(target)) return false;
    if (this.leadTransferee === target) return true;
    this.leadTransferee = target;
    // The transfer must finish within an election timeout or it is abandoned.
    this.#electionElapsed = 0;
    const pr = this.progress.get(target)!;
    if (pr.match === this.log.lastIndex()) this.#send(message("timeout_now", this.id, target, this.term));
    else this.#sendAppend(target, true);
    return true;
  }

  /** Handles a message from another node of the group. */
  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === "vote" || m.type === "pre_vote") {
        // Leader lease: while we hear from a leader, a (pre-)candidate cannot disrupt it (§9.6 / §4.2.3).
        const inLease = this.checkQuorum && this.lead !== NONE && this.#electionElapsed < this.electionTick;
        if (!m.force && inLease) return;
      }
      if (m.type === "pre_vote" || (m.type === "pre_vote_resp" && !m.reject)) {
        // A pre-vote changes nothing at the receiver; a granted pre-vote is for a term not yet started.
      } else {
        const fromLeader = m.type === "app" || m.type === "heartbeat" || m.type === "snap";
        const elapsed = this.#electionElapsed;
        this.#becomeFollower(m.term, fromLeader ? m.from : NONE);
        // Only a granted vote restarts the election timer (Raft §5.2): a candidate with a stale log must not
        // keep up-to-date nodes from campaigning by resetting their timers with each new term.
        if (m.type === "vote") this.#electionElapsed = elapsed;
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === "app" || m.type === "heartbeat")) {
        // A stale leader learns our term and steps down, else a node whose term moved on while partitioned
        // could never rejoin.
        this.#send(message("app_resp", this.id, m.from, this.term));
      } else if (m.type === "pre_vote" || m.type === "vote") {
        // The refusal carries our term, so a candidate left behind (no leader may exist to tell it) catches up.
        this.#send(message(`${m.type}_resp`, this.id, m.from, this.term, { reject: true }));
      }
      return;
    }

    if (m.type === "vote" || m.type === "pre_vote") {
      const canVote = this.vote === m.from || (this.vote === NONE && this.lead === NONE) ||
        (m.type === "pre_vote" && m.term > this.term);
      const respType: MessageType = m.type === "vote" ? "vote_resp" : "pre_vote_resp";
      if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
        this.#send(message(respType, this.id, m.from, m.term));
        if (m.type === "vote") {
          this.#electionElapsed = 0;
          this.vote = m.from;
        }
      } else {
        this.#send(message(respType, this.id, m.from, this.term, { reject: true }));
      }
      return;
    }

    switch (this.role) {
      case "leader":
        this.#stepLeader(m);
        break;
      case "candidate":
      case "pre_candidate":
        this.#stepCandidate(m);
        break;
      case "follower":
        this.#stepFollower(m);
        break;
    }
  }

  /** Called once what the last ready handed out is durable: the leader counts its own log as acknowledged. */
  onPersisted(): void {
    if (this.role !== "leader") return;
    const self = this.progress.get(this.id);
    if (!self) return;
    const persisted = this.#persistedLast();
    if (self.maybeUpdate(persisted) && this.#maybeCommit()) this.#bcastAppend();
  }

  /** The current state, for observers. */
  status(): RaftStatus {
    const progress = new Map<NodeId, { match: number; next: number; state: string; inflight: number }>();
    if (this.role === "leader") {
      for (const [id, pr] of this.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, inflight: pr.inflights.count });
      }
    }
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      lead: this.lead,
      role: this.role,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      config: this.config,
      leadTransferee: this.leadTransferee,
      progress,
    };
  }

  /**
   * Whether an uncommitted change removes or demotes this leader. It then appends nothing more, so that the
   * voters that commit the change hold its whole log and can elect one of them even if none learns that
   * the change committed (a removed node still votes, but only for logs at least as long as its own).
   */
  #removingSelf(): boolean {
    const n = this.#pendingConfs.length;
    return n > 0 && !this.#pendingConfs[n - 1].config.voters.includes(this.id);
  }

  // ---------------------------------------------------------------------------------------------------
  // Roles

  #promotable(): boolean {
    return this.config.voters.includes(this.id) && this.log.unstableSnapshot === undefined;
  }

  #reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#randomizedElectionTimeout = this.electionTick + Math.floor(this.#random() * this.electionTick);
    this.#votes.clear();
    this.leadTransferee = NONE;
    this.progress.clear();
  }

  #becomeFollower(term: number, lead: NodeId): void {
    this.#reset(term);
    this.role = "follower";
    this.lead = lead;
  }

  #becomeLeader(): void {
    this.#reset(this.term);
    this.role = "leader";
    this.lead = this.id;
    this.#resetProgress();
    if (this.config.voters.length === 1 && this.config.voters[0] === this.id && this.config.learners.length === 0) {
      // A group of one voter is its own quorum: everything it persisted is committed, so no entry of the new
      // term is needed to commit earlier ones, and none is appended (a partition's offsets stay its records').
      this.#commitTo(this.#persistedLast());
      this.#pendingConfIndex = this.log.lastIndex();
      return;
    }
    this.#leaderEntrySkipped = false;
    if (this.#skipLeaderEntryWhenCommitted && this.log.lastIndex() <= this.log.committed) {
      this.#leaderEntrySkipped = true;
      this.#pendingConfIndex = this.log.lastIndex();
      this.#bcastAppend();
      return;
    }
    // Commit an entry of our own term: it commits every earlier entry too (§5.4.2) and unblocks changes.
    const index = this.log.lastIndex() + 1;
    this.#appendEntry({ index, count: 1, term: this.term, type: EntryType.LeaderChange, data: new Uint8Array(0) });
    this.#pendingConfIndex = index;
    this.#bcastAppend();
  }

  #resetProgress(): void {
    this.progress.clear();
    const next = this.log.lastIndex() + 1;
    for (const id of [...this.config.voters, ...this.config.learners]) {
      const pr = new Progress(next, this.maxInflightMsgs, this.maxInflightBytes, this.config.learners.includes(id));
      if (id === this.id) {
        pr.match = this.#persistedLast();
        pr.recentActive = true;
      }
      this.progress.set(id, pr);
    }
  }

  #campaign(kind: "pre" | "real" | "transfer"): void {
    let term: number;
    let type: MessageType;
    if (kind === "pre") {
      this.#reset(this.term);
      this.role = "pre_candidate";
      term = this.term + 1; // the term we would campaign in; ours stays unchanged
      type = "pre_vote";
    } else {
      this.#reset(this.term + 1);
      this.role = "candidate";
      this.vote = this.id;
      term = this.term;
      type = "vote";
    }
    this.#votes.set(this.id, true);
    if (this.#tally() === "won") return this.#onWin(kind);
    for (const id of this.config.voters) {
      if (id === this.id) continue;
      this.#send(message(type, this.id, id, term, {
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        force: kind === "transfer",
      }));
    }
  }

  #tally(): VoteResult {
    return voteResult(this.config.voters, this.#votes);
  }

  #onWin(kind: "pre" | "real" | "transfer"): void {
    if (kind === "pre") this.#campaign("real");
    else this.#becomeLeader();
  }

  #tickElection(): void {
    this.#electionElapsed++;
    if (this.#promotable() && this.#electionElapsed >= this.#randomizedElectionTimeout) {
      this.#electionElapsed = 0;
      this.#campaign(this.preVote ? "pre" : "real");
    }
  }

  #tickLeader(): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    if (this.#electionElapsed >= this.electionTick) {
      this.#electionElapsed = 0;
      if (this.checkQuorum) {
        const active = (id: NodeId) => id === this.id || this.progress.get(id)?.recentActive === true;
        if (!hasQuorum(this.config.voters, active)) {
          this.#becomeFollower(this.term, NONE);
          return;
        }
        for (const [id, pr] of this.progress) pr.recentActive = id === this.id;
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = NONE;
    }
    for (const pr of this.progress.values()) {
      // A snapshot lost on the way would otherwise leave its follower stuck forever.
      if (pr.state === "snapshot" && ++pr.snapshotTicks >= this.electionTick) pr.becomeProbe();
    }
    if (this.#heartbeatElapsed >= this.heartbeatTick) {
      this.#heartbeatElapsed = 0;
      for (const id of this.progress.keys()) {
        if (id === this.id) continue;
        const pr = this.progress.get(id)!;
        const commit = Math.min(pr.match, this.log.committed);
        pr.sentCommit = Math.max(pr.sentCommit, commit);
        this.#send(message("heartbeat", this.id, id, this.term, { commit }));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Per-role message handling

  #stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case "app_resp":
        pr.recentActive = true;
        if (m.reject) this.#onAppendRejected(m, pr);
        else this.#onAppendAccepted(m, pr);
        break;
      case "heartbeat_resp":
        pr.recentActive = true;
        pr.probeSent = false;
        if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirst();
        // An empty append with our commit also uncovers lost appends (the follower rejects the gap).
        if (pr.match < this.log.lastIndex() || pr.match < this.log.committed) this.#sendAppend(m.from, true);
        break;
    }
  }

  #onAppendRejected(m: Message, pr: Progress): void {
    // The follower's hint is an entry boundary of its log with the term there; find where our log could
    // match it, skipping whole terms at a time rather than one entry per round trip.
    const k = this.log.findConflictByTerm(m.rejectHint, m.logTerm);
    if (pr.maybeDecrTo(m.index, k.index + 1)) {
      if (pr.state === "replicate") pr.becomeProbe();
      this.#sendAppend(m.from, true);
    }
  }

  #onAppendAccepted(m: Message, pr: Progress): void {
    const wasPaused = pr.isPaused();
    // An accepted probe at the index already matched (a leader that appended nothing yet) still ends probing.
    const probeConfirmed = pr.state === "probe" && m.index === pr.match;
    if (!pr.maybeUpdate(m.index) && !probeConfirmed) return;
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "replicate") pr.inflights.freeLE(m.index);

    if (this.#maybeCommit()) this.#bcastAppend();
    else if (wasPaused) this.#sendAppend(m.from, false);
    // Pipelining: keep sending while the window allows.
    while (this.#sendAppend(m.from, false));
    // Tell a caught-up follower the commit index now rather than at the next heartbeat.
    if (pr.sentCommit < Math.min(this.log.committed, pr.match)) this.#sendAppend(m.from, true);
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.#send(message("timeout_now", this.id, m.from, this.term));
    }
  }

  #stepCandidate(m: Message): void {
    switch (m.type) {
      case "app":
      case "heartbeat":
      case "snap":
        // Someone won this term.
        this.#becomeFollower(this.term, m.from);
        this.#stepFollower(m);
        break;
      case "vote_resp":
      case "pre_vote_resp": {
        if ((m.type === "vote_resp") !== (this.role === "candidate")) return;
        this.#votes.set(m.from, !m.reject);
        const r = this.#tally();
        if (r === "won") this.#onWin(this.role === "candidate" ? "real" : "pre");
        else if (r === "lost") this.#becomeFollower(this.term, NONE);
        break;
      }
    }
  }

  #stepFollower(m: Message): void {
    switch (m.type) {
      case "app":
        this.#electionElapsed = 0;
        this.lead = m.from;
        this.#handleAppend(m);
        break;
      case "heartbeat":
        this.#electionElapsed = 0;
        this.lead = m.from;
        if (m.commit > this.log.committed) this.#commitTo(Math.min(m.commit, this.log.lastIndex()));
        this.#send(message("heartbeat_resp", this.id, m.from, this.term));
        break;
      case "snap":
        this.#electionElapsed = 0;
        this.lead = m.from;
        this.#handleSnapshot(m);
        break;
      case "timeout_now":
        if (this.#promotable()) this.#campaign("transfer");
        break;
    }
  }

  #handleAppend(m: Message): void {
    const committed = this.log.committed;
    if (m.index < committed) {
      this.#send(message("app_resp", this.id, m.from, this.term, { index: committed }));
      return;
    }
    if (this.log.matchTerm(m.index, m.logTerm)) {
      // Same term at m.index means the same entry, which ends at m.index: boundaries align from here on.
      const lastNew = m.entries.length > 0 ? lastIndexOf(m.entries[m.entries.length - 1]) : m.index;
      const k = this.log.findConflict(m.entries);
      if (k !== undefined) this.#appendToLog(m.entries.slice(k));
      if (m.commit > this.log.committed) this.#commitTo(Math.min(m.commit, lastNew));
      this.#send(message("app_resp", this.id, m.from, this.term, { index: lastNew }));
      return;
    }
    const hint = this.log.findConflictByTerm(m.index, m.logTerm);
    this.#send(message("app_resp", this.id, m.from, this.term, {
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    }));
  }

  #handleSnapshot(m: Message): void {
    const snap = m.snapshot!;
    const { index, term } = snap.meta;
    if (index <= this.log.committed) {
      // Old news.
    } else if (this.log.matchTerm(index, term)) {
      // We hold that prefix already: only the commit index moves.
      this.#commitTo(index);
    } else {
      this.#restore(snap);
    }
    const ack = this.log.unstableSnapshot ? this.log.lastIndex() : this.log.committed;
    this.#send(message("app_resp", this.id, m.from, this.term, { index: ack }));
  }

  #restore(snap: Snapshot): void {
    this.log.restore(snap);
    this.#pendingConfs = [];
    this.config = snap.meta.config;
  }

  // ---------------------------------------------------------------------------------------------------
  // Replication

  #persistedLast(): number {
    if (this.log.unstable.length > 0) return this.log.unstable[0].index - 1;
    if (this.log.unstableSnapshot) return this.log.unstableSnapshot.meta.index;
    return this.log.storage.lastIndex();
  }

  #appendEntry(e: Entry): void {
    this.#appendToLog([e]);
  }

  #appendToLog(entries: Entry[]): void {
    const first = entries[0].index;
    this.#pendingConfs = this.#pendingConfs.filter((p) => p.index < first);
    this.log.truncateAndAppend(entries);
    for (const e of entries) this.#trackConf(e);
  }

  #trackConf(e: Entry): void {
    if (e.type === EntryType.ConfChange && e.index > this.log.committed) {
      this.#pendingConfs.push({ index: e.index, config: decodeConfEntry(e.data).config });
    }
  }

  #send(m: Message): void {
    this.msgs.push(m);
  }

  #bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.#sendAppend(id, true);
  }

  /** Sends the next append (or snapshot) to `to` if flow control allows; true if something was sent. */
  #sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined || pr.next < this.log.firstIndex()) return this.#sendSnapshot(to, pr);
    const last = this.log.lastIndex();
    const entries = pr.next <= last ? this.log.slice(pr.next, last + 1, this.maxSizePerMsg) : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.#send(message("app", this.id, to, this.term, {
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit: this.log.committed,
    }));
    pr.sentCommit = Math.max(pr.sentCommit, this.log.committed);
    if (entries.length > 0) pr.sentEntries(lastIndexOf(entries[entries.length - 1]), entriesBytes(entries));
    else if (pr.state === "probe") pr.probeSent = true;
    return true;
  }

  #sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snap = this.log.unstableSnapshot ?? this.log.storage.snapshot();
    this.#send(message("snap", this.id, to, this.term, { snapshot: snap }));
    pr.becomeSnapshot(snap.meta.index);
    return true;
  }

  /** Advances the commit index to what a majority holds, if that entry is of the current term (§5.4.2). */
  #maybeCommit(): boolean {
    const m = committedIndex(this.config.voters, (id) => this.progress.get(id)?.match);
    if (m === Infinity || m <= this.log.committed) return false;
    if (this.log.term(m) !== this.term) return false;
    this.#commitTo(m);
    return true;
  }

  #commitTo(index: number): void {
    if (index <= this.log.committed) return;
    this.log.committed = index;
    while (this.#pendingConfs.length > 0 && this.#pendingConfs[0].index <= index) {
      this.#applyConfig(this.#pendingConfs.shift()!.config);
    }
  }

  #applyConfig(conf: ConfState): void {
    this.config = conf;
    if (this.role !== "leader") return;
    const next = this.log.lastIndex() + 1;
    for (const id of [...this.progress.keys()]) {
      if (!conf.voters.includes(id) && !conf.learners.includes(id)) this.progress.delete(id);
    }
    for (const id of [...conf.voters, ...conf.learners]) {
      let pr = this.progress.get(id);
      if (!pr) {
        pr = new Progress(next, this.maxInflightMsgs, this.maxInflightBytes, false);
        pr.recentActive = true;
        this.progress.set(id, pr);
      }
      pr.isLearner = conf.learners.includes(id);
    }
    if (this.leadTransferee !== NONE && !conf.voters.includes(this.leadTransferee)) this.leadTransferee = NONE;
    if (!conf.voters.includes(this.id)) {
      // Removed (or demoted): tell everyone the commit index, then let the others elect a leader.
      this.#bcastAppend();
      this.#becomeFollower(this.term, NONE);
      return;
    }
    // A smaller quorum may commit more now.
    if (this.#maybeCommit()) this.#bcastAppend();
  }
}
