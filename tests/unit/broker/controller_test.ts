/**
 * The single-node controller: topic creation, deletion and partition increases validated as Kafka's controller
 * validates them (codes and messages), committed durably to the metadata log, applied to the partition logs;
 * changes serialized; producer ids never repeated across restarts.
 */
import assert from "node:assert/strict";
import type { TopicCreation } from "../../../broker/broker_context.ts";
import { BrokerConfig } from "../../../broker/config.ts";
import {
  LocalController,
  MAX_RECORDS_PER_USER_OP,
  planTopicDeletions,
  PRODUCER_ID_BLOCK_SIZE,
} from "../../../broker/controller.ts";
import { MetadataImage } from "../../../broker/metadata_image.ts";
import { WorkSlicer } from "../../../broker/work_slices.ts";
import { silentLogger } from "../../../broker/logger.ts";
import { MetadataLog } from "../../../broker/metadata_log.ts";
import { ReplicaManager } from "../../../broker/replication/replica_manager.ts";
import { ErrorCode, ZERO_UUID } from "../../../protocol/messages.ts";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

interface Node {
  dir: string;
  config: BrokerConfig;
  metadata: MetadataLog;
  replicas: ReplicaManager;
  controller: LocalController;
}

async function openNode(dir: string, settings: Record<string, string> = {}): Promise<Node> {
  const config = BrokerConfig.from(
    Object.entries({ "log.dirs": dir, ...settings }).map(([key, value]) => ({
      key,
      value,
      source: { kind: "flag" as const, flag: `--set ${key}=${value}` },
    })),
  );
  const metadata = await MetadataLog.open(`${dir}/__cluster_metadata-0`);
  const replicas = new ReplicaManager(config, silentLogger);
  for (const topic of metadata.image.topics()) await replicas.ensureTopic(topic);
  const controller = new LocalController(metadata, replicas, config, silentLogger);
  return { dir, config, metadata, replicas, controller };
}

async function closeNode(node: Node): Promise<void> {
  await node.replicas.close();
  await node.metadata.close();
}

/** Runs `fn` with a fresh node in a temp directory; closes it and removes the directory after. */
async function withNode(
  fn: (node: Node) => Promise<void>,
  settings: Record<string, string> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "samsa-controller-" });
  const node = await openNode(dir, settings);
  try {
    await fn(node);
  } finally {
    await closeNode(node).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

function topic(name: string, fields: Partial<TopicCreation> = {}): TopicCreation {
  return { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: {}, ...fields };
}

async function createOne(node: Node, creation: TopicCreation, validateOnly = false) {
  const [result] = await node.controller.createTopics([creation], validateOnly);
  return result;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CreateTopics

Deno.test("createTopics creates the topic in the image with this node leading every partition", async () => {
  await withNode(async (node) => {
    const result = await createOne(node, topic("orders", { numPartitions: 3 }));
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.equal(result.errorMessage, null);
    assert.equal(result.numPartitions, 3);
    assert.equal(result.replicationFactor, 1);
    assert.match(result.topicId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const image = node.metadata.image.topic("orders")!;
    assert.equal(image.topicId, result.topicId);
    assert.deepEqual(
      image.partitions.map((p) => [p.partition, p.leader, p.replicas, p.isr, p.leaderEpoch, p.partitionEpoch]),
      [[0, 1, [1], [1], 0, 0], [1, 1, [1], [1], 0, 0], [2, 1, [1], [1], 0, 0]],
    );
  });
});

Deno.test("createTopics opens the new partitions' logs", async () => {
  await withNode(async (node) => {
    await createOne(node, topic("orders", { numPartitions: 2 }));
    assert.ok(node.replicas.get("orders", 0));
    assert.ok(node.replicas.get("orders", 1));
    assert.ok(await exists(`${node.dir}/orders-1`));
  });
});

Deno.test("createTopics keeps config overrides in the image", async () => {
  await withNode(async (node) => {
    await createOne(node, topic("compacted", { configs: { "cleanup.policy": "compact", "retention.ms": "1000" } }));
    assert.deepEqual(
      Object.fromEntries(node.metadata.image.topic("compacted")!.configs),
      { "cleanup.policy": "compact", "retention.ms": "1000" },
    );
  });
});

Deno.test("createTopics with -1 partitions and replication factor uses num.partitions and default.replication.factor", async () => {
  await withNode(async (node) => {
    const result = await createOne(node, topic("defaults", { numPartitions: -1, replicationFactor: -1 }));
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.equal(result.numPartitions, 4);
    assert.equal(result.replicationFactor, 1);
    assert.equal(node.metadata.image.topic("defaults")!.partitions.length, 4);
  }, { "num.partitions": "4" });
});

Deno.test("createTopics with a manual assignment places the partitions as assigned", async () => {
  await withNode(async (node) => {
    const result = await createOne(
      node,
      topic("manual", {
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [{ partitionIndex: 1, brokerIds: [1] }, { partitionIndex: 0, brokerIds: [1] }],
      }),
    );
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.equal(result.numPartitions, 2);
    assert.equal(result.replicationFactor, 1);
  });
});

Deno.test("createTopics refuses an existing topic with TOPIC_ALREADY_EXISTS", async () => {
  await withNode(async (node) => {
    await createOne(node, topic("orders"));
    const result = await createOne(node, topic("orders", { numPartitions: 0 }));
    assert.equal(result.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    assert.equal(result.errorMessage, "Topic 'orders' already exists.");
    assert.equal(result.topicId, ZERO_UUID);
    assert.equal(result.numPartitions, -1);
    assert.equal(result.replicationFactor, -1);
  });
});

Deno.test("createTopics refuses a name colliding with an existing topic by '.' and '_'", async () => {
  await withNode(async (node) => {
    await createOne(node, topic("a.b"));
    const result = await createOne(node, topic("a_b"));
    assert.equal(result.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal(result.errorMessage, "Topic 'a_b' collides with existing topic: a.b");
  });
});

Deno.test("createTopics creates two colliding names of one request, as Kafka 4.3 does", async () => {
  await withNode(async (node) => {
    const results = await node.controller.createTopics([topic("x.y"), topic("x_y")], false);
    assert.deepEqual(results.map((r) => r.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);
  });
});

Deno.test("createTopics refuses illegal names with INVALID_TOPIC_EXCEPTION", async () => {
  await withNode(async (node) => {
    const results = await node.controller.createTopics(
      [topic(""), topic("."), topic("bad/name"), topic("x".repeat(250))],
      false,
    );
    for (const r of results) {
      assert.equal(r.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
      assert.ok(r.errorMessage && r.errorMessage.length > 0);
    }
    assert.equal(node.metadata.image.topics().length, 0);
  });
});

Deno.test("createTopics refuses __cluster_metadata with INVALID_REQUEST", async () => {
  await withNode(async (node) => {
    const result = await createOne(node, topic("__cluster_metadata"));
    assert.equal(result.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(result.errorMessage, "Creation of internal topic __cluster_metadata is prohibited.");
  });
});

Deno.test("createTopics answers every occurrence of a duplicated name with INVALID_REQUEST and creates the rest", async () => {
  await withNode(async (node) => {
    const results = await node.controller.createTopics([topic("dup"), topic("solo"), topic("dup")], false);
    assert.deepEqual(
      results.map((r) => [r.name, r.errorCode, r.errorMessage]),
      [
        ["dup", ErrorCode.INVALID_REQUEST, "Duplicate topic name."],
        ["solo", ErrorCode.NONE, null],
        ["dup", ErrorCode.INVALID_REQUEST, "Duplicate topic name."],
      ],
    );
    assert.equal(node.metadata.image.topic("dup"), undefined);
    assert.ok(node.metadata.image.topic("solo"));
  });
});

Deno.test("createTopics refuses a replication factor of 0 or below -1 with INVALID_REPLICATION_FACTOR", async () => {
  await withNode(async (node) => {
    for (const replicationFactor of [0, -2]) {
      const result = await createOne(node, topic("t", { replicationFactor, numPartitions: 0 }));
      assert.equal(result.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
      assert.equal(result.errorMessage, "Replication factor must be larger than 0, or -1 to use the default value.");
    }
  });
});

Deno.test("createTopics refuses 0 partitions or fewer than -1 with INVALID_PARTITIONS", async () => {
  await withNode(async (node) => {
    for (const numPartitions of [0, -5]) {
      const result = await createOne(node, topic("t", { numPartitions }));
      assert.equal(result.errorCode, ErrorCode.INVALID_PARTITIONS);
      assert.equal(result.errorMessage, "Number of partitions was set to an invalid non-positive value.");
    }
  });
});

Deno.test("createTopics refuses a replication factor above the number of brokers", async () => {
  await withNode(async (node) => {
    const result = await createOne(node, topic("t", { replicationFactor: 3 }));
    assert.equal(result.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    assert.equal(
      result.errorMessage,
      "Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because " +
        "only 1 broker(s) are registered or some brokers have all their log directories cordoned.",
    );
  });
});

Deno.test("createTopics refuses assignments together with numPartitions or replicationFactor", async () => {
  await withNode(async (node) => {
    const assignments = [{ partitionIndex: 0, brokerIds: [1] }];
    const rf = await createOne(node, topic("t", { numPartitions: -1, replicationFactor: 1, assignments }));
    assert.equal(rf.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(
      rf.errorMessage,
      "A manual partition assignment was specified, but replication factor was not set to -1.",
    );
    const np = await createOne(node, topic("t", { numPartitions: 1, replicationFactor: -1, assignments }));
    assert.equal(np.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(np.errorMessage, "A manual partition assignment was specified, but numPartitions was not set to -1.");
  });
});

Deno.test("createTopics refuses bad manual assignments with INVALID_REPLICA_ASSIGNMENT", async () => {
  await withNode(async (node) => {
    const cases: [TopicCreation["assignments"], string][] = [
      [
        [{ partitionIndex: 0, brokerIds: [7] }],
        "The manual partition assignment includes broker 7, but no such broker is registered.",
      ],
      [
        [{ partitionIndex: 0, brokerIds: [1, 1] }],
        "The manual partition assignment includes the broker 1 more than once.",
      ],
      [[{ partitionIndex: 0, brokerIds: [] }], "The manual partition assignment includes an empty replica list."],
      [
        [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 0, brokerIds: [1] }],
        "Found multiple manual partition assignments for partition 0",
      ],
      [[{ partitionIndex: 1, brokerIds: [1] }], "partitions should be a consecutive 0-based integer sequence"],
    ];
    for (const [assignments, message] of cases) {
      const result = await createOne(node, topic("t", { numPartitions: -1, replicationFactor: -1, assignments }));
      assert.equal(result.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
      assert.equal(result.errorMessage, message);
    }
    assert.equal(node.metadata.image.topic("t"), undefined);
  });
});

Deno.test("createTopics refuses unknown, invalid and null configs with INVALID_CONFIG", async () => {
  await withNode(async (node) => {
    const unknown = await createOne(node, topic("t", { configs: { "retention.hours": "1" } }));
    assert.equal(unknown.errorCode, ErrorCode.INVALID_CONFIG);
    assert.equal(unknown.errorMessage, "Unknown topic config name: retention.hours");
    const invalid = await createOne(node, topic("t", { configs: { "retention.ms": "abc" } }));
    assert.equal(invalid.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(invalid.errorMessage!, /^Invalid value abc for configuration retention\.ms/);
    const nulls = await createOne(
      node,
      topic("t", { configs: { "retention.ms": null } as unknown as Record<string, string> }),
    );
    assert.equal(nulls.errorCode, ErrorCode.INVALID_CONFIG);
    assert.equal(nulls.errorMessage, "Null value not supported for topic configs: retention.ms");
  });
});

Deno.test("createTopics checks configs before partitions, as Kafka does", async () => {
  await withNode(async (node) => {
    const result = await createOne(node, topic("t", { numPartitions: 0, configs: { "retention.ms": "abc" } }));
    assert.equal(result.errorCode, ErrorCode.INVALID_CONFIG);
  });
});

Deno.test("createTopics refuses more than 10000 partitions per request with POLICY_VIOLATION for every topic", async () => {
  await withNode(async (node) => {
    const results = await node.controller.createTopics(
      [topic("a", { numPartitions: 5000 }), topic("b", { numPartitions: 5001 }), topic("d"), topic("d")],
      false,
    );
    assert.deepEqual(results.map((r) => [r.name, r.errorCode, r.errorMessage]), [
      ["a", ErrorCode.POLICY_VIOLATION, "Excessively large number of partitions per request."],
      ["b", ErrorCode.POLICY_VIOLATION, "Excessively large number of partitions per request."],
      ["d", ErrorCode.INVALID_REQUEST, "Duplicate topic name."],
      ["d", ErrorCode.INVALID_REQUEST, "Duplicate topic name."],
    ]);
    assert.equal(node.metadata.image.topics().length, 0);
  });
});

Deno.test("createTopics refuses a request needing more than 10000 metadata records", async () => {
  await withNode(async (node) => {
    // 10000 partitions pass the partition check, but with the TopicRecord they make 10001 records.
    const results = await node.controller.createTopics([topic("big", { numPartitions: 10000 })], true);
    assert.deepEqual([results[0].errorCode, results[0].errorMessage], [
      ErrorCode.POLICY_VIOLATION,
      "Unable to perform excessively large batch operation.",
    ]);
    const [ok] = await node.controller.createTopics([topic("big", { numPartitions: 9999 })], true);
    assert.equal(ok.errorCode, ErrorCode.NONE);
  });
});

Deno.test("createTopics with validateOnly answers as if it created but creates nothing", async () => {
  await withNode(async (node) => {
    const results = await node.controller.createTopics([topic("dry", { numPartitions: 2 }), topic("x/y")], true);
    assert.equal(results[0].errorCode, ErrorCode.NONE);
    assert.equal(results[0].numPartitions, 2);
    assert.notEqual(results[0].topicId, ZERO_UUID);
    assert.equal(results[1].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal(node.metadata.image.topic("dry"), undefined);
    assert.equal(node.replicas.get("dry", 0), undefined);
    assert.equal(node.metadata.log.logEndOffset, 0);
  });
});

Deno.test("concurrent creates of the same name: exactly one wins", async () => {
  await withNode(async (node) => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => createOne(node, topic("race", { numPartitions: 2 }))),
    );
    assert.equal(results.filter((r) => r.errorCode === ErrorCode.NONE).length, 1);
    assert.equal(results.filter((r) => r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS).length, 4);
    assert.equal(node.metadata.image.topic("race")!.partitions.length, 2);
  });
});

Deno.test("created topics, their configs and partitions survive a reopen of the metadata log", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-controller-" });
  try {
    const first = await openNode(dir);
    const created = await createOne(first, topic("kept", { numPartitions: 2, configs: { "retention.ms": "5000" } }));
    await first.controller.createPartitions([{ name: "kept", count: 3, assignments: null }], false);
    await createOne(first, topic("gone"));
    await first.controller.deleteTopics([{ name: "gone", topicId: null }]);
    await closeNode(first);

    const second = await openNode(dir);
    try {
      const kept = second.metadata.image.topic("kept")!;
      assert.equal(kept.topicId, created.topicId);
      assert.equal(kept.partitions.length, 3);
      assert.deepEqual(Object.fromEntries(kept.configs), { "retention.ms": "5000" });
      assert.equal(second.metadata.image.topic("gone"), undefined);
      const again = await createOne(second, topic("kept"));
      assert.equal(again.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    } finally {
      await closeNode(second);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a metadata log that cannot be written turns would-be creations into KAFKA_STORAGE_ERROR", async () => {
  await withNode(async (node) => {
    await node.metadata.close();
    const results = await node.controller.createTopics([topic("lost"), topic("bad/name")], false);
    assert.deepEqual(results.map((r) => r.errorCode), [
      ErrorCode.KAFKA_STORAGE_ERROR,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
    ]);
    assert.match(results[0].errorMessage ?? "", /metadata log could not be written/);
    assert.equal(node.metadata.image.topic("lost"), undefined);
    assert.equal(node.replicas.get("lost", 0), undefined);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// DeleteTopics

Deno.test("deleteTopics by name removes the topic and deletes its partition directories", async () => {
  await withNode(async (node) => {
    const created = await createOne(node, topic("doomed", { numPartitions: 2 }));
    assert.ok(await exists(`${node.dir}/doomed-0`));
    const [result] = await node.controller.deleteTopics([{ name: "doomed", topicId: null }]);
    assert.deepEqual(
      [result.name, result.topicId, result.errorCode, result.errorMessage],
      ["doomed", created.topicId, ErrorCode.NONE, null],
    );
    assert.equal(node.metadata.image.topic("doomed"), undefined);
    assert.equal(node.replicas.get("doomed", 0), undefined);
    assert.equal(await exists(`${node.dir}/doomed-0`), false);
    assert.equal(await exists(`${node.dir}/doomed-1`), false);
  });
});

Deno.test("deleteTopics by id removes the topic and answers with its name", async () => {
  await withNode(async (node) => {
    const created = await createOne(node, topic("by-id"));
    const [result] = await node.controller.deleteTopics([{ name: null, topicId: created.topicId }]);
    assert.deepEqual([result.name, result.topicId, result.errorCode], ["by-id", created.topicId, ErrorCode.NONE]);
    assert.equal(node.metadata.image.topicById(created.topicId), undefined);
  });
});

Deno.test("deleteTopics answers unknown names and ids as Kafka does", async () => {
  await withNode(async (node) => {
    const id = "11111111-2222-4333-8444-555555555555";
    const results = await node.controller.deleteTopics([{ name: "nope", topicId: null }, { name: null, topicId: id }]);
    assert.deepEqual(
      results.map((r) => [r.name, r.topicId, r.errorCode, r.errorMessage]),
      [
        ["nope", ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition."],
        [null, id, ErrorCode.UNKNOWN_TOPIC_ID, "This server does not host this topic ID."],
      ],
    );
  });
});

Deno.test("deleteTopics refuses duplicates, both name and id, and neither, with INVALID_REQUEST", async () => {
  await withNode(async (node) => {
    const a = await createOne(node, topic("a"));
    const b = await createOne(node, topic("b"));
    const results = await node.controller.deleteTopics([
      { name: "a", topicId: null },
      { name: "a", topicId: null },
      { name: null, topicId: b.topicId },
      { name: null, topicId: b.topicId },
      { name: "c", topicId: a.topicId },
      { name: null, topicId: null },
    ]);
    assert.deepEqual(
      results.map((r) => [r.errorCode, r.errorMessage]),
      [
        [ErrorCode.INVALID_REQUEST, "Duplicate topic name."],
        [ErrorCode.INVALID_REQUEST, "Duplicate topic name."],
        [ErrorCode.INVALID_REQUEST, "Duplicate topic id."],
        [ErrorCode.INVALID_REQUEST, "Duplicate topic id."],
        [ErrorCode.INVALID_REQUEST, "You may not specify both topic name and topic id."],
        [ErrorCode.INVALID_REQUEST, "Neither topic name nor id were specified."],
      ],
    );
    assert.ok(node.metadata.image.topic("a"));
    assert.ok(node.metadata.image.topic("b"));
  });
});

Deno.test("deleteTopics refuses a name whose topic is also given by id, and deletes nothing", async () => {
  await withNode(async (node) => {
    const t = await createOne(node, topic("twice"));
    const results = await node.controller.deleteTopics([
      { name: "twice", topicId: null },
      { name: null, topicId: t.topicId },
    ]);
    for (const r of results) {
      assert.deepEqual(
        [r.name, r.topicId, r.errorCode, r.errorMessage],
        [
          "twice",
          t.topicId,
          ErrorCode.INVALID_REQUEST,
          "The provided topic name maps to an ID that was already supplied.",
        ],
      );
    }
    assert.ok(node.metadata.image.topic("twice"));
  });
});

Deno.test("deleteTopics planned in slices pauses between slices and answers as the unsliced plan does", async () => {
  await withNode(async (node) => {
    const kept = await createOne(node, topic("kept"));
    await createOne(node, topic("sliced"));
    const entries = Array.from({ length: 5000 }, (_, i) => ({
      name: `absent-${i}` as string | null,
      topicId: null as string | null,
    }));
    entries.push({ name: "sliced", topicId: null }, { name: null, topicId: kept.topicId }, {
      name: "kept",
      topicId: null,
    });
    const expected = planTopicDeletions(node.metadata.image, entries).results;
    let clock = 0;
    const slicer = new WorkSlicer(1, () => clock++, () => Promise.resolve());
    const results = await node.controller.deleteTopics(entries, slicer);
    assert.ok(slicer.pauses > 0, "planning paused");
    assert.deepEqual(results, expected);
    assert.equal(results[5000].errorCode, ErrorCode.NONE);
    assert.equal(node.metadata.image.topic("sliced"), undefined);
    assert.ok(node.metadata.image.topic("kept"), "a name whose id is also given deletes nothing");
  });
});

Deno.test("deleting more than MAX_RECORDS_PER_USER_OP topics at once is refused as Kafka's controller does", () => {
  const image = new MetadataImage();
  const entries = [];
  for (let i = 0; i <= MAX_RECORDS_PER_USER_OP; i++) {
    const topicId = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
    image.apply({ type: "topic", record: { name: `t-${i}`, topicId } });
    entries.push({ name: `t-${i}`, topicId: null });
  }
  entries.push({ name: "absent", topicId: null });
  const plan = planTopicDeletions(image, entries);
  assert.equal(plan.records.length, 0, "nothing is deleted");
  assert.equal(plan.results.length, entries.length);
  for (const r of plan.results) {
    assert.deepEqual(
      [r.errorCode, r.errorMessage],
      [ErrorCode.POLICY_VIOLATION, "Unable to perform excessively large batch operation."],
    );
  }
  // At the limit, the topics are deleted.
  assert.equal(planTopicDeletions(image, entries.slice(1)).records.length, MAX_RECORDS_PER_USER_OP);
});

Deno.test("a deleted topic's name can be created again, with a new id", async () => {
  await withNode(async (node) => {
    const first = await createOne(node, topic("reborn"));
    await node.controller.deleteTopics([{ name: "reborn", topicId: null }]);
    const second = await createOne(node, topic("reborn"));
    assert.equal(second.errorCode, ErrorCode.NONE);
    assert.notEqual(second.topicId, first.topicId);
    assert.ok(node.replicas.get("reborn", 0));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// CreatePartitions

Deno.test("createPartitions adds partitions led by this node and opens their logs", async () => {
  await withNode(async (node) => {
    await createOne(node, topic("grow", { numPartitions: 1 }));
    const [result] = await node.controller.createPartitions([{ name: "grow", count: 3, assignments: null }], false);
    assert.deepEqual([result.errorCode, result.errorMessage], [ErrorCode.NONE, null]);
    const partitions = node.metadata.image.topic("grow")!.partitions;
    assert.deepEqual(partitions.map((p) => [p.partition, p.leader, p.replicas]), [[0, 1, [1]], [1, 1, [1]], [2, 1, [
      1,
    ]]]);
    assert.ok(node.replicas.get("grow", 2));
  });
});

Deno.test("createPartitions refuses counts that are not an increase with INVALID_PARTITIONS", async () => {
  await withNode(async (node) => {
    await createOne(node, topic("three", { numPartitions: 3 }));
    const results = await node.controller.createPartitions(
      [{ name: "three", count: 3, assignments: null }],
      false,
    );
    assert.deepEqual([results[0].errorCode, results[0].errorMessage], [
      ErrorCode.INVALID_PARTITIONS,
      "Topic already has 3 partition(s).",
    ]);
    const [lower] = await node.controller.createPartitions([{ name: "three", count: 2, assignments: null }], false);
    assert.deepEqual([lower.errorCode, lower.errorMessage], [
      ErrorCode.INVALID_PARTITIONS,
      "The topic three currently has 3 partition(s); 2 would not be an increase.",
    ]);
  });
});

Deno.test("createPartitions answers an unknown topic with UNKNOWN_TOPIC_OR_PARTITION and no message", async () => {
  await withNode(async (node) => {
    const [result] = await node.controller.createPartitions([{ name: "nope", count: 2, assignments: null }], false);
    assert.deepEqual([result.errorCode, result.errorMessage], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null]);
  });
});

Deno.test("createPartitions checks assignments as Kafka does", async () => {
  await withNode(async (node) => {
    await createOne(node, topic("t"));
    const results = await node.controller.createPartitions([
      { name: "t", count: 3, assignments: [[1]] },
    ], false);
    assert.deepEqual([results[0].errorCode, results[0].errorMessage], [
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.",
    ]);
    const [unknownBroker] = await node.controller.createPartitions(
      [{ name: "t", count: 2, assignments: [[9]] }],
      false,
    );
    assert.deepEqual([unknownBroker.errorCode, unknownBroker.errorMessage], [
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      "The manual partition assignment includes broker 9, but no such broker is registered.",
    ]);
    const [ok] = await node.controller.createPartitions([{ name: "t", count: 2, assignments: [[1]] }], false);
    assert.equal(ok.errorCode, ErrorCode.NONE);
    assert.equal(node.metadata.image.topic("t")!.partitions.length, 2);
  });
});

Deno.test("createPartitions answers duplicated names with INVALID_REQUEST", async () => {
  await withNode(async (node) => {
    await createOne(node, topic("t"));
    const results = await node.controller.createPartitions([
      { name: "t", count: 2, assignments: null },
      { name: "t", count: 3, assignments: null },
    ], false);
    for (const r of results) {
      assert.deepEqual([r.errorCode, r.errorMessage], [ErrorCode.INVALID_REQUEST, "Duplicate topic name."]);
    }
    assert.equal(node.metadata.image.topic("t")!.partitions.length, 1);
  });
});

Deno.test("createPartitions refuses more than 10000 new partitions with UNKNOWN_SERVER_ERROR", async () => {
  await withNode(async (node) => {
    await createOne(node, topic("t"));
    const [tooMany] = await node.controller.createPartitions([{ name: "t", count: 10002, assignments: null }], true);
    assert.deepEqual([tooMany.errorCode, tooMany.errorMessage], [ErrorCode.UNKNOWN_SERVER_ERROR, null]);
    const [ok] = await node.controller.createPartitions([{ name: "t", count: 10001, assignments: null }], true);
    assert.equal(ok.errorCode, ErrorCode.NONE);
  });
});

Deno.test("createPartitions with validateOnly changes nothing", async () => {
  await withNode(async (node) => {
    await createOne(node, topic("t"));
    const [result] = await node.controller.createPartitions([{ name: "t", count: 4, assignments: null }], true);
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.equal(node.metadata.image.topic("t")!.partitions.length, 1);
    assert.equal(node.replicas.get("t", 1), undefined);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Producer ids

Deno.test("allocateProducerId hands out consecutive ids starting at 0", async () => {
  await withNode(async (node) => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await node.controller.allocateProducerId());
    assert.deepEqual(ids, [0n, 1n, 2n]);
  });
});

Deno.test("allocateProducerId never repeats an id, even when called concurrently across block boundaries", async () => {
  await withNode(async (node) => {
    const count = Number(PRODUCER_ID_BLOCK_SIZE) + 10;
    const ids = await Promise.all(Array.from({ length: count }, () => node.controller.allocateProducerId()));
    assert.equal(new Set(ids).size, count);
  });
});

Deno.test("producer ids are not reused after a restart: the next block starts after the last reserved one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-controller-" });
  try {
    const first = await openNode(dir);
    const before = [await first.controller.allocateProducerId(), await first.controller.allocateProducerId()];
    await createOne(first, topic("between"));
    await closeNode(first);

    const second = await openNode(dir);
    try {
      const after = await second.controller.allocateProducerId();
      assert.ok(before.every((id) => id < after), `${after} must exceed ${before}`);
      assert.equal(after, PRODUCER_ID_BLOCK_SIZE);
      assert.ok(second.metadata.image.topic("between"), "the image ignores producer id records");
    } finally {
      await closeNode(second);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("alterConfigs commits topic overrides, applies them to open partitions, and keeps them across a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-controller-" });
  try {
    let node = await openNode(dir);
    assert.equal((await createOne(node, topic("orders", { numPartitions: 1 }))).errorCode, ErrorCode.NONE);
    const set = (value: string, validateOnly: boolean) =>
      node.controller.alterConfigs([{
        resourceType: 2,
        resourceName: "orders",
        configs: [{ name: "retention.ms", operation: 0, value }],
      }], validateOnly);
    assert.equal((await set("60000", true))[0].errorCode, ErrorCode.NONE);
    assert.equal(node.metadata.image.topic("orders")!.configs.get("retention.ms"), undefined, "validateOnly");
    assert.equal((await set("60000", false))[0].errorCode, ErrorCode.NONE);
    assert.equal(node.metadata.image.topic("orders")!.configs.get("retention.ms"), "60000");
    assert.equal(node.replicas.get("orders", 0)!.log.config["retention.ms"], 60000, "applied to the open log");
    await closeNode(node);
    node = await openNode(dir);
    assert.equal(node.metadata.image.topic("orders")!.configs.get("retention.ms"), "60000");
    assert.equal(node.replicas.get("orders", 0)!.log.config["retention.ms"], 60000);
    await closeNode(node);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
