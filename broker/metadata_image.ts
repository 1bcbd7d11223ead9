/**
 * The cluster metadata image: brokers, topics, their partitions and configs, producer-id blocks and features, as
 * applied from `__cluster_metadata` records (RegisterBrokerRecord, UnregisterBrokerRecord,
 * BrokerRegistrationChangeRecord, TopicRecord, PartitionRecord, PartitionChangeRecord, ConfigRecord, RemoveTopicRecord,
 * ProducerIdsRecord, FeatureLevelRecord). Pure: records in, state out; the metadata log decides what is durable.
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
  /**
   * A reassignment in progress (KIP-455, as KRaft records it): the replicas being added and removed. `replicas`
   * then holds both the target and the replicas being removed; absent or empty when none runs.
   */
  addingReplicas?: number[];
  removingReplicas?: number[];
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
  /** A reassignment in progress (a snapshot of an image taken while one runs). */
  addingReplicas?: number[];
  removingReplicas?: number[];
}

/** No leader: the partition is offline (its only in-sync replica is fenced), as Kafka's NO_LEADER. */
export const NO_LEADER = -1;
/** A PartitionChangeRecord's `leader` when the leader did not change. */
export const NO_LEADER_CHANGE = -2;

/**
 * The fields of PartitionChangeRecord the image uses: `leader` is {@link NO_LEADER_CHANGE} when unchanged, `isr`
 * null when unchanged. Kafka's record carries no epochs: applying a leader change bumps the leader epoch by one,
 * and any change bumps the partition epoch. `leaderEpoch` (a Samsa tagged field, see `metadata_log.ts`) is the
 * exact leader epoch the partition's Raft group elected its leader in; when present the image takes it as is.
 */
export interface PartitionChangeFields {
  partitionId: number;
  topicId: string;
  leader: number;
  isr: number[] | null;
  leaderEpoch?: number;
  /** The new replicas, adding and removing replicas (a reassignment's steps); undefined or null when unchanged. */
  replicas?: number[] | null;
  addingReplicas?: number[] | null;
  removingReplicas?: number[] | null;
}

/** The fields of ConfigRecord the image uses. Resource type 2 is a topic, 4 a broker. */
export interface ConfigRecordFields {
  resourceType: number;
  resourceName: string;
  name: string;
  value: string | null;
}

/** A broker's listener as registered (RegisterBrokerRecord's endpoints). */
export interface BrokerEndpoint {
  name: string;
  host: string;
  port: number;
  /** Kafka's security protocol id: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL. */
  securityProtocol: number;
}

/** The fields of RegisterBrokerRecord the image uses. */
export interface RegisterBrokerFields {
  brokerId: number;
  incarnationId: string;
  /** The broker epoch: the metadata offset of the registration, as Kafka's controller assigns it. */
  brokerEpoch: bigint;
  endPoints: BrokerEndpoint[];
  rack: string | null;
  fenced: boolean;
  inControlledShutdown: boolean;
}

/** A registered broker, as the image holds it. */
export interface BrokerImage {
  id: number;
  epoch: bigint;
  incarnationId: string;
  endpoints: BrokerEndpoint[];
  rack: string | null;
  /** A fenced broker leads nothing and is in no ISR; it is unfenced once it has caught up with the log. */
  fenced: boolean;
  inControlledShutdown: boolean;
}

/** A metadata record the image applies, tagged by its type. */
export type MetadataRecord =
  | { type: "topic"; record: TopicRecordFields }
  | { type: "partition"; record: PartitionRecordFields }
  | { type: "partition_change"; record: PartitionChangeFields }
  | { type: "config"; record: ConfigRecordFields }
  | { type: "remove_topic"; record: { topicId: string } }
  | { type: "register_broker"; record: RegisterBrokerFields }
  | { type: "unregister_broker"; record: { brokerId: number; brokerEpoch: bigint } }
  /** BrokerRegistrationChangeRecord: `fenced` is -1 unfenced, 0 no change, 1 fenced. */
  | {
    type: "broker_change";
    record: { brokerId: number; brokerEpoch: bigint; fenced: number; inControlledShutdown: number };
  }
  | { type: "producer_ids"; record: { brokerId: number; brokerEpoch: bigint; nextProducerId: bigint } }
  | { type: "feature_level"; record: { name: string; featureLevel: number } };

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
  readonly #brokers = new Map<number, BrokerImage>();
  readonly #features = new Map<string, number>();
  #nextProducerId = 0n;

  /** Forgets everything (before a snapshot is applied: it rebuilds the image from nothing). */
  reset(): void {
    this.#byName.clear();
    this.#byId.clear();
    this.#brokers.clear();
    this.#features.clear();
    this.#nextProducerId = 0n;
  }

  /** Every registered broker, by id. */
  brokers(): BrokerImage[] {
    return [...this.#brokers.values()].sort((a, b) => a.id - b.id);
  }

  /** The registered broker `id`, if any. */
  broker(id: number): BrokerImage | undefined {
    return this.#brokers.get(id);
  }

  /** Finalized feature levels (FeatureLevelRecord), by name. */
  features(): ReadonlyMap<string, number> {
    return this.#features;
  }

  /** The first producer id not yet reserved by a ProducerIdsRecord. */
  get nextProducerId(): bigint {
    return this.#nextProducerId;
  }

  /** The topic named `name`, if it exists. */
  topic(name: string): TopicImage | undefined {
    return this.#byName.get(name);
  }

  /** The topic whose id is `topicId`, if it exists. */
  topicById(topicId: string): TopicImage | undefined {
    return this.#byId.get(topicId);
  }

  /** How many topics there are. */
  get topicCount(): number {
    return this.#byId.size;
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
        if (r.addingReplicas?.length || r.removingReplicas?.length) {
          topic.partitions[r.partitionId].addingReplicas = [...(r.addingReplicas ?? [])];
          topic.partitions[r.partitionId].removingReplicas = [...(r.removingReplicas ?? [])];
        }
        return;
      }
      case "partition_change": {
        const r = entry.record;
        const p = this.#byId.get(r.topicId)?.partitions[r.partitionId];
        if (!p) return;
        // As Kafka's PartitionRegistration.merge: a new leader (or none) starts a new leader epoch; any change
        // starts a new partition epoch. A leader elected by the partition's Raft group comes with its exact
        // epoch (the group's term), which may be more than one above the last one recorded.
        if (r.leader !== NO_LEADER_CHANGE) {
          p.leader = r.leader;
          p.leaderEpoch = r.leaderEpoch ?? p.leaderEpoch + 1;
        } else if (r.leaderEpoch !== undefined) {
          p.leaderEpoch = r.leaderEpoch;
        }
        if (r.isr !== null) p.isr = [...r.isr];
        if (r.replicas) p.replicas = [...r.replicas];
        if (r.addingReplicas) p.addingReplicas = [...r.addingReplicas];
        if (r.removingReplicas) p.removingReplicas = [...r.removingReplicas];
        p.partitionEpoch++;
        return;
      }
      case "config": {
        const r = entry.record;
        if (r.resourceType !== TOPIC_RESOURCE) return;
        const topic = this.#byName.get(r.resourceName);
        if (!topic) return;
        // A new map, not an edit in place: settings derived from a topic's configs are cached by its map.
        const configs = new Map(topic.configs);
        if (r.value === null) configs.delete(r.name);
        else configs.set(r.name, r.value);
        topic.configs = configs;
        return;
      }
      case "remove_topic": {
        const topic = this.#byId.get(entry.record.topicId);
        if (!topic) return;
        this.#byId.delete(topic.topicId);
        this.#byName.delete(topic.name);
        return;
      }
      case "register_broker": {
        const r = entry.record;
        this.#brokers.set(r.brokerId, {
          id: r.brokerId,
          epoch: r.brokerEpoch,
          incarnationId: r.incarnationId,
          endpoints: r.endPoints.map((e) => ({ ...e })),
          rack: r.rack,
          fenced: r.fenced,
          inControlledShutdown: r.inControlledShutdown,
        });
        return;
      }
      case "unregister_broker": {
        const b = this.#brokers.get(entry.record.brokerId);
        if (b && b.epoch === entry.record.brokerEpoch) this.#brokers.delete(b.id);
        return;
      }
      case "broker_change": {
        const r = entry.record;
        const b = this.#brokers.get(r.brokerId);
        // A change for an older registration (an earlier epoch) is stale, as in Kafka's ClusterControlManager.
        if (!b || b.epoch !== r.brokerEpoch) return;
        if (r.fenced === 1) b.fenced = true;
        else if (r.fenced === -1) b.fenced = false;
        if (r.inControlledShutdown === 1) b.inControlledShutdown = true;
        return;
      }
      case "producer_ids":
        if (entry.record.nextProducerId > this.#nextProducerId) this.#nextProducerId = entry.record.nextProducerId;
        return;
      case "feature_level":
        this.#features.set(entry.record.name, entry.record.featureLevel);
        return;
    }
  }
}
