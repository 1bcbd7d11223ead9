/**
 * Many Raft groups on one node, as a broker hosts one group per partition replica.
 *
 * - One clock: the caller calls {@linkcode MultiRaft.tick} from a single timer; it fans out to every group
 *   (no timer per group, so an idle group costs only its tick).
 * - One round of I/O: {@linkcode MultiRaft.handleReady} visits only groups touched since the last round,
 *   persists each group's ready through the host, syncs once, sends one coalesced batch per destination
 *   node, then applies and advances.
 *
 * Still pure: storage, state machines and the network come in through {@linkcode MultiRaftHost} and
 * {@linkcode Transport}.
 *
 * @module
 */
import type { ProposeResult } from "./raft.ts";
import { RawNode, type RawNodeOptions, type Ready, type SoftState } from "./raw_node.ts";
import type { GroupMessage, MessageBatch, Transport } from "./transport.ts";
import type { NodeId } from "./types.ts";

/** The host's side of each group: durable storage and the state machine. */
export interface MultiRaftHost {
  /** Writes the group's snapshot, entries and hard state from `ready` (durability may wait for `sync`). */
  persist(group: string, ready: Ready): void | Promise<void>;
  /** Makes everything `persist` wrote this round durable (one fsync for all groups); optional. */
  sync?(): void | Promise<void>;
  /** Applies the group's snapshot and committed entries from `ready`. */
  apply(group: string, ready: Ready): void | Promise<void>;
  /** Called when a group's leader or role changes; optional. */
  onSoftState?(group: string, state: SoftState): void;
  /** Called for a message to a group this node does not host; optional (default: dropped). */
  onUnknownGroup?(message: GroupMessage): void;
}

/** Options of a {@linkcode MultiRaft}. */
export interface MultiRaftOptions {
  /** This node's id. */
  id: NodeId;
  /** Where batches go. */
  transport: Transport;
  /** Storage and state machines. */
  host: MultiRaftHost;
}

/**
 * A node hosting many groups.
 *
 * @example
 * ```ts
 * import { MultiRaft } from "./multi_raft.ts";
 * import { MemoryStorage } from "./storage.ts";
 * import { MemoryTransport } from "./transport.ts";
 * import { seededRandom } from "./prng.ts";
 * const net = new MemoryTransport();
 * const storage = new MemoryStorage({ voters: [1], learners: [] });
 * const mr = new MultiRaft({
 *   id: 1,
 *   transport: net.endpoint(1),
 *   host: {
 *     persist: (_g, rd) => { storage.append(rd.entries); if (rd.hardState) storage.setHardState(rd.hardState); },
 *     apply: () => {},
 *   },
 * });
 * mr.addGroup("orders-0", { storage, random: seededRandom(1) }).campaign();
 * mr.handleReady();
 * ```
 */
export class MultiRaft {
  /** This node. */
  readonly id: NodeId;
  readonly #transport: Transport;
  readonly #host: MultiRaftHost;
  readonly #groups = new Map<string, RawNode>();
  /** Groups touched since the last round. */
  #dirty = new Set<string>();
  /** An asynchronous round is running. */
  #busy = false;

  /** A node hosting no group yet. */
  constructor(opts: MultiRaftOptions) {
    this.id = opts.id;
    this.#transport = opts.transport;
    this.#host = opts.host;
  }

  /** Starts hosting a group; returns its node. */
  addGroup(group: string, opts: Omit<RawNodeOptions, "id">): RawNode {
    if (this.#groups.has(group)) throw new Error(`raft: group ${group} already hosted`);
    const node = new RawNode({ ...opts, id: this.id });
    this.#groups.set(group, node);
    this.#dirty.add(group);
    return node;
  }

  /** Stops hosting a group (its pending work is dropped). */
  removeGroup(group: string): void {
    this.#groups.delete(group);
    this.#dirty.delete(group);
  }

  /** The node of `group`, if hosted. */
  group(group: string): RawNode | undefined {
    return this.#groups.get(group);
  }

  /** Ids of the hosted groups. */
  groups(): IterableIterator<string> {
    return this.#groups.keys();
  }

  /** Marks `group` as needing a look in the next round (after proposing or campaigning through `group()`). */
  touch(group: string): void {
    if (this.#groups.has(group)) this.#dirty.add(group);
  }

  /** One tick for every group. */
  tick(): void {
    for (const [g, node] of this.#groups) {
      node.tick();
      this.#dirty.add(g);
    }
  }

  /** Routes a received batch to its groups. */
  receive(batch: MessageBatch): void {
    for (const gm of batch.messages) {
      const node = this.#groups.get(gm.group);
      if (!node) {
        this.#host.onUnknownGroup?.(gm);
        continue;
      }
      node.step(gm.message);
      this.#dirty.add(gm.group);
    }
  }

  /** Proposes a batch of `count` offsets to `group` (its leader only). */
  propose(group: string, count: number, data: Uint8Array): ProposeResult {
    const node = this.#groups.get(group);
    if (!node) return { ok: false, error: "not_leader", leader: 0 };
    this.#dirty.add(group);
    return node.propose(count, data);
  }

  /**
   * Runs one round of I/O for every touched group with a synchronous host: persist all, sync once, send
   * one batch per peer, apply, advance. Returns the number of groups that had work; call again while it is
   * positive (a leader's own persistence can commit, which is more work).
   */
  handleReady(): number {
    const work = this.#collect();
    if (work.length === 0) return 0;
    for (const [g, , rd] of work) {
      if (this.#host.persist(g, rd) instanceof Promise) {
        throw new Error("raft: asynchronous host, use handleReadyAsync");
      }
    }
    if (this.#host.sync?.() instanceof Promise) throw new Error("raft: asynchronous host, use handleReadyAsync");
    this.#send(work);
    for (const [g, node, rd] of work) {
      if (this.#host.apply(g, rd) instanceof Promise) throw new Error("raft: asynchronous host, use handleReadyAsync");
      this.#finish(g, node, rd);
    }
    return work.length;
  }

  /**
   * The same round for a host whose writes are asynchronous (Deno file I/O). Messages, ticks and proposals
   * may arrive while it awaits: they are stepped at once (the core allows steps between `ready()` and
   * `advance()`), and their groups are handled in the next round. Rounds never overlap: a call made while
   * one runs returns 0.
   */
  async handleReadyAsync(): Promise<number> {
    if (this.#busy) return 0;
    this.#busy = true;
    try {
      const work = this.#collect();
      if (work.length === 0) return 0;
      await Promise.all(work.map(([g, , rd]) => this.#host.persist(g, rd)));
      await this.#host.sync?.();
      this.#send(work);
      for (const [g, node, rd] of work) {
        await this.#host.apply(g, rd);
        this.#finish(g, node, rd);
      }
      return work.length;
    } finally {
      this.#busy = false;
    }
  }

  #collect(): [string, RawNode, Ready][] {
    const work: [string, RawNode, Ready][] = [];
    const dirty = this.#dirty;
    this.#dirty = new Set();
    for (const g of dirty) {
      const node = this.#groups.get(g);
      if (node?.hasReady()) work.push([g, node, node.ready()]);
    }
    return work;
  }

  /** Sends the round's messages, one batch per destination node. */
  #send(work: [string, RawNode, Ready][]): void {
    const batches = new Map<NodeId, GroupMessage[]>();
    for (const [g, , rd] of work) {
      for (const m of rd.messages) {
        let b = batches.get(m.to);
        if (!b) batches.set(m.to, b = []);
        b.push({ group: g, message: m });
      }
    }
    for (const [to, messages] of batches) this.#transport.send({ from: this.id, to, messages });
  }

  #finish(g: string, node: RawNode, rd: Ready): void {
    const prev = node.lastSoftState;
    node.advance();
    if (prev.lead !== rd.softState.lead || prev.role !== rd.softState.role) this.#host.onSoftState?.(g, rd.softState);
    // Advancing may produce more work (a leader's own persistence can commit); look again next round.
    if (node.hasReady()) this.#dirty.add(g);
  }
}
