import assert from "node:assert/strict";
import { MetadataImage, type MetadataRecord, NO_LEADER } from "../../../../broker/metadata_image.ts";
import {
  leaderlessOnFencing,
  type LeadershipReport,
  leadersOnUnfencing,
  planLeadershipReports,
} from "../../../../broker/metadata/partition_leadership.ts";
import { decodeMetadataBatches, encodeMetadataBatch } from "../../../../broker/metadata/image_snapshot.ts";

const TOPIC_ID = "5a0b8a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

/** One topic with a single-replica partition led by each of brokers 1, 2 and 1. */
function imageWithPartitions(): MetadataImage {
  const image = new MetadataImage();
  image.apply({ type: "topic", record: { name: "orders", topicId: TOPIC_ID } });
  [1, 2, 1].forEach((leader, partitionId) =>
    image.apply({
      type: "partition",
      record: {
        topicId: TOPIC_ID,
        partitionId,
        replicas: [leader],
        isr: [leader],
        leader,
        leaderEpoch: 0,
        partitionEpoch: 0,
      },
    })
  );
  return image;
}

/** Applies `records` after a round trip through the metadata log's framing, as a follower would. */
function applyFramed(image: MetadataImage, records: MetadataRecord[]): void {
  for (const r of decodeMetadataBatches(encodeMetadataBatch(records, 0))) image.apply(r);
}

Deno.test("fencing a broker leaves the single-replica partitions it led without a leader, in a new leader epoch, ISR kept", () => {
  const image = imageWithPartitions();
  const fencing = leaderlessOnFencing(image, 1);
  assert.equal(fencing.length, 2);
  applyFramed(image, fencing);
  const partitions = image.topic("orders")!.partitions;
  assert.deepEqual(partitions.map((p) => [p.leader, p.leaderEpoch, p.partitionEpoch, p.isr]), [
    [-1, 1, 1, [1]],
    [2, 0, 0, [2]],
    [-1, 1, 1, [1]],
  ]);
  // Fencing it again changes nothing more.
  assert.deepEqual(leaderlessOnFencing(image, 1), []);
});

Deno.test("unfencing the broker gives it back the leaderless partitions whose data it holds, in a newer epoch", () => {
  const image = imageWithPartitions();
  applyFramed(image, leaderlessOnFencing(image, 1));
  // Another broker is not given partitions whose only in-sync replica it is not.
  assert.deepEqual(leadersOnUnfencing(image, 2), []);
  applyFramed(image, leadersOnUnfencing(image, 1));
  const partitions = image.topic("orders")!.partitions;
  assert.deepEqual(partitions.map((p) => [p.leader, p.leaderEpoch, p.partitionEpoch]), [[1, 2, 2], [2, 0, 0], [
    1,
    2,
    2,
  ]]);
  assert.deepEqual(leadersOnUnfencing(image, 1), []);
});

const REPLICATED_ID = "6b1c9b4f-2d3e-4f60-9bac-1d2e3f4a5b6c";

/** Brokers 1-3 registered, a topic with one partition on replicas [1, 2, 3] led by 1 in epoch 4, ISR [1, 2, 3]. */
function replicatedImage(): MetadataImage {
  const image = new MetadataImage();
  for (const brokerId of [1, 2, 3]) {
    image.apply({
      type: "register_broker",
      record: {
        brokerId,
        incarnationId: "",
        brokerEpoch: BigInt(brokerId),
        endPoints: [],
        rack: null,
        fenced: false,
        inControlledShutdown: false,
      },
    });
  }
  image.apply({ type: "topic", record: { name: "replicated", topicId: REPLICATED_ID } });
  image.apply({
    type: "partition",
    record: {
      topicId: REPLICATED_ID,
      partitionId: 0,
      replicas: [1, 2, 3],
      isr: [1, 2, 3],
      leader: 1,
      leaderEpoch: 4,
      partitionEpoch: 7,
    },
  });
  return image;
}

function report(leader: number, leaderEpoch: number, isr: number[], partition = 0): LeadershipReport {
  return { topicId: REPLICATED_ID, partition, leader, leaderEpoch, isr };
}

function state(image: MetadataImage) {
  const p = image.topic("replicated")!.partitions[0];
  return { leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: p.isr };
}

Deno.test("fencing or unfencing a broker leaves the leadership of partitions with several replicas to their groups", () => {
  const image = replicatedImage();
  assert.deepEqual(leaderlessOnFencing(image, 1), []);
  image.apply({
    type: "partition_change",
    record: { topicId: REPLICATED_ID, partitionId: 0, leader: NO_LEADER, isr: null },
  });
  assert.deepEqual(leadersOnUnfencing(image, 1), []);
});

Deno.test("a new leader's report is recorded with the exact leader epoch its group elected it in", () => {
  const image = replicatedImage();
  const plan = planLeadershipReports(image, 2, [report(2, 9, [2, 3])]);
  assert.deepEqual(plan.outcomes.map((o) => o.change), ["leader"]);
  applyFramed(image, plan.records);
  // Nine, not Kafka's five (one more than four): the group's term, however many elections it took.
  assert.deepEqual(state(image), { leader: 2, leaderEpoch: 9, partitionEpoch: 8, isr: [2, 3] });
});

Deno.test("the same leader re-elected in a higher term is recorded; its ISR is left as it is when unchanged", () => {
  const image = replicatedImage();
  const plan = planLeadershipReports(image, 1, [report(1, 5, [3, 2, 1])]);
  assert.deepEqual(plan.records, [{
    type: "partition_change",
    record: { topicId: REPLICATED_ID, partitionId: 0, leader: 1, isr: null, leaderEpoch: 5 },
  }]);
  applyFramed(image, plan.records);
  assert.deepEqual(state(image), { leader: 1, leaderEpoch: 5, partitionEpoch: 8, isr: [1, 2, 3] });
});

Deno.test("an ISR change of the current leader in its epoch is recorded without a new leader epoch", () => {
  const image = replicatedImage();
  const plan = planLeadershipReports(image, 1, [report(1, 4, [1, 3])]);
  assert.deepEqual(plan.outcomes.map((o) => o.change), ["isr"]);
  applyFramed(image, plan.records);
  assert.deepEqual(state(image), { leader: 1, leaderEpoch: 4, partitionEpoch: 8, isr: [1, 3] });
  // The ISR growing back is news too.
  applyFramed(image, planLeadershipReports(image, 1, [report(1, 4, [1, 3, 2])]).records);
  assert.deepEqual(state(image).isr, [1, 3, 2]);
});

Deno.test("stale, foreign, unregistered and malformed reports are ignored, each with its reason", () => {
  const image = replicatedImage();
  image.apply({ type: "unregister_broker", record: { brokerId: 3, brokerEpoch: 3n } });
  const cases: [number, LeadershipReport, string][] = [
    [2, report(2, 3, [2]), "stale leader epoch"],
    [2, report(2, 4, [2]), "nothing new"], // epoch 4 is broker 1's: one leader per term
    [1, report(1, 4, [2, 1, 3]), "nothing new"], // the same ISR in another order
    [2, report(1, 9, [1]), "the reporter is not the reported leader"],
    [3, report(3, 9, [3]), "the reporter is not a registered broker"],
    [2, report(2, 9, [1, 3]), "the ISR must hold the leader and only replicas of the partition, once each"],
    [2, report(2, 9, [2, 4]), "the ISR must hold the leader and only replicas of the partition, once each"],
    [2, report(2, 9, [2, 2]), "the ISR must hold the leader and only replicas of the partition, once each"],
    [2, report(2, 9, [2], 1), "unknown partition"],
    [2, { ...report(2, 9, [2]), leaderEpoch: 1.5 }, "bad leader epoch"],
    [2, { ...report(2, 9, [2]), isr: "2" as unknown as number[] }, "bad ISR"],
    [2, null as unknown as LeadershipReport, "not a report"],
  ];
  for (const [reporter, r, reason] of cases) {
    const plan = planLeadershipReports(image, reporter, [r]);
    assert.deepEqual(plan.records, [], reason);
    assert.deepEqual(plan.outcomes.map((o) => [o.change, o.reason]), [["ignored", reason]]);
  }
  // A broker that is no replica of the partition.
  image.apply({
    type: "register_broker",
    record: {
      brokerId: 4,
      incarnationId: "",
      brokerEpoch: 4n,
      endPoints: [],
      rack: null,
      fenced: false,
      inControlledShutdown: false,
    },
  });
  assert.equal(
    planLeadershipReports(image, 4, [report(4, 9, [4])]).outcomes[0].reason,
    "the reporter is not a replica of the partition",
  );
  assert.deepEqual(state(image), { leader: 1, leaderEpoch: 4, partitionEpoch: 7, isr: [1, 2, 3] });
});

Deno.test("reports of one partition in one call are judged in order, each against those taken before it", () => {
  const image = replicatedImage();
  const plan = planLeadershipReports(image, 2, [report(2, 6, [2, 1]), report(2, 5, [2]), report(2, 6, [2])]);
  assert.deepEqual(plan.outcomes.map((o) => o.change), ["leader", "ignored", "isr"]);
  applyFramed(image, plan.records);
  assert.deepEqual(state(image), { leader: 2, leaderEpoch: 6, partitionEpoch: 9, isr: [2] });
});

Deno.test("a single-replica partition's report only raises its epoch while the controller names it the leader", () => {
  const image = imageWithPartitions();
  image.apply({
    type: "register_broker",
    record: {
      brokerId: 1,
      incarnationId: "",
      brokerEpoch: 1n,
      endPoints: [],
      rack: null,
      fenced: false,
      inControlledShutdown: false,
    },
  });
  // The sole voter restarted in a new term: recorded.
  const restarted = { topicId: TOPIC_ID, partition: 0, leader: 1, leaderEpoch: 1, isr: [1] };
  const plan = planLeadershipReports(image, 1, [restarted]);
  assert.deepEqual(plan.outcomes.map((o) => o.change), ["leader"]);
  applyFramed(image, plan.records);
  assert.equal(image.topic("orders")!.partitions[0].leaderEpoch, 1);
  // Fenced, its partitions are leaderless: a report (even in a higher term) does not give them back.
  applyFramed(image, leaderlessOnFencing(image, 1));
  const late = planLeadershipReports(image, 1, [{ ...restarted, leaderEpoch: 7 }]);
  assert.equal(late.outcomes[0].reason, "the controller leads a partition with one replica");
});
