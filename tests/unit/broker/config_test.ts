/**
 * Broker configuration: the properties-file format, the precedence of sources, typed values with errors that
 * name the key and the source, listeners, the topic-level table, and the logger that `log.level` and
 * `log.format` select.
 */
import assert from "node:assert/strict";
import {
  BROKER_CONFIGS,
  BrokerConfig,
  ConfigError,
  type ConfigSetting,
  effectiveTopicConfig,
  envVariableToKey,
  loadBrokerConfig,
  parseListeners,
  parseProperties,
  parseSetFlag,
  settingsFromEnv,
  suggestBrokerKey,
  TOPIC_CONFIGS,
  topicConfigDef,
  topicConfigProblem,
} from "../../../broker/config.ts";
import { createLogger, formatLogLine, parseLogLevel } from "../../../broker/logger.ts";

const flag = (key: string, value: string): ConfigSetting => ({
  key,
  value,
  source: { kind: "flag", flag: `--set ${key}=${value}` },
});

function keyValues(text: string): [string, string][] {
  return parseProperties(text, "test.properties").map((s) => [s.key, s.value]);
}

// ---------------------------------------------------------------------------------------------------------------
// Properties files

Deno.test("properties: # and ! comment lines and blank lines are skipped", () => {
  assert.deepEqual(keyValues("# a comment\n! another\n\n   \n  # indented comment\na=1\n"), [["a", "1"]]);
});

Deno.test("properties: '=', ':' and whitespace all separate key from value, with spaces around them dropped", () => {
  assert.deepEqual(keyValues("a=1\nb = 2\nc:3\nd : 4\ne 5\nf\t\t6\n  g=7"), [
    ["a", "1"],
    ["b", "2"],
    ["c", "3"],
    ["d", "4"],
    ["e", "5"],
    ["f", "6"],
    ["g", "7"],
  ]);
});

Deno.test("properties: a value keeps later separators and trailing spaces; a key alone has an empty value", () => {
  assert.deepEqual(keyValues("url=http://x:1/a=b \nlonely\nempty="), [["url", "http://x:1/a=b "], ["lonely", ""], [
    "empty",
    "",
  ]]);
});

Deno.test("properties: a line ending in an odd number of backslashes continues, without the next line's indent", () => {
  const text = "listeners=PLAINTEXT://127.0.0.1:9092,\\\n          INTERNAL://127.0.0.1:9093\nnext=1\n";
  assert.deepEqual(keyValues(text), [["listeners", "PLAINTEXT://127.0.0.1:9092,INTERNAL://127.0.0.1:9093"], [
    "next",
    "1",
  ]]);
  assert.deepEqual(keyValues("a=x\\\\\nb=y"), [["a", "x\\"], ["b", "y"]], "an even run is an escaped backslash");
  assert.deepEqual(keyValues("a=1\\\n  2\\\n  3"), [["a", "123"]], "several continuations");
  assert.deepEqual(keyValues("a=end\\"), [["a", "end"]], "a continuation at end of file ends the value");
});

Deno.test("properties: escapes \\t \\n \\r \\f \\uXXXX and escaped separators in keys", () => {
  assert.deepEqual(keyValues("a=tab\\there\nb=line\\nbreak\nc=\\u0041\\u00e9\nd\\=e\\:f\\ g=h\ni=\\q\\#"), [
    ["a", "tab\there"],
    ["b", "line\nbreak"],
    ["c", "A\u00e9"],
    ["d=e:f g", "h"],
    ["i", "q#"],
  ]);
});

Deno.test("properties: a malformed \\u escape is an error naming the file and line", () => {
  assert.throws(
    () => parseProperties("ok=1\nbad=\\u12G4\n", "server.properties"),
    (e) => e instanceof ConfigError && /server\.properties line 2/.test(e.message),
  );
});

Deno.test("properties: CRLF and CR line ends work, and each setting records its line", () => {
  const settings = parseProperties("# c\r\na=1\r\n\r\nb=2\rc=3", "f");
  assert.deepEqual(settings.map((s) => [s.key, s.value, s.source]), [
    ["a", "1", { kind: "file", path: "f", line: 2 }],
    ["b", "2", { kind: "file", path: "f", line: 4 }],
    ["c", "3", { kind: "file", path: "f", line: 5 }],
  ]);
});

// ---------------------------------------------------------------------------------------------------------------
// Environment and flags

Deno.test("environment: SAMSA_ prefix, underscores to dots, lower case; __ is _ and ___ is -", () => {
  assert.equal(envVariableToKey("SAMSA_LOG_DIRS"), "log.dirs");
  assert.equal(envVariableToKey("SAMSA_NODE_ID"), "node.id");
  assert.equal(envVariableToKey("SAMSA_A__B"), "a_b");
  assert.equal(envVariableToKey("SAMSA_A___B"), "a-b");
  assert.equal(envVariableToKey("SAMSA_"), undefined);
  assert.equal(envVariableToKey("KAFKA_LOG_DIRS"), undefined);
  assert.deepEqual(settingsFromEnv({ HOME: "/root", SAMSA_NUM_PARTITIONS: "3" }), [
    { key: "num.partitions", value: "3", source: { kind: "env", variable: "SAMSA_NUM_PARTITIONS" } },
  ]);
});

Deno.test("--set splits at the first '=' and needs a key", () => {
  assert.deepEqual(parseSetFlag("a.b=c=d"), {
    key: "a.b",
    value: "c=d",
    source: { kind: "flag", flag: "--set a.b=c=d" },
  });
  assert.equal(parseSetFlag("empty=").value, "");
  assert.throws(() => parseSetFlag("novalue"), ConfigError);
  assert.throws(() => parseSetFlag("=x"), ConfigError);
});

// ---------------------------------------------------------------------------------------------------------------
// Defaults and precedence

Deno.test("defaults work on a laptop without any configuration", () => {
  const c = BrokerConfig.from([]);
  assert.equal(c.nodeId, 1);
  assert.deepEqual(c.listeners, [{ name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "127.0.0.1", port: 9092 }]);
  assert.deepEqual(c.advertisedListeners, c.listeners);
  assert.deepEqual(c.logDirs, ["./data"]);
  assert.equal(c.numPartitions, 1);
  assert.equal(c.defaultReplicationFactor, 1);
  assert.equal(c.autoCreateTopicsEnable, true);
  assert.equal(c.logSegmentBytes, 1073741824);
  assert.equal(c.logRetentionMs, 168 * 3600_000);
  assert.equal(c.logRollMs, 168 * 3600_000);
  assert.equal(c.logRetentionBytes, -1);
  assert.equal(c.messageMaxBytes, 1048588);
  assert.equal(c.socketRequestMaxBytes, 104857600);
  assert.equal(c.logMessageTimestampType, "CreateTime");
  assert.deepEqual(c.logCleanupPolicy, ["delete"]);
  assert.equal(c.offsetsTopicNumPartitions, 50);
  assert.equal(c.groupInitialRebalanceDelayMs, 3000);
  assert.equal(c.clusterId, undefined);
  assert.equal(c.logLevel, "info");
  assert.ok(c.logFlushIntervalMessages > Number.MAX_SAFE_INTEGER, "log.flush.interval.messages means never");
  assert.ok(c.logFlushIntervalMs > Number.MAX_SAFE_INTEGER);
  assert.deepEqual(c.unknownKeys(), []);
});

Deno.test("precedence: defaults < file < environment < --set", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/server.properties`;
    await Deno.writeTextFile(file, "num.partitions=2\nlog.dirs=/from/file\nnode.id=7\nmessage.max.bytes=2000\n");
    const config = await loadBrokerConfig({
      configFile: file,
      env: { SAMSA_LOG_DIRS: "/from/env", SAMSA_NODE_ID: "8" },
      sets: ["node.id=9"],
    });
    assert.equal(config.get("default.replication.factor"), "1");
    assert.deepEqual(config.source("default.replication.factor"), { kind: "default" });
    assert.equal(config.numPartitions, 2);
    assert.deepEqual(config.source("num.partitions"), { kind: "file", path: file, line: 1 });
    assert.equal(config.messageMaxBytes, 2000);
    assert.deepEqual(config.logDirs, ["/from/env"]);
    assert.deepEqual(config.source("log.dirs"), { kind: "env", variable: "SAMSA_LOG_DIRS" });
    assert.equal(config.nodeId, 9);
    assert.deepEqual(config.source("node.id"), { kind: "flag", flag: "--set node.id=9" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the last of several --set flags for a key wins", () => {
  assert.equal(BrokerConfig.from([flag("num.partitions", "2"), flag("num.partitions", "5")]).numPartitions, 5);
});

Deno.test("a missing config file is a clear error", async () => {
  await assert.rejects(
    loadBrokerConfig({ configFile: "/nonexistent/server.properties", env: {} }),
    (e) => e instanceof ConfigError && e.message.includes("cannot read config file /nonexistent/server.properties"),
  );
});

Deno.test("unknown keys are kept, readable with typed accessors", () => {
  const c = BrokerConfig.from([flag("some.future.feature.ms", "250"), flag("num.partitions", "3")]);
  assert.deepEqual(c.unknownKeys(), ["some.future.feature.ms"]);
  assert.equal(c.get("some.future.feature.ms"), "250");
  assert.equal(c.getLong("some.future.feature.ms"), 250);
  assert.ok(c.entries().some((e) => e.key === "some.future.feature.ms" && e.definition === undefined));
});

Deno.test("retention: log.retention.ms beats minutes beats hours, and a negative value means forever", () => {
  assert.equal(BrokerConfig.from([flag("log.retention.hours", "1")]).logRetentionMs, 3600_000);
  assert.equal(
    BrokerConfig.from([flag("log.retention.hours", "1"), flag("log.retention.minutes", "2")]).logRetentionMs,
    120_000,
  );
  assert.equal(
    BrokerConfig.from([flag("log.retention.minutes", "2"), flag("log.retention.ms", "500")]).logRetentionMs,
    500,
  );
  assert.equal(BrokerConfig.from([flag("log.retention.ms", "-5")]).logRetentionMs, -1);
  assert.equal(BrokerConfig.from([flag("log.roll.ms", "1000")]).logRollMs, 1000);
  assert.equal(BrokerConfig.from([flag("log.flush.interval.ms", "10")]).logFlushIntervalMs, 10);
});

Deno.test("log.dir is used when log.dirs is not given", () => {
  assert.deepEqual(BrokerConfig.from([flag("log.dir", "/one")]).logDirs, ["/one"]);
  assert.deepEqual(BrokerConfig.from([flag("log.dir", "/one"), flag("log.dirs", "/a,/b")]).logDirs, ["/a", "/b"]);
});

// ---------------------------------------------------------------------------------------------------------------
// Bad values

function configError(settings: ConfigSetting[]): ConfigError {
  try {
    BrokerConfig.from(settings);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("a non-number where a number is needed names the key, the value and the source", () => {
  const e = configError([{
    key: "num.partitions",
    value: "three",
    source: { kind: "file", path: "s.properties", line: 4 },
  }]);
  assert.equal(e.key, "num.partitions");
  assert.equal(
    e.message,
    "Invalid value 'three' for num.partitions (from config file s.properties line 4): expected an integer",
  );
  const env = configError([{ key: "node.id", value: "1.5", source: { kind: "env", variable: "SAMSA_NODE_ID" } }]);
  assert.match(env.message, /node\.id \(from environment variable SAMSA_NODE_ID\)/);
});

Deno.test("values out of range, of the wrong type or not among the choices are refused", () => {
  assert.match(configError([flag("num.partitions", "0")]).message, /must be at least 1/);
  assert.match(configError([flag("message.max.bytes", "3000000000")]).message, /out of range for type int/);
  assert.match(configError([flag("default.replication.factor", "40000")]).message, /out of range for type short/);
  assert.match(configError([flag("auto.create.topics.enable", "yes")]).message, /expected true or false/);
  assert.match(configError([flag("log.message.timestamp.type", "createtime")]).message, /CreateTime, LogAppendTime/);
  assert.match(configError([flag("log.cleanup.policy", "delete,shred")]).message, /'shred' is not one of/);
  assert.match(configError([flag("log.cleaner.min.cleanable.ratio", "1.5")]).message, /at most 1/);
  assert.match(configError([flag("log.level", "loud")]).message, /log\.level/);
  assert.equal(BrokerConfig.from([flag("auto.create.topics.enable", " FALSE ")]).autoCreateTopicsEnable, false);
});

Deno.test("every built-in default passes its own validation", () => {
  const c = BrokerConfig.from([]);
  for (const d of BROKER_CONFIGS) if (d.default !== null) assert.equal(c.get(d.name), d.default, d.name);
});

// ---------------------------------------------------------------------------------------------------------------
// Listeners

Deno.test("listeners: several names, IPv6 in brackets, an empty host meaning every interface", () => {
  const c = BrokerConfig.from([
    flag("listeners", "PLAINTEXT://127.0.0.1:9092, internal://[::1]:9093,EXTERNAL://:0"),
    flag("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"),
    flag("advertised.listeners", "PLAINTEXT://kafka.example.com:19092"),
  ]);
  assert.deepEqual(c.listeners, [
    { name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "127.0.0.1", port: 9092 },
    { name: "INTERNAL", securityProtocol: "PLAINTEXT", host: "::1", port: 9093 },
    { name: "EXTERNAL", securityProtocol: "PLAINTEXT", host: "", port: 0 },
  ]);
  assert.deepEqual(c.advertisedListeners, [
    { name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "kafka.example.com", port: 19092 },
  ]);
});

Deno.test("listeners: malformed entries, bad ports, unknown or unsupported protocols are startup errors", () => {
  const src = { kind: "flag", flag: "--set listeners=..." } as const;
  const bad = (value: string, pattern: RegExp) =>
    assert.throws(() => parseListeners(value, "listeners", src), (e) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.key, "listeners");
      assert.match(e.message, /^listeners \(from flag --set listeners=\.\.\.\)/);
      assert.match(e.message, pattern);
      return true;
    });
  bad("127.0.0.1:9092", /expected NAME:\/\/host:port/);
  bad("PLAINTEXT://127.0.0.1", /expected NAME:\/\/host:port/);
  bad("PLAINTEXT://127.0.0.1:99999", /bad port '99999'/);
  bad("PLAINTEXT://127.0.0.1:-1", /bad port/);
  bad("PLAINTEXT://127.0.0.1:http", /bad port 'http'/);
  bad("CUSTOM://127.0.0.1:9092", /listener name CUSTOM has no security protocol/);
  bad("SSL://127.0.0.1:9093", /SSL, which Samsa does not support yet/);
  bad("PLAINTEXT://a:1,PLAINTEXT://b:2", /appears twice/);
  assert.match(
    configError([flag("listener.security.protocol.map", "CUSTOM:GOPHER"), flag("listeners", "CUSTOM://h:1")]).message,
    /unknown security protocol GOPHER/,
  );
  assert.match(
    configError([flag("advertised.listeners", "OTHER://h:1")]).message,
    /listener name OTHER has no security protocol/,
  );
  assert.match(
    configError([flag("advertised.listeners", "SASL_PLAINTEXT://h:1")]).message,
    /does not support yet/,
  );
  assert.match(configError([flag("advertised.listeners", "PLAINTEXT://h:0")]).message, /bad port '0'/);
  assert.match(configError([flag("listeners", "")]).message, /at least one listener/);
});

// ---------------------------------------------------------------------------------------------------------------
// Topic-level configuration

Deno.test("topic configs default from their broker synonyms, converting units", () => {
  const entries = effectiveTopicConfig(BrokerConfig.from([flag("log.retention.hours", "24")]));
  const byName = new Map(entries.map((e) => [e.name, e]));
  assert.deepEqual(entries.map((e) => e.name), [...TOPIC_CONFIGS.map((d) => d.name)]);
  const retention = byName.get("retention.ms")!;
  assert.equal(retention.value, String(24 * 3600_000));
  assert.equal(retention.source, "static_broker");
  assert.deepEqual(retention.synonyms, [{ name: "log.retention.hours", value: "24", source: "static_broker" }]);
  assert.equal(byName.get("segment.bytes")!.value, "1073741824");
  assert.equal(byName.get("segment.bytes")!.source, "default");
  assert.equal(byName.get("max.message.bytes")!.value, "1048588");
  assert.equal(byName.get("segment.ms")!.value, "604800000");
  assert.equal(byName.get("flush.ms")!.value, "9223372036854775807");
  assert.equal(byName.get("cleanup.policy")!.value, "delete");
  assert.equal(byName.get("message.timestamp.type")!.value, "CreateTime");
});

Deno.test("a topic override wins over the broker and is listed first among synonyms", () => {
  const broker = BrokerConfig.from([flag("log.cleanup.policy", "compact")]);
  const policy = effectiveTopicConfig(broker, { "cleanup.policy": "delete,compact" }).find((e) =>
    e.name === "cleanup.policy"
  )!;
  assert.equal(policy.value, "delete,compact");
  assert.equal(policy.source, "topic");
  assert.deepEqual(policy.synonyms.map((s) => [s.name, s.source]), [["cleanup.policy", "topic"], [
    "log.cleanup.policy",
    "static_broker",
  ]]);
});

Deno.test("topic config values are validated by name, type and range", () => {
  assert.equal(topicConfigProblem("retention.ms", "-1"), undefined);
  assert.equal(topicConfigProblem("cleanup.policy", "compact,delete"), undefined);
  assert.match(topicConfigProblem("retention.ms", "soon")!, /Invalid value soon for configuration retention.ms/);
  assert.match(topicConfigProblem("cleanup.policy", "shred")!, /not one of/);
  assert.match(topicConfigProblem("message.timestamp.type", "Now")!, /CreateTime, LogAppendTime/);
  assert.match(topicConfigProblem("min.cleanable.dirty.ratio", "2")!, /at most 1/);
  assert.equal(topicConfigProblem("retention.hours", "1"), "Unknown topic config name: retention.hours");
  assert.match(topicConfigProblem("segment.bytes", null)!, /Null value/);
  const d = topicConfigDef("max.message.bytes")!;
  assert.deepEqual([d.type, d.default, d.synonyms[0].name, d.sensitive, d.readOnly], [
    "int",
    "1048588",
    "message.max.bytes",
    false,
    false,
  ]);
});

// ---------------------------------------------------------------------------------------------------------------
// The logger selected by log.level and log.format

Deno.test("logger: logfmt lines carry time, level, message and bound fields, quoting where needed", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", sink: (l) => lines.push(l), clock: () => 0, fields: { node: 1 } });
  log.child({ connection: 7 }).warn("request too large", { size: 2147483647, remote: "127.0.0.1:5000", note: "" });
  log.debug("not written at info");
  log.error("failed", { error: new Error("disk full") });
  assert.deepEqual(lines, [
    'ts=1970-01-01T00:00:00.000Z level=warn msg="request too large" node=1 connection=7 size=2147483647 ' +
    'remote=127.0.0.1:5000 note=""',
    'ts=1970-01-01T00:00:00.000Z level=error msg=failed node=1 error="disk full"',
  ]);
});

Deno.test("logger: json lines are one object each", () => {
  const line = formatLogLine("json", 0, "info", "started", { listeners: ["A", "B"], big: 10n });
  assert.deepEqual(JSON.parse(line), {
    ts: "1970-01-01T00:00:00.000Z",
    level: "info",
    msg: "started",
    listeners: ["A", "B"],
    big: "10",
  });
});

Deno.test("logger: levels parse case-insensitively and filter", () => {
  assert.equal(parseLogLevel("DEBUG"), "debug");
  assert.equal(parseLogLevel("warning"), "warn");
  assert.equal(parseLogLevel("verbose"), undefined);
  const log = createLogger({ level: "warn", sink: () => {} });
  assert.equal(log.enabled("error"), true);
  assert.equal(log.enabled("info"), false);
});

// ---------------------------------------------------------------------------------------------------------------
// Log directories and unknown keys

Deno.test("an empty log.dirs (or log.dir alone, empty) is a bad setting naming the key and its source", () => {
  for (const [key, value] of [["log.dirs", ""], ["log.dirs", " , "], ["log.dir", ""]]) {
    assert.throws(
      () => BrokerConfig.from([flag(key, value)]),
      (e: unknown) =>
        e instanceof ConfigError && e.key === key &&
        e.message ===
          `Invalid value '${value}' for ${key} (from flag --set ${key}=${value}): at least one log directory is needed`,
      `${key}=${value}`,
    );
  }
  assert.deepEqual(BrokerConfig.from([flag("log.dir", "/srv/one")]).logDirs, ["/srv/one"]);
});

Deno.test("a misspelt key is matched to the broker key it was meant to be", () => {
  assert.equal(suggestBrokerKey("num.partition"), "num.partitions");
  assert.equal(suggestBrokerKey("log.retention.hour"), "log.retention.hours");
  assert.equal(suggestBrokerKey("LOG.DIRS"), "log.dirs");
  assert.equal(suggestBrokerKey("auto.create.topic.enabled"), "auto.create.topics.enable");
  // A topic-level key set on the broker points at its broker synonym.
  assert.equal(suggestBrokerKey("retention.ms"), "log.retention.ms");
  assert.equal(suggestBrokerKey("segment.bytes"), "log.segment.bytes");
  // Nothing close: no guess.
  assert.equal(suggestBrokerKey("samsa.shared"), undefined);
  assert.equal(suggestBrokerKey("x"), undefined);
});

Deno.test("every key the broker reads is a known key, so none of them is warned about as unknown", () => {
  const config = BrokerConfig.from([
    flag("log.cleaner.backoff.ms", "100"),
    flag("offsets.retention.check.interval.ms", "1000"),
    flag("offset.metadata.max.bytes", "100"),
    flag("group.consumer.assignors", "range,uniform"),
    flag("log.dir.failure.probe.initial.backoff.ms", "10"),
    flag("log.dir.failure.probe.max.backoff.ms", "100"),
  ]);
  assert.deepEqual(config.unknownKeys(), []);
  assert.deepEqual(BrokerConfig.from([flag("num.partition", "3")]).unknownKeys(), ["num.partition"]);
});

Deno.test("node.id 0 is refused with a clear error: Samsa's Raft groups keep 0 for 'no node'", () => {
  assert.throws(() => BrokerConfig.from([flag("node.id", "0")]), /node\.id.*must be at least 1/);
  assert.equal(BrokerConfig.from([flag("node.id", "1")]).nodeId, 1);
});
