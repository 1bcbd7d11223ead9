/**
 * CreatePartitions at v1 (not flexible; kafkajs) and v3 (flexible; Java 4.x): growing a topic, asking for the
 * count it has, shrinking, validateOnly, a missing topic, and the partition count Metadata shows afterwards.
 *
 * @module
 */
import { ApiKey, ZERO_UUID } from "../../../protocol/messages.ts";
import type { CreatePartitionsRequest } from "../../../protocol/generated/mod.ts";
import type { Scenario } from "../scenario.ts";

function grow(name: string, count: number, validateOnly = false): CreatePartitionsRequest {
  return { topics: [{ name, count, assignments: null }], timeoutMs: 30_000, validateOnly };
}

/** CreatePartitions scenarios. */
export const scenario: Scenario = {
  name: "create_partitions",
  description: "CreatePartitions v1/v3: grow, same count, shrink, validateOnly, missing topic",
  async run(s) {
    const { name } = await s.createTopic("grow", { partitions: 1 });
    await s.step("1 to 2 partitions v1", ApiKey.CreatePartitions, 1, grow(name, 2));
    await s.step("2 to 4 partitions v3", ApiKey.CreatePartitions, 3, grow(name, 4));
    await s.step("4 to 4 (no change) v3", ApiKey.CreatePartitions, 3, grow(name, 4));
    await s.step("4 to 2 (shrink) v3", ApiKey.CreatePartitions, 3, grow(name, 2));
    await s.step("4 to 0 v3", ApiKey.CreatePartitions, 3, grow(name, 0));
    await s.step("validateOnly 4 to 8 v3", ApiKey.CreatePartitions, 3, grow(name, 8, true));
    await s.step("missing topic v3", ApiKey.CreatePartitions, 3, grow(s.topic("never-created"), 2));
    await s.step("missing topic v1", ApiKey.CreatePartitions, 1, grow(s.topic("never-created-v1"), 2));
    await s.step("same topic twice v3", ApiKey.CreatePartitions, 3, {
      topics: [{ name, count: 6, assignments: null }, { name, count: 6, assignments: null }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    await s.awaitLeaders(name, 4).catch(() => {});
    await s.step("Metadata afterwards", ApiKey.Metadata, 12, {
      topics: [{ name, topicId: ZERO_UUID }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
  },
};
