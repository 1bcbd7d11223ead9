/**
 * The partitions this broker hosts: opens their logs at startup (recovering after a crash, several partitions
 * at once so their fsyncs overlap), rebuilds each partition's idempotent-producer state, creates and deletes
 * partitions as the metadata says, and applies retention in the background.
 *
 * A partition with one replica is opened where the metadata says it is led (its sole voter elects itself). A
 * replicated partition is opened on every broker among its replicas, leader or follower: its Raft group
 * (`${topicId}:${partition}` on the wire) elects the leader. One timer ticks the replicated groups that have
 * something to do (`GroupClock`: idle groups quiesce, and the brokers tell each other they are alive once per pair
 * instead); their messages leave through the attached transport, coalesced into one batch per destination broker per
 * turn of the event loop.
 *
 * Every partition's files go through one `OpenFilePool`: at most `log.open.files.max` of them (by default half
 * of `ulimit -n`) hold a descriptor at once, so the partition count is not bounded by the descriptor limit.
 *
 * @module
 */
import { readCheckpoint, writeCheckpointSync } from "../../log/checkpoint_file.ts";
import { DenoFileSystem, type FileSystem } from "../../log/file_system.ts";
import { logConfig } from "../../log/log_config.ts";
import { LogError } from "../../log/log_error.ts";
import { OpenFilePool } from "../../log/open_file_pool.ts";
import { PartitionLog } from "../../log/partition_log.ts";
import { iterateBatches } from "../../protocol/record_batch.ts";
import type { GroupMessage, MessageBatch, Transport } from "../../raft/transport.ts";
import { type Message, message } from "../../raft/types.ts";
import type { BrokerConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { PartitionImage, TopicImage } from "../metadata_image.ts";
import { logFileBudget, readOpenFilesLimit } from "../open_files_limit.ts";
import { PARTITION_TICK_MS } from "./partition_raft.ts";
import { isReassigning, reassignmentTarget } from "../metadata/partition_reassignment.ts";
import { nextMembershipStep } from "./reassignment_steps.ts";
import { ReplicationThrottle } from "./replication_throttle.ts";
import { PartitionReplica } from "./partition_replica.ts";
import { ProducerStateTable } from "../producer_state.ts";
import { GroupClock, LIVENESS_GROUP } from "./group_clock.ts";
import { type TopicSettings, topicSettings } from "../topic_settings.ts";

/** The file, in a partition directory, holding the producer state as of an offset. */
const PRODUCER_SNAPSHOT_FILE = "producer-state.json";
/** How much of the log is read per step when rebuilding producer state. */
const REBUILD_READ_BYTES = 4 * 1024 * 1024;

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Reads the producer snapshot of a partition; returns the table and the offset it is valid up to. A missing,
 * torn or unreadable snapshot gives an empty table valid from offset 0 (the whole log is replayed).
 */
function loadProducerSnapshot(fs: FileSystem, dir: string): { table: ProducerStateTable; offset: number } {
  try {
    const json = JSON.parse(readCheckpoint(fs, `${dir}/${PRODUCER_SNAPSHOT_FILE}`) ?? "");
    const offset = Number(json.offset);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new Error("bad snapshot offset");
    return { table: ProducerStateTable.fromJSON(json.producers), offset };
  } catch {
    return { table: new ProducerStateTable(), offset: 0 };
  }
}

/**
 * Replays batch headers from `from` to the log end into `table` (after a crash, or when no snapshot exists).
 * Only headers are read; the records stay opaque.
 */
function rebuildProducerState(log: PartitionLog, table: ProducerStateTable, from: number): void {
  let offset = Math.max(from, log.logStartOffset);
  while (offset < log.logEndOffset) {
    const { records } = log.read(offset, REBUILD_READ_BYTES, { upTo: log.logEndOffset });
    if (records.length === 0) break;
    for (const { header } of iterateBatches(records)) {
      table.recordBatch(header);
      offset = Number(header.baseOffset) + header.lastOffsetDelta + 1;
    }
  }
}

/** The bytes of an append message (its batches), for the throttle. */
function messageBytes(m: Message): number {
  let bytes = 0;
  for (const e of m.entries ?? []) bytes += e.data.byteLength;
  return bytes;
}

/** Options of a `ReplicaManager`. */
export interface ReplicaManagerOptions {
  /** The file system of the partition logs; the real one by default (tests inject faults). */
  fs?: FileSystem;
  /** Told when a partition log goes offline, or cannot be opened, because the storage failed. */
  onLogOffline?: (partition: string, error: string) => void;
  /**
   * Replicated groups are ticked only by `tickReplicatedGroups()` (tests drive time themselves); by default a
   * timer ticks them every `PARTITION_TICK_MS`.
   */
  manualTicks?: boolean;
}

/** The Raft group id of a partition on the replication network: topic ids, so a recreated topic is another group. */
export function partitionGroupId(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

/**
 * Every partition replica of this broker.
 *
 * @example
 * ```ts ignore
 * const replicas = new ReplicaManager(config, logger);
 * await replicas.ensureTopic(topicImage);
 * replicas.get("orders", 0)?.append(batch, settings, Date.now());
 * ```
 */
export class ReplicaManager {
  readonly #replicas = new Map<string, PartitionReplica>();
  readonly #logDir: string;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #running = new Set<string>();
  /** The descriptors of every partition's files. */
  readonly files: OpenFilePool;
  readonly #leadershipListeners = new Set<(replica: PartitionReplica) => void>();
  #transport: Transport | undefined;
  /** Partitions opened or closed at once (`num.recovery.threads.per.data.dir`). */
  readonly #openConcurrency: number;
  /** Replicated partitions by Raft group id. */
  readonly #groups = new Map<string, PartitionReplica>();
  /** The group id of each replicated replica. */
  readonly #groupOf = new Map<PartitionReplica, string>();
  #tickTimer: ReturnType<typeof setInterval> | undefined;
  /** Ticks the replicated groups with work, quiesces idle ones, and tracks which peer brokers are live. */
  readonly #clock: GroupClock<PartitionReplica>;
  /** Messages waiting to leave, per destination broker (sent together at the end of this turn). */
  #outbox = new Map<number, GroupMessage[]>();
  #flushQueued = false;
  #closed = false;
  /** The replicas each reassigned partition hosted here moves to (its leader carries the move out). */
  readonly #reassignTargets = new Map<PartitionReplica, readonly number[]>();
  /** The last step of each reassignment logged (a step is logged once, not at every tick). */
  readonly #reassignSteps = new Map<PartitionReplica, string>();
  /** Topics whose placement was followed once since the start (stray directories are looked for then). */
  readonly #placementSeen = new Set<string>();
  /** Bounds what leaders here send to learners (`leader.replication.throttled.rate`). */
  readonly #learnerThrottle: ReplicationThrottle;
  /** Messages to learners held back by the throttle, per group and learner, in order. */
  readonly #throttled = new Map<string, { to: number; group: string; messages: Message[] }>();

  /** `options.fs` replaces the real file system under the pool (tests inject faults through it). */
  constructor(
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
    private readonly options: ReplicaManagerOptions = {},
  ) {
    this.#logDir = config.logDirs[0];
    const configured = Number(config.get("log.open.files.max") ?? 0);
    this.files = new OpenFilePool(options.fs ?? new DenoFileSystem(), logFileBudget(readOpenFilesLimit(), configured));
    this.#openConcurrency = Math.max(1, Number(config.get("num.recovery.threads.per.data.dir") ?? 16) || 16);
    this.#learnerThrottle = new ReplicationThrottle(
      Number(config.get("leader.replication.throttled.rate") ?? Number.MAX_SAFE_INTEGER),
      Date.now(),
    );
    this.#clock = new GroupClock({
      nodeId: config.nodeId,
      sendLiveness: (to) => this.#send(LIVENESS_GROUP, [message("heartbeat", config.nodeId, to, 0)]),
    });
  }

  /** Opens the partitions of every topic of the metadata at startup, `num.recovery.threads.per.data.dir` at once. */
  async openAll(topics: readonly TopicImage[]): Promise<void> {
    await this.openTopics(topics, this.#openConcurrency);
  }

  /** The replica of a partition this broker hosts, if any. */
  get(topic: string, partition: number): PartitionReplica | undefined {
    return this.#replicas.get(key(topic, partition));
  }

  /** Every replica. */
  all(): IterableIterator<PartitionReplica> {
    return this.#replicas.values();
  }

  /**
   * Calls `listener` whenever a replica's leadership changes: it became the leader or stopped being it (its
   * `isLeader`, `leaderId`, `leaderEpoch`), or, on a leader, its in-sync replicas changed. Returns the function
   * that unsubscribes. (The controller learns of new leaders this way; group coordinators load and unload.)
   */
  onLeadership(listener: (replica: PartitionReplica) => void): () => void {
    this.#leadershipListeners.add(listener);
    return () => this.#leadershipListeners.delete(listener);
  }

  /** Tells every leadership listener about `replica` (a failing listener is logged, not propagated). */
  protected notifyLeadership(replica: PartitionReplica): void {
    for (const listener of this.#leadershipListeners) {
      try {
        listener(replica);
      } catch (e) {
        this.logger.error("leadership listener failed", {
          topic: replica.topic,
          partition: replica.partition,
          error: String(e),
        });
      }
    }
  }

  /**
   * Where the Raft messages of replicated partitions go (the inter-broker replication network). Groups are
   * named `${topicId}:${partition}` on the wire.
   */
  attachTransport(transport: Transport): void {
    this.#transport = transport;
  }

  /** The attached replication transport, if any. */
  get transport(): Transport | undefined {
    return this.#transport;
  }

  /** Raft messages from another broker for the groups of replicated partitions; unknown groups are dropped. */
  receive(batch: MessageBatch): void {
    if (this.#closed) return;
    this.#clock.heard(batch.from);
    for (const { group, message } of batch.messages) {
      if (group === LIVENESS_GROUP) continue;
      // Stepping the message wakes a quiesced group (its `onActive` hook).
      const replica = this.#groups.get(group);
      if (!replica) {
        this.logger.debug("raft message for an unknown partition group dropped", { group, from: batch.from });
        continue;
      }
      replica.raft.step(message);
    }
  }

  /** Queues a group's messages; they leave at the end of this turn, one batch per destination broker. */
  #send(group: string, messages: Message[]): void {
    if (this.#closed) return;
    if (!this.#learnerThrottle.unbounded) messages = this.#throttleLearners(group, messages);
    for (const message of messages) {
      let queue = this.#outbox.get(message.to);
      if (!queue) this.#outbox.set(message.to, queue = []);
      queue.push({ group, message });
    }
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#flushQueued = false;
    const outbox = this.#outbox;
    this.#outbox = new Map();
    if (!this.#transport) return; // no network yet: Raft retries once there is one
    for (const [to, messages] of outbox) {
      this.#clock.sent(to);
      this.#transport.send({ from: this.config.nodeId, to, messages });
    }
  }

  /**
   * One tick of the replicated groups' clock (the timer calls it; tests with `manualTicks` do): the groups with
   * work tick, idle ones quiesce, liveness messages go out every other tick.
   */
  tickReplicatedGroups(): void {
    this.#clock.tick();
    for (const [replica, target] of this.#reassignTargets) this.#advanceReassignment(replica, target);
    if (this.#throttled.size > 0) this.#releaseThrottled();
  }

  /** How many replicated groups tick now and how many are quiesced (for tests and metrics). */
  groupClockCounts(): { ticking: number; quiesced: number } {
    return this.#clock.counts;
  }

  /** True while `replica`'s group is quiesced (it does not tick). */
  isQuiesced(replica: PartitionReplica): boolean {
    return this.#clock.isQuiesced(replica);
  }

  /**
   * Holds back appends to a group's learners beyond `leader.replication.throttled.rate`: they wait, in order, for
   * later ticks (the Raft core's flow control counts them in flight meanwhile). Everything else passes.
   */
  #throttleLearners(group: string, messages: Message[]): Message[] {
    const replica = this.#groups.get(group);
    const learners = replica?.raft.learners;
    if (!learners || learners.length === 0) return messages;
    const now = Date.now();
    const pass: Message[] = [];
    for (const m of messages) {
      if (m.type !== "app" || !learners.includes(m.to)) {
        pass.push(m);
        continue;
      }
      const k = `${group}/${m.to}`;
      const held = this.#throttled.get(k);
      if (!held && this.#learnerThrottle.take(messageBytes(m), now)) pass.push(m);
      else if (held) held.messages.push(m);
      else this.#throttled.set(k, { to: m.to, group, messages: [m] });
    }
    return pass;
  }

  /** Sends what the throttle allows now of the messages it held back. */
  #releaseThrottled(): void {
    const now = Date.now();
    for (const [k, held] of this.#throttled) {
      while (held.messages.length > 0 && this.#learnerThrottle.take(messageBytes(held.messages[0]), now)) {
        const m = held.messages.shift()!;
        let queue = this.#outbox.get(m.to);
        if (!queue) this.#outbox.set(m.to, queue = []);
        queue.push({ group: held.group, message: m });
      }
      if (held.messages.length === 0) this.#throttled.delete(k);
    }
    if (!this.#flushQueued && this.#outbox.size > 0) {
      this.#flushQueued = true;
      queueMicrotask(() => this.#flush());
    }
  }

  /**
   * On the leader of a partition being reassigned: proposes the next membership change (or hands leadership
   * over), one at a time, from the group's committed configuration (`reassignment_steps.ts`). Followers wait.
   */
  #advanceReassignment(replica: PartitionReplica, target: readonly number[]): void {
    const raft = replica.raft;
    if (!raft.isLeader) return;
    const commit = raft.commitIndex;
    const step = nextMembershipStep({
      self: this.config.nodeId,
      voters: raft.voters,
      learners: raft.learners,
      target,
      caughtUp: (id) => (raft.matchIndex(id) ?? -1) >= commit,
    });
    if (step.kind === "done") return;
    let done = true;
    if (step.kind === "change") done = raft.proposeConfChange(step.change);
    else if (step.kind === "transfer") done = raft.transferLeadership(step.to);
    const view = JSON.stringify(step);
    if (!done || this.#reassignSteps.get(replica) === view) return;
    this.#reassignSteps.set(replica, view);
    this.logger.info("partition reassignment step", {
      topic: replica.topic,
      partition: replica.partition,
      step: step.kind === "change"
        ? `${step.change.type} ${step.change.node}`
        : step.kind === "transfer"
        ? `transfer leadership to ${step.to}`
        : step.reason,
      voters: raft.voters.join(","),
      learners: raft.learners.join(","),
    });
  }

  /**
   * Follows the placement of `topic`'s partitions after a metadata change: notes the target of every partition
   * being reassigned (its leader here moves it), and closes and deletes the replicas this broker no longer hosts
   * (a reassignment removed it: the group committed its removal before the metadata dropped it).
   */
  async followPlacement(topic: TopicImage): Promise<void> {
    const firstSight = !this.#placementSeen.has(topic.topicId);
    this.#placementSeen.add(topic.topicId);
    for (const p of topic.partitions) {
      const replica = p && this.#replicas.get(key(topic.name, p.partition));
      if (p && !replica && firstSight) await this.#removeStray(topic.name, p);
      if (!p || !replica) continue;
      if (replica.replicated && !p.replicas.includes(this.config.nodeId)) {
        await this.#retire(replica);
        continue;
      }
      this.#noteTarget(replica, p);
    }
  }

  /**
   * Deletes the directory of a replicated partition this broker is not a replica of, left from before a restart
   * (a reassignment removed this broker while it was down), as Kafka deletes stray logs. Checked once per topic
   * after a start: replicas removed while running are closed and deleted as they go.
   */
  async #removeStray(topic: string, p: PartitionImage): Promise<void> {
    if (p.replicas.length <= 1 || p.replicas.includes(this.config.nodeId)) return;
    const dir = this.partitionDir(topic, p.partition);
    if (!await Deno.stat(dir).then(() => true, () => false)) return;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    this.logger.info("stray partition directory removed: this broker is not a replica", {
      topic,
      partition: p.partition,
    });
  }

  #noteTarget(replica: PartitionReplica, p: PartitionImage): void {
    if (isReassigning(p)) this.#reassignTargets.set(replica, reassignmentTarget(p));
    else {
      this.#reassignTargets.delete(replica);
      this.#reassignSteps.delete(replica);
    }
  }

  /** Closes a replica this broker stopped hosting and deletes its directory. */
  async #retire(replica: PartitionReplica): Promise<void> {
    this.#replicas.delete(key(replica.topic, replica.partition));
    await this.#forgetGroup(replica);
    this.notifyLeadership(replica);
    await replica.log.close();
    await Deno.remove(this.partitionDir(replica.topic, replica.partition), { recursive: true }).catch(() => {});
    this.logger.info("partition replica removed from this broker", {
      topic: replica.topic,
      partition: replica.partition,
    });
  }

  /**
   * Hands every leadership this broker holds to an in-sync follower (before a controlled shutdown), and waits
   * until none is led here or `timeoutMs` passed. Returns true when no replicated partition is led here. Only
   * brokers `eligible` says may lead are asked (not one that is fenced or stopping too); when no leadership left
   * here has another replica that is eligible, it returns false at once.
   */
  async transferLeadershipAway(
    timeoutMs: number,
    eligible: (brokerId: number) => boolean = () => true,
  ): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let lastAsk = -Infinity;
    while (true) {
      const leading = [...this.#groups.values()].filter((r) => r.raft.isRaftLeader);
      if (leading.length === 0) return true;
      if (Date.now() >= deadline) return false;
      // A transfer not done within an election timeout is abandoned by the core: ask again then.
      if (Date.now() - lastAsk >= 500) {
        lastAsk = Date.now();
        let takers = 0;
        for (const replica of leading) {
          const matches = replica.raft.matchIndexes();
          const target = replica.inSyncReplicas()
            .filter((id) => id !== this.config.nodeId && eligible(id))
            .sort((a, b) => (matches.get(b) ?? -1) - (matches.get(a) ?? -1))[0];
          if (target !== undefined) replica.raft.transferLeadership(target);
          if (replica.replicas.some((id) => id !== this.config.nodeId && eligible(id))) takers++;
        }
        // No leadership left here has another replica that may take it (all are stopping or fenced too).
        if (takers === 0) return false;
      }
      await new Promise((r) => setTimeout(r, PARTITION_TICK_MS));
    }
  }

  /** The directory of a partition, named as Kafka names it. */
  partitionDir(topic: string, partition: number): string {
    return `${this.#logDir}/${topic}-${partition}`;
  }

  /**
   * Opens (or creates) every partition of `topic` led by this broker that is not open yet. Throws the first
   * failure (LogError `storage` when, say, the process is out of descriptors) after trying every partition.
   */
  async ensureTopic(topic: TopicImage): Promise<void> {
    await this.openTopics([topic], this.#openConcurrency);
  }

  /**
   * Opens the partitions of `topics` led by this broker, `concurrency` at a time: recovery of one partition
   * waits mostly for fsyncs, which overlap well (PLATFORM.md), and each holds only a few descriptors while it
   * opens. Throws the first failure once every partition was tried.
   */
  async openTopics(topics: readonly TopicImage[], concurrency: number): Promise<void> {
    const work: { topic: TopicImage; settings: TopicSettings; p: PartitionImage }[] = [];
    for (const topic of topics) {
      const settings = topicSettings(this.config, Object.fromEntries(topic.configs));
      for (const p of topic.partitions) {
        if (!p || this.#replicas.has(key(topic.name, p.partition))) continue;
        // One replica: opened where it is led (a fenced broker's leaderless partition waits for its return).
        // Several: opened on every replica, leader or follower; the Raft group elects the leader.
        const hosted = p.replicas.length > 1
          ? p.replicas.includes(this.config.nodeId)
          : p.leader === this.config.nodeId;
        if (hosted) work.push({ topic, settings, p });
      }
    }
    let next = 0;
    let failure: unknown = null;
    const worker = async () => {
      while (next < work.length) {
        const { topic, settings, p } = work[next++];
        try {
          await this.#openPartition(topic, settings, p);
        } catch (e) {
          failure ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, work.length)) }, worker));
    if (failure !== null) throw failure;
  }

  /** Opens one partition's log (recovering it), its producer state and its replica. */
  async #openPartition(topic: TopicImage, settings: TopicSettings, p: PartitionImage): Promise<void> {
    const dir = this.partitionDir(topic.name, p.partition);
    const name = `${topic.name}-${p.partition}`;
    let log: PartitionLog;
    try {
      log = await PartitionLog.open(dir, {
        config: settings.log,
        fs: this.files,
        onEvent: ({ level, event, ...fields }) => {
          const logLevel = level === "error" || level === "warn" || level === "debug" ? level : "info";
          this.logger.log(logLevel, String(event), { topic: topic.name, partition: p.partition, ...fields });
          if (event === "log_offline") this.options.onLogOffline?.(name, String(fields.error));
        },
      });
    } catch (e) {
      if (e instanceof LogError && e.kind === "storage") this.options.onLogOffline?.(name, e.message);
      throw e;
    }
    try {
      const snapshot = loadProducerSnapshot(this.files, dir);
      if (snapshot.offset > log.logEndOffset) {
        // The log lost its tail since the snapshot (recovery cut it): the snapshot cannot be trusted past the end.
        snapshot.table.truncateFrom(log.logEndOffset);
        snapshot.offset = log.logEndOffset;
        // Nor may the file survive: once new batches take the cut offsets, a later crash would replay from the
        // snapshot's offset on top of its batches that are gone, and skip the new ones before that offset.
        this.files.remove(`${dir}/${PRODUCER_SNAPSHOT_FILE}`);
        await this.files.syncDir(dir);
      }
      rebuildProducerState(log, snapshot.table, snapshot.offset);
      const group = partitionGroupId(topic.topicId, p.partition);
      // The replica reports leadership changes once it is registered (below), not while it opens.
      const registered: { replica?: PartitionReplica } = {};
      const replication = p.replicas.length > 1
        ? {
          // A replica a reassignment adds joins with the group's voters as they were, without itself: it is not
          // a voter until the group makes it one (and a configuration committed here before wins, see PartitionRaft).
          voters: p.replicas.filter((id) => !(p.addingReplicas ?? []).includes(id)),
          // The replica the metadata names leader campaigns at once, so a new topic has a leader quickly.
          campaign: p.leader === this.config.nodeId,
          lagTimeMaxMs: this.config.getLong("replica.lag.time.max.ms"),
          send: (messages: Message[]) => this.#send(group, messages),
          onLeadershipChanged: () => registered.replica && this.#leadershipChanged(registered.replica),
          onActive: () => registered.replica && this.#clock.wake(registered.replica),
          // A producer snapshot may hold batches that are gone now: the log is replayed instead at the next start.
          onLogTruncated: () => {
            const path = `${dir}/${PRODUCER_SNAPSHOT_FILE}`;
            if (this.files.stat(path) !== null) this.files.remove(path);
          },
          onGroupFailed: (e: unknown) =>
            this.logger.error("partition replication stopped", {
              topic: topic.name,
              partition: p.partition,
              error: String(e),
            }),
        }
        : undefined;
      const replica = await PartitionReplica.open(
        topic.name,
        p.partition,
        log,
        dir,
        this.config.nodeId,
        snapshot.table,
        p.leaderEpoch,
        replication,
      );
      replica.compacted = settings.produce.compacted ?? false;
      replica.minInsyncReplicas = settings.minInsyncReplicas;
      this.#replicas.set(key(topic.name, p.partition), replica);
      if (replication) {
        this.#groups.set(group, replica);
        this.#groupOf.set(replica, group);
        registered.replica = replica;
        this.#noteTarget(replica, p);
        this.#clock.add(replica);
        this.#startTicking();
        this.#leadershipChanged(replica);
      } else {
        // A single replica leads from the moment it is open.
        this.notifyLeadership(replica);
      }
    } catch (e) {
      await log.close().catch(() => {});
      throw e;
    }
  }

  #startTicking(): void {
    if (this.#tickTimer !== undefined || this.options.manualTicks || this.#closed) return;
    this.#tickTimer = setInterval(() => this.tickReplicatedGroups(), PARTITION_TICK_MS);
  }

  #lastReported = new Map<PartitionReplica, string>();

  /** Logs a new leader or epoch of a replicated partition, and tells the leadership listeners. */
  #leadershipChanged(replica: PartitionReplica): void {
    if (!this.#groupOf.has(replica)) return;
    const view = `${replica.leaderId}/${replica.leaderEpoch}/${replica.isLeader}`;
    const previous = this.#lastReported.get(replica);
    if (previous !== view) {
      this.#lastReported.set(replica, view);
      // Info when this broker starts or stops leading; what it learns of other leaders (every partition, at every
      // election) is debug: the active controller logs each new leader once.
      const leadingChanged = (previous?.endsWith("/true") ?? false) !== replica.isLeader;
      this.logger.log(leadingChanged ? "info" : "debug", "partition leadership", {
        topic: replica.topic,
        partition: replica.partition,
        leader: replica.leaderId,
        leader_epoch: replica.leaderEpoch,
        leading: replica.isLeader,
      });
    }
    this.notifyLeadership(replica);
  }

  /**
   * Raises the leader epoch of `topic`'s open partitions this broker leads to at least the metadata's (a
   * leadership handed back after fencing bumps it there): clients told that epoch are then served here.
   */
  async catchUpLeaderEpochs(topic: TopicImage): Promise<void> {
    for (const p of topic.partitions) {
      const replica = p?.leader === this.config.nodeId ? this.#replicas.get(key(topic.name, p.partition)) : undefined;
      // Replicated partitions' epochs are their Raft terms: the metadata follows them, not the other way round.
      if (!replica || replica.replicated || replica.leaderEpoch >= p.leaderEpoch) continue;
      // Each new epoch is exactly one more; bounded all the same.
      for (let i = 0; i < 8 && replica.leaderEpoch < p.leaderEpoch; i++) await replica.startNewLeaderEpoch();
      this.notifyLeadership(replica);
      this.logger.info("leading partition again", {
        topic: topic.name,
        partition: p.partition,
        leader_epoch: replica.leaderEpoch,
      });
    }
  }

  /**
   * Applies `topic`'s current configs to its open partitions (after a ConfigRecord): the log's retention,
   * segment, flush and cleanup settings take effect from the next append, retention or compaction pass.
   */
  applyTopicConfigs(topic: TopicImage): void {
    const settings = topicSettings(this.config, Object.fromEntries(topic.configs));
    for (const p of topic.partitions) {
      const replica = p && this.#replicas.get(key(topic.name, p.partition));
      if (!replica) continue;
      Object.assign(replica.log.config, logConfig(settings.log));
      replica.compacted = settings.produce.compacted ?? false;
      replica.minInsyncReplicas = settings.minInsyncReplicas;
    }
  }

  /**
   * Closes and deletes what exists of a topic whose creation is taken back: its open partitions, and the
   * directories of the `partitions` it was to have (some may have been created before an open failed).
   */
  async discardTopic(name: string, partitions: number): Promise<void> {
    await this.removeTopic(name);
    for (let p = 0; p < partitions; p++) {
      await Deno.remove(this.partitionDir(name, p), { recursive: true }).catch(() => {});
    }
  }

  /** True when some partition log is offline (a write or fsync failed). */
  hasOfflineLogs(): boolean {
    for (const replica of this.#replicas.values()) if (replica.log.isOffline) return true;
    return false;
  }

  /**
   * Reopens every offline partition log (recovery cuts what a failed write left half written), and opens the
   * partitions of `topics` that failed to open: the partitions come back online without a restart. The new
   * replica starts a new leader epoch, as a leader election would. Returns the partitions (re)opened; throws
   * if one still cannot be opened (the caller probes again later).
   */
  async reopenOfflineLogs(topics: Iterable<TopicImage>): Promise<string[]> {
    const before = new Set(this.#replicas.keys());
    const offline = new Map<string, PartitionReplica>();
    for (const [k, replica] of this.#replicas) {
      if (!replica.log.isOffline) continue;
      // An offline log closes without its clean marker, so the next open runs recovery.
      await this.#forgetGroup(replica);
      await replica.log.close().catch(() => {});
      this.#replicas.delete(k);
      before.delete(k);
      offline.set(k, replica);
    }
    try {
      for (const topic of topics) await this.ensureTopic(topic);
    } catch (e) {
      // Until a later probe reopens them, the old replicas answer for their partitions (KAFKA_STORAGE_ERROR),
      // rather than no replica at all (NOT_LEADER_OR_FOLLOWER).
      for (const [k, replica] of offline) if (!this.#replicas.has(k)) this.#replicas.set(k, replica);
      throw e;
    }
    return [...this.#replicas.entries()].filter(([k]) => !before.has(k)).map(([, r]) => `${r.topic}-${r.partition}`);
  }

  /** Closes and deletes the partitions of a deleted topic. */
  async removeTopic(name: string): Promise<void> {
    for (const [k, replica] of this.#replicas) {
      if (replica.topic !== name) continue;
      this.#replicas.delete(k);
      await this.#forgetGroup(replica);
      await replica.closeGroup();
      // It leads nothing here any more (coordinators unload what it held).
      this.notifyLeadership(replica);
      await replica.log.close();
      await Deno.remove(this.partitionDir(replica.topic, replica.partition), { recursive: true }).catch(() => {});
    }
  }

  /** Stops a replicated partition's Raft group and forgets it (its messages are dropped from now on). */
  async #forgetGroup(replica: PartitionReplica): Promise<void> {
    const group = this.#groupOf.get(replica);
    if (group === undefined) return;
    this.#groupOf.delete(replica);
    this.#groups.delete(group);
    this.#clock.remove(replica);
    this.#lastReported.delete(replica);
    this.#reassignTargets.delete(replica);
    this.#reassignSteps.delete(replica);
    await replica.closeGroup();
  }

  /**
   * Runs retention on every partition now and then (`log.retention.check.interval.ms`) and the log cleaner on
   * compacted ones (`log.cleaner.backoff.ms`), each pass one partition at a time in the background.
   */
  startBackgroundWork(
    retentionIntervalMs: number,
    cleanerIntervalMs: number,
    cleanerEnabled: boolean,
    recoveryPointIntervalMs = 60_000,
  ): void {
    this.#timers.push(setInterval(() => this.#checkpointRecoveryPoints(), recoveryPointIntervalMs));
    this.#timers.push(
      setInterval(() => this.#everyReplica("retention", (r) => r.log.applyRetention()), retentionIntervalMs),
    );
    if (cleanerEnabled) {
      this.#timers.push(
        setInterval(
          () => this.#everyReplica("compaction", (r) => r.log.compact({ upTo: r.highWatermark }), (r) => r.compacted),
          cleanerIntervalMs,
        ),
      );
    }
  }

  /**
   * Writes each partition's recovery point where it lags its durable end (Kafka's
   * `log.flush.offset.checkpoint.interval.ms`): after a kill -9, a partition idle since then is opened with a
   * header walk and no fsync. Yields to the event loop every 256 partitions.
   */
  async #checkpointRecoveryPoints(): Promise<void> {
    if (this.#running.has("recovery-point")) return;
    this.#running.add("recovery-point");
    try {
      let i = 0;
      for (const replica of [...this.#replicas.values()]) {
        replica.log.checkpointRecoveryPoint();
        if (++i % 256 === 0) await new Promise((r) => setTimeout(r, 0));
      }
    } finally {
      this.#running.delete("recovery-point");
    }
  }

  /** Runs `work` on each replica in turn (skipping a pass still running), logging what it did. */
  async #everyReplica(
    name: string,
    work: (replica: PartitionReplica) => Promise<unknown>,
    wanted: (replica: PartitionReplica) => boolean = () => true,
  ): Promise<void> {
    if (this.#running.has(name)) return;
    this.#running.add(name);
    try {
      for (const replica of [...this.#replicas.values()]) {
        if (!wanted(replica) || replica.log.isOffline) continue;
        try {
          // The log reports what retention and the cleaner did through its own events.
          await work(replica);
        } catch (e) {
          this.logger.error(`${name} failed`, { topic: replica.topic, partition: replica.partition, error: String(e) });
        }
      }
    } finally {
      this.#running.delete(name);
    }
  }

  /**
   * Writes producer snapshots and closes every log (flushing it and writing its clean marker), several at once
   * so their fsyncs overlap.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    clearInterval(this.#tickTimer);
    const replicas = [...this.#replicas.values()];
    let next = 0;
    const worker = async () => {
      while (next < replicas.length) {
        const replica = replicas[next++];
        // The group first (it stops writing and records its commit index), then the log.
        await this.#forgetGroup(replica);
        await this.#closeReplica(replica);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#openConcurrency, replicas.length) }, worker));
    this.#replicas.clear();
  }

  /** Writes one replica's producer snapshot and closes its log; a failure is logged. */
  async #closeReplica(replica: PartitionReplica): Promise<void> {
    try {
      const path = `${this.partitionDir(replica.topic, replica.partition)}/${PRODUCER_SNAPSHOT_FILE}`;
      const producers = replica.producers.toJSON() as unknown[];
      // No idempotent producer and no earlier snapshot: nothing to remember (a partition without producers
      // creates no file at every stop).
      if (producers.length > 0 || this.files.stat(path) !== null) {
        // Replaced atomically, not fsynced: a lost or older snapshot only means replaying more of the log.
        writeCheckpointSync(this.files, path, JSON.stringify({ offset: replica.log.logEndOffset, producers }));
      }
      await replica.log.close();
    } catch (e) {
      this.logger.error("closing partition failed", {
        topic: replica.topic,
        partition: replica.partition,
        error: String(e),
      });
    }
  }
}
