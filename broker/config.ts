/**
 * Broker configuration under Kafka's own property names (`log.dirs`, `log.retention.hours`, `listeners`), from
 * four sources in increasing precedence: built-in defaults (chosen to work on a laptop with no setup), a Java
 * properties file (`--config FILE`), environment variables (`SAMSA_LOG_DIRS` sets `log.dirs`) and repeated
 * `--set key=value` flags. Every known key is parsed and checked when the configuration is built, so a bad
 * value stops the broker at startup with a message naming the key, the value and where it came from.
 *
 * Keys the broker does not know are kept (topic-level overrides and later features read them) and reported
 * by `unknownKeys()`.
 *
 * The module also holds the table of topic-level configuration names (`retention.ms`, `segment.bytes`, …) with
 * their types, defaults and the broker keys they inherit from, for CreateTopics, AlterConfigs and
 * DescribeConfigs.
 *
 * Everything here is pure except `loadBrokerConfig`, which reads the file and the process environment.
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------------------------
// Sources and errors

/** Where a configuration value came from. */
export type ConfigSource =
  | { readonly kind: "default" }
  | { readonly kind: "file"; readonly path: string; readonly line: number }
  | { readonly kind: "env"; readonly variable: string }
  | { readonly kind: "flag"; readonly flag: string }
  | { readonly kind: "topic"; readonly topic?: string };

/** The source of built-in defaults. */
export const DEFAULT_SOURCE: ConfigSource = Object.freeze({ kind: "default" });

/**
 * A human description of a source, for error messages and logs.
 *
 * @example
 * ```ts
 * import { describeSource } from "./config.ts";
 * describeSource({ kind: "env", variable: "SAMSA_NODE_ID" }); // "environment variable SAMSA_NODE_ID"
 * ```
 */
export function describeSource(source: ConfigSource): string {
  switch (source.kind) {
    case "default":
      return "built-in default";
    case "file":
      return `config file ${source.path} line ${source.line}`;
    case "env":
      return `environment variable ${source.variable}`;
    case "flag":
      return `flag ${source.flag}`;
    case "topic":
      return source.topic === undefined ? "topic config" : `config of topic ${source.topic}`;
  }
}

/**
 * A configuration value that cannot be used. `message` names the key, the value and the source.
 *
 * @example
 * ```ts
 * import { BrokerConfig, ConfigError } from "./config.ts";
 * try {
 *   BrokerConfig.from([{ key: "num.partitions", value: "many", source: { kind: "flag", flag: "--set" } }]);
 * } catch (e) {
 *   if (e instanceof ConfigError) e.key; // "num.partitions"
 * }
 * ```
 */
export class ConfigError extends Error {
  /** The key at fault, when there is one. */
  readonly key: string | undefined;
  /** Where the bad value came from, when known. */
  readonly source: ConfigSource | undefined;

  /** Creates a ConfigError; the message should already name the key, value and source. */
  constructor(message: string, key?: string, source?: ConfigSource) {
    super(message);
    this.name = "ConfigError";
    this.key = key;
    this.source = source;
  }
}

/** One key/value pair from one source. */
export interface ConfigSetting {
  /** The Kafka property name, e.g. `log.dirs`. */
  readonly key: string;
  /** The value as written (a string, as in a properties file). */
  readonly value: string;
  /** Where it came from. */
  readonly source: ConfigSource;
}

// ---------------------------------------------------------------------------------------------------------------
// Types and definitions

/** Kafka's configuration types (`ConfigDef.Type`). */
export type ConfigType = "boolean" | "string" | "int" | "short" | "long" | "double" | "list" | "class" | "password";

/** The `ConfigType` codes of DescribeConfigs v3+ (0 is UNKNOWN). */
export const CONFIG_TYPE_CODES: Readonly<Record<ConfigType, number>> = {
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  class: 8,
  password: 9,
};

/** The `ConfigSource` codes of DescribeConfigs v1+ that Samsa reports. */
export const DESCRIBE_CONFIG_SOURCE_CODES = {
  /** Set on the topic itself. */
  TOPIC_CONFIG: 1,
  /** Set in the broker's file, environment or flags (Samsa has no dynamic broker configs). */
  STATIC_BROKER_CONFIG: 4,
  /** The built-in default. */
  DEFAULT_CONFIG: 5,
} as const;

/** The greatest long (2^63 - 1), Kafka's "never" for many time and count limits, as written in configs. */
export const LONG_MAX = "9223372036854775807";

/** A broker configuration key: its type, default and valid values. */
export interface BrokerConfigDef {
  /** The property name. */
  readonly name: string;
  /** How the value is parsed. */
  readonly type: ConfigType;
  /** The default as a string, or null when the key has no default (unset unless given). */
  readonly default: string | null;
  /** One line for operators. */
  readonly doc: string;
  /** Least allowed value, for numeric types. */
  readonly min?: number;
  /** Greatest allowed value, for numeric types. */
  readonly max?: number;
  /** Allowed values (case-sensitive), for string and list types. */
  readonly choices?: readonly string[];
  /** True for secrets: never logged nor described. */
  readonly sensitive?: boolean;
}

const INT_MAX = 2147483647;

function def(
  name: string,
  type: ConfigType,
  dflt: string | null,
  doc: string,
  extra: Partial<Pick<BrokerConfigDef, "min" | "max" | "choices" | "sensitive">> = {},
): BrokerConfigDef {
  return Object.freeze({ name, type, default: dflt, doc, ...extra });
}

/**
 * Every broker key Samsa knows, with its laptop-friendly default. Kafka's defaults are kept except where a
 * single local node needs another (node.id=1, listeners on 127.0.0.1, log.dirs=./data, replication factors 1).
 * Keys marked "Samsa" are not Kafka's.
 */
export const BROKER_CONFIGS: readonly BrokerConfigDef[] = Object.freeze([
  def(
    "node.id",
    "int",
    "1",
    "This node's id in the cluster, 1 or more (Kafka allows 0; Samsa's Raft groups keep 0 for 'no node').",
    { min: 1 },
  ),
  def("process.roles", "list", "broker,controller", "The roles of this node.", { choices: ["broker", "controller"] }),
  def("cluster.id", "string", null, "The cluster id; when unset, generated on first start and kept in log.dirs."),
  def("listeners", "list", "PLAINTEXT://127.0.0.1:9092", "Where to accept connections: NAME://host:port,..."),
  def("advertised.listeners", "list", null, "Addresses given to clients; unset means the same as listeners."),
  def(
    "listener.security.protocol.map",
    "list",
    "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
    "Listener name to security protocol.",
  ),
  def("inter.broker.listener.name", "string", null, "The listener brokers use to reach each other."),
  // The cluster settings of KRaft; broker/metadata/cluster_config.ts checks how they fit together.
  def("controller.listener.names", "list", null, "Listeners of the controller (Raft and controller requests)."),
  def("controller.quorum.voters", "list", null, "The controllers, id@host:port,...; unset: a single-node cluster."),
  def("controller.quorum.bootstrap.servers", "list", null, "KIP-853 dynamic quorum: not supported yet."),
  def("broker.rack", "string", null, "This broker's rack, used to spread replicas and to pick read replicas."),
  def(
    "replica.selector.class",
    "string",
    null,
    "KIP-392: unset, consumers fetch from leaders; RackAwareReplicaSelector, from an in-sync replica in their rack.",
    { choices: ["org.apache.kafka.common.replica.RackAwareReplicaSelector"] },
  ),
  def("broker.heartbeat.interval.ms", "int", "2000", "How often a broker heartbeats to the controller.", { min: 1 }),
  def("broker.session.timeout.ms", "int", "9000", "A broker silent this long is fenced.", { min: 1 }),
  def(
    "metadata.log.max.record.bytes.between.snapshots",
    "long",
    "20971520",
    "Metadata record bytes applied between two snapshots of the metadata image.",
    { min: 1 },
  ),
  def("controller.quorum.election.timeout.ms", "int", "1000", "Raft election timeout of the metadata quorum.", {
    min: 10,
  }),
  def("log.dirs", "list", "./data", "Directories holding partition data."),
  def("log.dir", "string", null, "A single data directory, used when log.dirs is not given."),
  def("num.partitions", "int", "1", "Partitions of an automatically created topic.", { min: 1 }),
  def("default.replication.factor", "short", "1", "Replication factor of an automatically created topic.", {
    min: 1,
  }),
  def("auto.create.topics.enable", "boolean", "true", "Create a topic when a client asks for one that is missing."),
  def("delete.topic.enable", "boolean", "true", "Allow DeleteTopics."),
  def("log.segment.bytes", "int", "1073741824", "Largest segment file before a new one is rolled.", {
    min: 14,
    max: INT_MAX,
  }),
  def("log.roll.ms", "long", null, "Roll a segment this old (ms); overrides log.roll.hours.", { min: 1 }),
  def("log.roll.hours", "int", "168", "Roll a segment this old (hours).", { min: 1 }),
  def("log.roll.jitter.ms", "long", null, "Random jitter subtracted from the roll time (ms).", { min: 0 }),
  def("log.roll.jitter.hours", "int", "0", "Random jitter subtracted from the roll time (hours).", { min: 0 }),
  def("log.retention.ms", "long", null, "Delete segments older than this (ms); -1 keeps them forever."),
  def("log.retention.minutes", "int", null, "Delete segments older than this (minutes)."),
  def("log.retention.hours", "int", "168", "Delete segments older than this (hours)."),
  def("log.retention.bytes", "long", "-1", "Delete old segments while a partition is larger than this; -1: no limit."),
  def("log.retention.check.interval.ms", "long", "300000", "How often retention runs.", { min: 1 }),
  def("log.segment.delete.delay.ms", "long", "60000", "Delay before a deleted segment's files go.", { min: 0 }),
  def("log.flush.interval.messages", "long", LONG_MAX, "Fsync after this many messages.", { min: 1 }),
  def("log.flush.interval.ms", "long", null, "Fsync data this old (ms); unset: log.flush.scheduler.interval.ms."),
  def("log.flush.scheduler.interval.ms", "long", LONG_MAX, "How often the flusher checks (ms)."),
  def(
    "log.flush.offset.checkpoint.interval.ms",
    "int",
    "60000",
    "How often idle partitions write their recovery point (ms).",
    { min: 1 },
  ),
  def(
    "num.recovery.threads.per.data.dir",
    "int",
    "16",
    "Samsa: partitions opened (recovered) at once at startup; their fsyncs overlap.",
    { min: 1 },
  ),
  def(
    "log.open.files.max",
    "int",
    "0",
    "Samsa: log files holding a descriptor at once (others reopen on use); 0: half of ulimit -n.",
    { min: 0 },
  ),
  def("log.index.size.max.bytes", "int", "10485760", "Largest offset index file.", { min: 4 }),
  def("log.index.interval.bytes", "int", "4096", "Bytes between offset index entries.", { min: 0 }),
  def("log.preallocate", "boolean", "false", "Preallocate segment files."),
  def("log.cleanup.policy", "list", "delete", "delete, compact, or both.", { choices: ["delete", "compact"] }),
  def("log.cleaner.enable", "boolean", "true", "Run the log cleaner for compacted topics."),
  def("log.cleaner.backoff.ms", "long", "15000", "How often the log cleaner looks for work (ms).", { min: 0 }),
  def("log.cleaner.delete.retention.ms", "long", "86400000", "Keep tombstones this long (ms).", { min: 0 }),
  def("log.cleaner.min.compaction.lag.ms", "long", "0", "Leave messages this young uncompacted (ms).", { min: 0 }),
  def("log.cleaner.max.compaction.lag.ms", "long", LONG_MAX, "Compact messages this old (ms).", { min: 1 }),
  def("log.cleaner.min.cleanable.ratio", "double", "0.5", "Dirty ratio that triggers compaction.", {
    min: 0,
    max: 1,
  }),
  def("log.message.timestamp.type", "string", "CreateTime", "CreateTime or LogAppendTime.", {
    choices: ["CreateTime", "LogAppendTime"],
  }),
  def("log.message.timestamp.before.max.ms", "long", LONG_MAX, "Reject batches stamped this far in the past.", {
    min: 0,
  }),
  def("log.message.timestamp.after.max.ms", "long", "3600000", "Reject batches stamped this far in the future.", {
    min: 0,
  }),
  def("message.max.bytes", "int", "1048588", "Largest record batch accepted.", { min: 0 }),
  def("compression.type", "string", "producer", "Compression of stored batches; producer keeps the producer's.", {
    choices: ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"],
  }),
  def("min.insync.replicas", "int", "1", "Replicas that must acknowledge an acks=all produce.", { min: 1 }),
  def("unclean.leader.election.enable", "boolean", "false", "Allow out-of-sync replicas to become leader."),
  def("replica.lag.time.max.ms", "long", "30000", "A follower this far behind leaves the ISR (ms).", { min: 1 }),
  def(
    "leader.replication.throttled.rate",
    "long",
    LONG_MAX,
    "Bytes per second a leader sends to replicas a reassignment is adding (learners catching up).",
    { min: 1 },
  ),
  def("auto.leader.rebalance.enable", "boolean", "true", "Leaders hand partitions back to their preferred replicas."),
  def("leader.imbalance.check.interval.seconds", "long", "300", "How often leaders check the leader imbalance.", {
    min: 1,
  }),
  def("leader.imbalance.per.broker.percentage", "int", "10", "Leader imbalance a broker tolerates (percent).", {
    min: 0,
    max: 100,
  }),
  def("controlled.shutdown.enable", "boolean", "true", "Hand leaderships over and ask the controller before stopping."),
  def("replica.fetch.max.bytes", "int", "1048576", "Bytes a follower fetches per partition.", { min: 0 }),
  def("fetch.max.bytes", "int", "57671680", "Largest Fetch response.", { min: 1024 }),
  def("socket.request.max.bytes", "int", "104857600", "Largest request; a larger one closes the connection.", {
    min: 1,
  }),
  def(
    "queued.max.request.bytes",
    "long",
    "-1",
    "Stop reading requests while they hold this many bytes in all (-1: no bound).",
    { min: -1 },
  ),
  def("connections.max.idle.ms", "long", "600000", "Close connections idle this long (ms).", { min: 1 }),
  def("max.connections", "int", String(INT_MAX), "Most connections accepted at once.", { min: 0 }),
  def(
    "connection.queued.max.requests",
    "int",
    "64",
    "Samsa: stop reading a connection with this many requests unanswered.",
    {
      min: 1,
    },
  ),
  def(
    "connection.queued.max.bytes",
    "long",
    "33554432",
    "Samsa: stop reading a connection holding this many bytes of unsent responses.",
    {
      min: 1,
    },
  ),
  def("shutdown.timeout.ms", "long", "10000", "Samsa: how long shutdown waits for in-flight requests (ms).", {
    min: 0,
  }),
  def("offsets.topic.num.partitions", "int", "50", "Partitions of __consumer_offsets.", { min: 1 }),
  def(
    "offsets.topic.replication.factor",
    "short",
    "3",
    "Replication factor of __consumer_offsets in a cluster (a single node gives it one).",
    { min: 1 },
  ),
  def("offsets.topic.segment.bytes", "int", "104857600", "Segment size of __consumer_offsets.", { min: 1 }),
  def("offsets.retention.check.interval.ms", "long", "600000", "How often expired offsets are removed (ms).", {
    min: 1,
  }),
  def("offset.metadata.max.bytes", "int", "4096", "Largest metadata string of a committed offset."),
  def("offsets.retention.minutes", "int", "10080", "Keep committed offsets of empty groups this long.", { min: 1 }),
  def("offsets.commit.timeout.ms", "int", "5000", "How long an offset commit may wait for replication.", { min: 1 }),
  def("group.initial.rebalance.delay.ms", "int", "3000", "Wait this long for more members of a new group.", {
    min: 0,
  }),
  def(
    "group.consumer.assignors",
    "list",
    null,
    "KIP-848 consumer groups: server-side assignors, the first the default (uniform, range; default both).",
  ),
  def("group.min.session.timeout.ms", "int", "6000", "Shortest session timeout a member may ask for."),
  def("group.max.session.timeout.ms", "int", "1800000", "Longest session timeout a member may ask for."),
  def("group.max.size", "int", String(INT_MAX), "Most members of a consumer group.", { min: 1 }),
  def("log.level", "string", "info", "Samsa: least severe log level written (error, warn, info, debug).", {
    choices: ["error", "warn", "info", "debug"],
  }),
  def("log.format", "string", "logfmt", "Samsa: log line format, logfmt or json.", { choices: ["logfmt", "json"] }),
  def(
    "log.dir.failure.probe.initial.backoff.ms",
    "long",
    "1000",
    "Samsa: after a write in the log directory fails, probe it this long later (ms); doubles while probes fail.",
    { min: 1 },
  ),
  def(
    "log.dir.failure.probe.max.backoff.ms",
    "long",
    "30000",
    "Samsa: the longest wait between two probes of an offline log directory (ms).",
    { min: 1 },
  ),
]);

const BROKER_DEFS: ReadonlyMap<string, BrokerConfigDef> = new Map(BROKER_CONFIGS.map((d) => [d.name, d]));

/** Edits (insertions, deletions, substitutions) that turn `a` into `b` (Levenshtein distance). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The known broker key an unknown `key` was probably meant to be: the closest by edit distance, if it is within
 * a typo's reach (2 edits, 3 for names over 20 characters). A topic-level key set on the broker is pointed at
 * its broker synonym (`retention.ms` → `log.retention.ms`).
 *
 * @example
 * ```ts
 * import { suggestBrokerKey } from "./config.ts";
 * suggestBrokerKey("num.partition"); // "num.partitions"
 * suggestBrokerKey("retention.ms"); // "log.retention.ms"
 * suggestBrokerKey("samsa.shared"); // undefined
 * ```
 */
export function suggestBrokerKey(key: string): string | undefined {
  const synonym = topicConfigDef(key)?.synonyms[0]?.name;
  if (synonym !== undefined) return synonym;
  const reach = key.length > 20 ? 3 : 2;
  let best: { name: string; distance: number } | undefined;
  for (const name of BROKER_DEFS.keys()) {
    if (Math.abs(name.length - key.length) > reach) continue;
    const distance = editDistance(key.toLowerCase(), name);
    if (distance <= reach && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** The definition of broker key `name`, or undefined for a key Samsa does not know. */
export function brokerConfigDef(name: string): BrokerConfigDef | undefined {
  return BROKER_DEFS.get(name);
}

// ---------------------------------------------------------------------------------------------------------------
// Value parsing

/** A parsed value: number for int/short/long/double, boolean, string[] for list, string otherwise. */
export type ConfigValue = string | number | boolean | readonly string[];

const INTEGER = /^[+-]?\d+$/;

/**
 * Parses `raw` as `type` (Kafka's rules: surrounding spaces ignored except for passwords, booleans
 * case-insensitive, lists split on commas with empty entries dropped) and checks the limits. Returns the
 * value, or a string saying what is wrong. Longs come back as numbers: exact up to 2^53, and `LONG_MAX`
 * ("never") rounds to a number that still compares greater than any real time or count.
 *
 * @example
 * ```ts
 * import { parseConfigValue } from "./config.ts";
 * parseConfigValue("int", " 42 "); // 42
 * parseConfigValue("int", "4x"); // "expected an integer"
 * parseConfigValue("list", "a, b,,c"); // ["a", "b", "c"]
 * ```
 */
export function parseConfigValue(
  type: ConfigType,
  raw: string,
  limits: Pick<BrokerConfigDef, "min" | "max" | "choices"> = {},
): { readonly value: ConfigValue } | { readonly problem: string } {
  const text = type === "password" ? raw : raw.trim();
  switch (type) {
    case "boolean": {
      const t = text.toLowerCase();
      if (t === "true") return { value: true };
      if (t === "false") return { value: false };
      return { problem: "expected true or false" };
    }
    case "int":
    case "short":
    case "long": {
      if (!INTEGER.test(text)) return { problem: "expected an integer" };
      const big = BigInt(text);
      const bits = type === "short" ? 15n : type === "int" ? 31n : 63n;
      if (big < -(1n << bits) || big >= (1n << bits)) return { problem: `out of range for type ${type}` };
      const n = Number(big);
      return rangeResult(n, limits);
    }
    case "double": {
      const n = text === "" ? NaN : Number(text);
      if (!Number.isFinite(n)) return { problem: "expected a number" };
      return rangeResult(n, limits);
    }
    case "list": {
      const items = text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
      if (limits.choices !== undefined) {
        const bad = items.find((i) => !limits.choices!.includes(i));
        if (bad !== undefined) return { problem: `'${bad}' is not one of ${limits.choices.join(", ")}` };
      }
      return { value: items };
    }
    case "string":
    case "class":
    case "password":
      if (limits.choices !== undefined && !limits.choices.includes(text)) {
        return { problem: `expected one of ${limits.choices.join(", ")}` };
      }
      return { value: text };
  }
}

function rangeResult(n: number, limits: Pick<BrokerConfigDef, "min" | "max">): { value: number } | { problem: string } {
  const problem = checkRange(n, limits);
  return problem === undefined ? { value: n } : { problem };
}

function checkRange(n: number, limits: Pick<BrokerConfigDef, "min" | "max">): string | undefined {
  if (limits.min !== undefined && n < limits.min) return `must be at least ${limits.min}`;
  if (limits.max !== undefined && n > limits.max) return `must be at most ${limits.max}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Listeners

/** The security protocols Kafka names. Samsa serves only PLAINTEXT today. */
export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";

const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
const SUPPORTED_PROTOCOLS: readonly SecurityProtocol[] = ["PLAINTEXT"];

/** One entry of `listeners` or `advertised.listeners`. */
export interface ListenerConfig {
  /** The listener name, upper-cased (`PLAINTEXT`, `INTERNAL`). */
  readonly name: string;
  /** The security protocol, from `listener.security.protocol.map`. */
  readonly securityProtocol: SecurityProtocol;
  /** Host name or address without IPv6 brackets; empty means every interface. */
  readonly host: string;
  /** TCP port; 0 (in `listeners` only) asks the system for a free one. */
  readonly port: number;
}

/**
 * Parses a listener list (`PLAINTEXT://127.0.0.1:9092,INTERNAL://[::1]:9093`). Throws a ConfigError naming
 * `key` and `source` for a malformed entry, a bad port, a duplicate name or a protocol that is unknown or not
 * supported.
 *
 * @example
 * ```ts
 * import { DEFAULT_SOURCE, parseListeners } from "./config.ts";
 * parseListeners("PLAINTEXT://127.0.0.1:9092", "listeners", DEFAULT_SOURCE);
 * // [{ name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "127.0.0.1", port: 9092 }]
 * ```
 */
export function parseListeners(
  value: string,
  key: string,
  source: ConfigSource,
  protocolMap: ReadonlyMap<string, string> = defaultProtocolMap(),
  options: { allowPortZero?: boolean } = {},
): ListenerConfig[] {
  const where = `${key} (from ${describeSource(source)})`;
  const result: ListenerConfig[] = [];
  const items = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  for (const item of items) {
    const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:/[\]\s]*):([^:/]*)$/.exec(item);
    if (m === null) {
      throw new ConfigError(`${where}: '${item}' is not a listener; expected NAME://host:port`, key, source);
    }
    const name = m[1].toUpperCase();
    const host = m[2].startsWith("[") ? m[2].slice(1, -1) : m[2];
    const portText = m[3];
    const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
    const minPort = options.allowPortZero === false ? 1 : 0;
    if (!(port >= minPort && port <= 65535)) {
      throw new ConfigError(`${where}: listener ${name} has bad port '${portText}' (${minPort}..65535)`, key, source);
    }
    const protocol = protocolMap.get(name) ??
      (SECURITY_PROTOCOLS.includes(name as SecurityProtocol) ? name : undefined);
    if (protocol === undefined) {
      throw new ConfigError(
        `${where}: listener name ${name} has no security protocol; add ${name}:PLAINTEXT to ` +
          `listener.security.protocol.map or use a protocol as the name`,
        key,
        source,
      );
    }
    if (!SECURITY_PROTOCOLS.includes(protocol as SecurityProtocol)) {
      throw new ConfigError(`${where}: listener ${name} has unknown security protocol ${protocol}`, key, source);
    }
    if (!SUPPORTED_PROTOCOLS.includes(protocol as SecurityProtocol)) {
      throw new ConfigError(
        `${where}: listener ${name} uses ${protocol}, which Samsa does not support yet (only PLAINTEXT)`,
        key,
        source,
      );
    }
    if (result.some((l) => l.name === name)) {
      throw new ConfigError(`${where}: listener name ${name} appears twice`, key, source);
    }
    result.push(Object.freeze({ name, securityProtocol: protocol as SecurityProtocol, host, port }));
  }
  return result;
}

function defaultProtocolMap(): Map<string, string> {
  return new Map(SECURITY_PROTOCOLS.map((p) => [p, p]));
}

/**
 * Parses `listener.security.protocol.map` (`NAME:PROTOCOL,...`) into a map with upper-cased names.
 *
 * @example
 * ```ts
 * import { DEFAULT_SOURCE, parseProtocolMap } from "./config.ts";
 * parseProtocolMap("INTERNAL:PLAINTEXT", "listener.security.protocol.map", DEFAULT_SOURCE).get("INTERNAL");
 * // "PLAINTEXT"
 * ```
 */
export function parseProtocolMap(value: string, key: string, source: ConfigSource): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of value.split(",").map((s) => s.trim()).filter((s) => s.length > 0)) {
    const m = /^([A-Za-z0-9_]+)\s*:\s*([A-Za-z0-9_]+)$/.exec(item);
    if (m === null) {
      throw new ConfigError(
        `${key} (from ${describeSource(source)}): '${item}' is not NAME:PROTOCOL`,
        key,
        source,
      );
    }
    const protocol = m[2].toUpperCase();
    if (!SECURITY_PROTOCOLS.includes(protocol as SecurityProtocol)) {
      throw new ConfigError(
        `${key} (from ${describeSource(source)}): unknown security protocol ${m[2]} for ${m[1]}`,
        key,
        source,
      );
    }
    map.set(m[1].toUpperCase(), protocol);
  }
  return map;
}

// ---------------------------------------------------------------------------------------------------------------
// The broker configuration

/** A key's effective value and its source. */
export interface ConfigEntry {
  /** The property name. */
  readonly key: string;
  /** The raw value, or null for a known key with no default that nobody set. */
  readonly value: string | null;
  /** Where the value came from. */
  readonly source: ConfigSource;
  /** The definition, for known keys. */
  readonly definition: BrokerConfigDef | undefined;
}

/**
 * The broker's effective configuration: every known key (set or defaulted) and every unknown key that was
 * set. Built once at startup and then read-only.
 *
 * @example
 * ```ts
 * import { BrokerConfig } from "./config.ts";
 * const config = BrokerConfig.from([
 *   { key: "log.dirs", value: "/var/lib/samsa", source: { kind: "env", variable: "SAMSA_LOG_DIRS" } },
 * ]);
 * config.logDirs; // ["/var/lib/samsa"]
 * config.getInt("num.partitions"); // 1
 * config.logRetentionMs; // 604800000
 * ```
 */
export class BrokerConfig {
  readonly #values: Map<string, { value: string; source: ConfigSource }>;
  readonly #parsed = new Map<string, ConfigValue>();
  readonly #listeners: readonly ListenerConfig[];
  readonly #advertised: readonly ListenerConfig[] | undefined;

  private constructor(values: Map<string, { value: string; source: ConfigSource }>) {
    this.#values = values;
    for (const d of BROKER_CONFIGS) {
      const entry = values.get(d.name);
      if (entry === undefined) continue;
      const parsed = parseConfigValue(d.type, entry.value, d);
      if ("problem" in parsed) throw badValue(d.name, entry.value, entry.source, parsed.problem);
      this.#parsed.set(d.name, parsed.value);
    }
    this.#checkLogDirs();
    const mapEntry = values.get("listener.security.protocol.map")!;
    const protocolMap = parseProtocolMap(mapEntry.value, "listener.security.protocol.map", mapEntry.source);
    if (mapEntry.source.kind === "default") {
      // As Kafka's effective map: controller listeners not in a default map are PLAINTEXT.
      const names = values.get("controller.listener.names")?.value.split(",").map((n) => n.trim()) ?? [];
      for (const n of names) if (n !== "" && !protocolMap.has(n)) protocolMap.set(n, "PLAINTEXT");
    }
    const l = values.get("listeners")!;
    this.#listeners = Object.freeze(parseListeners(l.value, "listeners", l.source, protocolMap));
    if (this.#listeners.length === 0) {
      throw new ConfigError(
        `listeners (from ${describeSource(l.source)}): at least one listener is needed`,
        "listeners",
        l.source,
      );
    }
    const a = values.get("advertised.listeners");
    if (a !== undefined) {
      const advertised = parseListeners(a.value, "advertised.listeners", a.source, protocolMap, {
        allowPortZero: false,
      });
      for (const ad of advertised) {
        if (!this.#listeners.some((x) => x.name === ad.name)) {
          throw new ConfigError(
            `advertised.listeners (from ${describeSource(a.source)}): listener ${ad.name} is not in listeners`,
            "advertised.listeners",
            a.source,
          );
        }
      }
      this.#advertised = Object.freeze(advertised);
    }
  }

  /**
   * Builds the configuration from settings in increasing precedence (a later setting of a key wins) over the
   * built-in defaults. Throws ConfigError for the first bad value.
   */
  static from(settings: Iterable<ConfigSetting>): BrokerConfig {
    const values = new Map<string, { value: string; source: ConfigSource }>();
    for (const d of BROKER_CONFIGS) {
      if (d.default !== null) values.set(d.name, { value: d.default, source: DEFAULT_SOURCE });
    }
    for (const s of settings) values.set(s.key, { value: s.value, source: s.source });
    return new BrokerConfig(values);
  }

  /** The raw effective value of `key`, or undefined when it is neither set nor defaulted. */
  get(key: string): string | undefined {
    return this.#values.get(key)?.value;
  }

  /** Where the value of `key` came from (`default` for keys not set at all). */
  source(key: string): ConfigSource {
    return this.#values.get(key)?.source ?? DEFAULT_SOURCE;
  }

  /** True when `key` was given by a file, the environment or a flag, not left to its default. */
  isSet(key: string): boolean {
    const s = this.#values.get(key)?.source;
    return s !== undefined && s.kind !== "default";
  }

  /** The value of `key` as a string; throws ConfigError when unset. */
  getString(key: string): string {
    return this.#typed(key, "string") as string;
  }

  /** The value of `key` as a 32-bit integer; throws ConfigError when unset or not an int. */
  getInt(key: string): number {
    return this.#typed(key, "int") as number;
  }

  /** The value of `key` as a 64-bit integer (see `parseConfigValue` on precision). */
  getLong(key: string): number {
    return this.#typed(key, "long") as number;
  }

  /** The value of `key` as a floating-point number. */
  getDouble(key: string): number {
    return this.#typed(key, "double") as number;
  }

  /** The value of `key` as a boolean. */
  getBoolean(key: string): boolean {
    return this.#typed(key, "boolean") as boolean;
  }

  /** The value of `key` as a comma-separated list. */
  getList(key: string): readonly string[] {
    return this.#typed(key, "list") as readonly string[];
  }

  /** The value of `key` as a number, or undefined when it is unset (for keys without a default). */
  getOptionalLong(key: string): number | undefined {
    return this.#values.has(key) ? this.getLong(key) : undefined;
  }

  /** Kafka requires at least one log directory: `log.dirs=` (or an empty `log.dir`) is a bad setting. */
  #checkLogDirs(): void {
    const key = !this.isSet("log.dirs") && this.isSet("log.dir") ? "log.dir" : "log.dirs";
    const dirs = key === "log.dir" ? [this.getString("log.dir")] : this.getList("log.dirs");
    if (dirs.length === 0 || dirs.some((d) => d === "")) {
      const entry = this.#values.get(key)!;
      throw badValue(key, entry.value, entry.source, "at least one log directory is needed");
    }
  }

  /** Every known key (with its value or null) followed by every unknown key that was set, in name order. */
  entries(): ConfigEntry[] {
    const out: ConfigEntry[] = [];
    for (const d of BROKER_CONFIGS) {
      const e = this.#values.get(d.name);
      out.push({ key: d.name, value: e?.value ?? null, source: e?.source ?? DEFAULT_SOURCE, definition: d });
    }
    for (const key of this.unknownKeys()) {
      const e = this.#values.get(key)!;
      out.push({ key, value: e.value, source: e.source, definition: undefined });
    }
    return out.sort((x, y) => x.key < y.key ? -1 : x.key > y.key ? 1 : 0);
  }

  /** The keys that were set but are not broker keys Samsa knows, sorted. */
  unknownKeys(): string[] {
    return [...this.#values.keys()].filter((k) => !BROKER_DEFS.has(k)).sort();
  }

  #typed(key: string, type: ConfigType): ConfigValue {
    const cached = this.#parsed.get(key);
    const d = BROKER_DEFS.get(key);
    if (cached !== undefined && (d === undefined || sameKind(d.type, type))) return cached;
    const entry = this.#values.get(key);
    if (entry === undefined) throw new ConfigError(`${key} is not set`, key);
    const parsed = parseConfigValue(type, entry.value, d ?? {});
    if ("problem" in parsed) throw badValue(key, entry.value, entry.source, parsed.problem);
    return parsed.value;
  }

  // --- Typed views of the keys the broker reads most.

  /** `node.id`. */
  get nodeId(): number {
    return this.getInt("node.id");
  }

  /** `cluster.id`, or undefined when it is to be generated. */
  get clusterId(): string | undefined {
    const v = this.get("cluster.id")?.trim();
    return v === undefined || v === "" ? undefined : v;
  }

  /** `listeners`, parsed. */
  get listeners(): readonly ListenerConfig[] {
    return this.#listeners;
  }

  /**
   * `advertised.listeners`, or `listeners` when unset. Entries copied from `listeners` may have port 0 or an
   * empty host: the broker replaces them with the bound port and a reachable host.
   */
  get advertisedListeners(): readonly ListenerConfig[] {
    return this.#advertised ?? this.#listeners;
  }

  /** `log.dirs`, or `log.dir` when only that one was given. */
  get logDirs(): readonly string[] {
    if (!this.isSet("log.dirs") && this.isSet("log.dir")) return [this.getString("log.dir")];
    return this.getList("log.dirs");
  }

  /** `num.partitions`. */
  get numPartitions(): number {
    return this.getInt("num.partitions");
  }

  /** `default.replication.factor`. */
  get defaultReplicationFactor(): number {
    return this.getInt("default.replication.factor");
  }

  /** `auto.create.topics.enable`. */
  get autoCreateTopicsEnable(): boolean {
    return this.getBoolean("auto.create.topics.enable");
  }

  /** `socket.request.max.bytes`. */
  get socketRequestMaxBytes(): number {
    return this.getInt("socket.request.max.bytes");
  }

  /** `message.max.bytes`. */
  get messageMaxBytes(): number {
    return this.getInt("message.max.bytes");
  }

  /** `log.segment.bytes`. */
  get logSegmentBytes(): number {
    return this.getInt("log.segment.bytes");
  }

  /** Segment roll age: `log.roll.ms`, else `log.roll.hours` in ms. */
  get logRollMs(): number {
    return this.getOptionalLong("log.roll.ms") ?? this.getInt("log.roll.hours") * 3_600_000;
  }

  /**
   * Retention age: `log.retention.ms`, else `log.retention.minutes`, else `log.retention.hours`, in ms; -1
   * (any negative value) keeps data forever, as in Kafka.
   */
  get logRetentionMs(): number {
    const ms = this.getOptionalLong("log.retention.ms") ??
      (this.#values.has("log.retention.minutes")
        ? this.getInt("log.retention.minutes") * 60_000
        : this.getInt("log.retention.hours") * 3_600_000);
    return ms < 0 ? -1 : ms;
  }

  /** `log.retention.bytes`; -1 means no size limit. */
  get logRetentionBytes(): number {
    return this.getLong("log.retention.bytes");
  }

  /** `log.flush.interval.messages`. */
  get logFlushIntervalMessages(): number {
    return this.getLong("log.flush.interval.messages");
  }

  /** `log.flush.interval.ms`, else `log.flush.scheduler.interval.ms`. */
  get logFlushIntervalMs(): number {
    return this.getOptionalLong("log.flush.interval.ms") ?? this.getLong("log.flush.scheduler.interval.ms");
  }

  /** `log.cleanup.policy`. */
  get logCleanupPolicy(): readonly string[] {
    return this.getList("log.cleanup.policy");
  }

  /** `log.message.timestamp.type`. */
  get logMessageTimestampType(): "CreateTime" | "LogAppendTime" {
    return this.getString("log.message.timestamp.type") as "CreateTime" | "LogAppendTime";
  }

  /** `offsets.topic.num.partitions`. */
  get offsetsTopicNumPartitions(): number {
    return this.getInt("offsets.topic.num.partitions");
  }

  /** `group.initial.rebalance.delay.ms`. */
  get groupInitialRebalanceDelayMs(): number {
    return this.getInt("group.initial.rebalance.delay.ms");
  }

  /** `queued.max.request.bytes`: the bound on request bytes in flight; 0 or less is no bound, as in Kafka. */
  get queuedMaxRequestBytes(): number {
    return this.getLong("queued.max.request.bytes");
  }

  /** `connection.queued.max.requests` (Samsa). */
  get connectionQueuedMaxRequests(): number {
    return this.getInt("connection.queued.max.requests");
  }

  /** `connection.queued.max.bytes` (Samsa). */
  get connectionQueuedMaxBytes(): number {
    return this.getLong("connection.queued.max.bytes");
  }

  /** `connections.max.idle.ms`. */
  get connectionsMaxIdleMs(): number {
    return this.getLong("connections.max.idle.ms");
  }

  /** `max.connections`. */
  get maxConnections(): number {
    return this.getInt("max.connections");
  }

  /** `shutdown.timeout.ms` (Samsa). */
  get shutdownTimeoutMs(): number {
    return this.getLong("shutdown.timeout.ms");
  }

  /** `log.level` (Samsa). */
  get logLevel(): "error" | "warn" | "info" | "debug" {
    return this.getString("log.level") as "error" | "warn" | "info" | "debug";
  }

  /** `log.format` (Samsa). */
  get logFormat(): "logfmt" | "json" {
    return this.getString("log.format") as "logfmt" | "json";
  }
}

function sameKind(a: ConfigType, b: ConfigType): boolean {
  const numeric = (t: ConfigType) => t === "int" || t === "short" || t === "long" || t === "double";
  const text = (t: ConfigType) => t === "string" || t === "class" || t === "password";
  return a === b || (numeric(a) && numeric(b) && b !== "int") || (text(a) && text(b)) ||
    (a === "short" && b === "int");
}

function badValue(key: string, value: string, source: ConfigSource, problem: string): ConfigError {
  return new ConfigError(
    `Invalid value '${value}' for ${key} (from ${describeSource(source)}): ${problem}`,
    key,
    source,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Sources: properties files, environment, flags

/**
 * Parses Java properties text, the format of Kafka's `server.properties`: `#` and `!` start comment lines,
 * the key ends at the first unescaped `=`, `:` or whitespace, a line ending in an odd number of backslashes
 * continues on the next (whose leading whitespace is dropped), and `\t \n \r \f \uXXXX` are escapes (any other
 * escaped character stands for itself). Later duplicates win when the settings are applied.
 *
 * @example
 * ```ts
 * import { parseProperties } from "./config.ts";
 * parseProperties("# broker\nlog.dirs = /a,\\\n    /b\n", "server.properties");
 * // [{ key: "log.dirs", value: "/a,/b", source: { kind: "file", path: "server.properties", line: 2 } }]
 * ```
 */
export function parseProperties(text: string, path: string): ConfigSetting[] {
  const lines = text.split(/\r\n|\r|\n/);
  const out: ConfigSetting[] = [];
  let i = 0;
  while (i < lines.length) {
    const startLine = i + 1;
    let line = stripLeadingSpace(lines[i]);
    i++;
    if (line === "" || line[0] === "#" || line[0] === "!") continue;
    // Join continuation lines: an odd run of trailing backslashes escapes the line end.
    while (endsWithOddBackslashes(line) && i <= lines.length) {
      line = line.slice(0, -1);
      if (i === lines.length) break;
      line += stripLeadingSpace(lines[i]);
      i++;
    }
    const { key, value } = splitProperty(line, path, startLine);
    out.push({ key, value, source: { kind: "file", path, line: startLine } });
  }
  return out;
}

function stripLeadingSpace(s: string): string {
  let k = 0;
  while (k < s.length && (s[k] === " " || s[k] === "\t" || s[k] === "\f")) k++;
  return s.slice(k);
}

function endsWithOddBackslashes(s: string): boolean {
  let n = 0;
  for (let k = s.length - 1; k >= 0 && s[k] === "\\"; k--) n++;
  return n % 2 === 1;
}

function splitProperty(line: string, path: string, lineNo: number): { key: string; value: string } {
  let k = 0;
  while (k < line.length) {
    const c = line[k];
    if (c === "\\") {
      k += 2;
      continue;
    }
    if (c === "=" || c === ":" || c === " " || c === "\t" || c === "\f") break;
    k++;
  }
  const rawKey = line.slice(0, Math.min(k, line.length));
  let v = k;
  while (v < line.length && (line[v] === " " || line[v] === "\t" || line[v] === "\f")) v++;
  if (v < line.length && (line[v] === "=" || line[v] === ":")) v++;
  while (v < line.length && (line[v] === " " || line[v] === "\t" || line[v] === "\f")) v++;
  return { key: unescape(rawKey, path, lineNo), value: unescape(line.slice(v), path, lineNo) };
}

function unescape(s: string, path: string, lineNo: number): string {
  if (!s.includes("\\")) return s;
  let out = "";
  for (let k = 0; k < s.length; k++) {
    const c = s[k];
    if (c !== "\\") {
      out += c;
      continue;
    }
    k++;
    if (k >= s.length) break;
    const e = s[k];
    if (e === "t") out += "\t";
    else if (e === "n") out += "\n";
    else if (e === "r") out += "\r";
    else if (e === "f") out += "\f";
    else if (e === "u") {
      const hex = s.slice(k + 1, k + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        throw new ConfigError(
          `config file ${path} line ${lineNo}: malformed \\uXXXX escape '\\u${hex}'`,
          undefined,
          { kind: "file", path, line: lineNo },
        );
      }
      out += String.fromCharCode(parseInt(hex, 16));
      k += 4;
    } else out += e;
  }
  return out;
}

/** The prefix of environment variables that set configuration. */
export const ENV_PREFIX = "SAMSA_";

/**
 * The key an environment variable sets, or undefined when it does not start with `SAMSA_`. After the prefix,
 * the name is lower-cased and `_` becomes `.`; as in Kafka's container images, `__` stands for `_` and `___`
 * for `-`.
 *
 * @example
 * ```ts
 * import { envVariableToKey } from "./config.ts";
 * envVariableToKey("SAMSA_LOG_DIRS"); // "log.dirs"
 * envVariableToKey("SAMSA_LISTENER_NAME_INTERNAL_SSL__CLIENT__AUTH"); // "listener.name.internal.ssl_client_auth"
 * envVariableToKey("HOME"); // undefined
 * ```
 */
export function envVariableToKey(name: string): string | undefined {
  if (!name.startsWith(ENV_PREFIX) || name.length === ENV_PREFIX.length) return undefined;
  return name.slice(ENV_PREFIX.length).toLowerCase().replace(
    /_{1,3}/g,
    (u) => u.length === 1 ? "." : u.length === 2 ? "_" : "-",
  );
}

/**
 * The settings given by environment variables (`SAMSA_*`), in name order.
 *
 * @example
 * ```ts
 * import { settingsFromEnv } from "./config.ts";
 * settingsFromEnv({ SAMSA_NUM_PARTITIONS: "3", PATH: "/bin" });
 * // [{ key: "num.partitions", value: "3", source: { kind: "env", variable: "SAMSA_NUM_PARTITIONS" } }]
 * ```
 */
export function settingsFromEnv(env: Readonly<Record<string, string>>): ConfigSetting[] {
  const out: ConfigSetting[] = [];
  for (const variable of Object.keys(env).sort()) {
    const key = envVariableToKey(variable);
    if (key !== undefined) out.push({ key, value: env[variable], source: { kind: "env", variable } });
  }
  return out;
}

/**
 * Parses one `--set key=value` argument (split at the first `=`; the value may contain more).
 *
 * @example
 * ```ts
 * import { parseSetFlag } from "./config.ts";
 * parseSetFlag("listeners=PLAINTEXT://127.0.0.1:0").value; // "PLAINTEXT://127.0.0.1:0"
 * ```
 */
export function parseSetFlag(arg: string): ConfigSetting {
  const eq = arg.indexOf("=");
  const key = eq < 0 ? "" : arg.slice(0, eq).trim();
  if (key === "") {
    throw new ConfigError(`--set '${arg}': expected key=value`, undefined, { kind: "flag", flag: `--set ${arg}` });
  }
  return { key, value: arg.slice(eq + 1), source: { kind: "flag", flag: `--set ${arg}` } };
}

/** What `loadBrokerConfig` reads. */
export interface LoadConfigOptions {
  /** A properties file (`--config`), read with `Deno.readTextFile`. */
  configFile?: string;
  /** The environment; default `Deno.env.toObject()`. */
  env?: Readonly<Record<string, string>>;
  /** `--set key=value` arguments, in command-line order. */
  sets?: readonly string[];
}

/**
 * Builds the broker configuration from defaults < file < environment < `--set` flags. Throws ConfigError when
 * the file cannot be read or a value is bad.
 *
 * @example
 * ```ts
 * import { loadBrokerConfig } from "./config.ts";
 * const config = await loadBrokerConfig({ env: {}, sets: ["num.partitions=3"] });
 * config.numPartitions; // 3
 * ```
 */
export async function loadBrokerConfig(options: LoadConfigOptions = {}): Promise<BrokerConfig> {
  const settings: ConfigSetting[] = [];
  if (options.configFile !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(options.configFile);
    } catch (e) {
      throw new ConfigError(`cannot read config file ${options.configFile}: ${(e as Error).message}`);
    }
    settings.push(...parseProperties(text, options.configFile));
  }
  settings.push(...settingsFromEnv(options.env ?? Deno.env.toObject()));
  for (const arg of options.sets ?? []) settings.push(parseSetFlag(arg));
  return BrokerConfig.from(settings);
}

// ---------------------------------------------------------------------------------------------------------------
// Topic-level configuration

/** A broker key a topic key inherits from, and the factor that turns its unit into the topic key's. */
export interface BrokerSynonym {
  /** The broker key, e.g. `log.retention.hours`. */
  readonly name: string;
  /** Multiply the broker value by this to get the topic value (3600000 for hours to ms); default 1. */
  readonly scale?: number;
}

/** A topic-level configuration key (Kafka's `TopicConfig`). */
export interface TopicConfigDef {
  /** The topic key, e.g. `retention.ms`. */
  readonly name: string;
  /** How the value is parsed. */
  readonly type: ConfigType;
  /** Kafka's default when no broker synonym has a value. */
  readonly default: string;
  /** Broker keys this key inherits from, most specific first (the first with a value wins). */
  readonly synonyms: readonly BrokerSynonym[];
  /** Never shown in DescribeConfigs. */
  readonly sensitive: boolean;
  /** Not alterable by AlterConfigs. */
  readonly readOnly: boolean;
  /** One line for operators. */
  readonly doc: string;
  /** Least allowed value, for numeric types. */
  readonly min?: number;
  /** Greatest allowed value, for numeric types. */
  readonly max?: number;
  /** Allowed values (case-sensitive), for string and list types. */
  readonly choices?: readonly string[];
}

function topic(
  name: string,
  type: ConfigType,
  dflt: string,
  synonyms: readonly BrokerSynonym[],
  doc: string,
  extra: Partial<Pick<TopicConfigDef, "min" | "max" | "choices">> = {},
): TopicConfigDef {
  return Object.freeze({ name, type, default: dflt, synonyms, sensitive: false, readOnly: false, doc, ...extra });
}

const HOUR = 3_600_000;

/** The topic-level keys Samsa knows, in name order, with the broker keys they default from. */
export const TOPIC_CONFIGS: readonly TopicConfigDef[] = Object.freeze([
  topic("cleanup.policy", "list", "delete", [{ name: "log.cleanup.policy" }], "delete, compact, or both.", {
    choices: ["delete", "compact"],
  }),
  topic("compression.type", "string", "producer", [{ name: "compression.type" }], "Compression of stored batches.", {
    choices: ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"],
  }),
  topic(
    "delete.retention.ms",
    "long",
    "86400000",
    [{ name: "log.cleaner.delete.retention.ms" }],
    "Keep tombstones this long.",
    {
      min: 0,
    },
  ),
  topic(
    "file.delete.delay.ms",
    "long",
    "60000",
    [{ name: "log.segment.delete.delay.ms" }],
    "Delay before deleting files.",
    {
      min: 0,
    },
  ),
  topic(
    "flush.messages",
    "long",
    LONG_MAX,
    [{ name: "log.flush.interval.messages" }],
    "Fsync after this many messages.",
    {
      min: 1,
    },
  ),
  topic(
    "flush.ms",
    "long",
    LONG_MAX,
    [{ name: "log.flush.interval.ms" }, { name: "log.flush.scheduler.interval.ms" }],
    "Fsync data this old.",
    { min: 0 },
  ),
  topic("index.interval.bytes", "int", "4096", [{ name: "log.index.interval.bytes" }], "Bytes between index entries.", {
    min: 0,
  }),
  topic(
    "max.compaction.lag.ms",
    "long",
    LONG_MAX,
    [{ name: "log.cleaner.max.compaction.lag.ms" }],
    "Compact by this age.",
    {
      min: 1,
    },
  ),
  topic("max.message.bytes", "int", "1048588", [{ name: "message.max.bytes" }], "Largest record batch accepted.", {
    min: 0,
  }),
  topic(
    "message.timestamp.after.max.ms",
    "long",
    "3600000",
    [{ name: "log.message.timestamp.after.max.ms" }],
    "Reject batches stamped this far in the future.",
    { min: 0 },
  ),
  topic(
    "message.timestamp.before.max.ms",
    "long",
    LONG_MAX,
    [{ name: "log.message.timestamp.before.max.ms" }],
    "Reject batches stamped this far in the past.",
    { min: 0 },
  ),
  topic(
    "message.timestamp.type",
    "string",
    "CreateTime",
    [{ name: "log.message.timestamp.type" }],
    "CreateTime or LogAppendTime.",
    { choices: ["CreateTime", "LogAppendTime"] },
  ),
  topic(
    "min.cleanable.dirty.ratio",
    "double",
    "0.5",
    [{ name: "log.cleaner.min.cleanable.ratio" }],
    "Dirty ratio that triggers compaction.",
    { min: 0, max: 1 },
  ),
  topic("min.compaction.lag.ms", "long", "0", [{ name: "log.cleaner.min.compaction.lag.ms" }], "Leave young data.", {
    min: 0,
  }),
  topic("min.insync.replicas", "int", "1", [{ name: "min.insync.replicas" }], "Replicas needed for acks=all.", {
    min: 1,
  }),
  topic("preallocate", "boolean", "false", [{ name: "log.preallocate" }], "Preallocate segment files."),
  topic("retention.bytes", "long", "-1", [{ name: "log.retention.bytes" }], "Size limit per partition; -1: none."),
  topic(
    "retention.ms",
    "long",
    "604800000",
    [{ name: "log.retention.ms" }, { name: "log.retention.minutes", scale: 60_000 }, {
      name: "log.retention.hours",
      scale: HOUR,
    }],
    "Delete data older than this; -1: keep forever.",
  ),
  topic("segment.bytes", "int", "1073741824", [{ name: "log.segment.bytes" }], "Largest segment file.", { min: 14 }),
  topic("segment.index.bytes", "int", "10485760", [{ name: "log.index.size.max.bytes" }], "Largest index file.", {
    min: 4,
  }),
  topic(
    "segment.jitter.ms",
    "long",
    "0",
    [{ name: "log.roll.jitter.ms" }, { name: "log.roll.jitter.hours", scale: HOUR }],
    "Random jitter subtracted from segment.ms.",
    { min: 0 },
  ),
  topic(
    "segment.ms",
    "long",
    "604800000",
    [{ name: "log.roll.ms" }, { name: "log.roll.hours", scale: HOUR }],
    "Roll a segment this old.",
    { min: 1 },
  ),
  topic(
    "unclean.leader.election.enable",
    "boolean",
    "false",
    [{ name: "unclean.leader.election.enable" }],
    "Allow out-of-sync replicas to become leader.",
  ),
]);

const TOPIC_DEFS: ReadonlyMap<string, TopicConfigDef> = new Map(TOPIC_CONFIGS.map((d) => [d.name, d]));

/** The definition of topic key `name`, or undefined for a name Kafka topics do not have. */
export function topicConfigDef(name: string): TopicConfigDef | undefined {
  return TOPIC_DEFS.get(name);
}

/**
 * Why `value` cannot be set as topic config `name` (unknown name, bad type, out of range), or undefined when
 * it can. CreateTopics and AlterConfigs answer INVALID_CONFIG with this message.
 *
 * @example
 * ```ts
 * import { topicConfigProblem } from "./config.ts";
 * topicConfigProblem("retention.ms", "1000"); // undefined
 * topicConfigProblem("cleanup.policy", "shred"); // "Invalid value shred for configuration cleanup.policy: ..."
 * topicConfigProblem("retention.hours", "1"); // "Unknown topic config name: retention.hours"
 * ```
 */
export function topicConfigProblem(name: string, value: string | null): string | undefined {
  const d = TOPIC_DEFS.get(name);
  if (d === undefined) return `Unknown topic config name: ${name}`;
  if (value === null) return `Null value not supported for topic config: ${name}`;
  const parsed = parseConfigValue(d.type, value, d);
  if (!("problem" in parsed)) return undefined;
  return `Invalid value ${value} for configuration ${name}: ${kafkaTypeProblem(d.type, value) ?? parsed.problem}`;
}

/**
 * Kafka's ConfigDef text for a value that is not of its key's type (what `kafka-configs` prints for
 * `retention.ms=soon`), or undefined when the type fits and the problem is another (a range, a choice).
 */
function kafkaTypeProblem(type: ConfigType, value: string): string | undefined {
  const text = value.trim();
  switch (type) {
    case "boolean":
      return /^(true|false)$/i.test(text) ? undefined : "Expected value to be either true or false";
    case "int":
    case "short":
    case "long":
      return INTEGER.test(text) ? undefined : `Not a number of type ${type.toUpperCase()}`;
    case "double":
      return text !== "" && Number.isFinite(Number(text)) ? undefined : "Not a number of type DOUBLE";
    default:
      return undefined;
  }
}

/** A topic key's effective value, as DescribeConfigs reports it. */
export interface TopicConfigEntry {
  /** The topic key. */
  readonly name: string;
  /** The effective value. */
  readonly value: string;
  /** `topic` when set on the topic, `static_broker` when inherited from a broker key that was set, else `default`. */
  readonly source: "topic" | "static_broker" | "default";
  /** The value's chain, most specific first: the topic override, then broker keys that have a value. */
  readonly synonyms: readonly { name: string; value: string; source: "topic" | "static_broker" | "default" }[];
  /** The definition. */
  readonly definition: TopicConfigDef;
}

/**
 * The effective value of every topic key for a topic with `overrides` on a broker with `broker` config, in
 * name order. Overrides are assumed valid (check them with `topicConfigProblem` first).
 *
 * @example
 * ```ts
 * import { BrokerConfig, effectiveTopicConfig } from "./config.ts";
 * const entries = effectiveTopicConfig(BrokerConfig.from([]), { "cleanup.policy": "compact" });
 * entries.find((e) => e.name === "retention.ms")?.value; // "604800000" (from log.retention.hours=168)
 * entries.find((e) => e.name === "cleanup.policy")?.source; // "topic"
 * ```
 */
export function effectiveTopicConfig(
  broker: BrokerConfig,
  overrides: Readonly<Record<string, string>> = {},
): TopicConfigEntry[] {
  return TOPIC_CONFIGS.map((d) => {
    const synonyms: { name: string; value: string; source: "topic" | "static_broker" | "default" }[] = [];
    if (Object.hasOwn(overrides, d.name)) synonyms.push({ name: d.name, value: overrides[d.name], source: "topic" });
    for (const s of d.synonyms) {
      const v = broker.get(s.name);
      if (v === undefined) continue;
      synonyms.push({ name: s.name, value: v, source: broker.isSet(s.name) ? "static_broker" : "default" });
    }
    const first = synonyms[0];
    if (first === undefined) {
      return { name: d.name, value: d.default, source: "default" as const, synonyms, definition: d };
    }
    let value = first.value.trim();
    if (first.source !== "topic") {
      const scale = d.synonyms.find((s) => s.name === first.name)?.scale ?? 1;
      if (scale !== 1) value = String(BigInt(value) * BigInt(scale));
    }
    return { name: d.name, value, source: first.source, synonyms, definition: d };
  });
}
