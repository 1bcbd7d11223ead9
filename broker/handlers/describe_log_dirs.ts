/**
 * DescribeLogDirs (key 35): the broker's log directory, the partitions it holds there with their sizes, and
 * (v4) the directory's total and usable bytes, as `kafka-log-dirs --describe` shows them. `topics` null asks
 * for every partition; otherwise only the listed partitions this broker holds are answered, as in Kafka.
 *
 * Kafka's answer has no field for a partition whose recovery left a gap of damaged data: that is logged
 * (`log_damage_contained`, then `log_has_damaged_ranges` at every start) and kept in the partition's
 * `damaged-ranges` file (docs/OPERATIONS.md).
 *
 * @module
 */
import { statfsSync } from "node:fs";
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { DescribeLogDirsResponseDescribeLogDirsTopic } from "../../protocol/generated/messages/describe_log_dirs_response.ts";
import type { Handler } from "../broker_context.ts";

/** Total and usable bytes of the file system holding `path`, or -1 each when it cannot be read. */
function diskSpace(path: string): { totalBytes: bigint; usableBytes: bigint } {
  try {
    const s = statfsSync(path, { bigint: true });
    return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
  } catch {
    return { totalBytes: -1n, usableBytes: -1n };
  }
}

/** The directory's absolute path, as Kafka reports it. */
function absolute(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/** Answers DescribeLogDirs. */
export const handleDescribeLogDirs: Handler<typeof ApiKey.DescribeLogDirs> = (ctx, request) => {
  const logDir = ctx.config.logDirs[0];
  const requested = request.body.topics;
  const wanted = requested === null ? null : new Map(requested.map((t) => [t.topic, new Set(t.partitions)]));
  const byTopic = new Map<string, DescribeLogDirsResponseDescribeLogDirsTopic>();
  for (const replica of ctx.replicas.all()) {
    if (wanted && !wanted.get(replica.topic)?.has(replica.partition)) continue;
    let topic = byTopic.get(replica.topic);
    if (!topic) byTopic.set(replica.topic, topic = { name: replica.topic, partitions: [] });
    topic.partitions.push({
      partitionIndex: replica.partition,
      partitionSize: BigInt(replica.log.sizeInBytes()),
      offsetLag: 0n, // no future (moving) replicas: the current log is never behind itself
      isFutureKey: false,
    });
  }
  const topics = [...byTopic.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const t of topics) t.partitions.sort((a, b) => a.partitionIndex - b.partitionIndex);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    results: [{ errorCode: ErrorCode.NONE, logDir: absolute(logDir), topics, ...diskSpace(logDir) }],
  };
};
