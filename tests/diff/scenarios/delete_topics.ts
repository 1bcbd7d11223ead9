/**
 * DeleteTopics by name at v3 (not flexible; kafkajs) and v4 (flexible), by topic id at v6 (Java 4.x), of
 * missing topics, names and ids, and what Metadata says afterwards.
 *
 * @module
 */
import { ApiKey, ZERO_UUID } from "../../../protocol/messages.ts";
import type { DeleteTopicsRequest } from "../../../protocol/generated/mod.ts";
import type { Scenario, Session } from "../scenario.ts";

/** Names go in `topicNames` up to v5 and in `topics` from v6. */
function byName(names: string[], version: number): DeleteTopicsRequest {
  return version >= 6
    ? { topics: names.map((name) => ({ name, topicId: ZERO_UUID })), topicNames: [], timeoutMs: 30_000 }
    : { topics: [], topicNames: names, timeoutMs: 30_000 };
}

function byId(topicId: string): DeleteTopicsRequest {
  return { topics: [{ name: null, topicId }], topicNames: [], timeoutMs: 30_000 };
}

/** Polls Metadata (bounded: 50 × 100 ms) until `name` is gone; true when it went. */
async function gone(s: Session, name: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    const md = await s.call(ApiKey.Metadata, 12, {
      topics: [{ name, topicId: ZERO_UUID }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    if (md.topics[0]?.errorCode === 3) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** DeleteTopics scenarios. */
export const scenario: Scenario = {
  name: "delete_topics",
  description: "DeleteTopics v3/v4 by name and v6 by id: existing, missing, afterwards",
  async run(s) {
    const a = await s.createTopic("delete-v3");
    const b = await s.createTopic("delete-v4");
    const c = await s.createTopic("delete-by-id");
    await s.step("existing topic v3", ApiKey.DeleteTopics, 3, byName([a.name], 3));
    await s.step("existing topic v4", ApiKey.DeleteTopics, 4, byName([b.name], 4));
    await s.step("existing topic by id v6", ApiKey.DeleteTopics, 6, byId(c.topicId));
    s.observe("deleted topics disappear from Metadata within 5 s", [
      await gone(s, a.name),
      await gone(s, b.name),
      await gone(s, c.name),
    ]);
    await s.step("deleted topic again v4", ApiKey.DeleteTopics, 4, byName([a.name], 4));
    await s.step("missing topic v3", ApiKey.DeleteTopics, 3, byName([s.topic("never-created-v3")], 3));
    await s.step("missing topic v6", ApiKey.DeleteTopics, 6, byName([s.topic("never-created-v6")], 6));
    await s.step("unknown topic id v6", ApiKey.DeleteTopics, 6, byId("0a0b0c0d-0000-4000-8000-000000000000"));
    await s.step("invalid name v4", ApiKey.DeleteTopics, 4, byName(["a/b"], 4));
  },
};
