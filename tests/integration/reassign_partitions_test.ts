/**
 * `kafka-reassign-partitions --execute` / `--verify` (Kafka's own ReassignPartitionsCommand) on a four-broker
 * Samsa cluster: a partition moves from brokers {1,2,3} to {2,3,4} while confluent-kafka's idempotent acks=all
 * producer writes to it. ListPartitionReassignments shows the move while it runs; afterwards the chaos checker
 * finds every acknowledged record exactly once, in order, at its offset; broker 1's directory of the partition is
 * gone; and brokers 2, 3 and 4 hold byte-identical batches up to the high watermark. CreatePartitions with an
 * explicit assignment then places a new partition on the brokers it names.
 *
 * Needs Java 17+ with Kafka's jars (`deno task kafka fetch`) and python3 with confluent-kafka
 * (`bash tests/install_clients.sh`).
 */
import assert from "node:assert/strict";
import { ApiKey } from "../../protocol/messages.ts";
import { check, describeResult, type PartitionReplicas } from "../chaos/checker.ts";
import { consumeAll, WorkloadProducer } from "../chaos/workload.ts";
import { kafkaTool, KafkaTools, requireKafkaJars } from "../compat/kafka/kafka_tool.ts";
import { kcat } from "../compat/kcat/kcat.ts";
import { RawClient } from "../diff/raw_client.ts";
import { readSegmentBatches } from "../harness/segment_files.ts";
import { clusterView, TestCluster, waitFor } from "./cluster_process.ts";

const TOPIC = "moving";
const OPTIONS = { sanitizeOps: false, sanitizeResources: false };

/** The ongoing reassignments of TOPIC-0 as broker `bootstrap` lists them: replicas, adding, removing. */
async function listed(bootstrap: string): Promise<{ replicas: number[]; adding: number[]; removing: number[] }[]> {
  const client = await RawClient.connect(bootstrap, "reassign-test");
  try {
    const r = await client.request(ApiKey.ListPartitionReassignments, 0, {
      timeoutMs: 10_000,
      topics: [{ name: TOPIC, partitionIndexes: [0] }],
    });
    assert.equal(r.errorCode, 0);
    return r.topics.flatMap((t) =>
      t.partitions.map((p) => ({ replicas: p.replicas, adding: p.addingReplicas, removing: p.removingReplicas }))
    );
  } finally {
    await client.close();
  }
}

Deno.test({
  name:
    "kafka-reassign-partitions moves a partition from {1,2,3} to {2,3,4} under an idempotent acks=all producer, losing nothing",
  ...OPTIONS,
  async fn() {
    await requireKafkaJars();
    const cluster = await TestCluster.start(3, { "replica.lag.time.max.ms": 2000, "log.level": "info" });
    let producer: WorkloadProducer | undefined;
    const json = await Deno.makeTempFile({ suffix: ".json" });
    try {
      await cluster.addBroker(4);
      const b1 = cluster.bootstrap(1);
      await waitFor("4 registered brokers", async () => (await clusterView(b1)).brokers.length === 4, 30_000);
      const client = await RawClient.connect(b1, "reassign-test");
      try {
        const created = await client.request(ApiKey.CreateTopics, 7, {
          topics: [{
            name: TOPIC,
            numPartitions: -1,
            replicationFactor: -1,
            assignments: [{ partitionIndex: 0, brokerIds: [1, 2, 3] }],
            configs: [],
          }],
          timeoutMs: 30_000,
          validateOnly: false,
        }, 40_000);
        assert.equal(created.topics[0].errorCode, 0, created.topics[0].errorMessage ?? "");
      } finally {
        await client.close();
      }
      const bootstrap = [1, 2, 3, 4].map((id) => cluster.bootstrap(id)).join(",");
      producer = new WorkloadProducer({ bootstrap, topic: TOPIC, partitions: 1, maxSeconds: 300 });
      assert.ok(await producer.waitUntil((acks) => acks.length >= 200, 30_000), producer.stderr);

      await Deno.writeTextFile(
        json,
        JSON.stringify({ version: 1, partitions: [{ topic: TOPIC, partition: 0, replicas: [2, 3, 4] }] }),
      );
      // Watch ListPartitionReassignments while the tool runs: the move is seen in progress.
      let watching = true;
      const seen: { replicas: number[]; adding: number[]; removing: number[] }[] = [];
      const watcher = (async () => {
        for (let i = 0; watching && i < 3000; i++) {
          seen.push(...await listed(cluster.bootstrap(2)).catch(() => []));
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const executed = await kafkaTool(KafkaTools.reassignPartitions, [
        "--bootstrap-server",
        b1,
        "--reassignment-json-file",
        json,
        "--execute",
      ]);
      assert.equal(executed.code, 0, executed.stdout + executed.stderr);
      assert.match(executed.stdout, /Successfully started partition reassignment/);
      let verified = "";
      await waitFor("kafka-reassign-partitions --verify reports the move completed", async () => {
        const run = await kafkaTool(KafkaTools.reassignPartitions, [
          "--bootstrap-server",
          cluster.bootstrap(3),
          "--reassignment-json-file",
          json,
          "--verify",
          "--preserve-throttles",
        ]);
        verified = run.stdout + run.stderr;
        return run.code === 0 && /Reassignment of partition moving-0 is completed/.test(run.stdout);
      }, 60_000).catch((e) => assert.fail(`${e}\n${verified}`));
      watching = false;
      await watcher;
      assert.ok(
        seen.some((s) => s.adding.includes(4) && s.removing.includes(1)),
        `ListPartitionReassignments showed the move: ${JSON.stringify(seen.slice(0, 3))}`,
      );
      const view = await clusterView(cluster.bootstrap(4));
      assert.deepEqual(view.topics.find((t) => t.name === TOPIC)!.partitions[0].replicas, [2, 3, 4]);
      assert.deepEqual(await listed(b1), []);

      // CreatePartitions with an explicit assignment: the new partition's Raft group forms on the brokers named.
      const admin = await RawClient.connect(cluster.bootstrap(2), "reassign-test");
      try {
        const grown = await admin.request(ApiKey.CreatePartitions, 3, {
          topics: [{ name: TOPIC, count: 2, assignments: [{ brokerIds: [4, 1, 2] }] }],
          timeoutMs: 30_000,
          validateOnly: false,
        });
        assert.equal(grown.results[0].errorCode, 0, grown.results[0].errorMessage ?? "");
      } finally {
        await admin.close();
      }
      await waitFor("partition 1 is led by one of its assigned replicas", async () => {
        const p1 = (await clusterView(cluster.bootstrap(3))).topics.find((t) => t.name === TOPIC)?.partitions[1];
        return p1 !== undefined && p1.replicas.join() === "4,1,2" && [4, 1, 2].includes(p1.leader);
      });
      const wrote = await kcat(["-b", cluster.bootstrap(1), "-P", "-t", TOPIC, "-p", "1", "-X", "acks=all"], "new\n");
      assert.equal(wrote.code, 0, wrote.stderr);

      const since = Date.now();
      assert.ok(await producer.waitForAcksSince(since, 200, 30_000), "acknowledgements go on after the move");
      await producer.stop();
      // Partition 0 only: the checker's subject (partition 1 holds only its leader's LeaderChange control batch, which a
      // consumer never sees, so a read "to the high watermark" of it would never end).
      const consumed = await consumeAll(bootstrap, TOPIC, 1, 30);
      assert.ok(consumed.complete, consumed.clientErrors.slice(-3).join("; "));
      await cluster.stop({ keepData: true });

      assert.equal(
        await Deno.stat(`${cluster.specs.get(1)!.dataDir}/${TOPIC}-0`).then(() => true, () => false),
        false,
        "broker 1 deleted its replica",
      );
      const replicas: PartitionReplicas[] = [{
        partition: 0,
        highWatermark: consumed.highWatermarks.get(0)!,
        replicas: [2, 3, 4].map((id) => ({
          nodeId: id,
          batches: readSegmentBatches(cluster.specs.get(id)!.dataDir, TOPIC, 0),
        })),
      }];
      const result = check({
        sent: producer.sent,
        acks: producer.acks,
        failures: producer.failures,
        reads: consumed.reads,
        replicas,
        faults: [],
      });
      console.log(`reassignment under load: ${describeResult(result)}`);
      assert.ok(result.valid, describeResult(result));
    } finally {
      await producer?.stop(5_000);
      await cluster.stop();
      await Deno.remove(json).catch(() => {});
    }
  },
});
