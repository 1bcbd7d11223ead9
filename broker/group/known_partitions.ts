/**
 * What Kafka's request layer (KafkaApis) does before OffsetCommit and OffsetDelete reach the coordinator:
 * partitions of topics that do not exist, or beyond a topic's partition count, are answered
 * UNKNOWN_TOPIC_OR_PARTITION there, and listed in the response before the coordinator's answers (its response
 * builder keeps one entry per topic name, in the order topics were first added).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/messages.ts";
import type { MetadataImage } from "../metadata_image.ts";

/** A request topic: a name and partitions carrying at least an index. */
export interface TopicWithPartitions<P extends { partitionIndex: number }> {
  name: string;
  partitions: P[];
}

/** One partition's answer. */
export interface PartitionAnswer {
  partitionIndex: number;
  errorCode: number;
}

/** The request split into what exists (for the coordinator) and the answers for what does not. */
export interface SplitTopics<P extends { partitionIndex: number }> {
  known: TopicWithPartitions<P>[];
  unknown: { name: string; partitions: PartitionAnswer[] }[];
}

/**
 * Splits `topics` by whether each partition exists in `metadata`.
 *
 * @example
 * ```ts ignore
 * const { known, unknown } = splitByExistence(ctx.metadata, body.topics);
 * ```
 */
export function splitByExistence<P extends { partitionIndex: number }>(
  metadata: MetadataImage,
  topics: readonly TopicWithPartitions<P>[],
): SplitTopics<P> {
  const steps = splitByExistenceSteps(metadata, topics);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * {@link splitByExistence} as a generator that yields after each topic, for `WorkSlicer.run`: an OffsetCommit of
 * a million partitions of missing topics answers each of them here.
 *
 * @example
 * ```ts ignore
 * const { known, unknown } = await slicerFor(request).run(splitByExistenceSteps(ctx.metadata, body.topics));
 * ```
 */
export function* splitByExistenceSteps<P extends { partitionIndex: number }>(
  metadata: MetadataImage,
  topics: readonly TopicWithPartitions<P>[],
): Generator<void, SplitTopics<P>> {
  const known: TopicWithPartitions<P>[] = [];
  const unknown: { name: string; partitions: PartitionAnswer[] }[] = [];
  for (const t of topics) {
    const partitionCount = metadata.topic(t.name)?.partitions.length ?? 0;
    const exists = (p: P) => p.partitionIndex >= 0 && p.partitionIndex < partitionCount;
    const missing = partitionCount === 0 ? t.partitions : t.partitions.filter((p) => !exists(p));
    const present = partitionCount === 0 ? [] : t.partitions.filter(exists);
    if (missing.length > 0) {
      unknown.push({
        name: t.name,
        partitions: missing.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        })),
      });
    }
    if (present.length > 0) known.push(present.length === t.partitions.length ? t : { ...t, partitions: present });
    yield;
  }
  return { known, unknown };
}

/**
 * Merges the coordinator's answers after the request layer's: one entry per topic name, in first-seen order.
 *
 * @example
 * ```ts ignore
 * const topics = mergeAnswers(unknown, await coordinator.commitOffsets(...));
 * ```
 */
export function mergeAnswers(
  first: readonly { name: string; partitions: PartitionAnswer[] }[],
  then: readonly { name: string; partitions: PartitionAnswer[] }[],
): { name: string; partitions: PartitionAnswer[] }[] {
  const byName = new Map<string, { name: string; partitions: PartitionAnswer[] }>();
  for (const t of [...first, ...then]) {
    const entry = byName.get(t.name);
    if (entry) entry.partitions.push(...t.partitions);
    else byName.set(t.name, { name: t.name, partitions: [...t.partitions] });
  }
  return [...byName.values()];
}
