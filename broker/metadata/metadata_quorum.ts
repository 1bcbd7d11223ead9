/**
 * The metadata quorum of one node: `__cluster_metadata` partition 0 as a Raft group whose voters are the
 * controllers (`controller.quorum.voters`), driven by the pure core of `raft/` over the inter-node TCP transport
 * (`broker/raft_transport.ts`) on the CONTROLLER listener. The group's leader is the active controller.
 *
 * Every committed entry (one record batch of metadata records) is applied to this node's `MetadataImage` in
 * log order, then `onApplied` lets the broker act on it (open or delete partitions) before anyone waiting for
 * that offset is answered: a node never serves a change before it has applied it.
 *
 * Snapshots (KIP-630): once `metadata.log.max.record.bytes.between.snapshots` of records were applied, the image
 * is written out as the records that rebuild it and the log prefix is dropped; a node behind the leader's log
 * start (a new broker, or one away longer than the log retains) receives the snapshot, rebuilds its image from
 * it, then follows the log.
 *
 * Brokers that are not voters are observers: the active controller adds each as a Raft learner when it
 * registers, and replicates the log to it over the connection the observer keeps open to each voter (an
 * observer has no CONTROLLER listener, as in KRaft).
 *
 * @module
 */
import { seededRandom } from "../../raft/prng.ts";
import { RawNode } from "../../raft/raw_node.ts";
import { type Entry, EntryType, lastIndexOf, type Message, NONE, type Snapshot } from "../../raft/types.ts";
import type { MessageBatch } from "../../raft/transport.ts";
import type { QuorumDescription, QuorumReplicaState } from "../broker_context.ts";
import type { Logger } from "../logger.ts";
import type { MetadataImage, MetadataRecord } from "../metadata_image.ts";
import { type NodeRequestHandler, RaftListener, TcpRaftTransport } from "../raft_transport.ts";
import type { ClusterSettings } from "./cluster_config.ts";
import { decodeMetadataBatches, encodeMetadataBatch, imageRecords } from "./image_snapshot.ts";
import { RaftJournal } from "./raft_journal.ts";

/** The Raft group id of the metadata log. */
export const METADATA_GROUP = "__cluster_metadata-0";
/** One tick of the quorum's clock. */
const TICK_MS = 50;

/** Thrown when a proposal cannot be made or may not have committed: the caller asks the new controller. */
export class NotControllerError extends Error {
  constructor(readonly leaderId: number) {
    super(leaderId > 0 ? `not the active controller (the leader is ${leaderId})` : "no active controller");
  }
}

/** What the quorum needs from the broker around it. */
export interface MetadataQuorumOptions {
  /** The directory of `__cluster_metadata-0`. */
  dir: string;
  settings: ClusterSettings;
  image: MetadataImage;
  logger: Logger;
  /** Called after records were applied to the image, before waiters of their offset are answered. */
  onApplied(records: readonly MetadataRecord[], removedTopics: readonly string[]): Promise<void>;
  /** Controller requests arriving on the CONTROLLER listener. */
  onRequest: NodeRequestHandler;
  /** Record bytes applied between snapshots (`metadata.log.max.record.bytes.between.snapshots`). */
  snapshotEveryBytes: number;
}

interface PendingProposal {
  index: number;
  lastIndex: number;
  term: number;
  resolve(offset: number): void;
  reject(e: Error): void;
}

/**
 * One node's member of the metadata quorum.
 *
 * @example
 * ```ts ignore
 * const quorum = MetadataQuorum.open({ dir, settings, image, logger, onApplied, onRequest });
 * quorum.start();
 * if (quorum.isActiveController()) await quorum.propose([{ type: "topic", record: { name, topicId } }]);
 * ```
 */
export class MetadataQuorum {
  readonly #node: RawNode;
  readonly #journal: RaftJournal;
  readonly #transport: TcpRaftTransport;
  #listener: RaftListener | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #driving: Promise<void> | undefined;
  #again = false;
  #applied = -1;
  #appliedTerm = 0;
  /** Record bytes applied since the last snapshot. */
  #sinceSnapshot = 0;
  #ticks = 0;
  #lead = NONE;
  #closed = false;
  #failure: unknown;
  readonly #pending: PendingProposal[] = [];
  /** When each member was last heard from, and last acknowledged the whole committed log (DescribeQuorum). */
  readonly #lastHeard = new Map<number, number>();
  readonly #lastCaughtUp = new Map<number, number>();
  readonly #waiters: { offset: number; resolve(): void }[] = [];

  private constructor(private readonly options: MetadataQuorumOptions) {
    const { settings } = options;
    const voters = settings.voters.map((v) => v.id);
    this.#journal = RaftJournal.open(options.dir, { voters, learners: [] });
    // The image starts from the latest snapshot; the core hands out every committed entry after it again.
    const snapshot = this.#journal.snapshot();
    if (snapshot.data.length > 0) this.#applySnapshotData(snapshot);
    this.#applied = snapshot.meta.index;
    this.#appliedTerm = snapshot.meta.term;
    const electionTick = Math.max(2, Math.round(settings.electionTimeoutMs / TICK_MS));
    this.#node = new RawNode({
      id: settings.nodeId,
      storage: this.#journal,
      electionTick,
      heartbeatTick: Math.max(1, Math.floor(electionTick / 10)),
      random: seededRandom((settings.nodeId * 2654435761 + Date.now()) >>> 0),
    });
    this.#transport = new TcpRaftTransport({
      nodeId: settings.nodeId,
      clusterId: settings.clusterId,
      peers: new Map(settings.voters.map((v) => [v.id, { host: v.host, port: v.port }])),
      logger: options.logger,
      onBatch: (batch) => this.#receive(batch),
    });
  }

  /** Opens the node's durable quorum state and rebuilds the image from its snapshot. */
  static open(options: MetadataQuorumOptions): MetadataQuorum {
    return new MetadataQuorum(options);
  }

  /** Binds the CONTROLLER listener (controllers only) and starts the clock. */
  start(): { port: number } | undefined {
    const { settings, logger } = this.options;
    let bound: { port: number } | undefined;
    if (settings.isController && settings.controllerListener) {
      this.#listener = RaftListener.listen({
        hostname: settings.controllerListener.host || "0.0.0.0",
        port: settings.controllerListener.port,
        clusterId: settings.clusterId,
        nodeId: settings.nodeId,
        logger,
        onBatch: (batch) => this.#receive(batch),
        onRequest: this.options.onRequest,
        onRaftPeer: (peer, write) => this.#transport.attachReturnPath(peer.nodeId, write),
      });
      bound = { port: this.#listener.port };
    }
    this.#timer = setInterval(() => {
      this.#node.tick();
      // An observer is reached only over connections it opened: keep them open.
      if (++this.#ticks % 10 === 0) this.#transport.keepConnected();
      this.#kick();
    }, TICK_MS);
    this.#transport.keepConnected();
    this.#kick();
    return bound;
  }

  /** The active controller's node id, or -1 when none is known. */
  get leaderId(): number {
    return this.#lead === NONE ? -1 : this.#lead;
  }

  /** The last offset applied to the image (-1 before any). */
  get appliedOffset(): number {
    return this.#applied;
  }

  /**
   * True when this node leads the quorum and has applied every entry of earlier terms (the empty entry it
   * appended on election is applied): only then does its image hold every committed change, so it may decide.
   */
  isActiveController(): boolean {
    const s = this.#node.status();
    if (s.role !== "leader") return false;
    // A sole voter appends no entry on election (it is its own quorum): it is caught up once it applied its log.
    return this.#appliedTerm === s.term || (s.commit >= s.lastIndex && this.#applied >= s.lastIndex);
  }

  /** The Raft status of this member. */
  status() {
    return this.#node.status();
  }

  /** The quorum as DescribeQuorum shows it, from this node's view (meaningful on the leader). */
  describe(now: number): QuorumDescription {
    const s = this.#node.status();
    const replica = (id: number): QuorumReplicaState => {
      if (id === s.id) {
        return { replicaId: id, logEndOffset: s.lastIndex + 1, lastFetchTimestamp: now, lastCaughtUpTimestamp: now };
      }
      const pr = s.progress.get(id);
      return {
        replicaId: id,
        logEndOffset: pr ? pr.match + 1 : -1,
        lastFetchTimestamp: this.#lastHeard.get(id) ?? -1,
        lastCaughtUpTimestamp: this.#lastCaughtUp.get(id) ?? -1,
      };
    };
    const { voters } = this.options.settings;
    return {
      leaderId: this.leaderId,
      leaderEpoch: s.term,
      highWatermark: s.commit + 1,
      voters: s.config.voters.map(replica),
      observers: s.config.learners.map(replica),
      nodes: voters.map((v) => ({
        nodeId: v.id,
        listeners: [{ name: this.options.settings.controllerListenerName, host: v.host, port: v.port }],
      })),
    };
  }

  /**
   * Proposes `records` as one entry; resolves with the entry's last offset once it is committed and applied
   * here. Rejects with NotControllerError when this node is not the active controller or the entry was lost
   * to a new leader. `nextOffset()` is the offset the entry will start at (Kafka's broker epochs are offsets).
   */
  propose(records: readonly MetadataRecord[]): Promise<number> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (!this.isActiveController()) return Promise.reject(new NotControllerError(this.leaderId));
    const data = encodeMetadataBatch(records, Date.now());
    const proposed = this.#node.propose(Math.max(records.length, 1), data);
    if (!proposed.ok) return Promise.reject(new NotControllerError(this.leaderId));
    return this.#whenCommitted(proposed);
  }

  /** Resolves with the applied offset once the proposed entry commits and is applied (rejects if it is lost). */
  #whenCommitted(proposed: { index: number; lastIndex: number; term: number }): Promise<number> {
    const done = new Promise<number>((resolve, reject) => {
      this.#pending.push({
        index: proposed.index,
        lastIndex: proposed.lastIndex,
        term: proposed.term,
        resolve,
        reject,
      });
    });
    this.#kick();
    return done;
  }

  /**
   * Makes `nodeId` a learner (an observer) of the quorum, so the leader replicates the log to it; resolves
   * with the offset of the change (or the applied offset when it already is a member). Active controller only.
   */
  async addObserver(nodeId: number): Promise<number> {
    const deadline = Date.now() + 10_000;
    while (true) {
      const { config } = this.#node.status();
      if (config.voters.includes(nodeId) || config.learners.includes(nodeId)) return this.#applied;
      if (!this.isActiveController()) throw new NotControllerError(this.leaderId);
      const proposed = this.#node.proposeConfChange({ type: "add_learner", node: nodeId });
      if (proposed.ok) {
        const offset = await this.#whenCommitted(proposed);
        this.options.logger.info("observer added to the metadata quorum", { node: nodeId, offset });
        return offset;
      }
      if (proposed.error !== "conf_change_pending" || Date.now() > deadline) {
        throw new NotControllerError(this.leaderId);
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  }

  /** The offset the next proposal will start at. */
  nextOffset(): number {
    return this.#node.nextIndex();
  }

  /** Resolves once `offset` is applied here; rejects after `timeoutMs`. */
  waitForApplied(offset: number, timeoutMs: number): Promise<void> {
    if (this.#applied >= offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`metadata offset ${offset} not applied within ${timeoutMs} ms (applied ${this.#applied})`));
      }, timeoutMs);
      const waiter = {
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.push(waiter);
    });
  }

  #receive(batch: MessageBatch): void {
    if (this.#closed) return;
    const now = Date.now();
    for (const { group, message } of batch.messages) {
      if (group !== METADATA_GROUP) continue;
      this.#lastHeard.set(message.from, now);
      if (message.type === "app_resp" && !message.reject && message.index >= this.#node.status().commit) {
        this.#lastCaughtUp.set(message.from, now);
      } else if (message.type === "heartbeat_resp") {
        // An idle quorum appends nothing, so a follower's heartbeat answer is what shows it still has everything
        // committed (Kafka counts a fetch at the end of the log); without this MaxFollowerLagTimeMs only grows.
        const s = this.#node.status();
        const match = s.progress.get(message.from)?.match ?? -1;
        if (match >= s.commit) this.#lastCaughtUp.set(message.from, now);
      }
      this.#node.step(message);
    }
    this.#kick();
  }

  #kick(): void {
    if (this.#closed || this.#failure) return;
    if (this.#driving) {
      this.#again = true;
      return;
    }
    this.#driving = this.#drive().catch((e) => {
      this.#failure = e;
      this.options.logger.error("metadata quorum failed; this node stops following the metadata log", { error: e });
      for (const p of this.#pending.splice(0)) p.reject(e instanceof Error ? e : new Error(String(e)));
    }).finally(() => {
      this.#driving = undefined;
      if (this.#again) {
        this.#again = false;
        this.#kick();
      }
    });
  }

  /** The ready loop: persist, send, apply, advance (see `raft/raw_node.ts` for the contract). */
  async #drive(): Promise<void> {
    while (!this.#closed && this.#node.hasReady()) {
      const rd = this.#node.ready();
      if (rd.snapshot) this.#journal.applySnapshot(rd.snapshot);
      if (rd.entries.length > 0) {
        this.#journal.append(rd.entries);
        this.#journal.sync();
      }
      if (rd.hardState) this.#journal.setHardState(rd.hardState);
      this.#send(rd.messages);
      const applied: MetadataRecord[] = [];
      const removed: string[] = [];
      if (rd.snapshot) {
        this.#applySnapshotData(rd.snapshot);
        this.#applied = rd.snapshot.meta.index;
        this.#appliedTerm = rd.snapshot.meta.term;
        this.options.logger.info("metadata snapshot installed", { offset: rd.snapshot.meta.index });
        // Proposals the snapshot covers may or may not be in it: their callers must ask again.
        this.#settleProposals(rd.snapshot.meta.index, undefined);
        applied.push(...imageRecords(this.options.image));
      }
      for (const e of rd.committedEntries) this.#applyEntry(e, applied, removed);
      this.#node.advance();
      if (rd.softState.role !== "leader" && this.#pending.length > 0) {
        // Leadership lost: whether the proposals commit is for the next leader to say; their callers ask again.
        for (const p of this.#pending.splice(0)) p.reject(new NotControllerError(rd.softState.lead || -1));
      }
      if (rd.softState.lead !== this.#lead) {
        this.#lead = rd.softState.lead;
        this.options.logger.info("metadata quorum leader", {
          leader: this.#lead === NONE ? -1 : this.#lead,
          term: this.#node.status().term,
          role: rd.softState.role,
        });
      }
      if (applied.length > 0 || removed.length > 0) await this.options.onApplied(applied, removed);
      this.#wake();
      this.#maybeSnapshot();
    }
  }

  #applyEntry(e: Entry, applied: MetadataRecord[], removed: string[]): void {
    if (e.type === EntryType.Normal && e.data.length > 0) {
      const image = this.options.image;
      for (const record of decodeMetadataBatches(e.data)) {
        if (record.type === "remove_topic") {
          const name = image.topicById(record.record.topicId)?.name;
          if (name !== undefined) removed.push(name);
        }
        image.apply(record);
        applied.push(record);
      }
    }
    this.#applied = lastIndexOf(e);
    this.#appliedTerm = e.term;
    this.#sinceSnapshot += e.data.length;
    this.#settleProposals(e.index, e.term);
  }

  /** Proposals at `index`: kept if the applied entry is theirs (same term), lost otherwise. */
  #settleProposals(index: number, term: number | undefined): void {
    for (let i = 0; i < this.#pending.length;) {
      const p = this.#pending[i];
      if (p.index > index) {
        i++;
        continue;
      }
      this.#pending.splice(i, 1);
      if (p.index === index && p.term === term) p.resolve(p.lastIndex);
      else p.reject(new NotControllerError(this.leaderId));
    }
  }

  #wake(): void {
    for (let i = 0; i < this.#waiters.length;) {
      if (this.#waiters[i].offset <= this.#applied) this.#waiters.splice(i, 1)[0].resolve();
      else i++;
    }
  }

  #applySnapshotData(snapshot: Snapshot): void {
    const image = this.options.image;
    image.reset();
    for (const record of decodeMetadataBatches(snapshot.data)) image.apply(record);
  }

  #maybeSnapshot(): void {
    if (this.#sinceSnapshot < this.options.snapshotEveryBytes) return;
    if (this.#applied <= this.#journal.snapshotMeta().index) return;
    // The snapshot must end where an entry ends, at most the applied offset: `#applied` is one.
    const data = encodeMetadataBatch(imageRecords(this.options.image), Date.now());
    this.#journal.createSnapshot(this.#applied, data);
    this.#sinceSnapshot = 0;
    this.options.logger.info("metadata snapshot written", { offset: this.#applied, bytes: data.length });
  }

  #send(messages: Message[]): void {
    if (messages.length === 0) return;
    const byTo = new Map<number, MessageBatch>();
    for (const message of messages) {
      let batch = byTo.get(message.to);
      if (!batch) byTo.set(message.to, batch = { from: this.options.settings.nodeId, to: message.to, messages: [] });
      batch.messages.push({ group: METADATA_GROUP, message });
    }
    for (const batch of byTo.values()) this.#transport.send(batch);
  }

  /** Hands the quorum's leadership to another voter (before a controlled shutdown); false if none can take it. */
  async resign(timeoutMs: number): Promise<boolean> {
    const s = this.#node.status();
    if (s.role !== "leader") return true;
    const target = [...s.progress.entries()]
      .filter(([id]) => id !== s.id && s.config.voters.includes(id))
      .sort((a, b) => b[1].match - a[1].match)[0]?.[0];
    if (target === undefined || !this.#node.transferLeadership(target)) return false;
    this.#kick();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#node.status().role !== "leader") return true;
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    return false;
  }

  /** Stops the clock, the listener and the connections; pending proposals fail. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#driving;
    for (const p of this.#pending.splice(0)) p.reject(new NotControllerError(-1));
    this.#transport.close();
    await this.#listener?.close();
    this.#journal.close();
  }
}
