/** Planning of IncrementalAlterConfigs / AlterConfigs changes against the metadata image (pure). */
import assert from "node:assert/strict";
import { ConfigOperation, planConfigChanges } from "../../../broker/config_changes.ts";
import { MetadataImage } from "../../../broker/metadata_image.ts";
import { ErrorCode } from "../../../protocol/messages.ts";

const TOPIC = 2;
const BROKER = 4;
const { SET, DELETE, APPEND, SUBTRACT } = ConfigOperation;

function imageWith(configs: Record<string, string> = {}): MetadataImage {
  const image = new MetadataImage();
  image.apply({ type: "topic", record: { name: "orders", topicId: "00000000-0000-4000-8000-000000000001" } });
  for (const [name, value] of Object.entries(configs)) {
    image.apply({ type: "config", record: { resourceType: TOPIC, resourceName: "orders", name, value } });
  }
  return image;
}

function change(configs: { name: string; operation: number; value: string | null }[], replace = false) {
  return { resourceType: TOPIC, resourceName: "orders", configs, replace };
}

Deno.test("SET and DELETE become ConfigRecords of just the overrides that change", () => {
  const image = imageWith({ "retention.ms": "1000", "segment.ms": "5000" });
  const plan = planConfigChanges(image, [change([
    { name: "retention.ms", operation: SET, value: "2000" },
    { name: "segment.ms", operation: DELETE, value: null },
    { name: "cleanup.policy", operation: DELETE, value: null },
  ])]);
  assert.deepEqual(plan.results, [{ resourceType: TOPIC, resourceName: "orders", errorCode: 0, errorMessage: null }]);
  assert.deepEqual(plan.records.map((r) => r.type === "config" && [r.record.name, r.record.value]), [
    ["retention.ms", "2000"],
    ["segment.ms", null],
  ]);
});

Deno.test("APPEND and SUBTRACT edit a list config from its current or default value", () => {
  const appended = planConfigChanges(imageWith(), [
    change([{ name: "cleanup.policy", operation: APPEND, value: "compact" }]),
  ]);
  assert.deepEqual(appended.records.map((r) => r.type === "config" && r.record.value), ["delete,compact"]);
  const subtracted = planConfigChanges(imageWith({ "cleanup.policy": "delete,compact" }), [
    change([{ name: "cleanup.policy", operation: SUBTRACT, value: "delete" }]),
  ]);
  assert.deepEqual(subtracted.records.map((r) => r.type === "config" && r.record.value), ["compact"]);
});

Deno.test("invalid changes get Kafka's error codes and commit nothing for that resource", () => {
  const plan = planConfigChanges(imageWith(), [
    change([{ name: "retention.ms", operation: SET, value: "abc" }]),
    change([{ name: "no.such.config", operation: SET, value: "1" }]),
    change([{ name: "retention.ms", operation: APPEND, value: "1" }]),
    change([{ name: "retention.ms", operation: SET, value: "1" }, {
      name: "retention.ms",
      operation: DELETE,
      value: null,
    }]),
    { resourceType: TOPIC, resourceName: "missing", configs: [{ name: "retention.ms", operation: SET, value: "1" }] },
    { resourceType: BROKER, resourceName: "1", configs: [{ name: "log.retention.ms", operation: SET, value: "1" }] },
  ]);
  assert.deepEqual(plan.results.map((r) => r.errorCode), [
    ErrorCode.INVALID_CONFIG,
    ErrorCode.INVALID_CONFIG,
    ErrorCode.INVALID_CONFIG,
    ErrorCode.INVALID_REQUEST,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.INVALID_REQUEST,
  ]);
  assert.equal(
    plan.results[0].errorMessage,
    "Invalid value abc for configuration retention.ms: Not a number of type LONG",
  );
  assert.equal(plan.results[4].errorMessage, "The topic 'missing' does not exist.");
  assert.equal(plan.records.length, 0);
});

Deno.test("AlterConfigs (replace) removes the overrides it does not name", () => {
  const plan = planConfigChanges(imageWith({ "retention.ms": "1000", "segment.ms": "5000" }), [
    change([{ name: "max.message.bytes", operation: SET, value: "2048" }], true),
  ]);
  assert.deepEqual(plan.records.map((r) => r.type === "config" && [r.record.name, r.record.value]), [
    ["max.message.bytes", "2048"],
    ["retention.ms", null],
    ["segment.ms", null],
  ]);
});
