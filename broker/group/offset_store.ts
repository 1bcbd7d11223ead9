/**
 * Committed offsets by group, topic and partition: the in-memory image of the offset records of
 * `__consumer_offsets`, and the pure rule of which offsets have expired. Shared by every group type (classic and
 * KIP-848 groups commit into the same store).
 *
 * @module
 */

/** One committed offset. */
export interface CommittedOffset {
  offset: bigint;
  /** -1 when the committer did not know it. */
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
  /** Set only by OffsetCommit v1-4 with a retention time (value version 1); -1 otherwise. */
  expireTimestampMs: number;
}

/** A partition of a topic. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/**
 * The committed offsets of every group.
 *
 * @example
 * ```ts
 * import { OffsetStore } from "./offset_store.ts";
 * const store = new OffsetStore();
 * store.set("g", "t", 0, { offset: 5n, leaderEpoch: -1, metadata: "", commitTimestampMs: 0, expireTimestampMs: -1 });
 * store.get("g", "t", 0)?.offset; // 5n
 * ```
 */
export class OffsetStore {
  readonly #groups = new Map<string, Map<string, Map<number, CommittedOffset>>>();

  /** The committed offset of a partition, if any. */
  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.#groups.get(group)?.get(topic)?.get(partition);
  }

  /** Records a commit. */
  set(group: string, topic: string, partition: number, offset: CommittedOffset): void {
    let topics = this.#groups.get(group);
    if (!topics) this.#groups.set(group, topics = new Map());
    let partitions = topics.get(topic);
    if (!partitions) topics.set(topic, partitions = new Map());
    partitions.set(partition, offset);
  }

  /** Forgets a commit (a tombstone). */
  delete(group: string, topic: string, partition: number): void {
    const topics = this.#groups.get(group);
    const partitions = topics?.get(topic);
    if (!topics || !partitions) return;
    partitions.delete(partition);
    if (partitions.size === 0) topics.delete(topic);
    if (topics.size === 0) this.#groups.delete(group);
  }

  /** True when the group has at least one committed offset. */
  has(group: string): boolean {
    return this.#groups.has(group);
  }

  /** Every group with committed offsets. */
  groups(): string[] {
    return [...this.#groups.keys()];
  }

  /** The committed offsets of a group by topic, in commit order of first appearance. */
  topicsOf(group: string): ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>> {
    return this.#groups.get(group) ?? new Map();
  }

  /** Every committed partition of a group. */
  partitionsOf(group: string): TopicPartition[] {
    const out: TopicPartition[] = [];
    for (const [topic, partitions] of this.topicsOf(group)) {
      for (const partition of partitions.keys()) out.push({ topic, partition });
    }
    return out;
  }

  /**
   * The offsets of `group` that have expired at `nowMs` (Kafka's `OffsetExpirationCondition`, KIP-211): an offset
   * with an explicit expire timestamp expires then; otherwise `retentionMs` after `baseTimestampMs` when given (the
   * time a consumer group became empty), else after its own commit.
   */
  expired(group: string, nowMs: number, retentionMs: number, baseTimestampMs: number | undefined): TopicPartition[] {
    const out: TopicPartition[] = [];
    for (const [topic, partitions] of this.topicsOf(group)) {
      for (const [partition, o] of partitions) {
        const expiresAt = o.expireTimestampMs >= 0
          ? o.expireTimestampMs
          : (baseTimestampMs ?? o.commitTimestampMs) + retentionMs;
        if (nowMs >= expiresAt) out.push({ topic, partition });
      }
    }
    return out;
  }
}
