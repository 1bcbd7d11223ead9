/**
 * Producing with Samsa's own codec from tests: the exact batch bytes we choose reach the broker.
 *
 * @module
 */
import { ApiKey } from "../../protocol/messages.ts";
import type { ProduceResponsePartitionProduceResponse } from "../../protocol/generated/messages/produce_response.ts";
import { RawClient } from "../diff/raw_client.ts";

/** Creates a topic with one partition, waiting for the answer. */
export async function createTopic(client: RawClient, name: string, numPartitions = 1): Promise<void> {
  const answer = await client.request(ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions, replicationFactor: -1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  if (answer.topics[0].errorCode !== 0) throw new Error(`CreateTopics ${name}: ${answer.topics[0].errorMessage}`);
}

/** Sends one batch to partition 0 of `topic` with Produce v9 and returns the partition's answer. */
export async function produceBatch(
  client: RawClient,
  topic: string,
  batch: Uint8Array,
  acks = -1,
): Promise<ProduceResponsePartitionProduceResponse> {
  const answer = await client.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  });
  return answer.responses[0].partitionResponses[0];
}

export { RawClient };

/** Creates a one-partition topic with topic-level configs, over a connection of its own. */
export async function createTopicWithConfigs(
  bootstrap: string,
  name: string,
  configs: Record<string, string>,
): Promise<void> {
  const client = await RawClient.connect(bootstrap);
  try {
    const answer = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{
        name,
        numPartitions: 1,
        replicationFactor: -1,
        assignments: [],
        configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
      }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    if (answer.topics[0].errorCode !== 0) throw new Error(`CreateTopics ${name}: ${answer.topics[0].errorMessage}`);
  } finally {
    await client.close();
  }
}
