/**
 * A partition replica hosted by this broker, leader or follower: the Kafka face of the partition's Raft group.
 * Its log is the partition log, its leader epoch the Raft term, its high watermark the committed offset (fsynced
 * on a majority of the replicas; on this broker alone for RF=1).
 *
 * Only the leader takes produces. acks=-1 is answered once the batch is committed and fsynced on at least
 * `min.insync.replicas` replicas; with fewer than that in sync (Kafka's ISR: caught up within
 * `replica.lag.time.max.ms`) an acks=-1 produce is refused with NOT_ENOUGH_REPLICAS before anything is written.
 * A leader that loses its leadership answers the produces still waiting with NOT_LEADER_OR_FOLLOWER (the client
 * retries on the new leader; idempotence keeps a retry of a committed batch from being written twice).
 *
 * The produce path stays on bytes: each batch's header is validated and stamped, and its records' framing is
 * walked (`protocol/record_validation.ts`) without decoding keys, values or headers.
 * Everything between the sequence check and the append is synchronous, so concurrent requests cannot interleave.
 *
 * @module
 */
import { LogError } from "../../log/log_error.ts";
import type { PartitionLog, ReadResult } from "../../log/partition_log.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  Attributes,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_PREFIX,
  type BatchHeader,
  BatchOffsets,
  batchSize,
  Compression,
  isBatchCrcValid,
  readBatchHeader,
  writeBatchCrc,
} from "../../protocol/record_batch_header.ts";
import { type RecordError, type RecordsDefect, validateRecords } from "../../protocol/record_validation.ts";
import type { Message } from "../../raft/types.ts";
import { AdvanceSignal } from "../high_watermark_signal.ts";
import { InSyncReplicas } from "./in_sync_replicas.ts";
import { NotLeaderError, PartitionRaft } from "./partition_raft.ts";
import { type IncomingBatch, lastSequenceOf, ProducerStateTable } from "../producer_state.ts";
import type { Quiescence } from "./quiescence.ts";

/** Topic-level settings the produce path needs. */
export interface ProduceSettings {
  /** `message.timestamp.type`. */
  logAppendTime: boolean;
  /** `max.message.bytes`: the largest batch accepted. */
  maxMessageBytes: number;
  /** `message.timestamp.before.max.ms`. */
  timestampBeforeMaxMs: number;
  /** `message.timestamp.after.max.ms`. */
  timestampAfterMaxMs: number;
  /** `cleanup.policy` includes `compact`: every record needs a key. */
  compacted?: boolean;
}

/** The answer to one partition of a Produce request. */
export interface ProduceOutcome {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: number;
  /** The log append time for LogAppendTime topics, else -1. */
  logAppendTimeMs: number;
  logStartOffset: number;
  /** KIP-467: the records the batch was refused for (index and reason), when validation names them. */
  recordErrors?: RecordError[];
  /** Resolves once the appended records are durable (acks=-1 waits for it); absent when nothing was appended. */
  durable?: Promise<void>;
}

/** The answer to one partition of a Fetch. */
export interface FetchOutcome {
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  records: Uint8Array;
}

/**
 * Maps a record validation defect to the Kafka error Kafka 4.x answers for it (checked against Kafka 4.3.1 in
 * tests/diff/scenarios/record_validation.ts): every framing defect and keyless records on a compacted topic are
 * INVALID_RECORD, records timestamped out of range INVALID_TIMESTAMP; CORRUPT_MESSAGE stays for what the CRC-32C or the batch size catches. A compressed section that
 * does not decompress is INVALID_RECORD too (Kafka answers UNKNOWN_SERVER_ERROR from an internal exception): it
 * is the client's bytes that are wrong, and retrying them cannot help, which CORRUPT_MESSAGE (retriable) would
 * suggest.
 */
export function errorCodeForRecordsDefect(defect: RecordsDefect): number {
  switch (defect.kind) {
    case "malformed":
    case "undecompressable":
    case "keyless_records":
      return ErrorCode.INVALID_RECORD;
    case "invalid_timestamps":
      return ErrorCode.INVALID_TIMESTAMP;
  }
}

function failure(
  errorCode: number,
  errorMessage: string | null,
  logStartOffset: number,
  recordErrors?: RecordError[],
): ProduceOutcome {
  const outcome: ProduceOutcome = { errorCode, errorMessage, baseOffset: -1, logAppendTimeMs: -1, logStartOffset };
  if (recordErrors && recordErrors.length > 0) outcome.recordErrors = recordErrors;
  return outcome;
}

/** Maps a log error to the Kafka error code a client understands. */
export function errorCodeForLogError(e: LogError): number {
  switch (e.kind) {
    case "storage":
      return ErrorCode.KAFKA_STORAGE_ERROR;
    case "corrupt":
      return ErrorCode.CORRUPT_MESSAGE;
    case "offset_out_of_range":
      return ErrorCode.OFFSET_OUT_OF_RANGE;
    case "record_too_large":
      return ErrorCode.RECORD_LIST_TOO_LARGE;
    case "invalid_argument":
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

/** A produce waiting for the high watermark to pass its last offset. */
interface CommitWaiter {
  endOffset: number;
  /** The leader epoch it was appended in: a later epoch may have cut it. */
  leaderEpoch: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Why a produce waiting for acknowledgement failed in a way the client should retry elsewhere: this replica
 * stopped leading the partition before the batch was committed.
 */
export class LeadershipLostError extends Error {
  readonly errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
}

/**
 * The Kafka error code for a produce whose `durable` promise rejected: NOT_LEADER_OR_FOLLOWER when leadership
 * moved (retriable elsewhere), KAFKA_STORAGE_ERROR when the log failed.
 *
 * @example
 * ```ts
 * import { durabilityErrorCode, LeadershipLostError } from "./partition_replica.ts";
 * durabilityErrorCode(new LeadershipLostError("deposed")); // 6
 * ```
 */
export function durabilityErrorCode(e: unknown): number {
  return e instanceof LeadershipLostError ? e.errorCode : ErrorCode.KAFKA_STORAGE_ERROR;
}

/** How a replicated partition's replica works with the other replicas (absent for RF=1). */
export interface ReplicationOptions {
  /** The partition's replicas (the Raft voters), this broker among them. */
  voters: readonly number[];
  /** Campaign at once: the metadata names this broker leader of a new partition. */
  campaign: boolean;
  /** `replica.lag.time.max.ms`. */
  lagTimeMaxMs: number;
  /** Sends Raft messages to the other replicas. */
  send(messages: Message[]): void;
  /** The role, leader, epoch, or (on a leader) the in-sync replicas changed. */
  onLeadershipChanged(): void;
  /** The log was cut at `offset` (a deposed leader's tail, or a snapshot restarting it). */
  onLogTruncated?(offset: number): void;
  /** The group stopped: its log failed, or the leader sent what this replica cannot store. */
  onGroupFailed?(error: unknown): void;
  /** The clock of ISR decisions; `Date.now` by default. */
  now?: () => number;
  /** The group has work: if quiesced, it must tick again (`broker/replication/group_clock.ts`). */
  onActive?(): void;
}

/**
 * One partition replica this broker hosts (its leader or a follower).
 *
 * @example
 * ```ts ignore
 * const replica = await PartitionReplica.open("orders", 0, log, dir, nodeId, new ProducerStateTable());
 * const outcome = replica.append(batchBytes, settings, Date.now());
 * await outcome.durable; // acks=-1
 * ```
 */
export class PartitionReplica {
  /** Runs when the high watermark moves (wakes fetch long polls). */
  readonly highWatermarkAdvanced = new AdvanceSignal();
  /** On a leader: runs when a follower reports its log start offset (DeleteRecords waits on it). */
  readonly followerLogStartReported = new AdvanceSignal();
  /** The topic's `cleanup.policy` includes `compact`: the log cleaner visits this partition. */
  compacted = false;
  /** The topic's `min.insync.replicas`: replicas that must hold an acks=-1 batch durably. */
  minInsyncReplicas = 1;
  #highWatermark: number;
  #raft!: PartitionRaft;
  #waiters: CommitWaiter[] = [];
  #replication: ReplicationOptions | undefined;
  /** On a replicated leader: when each follower last caught up. */
  #isr: InSyncReplicas | undefined;
  /** The leader epoch `#isr` belongs to. */
  #isrEpoch = -1;
  /** The voters `#isr` tracks (the core replaces its configuration object at each membership change). */
  #isrVoters: readonly number[] = [];
  #isrView = "";

  private constructor(
    readonly topic: string,
    readonly partition: number,
    readonly log: PartitionLog,
    readonly producers: ProducerStateTable,
  ) {
    this.#highWatermark = log.flushedOffset;
  }

  /**
   * Opens the replica over its log and starts its Raft group. Without `replication` this broker is the only
   * voter and the group elects itself, which raises the leader epoch by one; with it, the group's voters are
   * the partition's replicas and this replica starts as a follower (campaigning at once if told to).
   */
  static async open(
    topic: string,
    partition: number,
    log: PartitionLog,
    dir: string,
    nodeId: number,
    producers: ProducerStateTable,
    minimumLeaderEpoch = 0,
    replication?: ReplicationOptions,
  ): Promise<PartitionReplica> {
    const replica = new PartitionReplica(topic, partition, log, producers);
    replica.#replication = replication;
    replica.#raft = await PartitionRaft.open({
      dir,
      log,
      nodeId,
      voters: replication?.voters,
      minimumLeaderEpoch,
      campaign: replication?.campaign,
      hooks: {
        onCommitted: (highWatermark) => replica.#advanceHighWatermark(highWatermark),
        onFailed: (e) => {
          replica.#failWaiters(e);
          replication?.onGroupFailed?.(e);
        },
        onReplicated: (batch) => producers.recordBatch(readBatchHeader(batch, 0)),
        onTruncated: (offset) => {
          producers.truncateFrom(offset);
          replication?.onLogTruncated?.(offset);
        },
        snapshotData: (start) => new TextEncoder().encode(JSON.stringify(producers.before(start).toJSON())),
        onSnapshotInstalled: (_start, data) => replica.#restoreProducers(data),
        onRoleChanged: () => replica.#onRoleChanged(),
        onFollowerHeard: (from) => replica.#onFollowerHeard(from),
        send: replication?.send,
        onActive: replication?.onActive,
      },
    });
    if (replication) replica.#highWatermark = replica.#raft.committedEnd;
    return replica;
  }

  /** Starts a new leader epoch (a new Raft term) of a single-voter partition, as a leader election does. */
  startNewLeaderEpoch(): Promise<void> {
    return this.#raft.startNewTerm();
  }

  /** True when the partition has other replicas (its Raft group has several voters). */
  get replicated(): boolean {
    return this.#raft.replicated;
  }

  /** The partition's replicas (the Raft group's voters). */
  get replicas(): readonly number[] {
    return this.#raft.voters;
  }

  /** The Raft group (stepping messages, ticks, leadership transfer). */
  get raft(): PartitionRaft {
    return this.#raft;
  }

  /** One tick of the replicated group's clock; a leader also checks whether a follower fell out of sync. */
  tick(): void {
    this.#raft.tick();
    this.#checkIsr();
  }

  /** Tells the followers of a moved log start now (DeleteRecords): a quiesced group starts ticking again. */
  announceLogStart(): void {
    this.#raft.wake();
  }

  /** Whether the group may stop ticking now (`broker/replication/quiescence.ts`). */
  quiescence(isLive: (broker: number) => boolean): Quiescence {
    return this.#raft.quiescence(isLive);
  }

  /**
   * On a quiesced leader: its followers on live brokers count as caught up now. It quiesced only once they held its
   * whole log, and it hears nothing from them while quiet, so without this they would leave the ISR of an idle
   * partition after `replica.lag.time.max.ms`. A follower whose broker is not live is left to lag out, as before.
   */
  keepLiveFollowersInSync(isLive: (broker: number) => boolean): void {
    if (!this.#isr) return;
    const last = this.log.logEndOffset - 1;
    const now = this.#now();
    for (const id of this.#raft.voters) {
      if (id === this.#raft.nodeId || !isLive(id)) continue;
      const match = this.#raft.matchIndex(id);
      if (match !== undefined) this.#isr.observe(id, match, last, now);
    }
    this.#checkIsr();
  }

  #now(): number {
    return (this.#replication?.now ?? Date.now)();
  }

  #restoreProducers(data: Uint8Array): void {
    let table = new ProducerStateTable();
    try {
      table = ProducerStateTable.fromJSON(JSON.parse(new TextDecoder().decode(data)));
    } catch {
      // An empty or unreadable snapshot: producers start afresh here (KIP-360 lets them resume).
    }
    this.producers.replaceWith(table);
  }

  #onRoleChanged(): void {
    const raft = this.#raft;
    // Waiters of an earlier epoch, or of a leadership now lost, may never be committed as they are.
    if (this.#waiters.length > 0) {
      const lost = this.#waiters.filter((w) => !raft.isRaftLeader || w.leaderEpoch !== raft.leaderEpoch);
      if (lost.length > 0) {
        this.#waiters = this.#waiters.filter((w) => !lost.includes(w));
        const error = new LeadershipLostError(
          `${this.topic}-${this.partition}: leadership moved before the batch was committed`,
        );
        for (const w of lost) w.reject(error);
      }
    }
    if (this.#replication) {
      if (!raft.isRaftLeader) this.#isr = undefined;
      else if (!this.#isr || this.#isrEpoch !== raft.leaderEpoch || this.#isrVoters !== raft.voters) {
        // A new term, or a membership change of a reassignment (a promoted learner is caught up by then).
        this.#isr = new InSyncReplicas(raft.nodeId, raft.voters, this.#now());
        this.#isrEpoch = raft.leaderEpoch;
        this.#isrVoters = raft.voters;
      }
      this.#isrView = this.#isr ? this.inSyncReplicas().join(",") : "";
      this.#replication.onLeadershipChanged();
    }
  }

  #onFollowerHeard(from: number): void {
    this.followerLogStartReported.notify();
    const match = this.#raft.matchIndex(from);
    if (match === undefined || !this.#isr) return;
    this.#isr.observe(from, match, this.log.logEndOffset - 1, this.#now());
    this.#settleWaiters();
    this.#checkIsr();
  }

  /** Tells the listeners when the leader's in-sync replicas changed. */
  #checkIsr(): void {
    if (!this.#isr || !this.#replication) return;
    const view = this.inSyncReplicas().join(",");
    if (view === this.#isrView) return;
    this.#isrView = view;
    this.#replication.onLeadershipChanged();
  }

  /** The leader epoch: the term of the partition's Raft group. */
  get leaderEpoch(): number {
    return this.#raft.leaderEpoch;
  }

  /**
   * True while this broker leads the partition (its Raft group's leader). Only the leader takes produces and
   * serves fetches; a follower answers NOT_LEADER_OR_FOLLOWER.
   */
  get isLeader(): boolean {
    return this.#raft.isLeader;
  }

  /** The partition's leader as this replica knows it; -1 while none is known. */
  get leaderId(): number {
    return this.#raft.leaderId || -1;
  }

  /**
   * The first offset of the current leader epoch on this replica. A new leader answers ListOffsets for the
   * latest offset (OFFSET_NOT_AVAILABLE) only once its high watermark reaches it.
   */
  get leaderEpochStartOffset(): number {
    const latest = this.log.latestEpoch();
    return latest && latest.epoch === this.leaderEpoch ? latest.startOffset : this.log.logEndOffset;
  }

  /**
   * The replicas in sync with this leader (caught up within `replica.lag.time.max.ms`), this broker first;
   * empty on a follower.
   */
  inSyncReplicas(): number[] {
    if (!this.#raft.isRaftLeader) return [];
    if (!this.#isr || !this.#replication) return [this.#raft.nodeId];
    return this.#isr.members(this.#now(), this.#replication.lagTimeMaxMs);
  }

  /** The committed offset: everything below it is durable and visible to consumers. */
  get highWatermark(): number {
    return this.#highWatermark;
  }

  /** The log start offset. */
  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  /**
   * Kafka's low watermark, on a leader: the least log start offset among the in-sync replicas (as each follower
   * last reported it). DeleteRecords answers once it reaches the new log start, so every in-sync replica has
   * followed. A replica out of sync is not waited for: it follows the leader's log start when it catches up.
   */
  get lowWatermark(): number {
    let low = this.log.logStartOffset;
    if (!this.#replication) return low;
    for (const id of this.inSyncReplicas()) {
      if (id === this.#raft.nodeId) continue;
      low = Math.min(low, this.#raft.followerLogStartOffset(id) ?? -1);
    }
    return low;
  }

  /** The next offset to be written. */
  get logEndOffset(): number {
    return this.log.logEndOffset;
  }

  /**
   * Validates and appends the batches of one partition of a Produce request. The bytes are stamped in place.
   * Returns synchronously; `durable` tells when the records are committed (and, replicated, held by
   * `min.insync.replicas` replicas). `acks` is the request's: only acks=-1 is refused for too few in-sync
   * replicas, as in Kafka.
   */
  append(records: Uint8Array, settings: ProduceSettings, nowMs: number, acks = 1): ProduceOutcome {
    const logStartOffset = this.log.logStartOffset;
    if (!this.#raft.isLeader) {
      const leader = this.leaderId;
      return failure(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `This broker is not the leader of ${this.topic}-${this.partition}` + (leader > 0 ? ` (${leader} is)` : ""),
        -1,
      );
    }
    const checked = this.#validate(records, settings, nowMs);
    // Kafka reports the log start offset with errors its LogValidator raises (record-level checks) and -1 with
    // errors found while parsing the request or checking size and CRC.
    if ("errorCode" in checked) {
      return failure(
        checked.errorCode,
        checked.message,
        checked.recordLevel ? logStartOffset : -1,
        checked.recordErrors,
      );
    }
    if (this.log.isOffline) {
      // Checked before the idempotence table too: a retry of a batch written just before the failure would
      // otherwise wait for a high watermark that no fsync will move until the log is reopened.
      return failure(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `The log of ${this.topic}-${this.partition} is offline after a storage failure`,
        -1,
      );
    }
    const { header } = checked;
    if (acks === -1 && this.#replication) {
      const inSync = this.inSyncReplicas();
      if (inSync.length < this.minInsyncReplicas) {
        return failure(
          ErrorCode.NOT_ENOUGH_REPLICAS,
          `The size of the current ISR [${inSync.join(", ")}] is insufficient to satisfy the min.isr requirement ` +
            `of ${this.minInsyncReplicas} for partition ${this.topic}-${this.partition}`,
          logStartOffset,
        );
      }
    }
    let incoming: IncomingBatch | undefined;
    if (header.producerId >= 0n) {
      incoming = {
        producerId: header.producerId,
        producerEpoch: header.producerEpoch,
        firstSequence: header.baseSequence,
        lastSequence: lastSequenceOf(header.baseSequence, header.lastOffsetDelta),
      };
      const verdict = this.producers.check(incoming);
      switch (verdict.kind) {
        case "duplicate": {
          const original = verdict.original;
          return {
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            baseOffset: original.firstOffset,
            logAppendTimeMs: settings.logAppendTime ? original.timestampMs : -1,
            logStartOffset,
            durable: this.#durableAt(original.lastOffset + 1),
          };
        }
        case "out_of_order":
          return failure(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, verdict.message, logStartOffset);
        case "fenced_epoch":
          return failure(ErrorCode.INVALID_PRODUCER_EPOCH, verdict.message, logStartOffset);
      }
    }

    if (settings.logAppendTime) this.#stampLogAppendTime(records, nowMs);
    let appended;
    try {
      appended = this.#raft.appendAsLeader(records, header.lastOffsetDelta + 1);
    } catch (e) {
      if (e instanceof LogError) return failure(errorCodeForLogError(e), e.message, -1);
      if (e instanceof NotLeaderError) return failure(ErrorCode.NOT_LEADER_OR_FOLLOWER, e.message, -1);
      throw e;
    }
    if (incoming) this.producers.record(incoming, appended.baseOffset, appended.lastOffset, nowMs);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      baseOffset: appended.baseOffset,
      logAppendTimeMs: settings.logAppendTime ? nowMs : -1,
      logStartOffset,
      durable: this.#durableAt(appended.lastOffset + 1),
    };
  }

  /**
   * Resolves once the high watermark (the Raft commit index + 1) reaches `endOffset` and, on a replicated
   * partition, `min.insync.replicas` replicas hold it durably.
   */
  #durableAt(endOffset: number): Promise<void> {
    if (endOffset <= this.#highWatermark && this.#heldByEnough(endOffset)) return Promise.resolve();
    const leaderEpoch = this.leaderEpoch;
    const durable = new Promise<void>((resolve, reject) =>
      this.#waiters.push({ endOffset, leaderEpoch, resolve, reject })
    );
    // acks=0/1 producers do not wait for durability: a failure then must not surface as an unhandled rejection.
    durable.catch(() => {});
    return durable;
  }

  /** Whether at least `min.insync.replicas` replicas hold every offset below `endOffset` durably. */
  #heldByEnough(endOffset: number): boolean {
    if (!this.#replication || this.minInsyncReplicas <= 1) return true;
    return this.#raft.replicasHolding(endOffset - 1) >= this.minInsyncReplicas;
  }

  #advanceHighWatermark(highWatermark: number): void {
    if (highWatermark <= this.#highWatermark) {
      if (this.#waiters.length > 0) this.#settleWaiters();
      return;
    }
    this.#highWatermark = highWatermark;
    this.#settleWaiters();
    this.highWatermarkAdvanced.notify();
  }

  /** Answers the waiters (oldest first) whose batches are committed and held by enough replicas. */
  #settleWaiters(): void {
    let done = 0;
    while (
      done < this.#waiters.length && this.#waiters[done].endOffset <= this.#highWatermark &&
      this.#heldByEnough(this.#waiters[done].endOffset)
    ) {
      this.#waiters[done++].resolve();
    }
    if (done > 0) this.#waiters.splice(0, done);
  }

  /** Stops the replica's Raft group (the log stays open; its owner closes it). */
  async closeGroup(): Promise<void> {
    await this.#raft.close();
    this.#failWaiters(new LeadershipLostError(`${this.topic}-${this.partition} was closed on this broker`));
  }

  /** The log could not make appended batches durable: everyone waiting learns it. */
  #failWaiters(error: unknown): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(error);
  }

  /** Checks what Kafka checks of a v2 produce payload: the batch header, then the framing of every record. */
  #validate(
    records: Uint8Array,
    settings: ProduceSettings,
    nowMs: number,
  ):
    | { errorCode: number; message: string; recordLevel?: boolean; recordErrors?: RecordError[] }
    | { header: BatchHeader } {
    if (records.length === 0) {
      return { errorCode: ErrorCode.INVALID_RECORD, message: "Produce requests must have at least one record batch" };
    }
    // A truncated batch is no batch at all to Kafka's request parser: "at least one record batch" fails.
    if (records.length < BATCH_HEADER_SIZE) {
      return { errorCode: ErrorCode.INVALID_RECORD, message: `Record batch of ${records.length} bytes is truncated` };
    }
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    const magic = view.getInt8(BatchOffsets.magic);
    if (magic !== 2) {
      return {
        errorCode: ErrorCode.INVALID_RECORD,
        message: "Produce requests are only allowed to contain record batches with magic version 2",
      };
    }
    const size = batchSize(records, 0);
    if (size < BATCH_HEADER_SIZE || size > records.length) {
      return {
        errorCode: ErrorCode.INVALID_RECORD,
        message: `Record batch length ${size - BATCH_LENGTH_PREFIX} is invalid`,
      };
    }
    if (size !== records.length) {
      return {
        errorCode: ErrorCode.INVALID_RECORD,
        message: "Produce requests are only allowed to contain exactly one record batch per partition",
      };
    }
    if (size > settings.maxMessageBytes) {
      return {
        errorCode: ErrorCode.MESSAGE_TOO_LARGE,
        message: `The record batch of ${size} bytes exceeds max.message.bytes ${settings.maxMessageBytes}`,
      };
    }
    if (!isBatchCrcValid(records, 0)) {
      return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: "Record batch is corrupt (CRC-32C mismatch)" };
    }
    const header = readBatchHeader(records, 0);
    if (header.baseOffset !== 0n) {
      return {
        errorCode: ErrorCode.INVALID_RECORD,
        message: `The baseOffset of the record batch in the append to ${this.topic}-${this.partition} should ` +
          `be 0, but it is ${header.baseOffset}`,
        recordLevel: true,
      };
    }
    if ((header.attributes & Attributes.compressionMask) > Compression.Zstd) {
      return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: "Record batch has an unknown compression codec" };
    }
    if (header.attributes & Attributes.control) {
      return {
        errorCode: ErrorCode.INVALID_RECORD,
        message: "Clients are not allowed to write control records",
        recordLevel: true,
      };
    }
    if (header.recordsCount <= 0 || header.lastOffsetDelta + 1 !== header.recordsCount) {
      return {
        errorCode: ErrorCode.INVALID_RECORD,
        message: "Inconsistent batch offset range and record count",
        recordLevel: true,
      };
    }
    if (header.producerId >= 0n && header.baseSequence < 0) {
      return {
        errorCode: ErrorCode.INVALID_RECORD,
        message: "Idempotent batch has no base sequence",
        recordLevel: true,
      };
    }
    // Kafka's LogValidator walks every record of every produced batch; a batch whose records disagree with
    // its header would otherwise stall consumers at it (issue 15). Compacted topics also need a key per record.
    // Record timestamps are checked one by one, as Kafka does (a batch's max timestamp is the client's word).
    const { defect, maxTimestamp } = validateRecords(records, {
      requireKeys: settings.compacted,
      topicPartition: `${this.topic}-${this.partition}`,
      timestampRange: settings.logAppendTime ? undefined : {
        min: nowMs - settings.timestampBeforeMaxMs,
        max: nowMs + settings.timestampAfterMaxMs,
      },
    });
    if (defect) {
      return {
        errorCode: errorCodeForRecordsDefect(defect),
        message: defect.message,
        recordLevel: true,
        recordErrors: defect.recordErrors,
      };
    }
    if (!settings.logAppendTime && maxTimestamp !== Number(header.maxTimestamp)) {
      // Kafka writes the records' true max timestamp into the batch; the time index and time-based retention read
      // it, so a client's wrong value must not stay.
      this.#stampMaxTimestamp(records, maxTimestamp);
    }
    return { header };
  }

  /** Sets the batch's max timestamp (CRC-covered, so the CRC is computed again). */
  #stampMaxTimestamp(records: Uint8Array, maxTimestamp: number): void {
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    view.setBigInt64(BatchOffsets.maxTimestamp, BigInt(maxTimestamp));
    writeBatchCrc(records, 0);
  }

  /** LogAppendTime topics: the batch's max timestamp becomes now; both fields are CRC-covered, so re-sum. */
  #stampLogAppendTime(records: Uint8Array, nowMs: number): void {
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    view.setInt16(BatchOffsets.attributes, view.getInt16(BatchOffsets.attributes) | Attributes.timestampTypeLogAppend);
    view.setBigInt64(BatchOffsets.maxTimestamp, BigInt(nowMs));
    writeBatchCrc(records, 0);
  }

  /**
   * Reads committed batches from `offset`, at most `maxBytes` (but at least one whole batch when `minOneBatch`).
   * Offsets past the log end or before its start answer OFFSET_OUT_OF_RANGE. With `deferred`, a large read comes
   * back as a deferred run for the response encoder to fill (`ReadOptions.deferred`).
   */
  read(offset: number, maxBytes: number, minOneBatch: boolean, deferred = false): FetchOutcome {
    let result: ReadResult;
    try {
      result = this.log.read(offset, maxBytes, { upTo: this.#highWatermark, minOneBatch, deferred });
    } catch (e) {
      if (e instanceof LogError) {
        return {
          errorCode: errorCodeForLogError(e),
          highWatermark: this.#highWatermark,
          logStartOffset: this.log.logStartOffset,
          records: new Uint8Array(0),
        };
      }
      throw e;
    }
    return {
      errorCode: ErrorCode.NONE,
      highWatermark: this.#highWatermark,
      logStartOffset: result.logStartOffset,
      records: result.records,
    };
  }
}
