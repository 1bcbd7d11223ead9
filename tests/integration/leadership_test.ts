/**
 * The metadata follows the leaders the partitions' Raft groups elect: a leader's report, committed by the active
 * controller as a PartitionChangeRecord with the exact leader epoch, changes the leader, epoch and ISR that every
 * broker's Metadata answers; a stale report changes nothing; a broker that restarts as leader in a new term
 * reports it by itself. Three Samsa processes on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { ApiKey, ErrorCode } from "../../protocol/messages.ts";
import { buildRecordBatch } from "../../protocol/record_batch.ts";
import { produceBatch, RawClient } from "./produce_helpers.ts";
import { ControllerClient } from "../../broker/metadata/controller_client.ts";
import type { LeadershipReport } from "../../broker/metadata/partition_leadership.ts";
import { createTopics, TEST_CLUSTER_ID, TestCluster, waitFor } from "./cluster_process.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };
const IDS = [1, 2, 3];

/** Partition `partition` of `topic` as the broker at `bootstrap` answers Metadata v12 for it. */
async function partitionView(bootstrap: string, topic: string, partition: number) {
  const client = await RawClient.connect(bootstrap, "leadership-test");
  try {
    const r = await client.request(ApiKey.Metadata, 12, {
      topics: [{ topicId: "00000000-0000-0000-0000-000000000000", name: topic }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const t = r.topics[0];
    const p = t.partitions.find((p) => p.partitionIndex === partition)!;
    return {
      controllerId: r.controllerId,
      topicId: t.topicId,
      errorCode: p.errorCode,
      leader: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      replicas: p.replicaNodes,
      isr: p.isrNodes,
    };
  } finally {
    await client.close();
  }
}

/** Every broker's view of the partition, once they all answer the same; fails after the wait. */
async function agreedView(cluster: TestCluster, topic: string, partition: number, what: string) {
  let views: Awaited<ReturnType<typeof partitionView>>[] = [];
  await waitFor(`every broker answering the same for ${topic}-${partition}: ${what}`, async () => {
    views = await Promise.all(IDS.map((id) => partitionView(cluster.bootstrap(id), topic, partition)));
    return views.every((v) => JSON.stringify(v) === JSON.stringify(views[0]));
  });
  return views[0];
}

/**
 * Sends a leadership report to the active controller as broker `reporter` would (the controller op its reporter
 * uses), asking each voter until the active one answers.
 */
async function report(cluster: TestCluster, reporter: number, reports: LeadershipReport[]) {
  const client = new ControllerClient({ clusterId: TEST_CLUSTER_ID, nodeId: reporter });
  try {
    let lastError: unknown;
    for (let round = 0; round < 20; round++) {
      for (const id of IDS) {
        try {
          const answer = await client.request(
            { host: "127.0.0.1", port: cluster.specs.get(id)!.controllerPort! },
            "reportLeadership",
            { brokerId: reporter, reports },
            5000,
          ) as { value: { leaders: number; isrs: number; ignored: number }; offset: number };
          return answer.value;
        } catch (e) {
          lastError = e; // not the active controller: the next one
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no active controller took the report: ${lastError}`);
  } finally {
    client.close();
  }
}

Deno.test({
  name: "a leader's report changes the leader, leader epoch and ISR every broker answers; a stale one changes nothing",
  ...OPTIONS,
  fn: async () => {
    const cluster = await TestCluster.start(3);
    try {
      const created = await createTopics(cluster.bootstrap(1), [{
        name: "replicated",
        partitions: 1,
        replicationFactor: 3,
      }]);
      assert.equal(created.get("replicated"), ErrorCode.NONE);
      const before = await agreedView(cluster, "replicated", 0, "the created topic");
      assert.equal(before.errorCode, ErrorCode.NONE);
      assert.deepEqual([...before.replicas].sort(), IDS);
      // The test reports as a broker would, over the CONTROLLER listener; a node refuses a peer that claims its
      // own id, so the reporters are the two brokers that are not the active controller.
      const [successor, other] = IDS.filter((id) => id !== before.controllerId)
        .sort((a, b) => (a === before.leader ? 1 : 0) - (b === before.leader ? 1 : 0));

      // The successor's group elected it in a term seven above (several elections went by): the metadata records
      // that epoch exactly, not one more than before.
      const epoch = before.leaderEpoch + 7;
      const elected = await report(cluster, successor, [{
        topicId: before.topicId,
        partition: 0,
        leader: successor,
        leaderEpoch: epoch,
        isr: [successor],
      }]);
      assert.deepEqual(elected, { leaders: 1, isrs: 0, ignored: 0 });
      const after = await agreedView(cluster, "replicated", 0, `broker ${successor} leading in epoch ${epoch}`);
      assert.deepEqual([after.leader, after.leaderEpoch, after.isr], [successor, epoch, [successor]]);

      // A replica that has not heard of the election yet reports the term before: ignored, nothing changes.
      const stale = await report(cluster, other, [{
        topicId: before.topicId,
        partition: 0,
        leader: other,
        leaderEpoch: epoch - 1,
        isr: [other],
      }]);
      assert.deepEqual(stale, { leaders: 0, isrs: 0, ignored: 1 });
      assert.deepEqual(await agreedView(cluster, "replicated", 0, "unchanged"), after);

      // A node reports only as itself.
      const impostor = new ControllerClient({ clusterId: TEST_CLUSTER_ID, nodeId: other });
      try {
        await assert.rejects(
          () =>
            impostor.request(
              { host: "127.0.0.1", port: cluster.specs.get(before.controllerId)!.controllerPort! },
              "reportLeadership",
              { brokerId: successor, reports: [] },
              5000,
            ),
          /reported leadership as another broker/,
        );
      } finally {
        impostor.close();
      }

      // The partition's ISR is one of three replicas: the brokers count and log it as under-replicated.
      for (const id of IDS) {
        assert.match(cluster.nodes.get(id)!.logs(), /partition health.*under_replicated_partitions=1/);
      }
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test({
  name: "a leader that restarts in a new term reports it: every broker then answers the new leader epoch",
  ...OPTIONS,
  fn: async () => {
    const cluster = await TestCluster.start(3);
    try {
      const created = await createTopics(cluster.bootstrap(1), [{
        name: "restarted",
        partitions: 1,
        replicationFactor: 3,
      }]);
      assert.equal(created.get("restarted"), ErrorCode.NONE);
      const before = await agreedView(cluster, "restarted", 0, "the created topic");
      const watcher = IDS.find((id) => id !== before.leader)!;
      // Records in the partition's log: a restarted sole voter takes the term after their epoch.
      const client = await RawClient.connect(cluster.bootstrap(before.leader), "leadership-test");
      try {
        const batch = buildRecordBatch([{ timestamp: Date.now(), key: null, value: new TextEncoder().encode("v") }]);
        // The metadata names the replica it created leader before that replica's group has elected it (a moment).
        await waitFor(
          "the first record acknowledged",
          async () => (await produceBatch(client, "restarted", batch)).errorCode === ErrorCode.NONE,
        );
      } finally {
        await client.close();
      }
      await cluster.nodes.get(before.leader)!.stop();
      await cluster.startNode(before.leader);
      // Its partition's group elects a leader again, in a higher term (today the restarted sole voter itself;
      // with replication, whichever replica wins): every broker answers that leader and epoch.
      await waitFor("a newer leader epoch on every broker", async () => {
        const views = await Promise.all(IDS.map((id) => partitionView(cluster.bootstrap(id), "restarted", 0)));
        return views.every((v) =>
          v.errorCode === ErrorCode.NONE && v.leaderEpoch > before.leaderEpoch && v.replicas.includes(v.leader) &&
          JSON.stringify(v) === JSON.stringify(views[0])
        );
      });
      const after = await partitionView(cluster.bootstrap(watcher), "restarted", 0);
      assert.ok(after.isr.includes(after.leader));
    } finally {
      await cluster.stop();
    }
  },
});
