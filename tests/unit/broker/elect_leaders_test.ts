/**
 * ElectLeaders (key 43) as a client sees it, over a metadata image given directly and a recorded leadership
 * transfer: the per-partition answers Kafka gives, for every served version.
 */
import assert from "node:assert/strict";
import type { BrokerContext, HandlerRequest } from "../../../broker/broker_context.ts";
import type { ConnectionInfo } from "../../../broker/connection.ts";
import { handleElectLeaders } from "../../../broker/handlers/elect_leaders.ts";
import type { PartitionImage, TopicImage } from "../../../broker/metadata_image.ts";
import { ApiKey, decodeResponse, encodeResponse, ErrorCode, type RequestByKey } from "../../../protocol/messages.ts";

const conn = {} as ConnectionInfo;

function partition(index: number, leader: number, replicas: number[], isr = replicas): PartitionImage {
  return { partition: index, leader, leaderEpoch: 2, partitionEpoch: 3, replicas, isr };
}

const ORDERS: TopicImage = {
  name: "orders",
  topicId: "orders-id",
  configs: new Map(),
  partitions: [
    partition(0, 1, [1, 2, 3]), // the preferred replica leads
    partition(1, 3, [2, 3, 1]), // 2 is preferred, live and in sync: transferred
    partition(2, 1, [3, 1, 2], [1, 2]), // 3 is out of sync
  ],
};

/** A cluster broker's context: the image above, brokers 1-3 live, transfers recorded and answered `answer`. */
function clusterContext(
  answer: { errorCode: number; errorMessage: string | null } = { errorCode: 0, errorMessage: null },
) {
  const transfers: { topic: string; partition: number; timeoutMs: number }[] = [];
  const ctx = {
    nodeId: 1,
    metadata: {
      topic: (name: string) => name === ORDERS.name ? ORDERS : undefined,
      topics: () => [ORDERS],
    },
    leadership: {
      isLive: (id: number) => id >= 1 && id <= 3,
      electPreferred: (partitions: { topic: string; partition: number }[], timeoutMs: number) => {
        for (const p of partitions) transfers.push({ ...p, timeoutMs });
        return Promise.resolve(partitions.map(() => answer));
      },
    },
  } as unknown as BrokerContext;
  return { ctx, transfers };
}

async function elect(ctx: BrokerContext, apiVersion: number, body: RequestByKey[typeof ApiKey.ElectLeaders]) {
  const request = {
    apiVersion,
    header: { requestApiKey: ApiKey.ElectLeaders, requestApiVersion: apiVersion, correlationId: 1, clientId: "t" },
    body,
  } as HandlerRequest<typeof ApiKey.ElectLeaders>;
  const response = await handleElectLeaders(ctx, request, conn);
  assert.ok(response);
  // What a client of that version reads.
  return decodeResponse(ApiKey.ElectLeaders, apiVersion, encodeResponse(ApiKey.ElectLeaders, apiVersion, 1, response))
    .body;
}

function byPartition(results: { partitionResult: { partitionId: number; errorCode: number }[] }[]) {
  return Object.fromEntries(results.flatMap((t) => t.partitionResult.map((p) => [p.partitionId, p.errorCode])));
}

Deno.test("ElectLeaders PREFERRED: not needed, transferred, or not available, per partition, for v0-v2", async () => {
  for (const version of [0, 1, 2]) {
    const { ctx, transfers } = clusterContext();
    const body = {
      electionType: 0,
      topicPartitions: [{ topic: "orders", partitions: [0, 1, 2, 5] }],
      timeoutMs: 7000,
    };
    const answer = await elect(ctx, version, body);
    assert.deepEqual(byPartition(answer.replicaElectionResults), {
      0: ErrorCode.ELECTION_NOT_NEEDED,
      1: ErrorCode.NONE,
      2: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
      5: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    }, `v${version}`);
    // Only the partition whose preferred replica can lead is transferred, within the request's timeout.
    assert.deepEqual(transfers, [{ topic: "orders", partition: 1, timeoutMs: 7000 }]);
    if (version >= 1) assert.equal(answer.errorCode, ErrorCode.NONE);
  }
});

Deno.test("ElectLeaders for every partition (null topics) leaves out those whose election is not needed", async () => {
  const { ctx } = clusterContext();
  const answer = await elect(ctx, 2, { electionType: 0, topicPartitions: null, timeoutMs: 1000 });
  assert.deepEqual(answer.replicaElectionResults.map((t) => t.topic), ["orders"]);
  assert.deepEqual(answer.replicaElectionResults[0].partitionResult.map((p) => p.partitionId), [1, 2]);
});

Deno.test("ElectLeaders: a transfer that does not finish in time is REQUEST_TIMED_OUT", async () => {
  const { ctx } = clusterContext({ errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: "not within 10 ms" });
  const answer = await elect(ctx, 2, {
    electionType: 0,
    topicPartitions: [{ topic: "orders", partitions: [1] }],
    timeoutMs: 10,
  });
  const [result] = answer.replicaElectionResults[0].partitionResult;
  assert.equal(result.errorCode, ErrorCode.REQUEST_TIMED_OUT);
  assert.equal(result.errorMessage, "not within 10 ms");
});

Deno.test("ElectLeaders UNCLEAN: a partition with a leader needs no election; nothing is transferred", async () => {
  const { ctx, transfers } = clusterContext();
  const answer = await elect(ctx, 1, {
    electionType: 1,
    topicPartitions: [{ topic: "orders", partitions: [0, 1, 2] }],
    timeoutMs: 1000,
  });
  assert.deepEqual(byPartition(answer.replicaElectionResults), {
    0: ErrorCode.ELECTION_NOT_NEEDED,
    1: ErrorCode.ELECTION_NOT_NEEDED,
    2: ErrorCode.ELECTION_NOT_NEEDED,
  });
  assert.deepEqual(transfers, []);
});

Deno.test("ElectLeaders with an unknown election type answers INVALID_REQUEST per partition", async () => {
  const { ctx } = clusterContext();
  const answer = await elect(ctx, 2, {
    electionType: 7,
    topicPartitions: [{ topic: "orders", partitions: [1] }],
    timeoutMs: 1,
  });
  assert.equal(answer.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.INVALID_REQUEST);
});

Deno.test("ElectLeaders on a single node: its one-replica partitions need no election", async () => {
  const single: TopicImage = {
    name: "logs",
    topicId: "logs-id",
    configs: new Map(),
    partitions: [partition(0, 1, [1])],
  };
  const ctx = {
    nodeId: 1,
    metadata: { topic: (n: string) => n === "logs" ? single : undefined, topics: () => [single] },
  } as unknown as BrokerContext;
  const answer = await elect(ctx, 2, {
    electionType: 0,
    topicPartitions: [{ topic: "logs", partitions: [0] }],
    timeoutMs: 1,
  });
  assert.equal(answer.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.ELECTION_NOT_NEEDED);
});
