/**
 * OffsetForLeaderEpoch (API key 23), versions 2-4 (Kafka 4.x's range): for each asked leader epoch, where that
 * epoch ended in the leader's log. Kafka's followers used it to find where to truncate; consumers use it since
 * KIP-320 to detect that the log they read was truncated after a change of leader: a consumer at offset `o` that
 * read epoch `e` asks for `e`, and an end offset below `o` means the records it read are gone.
 *
 * Each partition is answered as Kafka's `ReplicaManager.lastOffsetForLeaderEpoch` answers it: by the partition's
 * leader only (any `ReplicaId`, a consumer's -1 included, is answered alike), after the KIP-320 check of the
 * request's current leader epoch (-1: none), through leader_lookup.ts.
 *
 * @module
 */
import type { PartitionLog } from "../../log/partition_log.ts";
import type { EpochEndOffset } from "../../log/leader_epoch_cache.ts";
import type { ApiKey } from "../../protocol/messages.ts";
import type { OffsetForLeaderEpochRequestOffsetForLeaderPartition } from "../../protocol/generated/messages/offset_for_leader_epoch_request.ts";
import type {
  OffsetForLeaderEpochResponseEpochEndOffset,
  OffsetForLeaderEpochResponseOffsetForLeaderTopicResult,
} from "../../protocol/generated/messages/offset_for_leader_epoch_response.ts";
import type { BrokerContext, Handler } from "../broker_context.ts";
import { leaderReplica } from "../leader_lookup.ts";
import { slicerFor } from "../work_slices.ts";

/** Kafka's UNDEFINED_EPOCH, and the `CurrentLeaderEpoch` that asks for no check. */
const UNDEFINED_EPOCH = -1;
/** Kafka's answer for an epoch it cannot place: UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET. */
const UNDEFINED: EpochEndOffset = { leaderEpoch: UNDEFINED_EPOCH, endOffset: -1 };

/**
 * Where `requested` ended in `log`, as Kafka's `LeaderEpochFileCache.endOffsetFor` answers it (the log's own
 * `endOffsetForEpoch` gives the same answer between epochs it knows, and differs at the edges):
 * - the latest epoch (the one still written to) ends at the log end offset;
 * - an epoch between two known ones: the largest known epoch at or below it, and the start of the next one;
 * - an epoch above every known one, or -1, or no epoch known at all: undefined (-1, -1);
 * - an epoch below every known one (its batches were deleted): the asked epoch itself and the start of the first
 *   known epoch, so that a reader below it starts again where the log now begins.
 *
 * Kafka writes a new leader's epoch into the cache when it is elected, at the log end, before any batch of it
 * exists; Samsa's log learns an epoch from its first batch. So `leaderEpoch`, the epoch this replica leads in, counts
 * as known from the log end when the log holds no batch of it yet (a partition of one replica starts a new epoch at
 * every start without writing anything).
 *
 * @example
 * ```ts ignore
 * epochEndOffset(replica.log, 3, replica.leaderEpoch); // { leaderEpoch: 3, endOffset: 120 } when epoch 4 starts at 120
 * ```
 */
export function epochEndOffset(
  log: Pick<PartitionLog, "endOffsetForEpoch" | "latestEpoch" | "epochForOffset" | "logStartOffset" | "logEndOffset">,
  requested: number,
  leaderEpoch: number,
): EpochEndOffset {
  if (requested === UNDEFINED_EPOCH) return UNDEFINED;
  const logged = log.latestEpoch();
  if (leaderEpoch >= 0 && (logged === undefined || leaderEpoch > logged.epoch)) {
    // The leader's epoch starts at the log end: it ends there too, and the epochs before it end where it starts.
    if (requested > leaderEpoch) return UNDEFINED;
    if (requested === leaderEpoch || logged === undefined) {
      return { leaderEpoch: requested, endOffset: log.logEndOffset };
    }
    if (requested > logged.epoch) return { leaderEpoch: logged.epoch, endOffset: log.logEndOffset };
  }
  if (logged === undefined || requested > logged.epoch) return UNDEFINED;
  const found = log.endOffsetForEpoch(requested);
  if (found.leaderEpoch !== UNDEFINED_EPOCH) return found;
  // Below every known epoch. The leader-epoch cache starts where the log starts (its first epoch is moved up to
  // the log start offset as the log start advances), so that is where the first known epoch begins; when the
  // cache begins later still (batches written without an epoch), Kafka's answer cannot be found without a scan.
  if (log.epochForOffset(log.logStartOffset) === UNDEFINED_EPOCH) return UNDEFINED;
  return { leaderEpoch: requested, endOffset: log.logStartOffset };
}

/** One partition's answer. */
function answerPartition(
  ctx: BrokerContext,
  topic: string,
  p: OffsetForLeaderEpochRequestOffsetForLeaderPartition,
): OffsetForLeaderEpochResponseEpochEndOffset {
  const { replica, errorCode } = leaderReplica(ctx, topic, p.partition, {
    currentLeaderEpoch: p.currentLeaderEpoch === UNDEFINED_EPOCH ? undefined : p.currentLeaderEpoch,
  });
  const end = replica ? epochEndOffset(replica.log, p.leaderEpoch, replica.leaderEpoch) : UNDEFINED;
  return { errorCode, partition: p.partition, leaderEpoch: end.leaderEpoch, endOffset: BigInt(end.endOffset) };
}

/**
 * Answers OffsetForLeaderEpoch: one result per requested topic and partition, in the request's order (Kafka keeps a
 * topic or partition asked twice as two entries too).
 *
 * @example
 * ```ts ignore
 * const response = await handleOffsetForLeaderEpoch(ctx, { apiVersion: 4, header, body }, conn);
 * ```
 */
export const handleOffsetForLeaderEpoch: Handler<typeof ApiKey.OffsetForLeaderEpoch> = async (ctx, request) => {
  const slicer = slicerFor(request);
  const topics: OffsetForLeaderEpochResponseOffsetForLeaderTopicResult[] = [];
  for (const t of request.body.topics) {
    const result: OffsetForLeaderEpochResponseOffsetForLeaderTopicResult = { topic: t.topic, partitions: [] };
    topics.push(result);
    for (const p of t.partitions) {
      if (slicer.due()) await slicer.pause();
      result.partitions.push(answerPartition(ctx, t.topic, p));
    }
  }
  return { throttleTimeMs: 0, topics };
};
