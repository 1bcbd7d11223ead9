/**
 * Planning of config changes (IncrementalAlterConfigs, AlterConfigs) as Kafka's ConfigurationControlManager
 * does them: each resource is validated against the metadata image and, unless it fails, becomes ConfigRecords
 * (a null value removes an override). Pure: the image and the request in, results and records out; the
 * controller (single node or the active controller of a cluster) commits the records.
 *
 * Only topic resources change here. Samsa has no dynamic broker configs (brokers read their properties file
 * at start), so a broker resource is refused with INVALID_REQUEST and says where to set it.
 *
 * @module
 */
import { ErrorCode } from "../protocol/messages.ts";
import { topicConfigDef, topicConfigProblem } from "./config.ts";
import { type MetadataImage, type MetadataRecord, TOPIC_RESOURCE } from "./metadata_image.ts";

/** Kafka's `AlterConfigOp.OpType` ids. */
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

/** `ConfigResource.Type` of a broker. */
const BROKER_RESOURCE = 4;

/** One resource's requested change. `replace` (AlterConfigs) makes the SETs the resource's whole override set. */
export interface ConfigResourceChange {
  resourceType: number;
  resourceName: string;
  configs: { name: string; operation: number; value: string | null }[];
  replace?: boolean;
}

/** The outcome for one resource, in request order. */
export interface ConfigChangeResult {
  resourceType: number;
  resourceName: string;
  errorCode: number;
  errorMessage: string | null;
}

/** Thrown inside the planner for one resource's failure. */
class ConfigChangeError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

function listOf(value: string): string[] {
  return value.split(",").map((v) => v.trim()).filter((v) => v !== "");
}

/** The overrides a resource ends with, or throws ConfigChangeError. */
function overridesAfter(current: ReadonlyMap<string, string>, change: ConfigResourceChange): Map<string, string> {
  const seen = new Set<string>();
  const next = change.replace ? new Map<string, string>() : new Map(current);
  for (const c of change.configs) {
    if (seen.has(c.name)) {
      throw new ConfigChangeError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys`);
    }
    seen.add(c.name);
    const def = topicConfigDef(c.name);
    if (def === undefined) {
      throw new ConfigChangeError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${c.name}`);
    }
    switch (c.operation) {
      case ConfigOperation.SET: {
        const problem = topicConfigProblem(c.name, c.value);
        if (problem !== undefined) throw new ConfigChangeError(ErrorCode.INVALID_CONFIG, problem);
        next.set(c.name, c.value!);
        break;
      }
      case ConfigOperation.DELETE:
        next.delete(c.name);
        break;
      case ConfigOperation.APPEND:
      case ConfigOperation.SUBTRACT: {
        if (def.type !== "list") {
          const verb = c.operation === ConfigOperation.APPEND ? "append" : "subtract";
          throw new ConfigChangeError(
            ErrorCode.INVALID_CONFIG,
            `Config value ${verb} is not allowed for config key: ${c.name}`,
          );
        }
        const values = listOf(next.get(c.name) ?? def.default);
        const operand = listOf(c.value ?? "");
        const result = c.operation === ConfigOperation.APPEND
          ? [...values, ...operand.filter((v) => !values.includes(v))]
          : values.filter((v) => !operand.includes(v));
        const value = result.join(",");
        const problem = topicConfigProblem(c.name, value);
        if (problem !== undefined) throw new ConfigChangeError(ErrorCode.INVALID_CONFIG, problem);
        next.set(c.name, value);
        break;
      }
      default:
        throw new ConfigChangeError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${c.operation}`);
    }
  }
  return next;
}

/**
 * Validates `changes` against `image`; returns one result per resource and the ConfigRecords of those that
 * succeed (only the overrides that really change).
 *
 * @example
 * ```ts
 * import { MetadataImage } from "./metadata_image.ts";
 * import { ConfigOperation, planConfigChanges } from "./config_changes.ts";
 * const image = new MetadataImage();
 * image.apply({ type: "topic", record: { name: "orders", topicId: "00000000-0000-0000-0000-000000000001" } });
 * const plan = planConfigChanges(image, [{
 *   resourceType: 2,
 *   resourceName: "orders",
 *   configs: [{ name: "retention.ms", operation: ConfigOperation.SET, value: "60000" }],
 * }]);
 * plan.records.length; // 1
 * ```
 */
export function planConfigChanges(
  image: MetadataImage,
  changes: readonly ConfigResourceChange[],
): { results: ConfigChangeResult[]; records: MetadataRecord[] } {
  const results: ConfigChangeResult[] = [];
  const records: MetadataRecord[] = [];
  for (const change of changes) {
    const { resourceType, resourceName } = change;
    const result = (errorCode: number, errorMessage: string | null) =>
      results.push({ resourceType, resourceName, errorCode, errorMessage });
    if (resourceType === BROKER_RESOURCE) {
      result(
        ErrorCode.INVALID_REQUEST,
        "Samsa has no dynamic broker configs: set them in the broker's properties (or --set) and restart it",
      );
      continue;
    }
    if (resourceType !== TOPIC_RESOURCE) {
      result(ErrorCode.INVALID_REQUEST, `Unexpected resource type ${resourceType}`);
      continue;
    }
    const topic = image.topic(resourceName);
    if (!topic) {
      result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${resourceName}' does not exist.`);
      continue;
    }
    let next: Map<string, string>;
    try {
      next = overridesAfter(topic.configs, change);
    } catch (e) {
      if (!(e instanceof ConfigChangeError)) throw e;
      result(e.code, e.message);
      continue;
    }
    const names = new Set([...topic.configs.keys(), ...next.keys()]);
    for (const name of [...names].sort()) {
      const value = next.get(name) ?? null;
      if (value === (topic.configs.get(name) ?? null)) continue;
      records.push({ type: "config", record: { resourceType, resourceName, name, value } });
    }
    result(ErrorCode.NONE, null);
  }
  return { results, records };
}
