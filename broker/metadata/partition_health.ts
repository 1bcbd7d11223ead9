/**
 * The cluster's partition health as the metadata image tells it, in Kafka's two figures: under-replicated
 * partitions (an ISR smaller than the replicas: a replica has fallen behind or is down) and offline partitions (no
 * leader). Counted per topic, so a metadata batch costs a recount of the topics it touched only.
 *
 * @module
 */
import type { Logger } from "../logger.ts";
import { type MetadataImage, type MetadataRecord, NO_LEADER, type TopicImage } from "../metadata_image.ts";

/** The two figures. */
export interface PartitionHealthCounts {
  /** Partitions whose ISR is smaller than their replicas (Kafka's UnderReplicatedPartitions). */
  underReplicated: number;
  /** Partitions without a leader (Kafka's OfflinePartitionsCount). */
  offline: number;
}

/**
 * The figures of one topic's partitions. Pure.
 *
 * @example
 * ```ts
 * import { topicHealth } from "./partition_health.ts";
 * const p = { partition: 0, leader: -1, leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2], isr: [1] };
 * topicHealth({ name: "orders", topicId: "x", partitions: [p], configs: new Map() });
 * // { underReplicated: 1, offline: 1 }
 * ```
 */
export function topicHealth(topic: TopicImage): PartitionHealthCounts {
  let underReplicated = 0;
  let offline = 0;
  for (const p of topic.partitions) {
    if (!p) continue;
    if (p.isr.length < p.replicas.length) underReplicated++;
    if (p.leader === NO_LEADER) offline++;
  }
  return { underReplicated, offline };
}

/**
 * The figures of the whole image, kept up to date batch by batch.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "../metadata_image.ts";
 * import { PartitionHealth } from "./partition_health.ts";
 * const health = new PartitionHealth(new MetadataImage());
 * health.update([]); // undefined: nothing changed
 * health.counts; // { underReplicated: 0, offline: 0 }
 * ```
 */
export class PartitionHealth {
  readonly #byTopic = new Map<string, PartitionHealthCounts>();
  #counts: PartitionHealthCounts = { underReplicated: 0, offline: 0 };

  /** Counts the image as it is now. */
  constructor(private readonly image: MetadataImage) {
    this.#recountAll();
  }

  /** The current figures. */
  get counts(): PartitionHealthCounts {
    return { ...this.#counts };
  }

  /**
   * Takes in a batch of records just applied to the image; returns the new figures when they changed, else
   * undefined.
   */
  update(records: readonly MetadataRecord[]): PartitionHealthCounts | undefined {
    const touched = new Set<string>();
    for (const r of records) {
      if (r.type === "topic" || r.type === "partition" || r.type === "partition_change" || r.type === "remove_topic") {
        touched.add(r.record.topicId);
      }
    }
    if (touched.size === 0) return undefined;
    const before = this.#counts;
    for (const topicId of touched) {
      const topic = this.image.topicById(topicId);
      if (topic) this.#byTopic.set(topicId, topicHealth(topic));
      else this.#byTopic.delete(topicId);
    }
    // A snapshot rebuilds the image from nothing: topics deleted meanwhile are in no record, only missing.
    if (this.#byTopic.size !== this.image.topicCount) this.#recountAll();
    else this.#sum();
    const now = this.#counts;
    if (before.underReplicated === now.underReplicated && before.offline === now.offline) return undefined;
    return this.counts;
  }

  #recountAll(): void {
    this.#byTopic.clear();
    for (const topic of this.image.topics()) this.#byTopic.set(topic.topicId, topicHealth(topic));
    this.#sum();
  }

  #sum(): void {
    let underReplicated = 0;
    let offline = 0;
    for (const c of this.#byTopic.values()) {
      underReplicated += c.underReplicated;
      offline += c.offline;
    }
    this.#counts = { underReplicated, offline };
  }
}

/**
 * Logs new figures (`PartitionHealth.update`'s answer; undefined, nothing changed, logs nothing): a warning while
 * some partition is offline, else information.
 *
 * @example
 * ```ts
 * import { silentLogger } from "../logger.ts";
 * import { logPartitionHealth } from "./partition_health.ts";
 * logPartitionHealth(silentLogger, { underReplicated: 2, offline: 0 });
 * ```
 */
export function logPartitionHealth(logger: Logger, counts: PartitionHealthCounts | undefined): void {
  if (!counts) return;
  logger.log(counts.offline > 0 ? "warn" : "info", "partition health", {
    under_replicated_partitions: counts.underReplicated,
    offline_partitions: counts.offline,
  });
}
