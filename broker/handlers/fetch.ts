/**
 * Fetch (API key 1), versions 4-17: reads committed record batches for consumers, as Kafka's
 * `KafkaApis.handleFetchRequest`, `ReplicaManager.fetchMessages` and `DelayedFetch` answer them.
 *
 * The batches go from the log to the response untouched and undecoded. A large read is deferred: the response
 * encoder reads the segment's bytes straight into the frame (`ReadOptions.deferred`), so they are copied once.
 *
 * Fetch sessions (KIP-227): Samsa keeps no session cache, and answers every fetch sessionless, which the
 * protocol allows (a broker whose session cache is full does the same):
 * - a full fetch (session epoch -1, or 0 to ask for a new session) gets session id 0 and error NONE; a client
 *   that asked for a session sees id 0, keeps sending full fetches, and loses nothing but the request-size saving;
 * - an incremental fetch (any other epoch) names a session this broker cannot know, so it gets
 *   FETCH_SESSION_ID_NOT_FOUND at the top level with no partitions, and the client falls back to a full fetch.
 *
 * @module
 */
import type { BrokerContext, Handler, HandlerRequest } from "../broker_context.ts";
import type { ConnectionInfo } from "../connection.ts";
import type { TopicImage } from "../metadata_image.ts";
import { LeaderHints, leaderReplica } from "../leader_lookup.ts";
import { errorCodeForLogError, type PartitionReplica } from "../replication/partition_replica.ts";
import { epochEndOffset } from "./offset_for_leader_epoch.ts";
import { LogError } from "../../log/log_error.ts";
import { ErrorCode, ZERO_UUID } from "../../protocol/messages.ts";
import type { FetchRequest } from "../../protocol/generated/messages/fetch_request.ts";
import {
  defaultFetchResponseEpochEndOffset,
  defaultFetchResponseLeaderIdAndEpoch,
  defaultFetchResponseSnapshotId,
  type FetchResponse,
  type FetchResponseFetchableTopicResponse,
  type FetchResponseNodeEndpoint,
  type FetchResponsePartitionData,
} from "../../protocol/generated/messages/fetch_response.ts";
import { slicerFor } from "../work_slices.ts";
import { type LiveBrokers, preferredReadReplica } from "../replication/replica_selector.ts";

/** Session epoch of a full fetch that opens no session (and the only one before v7). */
const FINAL_EPOCH = -1;
/** Session epoch of a full fetch that asks for a new session. */
const INITIAL_EPOCH = 0;
/** `isolation_level` READ_COMMITTED. */
const READ_COMMITTED = 1;
/** The bytes of a partition that returns no records (Kafka's MemoryRecords.EMPTY): shared, never written. */
const NO_RECORDS = new Uint8Array(0);

/** One requested partition that names an existing topic partition, and what its last read answered. */
interface Slot {
  topic: TopicImage;
  /** The topic id as the response names it: the topic's id at v13+, ZERO_UUID before. */
  responseTopicId: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  /** -1 when the request carries none (Kafka's Optional.empty). */
  currentLeaderEpoch: number;
  lastFetchedEpoch: number;
  data: FetchResponsePartitionData;
  /** The replica read, when there is one (the long poll listens to it). */
  replica: PartitionReplica | undefined;
}

/** One requested partition, answered or not, in the order the response lists it. */
interface Entry {
  topicName: string;
  responseTopicId: string;
  data: FetchResponsePartitionData;
}

/**
 * A partition answer with nothing but an error and -1 offsets. Kafka 4.3 answers the two kinds a little
 * differently on the wire (checked against it): a partition refused before any read (unknown topic, id or
 * partition) carries an empty aborted-transactions list, one whose read failed carries null; both carry empty
 * records.
 */
function errorPartition(partition: number, errorCode: number, refusedBeforeRead = false): FetchResponsePartitionData {
  return {
    partitionIndex: partition,
    errorCode,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    divergingEpoch: defaultFetchResponseEpochEndOffset(),
    currentLeader: defaultFetchResponseLeaderIdAndEpoch(),
    snapshotId: defaultFetchResponseSnapshotId(),
    abortedTransactions: refusedBeforeRead ? [] : null,
    preferredReadReplica: -1,
    records: NO_RECORDS,
  };
}

/** Everything a read of the whole request shares. */
interface ReadParams {
  apiVersion: number;
  isFromFollower: boolean;
  readCommitted: boolean;
  maxBytes: number;
  /** `replica.selector.class`, or null when unset. */
  replicaSelector: string | null;
  /** The consumer's rack (v11+; empty when none). */
  clientRack: string;
  /** The live brokers on the client's listener, looked up at most once per request. */
  liveBrokers: LiveBrokers;
}

/** Consumer fetches from this version on carry client metadata (KIP-392), and a follower may answer them. */
const FOLLOWER_FETCH_VERSION = 11;

/**
 * Reads one partition, as `ReplicaManager.readFromLog`'s per-partition read: the leader epoch must match and this
 * broker must lead the partition (leader_lookup.ts), then the log is read from the fetch offset up to the high
 * watermark. Errors other than a diverging epoch answer -1 offsets and no records.
 *
 * KIP-392: a consumer fetch of v11+ may be answered by a follower too, as Kafka answers it (with or without a
 * preferred-replica decision behind it): up to the follower's own high watermark, so an offset between it and
 * the follower's log end reads nothing yet, and only an offset beyond the log end is OFFSET_OUT_OF_RANGE. A
 * leader with `replica.selector.class` set names an in-sync follower in the consumer's rack as its preferred read
 * replica, and then reads nothing (replica_selector.ts). Earlier versions are served by the leader only.
 */
function readPartition(
  ctx: BrokerContext,
  slot: Slot,
  params: ReadParams,
  limitBytes: number,
  minOneMessage: boolean,
): FetchResponsePartitionData {
  const fail = (errorCode: number) => errorPartition(slot.partition, errorCode);
  // The long poll listens to the replica even while it refuses (a follower that becomes leader wakes it).
  slot.replica = ctx.replicas.get(slot.topic.name, slot.partition);
  // Fetch treats any negative current leader epoch as none (ListOffsets and OffsetForLeaderEpoch only -1).
  const { replica, errorCode } = leaderReplica(ctx, slot.topic.name, slot.partition, {
    currentLeaderEpoch: slot.currentLeaderEpoch >= 0 ? slot.currentLeaderEpoch : undefined,
    requireLeader: params.isFromFollower || params.apiVersion < FOLLOWER_FETCH_VERSION,
  });
  // A log that went offline after a failed write still serves what is durable (Kafka takes the whole log
  // directory offline instead); a failing read answers KAFKA_STORAGE_ERROR through replica.read.
  if (!replica) return fail(errorCode);
  if (params.isFromFollower) {
    // Partitions replicate through Raft, not through Kafka's Fetch; a follower fetch comes from a replica this
    // partition does not know, which Kafka answers so (followerReplicaOrThrow).
    return fail(slot.currentLeaderEpoch >= 0 ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.NOT_LEADER_OR_FOLLOWER);
  }

  const highWatermark = replica.highWatermark;
  const logStartOffset = replica.logStartOffset;
  // No transactions yet: the last stable offset is the high watermark, and read_committed reads up to it.
  const lastStableOffset = highWatermark;

  if (slot.lastFetchedEpoch >= 0) {
    // KIP-320/KIP-595: a fetcher that names the epoch of its last fetched batch learns where its log diverges.
    const end = epochEndOffset(replica.log, slot.lastFetchedEpoch, replica.leaderEpoch);
    if (end.endOffset === -1 || end.leaderEpoch === -1 || slot.fetchOffset < logStartOffset) {
      return fail(ErrorCode.OFFSET_OUT_OF_RANGE);
    }
    if (end.leaderEpoch < slot.lastFetchedEpoch || end.endOffset < slot.fetchOffset) {
      return {
        ...errorPartition(slot.partition, ErrorCode.NONE),
        highWatermark: BigInt(highWatermark),
        lastStableOffset: BigInt(lastStableOffset),
        logStartOffset: BigInt(logStartOffset),
        divergingEpoch: { epoch: end.leaderEpoch, endOffset: BigInt(end.endOffset) },
        abortedTransactions: params.readCommitted ? [] : null,
      };
    }
  }

  if (params.apiVersion >= FOLLOWER_FETCH_VERSION) {
    const preferred = preferredReadReplica(replica, {
      nodeId: ctx.nodeId,
      selector: params.replicaSelector,
      clientRack: params.clientRack,
      fetchOffset: slot.fetchOffset,
      liveBrokers: params.liveBrokers,
    });
    if (preferred >= 0) {
      ctx.logger.debug("preferred read replica named", {
        topic: slot.topic.name,
        partition: slot.partition,
        client_rack: params.clientRack,
        preferred_read_replica: preferred,
      });
      // The client fetches from the preferred replica next; Kafka reads nothing here then.
      return {
        ...errorPartition(slot.partition, ErrorCode.NONE),
        highWatermark: BigInt(highWatermark),
        lastStableOffset: BigInt(lastStableOffset),
        logStartOffset: BigInt(logStartOffset),
        abortedTransactions: params.readCommitted ? [] : null,
        preferredReadReplica: preferred,
      };
    }
  }

  const maxBytes = Math.min(slot.partitionMaxBytes, limitBytes);
  if (maxBytes < 0 && slot.fetchOffset >= logStartOffset && slot.fetchOffset < highWatermark) {
    // Kafka's segment read refuses a negative size (an unexpected error there answers UNKNOWN_SERVER_ERROR).
    return fail(ErrorCode.UNKNOWN_SERVER_ERROR);
  }
  // Deferred: the records go from the segment file straight into the response frame when it is encoded.
  const read = replica.read(slot.fetchOffset, Math.max(0, maxBytes), minOneMessage, true);
  // Kafka answers every read error, OFFSET_OUT_OF_RANGE included, with -1 offsets (createLogReadResult(e)).
  if (read.errorCode !== ErrorCode.NONE) return fail(read.errorCode);
  if (!replica.isLeader && read.records.length > 0) {
    ctx.logger.debug("consumer fetch served by a follower", {
      topic: slot.topic.name,
      partition: slot.partition,
      fetch_offset: slot.fetchOffset,
      bytes: read.records.length,
    });
  }
  return {
    partitionIndex: slot.partition,
    errorCode: ErrorCode.NONE,
    highWatermark: BigInt(highWatermark),
    lastStableOffset: BigInt(lastStableOffset),
    logStartOffset: BigInt(read.logStartOffset),
    divergingEpoch: defaultFetchResponseEpochEndOffset(),
    currentLeader: defaultFetchResponseLeaderIdAndEpoch(),
    snapshotId: defaultFetchResponseSnapshotId(),
    // Kafka lists aborted transactions (none yet) only for read_committed; read_uncommitted gets null.
    abortedTransactions: params.readCommitted ? [] : null,
    preferredReadReplica: -1,
    records: read.records,
  };
}

/**
 * `readPartition`, with a failure confined to its partition as Kafka confines it: a log error gets its Kafka
 * code, anything else UNKNOWN_SERVER_ERROR (and an error log line), never a failed response.
 */
function readPartitionSafely(
  ctx: BrokerContext,
  slot: Slot,
  params: ReadParams,
  limitBytes: number,
  minOneMessage: boolean,
): FetchResponsePartitionData {
  try {
    return readPartition(ctx, slot, params, limitBytes, minOneMessage);
  } catch (e) {
    if (e instanceof LogError) return errorPartition(slot.partition, errorCodeForLogError(e));
    ctx.logger.error("fetch failed", { topic: slot.topic.name, partition: slot.partition, error: String(e) });
    return errorPartition(slot.partition, ErrorCode.UNKNOWN_SERVER_ERROR);
  }
}

/** What one pass over every slot found. */
interface ReadPass {
  bytes: number;
  /** An error, a diverging epoch or a preferred read replica: Kafka answers at once then. */
  answerNow: boolean;
}

/**
 * Reads every slot in request order with the request's byte budget (KIP-74): until some partition returns
 * records, a partition returns at least one whole batch even past the limits; after that, each partition gets
 * at most what is left of `maxBytes`.
 */
function readAll(ctx: BrokerContext, slots: Slot[], params: ReadParams): ReadPass {
  let limitBytes = params.maxBytes;
  let minOneMessage = true;
  let bytes = 0;
  let answerNow = false;
  for (const slot of slots) {
    const data = readPartitionSafely(ctx, slot, params, limitBytes, minOneMessage);
    if (data.errorCode === ErrorCode.KAFKA_STORAGE_ERROR && params.apiVersion <= 5) {
      // Consumers before v6 do not know KAFKA_STORAGE_ERROR; Kafka sends them one they refresh metadata on.
      data.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    }
    slot.data = data;
    const size = data.records?.length ?? 0;
    if (size > 0) minOneMessage = false;
    limitBytes = Math.max(0, limitBytes - size);
    bytes += size;
    // A preferred read replica is answered at once too: the client is to fetch elsewhere (Kafka does the same).
    if (data.errorCode !== ErrorCode.NONE || data.divergingEpoch.epoch >= 0 || data.preferredReadReplica >= 0) {
      answerNow = true;
    }
  }
  return { bytes, answerNow };
}

/**
 * Waits for a long poll: wakes on the next high watermark advance of any listened partition, when `maxWaitMs`
 * has passed, or when the connection closes. One timer for the whole wait; the advance listeners cost nothing
 * until a partition commits.
 */
class LongPoll {
  expired = false;
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #signal: AbortSignal;
  #cancels: (() => void)[] = [];
  #wake: (() => void) | undefined;
  readonly #onAbort = () => this.#fire();

  constructor(maxWaitMs: number, signal: AbortSignal) {
    this.#signal = signal;
    this.#timer = setTimeout(() => {
      this.expired = true;
      this.#fire();
    }, maxWaitMs);
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  get closed(): boolean {
    return this.#signal.aborted;
  }

  /** Resolves at the next advance of any of `replicas`, at expiry, or at close (whichever comes first). */
  next(replicas: Iterable<PartitionReplica>): Promise<void> {
    if (this.expired || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = resolve;
      for (const replica of replicas) this.#cancels.push(replica.highWatermarkAdvanced.once(() => this.#fire()));
    });
  }

  #fire(): void {
    for (const cancel of this.#cancels) cancel();
    this.#cancels = [];
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#signal.removeEventListener("abort", this.#onAbort);
    this.#fire();
  }
}

/** True when the request's consumer is a broker replica (follower fetch). */
function isFromFollower(body: FetchRequest, apiVersion: number): boolean {
  return (apiVersion >= 15 ? body.replicaState.replicaId : body.replicaId) >= 0;
}

/**
 * Answers Fetch.
 *
 * @example
 * ```ts ignore
 * const response = await handleFetch(ctx, { apiVersion: 17, header, body: fetchRequest }, conn);
 * ```
 */
export const handleFetch: Handler<1> = async (
  ctx: BrokerContext,
  request: HandlerRequest<1>,
  conn: ConnectionInfo,
): Promise<FetchResponse> => {
  const { apiVersion, body } = request;
  const slicer = slicerFor(request);
  if (apiVersion >= 7 && body.sessionEpoch !== FINAL_EPOCH && body.sessionEpoch !== INITIAL_EPOCH) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
      sessionId: 0,
      responses: [],
      nodeEndpoints: [],
    };
  }

  // Partitions the metadata does not know are answered without a read, and listed after the read ones, as
  // Kafka lists its "erroneous" partitions after the "interesting" ones. A partition asked twice is answered
  // once, where first asked, with what was asked last (Kafka keys the request's partitions in a LinkedHashMap).
  const useTopicIds = apiVersion >= 13;
  const slots: Slot[] = [];
  const erroneous: Entry[] = [];
  const asked = new Map<string, Slot | Entry>();
  for (const t of body.topics) {
    const topic = useTopicIds ? ctx.metadata.topicById(t.topicId) : ctx.metadata.topic(t.topic);
    const responseTopicId = useTopicIds ? t.topicId : ZERO_UUID;
    for (const p of t.partitions) {
      if (slicer.due()) await slicer.pause();
      const key = `${useTopicIds ? t.topicId : t.topic}\u0000${p.partition}`;
      const errorCode: number = !topic
        ? (useTopicIds ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        : p.partition < 0 || topic.partitions[p.partition] === undefined
        ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        : ErrorCode.NONE;
      if (!topic || errorCode !== ErrorCode.NONE) {
        if (asked.has(key)) continue;
        const entry = {
          topicName: topic?.name ?? t.topic,
          responseTopicId,
          data: errorPartition(p.partition, errorCode, true),
        };
        asked.set(key, entry);
        erroneous.push(entry);
        continue;
      }
      const fields = {
        fetchOffset: Number(p.fetchOffset),
        partitionMaxBytes: p.partitionMaxBytes,
        currentLeaderEpoch: p.currentLeaderEpoch,
        lastFetchedEpoch: p.lastFetchedEpoch,
      };
      const earlier = asked.get(key) as Slot | undefined;
      if (earlier) {
        Object.assign(earlier, fields);
        continue;
      }
      const slot: Slot = {
        topic,
        responseTopicId,
        partition: p.partition,
        ...fields,
        data: errorPartition(p.partition, ErrorCode.NONE),
        replica: undefined,
      };
      asked.set(key, slot);
      slots.push(slot);
    }
  }

  if (slots.length > 0) {
    const maxBytes = Math.min(body.maxBytes, ctx.config.getInt("fetch.max.bytes"));
    const minBytes = Math.min(body.minBytes, maxBytes);
    let liveBrokers: ReturnType<LiveBrokers> | undefined;
    const params: ReadParams = {
      apiVersion,
      isFromFollower: isFromFollower(body, apiVersion),
      readCommitted: body.isolationLevel === READ_COMMITTED,
      maxBytes,
      replicaSelector: ctx.config.isSet("replica.selector.class")
        ? ctx.config.getString("replica.selector.class")
        : null,
      clientRack: apiVersion >= FOLLOWER_FETCH_VERSION ? body.rackId : "",
      liveBrokers: () => (liveBrokers ??= ctx.cluster?.liveBrokers(conn.listenerName) ?? []),
    };
    let pass = readAll(ctx, slots, params);
    if (body.maxWaitMs > 0 && pass.bytes < minBytes && !pass.answerNow) {
      // DelayedFetch: wait until enough bytes are committed, then answer with a fresh read of every partition.
      const poll = new LongPoll(body.maxWaitMs, conn.signal);
      try {
        for (;;) {
          await poll.next(listened(slots));
          if (poll.closed) break; // nobody will read the answer: skip the read
          pass = readAll(ctx, slots, params);
          if (poll.expired || pass.bytes >= minBytes || pass.answerNow) break;
        }
      } finally {
        poll.dispose();
      }
    }
  }

  let nodeEndpoints: FetchResponseNodeEndpoint[] = [];
  const entries: Entry[] = slots.map((slot) => ({
    topicName: slot.topic.name,
    responseTopicId: slot.responseTopicId,
    data: slot.data,
  }));
  if (apiVersion >= 16) {
    // KIP-951: a partition answered NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH tells the client the current
    // leader and epoch, and the response lists that leader's endpoint on the client's listener.
    const hints = new LeaderHints(ctx, conn.listenerName);
    for (const slot of slots) {
      const code = slot.data.errorCode;
      if (code !== ErrorCode.NOT_LEADER_OR_FOLLOWER && code !== ErrorCode.FENCED_LEADER_EPOCH) continue;
      slot.data.currentLeader = hints.currentLeader(slot.topic.name, slot.partition);
    }
    nodeEndpoints = hints.nodeEndpoints;
  }
  entries.push(...erroneous);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    sessionId: 0,
    responses: groupByTopic(entries),
    nodeEndpoints,
  };
};

/** The replicas a long poll waits on: every partition read that has one. */
function* listened(slots: Slot[]): Iterable<PartitionReplica> {
  for (const slot of slots) if (slot.replica) yield slot.replica;
}

/** Lists entries under their topics, keeping the order: consecutive entries of one topic share a topic entry. */
function groupByTopic(entries: Entry[]): FetchResponseFetchableTopicResponse[] {
  const topics: FetchResponseFetchableTopicResponse[] = [];
  let last: FetchResponseFetchableTopicResponse | undefined;
  for (const entry of entries) {
    const same = last !== undefined &&
      (last.topicId !== ZERO_UUID ? last.topicId === entry.responseTopicId : last.topic === entry.topicName);
    if (!same) {
      last = { topic: entry.topicName, topicId: entry.responseTopicId, partitions: [] };
      topics.push(last);
    }
    last!.partitions.push(entry.data);
  }
  return topics;
}
