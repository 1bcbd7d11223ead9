/**
 * CreateTopics validation at v7 (Java 4.x, flexible) and v4 (non-flexible; kafkajs uses v3 at most, which
 * Kafka 4.x still serves from v2): illegal names, duplicates, bad partition counts and replication factors,
 * unknown and invalid configs, validateOnly, and the `.`/`_` collision of metric names.
 *
 * @module
 */
import { ApiKey, ZERO_UUID } from "../../../protocol/messages.ts";
import type { CreateTopicsRequestCreatableTopic } from "../../../protocol/generated/mod.ts";
import type { Scenario } from "../scenario.ts";

function topic(
  name: string,
  numPartitions = 1,
  replicationFactor = 1,
  configs: Record<string, string | null> = {},
): CreateTopicsRequestCreatableTopic {
  return {
    name,
    numPartitions,
    replicationFactor,
    assignments: [],
    configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
  };
}

/** CreateTopics scenarios. */
export const scenario: Scenario = {
  name: "create_topics",
  description: "CreateTopics: names, duplicates, partitions, replication factor, configs, validateOnly, collision",
  async run(s) {
    const create = (step: string, topics: CreateTopicsRequestCreatableTopic[], version = 7, validateOnly = false) =>
      s.step(step, ApiKey.CreateTopics, version, { topics, timeoutMs: 30_000, validateOnly });

    await create("valid topic v7", [topic(s.topic("valid-v7"), 2)]);
    await create("valid topic v4", [topic(s.topic("valid-v4"), 2)], 4);
    await create("name with a slash", [topic("a/b")]);
    await create("empty name", [topic("")]);
    await create("name '.'", [topic(".")]);
    await create("name '..'", [topic("..")]);
    await create("name of 249 chars (longest legal)", [topic(s.topicOfLength("long", 249))]);
    await create("name of 250 chars", [topic("y".repeat(250))]);
    await create("name of 250 chars v4", [topic("z".repeat(250))], 4);
    const twice = s.topic("twice");
    await create("same topic twice in one request", [topic(twice), topic(twice)]);
    const existing = s.topic("existing");
    await create("create (before the duplicate)", [topic(existing)]);
    await create("existing topic", [topic(existing)]);
    await create("existing topic v4", [topic(existing)], 4);
    await create("zero partitions", [topic(s.topic("zero-partitions"), 0)]);
    await create("-2 partitions", [topic(s.topic("minus-two-partitions"), -2)]);
    await create("-1 partitions (broker default)", [topic(s.topic("default-partitions"), -1, -1)]);
    await create("replication factor 0", [topic(s.topic("rf-zero"), 1, 0)]);
    await create("replication factor 3 on one broker", [topic(s.topic("rf-three"), 1, 3)]);
    await create("replication factor -2", [topic(s.topic("rf-minus-two"), 1, -2)]);
    await create("unknown config", [topic(s.topic("unknown-config"), 1, 1, { "no.such.config": "1" })]);
    await create("bad config value", [topic(s.topic("bad-config"), 1, 1, { "retention.ms": "soon" })]);
    await create("null config value", [topic(s.topic("null-config"), 1, 1, { "retention.ms": null })]);
    await create("valid config", [topic(s.topic("with-config"), 1, 1, { "cleanup.policy": "compact" })]);
    const dry = s.topic("validate-only");
    await create("validateOnly", [topic(dry, 3)], 7, true);
    await s.step("validateOnly created nothing", ApiKey.Metadata, 12, {
      topics: [{ name: dry, topicId: ZERO_UUID }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    await create("validateOnly with a bad name", [topic("a/b")], 7, true);
    await create("create 'collide.x'", [topic(s.topic("collide.x"))]);
    await create("then 'collide_x'", [topic(s.topic("collide_x"))]);
    await create("one good and one bad in one request", [topic(s.topic("mixed-good")), topic("mixed/bad")]);
  },
};
