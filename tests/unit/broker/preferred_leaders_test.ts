import assert from "node:assert/strict";
import {
  imbalancedLeaderships,
  preferredElection,
  uncleanElection,
} from "../../../broker/replication/preferred_leaders.ts";
import type { PartitionImage, TopicImage } from "../../../broker/metadata_image.ts";
import { ErrorCode } from "../../../protocol/messages.ts";

function partition(index: number, leader: number, replicas: number[], isr = replicas): PartitionImage {
  return { partition: index, leader, leaderEpoch: 3, partitionEpoch: 5, replicas, isr };
}

function topic(name: string, partitions: PartitionImage[]): TopicImage {
  return { name, topicId: `${name}-id`, partitions, configs: new Map() };
}

const everyoneLive = () => true;

Deno.test("preferred election: not needed when the first replica leads", () => {
  const election = preferredElection(partition(0, 1, [1, 2, 3]), everyoneLive);
  assert.deepEqual(election, { kind: "done", errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null });
});

Deno.test("preferred election: the current leader transfers to the first replica when it is live and in sync", () => {
  assert.deepEqual(preferredElection(partition(0, 3, [1, 2, 3]), everyoneLive), {
    kind: "transfer",
    leader: 3,
    preferred: 1,
  });
});

Deno.test("preferred election: PREFERRED_LEADER_NOT_AVAILABLE when the preferred replica is down or out of sync", () => {
  const down = preferredElection(partition(0, 2, [1, 2, 3]), (id) => id !== 1);
  assert.equal(down.kind === "done" && down.errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
  assert.match(down.kind === "done" ? down.errorMessage ?? "" : "", /preferred replica 1 is not live/);
  const lagging = preferredElection(partition(0, 2, [1, 2, 3], [2, 3]), everyoneLive);
  assert.equal(lagging.kind === "done" && lagging.errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
  assert.match(lagging.kind === "done" ? lagging.errorMessage ?? "" : "", /not in the ISR/);
  const leaderless = preferredElection(partition(0, -1, [1, 2, 3]), everyoneLive);
  assert.equal(leaderless.kind === "done" && leaderless.errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
});

Deno.test("unclean election: not needed with a leader; a leaderless Raft group is never forced", () => {
  assert.equal(uncleanElection(partition(0, 2, [1, 2, 3])).errorCode, ErrorCode.ELECTION_NOT_NEEDED);
  assert.equal(uncleanElection(partition(0, -1, [1, 2, 3], [1])).errorCode, ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE);
});

Deno.test("imbalance: a broker leading none of its preferred partitions gets them all back", () => {
  // After broker 1 restarted: 2 and 3 lead everything; 1 is preferred for partitions 0 and 3.
  const t = topic("orders", [
    partition(0, 2, [1, 2, 3]),
    partition(1, 2, [2, 3, 1]),
    partition(2, 3, [3, 1, 2]),
    partition(3, 3, [1, 3, 2]),
  ]);
  assert.deepEqual(imbalancedLeaderships([t], everyoneLive, 10), [
    { topic: "orders", partition: 0, leader: 2, preferred: 1 },
    { topic: "orders", partition: 3, leader: 3, preferred: 1 },
  ]);
});

Deno.test("imbalance: at or under leader.imbalance.per.broker.percentage nothing moves", () => {
  // Broker 1 is preferred for 10 partitions and leads 9 of them: 10% displaced, not more than 10%.
  const partitions = Array.from({ length: 10 }, (_, i) => partition(i, i === 0 ? 2 : 1, [1, 2, 3]));
  assert.deepEqual(imbalancedLeaderships([topic("t", partitions)], everyoneLive, 10), []);
  // Two of ten displaced (20%) is over it: both move back.
  partitions[1] = partition(1, 3, [1, 2, 3]);
  assert.deepEqual(imbalancedLeaderships([topic("t", partitions)], everyoneLive, 10).map((m) => m.partition), [0, 1]);
  // 0% tolerates nothing.
  partitions[1] = partition(1, 1, [1, 2, 3]);
  assert.deepEqual(imbalancedLeaderships([topic("t", partitions)], everyoneLive, 0).map((m) => m.partition), [0]);
});

Deno.test("imbalance: counts every displaced partition, moves only those whose preferred replica is in sync", () => {
  const t = topic("t", [
    partition(0, 2, [1, 2, 3], [1, 2, 3]),
    partition(1, 2, [1, 2, 3], [2, 3]), // 1 lags: counted in the ratio, not moved
    partition(2, 1, [1, 2, 3]),
  ]);
  assert.deepEqual(imbalancedLeaderships([t], everyoneLive, 50).map((m) => m.partition), [0]);
  // Two of three displaced (67%), the lagging one included: moved under a 66% threshold, not under 67%.
  assert.deepEqual(imbalancedLeaderships([t], everyoneLive, 66).map((m) => m.partition), [0]);
  assert.deepEqual(imbalancedLeaderships([t], everyoneLive, 67), []);
});

Deno.test("imbalance: a preferred broker that is not live, one-replica and leaderless partitions stay as they are", () => {
  const t = topic("t", [
    partition(0, 2, [1, 2, 3]),
    partition(1, 2, [4]), // one replica: no group to transfer within
    partition(2, -1, [5, 2]), // no leader to hand over
  ]);
  assert.deepEqual(imbalancedLeaderships([t], (id) => id !== 1, 10), []);
  assert.deepEqual(imbalancedLeaderships([t], everyoneLive, 10).map((m) => m.partition), [0]);
});
