/**
 * Leadership balance in a three-broker cluster of real processes: a broker stopped with SIGTERM hands its
 * leaderships to in-sync followers before it goes (the metadata names the new leaders as it exits); after its
 * restart, Kafka's own `kafka-leader-election --election-type PREFERRED --all-topic-partitions` moves every
 * leadership back to the partition's preferred replica (its first), and, with `auto.leader.rebalance.enable`,
 * the brokers do it on their own.
 *
 * Needs Java 17+ and Kafka's jars for the tool (`bash tests/install_clients.sh`, `deno task kafka fetch`).
 */
import assert from "node:assert/strict";
import { kafkaTool, KafkaTools, requireKafkaJars, type ToolRun } from "../compat/kafka/kafka_tool.ts";
import { type ClusterView, clusterView, createTopics, TestCluster, waitFor } from "./cluster_process.ts";
import { RawClient } from "../diff/raw_client.ts";
import { ApiKey, ErrorCode } from "../../protocol/messages.ts";

const TOPIC = "orders";

function ok(run: ToolRun, what: string): string {
  assert.equal(run.code, 0, `${what} failed (exit ${run.code}):\n${run.stdout}\n${run.stderr.slice(-3000)}`);
  return run.stdout;
}

function partitionsOf(view: ClusterView): ClusterView["topics"][number]["partitions"] {
  return view.topics.find((t) => t.name === TOPIC)?.partitions ?? [];
}

/** Every partition of every topic (the offsets topic too, once it exists). */
function everyPartition(view: ClusterView): ClusterView["topics"][number]["partitions"] {
  return view.topics.flatMap((t) => t.partitions);
}

/** True when the topic exists and every partition of every topic has all its replicas in sync. */
async function fullyInSync(bootstrap: string): Promise<boolean> {
  const view = await clusterView(bootstrap);
  return partitionsOf(view).length === 3 && everyPartition(view).every((p) => p.isr.length === p.replicas.length);
}

/** True when the topic exists and every partition of every topic is led by its preferred replica. */
async function preferredLead(bootstrap: string): Promise<boolean> {
  const view = await clusterView(bootstrap);
  return partitionsOf(view).length === 3 && everyPartition(view).every((p) => p.leader === p.replicas[0]);
}

/** True once FindCoordinator for `group` names a coordinator (the offsets topic exists and is led). */
async function coordinatorFound(bootstrap: string, group: string): Promise<boolean> {
  const client = await RawClient.connect(bootstrap, "leader-election-test");
  try {
    const answer = await client.request(ApiKey.FindCoordinator, 4, { key: "", keyType: 0, coordinatorKeys: [group] });
    return answer.coordinators[0].errorCode === ErrorCode.NONE;
  } finally {
    await client.close();
  }
}

/**
 * Starts three brokers with `settings`, creates the topic (3 partitions, RF 3) and waits until every partition
 * is led by its preferred replica with every replica in sync. Then stops broker 1 with SIGTERM (returning its log)
 * and starts it again, waiting until it is back in every ISR.
 */
async function restartBrokerOne(cluster: TestCluster): Promise<{ logs: string; afterStop: ClusterView }> {
  assert.equal(
    (await createTopics(cluster.bootstrap(1), [{ name: TOPIC, partitions: 3, replicationFactor: 3 }]))
      .get(TOPIC),
    0,
  );
  await waitFor("every partition led by its preferred replica, all in sync", async () => {
    return await fullyInSync(cluster.bootstrap(2)) && await preferredLead(cluster.bootstrap(2));
  }, 30_000);
  const before = partitionsOf(await clusterView(cluster.bootstrap(2)));
  assert.ok(
    before.some((p) => p.replicas[0] === 1),
    `broker 1 is preferred for a partition: ${JSON.stringify(before)}`,
  );

  const one = cluster.nodes.get(1)!;
  assert.equal(await one.stop(), 0);
  cluster.nodes.delete(1);
  const afterStop = await clusterView(cluster.bootstrap(2));
  await cluster.startNode(1);
  await waitFor("broker 1 back in every ISR", () => fullyInSync(cluster.bootstrap(2)), 30_000);
  return { logs: one.logs(), afterStop };
}

Deno.test({
  name: "SIGTERM hands leaderships over; kafka-leader-election PREFERRED brings them back to the preferred replicas",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await requireKafkaJars();
    const cluster = await TestCluster.start(3, {
      "auto.leader.rebalance.enable": "false",
      "offsets.topic.replication.factor": 3,
      "offsets.topic.num.partitions": 3,
    });
    try {
      // The offsets topic (RF 3): broker 1's group coordinator must unload what it led as leadership moves away.
      await waitFor("a group coordinator", () => coordinatorFound(cluster.bootstrap(1), "payments"), 30_000);
      const { logs, afterStop } = await restartBrokerOne(cluster);
      // The hand-over finished (and the metadata named the new leaders) before broker 1 exited.
      const handOver = logs.match(/.*leaderships handed over before shutdown.*/)?.[0] ?? "";
      console.log(`broker 1: ${handOver}`);
      assert.match(handOver, /moved=true.*metadata_updated=true/);
      // Its group coordinator unloaded the offsets partitions it led as their leadership moved: after SIGTERM,
      // before the hand-over ended (closing alone unloads nothing).
      const lines = logs.split("\n");
      const signalled = lines.findIndex((l) => l.includes("shutting down"));
      const handedOver = lines.findIndex((l) => l.includes("leaderships handed over before shutdown"));
      const unloaded = lines.slice(signalled, handedOver).filter((l) => l.includes("group coordinator unloaded"));
      assert.ok(
        signalled >= 0 && unloaded.length > 0,
        `broker 1 unloads its offsets partitions:\n${logs.slice(-4000)}`,
      );
      for (const p of partitionsOf(afterStop)) {
        assert.notEqual(p.leader, 1, `partition ${p.partition} still led by the stopped broker`);
        assert.ok(p.leader === 2 || p.leader === 3, `partition ${p.partition} has leader ${p.leader}`);
      }
      // Raft does not hand leadership back by itself: broker 1 leads nothing after its restart.
      const restarted = partitionsOf(await clusterView(cluster.bootstrap(3)));
      const displaced = restarted.filter((p) => p.leader !== p.replicas[0]).map((p) => `${TOPIC}-${p.partition}`);
      assert.ok(displaced.length > 0, `a leadership moved away from broker 1: ${JSON.stringify(restarted)}`);

      // Asked of broker 1, which leads nothing now: every transfer is asked of another broker.
      const elected = ok(
        await kafkaTool(KafkaTools.leaderElection, [
          "--bootstrap-server",
          cluster.bootstrap(1),
          "--election-type",
          "PREFERRED",
          "--all-topic-partitions",
        ]),
        "kafka-leader-election --all-topic-partitions",
      );
      assert.match(elected, /Successfully completed leader election \(PREFERRED\) for partitions /);
      for (const name of displaced) assert.ok(elected.includes(name), `${name} in ${elected}`);
      // The answer came once the metadata named the preferred replicas.
      assert.ok(await preferredLead(cluster.bootstrap(1)), JSON.stringify(await clusterView(cluster.bootstrap(1))));

      const again = ok(
        await kafkaTool(KafkaTools.leaderElection, [
          "--bootstrap-server",
          cluster.bootstrap(1),
          "--election-type",
          "PREFERRED",
          "--topic",
          TOPIC,
          "--partition",
          "0",
        ]),
        "kafka-leader-election for a partition its preferred replica leads",
      );
      assert.match(again, new RegExp(`Valid replica already elected for partitions ${TOPIC}-0`));
      const unclean = ok(
        await kafkaTool(KafkaTools.leaderElection, [
          "--bootstrap-server",
          cluster.bootstrap(2),
          "--election-type",
          "UNCLEAN",
          "--topic",
          TOPIC,
          "--partition",
          "1",
        ]),
        "kafka-leader-election UNCLEAN with a leader",
      );
      assert.match(unclean, new RegExp(`Valid replica already elected for partitions ${TOPIC}-1`));
      const unknown = await kafkaTool(KafkaTools.leaderElection, [
        "--bootstrap-server",
        cluster.bootstrap(2),
        "--election-type",
        "PREFERRED",
        "--topic",
        TOPIC,
        "--partition",
        "7",
      ]);
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stdout + unknown.stderr, /UnknownTopicOrPartition|does not exist/);
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test({
  name: "with auto.leader.rebalance.enable the brokers move leaderships back to the preferred replicas themselves",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.start(3, {
      "auto.leader.rebalance.enable": "true",
      "leader.imbalance.check.interval.seconds": 1,
    });
    try {
      await restartBrokerOne(cluster);
      await waitFor("every partition led by its preferred replica again", () => preferredLead(cluster.bootstrap(3)));
      const moved = [2, 3].map((id) => cluster.nodes.get(id)!.logs()).join("\n");
      assert.match(moved, /moving leadership back to the preferred replica.*preferred=1/);
    } finally {
      await cluster.stop();
    }
  },
});
