/**
 * The cluster metadata image: topics, their partitions and configs, as applied from `__cluster_metadata`
 * records (TopicRecord, PartitionRecord, PartitionChangeRecord, ConfigRecord, RemoveTopicRecord). Pure: records
 * in, state out; the metadata log decides what is durable.
 *
 * @module
 */

/** One partition's placement and leadership. */
export interface PartitionImage {
  partition: number;
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  replicas: number[];
  isr: number[];
}

/** One topic. */
export interface TopicImage {
  name: string;
  topicId: string;
  partitions: PartitionImage[];
  /** Topic-level config overrides (only what was set explicitly). */
  configs: Map<string, string>;
}

/** The fields of TopicRecord the image uses. */
export interface TopicRecordFields {
  name: string;
  topicId: string;
}

/** The fields of PartitionRecord the image uses. */
export interface PartitionRecordFields {
  partitionId: number;
  topicId: string;
  replicas: number[];
  isr: number[];
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
}

/** The fields of ConfigRecord the image uses. Resource type 2 is a topic, 4 a broker. */
export interface ConfigRecordFields {
  resourceType: number;
  resourceName: string;
  name: string;
  value: string | null;
}

/** A metadata record the image applies, tagged by its type. */
export type MetadataRecord =
  | { type: "topic"; record: TopicRecordFields }
  | { type: "partition"; record: PartitionRecordFields }
  | { type: "config"; record: ConfigRecordFields }
  | { type: "remove_topic"; record: { topicId: string } };

/** Config resource type of a topic, as in DescribeConfigs and ConfigRecord. */
export const TOPIC_RESOURCE = 2;

/**
 * Topics by name and by id.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "./metadata_image.ts";
 * const image = new MetadataImage();
 * image.apply({ type: "topic", record: { name: "orders", topicId: "00000000-0000-0000-0000-000000000001" } });
 * image.topic("orders")?.partitions.length; // 0
 * ```
 */
export class MetadataImage {
  readonly #byName = new Map<string, TopicImage>();
  readonly #byId = new Map<string, TopicImage>();

  /** The topic named `name`, if it exists. */
  topic(name: string): TopicImage | undefined {
    return this.#byName.get(name);
  }

  /** The topic whose id is `topicId`, if it exists. */
  topicById(topicId: string): TopicImage | undefined {
    return this.#byId.get(topicId);
  }

  /** Every topic, in name order. */
  topics(): TopicImage[] {
    return [...this.#byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Applies one record. Records about unknown topics are ignored, as Kafka's image does. */
  apply(entry: MetadataRecord): void {
    switch (entry.type) {
      case "topic": {
        const topic: TopicImage = {
          name: entry.record.name,
          topicId: entry.record.topicId,
          partitions: [],
          configs: new Map(),
        };
        this.#byName.set(topic.name, topic);
        this.#byId.set(topic.topicId, topic);
        return;
      }
      case "partition": {
        const r = entry.record;
        const topic = this.#byId.get(r.topicId);
        if (!topic) return;
        topic.partitions[r.partitionId] = {
          partition: r.partitionId,
          leader: r.leader,
          leaderEpoch: r.leaderEpoch,
          partitionEpoch: r.partitionEpoch,
          replicas: [...r.replicas],
          isr: [...r.isr],
        };
        return;
      }
      case "config": {
        const r = entry.record;
        if (r.resourceType !== TOPIC_RESOURCE) return;
        const topic = this.#byName.get(r.resourceName);
        if (!topic) return;
        if (r.value === null) topic.configs.delete(r.name);
        else topic.configs.set(r.name, r.value);
        return;
      }
      case "remove_topic": {
        const topic = this.#byId.get(entry.record.topicId);
        if (!topic) return;
        this.#byId.delete(topic.topicId);
        this.#byName.delete(topic.name);
        return;
      }
    }
  }
}
