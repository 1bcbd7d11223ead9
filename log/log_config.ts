/**
 * Partition-log settings, by Kafka's topic-level property names, with defaults that work on a laptop.
 *
 * @module
 */

/** The settings of one partition log. */
export interface LogConfig {
  /** Roll to a new segment once the active one would exceed this many bytes. Default 1 GiB. */
  "segment.bytes": number;
  /** Roll once the active segment is this old (ms since its creation or since the log was opened). Default 7 days. */
  "segment.ms": number;
  /** Bytes of batches between two offset-index entries. Default 4096. */
  "index.interval.bytes": number;
  /** Delete segments whose newest timestamp is older than this (ms); -1 never. Default 7 days. */
  "retention.ms": number;
  /** Delete the oldest segments while the partition exceeds this many bytes; -1 never. Default -1. */
  "retention.bytes": number;
  /**
   * Start an fsync once this many records are unflushed. Default `Infinity`: the caller decides (the broker
   * flushes for acks=-1 and Raft before it acknowledges).
   */
  "flush.messages": number;
  /** Start an fsync on append once the last one is this old (ms). Default `Infinity`: the caller decides. */
  "flush.ms": number;
  // --- log compaction (log_cleaner.ts, compaction.ts) ---
  /**
   * `delete`, `compact`, or `compact,delete` (Kafka's list, comma-separated). Retention's time and size rules
   * apply only with `delete`; the cleaner runs only with `compact`. Default `delete`.
   */
  "cleanup.policy": string;
  /** Keep a tombstone this long (ms) after the cleaner first saw it (its delete horizon, KIP-534). Default 1 day. */
  "delete.retention.ms": number;
  /** Clean once dirty bytes / (clean + dirty bytes) exceeds this. Default 0.5. */
  "min.cleanable.dirty.ratio": number;
  /** Never compact a segment holding a record younger than this (ms). Default 0. */
  "min.compaction.lag.ms": number;
  /** Clean regardless of the dirty ratio once the oldest dirty record is this old (ms). Default `Infinity`. */
  "max.compaction.lag.ms": number;
}

/** The defaults. */
export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  "segment.bytes": 1024 * 1024 * 1024,
  "segment.ms": 7 * 24 * 60 * 60 * 1000,
  "index.interval.bytes": 4096,
  "retention.ms": 7 * 24 * 60 * 60 * 1000,
  "retention.bytes": -1,
  "flush.messages": Infinity,
  "flush.ms": Infinity,
  "cleanup.policy": "delete",
  "delete.retention.ms": 24 * 60 * 60 * 1000,
  "min.cleanable.dirty.ratio": 0.5,
  "min.compaction.lag.ms": 0,
  "max.compaction.lag.ms": Infinity,
});

/**
 * Fills in the defaults and checks the ranges.
 *
 * @example
 * ```ts
 * import { logConfig } from "./log_config.ts";
 * logConfig({ "segment.bytes": 1024 * 1024 })["index.interval.bytes"]; // 4096
 * ```
 */
export function logConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  const config = { ...DEFAULT_LOG_CONFIG, ...overrides };
  const segmentBytes = config["segment.bytes"];
  if (!Number.isInteger(segmentBytes) || segmentBytes < 61 || segmentBytes > 0x7fffffff) {
    throw new RangeError(`segment.bytes must be an integer in [61, 2^31-1], got ${segmentBytes}`);
  }
  if (!(config["index.interval.bytes"] >= 0)) throw new RangeError("index.interval.bytes must be >= 0");
  if (!(config["segment.ms"] > 0)) throw new RangeError("segment.ms must be > 0");
  // --- log compaction ---
  for (const policy of config["cleanup.policy"].split(",")) {
    if (policy.trim() !== "delete" && policy.trim() !== "compact") {
      throw new RangeError(`cleanup.policy must list delete and/or compact, got ${config["cleanup.policy"]}`);
    }
  }
  if (!(config["delete.retention.ms"] >= 0)) throw new RangeError("delete.retention.ms must be >= 0");
  const ratio = config["min.cleanable.dirty.ratio"];
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError("min.cleanable.dirty.ratio must be in [0, 1]");
  if (!(config["min.compaction.lag.ms"] >= 0)) throw new RangeError("min.compaction.lag.ms must be >= 0");
  if (!(config["max.compaction.lag.ms"] > 0)) throw new RangeError("max.compaction.lag.ms must be > 0");
  return config;
}
