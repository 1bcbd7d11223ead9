import assert from "node:assert/strict";
import { MetadataImage, type MetadataRecord } from "../../../broker/metadata_image.ts";
import { decodeMetadataRecord, encodeMetadataRecord } from "../../../broker/metadata_log.ts";
import { imageRecords } from "../../../broker/metadata/image_snapshot.ts";
import { reportFor } from "../../../broker/metadata/leadership_reporter.ts";
import {
  ongoingReassignments,
  planReassignmentProgress,
  planReassignments,
} from "../../../broker/metadata/partition_reassignment.ts";
import { ErrorCode } from "../../../protocol/generated/errors.ts";

const TOPIC_ID = "7f1f0a2e-0000-4000-8000-00000000000a";
const CLUSTER = { nodeId: 1, brokers: [1, 2, 3, 4], defaultNumPartitions: 1, defaultReplicationFactor: 3 };

function image(): MetadataImage {
  const image = new MetadataImage();
  image.apply({ type: "topic", record: { name: "orders", topicId: TOPIC_ID } });
  image.apply({
    type: "partition",
    record: {
      topicId: TOPIC_ID,
      partitionId: 0,
      replicas: [1, 2, 3],
      isr: [1, 2, 3],
      leader: 1,
      leaderEpoch: 4,
      partitionEpoch: 0,
    },
  });
  for (const id of [1, 2, 3, 4]) {
    image.apply({
      type: "register_broker",
      record: {
        brokerId: id,
        incarnationId: TOPIC_ID,
        brokerEpoch: BigInt(id),
        endPoints: [],
        rack: null,
        fenced: false,
        inControlledShutdown: false,
      },
    });
  }
  return image;
}

/** Applies records as every broker does: through the metadata log's codec. */
function applyAll(image: MetadataImage, records: MetadataRecord[]): void {
  for (const r of records) image.apply(decodeMetadataRecord(encodeMetadataRecord(r))!);
}

Deno.test("a reassignment is recorded as KRaft does: target then removing in replicas, adding and removing sets", () => {
  const img = image();
  const plan = planReassignments(img, [{ topic: "orders", partition: 0, replicas: [2, 3, 4] }], CLUSTER);
  assert.deepEqual(plan.results.map((r) => r.errorCode), [ErrorCode.NONE]);
  applyAll(img, plan.records);
  const p = img.topic("orders")!.partitions[0];
  assert.deepEqual(p.replicas, [2, 3, 4, 1]);
  assert.deepEqual(p.addingReplicas, [4]);
  assert.deepEqual(p.removingReplicas, [1]);
  assert.equal(p.leader, 1, "leadership is the Raft group's, untouched");
  assert.deepEqual(ongoingReassignments(img, null), [
    { topic: "orders", partition: 0, replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] },
  ]);
  // A snapshot of the image keeps the reassignment.
  const copy = new MetadataImage();
  applyAll(copy, imageRecords(img));
  assert.deepEqual(copy.topic("orders")!.partitions[0].addingReplicas, [4]);
});

Deno.test("invalid reassignments get Kafka's errors and record nothing", () => {
  const img = image();
  const plan = planReassignments(img, [
    { topic: "nope", partition: 0, replicas: [1, 2] },
    { topic: "orders", partition: 7, replicas: [1, 2] },
    { topic: "orders", partition: 0, replicas: [2, 2, 3] },
    { topic: "orders", partition: 0, replicas: [2, 3, 9] },
    { topic: "orders", partition: 0, replicas: [] },
  ], CLUSTER);
  assert.deepEqual(plan.results.map((r) => r.errorCode), [
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
  ]);
  assert.match(plan.results[3].errorMessage!, /broker 9, but no such broker is registered/);
  assert.equal(plan.records.length, 0);
});

Deno.test("cancelling without a reassignment is NO_REASSIGNMENT_IN_PROGRESS; a cancel moves back to the original replicas", () => {
  const img = image();
  const none = planReassignments(img, [{ topic: "orders", partition: 0, replicas: null }], CLUSTER);
  assert.equal(none.results[0].errorCode, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
  applyAll(img, planReassignments(img, [{ topic: "orders", partition: 0, replicas: [2, 3, 4] }], CLUSTER).records);
  const cancel = planReassignments(img, [{ topic: "orders", partition: 0, replicas: null }], CLUSTER);
  assert.equal(cancel.results[0].errorCode, ErrorCode.NONE);
  applyAll(img, cancel.records);
  const p = img.topic("orders")!.partitions[0];
  // Broker 4 may have joined the group already: it stays a replica until the group removes it.
  assert.deepEqual(p.replicas, [2, 3, 1, 4]); // as KRaft: the original replicas in their current order
  assert.deepEqual(p.addingReplicas, []);
  assert.deepEqual(p.removingReplicas, [4]);
});

Deno.test("the same replicas in another order only reorder; no reassignment runs", () => {
  const img = image();
  const plan = planReassignments(img, [{ topic: "orders", partition: 0, replicas: [3, 2, 1] }], CLUSTER);
  applyAll(img, plan.records);
  assert.deepEqual(img.topic("orders")!.partitions[0].replicas, [3, 2, 1]);
  assert.deepEqual(ongoingReassignments(img, null), []);
});

Deno.test("the metadata follows the group: a replica that left drops out, and voters equal to the target complete the move", () => {
  const img = image();
  applyAll(img, planReassignments(img, [{ topic: "orders", partition: 0, replicas: [2, 3, 4] }], CLUSTER).records);
  const report = { topicId: TOPIC_ID, partition: 0, leader: 2, leaderEpoch: 5, isr: [2, 3, 4] };
  // Still moving: 4 is a voter, 1 too. Nothing to record.
  assert.deepEqual(planReassignmentProgress(img, 2, [{ ...report, voters: [1, 2, 3, 4], learners: [] }]), []);
  // A stale leader (older epoch than the image's) or one reporting for another changes nothing.
  assert.deepEqual(
    planReassignmentProgress(img, 2, [{ ...report, leaderEpoch: 3, voters: [2, 3, 4], learners: [] }]),
    [],
  );
  assert.deepEqual(planReassignmentProgress(img, 3, [{ ...report, voters: [2, 3, 4], learners: [] }]), []);
  const done = planReassignmentProgress(img, 2, [{ ...report, voters: [2, 3, 4], learners: [] }]);
  applyAll(img, done);
  const p = img.topic("orders")!.partitions[0];
  assert.deepEqual(p.replicas, [2, 3, 4]);
  assert.deepEqual(p.isr, [2, 3, 4]);
  assert.deepEqual(ongoingReassignments(img, [{ topic: "orders", partitions: [0] }]), []);
});

Deno.test("a removed replica leaves the metadata as soon as it left the group, before the move completes", () => {
  const img = image();
  applyAll(img, planReassignments(img, [{ topic: "orders", partition: 0, replicas: [3, 4] }], CLUSTER).records);
  const report = { topicId: TOPIC_ID, partition: 0, leader: 3, leaderEpoch: 5, isr: [3, 2] };
  applyAll(img, planReassignmentProgress(img, 3, [{ ...report, voters: [2, 3], learners: [4] }]));
  const p = img.topic("orders")!.partitions[0];
  assert.deepEqual(p.replicas, [3, 4, 2]);
  assert.deepEqual(p.removingReplicas, [2]);
  assert.deepEqual(p.addingReplicas, [4]);
});

Deno.test("a leader whose partition is being reassigned reports its group's committed membership when the metadata lags it", () => {
  const img = image();
  applyAll(img, planReassignments(img, [{ topic: "orders", partition: 0, replicas: [1, 2, 4] }], CLUSTER).records);
  const leader = (voters: number[], learners: number[]) => ({
    topic: "orders",
    partition: 0,
    isLeader: true,
    leaderEpoch: 4,
    inSyncReplicas: () => [1, 2, 3],
    raft: { voters, learners },
  });
  // Leadership as the image has it, and nothing left the group yet: nothing to report.
  assert.equal(reportFor(img, 1, leader([1, 2, 3], [4])), undefined);
  // The voters are the target: the report carries them, and the controller completes the move.
  const report = reportFor(img, 1, { ...leader([1, 2, 4], []), inSyncReplicas: () => [1, 2, 4] });
  assert.deepEqual(report?.voters, [1, 2, 4]);
  applyAll(
    img,
    planReassignmentProgress(img, 1, [{ ...report!, voters: report!.voters!, learners: report!.learners! }]),
  );
  assert.deepEqual(img.topic("orders")!.partitions[0].replicas, [1, 2, 4]);
  assert.equal(reportFor(img, 1, { ...leader([1, 2, 4], []), inSyncReplicas: () => [1, 2, 4] }), undefined);
});
