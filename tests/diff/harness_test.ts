/**
 * The differential harness itself, without any broker: what the normalizer keeps and drops, what the
 * comparator reports and how, and how the probe recognizes a broker that closes every connection.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ApiKey, encodeResponse } from "../../protocol/messages.ts";
import { buildRecordBatch } from "../../protocol/record_batch.ts";
import { compareJson, formatDifference } from "./compare.ts";
import { explainDifference, KNOWN_DIFFERENCES } from "./known_differences.ts";
import { scenario as apiVersionsScenario } from "./scenarios/api_versions.ts";
import { Canon, normalize, onlyFieldsOf } from "./normalize.ts";
import { ConnectionClosedError, parseBootstrap, RawClient } from "./raw_client.ts";
import { compactJson, compareRuns, probeBroker } from "./run.ts";
import type { Scenario } from "./scenario.ts";

const apiKey = (key: number, minVersion: number, maxVersion: number) => ({ apiKey: key, minVersion, maxVersion });

const TOPIC_ID = "5b7e2a1c-0000-4000-8000-000000000001";

Deno.test("normalize drops throttle times and replaces cluster id, hosts and ports with placeholders", () => {
  const out = normalize({
    throttleTimeMs: 25,
    clusterId: "MkU3OEVBNTcwNTJENDM2Qg",
    brokers: [{ nodeId: 7, host: "127.0.0.1", port: 40925, rack: null }],
    controllerId: 7,
  }, new Canon());
  assert.deepEqual(out, {
    brokers: [{ host: "<host>", nodeId: "node#0", port: "<port>", rack: null }],
    clusterId: "<cluster-id>",
    controllerId: "node#0",
  });
});

Deno.test("normalize keeps an advertised host or port that is not the address the run connected to", () => {
  const out = normalize({ brokers: [{ nodeId: 1, host: "127.0.0.1", port: 9093 }] }, new Canon("127.0.0.1:9092"));
  assert.deepEqual(out, { brokers: [{ host: "<host>", nodeId: "node#0", port: 9093 }] });
});

Deno.test("normalize keeps identities: the same node id maps to the same placeholder, -1 stays -1", () => {
  const out = normalize(
    { partitions: [{ partitionIndex: 0, leaderId: 3, replicaNodes: [3, 4], isrNodes: [-1] }] },
    new Canon(),
  );
  assert.deepEqual(out, {
    partitions: [{ isrNodes: [-1], leaderId: "node#0", partitionIndex: 0, replicaNodes: ["node#0", "node#1"] }],
  });
});

Deno.test("normalize names a run's topics, their ids and the topic names quoted in error messages", () => {
  const canon = new Canon();
  canon.nameTopic("diff-1234abcd-orders", "orders");
  const out = normalize({
    topics: [{ name: "diff-1234abcd-orders", topicId: TOPIC_ID, errorMessage: "Topic 'diff-1234abcd-orders' exists" }],
  }, canon);
  assert.deepEqual(out, {
    topics: [{ errorMessage: "Topic '<orders>' exists", name: "<orders>", topicId: "<id:orders>" }],
  });
});

Deno.test("normalize sorts arrays whose order Kafka does not promise, by name or partition index", () => {
  const out = normalize({
    topics: [{ name: "b" }, { name: "a" }],
    partitions: [{ partitionIndex: 2 }, { partitionIndex: 1 }],
  }, new Canon());
  assert.deepEqual(out, {
    partitions: [{ partitionIndex: 1 }, { partitionIndex: 2 }],
    topics: [{ name: "a" }, { name: "b" }],
  });
});

Deno.test("normalize turns a configs array into an object keyed by config name", () => {
  const out = normalize({
    configs: [{ name: "retention.ms", value: "1" }, { name: "cleanup.policy", value: "delete" }],
  }, new Canon());
  assert.deepEqual(out, { configs: { "cleanup.policy": { value: "delete" }, "retention.ms": { value: "1" } } });
});

Deno.test("normalize with onlyKnownTopics drops topics the run did not create", () => {
  const canon = new Canon();
  canon.nameTopic("diff-x-mine", "mine");
  const out = normalize({ topics: [{ name: "__consumer_offsets" }, { name: "diff-x-mine" }] }, canon, {
    onlyKnownTopics: true,
  });
  assert.deepEqual(out, { topics: [{ name: "<mine>" }] });
});

Deno.test("normalize summarizes record bytes as batches with readable records, and empty bytes as no batches", () => {
  const batch = buildRecordBatch([{ timestamp: 1_700_000_000_000, key: null, value: new TextEncoder().encode("hi") }], {
    baseOffset: 5n,
  });
  const out = normalize({ records: batch }, new Canon()) as { records: { batches: Record<string, unknown>[] } };
  assert.equal(out.records.batches.length, 1);
  assert.equal(out.records.batches[0].baseOffset, 5);
  assert.equal(out.records.batches[0].crcValid, true);
  assert.deepEqual(out.records.batches[0].records, [
    { offsetDelta: 0, timestamp: 1_700_000_000_000, key: null, value: "hi", headers: [] },
  ]);
  assert.deepEqual(normalize({ records: new Uint8Array(0) }, new Canon()), { records: { batches: [] } });
  assert.deepEqual(normalize({ records: null }, new Canon()), { records: null });
});

Deno.test("only the fields a response version has are compared", () => {
  const fields = [
    { name: "errorCode", type: "int16", versions: [0, 3] as const },
    {
      name: "coordinators",
      type: "[]Coordinator",
      versions: [4, 32767] as const,
      fields: [
        { name: "key", type: "string", versions: [4, 32767] as const },
      ],
    },
  ];
  assert.deepEqual(onlyFieldsOf({ errorCode: 0, coordinators: [{ key: "g" }] }, fields, 4), {
    coordinators: [{ key: "g" }],
  });
  assert.deepEqual(onlyFieldsOf({ errorCode: 0, coordinators: [] }, fields, 3), { errorCode: 0 });
});

Deno.test("compare reports each differing field with its path and error codes with their names", () => {
  const diffs = compareJson(
    { topics: [{ partitions: [{ errorCode: 3 }] }] },
    { topics: [{ partitions: [{ errorCode: 0 }] }] },
  );
  assert.deepEqual(diffs.map(formatDifference), [
    "topics[0].partitions[0].errorCode: kafka=3 (UNKNOWN_TOPIC_OR_PARTITION) samsa=0 (NONE)",
  ]);
});

Deno.test("compare reports error messages as informational, not as differences", () => {
  const [d] = compareJson({ errorCode: 0, errorMessage: "a" }, { errorCode: 0, errorMessage: "b" });
  assert.equal(d.informational, true);
});

Deno.test("compare judges a config only one side returns, noting which side, like a differing value", () => {
  const diffs = compareJson(
    { configs: { "remote.storage.enable": { value: "false" }, "retention.ms": { value: "1" } } },
    { configs: { "retention.ms": { value: "2" } } },
  );
  assert.deepEqual(diffs.map((d) => [d.path, d.informational, d.note]), [
    ['configs["remote.storage.enable"]', false, "config only Kafka returns"],
    ['configs["retention.ms"].value', false, undefined],
  ]);
});

Deno.test("a DescribeConfigs answer with no configs fails the comparison: nothing explains the omission", () => {
  const kafka = { results: [{ errorCode: 0, configs: { "retention.ms": { value: "604800000" } } }] };
  const diffs = compareJson(kafka, { results: [{ errorCode: 0, configs: {} }] }, "[defaults] DescribeConfigs v4:");
  assert.deepEqual(diffs.map((d) => [d.path, d.informational]), [
    ['[defaults] DescribeConfigs v4:.results[0].configs["retention.ms"]', false],
  ]);
  assert.equal(explainDifference("describe_configs", diffs[0].path), undefined);
});

Deno.test("an omission is judged even under a key whose values are informational", () => {
  const diffs = compareJson(
    { supportedFeatures: [{ name: "metadata.version" }], errorMessage: "a" },
    { supportedFeatures: [], errorMessage: "b" },
  );
  assert.deepEqual(diffs.map((d) => [d.path, d.informational]), [
    ["errorMessage", true],
    ["supportedFeatures[0]", false],
  ]);
});

Deno.test("compare reports missing and extra array elements as absent on one side", () => {
  assert.deepEqual(compareJson([1], [1, 2]), [{
    path: "[1]",
    kafka: undefined,
    samsa: 2,
    informational: false,
    note: "only Samsa returns this",
  }]);
});

Deno.test("ApiVersions: an API only Kafka serves is judged; a narrower range of a shared API is informational", () => {
  const kafka = { errorCode: 0, apiKeys: [apiKey(0, 0, 13), apiKey(1, 4, 18)] };
  const samsa = { errorCode: 0, apiKeys: [apiKey(0, 3, 11)] };
  const diffs = apiVersionsScenario.compareStep!("api versions v4", kafka, samsa)!;
  assert.deepEqual(diffs.map((d) => [d.path, d.informational]), [["apiKeys[Produce]", true], [
    "apiKeys[Fetch]",
    false,
  ]]);
});

Deno.test("every known difference gives a reason and matches a path, not a whole scenario", () => {
  for (const known of KNOWN_DIFFERENCES) {
    assert.ok(known.reason.length >= 80, `${known.scenario}: the reason says too little: ${known.reason}`);
    assert.ok(known.path, `${known.scenario}: an entry without a path would excuse every difference`);
  }
});

Deno.test("compareRuns matches steps by name and reports a step only one side ran", () => {
  const scenario: Scenario = { name: "s", description: "", run: () => Promise.resolve() };
  const diffs = compareRuns(
    scenario,
    { scenario: "s", results: [{ step: "a", request: "Metadata v12", response: { x: 1 } }] },
    { scenario: "s", results: [] },
  );
  assert.deepEqual(diffs.map(formatDifference), ['[a] Metadata v12: step: kafka="ran" samsa=(absent)']);
});

Deno.test("a known difference is found by scenario and path", () => {
  const known = explainDifference(
    "metadata",
    "[missing topic, auto-create on v12] Metadata v12: topics[0].errorCode",
  );
  assert.ok(known?.reason.includes("asynchronously"));
  assert.equal(explainDifference("metadata", "[existing topic v12] Metadata v12: topics[0].errorCode"), undefined);
});

Deno.test("golden JSON keeps short values on one line", () => {
  assert.equal(compactJson({ a: [1, 2], b: { c: "d" } }), '{"a":[1,2],"b":{"c":"d"}}');
  assert.equal(
    compactJson({ a: "x".repeat(60), b: "y".repeat(60) }),
    `{\n  "a": "${"x".repeat(60)}",\n  "b": "${"y".repeat(60)}"\n}`,
  );
});

Deno.test("the raw client only talks to 127.0.0.1", () => {
  assert.deepEqual(parseBootstrap("localhost:9092"), { hostname: "127.0.0.1", port: 9092 });
  assert.throws(() => parseBootstrap("example.com:9092"), /only talk to 127\.0\.0\.1/);
  assert.throws(() => parseBootstrap("127.0.0.1"), /want HOST:PORT/);
});

/** A fake broker on a free port that handles each connection with `serve`, until stopped. */
function fakeBroker(serve: (conn: Deno.Conn) => Promise<void>): { bootstrap: string; stop(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handled: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) handled.push(serve(conn).finally(() => conn.close()));
  })();
  return {
    bootstrap: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    async stop() {
      listener.close();
      await accepting.catch(() => {});
      await Promise.all(handled);
    },
  };
}

async function readFrame(conn: Deno.Conn): Promise<Uint8Array> {
  const size = new Uint8Array(4);
  let got = 0;
  while (got < 4) got += (await conn.read(size.subarray(got))) ?? Infinity;
  const frame = new Uint8Array(new DataView(size.buffer).getInt32(0));
  got = 0;
  while (got < frame.length) got += (await conn.read(frame.subarray(got))) ?? Infinity;
  return frame;
}

Deno.test("the probe says so when a broker closes the connection at the first request", async () => {
  const broker = fakeBroker(async (conn) => {
    await readFrame(conn);
  });
  try {
    const problem = await probeBroker(broker.bootstrap);
    assert.match(problem ?? "", /closed the connection at the first request/);
  } finally {
    await broker.stop();
  }
});

Deno.test("the raw client matches responses to requests by correlation id", async () => {
  const broker = fakeBroker(async (conn) => {
    const frame = await readFrame(conn);
    const correlationId = new DataView(frame.buffer).getInt32(4);
    const body = {
      errorCode: 0,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1n,
      finalizedFeatures: [],
      zkMigrationReady: false,
    };
    await conn.write(encodeResponse(ApiKey.ApiVersions, 3, correlationId, body, { sizePrefix: true }));
    await readFrame(conn).catch(() => {}); // until the client closes
  });
  const client = await RawClient.connect(broker.bootstrap);
  try {
    const response = await client.request(ApiKey.ApiVersions, 3, {
      clientSoftwareName: "t",
      clientSoftwareVersion: "0",
    });
    assert.deepEqual(response.apiKeys, [{ apiKey: 18, minVersion: 0, maxVersion: 3 }]);
  } finally {
    await client.close();
    await broker.stop();
  }
  await assert.rejects(
    client.request(ApiKey.ApiVersions, 3, { clientSoftwareName: "t", clientSoftwareVersion: "0" }),
    ConnectionClosedError,
  );
});
