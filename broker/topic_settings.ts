/**
 * Turns a topic's effective configuration (its overrides over the broker's defaults) into the settings the
 * partition log and the produce path use.
 *
 * @module
 */
import type { LogConfig } from "../log/log_config.ts";
import { type BrokerConfig, effectiveTopicConfig } from "./config.ts";
import type { ProduceSettings } from "./replication/partition_replica.ts";

/** Everything a partition of a topic needs to know of its configuration. */
export interface TopicSettings {
  log: Partial<LogConfig>;
  produce: ProduceSettings;
  /** `min.insync.replicas`: replicas that must hold an acks=-1 batch of a replicated partition. */
  minInsyncReplicas: number;
}

const LONG_MAX_AS_NUMBER = 9.2e18;

function numberOf(value: string): number {
  const n = Number(value);
  // Kafka writes "never" as Long.MAX_VALUE; keep it as Infinity so arithmetic with it stays safe.
  return n >= LONG_MAX_AS_NUMBER ? Infinity : n;
}

/**
 * The settings of a topic with `overrides` on a broker configured by `broker`.
 *
 * @example
 * ```ts
 * import { BrokerConfig } from "./config.ts";
 * import { topicSettings } from "./topic_settings.ts";
 * topicSettings(BrokerConfig.from([]), { "segment.bytes": "1048576" }).log["segment.bytes"]; // 1048576
 * ```
 */
export function topicSettings(broker: BrokerConfig, overrides: Readonly<Record<string, string>>): TopicSettings {
  const values = new Map(effectiveTopicConfig(broker, overrides).map((e) => [e.name, e.value]));
  const get = (name: string, fallback: string) => values.get(name) ?? fallback;
  return {
    log: {
      "segment.bytes": numberOf(get("segment.bytes", "1073741824")),
      "segment.ms": numberOf(get("segment.ms", "604800000")),
      "index.interval.bytes": numberOf(get("index.interval.bytes", "4096")),
      "retention.ms": numberOf(get("retention.ms", "604800000")),
      "retention.bytes": numberOf(get("retention.bytes", "-1")),
      "flush.messages": numberOf(get("flush.messages", "9223372036854775807")),
      "flush.ms": numberOf(get("flush.ms", "9223372036854775807")),
      "cleanup.policy": get("cleanup.policy", "delete"),
      "delete.retention.ms": numberOf(get("delete.retention.ms", "86400000")),
      "min.cleanable.dirty.ratio": Number(get("min.cleanable.dirty.ratio", "0.5")),
      "min.compaction.lag.ms": numberOf(get("min.compaction.lag.ms", "0")),
      "max.compaction.lag.ms": numberOf(get("max.compaction.lag.ms", "9223372036854775807")),
    },
    produce: {
      logAppendTime: get("message.timestamp.type", "CreateTime") === "LogAppendTime",
      maxMessageBytes: numberOf(get("max.message.bytes", "1048588")),
      timestampBeforeMaxMs: numberOf(get("message.timestamp.before.max.ms", "9223372036854775807")),
      timestampAfterMaxMs: numberOf(get("message.timestamp.after.max.ms", "3600000")),
      compacted: get("cleanup.policy", "delete").split(",").map((p) => p.trim()).includes("compact"),
    },
    minInsyncReplicas: Math.max(1, numberOf(get("min.insync.replicas", "1"))),
  };
}
