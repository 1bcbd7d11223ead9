/**
 * The leadership balancer's shell over a metadata image and replicas given directly: a preferred-leader election
 * asks the current leader's broker for the transfer (again while it waits) and answers once the metadata names
 * the preferred replica, or REQUEST_TIMED_OUT; requests from other brokers are checked before anything moves.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../../../broker/logger.ts";
import type { BrokerImage, MetadataImage, PartitionImage } from "../../../../broker/metadata_image.ts";
import {
  LeadershipBalancer,
  type LeadershipBalancerOptions,
  SHUTTING_DOWN_OP,
  TRANSFER_LEADERSHIP_OP,
} from "../../../../broker/metadata/leadership_balancer.ts";
import { ErrorCode } from "../../../../protocol/messages.ts";

function broker(id: number, fenced = false): BrokerImage {
  return { id, epoch: 1n, incarnationId: "", rack: null, fenced, inControlledShutdown: false, endpoints: [] };
}

/** A balancer of broker 1 over one partition `p` of topic "orders"; requests to other brokers are recorded. */
function balancerOver(p: PartitionImage, answer: (to: number) => Promise<unknown> = () => Promise.resolve({})) {
  const requests: { to: number; op: string; args: unknown }[] = [];
  const image = {
    topic: (name: string) =>
      name === "orders" ? { name, topicId: "id", configs: new Map(), partitions: [p] } : undefined,
    topics: () => [],
    brokers: () => [1, 2, 3, 4].map((id) => broker(id, id === 4)),
    broker: (id: number) => id === 4 ? broker(4, true) : id < 9 ? broker(id) : undefined,
  } as unknown as MetadataImage;
  const options: LeadershipBalancerOptions = {
    nodeId: 1,
    image,
    replicas: {
      get: () => undefined,
      all: () => [][Symbol.iterator](),
      transferLeadershipAway: () => Promise.resolve(true),
    },
    logger: silentLogger,
    request: (to, op, args) => {
      requests.push({ to, op, args });
      return answer(to);
    },
    autoRebalance: false,
    imbalanceCheckIntervalMs: 300_000,
    imbalancePercentage: 10,
  };
  return { balancer: new LeadershipBalancer(options), requests };
}

Deno.test("electPreferred asks the leader's broker and answers once the metadata names the preferred replica", async () => {
  const p: PartitionImage = {
    partition: 0,
    leader: 3,
    leaderEpoch: 5,
    partitionEpoch: 7,
    replicas: [2, 3, 1],
    isr: [2, 3, 1],
  };
  const { balancer, requests } = balancerOver(p, () => {
    // The leader's transfer completes and its report reaches the metadata.
    setTimeout(() => p.leader = 2, 30);
    return Promise.resolve({ started: true });
  });
  const answer = await balancer.electPreferred(
    [{ topic: "orders", partition: 0 }, { topic: "orders", partition: 4 }],
    5000,
  );
  assert.deepEqual(answer, [
    { errorCode: ErrorCode.NONE, errorMessage: null },
    { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null },
  ]);
  assert.deepEqual(requests, [
    { to: 3, op: TRANSFER_LEADERSHIP_OP, args: { transfers: [{ topic: "orders", partition: 0, target: 2 }] } },
  ]);
  balancer.close();
});

Deno.test("electPreferred answers REQUEST_TIMED_OUT when the metadata never names the preferred replica", async () => {
  const p: PartitionImage = {
    partition: 0,
    leader: 3,
    leaderEpoch: 5,
    partitionEpoch: 7,
    replicas: [2, 3],
    isr: [2, 3],
  };
  const { balancer, requests } = balancerOver(p, () => Promise.reject(new Error("connection refused")));
  const [answer] = await balancer.electPreferred([{ topic: "orders", partition: 0 }], 100);
  assert.equal(answer.errorCode, ErrorCode.REQUEST_TIMED_OUT);
  assert.match(answer.errorMessage ?? "", /within 100 ms/);
  assert.ok(requests.length >= 1);
  balancer.close();
});

Deno.test("a transfer request of another broker is checked: unknown operations and malformed arguments fail", async () => {
  const p: PartitionImage = {
    partition: 0,
    leader: 1,
    leaderEpoch: 5,
    partitionEpoch: 7,
    replicas: [2, 1],
    isr: [2, 1],
  };
  const { balancer } = balancerOver(p);
  await assert.rejects(balancer.handleRequest("dropEverything", {}, 2), /unknown request/);
  await assert.rejects(balancer.handleRequest(TRANSFER_LEADERSHIP_OP, { topic: 5 }, 2), /malformed/);
  await assert.rejects(balancer.handleRequest(TRANSFER_LEADERSHIP_OP, { transfers: [{ topic: "x" }] }, 2), /malformed/);
  // No replica of it here: nothing starts.
  assert.deepEqual(
    await balancer.handleRequest(
      TRANSFER_LEADERSHIP_OP,
      { transfers: [{ topic: "orders", partition: 0, target: 2 }] },
      2,
    ),
    { started: 0 },
  );
  balancer.close();
  await assert.rejects(
    balancer.handleRequest(TRANSFER_LEADERSHIP_OP, { transfers: [] }, 2),
    /shutting down/,
  );
});

Deno.test("a broker is live when registered, unfenced and has not said it is stopping", async () => {
  const p: PartitionImage = { partition: 0, leader: 1, leaderEpoch: 5, partitionEpoch: 7, replicas: [1], isr: [1] };
  const { balancer } = balancerOver(p);
  assert.equal(balancer.isLive(2), true);
  assert.equal(balancer.isLive(4), false); // fenced
  assert.equal(balancer.isLive(9), false); // not registered
  await balancer.handleRequest(SHUTTING_DOWN_OP, {}, 2);
  assert.equal(balancer.isLive(2), false);
});

Deno.test("a stopping broker tells the other live brokers before it hands its leaderships over", async () => {
  const p: PartitionImage = {
    partition: 0,
    leader: 2,
    leaderEpoch: 5,
    partitionEpoch: 7,
    replicas: [2, 1],
    isr: [2, 1],
  };
  const { balancer, requests } = balancerOver(p);
  assert.equal(await balancer.handOverLeaderships(1000), true);
  assert.deepEqual(requests.map((r) => [r.to, r.op]).sort(), [[2, SHUTTING_DOWN_OP], [3, SHUTTING_DOWN_OP]]);
});
