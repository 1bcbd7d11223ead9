/**
 * Kafka's own admin tools (kafka-topics, kafka-metadata-quorum, kafka-configs, kafka-features, kafka-cluster)
 * see one cluster through any broker of a three-node Samsa cluster: the same topics, the same quorum, the
 * same configs, the same finalized features, and a config changed through one broker is applied on all (each
 * partition leader enforces a lowered `max.message.bytes`).
 */
import assert from "node:assert/strict";
import { kafkaTool, KafkaTools, requireKafkaJars, type ToolRun } from "../compat/kafka/kafka_tool.ts";
import { kcat } from "../compat/kcat/kcat.ts";
import { RawClient } from "../diff/raw_client.ts";
import { ApiKey } from "../../protocol/messages.ts";
import { TEST_CLUSTER_ID, TestCluster, waitFor } from "./cluster_process.ts";

function ok(run: ToolRun, what: string): string {
  assert.equal(run.code, 0, `${what} failed (exit ${run.code}):\n${run.stdout}\n${run.stderr.slice(-3000)}`);
  return run.stdout;
}

Deno.test("Kafka's admin tools see one cluster through each of its three brokers", async () => {
  await requireKafkaJars();
  const cluster = await TestCluster.start(3);
  try {
    const [b1, b2, b3] = [1, 2, 3].map((id) => cluster.bootstrap(id));

    ok(
      await kafkaTool(KafkaTools.topics, [
        "--bootstrap-server",
        b1,
        "--create",
        "--topic",
        "orders",
        "--partitions",
        "3",
        "--replication-factor",
        "3",
      ]),
      "kafka-topics --create",
    );
    for (const b of [b2, b3]) {
      const described = ok(
        await kafkaTool(KafkaTools.topics, ["--bootstrap-server", b, "--describe", "--topic", "orders"]),
        `kafka-topics --describe through ${b}`,
      );
      assert.match(described, /Topic: orders\tTopicId: \S+\tPartitionCount: 3\tReplicationFactor: 3/);
      for (const p of [0, 1, 2]) assert.match(described, new RegExp(`Partition: ${p}\\tLeader: [123]\\tReplicas: `));
    }

    const statuses = [];
    for (const b of [b1, b2, b3]) {
      const status = ok(
        await kafkaTool(KafkaTools.metadataQuorum, ["--bootstrap-server", b, "describe", "--status"]),
        `kafka-metadata-quorum describe --status through ${b}`,
      );
      assert.match(status, new RegExp(`ClusterId:\\s+${TEST_CLUSTER_ID}`));
      assert.match(status, /CurrentVoters:\s+\[\{"id": 1, .*\{"id": 2, .*\{"id": 3, /);
      statuses.push(status.match(/LeaderId:\s+(\d+)/)![1]);
    }
    assert.equal(new Set(statuses).size, 1, `every broker names the same quorum leader: ${statuses}`);
    const replication = ok(
      await kafkaTool(KafkaTools.metadataQuorum, ["--bootstrap-server", b3, "describe", "--replication"]),
      "kafka-metadata-quorum describe --replication",
    );
    const rows = replication.trim().split("\n").slice(1).map((line) => line.trim().split(/\s+/));
    assert.deepEqual(rows.map((r) => r[0]).sort(), ["1", "2", "3"]);
    assert.deepEqual(rows.filter((r) => r.at(-1) === "Leader").map((r) => r[0]), [statuses[0]]);

    ok(
      await kafkaTool(KafkaTools.configs, [
        "--bootstrap-server",
        b2,
        "--alter",
        "--entity-type",
        "topics",
        "--entity-name",
        "orders",
        "--add-config",
        "retention.ms=60000,max.message.bytes=1024",
      ]),
      "kafka-configs --alter",
    );
    for (const b of [b1, b3]) {
      const configs = ok(
        await kafkaTool(KafkaTools.configs, [
          "--bootstrap-server",
          b,
          "--describe",
          "--entity-type",
          "topics",
          "--entity-name",
          "orders",
        ]),
        `kafka-configs --describe through ${b}`,
      );
      assert.match(
        configs,
        /retention\.ms=60000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention\.ms=60000\}/,
      );
      assert.match(configs, /max\.message\.bytes=1024 /);
    }
    // Applied on every broker: each partition's leader (one per broker) refuses a record over the new limit.
    for (const p of [0, 1, 2]) {
      const big = await kcat(["-b", b1, "-P", "-t", "orders", "-p", String(p)], "x".repeat(3000) + "\n");
      assert.match(big.stderr, /Message size too large/, `partition ${p}: ${big.stderr}`);
      const small = await kcat(["-b", b1, "-P", "-t", "orders", "-p", String(p)], "fits\n");
      assert.equal(small.code, 0, small.stderr);
    }
    const invalid = await kafkaTool(KafkaTools.configs, [
      "--bootstrap-server",
      b3,
      "--alter",
      "--entity-type",
      "topics",
      "--entity-name",
      "orders",
      "--add-config",
      "retention.ms=soon",
    ]);
    assert.notEqual(invalid.code, 0);
    assert.match(
      invalid.stdout + invalid.stderr,
      /InvalidConfigurationException: Invalid value soon for configuration retention.ms: Not a number of type LONG/,
    );

    const features = ok(
      await kafkaTool(KafkaTools.features, ["--bootstrap-server", b3, "describe"]),
      "kafka-features describe",
    );
    assert.match(
      features,
      /Feature: metadata\.version\s+SupportedMinVersion: 3\.3-IV3\s+SupportedMaxVersion: \S+\s+FinalizedVersionLevel: \S+-IV\d/,
    );

    // An idle quorum still shows its followers caught up (kafka-metadata-quorum's MaxFollowerLagTimeMs stays small):
    // their heartbeat answers count, not only appends.
    const since = BigInt(Date.now());
    const client = await RawClient.connect(b1, "tools-test");
    try {
      await waitFor("every follower caught up again while the quorum is idle", async () => {
        const q = await client.request(ApiKey.DescribeQuorum, 2, {
          topics: [{ topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] }],
        });
        return q.topics[0].partitions[0].currentVoters.every((v) => v.lastCaughtUpTimestamp > since);
      });
    } finally {
      await client.close();
    }

    const clusterId = ok(
      await kafkaTool(KafkaTools.cluster, ["cluster-id", "--bootstrap-server", b2]),
      "kafka-cluster cluster-id",
    );
    assert.match(clusterId, new RegExp(`Cluster ID: ${TEST_CLUSTER_ID}`));

    // kafka-topics --delete through one broker: gone there at once (answered once applied), and on the others
    // (each applies the committed record within milliseconds; a tool run takes about a second).
    ok(
      await kafkaTool(KafkaTools.topics, ["--bootstrap-server", b3, "--delete", "--topic", "orders"]),
      "kafka-topics --delete",
    );
    for (const b of [b3, b1]) {
      const listed = ok(await kafkaTool(KafkaTools.topics, ["--bootstrap-server", b, "--list"]), `--list through ${b}`);
      assert.doesNotMatch(listed, /^orders$/m, `orders deleted, as seen through ${b}`);
    }

    // kafka-cluster unregister: an unknown id is refused with Kafka's error; a stopped broker's registration goes.
    const unknown = await kafkaTool(KafkaTools.cluster, ["unregister", "--bootstrap-server", b1, "--id", "9"]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stdout + unknown.stderr, /BrokerIdNotRegisteredException|not currently registered/);
    await cluster.addBroker(4);
    await cluster.nodes.get(4)!.stop();
    const unregistered = ok(
      await kafkaTool(KafkaTools.cluster, ["unregister", "--bootstrap-server", b2, "--id", "4"]),
      "kafka-cluster unregister --id 4",
    );
    assert.match(unregistered, /Broker 4 is no longer registered/);
  } finally {
    await cluster.stop();
  }
});
