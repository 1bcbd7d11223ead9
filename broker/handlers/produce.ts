/**
 * Produce (key 0): appends each partition's record batch to its replica and answers per partition. acks=0 gets
 * no response (a failure closes the connection, as Kafka does, so the client notices); acks=1 answers once the
 * batch is in the leader's log; acks=-1 answers once it is committed (fsynced, the high watermark past it).
 *
 * Only the partition's leader appends: a follower, or a broker without a replica, answers NOT_LEADER_OR_FOLLOWER,
 * from v10 with the current leader and its endpoint (KIP-951), as Kafka does.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type {
  ProduceResponseNodeEndpoint,
  ProduceResponsePartitionProduceResponse,
  ProduceResponseTopicProduceResponse,
} from "../../protocol/generated/messages/produce_response.ts";
import { Attributes, BatchOffsets, Compression } from "../../protocol/record_batch_header.ts";
import type { BrokerContext, Handler } from "../broker_context.ts";
import type { ConnectionInfo } from "../connection.ts";
import { LeaderHints, leaderReplica } from "../leader_lookup.ts";
import type { TopicImage } from "../metadata_image.ts";
import { durabilityErrorCode, type ProduceOutcome, type ProduceSettings } from "../replication/partition_replica.ts";
import { topicSettings } from "../topic_settings.ts";
import { slicerFor } from "../work_slices.ts";

/** By the topic's configs map, which the image replaces on every config change (so a change is seen at once). */
const settingsCache = new WeakMap<ReadonlyMap<string, string>, ProduceSettings>();

function produceSettings(ctx: BrokerContext, topic: TopicImage): ProduceSettings {
  let settings = settingsCache.get(topic.configs);
  if (!settings) {
    settings = topicSettings(ctx.config, Object.fromEntries(topic.configs)).produce;
    settingsCache.set(topic.configs, settings);
  }
  return settings;
}

function partitionAnswer(
  index: number,
  errorCode: number,
  errorMessage: string | null,
  outcome?: ProduceOutcome,
): ProduceResponsePartitionProduceResponse {
  return {
    index,
    errorCode,
    baseOffset: BigInt(outcome?.baseOffset ?? -1),
    logAppendTimeMs: BigInt(outcome?.logAppendTimeMs ?? -1),
    logStartOffset: BigInt(outcome?.logStartOffset ?? -1),
    // KIP-467 (v8+): which records the batch was refused for; older versions drop the field when encoding.
    recordErrors: (outcome?.recordErrors ?? []).map((e) => ({
      batchIndex: e.batchIndex,
      batchIndexErrorMessage: e.message,
    })),
    errorMessage,
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
  };
}

/** Checks a partition's payload against what this request version may carry, before it reaches the replica. */
function versionProblem(records: Uint8Array, apiVersion: number): { code: number; message: string } | undefined {
  if (records.length <= BatchOffsets.attributes + 1) return undefined; // the replica reports truncation
  const attributes = new DataView(records.buffer, records.byteOffset, records.byteLength).getInt16(
    BatchOffsets.attributes,
  );
  if (apiVersion < 7 && (attributes & Attributes.compressionMask) === Compression.Zstd) {
    return {
      code: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      message: `Produce requests with version ${apiVersion} are not allowed to use ZStandard compression`,
    };
  }
  if (attributes & Attributes.transactional) {
    return { code: ErrorCode.INVALID_TXN_STATE, message: "Transactions are not supported by this broker yet" };
  }
  return undefined;
}

function isTransactional(records: Uint8Array | null): boolean {
  if (records === null || records.length <= BatchOffsets.attributes + 1) return false;
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  return (view.getInt16(BatchOffsets.attributes) & Attributes.transactional) !== 0;
}

/**
 * KIP-951 (v10+): every partition answered NOT_LEADER_OR_FOLLOWER (refused here, or deposed while its batch waited
 * to be committed) names the current leader and its epoch, so the client retries there without a metadata round
 * trip. Returns the endpoints of the leaders named, for the response's `NodeEndpoints`.
 */
function addLeaderHints(
  ctx: BrokerContext,
  conn: ConnectionInfo,
  responses: ProduceResponseTopicProduceResponse[],
): ProduceResponseNodeEndpoint[] {
  let hints: LeaderHints | undefined;
  for (const topic of responses) {
    for (const answer of topic.partitionResponses) {
      if (answer.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER) continue;
      hints ??= new LeaderHints(ctx, conn.listenerName);
      answer.currentLeader = hints.currentLeader(topic.name, answer.index);
    }
  }
  return hints?.nodeEndpoints ?? [];
}

/** Answers Produce. */
export const handleProduce: Handler<typeof ApiKey.Produce> = async (ctx, request, conn) => {
  const { body, apiVersion } = request;
  const acks = body.acks;
  const now = ctx.now();
  const responses: ProduceResponseTopicProduceResponse[] = [];
  const pending: Array<{ answer: ProduceResponsePartitionProduceResponse; durable: Promise<void> }> = [];
  let anyError = false;
  // Transactional records need a transactional id; Kafka fails the whole request without one.
  const unauthorizedTransactional = body.transactionalId === null &&
    body.topicData.some((t) => t.partitionData.some((p) => isTransactional(p.records)));

  const slicer = slicerFor(request);
  for (const topicData of body.topicData) {
    const topic = ctx.metadata.topic(topicData.name);
    const partitionResponses: ProduceResponsePartitionProduceResponse[] = [];
    responses.push({ name: topicData.name, partitionResponses });
    for (const partitionData of topicData.partitionData) {
      if (slicer.due()) await slicer.pause();
      const fail = (code: number, message: string | null) => {
        anyError = true;
        partitionResponses.push(partitionAnswer(partitionData.index, code, message));
      };
      if (unauthorizedTransactional) {
        fail(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, null);
        continue;
      }
      if (acks !== 0 && acks !== 1 && acks !== -1) {
        fail(ErrorCode.INVALID_REQUIRED_ACKS, null);
        continue;
      }
      // As Kafka: an unknown partition first, then what the request version forbids, then leadership.
      if (!topic || partitionData.index < 0 || topic.partitions[partitionData.index] === undefined) {
        fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
        continue;
      }
      const records = partitionData.records ?? new Uint8Array(0);
      const problem = versionProblem(records, apiVersion);
      if (problem) {
        fail(problem.code, problem.message);
        continue;
      }
      const { replica, errorCode } = leaderReplica(ctx, topic.name, partitionData.index);
      if (!replica) {
        fail(errorCode, null);
        continue;
      }
      const outcome = replica.append(records, produceSettings(ctx, topic), now, acks);
      if (outcome.errorCode !== ErrorCode.NONE) anyError = true;
      const answer = partitionAnswer(partitionData.index, outcome.errorCode, outcome.errorMessage, outcome);
      partitionResponses.push(answer);
      if (outcome.durable) pending.push({ answer, durable: outcome.durable });
    }
  }

  // Appended: the connection's next request may start while this one waits for durability.
  slicer.endOrdered();

  if (acks === 0) {
    // Nothing is sent back; a failed partition closes the connection so the client learns of it.
    if (anyError) conn.close("a Produce request with acks=0 failed");
    return null;
  }
  if (acks === -1 && pending.length > 0) {
    // As Kafka's DelayedProduce: a batch not acknowledged by enough replicas within the request's timeout is
    // answered REQUEST_TIMED_OUT (a partition without a majority would otherwise hold the answer until its
    // leadership moves). The batch stays in the log and may still commit; the idempotent retry finds it.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = body.timeoutMs > 0
      ? new Promise<"timed_out">((r) => timer = setTimeout(() => r("timed_out"), body.timeoutMs))
      : undefined;
    try {
      await Promise.all(pending.map(async ({ answer, durable }) => {
        try {
          const outcome = await (timedOut ? Promise.race([durable, timedOut]) : durable);
          if (outcome === "timed_out") {
            answer.errorCode = ErrorCode.REQUEST_TIMED_OUT;
            answer.errorMessage =
              `The record batch was not acknowledged by enough replicas within ${body.timeoutMs} ms`;
            answer.baseOffset = -1n;
          }
        } catch (e) {
          answer.errorCode = durabilityErrorCode(e);
          answer.errorMessage = `The record batch could not be made durable: ${(e as Error).message}`;
          answer.baseOffset = -1n;
        }
      }));
    } finally {
      clearTimeout(timer);
    }
  }
  return { responses, throttleTimeMs: 0, nodeEndpoints: apiVersion >= 10 ? addLeaderHints(ctx, conn, responses) : [] };
};
