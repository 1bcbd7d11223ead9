/**
 * ListOffsets (API key 2), versions 1-10: finds an offset of a partition by a timestamp, or by one of Kafka's
 * special timestamps, as Kafka's `ReplicaManager.fetchOffset` and `Partition.fetchOffsetForTimestamp` do.
 *
 * Timestamps, with the first version that knows each:
 * - `-2` earliest (v1): the log start offset, timestamp -1.
 * - `-1` latest (v1): the last fetchable offset: the high watermark for read_uncommitted, the last stable offset
 *   for read_committed (equal to it until transactions exist), the log end offset for a broker's request.
 * - `-3` max timestamp (v7, KIP-734): the largest timestamp in the log and where it is.
 * - `-4` earliest local (v8, KIP-405): as earliest; without tiered storage the local log is the whole log.
 * - `-5` latest tiered (v9, KIP-1005): offset -1, timestamp -1, epoch -1, as Kafka answers without remote
 *   storage. (Earliest-pending-upload, KIP-1023, is `-6` and comes with v11, which Samsa does not serve.)
 * - `t >= 0` (v1): the first offset whose timestamp is >= t, or offset -1, timestamp -1 when every record is older.
 *
 * Samsa never decodes records, so lookups by time work at batch granularity: the timestamp answered is the
 * batch's max timestamp and the offset the batch's base offset (Kafka answers the first record's own offset
 * and timestamp, and for -3 the offset of the record carrying the max). The offset answered is never later
 * than Kafka's and lies in the same batch, so a consumer seeking there misses nothing, but may also receive the
 * records of that batch that precede Kafka's answer.
 *
 * @module
 */
import type { BrokerContext, Handler, HandlerRequest } from "../broker_context.ts";
import { leaderReplica } from "../leader_lookup.ts";
import { errorCodeForLogError, type PartitionReplica } from "../replication/partition_replica.ts";
import { LogError } from "../../log/log_error.ts";
import { ErrorCode } from "../../protocol/messages.ts";
import type { ListOffsetsRequestListOffsetsPartition } from "../../protocol/generated/messages/list_offsets_request.ts";
import type {
  ListOffsetsResponse,
  ListOffsetsResponseListOffsetsPartitionResponse,
  ListOffsetsResponseListOffsetsTopicResponse,
} from "../../protocol/generated/messages/list_offsets_response.ts";
import { slicerFor } from "../work_slices.ts";

/** Kafka's special timestamps (ListOffsetsRequest constants). */
export const ListOffsetsTimestamp = {
  LATEST: -1,
  EARLIEST: -2,
  MAX_TIMESTAMP: -3,
  EARLIEST_LOCAL: -4,
  LATEST_TIERED: -5,
} as const;

/** The first version that knows each special timestamp; any other negative timestamp is UNSUPPORTED_VERSION. */
const MIN_VERSION_OF_SPECIAL_TIMESTAMP = new Map<number, number>([
  [ListOffsetsTimestamp.EARLIEST, 1],
  [ListOffsetsTimestamp.LATEST, 1],
  [ListOffsetsTimestamp.MAX_TIMESTAMP, 7],
  [ListOffsetsTimestamp.EARLIEST_LOCAL, 8],
  [ListOffsetsTimestamp.LATEST_TIERED, 9],
]);

/** `replica_id` of a consumer. */
const CONSUMER_REPLICA_ID = -1;
/** `replica_id` of a debugging client (kafka-get-offsets' old default): a follower may answer it. */
const DEBUGGING_REPLICA_ID = -2;
/** `isolation_level` READ_COMMITTED. */
const READ_COMMITTED = 1;

/** A found offset: timestamp -1 for the special timestamps that carry none, leader epoch -1 when unknown. */
interface Found {
  timestamp: number;
  offset: number;
  leaderEpoch: number;
}

/** A partition's answer with an error (or none and nothing found): -1 offset and timestamp. */
function noOffset(partitionIndex: number, errorCode: number): ListOffsetsResponseListOffsetsPartitionResponse {
  return { partitionIndex, errorCode, oldStyleOffsets: [], timestamp: -1n, offset: -1n, leaderEpoch: -1 };
}

/**
 * The offset for `timestamp` in `replica`'s log, or an error code. `lastFetchableOffset` bounds what may be
 * answered for the searches (max timestamp and by time): a found offset at or past it is not visible yet, so
 * Kafka answers nothing (or the lagging-high-watermark error, when there is one).
 */
function lookUp(
  replica: PartitionReplica,
  timestamp: number,
  lastFetchableOffset: number,
  offsetsError: number | undefined,
): Found | null | number {
  const log = replica.log;
  switch (timestamp) {
    case ListOffsetsTimestamp.LATEST:
      if (offsetsError !== undefined) return offsetsError;
      return { timestamp: -1, offset: lastFetchableOffset, leaderEpoch: replica.leaderEpoch };
    case ListOffsetsTimestamp.EARLIEST:
    case ListOffsetsTimestamp.EARLIEST_LOCAL: {
      const offset = replica.logStartOffset;
      return { timestamp: -1, offset, leaderEpoch: log.epochForOffset(offset) };
    }
    case ListOffsetsTimestamp.LATEST_TIERED:
      return { timestamp: -1, offset: -1, leaderEpoch: -1 };
  }
  const found = timestamp === ListOffsetsTimestamp.MAX_TIMESTAMP
    ? log.maxTimestamp()
    : log.offsetForTimestamp(timestamp);
  if (found === null || found.offset >= lastFetchableOffset) return offsetsError ?? null;
  return { timestamp: found.timestamp, offset: found.offset, leaderEpoch: log.epochForOffset(found.offset) };
}

/** Answers one partition. */
function listOffset(
  ctx: BrokerContext,
  apiVersion: number,
  topicName: string,
  p: ListOffsetsRequestListOffsetsPartition,
  replicaId: number,
  readCommitted: boolean,
): ListOffsetsResponseListOffsetsPartitionResponse {
  const isClient = replicaId === CONSUMER_REPLICA_ID;
  const timestamp = Number(p.timestamp);
  if (timestamp < 0) {
    const minVersion = MIN_VERSION_OF_SPECIAL_TIMESTAMP.get(timestamp);
    if (minVersion === undefined || apiVersion < minVersion) {
      return noOffset(p.partitionIndex, ErrorCode.UNSUPPORTED_VERSION);
    }
  }
  // ListOffsets treats only -1 as "no epoch" (Fetch: any negative); only a debugging client may ask a follower.
  const { replica, errorCode } = leaderReplica(ctx, topicName, p.partitionIndex, {
    currentLeaderEpoch: p.currentLeaderEpoch === -1 ? undefined : p.currentLeaderEpoch,
    requireLeader: replicaId !== DEBUGGING_REPLICA_ID,
  });
  if (!replica) return noOffset(p.partitionIndex, errorCode);

  const highWatermark = replica.highWatermark;
  // No transactions yet: the last stable offset is the high watermark.
  const lastStableOffset = highWatermark;
  const lastFetchableOffset = !isClient ? replica.logEndOffset : readCommitted ? lastStableOffset : highWatermark;
  // A new leader's high watermark can lag behind the start of its epoch until it commits an entry of its term;
  // Kafka then refuses to answer "latest" (and a search that finds nothing visible) for clients rather than
  // answer an offset that may go back (KIP-207). Only a leader has an epoch start offset in Kafka.
  let offsetsError: number | undefined;
  if (isClient && replica.isLeader && replica.leaderEpochStartOffset > highWatermark) {
    offsetsError = apiVersion >= 5 ? ErrorCode.OFFSET_NOT_AVAILABLE : ErrorCode.LEADER_NOT_AVAILABLE;
  }

  let found: Found | null | number;
  try {
    found = lookUp(replica, timestamp, lastFetchableOffset, offsetsError);
  } catch (e) {
    // A failure stays with its partition, as in Kafka: a log error gets its code, anything else is unexpected.
    if (e instanceof LogError) return noOffset(p.partitionIndex, errorCodeForLogError(e));
    ctx.logger.error("list offsets failed", { topic: topicName, partition: p.partitionIndex, error: String(e) });
    return noOffset(p.partitionIndex, ErrorCode.UNKNOWN_SERVER_ERROR);
  }
  if (typeof found === "number") return noOffset(p.partitionIndex, found);
  if (found === null) return noOffset(p.partitionIndex, ErrorCode.NONE);
  return {
    partitionIndex: p.partitionIndex,
    errorCode: ErrorCode.NONE,
    oldStyleOffsets: [],
    timestamp: BigInt(found.timestamp),
    offset: BigInt(found.offset),
    // The field exists from v4; Kafka leaves it -1 when the epoch is unknown.
    leaderEpoch: apiVersion >= 4 ? found.leaderEpoch : -1,
  };
}

/**
 * Answers ListOffsets. Topics come back in the order first asked; a partition asked twice is answered once,
 * with INVALID_REQUEST, as Kafka does.
 *
 * @example
 * ```ts ignore
 * const response = await handleListOffsets(ctx, { apiVersion: 10, header, body: listOffsetsRequest }, conn);
 * ```
 */
export const handleListOffsets: Handler<2> = async (
  ctx: BrokerContext,
  request: HandlerRequest<2>,
): Promise<ListOffsetsResponse> => {
  const { apiVersion, body } = request;
  const slicer = slicerFor(request);
  const readCommitted = body.isolationLevel === READ_COMMITTED;

  const seen = new Map<string, number>();
  for (const t of body.topics) {
    for (const p of t.partitions) {
      const key = `${t.name}\u0000${p.partitionIndex}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (slicer.due()) await slicer.pause();
    }
  }

  const topics = new Map<string, ListOffsetsResponseListOffsetsTopicResponse>();
  const answered = new Set<string>();
  for (const t of body.topics) {
    let topic = topics.get(t.name);
    if (!topic) {
      topic = { name: t.name, partitions: [] };
      topics.set(t.name, topic);
    }
    for (const p of t.partitions) {
      if (slicer.due()) await slicer.pause();
      const key = `${t.name}\u0000${p.partitionIndex}`;
      if (answered.has(key)) continue;
      answered.add(key);
      topic.partitions.push(
        seen.get(key)! > 1
          ? noOffset(p.partitionIndex, ErrorCode.INVALID_REQUEST)
          : listOffset(ctx, apiVersion, t.name, p, body.replicaId, readCommitted),
      );
    }
  }
  return { throttleTimeMs: 0, topics: [...topics.values()] };
};
