/**
 * A simulated group of Raft nodes: each node is a {@linkcode RawNode} over a {@linkcode MemoryStorage}
 * (what survives a crash) with a tiny state machine (a running hash of applied entries). The cluster runs
 * the ready/persist/send/apply/advance loop for every node and calls the {@linkcode Checker} after each
 * step. Used both by the randomized simulator and by the scripted scenario tests.
 *
 * @module
 */
import type { ConfChange } from "../../raft/conf_change.ts";
import { seededRandom } from "../../raft/prng.ts";
import type { ProposeResult } from "../../raft/raft.ts";
import { RawNode } from "../../raft/raw_node.ts";
import { MemoryStorage } from "../../raft/storage.ts";
import { type ConfState, lastIndexOf, type Message, type NodeId } from "../../raft/types.ts";
import { Checker, foldEntry, SafetyViolation } from "./checker.ts";
import { Network } from "./network.ts";

/** Raft settings shared by every node of a simulated cluster. */
export interface ClusterOptions {
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  maxInflightBytes: number;
  /** See `RaftConfig.skipLeaderEntryWhenCommitted` (partitions use it; the metadata quorum does not). */
  skipLeaderEntryWhenCommitted?: boolean;
}

/** Defaults that keep scenarios short. */
export const DEFAULT_CLUSTER_OPTIONS: ClusterOptions = {
  electionTick: 10,
  heartbeatTick: 1,
  preVote: true,
  checkQuorum: true,
  maxSizePerMsg: 1 << 20,
  maxInflightMsgs: 64,
  maxInflightBytes: 8 << 20,
};

/** The state machine of a simulated node: how far it applied and a hash of everything applied. */
export interface StateMachine {
  applied: number;
  hash: number;
}

/** One simulated node. */
export class SimNode {
  /** Undefined while crashed. */
  node: RawNode | undefined;
  sm: StateMachine = { applied: -1, hash: 0 };
  /** Messages held back to be stepped while a ready is being handled (between `ready()` and `advance()`). */
  inbox: Message[] = [];
  /** Payloads applied, for scenario tests. */
  appliedData: string[] = [];
  restarts = 0;

  constructor(readonly id: NodeId, readonly storage: MemoryStorage) {}

  /** Whether the node is running. */
  get up(): boolean {
    return this.node !== undefined;
  }
}

/** Encodes a state machine as snapshot data. */
export function encodeState(sm: StateMachine): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(sm));
}

/** Decodes snapshot data into a state machine (an empty snapshot is the empty state). */
export function decodeState(data: Uint8Array): StateMachine {
  if (data.byteLength === 0) return { applied: -1, hash: 0 };
  return JSON.parse(new TextDecoder().decode(data));
}

/** A simulated group. */
export class Cluster {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly net: Network;
  readonly checker = new Checker();
  readonly random: () => number;
  /** Event log, for verbose replays. */
  readonly events: string[] = [];
  verbose = false;
  /**
   * Probability that a delivered message is held back and stepped only after the node's next `ready()`,
   * before its `advance()`: callers with asynchronous storage step messages while a ready is in flight.
   */
  interleave = 0;
  /** Snapshots each node installed from a leader. */
  readonly snapshotInstalls = new Map<NodeId, number>();
  /** Messages sent, by `type[-reject] from->to`. */
  readonly sent = new Map<string, number>();

  constructor(readonly seed: number, voters: NodeId[], readonly opts: ClusterOptions = DEFAULT_CLUSTER_OPTIONS) {
    this.random = seededRandom(seed);
    this.net = new Network(seededRandom(seed ^ 0x5bd1e995));
    for (const id of voters) this.addNode(id, { voters: [...voters], learners: [] });
  }

  /** Records an event (printed at once when verbose). */
  log(event: string): void {
    const line = `[t=${this.net.now}] ${event}`;
    if (this.verbose) console.log(line);
    this.events.push(line);
    if (this.events.length > 200) this.events.shift();
  }

  /** Creates and starts a node with fresh storage holding `config` (empty for a node joining later). */
  addNode(id: NodeId, config: ConfState = { voters: [], learners: [] }): SimNode {
    const n = new SimNode(id, new MemoryStorage(config));
    this.nodes.set(id, n);
    this.#start(n);
    return n;
  }

  #start(n: SimNode): void {
    n.node = new RawNode({
      id: n.id,
      storage: n.storage,
      random: seededRandom(this.seed * 1000 + n.id * 7 + n.restarts * 131),
      ...this.opts,
    });
    const snap = n.storage.snapshot();
    n.sm = decodeState(snap.data);
    n.appliedData = [];
    this.checker.restarted(n.id);
    this.checker.restore(n.id, snap.meta.index, n.sm.hash);
  }

  /** The node, or a thrown error naming it. */
  get(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Stops a node: whatever it had not persisted is lost. */
  crash(id: NodeId): void {
    const n = this.get(id);
    if (!n.node) return;
    n.node = undefined;
    n.inbox = [];
    this.log(`crash ${id}`);
  }

  /**
   * Crashes a node in the middle of persisting its pending ready: the snapshot and entries reach storage,
   * the hard state does not, and no message is sent.
   */
  crashTorn(id: NodeId): void {
    const n = this.get(id);
    const node = n.node;
    if (node?.hasReady()) {
      const rd = node.ready();
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
      if (rd.entries.length > 0) {
        this.checker.persist(n.id, rd.entries, n.storage.term(rd.entries[0].index - 1) ?? -1);
        n.storage.append(rd.entries);
      }
      this.log(`node ${id} persists ${rd.entries.length} entries but not its hard state`);
    }
    this.crash(id);
  }

  /** Starts a crashed node again from its storage. */
  restart(id: NodeId): void {
    const n = this.get(id);
    if (n.node) return;
    n.restarts++;
    this.#start(n);
    this.log(`restart ${id} (term ${n.node!.raft.term}, commit ${n.node!.raft.log.committed})`);
  }

  /** Ticks one node. */
  tick(id: NodeId): void {
    this.get(id).node?.tick();
  }

  /** Ticks every running node. */
  tickAll(): void {
    for (const n of this.nodes.values()) n.node?.tick();
  }

  /** Delivers the messages due now to their (running) destinations. */
  deliverDue(): number {
    const due = this.net.takeDue();
    for (const m of due) this.#deliver(m);
    return due.length;
  }

  #deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (!n?.node) return;
    if (this.interleave > 0 && this.random() < this.interleave) n.inbox.push(m);
    else n.node.step(m);
  }

  /** Runs every node's ready loop, then the checkers. */
  processAll(): void {
    for (const n of this.nodes.values()) this.process(n);
    this.check();
  }

  /** Runs one node's ready loop: persist, send, apply, advance, until nothing is left. */
  process(n: SimNode): void {
    const node = n.node;
    if (!node) return;
    while (node.hasReady() || n.inbox.length > 0) {
      if (!node.hasReady()) {
        for (const m of n.inbox.splice(0)) node.step(m);
        continue;
      }
      const rd = node.ready();
      const prev = node.lastSoftState;
      if (this.verbose && (prev.role !== rd.softState.role || prev.lead !== rd.softState.lead)) {
        this.log(`node ${n.id} is ${rd.softState.role} (term ${node.raft.term}, leader ${rd.softState.lead})`);
      }
      if (rd.softState.role === "leader" && this.checker.leader(n.id, node.raft.term)) {
        this.log(`node ${n.id} leads term ${node.raft.term}`);
        this.checker.leaderCompleteness(n.id, node.raft.term, node.raft.log);
      }
      // Messages that arrive while this ready is being persisted are stepped now, before advance().
      for (const m of n.inbox.splice(0)) node.step(m);
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
      if (rd.entries.length > 0) {
        const prevTerm = n.storage.term(rd.entries[0].index - 1) ?? -1;
        this.checker.persist(n.id, rd.entries, prevTerm);
        n.storage.append(rd.entries);
      }
      if (rd.hardState) {
        n.storage.setHardState(rd.hardState);
        this.checker.durableCommit(n.id, rd.hardState.commit);
      }
      for (const m of rd.messages) {
        const key = `${m.type}${m.reject ? "-reject" : ""} ${m.from}->${m.to}`;
        this.sent.set(key, (this.sent.get(key) ?? 0) + 1);
        this.net.send(m);
      }
      if (rd.snapshot) {
        n.sm = decodeState(rd.snapshot.data);
        n.appliedData = [];
        if (n.sm.applied !== rd.snapshot.meta.index) {
          throw new SafetyViolation(`node ${n.id}: snapshot at ${rd.snapshot.meta.index} holds state ${n.sm.applied}`);
        }
        this.checker.restore(n.id, rd.snapshot.meta.index, n.sm.hash);
        this.log(`node ${n.id} installs snapshot at ${rd.snapshot.meta.index}`);
        this.snapshotInstalls.set(n.id, (this.snapshotInstalls.get(n.id) ?? 0) + 1);
      }
      for (const e of rd.committedEntries) {
        if (e.index !== n.sm.applied + 1) {
          throw new SafetyViolation(`node ${n.id} applies entry at ${e.index} after ${n.sm.applied}`);
        }
        n.sm = { applied: lastIndexOf(e), hash: foldEntry(n.sm.hash, e) };
        n.appliedData.push(new TextDecoder().decode(e.data));
        this.checker.apply(n.id, e, n.sm.hash);
      }
      node.advance();
    }
  }

  /** Runs the checkers that look at every node's current state. */
  check(): void {
    for (const n of this.nodes.values()) {
      const r = n.node?.raft;
      if (!r) continue;
      this.checker.commit(n.id, r.log.committed);
      if (r.role === "leader" && this.checker.leader(n.id, r.term)) {
        this.log(`node ${n.id} leads term ${r.term}`);
        this.checker.leaderCompleteness(n.id, r.term, r.log);
      }
    }
  }

  /** Delivers and processes until the network is empty (for scenarios on an instantaneous network). */
  deliverAll(maxRounds = 1000): void {
    this.processAll();
    for (let i = 0; i < maxRounds && this.net.pending > 0; i++) {
      this.deliverDue();
      this.processAll();
    }
  }

  /** Delivers only what is in flight now, then processes (one network round). */
  deliverOnce(): void {
    this.processAll();
    this.deliverDue();
    this.processAll();
  }

  /** The running node that leads the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      const r = n.node?.raft;
      if (r?.role === "leader" && (!best || r.term > best.node!.raft.term)) best = n;
    }
    return best;
  }

  /** Proposes at node `id`. */
  propose(id: NodeId, count: number, data: string): ProposeResult {
    const node = this.get(id).node;
    if (!node) return { ok: false, error: "not_leader", leader: 0 };
    return node.propose(count, new TextEncoder().encode(data));
  }

  /** Proposes a membership change at node `id`. */
  proposeConfChange(id: NodeId, change: ConfChange): ProposeResult {
    const node = this.get(id).node;
    if (!node) return { ok: false, error: "not_leader", leader: 0 };
    return node.proposeConfChange(change);
  }

  /** One line per node: role, term, log bounds, commit, config, and the leader's progress view. */
  describe(): string {
    const lines: string[] = [];
    for (const n of this.nodes.values()) {
      const r = n.node?.raft;
      if (!r) {
        lines.push(`  node ${n.id}: down`);
        continue;
      }
      const s = r.status();
      const prs = [...s.progress].map(([id, p]) => `${id}:${p.state} m=${p.match} n=${p.next} if=${p.inflight}`);
      lines.push(
        `  node ${n.id}: ${s.role} term=${s.term} vote=${s.vote} lead=${s.lead} log=${s.firstIndex}..${s.lastIndex} ` +
          `commit=${s.commit} applied=${s.applied} voters=${s.config.voters} learners=${s.config.learners} ` +
          prs.join(" "),
      );
    }
    return lines.join("\n");
  }

  /** Snapshots node `id` at its applied index and compacts its log up to there. */
  compact(id: NodeId): boolean {
    const n = this.get(id);
    if (!n.node || n.sm.applied <= n.storage.snapshotMeta().index) return false;
    n.storage.createSnapshot(n.sm.applied, encodeState(n.sm));
    this.log(`node ${id} compacts up to ${n.sm.applied}`);
    return true;
  }
}
