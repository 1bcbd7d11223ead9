/**
 * The admin API handlers (CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs) over a real metadata
 * log, replica manager and controller: the response bodies Kafka's broker gives, for every served version.
 */
import assert from "node:assert/strict";
import type { BrokerContext, HandlerRequest } from "../../../broker/broker_context.ts";
import { BrokerConfig } from "../../../broker/config.ts";
import type { ConnectionInfo } from "../../../broker/connection.ts";
import { LocalController } from "../../../broker/controller.ts";
import { handleCreatePartitions } from "../../../broker/handlers/create_partitions.ts";
import { handleCreateTopics } from "../../../broker/handlers/create_topics.ts";
import { handleDeleteTopics } from "../../../broker/handlers/delete_topics.ts";
import { handleDescribeConfigs } from "../../../broker/handlers/describe_configs.ts";
import { silentLogger } from "../../../broker/logger.ts";
import { MetadataLog } from "../../../broker/metadata_log.ts";
import { ReplicaManager } from "../../../broker/replication/replica_manager.ts";
import {
  ApiKey,
  decodeResponse,
  encodeResponse,
  ErrorCode,
  type RequestByKey,
  type ResponseByKey,
  ZERO_UUID,
} from "../../../protocol/messages.ts";
import type { CreateTopicsRequestCreatableTopic } from "../../../protocol/generated/messages/create_topics_request.ts";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const conn: ConnectionInfo = {
  id: 1,
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 },
  listenerName: "PLAINTEXT",
  signal: new AbortController().signal,
  closed: new Promise(() => {}),
  isClosed: false,
  close: () => {},
};

/** Runs `fn` with a broker context over a fresh data directory; closes everything and removes it after. */
async function withBroker(
  fn: (ctx: BrokerContext) => Promise<void>,
  settings: Record<string, string> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "samsa-admin-" });
  const config = BrokerConfig.from(
    Object.entries({ "log.dirs": dir, ...settings }).map(([key, value]) => ({
      key,
      value,
      source: { kind: "flag" as const, flag: `--set ${key}=${value}` },
    })),
  );
  const metadata = await MetadataLog.open(`${dir}/__cluster_metadata-0`);
  const replicas = new ReplicaManager(config, silentLogger);
  const ctx: BrokerContext = {
    config,
    nodeId: config.nodeId,
    clusterId: "admin-test-cluster",
    advertised: new Map([["PLAINTEXT", { host: "127.0.0.1", port: 9092 }]]),
    metadata: metadata.image,
    replicas,
    controller: new LocalController(metadata, replicas, config, silentLogger),
    logger: silentLogger,
    now: () => Date.now(),
  };
  try {
    await fn(ctx);
  } finally {
    await replicas.close();
    await metadata.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function request<K extends keyof RequestByKey>(key: K, apiVersion: number, body: RequestByKey[K]): HandlerRequest<K> {
  return {
    apiVersion,
    header: { requestApiKey: key, requestApiVersion: apiVersion, correlationId: 1, clientId: "test" },
    body,
  } as HandlerRequest<K>;
}

/** Encodes the response at `apiVersion` and decodes it again: what a client of that version would read. */
function onTheWire<K extends keyof ResponseByKey>(key: K, apiVersion: number, body: ResponseByKey[K] | null) {
  assert.ok(body !== null);
  return decodeResponse(key, apiVersion, encodeResponse(key, apiVersion, 1, body)).body;
}

function creatable(name: string, fields: Partial<CreateTopicsRequestCreatableTopic> = {}) {
  return { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...fields };
}

async function createTopics(
  ctx: BrokerContext,
  topics: CreateTopicsRequestCreatableTopic[],
  options: { apiVersion?: number; validateOnly?: boolean; timeoutMs?: number } = {},
) {
  const apiVersion = options.apiVersion ?? 7;
  const body = { topics, timeoutMs: options.timeoutMs ?? 30000, validateOnly: options.validateOnly ?? false };
  const response = await handleCreateTopics(ctx, request(ApiKey.CreateTopics, apiVersion, body), conn);
  return onTheWire(ApiKey.CreateTopics, apiVersion, response);
}

async function describeConfigs(
  ctx: BrokerContext,
  resources: { resourceType: number; resourceName: string; configurationKeys: string[] | null }[],
  options: { apiVersion?: number; includeSynonyms?: boolean; includeDocumentation?: boolean } = {},
) {
  const apiVersion = options.apiVersion ?? 4;
  const body = {
    resources,
    includeSynonyms: options.includeSynonyms ?? false,
    includeDocumentation: options.includeDocumentation ?? false,
  };
  const response = await handleDescribeConfigs(ctx, request(ApiKey.DescribeConfigs, apiVersion, body), conn);
  return onTheWire(ApiKey.DescribeConfigs, apiVersion, response);
}

// ---------------------------------------------------------------------------------------------------------------
// CreateTopics

Deno.test("CreateTopics v7 answers a created topic with its id, counts and effective configs", async () => {
  await withBroker(async (ctx) => {
    const response = await createTopics(ctx, [
      creatable("orders", { numPartitions: 3, configs: [{ name: "retention.ms", value: "1000" }] }),
    ]);
    const [t] = response.topics;
    assert.equal(t.name, "orders");
    assert.equal(t.errorCode, ErrorCode.NONE);
    assert.equal(t.errorMessage, null);
    assert.equal(t.topicId, ctx.metadata.topic("orders")!.topicId);
    assert.equal(t.numPartitions, 3);
    assert.equal(t.replicationFactor, 1);
    assert.equal(t.topicConfigErrorCode, ErrorCode.NONE);
    const configs = new Map(t.configs!.map((c) => [c.name, c]));
    assert.deepEqual(configs.get("retention.ms"), {
      name: "retention.ms",
      value: "1000",
      readOnly: false,
      configSource: 1,
      isSensitive: false,
    });
    assert.deepEqual(
      [configs.get("cleanup.policy")!.value, configs.get("cleanup.policy")!.configSource],
      ["delete", 5],
    );
    assert.deepEqual([...configs.keys()], [...configs.keys()].sort(), "configs in name order");
  });
});

Deno.test("CreateTopics reports a config inherited from a set broker key as STATIC_BROKER_CONFIG", async () => {
  await withBroker(async (ctx) => {
    const response = await createTopics(ctx, [creatable("t")]);
    const retention = response.topics[0].configs!.find((c) => c.name === "retention.ms")!;
    assert.deepEqual([retention.value, retention.configSource], ["86400000", 4]);
  }, { "log.retention.hours": "24" });
});

Deno.test("CreateTopics answers a failed topic with a zero id, -1 counts and no configs", async () => {
  await withBroker(async (ctx) => {
    await createTopics(ctx, [creatable("taken")]);
    const response = await createTopics(ctx, [creatable("taken")]);
    assert.deepEqual(response.topics[0], {
      name: "taken",
      topicId: ZERO_UUID,
      errorCode: ErrorCode.TOPIC_ALREADY_EXISTS,
      errorMessage: "Topic 'taken' already exists.",
      topicConfigErrorCode: 0,
      numPartitions: -1,
      replicationFactor: -1,
      configs: [],
    });
  });
});

Deno.test("CreateTopics answers a duplicated name once, after the other topics, and __cluster_metadata last", async () => {
  await withBroker(async (ctx) => {
    const response = await createTopics(ctx, [
      creatable("__cluster_metadata"),
      creatable("dup"),
      creatable("ok"),
      creatable("dup"),
    ]);
    assert.deepEqual(
      response.topics.map((t) => [t.name, t.errorCode, t.errorMessage]),
      [
        ["ok", ErrorCode.NONE, null],
        ["dup", ErrorCode.INVALID_REQUEST, "Duplicate topic name."],
        [
          "__cluster_metadata",
          ErrorCode.INVALID_REQUEST,
          "Creation of internal topic __cluster_metadata is prohibited.",
        ],
      ],
    );
  });
});

Deno.test("CreateTopics refuses a null config value with INVALID_CONFIG", async () => {
  await withBroker(async (ctx) => {
    const response = await createTopics(ctx, [creatable("t", { configs: [{ name: "retention.ms", value: null }] })]);
    assert.deepEqual([response.topics[0].errorCode, response.topics[0].errorMessage], [
      ErrorCode.INVALID_CONFIG,
      "Null value not supported for topic configs: retention.ms",
    ]);
    assert.equal(ctx.metadata.topic("t"), undefined);
  });
});

Deno.test("CreateTopics with validateOnly answers fully and creates nothing", async () => {
  await withBroker(async (ctx) => {
    const response = await createTopics(ctx, [creatable("dry", { numPartitions: 2 })], { validateOnly: true });
    assert.equal(response.topics[0].errorCode, ErrorCode.NONE);
    assert.equal(response.topics[0].numPartitions, 2);
    assert.ok(response.topics[0].configs!.length > 0);
    assert.equal(ctx.metadata.topic("dry"), undefined);
  });
});

Deno.test("CreateTopics encodes at every served version (2-7)", async () => {
  await withBroker(async (ctx) => {
    for (let v = 2; v <= 7; v++) {
      const response = await createTopics(ctx, [creatable(`v${v}`), creatable("bad/name")], { apiVersion: v });
      assert.deepEqual(response.topics.map((t) => t.errorCode), [ErrorCode.NONE, ErrorCode.INVALID_TOPIC_EXCEPTION]);
    }
  });
});

Deno.test("CreateTopics with timeoutMs 0 or less times out every entry and creates nothing", async () => {
  await withBroker(async (ctx) => {
    for (const timeoutMs of [0, -1]) {
      const response = await createTopics(ctx, [creatable("t"), creatable("t"), creatable("bad/")], { timeoutMs });
      assert.deepEqual(response.topics.map((t) => [t.name, t.errorCode, t.errorMessage]), [
        ["t", ErrorCode.REQUEST_TIMED_OUT, null],
        ["t", ErrorCode.REQUEST_TIMED_OUT, null],
        ["bad/", ErrorCode.REQUEST_TIMED_OUT, null],
      ]);
    }
    assert.equal(ctx.metadata.topics().length, 0);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// DeleteTopics

Deno.test("DeleteTopics v6 deletes by id and by name, answering each with name and id", async () => {
  await withBroker(async (ctx) => {
    await createTopics(ctx, [creatable("a"), creatable("b")]);
    const a = ctx.metadata.topic("a")!.topicId;
    const b = ctx.metadata.topic("b")!.topicId;
    const body = {
      topics: [{ name: null, topicId: a }, { name: "b", topicId: ZERO_UUID }],
      topicNames: [],
      timeoutMs: 30000,
    };
    const response = onTheWire(
      ApiKey.DeleteTopics,
      6,
      await handleDeleteTopics(ctx, request(ApiKey.DeleteTopics, 6, body), conn),
    );
    assert.deepEqual(response.responses, [
      { name: "a", topicId: a, errorCode: 0, errorMessage: null },
      { name: "b", topicId: b, errorCode: 0, errorMessage: null },
    ]);
    assert.equal(ctx.metadata.topics().length, 0);
  });
});

Deno.test("DeleteTopics v1-5 deletes by name and answers a duplicated name once", async () => {
  await withBroker(async (ctx) => {
    for (let v = 1; v <= 5; v++) {
      await createTopics(ctx, [creatable("t")]);
      const body = { topics: [], topicNames: ["t", "nope", "x", "x"], timeoutMs: 30000 };
      const response = onTheWire(
        ApiKey.DeleteTopics,
        v,
        await handleDeleteTopics(ctx, request(ApiKey.DeleteTopics, v, body), conn),
      );
      assert.deepEqual(
        response.responses.map((r) => [r.name, r.errorCode]),
        [["t", 0], ["nope", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], ["x", ErrorCode.INVALID_REQUEST]],
      );
      assert.equal(ctx.metadata.topic("t"), undefined);
    }
  });
});

Deno.test("DeleteTopics with delete.topic.enable=false refuses every topic", async () => {
  await withBroker(async (ctx) => {
    await createTopics(ctx, [creatable("kept")]);
    const body = { topics: [], topicNames: ["kept"], timeoutMs: 30000 };
    const v2 = await handleDeleteTopics(ctx, request(ApiKey.DeleteTopics, 2, body), conn);
    assert.equal(v2!.responses[0].errorCode, ErrorCode.INVALID_REQUEST);
    const v3 = await handleDeleteTopics(ctx, request(ApiKey.DeleteTopics, 3, body), conn);
    assert.equal(v3!.responses[0].errorCode, ErrorCode.TOPIC_DELETION_DISABLED);
    assert.ok(ctx.metadata.topic("kept"));
  }, { "delete.topic.enable": "false" });
});

Deno.test("DeleteTopics with timeoutMs 0 times out every entry and deletes nothing", async () => {
  await withBroker(async (ctx) => {
    await createTopics(ctx, [creatable("kept")]);
    const body = { topics: [], topicNames: ["kept", "nope"], timeoutMs: 0 };
    const response = await handleDeleteTopics(ctx, request(ApiKey.DeleteTopics, 5, body), conn);
    assert.deepEqual(response!.responses.map((r) => [r.name, r.errorCode, r.errorMessage]), [
      ["kept", ErrorCode.REQUEST_TIMED_OUT, null],
      ["nope", ErrorCode.REQUEST_TIMED_OUT, null],
    ]);
    assert.ok(ctx.metadata.topic("kept"));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// CreatePartitions

Deno.test("CreatePartitions raises the count and answers duplicated names first, once", async () => {
  await withBroker(async (ctx) => {
    await createTopics(ctx, [creatable("grow"), creatable("d")]);
    for (let v = 0; v <= 3; v++) {
      const body = {
        topics: [
          { name: "d", count: 5, assignments: null },
          { name: "grow", count: 2 + v, assignments: null },
          { name: "d", count: 6, assignments: null },
        ],
        timeoutMs: 30000,
        validateOnly: false,
      };
      const response = onTheWire(
        ApiKey.CreatePartitions,
        v,
        await handleCreatePartitions(ctx, request(ApiKey.CreatePartitions, v, body), conn),
      );
      assert.deepEqual(response.results, [
        { name: "d", errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Duplicate topic name." },
        { name: "grow", errorCode: ErrorCode.NONE, errorMessage: null },
      ]);
      assert.equal(ctx.metadata.topic("grow")!.partitions.length, 2 + v);
    }
  });
});

Deno.test("CreatePartitions passes manual assignments to the controller", async () => {
  await withBroker(async (ctx) => {
    await createTopics(ctx, [creatable("t")]);
    const body = {
      topics: [{ name: "t", count: 2, assignments: [{ brokerIds: [5] }] }],
      timeoutMs: 30000,
      validateOnly: false,
    };
    const response = await handleCreatePartitions(ctx, request(ApiKey.CreatePartitions, 3, body), conn);
    assert.deepEqual(response!.results[0], {
      name: "t",
      errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      errorMessage: "The manual partition assignment includes broker 5, but no such broker is registered.",
    });
  });
});

Deno.test("CreatePartitions with timeoutMs 0 times out every entry and changes nothing", async () => {
  await withBroker(async (ctx) => {
    await createTopics(ctx, [creatable("t")]);
    const body = { topics: [{ name: "t", count: 2, assignments: null }], timeoutMs: 0, validateOnly: false };
    const response = await handleCreatePartitions(ctx, request(ApiKey.CreatePartitions, 3, body), conn);
    assert.deepEqual(response!.results, [{ name: "t", errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: null }]);
    assert.equal(ctx.metadata.topic("t")!.partitions.length, 1);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// DescribeConfigs

Deno.test("DescribeConfigs of a topic gives every effective config with its source and type", async () => {
  await withBroker(async (ctx) => {
    await createTopics(ctx, [creatable("t", { configs: [{ name: "retention.ms", value: "1000" }] })]);
    const response = await describeConfigs(ctx, [{ resourceType: 2, resourceName: "t", configurationKeys: null }]);
    const [result] = response.results;
    assert.deepEqual([result.errorCode, result.errorMessage, result.resourceType, result.resourceName], [
      0,
      "",
      2,
      "t",
    ]);
    const configs = new Map(result.configs.map((c) => [c.name, c]));
    assert.deepEqual(configs.get("retention.ms"), {
      name: "retention.ms",
      value: "1000",
      readOnly: false,
      isDefault: false,
      configSource: 1,
      isSensitive: false,
      synonyms: [],
      configType: 5,
      documentation: null,
    });
    assert.deepEqual(
      [configs.get("cleanup.policy")!.value, configs.get("cleanup.policy")!.configSource],
      ["delete", 5],
    );
    assert.equal(configs.get("cleanup.policy")!.configType, 7, "list");
  });
});

Deno.test("DescribeConfigs of a topic lists synonyms and documentation when asked", async () => {
  await withBroker(async (ctx) => {
    await createTopics(ctx, [creatable("t", { configs: [{ name: "segment.bytes", value: "5000000" }] })]);
    const response = await describeConfigs(
      ctx,
      [{ resourceType: 2, resourceName: "t", configurationKeys: ["segment.bytes", "max.message.bytes"] }],
      { includeSynonyms: true, includeDocumentation: true },
    );
    const configs = new Map(response.results[0].configs.map((c) => [c.name, c]));
    assert.deepEqual([...configs.keys()].sort(), ["max.message.bytes", "segment.bytes"]);
    assert.deepEqual(configs.get("segment.bytes")!.synonyms, [
      { name: "segment.bytes", value: "5000000", source: 1 },
      { name: "log.segment.bytes", value: "2000000", source: 4 },
      { name: "log.segment.bytes", value: "1073741824", source: 5 },
    ]);
    assert.deepEqual(configs.get("max.message.bytes")!.synonyms, [
      { name: "message.max.bytes", value: "1048588", source: 5 },
    ]);
    assert.ok(configs.get("segment.bytes")!.documentation!.length > 0);
  }, { "log.segment.bytes": "2000000" });
});

Deno.test("DescribeConfigs keeps Kafka's quirk: retention.ms from log.retention.hours reports DEFAULT_CONFIG", async () => {
  await withBroker(async (ctx) => {
    await createTopics(ctx, [creatable("t")]);
    const response = await describeConfigs(
      ctx,
      [{ resourceType: 2, resourceName: "t", configurationKeys: ["retention.ms"] }],
      { includeSynonyms: true },
    );
    assert.deepEqual(response.results[0].configs.map((c) => [c.value, c.configSource, c.synonyms]), [
      ["86400000", 5, []],
    ]);
  }, { "log.retention.hours": "24" });
});

Deno.test("DescribeConfigs answers unknown and illegal topics with an error and no configs", async () => {
  await withBroker(async (ctx) => {
    const response = await describeConfigs(ctx, [
      { resourceType: 2, resourceName: "nope", configurationKeys: null },
      { resourceType: 2, resourceName: "bad/name", configurationKeys: null },
    ]);
    assert.deepEqual(response.results[0], {
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      errorMessage: "",
      resourceType: 2,
      resourceName: "nope",
      configs: [],
    });
    assert.equal(response.results[1].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.deepEqual(response.results[1].configs, []);
  });
});

Deno.test("DescribeConfigs of this broker gives its configs, read-only, with static and default synonyms", async () => {
  await withBroker(async (ctx) => {
    const response = await describeConfigs(
      ctx,
      [{ resourceType: 4, resourceName: "1", configurationKeys: ["num.partitions", "log.flush.interval.ms", "x.y"] }],
      { includeSynonyms: true },
    );
    const configs = new Map(response.results[0].configs.map((c) => [c.name, c]));
    assert.deepEqual(configs.get("num.partitions"), {
      name: "num.partitions",
      value: "3",
      readOnly: true,
      isDefault: false,
      configSource: 4,
      isSensitive: false,
      synonyms: [{ name: "num.partitions", value: "3", source: 4 }, { name: "num.partitions", value: "1", source: 5 }],
      configType: 3,
      documentation: null,
    });
    const unset = configs.get("log.flush.interval.ms")!;
    assert.deepEqual([unset.value, unset.configSource, unset.synonyms], [null, 5, []]);
    const unknown = configs.get("x.y")!;
    assert.deepEqual([unknown.value, unknown.isSensitive, unknown.configType], [null, true, 0], "unknown keys hidden");
  }, { "num.partitions": "3", "x.y": "secret" });
});

Deno.test("DescribeConfigs of another broker id, a non-number, or the empty name answers as Kafka does", async () => {
  await withBroker(async (ctx) => {
    const response = await describeConfigs(ctx, [
      { resourceType: 4, resourceName: "2", configurationKeys: null },
      { resourceType: 4, resourceName: "abc", configurationKeys: null },
      { resourceType: 4, resourceName: "", configurationKeys: null },
    ]);
    assert.deepEqual(response.results.map((r) => [r.errorCode, r.errorMessage, r.configs.length]), [
      [ErrorCode.INVALID_REQUEST, "Unexpected broker id, expected 1 or empty string, but received 2", 0],
      [ErrorCode.INVALID_REQUEST, "Broker id must be an integer, but it is: abc", 0],
      [ErrorCode.NONE, "", 0],
    ]);
  });
});

Deno.test("DescribeConfigs of this broker's loggers gives Kafka's root logger at log.level", async () => {
  await withBroker(async (ctx) => {
    const response = await describeConfigs(ctx, [
      { resourceType: 8, resourceName: "1", configurationKeys: null },
      { resourceType: 8, resourceName: "2", configurationKeys: null },
      { resourceType: 8, resourceName: "", configurationKeys: null },
    ]);
    assert.deepEqual(response.results[0].configs, [{
      name: "root",
      value: "WARN",
      readOnly: false,
      isDefault: false,
      configSource: 6,
      isSensitive: false,
      synonyms: [],
      configType: 0,
      documentation: "",
    }]);
    assert.deepEqual(response.results.slice(1).map((r) => [r.errorCode, r.errorMessage]), [
      [ErrorCode.INVALID_REQUEST, "Unexpected broker id, expected 1 but received 2"],
      [ErrorCode.INVALID_REQUEST, "Broker id must not be empty"],
    ]);
  }, { "log.level": "warn" });
});

Deno.test("DescribeConfigs refuses the whole request when a resource type is unknown", async () => {
  await withBroker(async (ctx) => {
    const response = await describeConfigs(ctx, [
      { resourceType: 4, resourceName: "1", configurationKeys: null },
      { resourceType: 99, resourceName: "x", configurationKeys: null },
    ]);
    assert.deepEqual(response.results.map((r) => [r.errorCode, r.configs.length]), [
      [ErrorCode.INVALID_REQUEST, 0],
      [ErrorCode.INVALID_REQUEST, 0],
    ]);
  });
});

Deno.test("DescribeConfigs encodes at every served version (1-4)", async () => {
  await withBroker(async (ctx) => {
    await createTopics(ctx, [creatable("t")]);
    for (let v = 1; v <= 4; v++) {
      const response = await describeConfigs(ctx, [
        { resourceType: 2, resourceName: "t", configurationKeys: null },
        { resourceType: 4, resourceName: "1", configurationKeys: null },
      ], { apiVersion: v, includeSynonyms: true, includeDocumentation: true });
      assert.deepEqual(response.results.map((r) => r.errorCode), [0, 0]);
      assert.ok(response.results[0].configs.length > 0);
      assert.ok(response.results[1].configs.length > 0);
    }
  });
});
