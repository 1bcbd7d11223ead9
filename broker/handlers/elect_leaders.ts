/**
 * ElectLeaders (key 43), on any broker, as `kafka-leader-election` uses it.
 *
 * PREFERRED (0; v0 has no election type and means it): per partition, ELECTION_NOT_NEEDED when its preferred
 * replica (the first) already leads, PREFERRED_LEADER_NOT_AVAILABLE when that replica is not live or not in the
 * ISR, otherwise the current leader transfers leadership to it (a Raft leadership transfer, asked of the leader's
 * broker) and the answer comes once the metadata names it, or REQUEST_TIMED_OUT after the request's `timeoutMs`.
 *
 * UNCLEAN (1): a Raft group elects only within a majority of its replicas; with a leader the answer is
 * ELECTION_NOT_NEEDED, as Kafka's, without one ELIGIBLE_LEADERS_NOT_AVAILABLE.
 *
 * Null topic partitions mean every partition; as Kafka's controller, that answer leaves out the partitions
 * whose election was not needed.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { ElectLeadersResponsePartitionResult } from "../../protocol/generated/messages/elect_leaders_response.ts";
import type { BrokerContext, Handler } from "../broker_context.ts";
import { preferredElection, uncleanElection } from "../replication/preferred_leaders.ts";

/** Kafka's ElectionType values. */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

/** Answers ElectLeaders. */
export const handleElectLeaders: Handler<typeof ApiKey.ElectLeaders> = async (ctx, request) => {
  const { body, apiVersion } = request;
  const electionType = apiVersion >= 1 ? body.electionType : ElectionType.PREFERRED;
  const electAll = body.topicPartitions === null;
  const wanted = body.topicPartitions ?? ctx.metadata.topics().map((t) => ({
    topic: t.name,
    partitions: t.partitions.flatMap((p) => p ? [p.partition] : []),
  }));
  const results = wanted.map(({ topic, partitions }) => ({
    topic,
    partitionResult: partitions.map((partition) => decide(ctx, electionType, topic, partition)),
  }));
  // The transfers, all together: one wait for the metadata to name every preferred replica.
  const transfers = results.flatMap((t) => t.partitionResult.filter((r) => r.transfer).map((r) => ({ t, r })));
  if (transfers.length > 0 && ctx.leadership) {
    const answers = await ctx.leadership.electPreferred(
      transfers.map(({ t, r }) => ({ topic: t.topic, partition: r.partitionId })),
      body.timeoutMs,
    );
    for (const [i, { r }] of transfers.entries()) Object.assign(r, answers[i]);
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    replicaElectionResults: results.map(({ topic, partitionResult }) => ({
      topic,
      partitionResult: partitionResult
        .filter((r) => !electAll || r.errorCode !== ErrorCode.ELECTION_NOT_NEEDED)
        .map(({ partitionId, errorCode, errorMessage }) => ({ partitionId, errorCode, errorMessage })),
    })).filter((r) => !electAll || r.partitionResult.length > 0),
  };
};

/** One partition's answer, or (`transfer`) the leadership transfer that will decide it. */
interface Decision extends ElectLeadersResponsePartitionResult {
  transfer: boolean;
}

function decide(ctx: BrokerContext, electionType: number, topic: string, partition: number): Decision {
  const answer = (errorCode: number, errorMessage: string | null = null, transfer = false) => ({
    partitionId: partition,
    errorCode,
    errorMessage,
    transfer,
  });
  const p = ctx.metadata.topic(topic)?.partitions[partition];
  if (!p) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist.");
  if (electionType === ElectionType.UNCLEAN) {
    const { errorCode, errorMessage } = uncleanElection(p);
    return answer(errorCode, errorMessage);
  }
  if (electionType !== ElectionType.PREFERRED) {
    return answer(ErrorCode.INVALID_REQUEST, `Unknown election type ${electionType}`);
  }
  // A single node is the whole cluster: it is live.
  const isLive = ctx.leadership?.isLive ?? ((id: number) => id === ctx.nodeId);
  const election = preferredElection(p, isLive);
  if (election.kind === "done") return answer(election.errorCode, election.errorMessage);
  if (!ctx.leadership) return answer(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, "No leadership transfer here");
  return answer(ErrorCode.REQUEST_TIMED_OUT, null, true);
}
