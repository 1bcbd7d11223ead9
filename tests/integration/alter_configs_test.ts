/**
 * IncrementalAlterConfigs (key 44), AlterConfigs (key 33) and the finalized features of ApiVersions on a
 * single-node broker, as a client sees them on the wire.
 */
import assert from "node:assert/strict";
import { RawClient } from "../diff/raw_client.ts";
import type { IncrementalAlterConfigsRequestAlterConfigsResource as Resource } from "../../protocol/generated/messages/incremental_alter_configs_request.ts";
import { ApiKey, ErrorCode } from "../../protocol/messages.ts";
import { kcat } from "../compat/kcat/kcat.ts";
import { startBroker } from "./broker_process.ts";

const TOPIC = 2;
const SET = 0;
const DELETE = 1;

async function overrides(client: RawClient, topic: string): Promise<Record<string, string>> {
  const r = await client.request(ApiKey.DescribeConfigs, 4, {
    resources: [{ resourceType: TOPIC, resourceName: topic, configurationKeys: null }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  const entries = r.results[0].configs.filter((c) => c.configSource === 1);
  return Object.fromEntries(entries.map((c) => [c.name, c.value ?? ""]));
}

Deno.test("IncrementalAlterConfigs changes topic overrides live, validates as Kafka, and keeps them across a restart", async () => {
  let broker = await startBroker({});
  let client = await RawClient.connect(broker.bootstrap);
  try {
    const created = await kcat(["-b", broker.bootstrap, "-P", "-t", "orders", "-p", "0"], "one\n");
    assert.equal(created.code, 0, created.stderr);

    const alter = (resources: Resource[], validateOnly = false) =>
      client.request(ApiKey.IncrementalAlterConfigs, 1, { resources, validateOnly });
    const dryRun = await alter([{
      resourceType: TOPIC,
      resourceName: "orders",
      configs: [{ name: "max.message.bytes", configOperation: SET, value: "1024" }],
    }], true);
    assert.equal(dryRun.responses[0].errorCode, ErrorCode.NONE);
    assert.deepEqual(await overrides(client, "orders"), {}, "validateOnly changes nothing");

    const answer = await alter([
      {
        resourceType: TOPIC,
        resourceName: "orders",
        configs: [{ name: "max.message.bytes", configOperation: SET, value: "1024" }],
      },
      {
        resourceType: TOPIC,
        resourceName: "missing",
        configs: [{ name: "retention.ms", configOperation: SET, value: "1" }],
      },
      { resourceType: TOPIC, resourceName: "twice", configs: [] },
      { resourceType: TOPIC, resourceName: "twice", configs: [] },
    ]);
    assert.deepEqual(
      answer.responses.map((r: { resourceName: string; errorCode: number }) => [r.resourceName, r.errorCode]),
      [
        ["orders", ErrorCode.NONE],
        ["missing", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ["twice", ErrorCode.INVALID_REQUEST],
        ["twice", ErrorCode.INVALID_REQUEST],
      ],
    );
    const bad = await alter([{
      resourceType: TOPIC,
      resourceName: "orders",
      configs: [{ name: "retention.ms", configOperation: SET, value: "soon" }],
    }]);
    assert.equal(bad.responses[0].errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(bad.responses[0].errorMessage ?? "", /Invalid value soon for configuration retention.ms/);
    assert.deepEqual(await overrides(client, "orders"), { "max.message.bytes": "1024" });

    const big = await kcat(["-b", broker.bootstrap, "-P", "-t", "orders", "-p", "0"], "x".repeat(3000) + "\n");
    assert.match(big.stderr, /Message size too large/, "the open partition enforces the new limit at once");

    // AlterConfigs replaces the whole set of overrides.
    const replaced = await client.request(ApiKey.AlterConfigs, 2, {
      resources: [{ resourceType: TOPIC, resourceName: "orders", configs: [{ name: "retention.ms", value: "60000" }] }],
      validateOnly: false,
    });
    assert.equal(replaced.responses[0].errorCode, ErrorCode.NONE);
    assert.deepEqual(await overrides(client, "orders"), { "retention.ms": "60000" });
    const fits = await kcat(["-b", broker.bootstrap, "-P", "-t", "orders", "-p", "0"], "x".repeat(3000) + "\n");
    assert.equal(fits.code, 0, fits.stderr);

    client.close();
    await broker.stop();
    broker = await startBroker({ dataDir: broker.dataDir, port: Number(broker.bootstrap.split(":")[1]) });
    client = await RawClient.connect(broker.bootstrap);
    assert.deepEqual(await overrides(client, "orders"), { "retention.ms": "60000" }, "kept across a restart");
    const removed = await alter([{
      resourceType: TOPIC,
      resourceName: "orders",
      configs: [{ name: "retention.ms", configOperation: DELETE, value: null }],
    }]);
    assert.equal(removed.responses[0].errorCode, ErrorCode.NONE);
    assert.deepEqual(await overrides(client, "orders"), {});
  } finally {
    client.close();
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});

Deno.test("ApiVersions carries the supported and finalized features of the cluster", async () => {
  const broker = await startBroker({});
  const client = await RawClient.connect(broker.bootstrap);
  try {
    const r = await client.request(ApiKey.ApiVersions, 4, { clientSoftwareName: "test", clientSoftwareVersion: "1" });
    const supported = new Map(
      r.supportedFeatures.map((f: { name: string; minVersion: number; maxVersion: number }) => [f.name, f]),
    );
    assert.equal(supported.get("metadata.version")?.minVersion, 7);
    const finalized = new Map(
      r.finalizedFeatures.map((f: { name: string; maxVersionLevel: number }) => [f.name, f.maxVersionLevel]),
    );
    assert.equal(finalized.get("metadata.version"), supported.get("metadata.version")?.maxVersion);
    assert.equal(finalized.get("group.version"), 1);
    assert.ok(r.finalizedFeaturesEpoch >= 0n);
    const old = await client.request(ApiKey.ApiVersions, 2, { clientSoftwareName: "", clientSoftwareVersion: "" });
    assert.equal(old.errorCode, ErrorCode.NONE, "older versions still answer");
  } finally {
    client.close();
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});
