/**
 * DescribeQuorum (key 55): the metadata quorum of `__cluster_metadata` partition 0 as its leader sees it: the
 * leader and its epoch, the high watermark, each voter's and observer's log end offset and when it was last
 * heard from and last caught up, and (v2) the voters' controller endpoints. A broker asks the active
 * controller, as Kafka 4 forwards DescribeQuorum, so `kafka-metadata-quorum --bootstrap-server` works through
 * any broker. Any other topic or partition is UNKNOWN_TOPIC_OR_PARTITION, as in Kafka's KafkaRaftClient.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { DescribeQuorumResponseReplicaState } from "../../protocol/generated/messages/describe_quorum_response.ts";
import type { Handler, QuorumReplicaState } from "../broker_context.ts";
import { METADATA_TOPIC } from "../metadata_log.ts";

/** Kafka's "no directory id" (Uuid.ZERO_UUID) for members that do not report one. */
const NO_DIRECTORY_ID = "00000000-0000-0000-0000-000000000000";

function replicaState(r: QuorumReplicaState): DescribeQuorumResponseReplicaState {
  return {
    replicaId: r.replicaId,
    replicaDirectoryId: NO_DIRECTORY_ID,
    logEndOffset: BigInt(r.logEndOffset),
    lastFetchTimestamp: BigInt(r.lastFetchTimestamp),
    lastCaughtUpTimestamp: BigInt(r.lastCaughtUpTimestamp),
  };
}

/** Answers DescribeQuorum. */
export const handleDescribeQuorum: Handler<typeof ApiKey.DescribeQuorum> = async (ctx, request) => {
  const asked = request.body.topics;
  const isMetadataPartition = asked.length === 1 && asked[0].topicName === METADATA_TOPIC &&
    asked[0].partitions.length === 1 && asked[0].partitions[0].partitionIndex === 0;
  if (!isMetadataPartition || !ctx.describeQuorum) {
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: asked.map((t) => ({
        topicName: t.topicName,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: null,
          leaderId: -1,
          leaderEpoch: -1,
          highWatermark: -1n,
          currentVoters: [],
          observers: [],
        })),
      })),
      nodes: [],
    };
  }
  let quorum;
  try {
    quorum = await ctx.describeQuorum();
  } catch (e) {
    return {
      errorCode: ErrorCode.NOT_CONTROLLER,
      errorMessage: String((e as Error).message ?? e),
      topics: [],
      nodes: [],
    };
  }
  return {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topics: [{
      topicName: METADATA_TOPIC,
      partitions: [{
        partitionIndex: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        leaderId: quorum.leaderId,
        leaderEpoch: quorum.leaderEpoch,
        highWatermark: BigInt(quorum.highWatermark),
        currentVoters: quorum.voters.map(replicaState),
        observers: quorum.observers.map(replicaState),
      }],
    }],
    nodes: quorum.nodes.map((n) => ({ nodeId: n.nodeId, listeners: n.listeners })),
  };
};
