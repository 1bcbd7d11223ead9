/**
 * Metadata for an existing topic, for missing topics with auto-creation off and on, for an invalid name, and
 * for all topics; at v6 (kafkajs, not flexible) and v12 (Java and librdkafka, flexible).
 *
 * Both brokers run with auto.create.topics.enable=true (Samsa's default; tests/compat/kafka/kafka.sh sets it
 * for Kafka). "All topics" keeps only the topics this run created: other tests' and internal topics differ.
 *
 * @module
 */
import { ApiKey, ZERO_UUID as ZERO } from "../../../protocol/messages.ts";
import type { MetadataRequest } from "../../../protocol/generated/mod.ts";
import type { Scenario, Session } from "../scenario.ts";

function metadata(names: string[] | null, allowAutoTopicCreation: boolean): MetadataRequest {
  return {
    topics: names === null ? null : names.map((name) => ({ name, topicId: ZERO })),
    allowAutoTopicCreation,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  };
}

/** Polls (bounded: 50 × 100 ms) until `name` has a leader; records how many polls were needed as 1 or "more". */
async function settle(s: Session, name: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    const md = await s.call(ApiKey.Metadata, 12, metadata([name], false));
    const t = md.topics[0];
    if (t?.errorCode === 0 && t.partitions.length > 0 && t.partitions.every((p) => p.leaderId >= 0)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Metadata scenarios. */
export const scenario: Scenario = {
  name: "metadata",
  description: "Metadata: existing, missing (auto-create off/on), invalid name, all topics; v6 and v12",
  async run(s) {
    const existing = await s.createTopic("existing", { partitions: 3 });
    for (const v of [6, 12]) {
      await s.step(`existing topic v${v}`, ApiKey.Metadata, v, metadata([existing.name], false));
      await s.step(
        `missing topic, auto-create off v${v}`,
        ApiKey.Metadata,
        v,
        metadata([s.topic(`missing-off-v${v}`)], false),
      );
      const autoName = s.topic(`auto-created-v${v}`);
      await s.step(`missing topic, auto-create on v${v}`, ApiKey.Metadata, v, metadata([autoName], true));
      s.observe(`auto-created topic v${v} gets a leader within 5 s`, await settle(s, autoName));
      await s.step(`auto-created topic afterwards v${v}`, ApiKey.Metadata, v, metadata([autoName], false));
      await s.step(`invalid name, auto-create on v${v}`, ApiKey.Metadata, v, metadata(["bad/name"], true));
      await s.step(`all topics v${v}`, ApiKey.Metadata, v, metadata(null, false), { onlyKnownTopics: true });
    }
    await s.step("existing topic with authorized operations v12", ApiKey.Metadata, 12, {
      ...metadata([existing.name], false),
      includeTopicAuthorizedOperations: true,
    });
    await s.step("no topics (empty list) v12", ApiKey.Metadata, 12, metadata([], false));
    await s.step("topic by id v12", ApiKey.Metadata, 12, {
      ...metadata(null, false),
      topics: [{ name: null, topicId: existing.topicId }],
    });
  },
};
