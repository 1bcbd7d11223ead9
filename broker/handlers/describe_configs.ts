/**
 * DescribeConfigs (key 32, v1-4): the effective configs of topics (resource type 2) and of this broker
 * (resource type 4, named by its node id), as Kafka's ConfigHelper reports them: value, source, sensitivity,
 * synonyms (when asked), type (v3+) and documentation (when asked). `configurationKeys` filters the entries;
 * null or empty lists them all.
 *
 * Sources and synonyms follow Kafka's rules, quirks included: a topic key's synonyms are its broker key's
 * static value, then its default, but only from its first broker key on, so `retention.ms` reports source
 * DEFAULT_CONFIG even when `log.retention.hours` is set (Kafka drops the chain before `log.retention.ms`).
 * Samsa has no dynamic broker configs, so every broker entry is read-only and the default-broker resource
 * (empty name) has no entries. Broker loggers (type 8) list Kafka's `root` logger at `log.level`; client metrics
 * (16) and group (32) resources are not served yet and answer INVALID_REQUEST.
 *
 * @module
 */
import { ApiKey, ErrorCode, errorInfo } from "../../protocol/messages.ts";
import type {
  DescribeConfigsResponseDescribeConfigsResourceResult as ConfigResult,
  DescribeConfigsResponseDescribeConfigsResult as ResourceResult,
  DescribeConfigsResponseDescribeConfigsSynonym as Synonym,
} from "../../protocol/generated/messages/describe_configs_response.ts";
import type { DescribeConfigsRequestDescribeConfigsResource as Resource } from "../../protocol/generated/messages/describe_configs_request.ts";
import type { BrokerContext, Handler } from "../broker_context.ts";
import {
  brokerConfigDef,
  CONFIG_TYPE_CODES,
  DESCRIBE_CONFIG_SOURCE_CODES as SOURCE,
  effectiveTopicConfig,
  type TopicConfigEntry,
} from "../config.ts";
import { topicNameProblem } from "../topic_name.ts";
import { checkResponseEstimate, responseLimit } from "../response_limit.ts";
import { slicerFor } from "../work_slices.ts";

/** Kafka's `ConfigResource.Type` ids. */
export const ConfigResourceType = {
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
  CLIENT_METRICS: 16,
  GROUP: 32,
} as const;

/** The DescribeConfigs source code of a logger level (Kafka's `DYNAMIC_BROKER_LOGGER_CONFIG`). */
const DYNAMIC_BROKER_LOGGER_CONFIG = 6;

const RESOURCE_TYPE_NAMES = new Map<number, string>(Object.entries(ConfigResourceType).map(([k, v]) => [v, k]));

interface Options {
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}

/** Answers DescribeConfigs. */
export const handleDescribeConfigs: Handler<typeof ApiKey.DescribeConfigs> = async (ctx, request) => {
  const { body } = request;
  // Kafka refuses the whole request when any resource has a type it does not know.
  if (body.resources.some((r) => !RESOURCE_TYPE_NAMES.has(r.resourceType))) {
    const message = errorInfo(ErrorCode.INVALID_REQUEST)?.message ?? null;
    return {
      throttleTimeMs: 0,
      results: body.resources.map((r) => resourceError(r, { code: ErrorCode.INVALID_REQUEST, message })),
    };
  }
  const options = { includeSynonyms: body.includeSynonyms, includeDocumentation: body.includeDocumentation };
  // Every resource answers with dozens of entries: a request of a million resources would build a response
  // of gigabytes, so its size is estimated (from below) as it grows and refused past the bound.
  const limit = responseLimit(ApiKey.DescribeConfigs, ctx.config);
  const slicer = slicerFor(request);
  const results: ResourceResult[] = [];
  let atLeastBytes = 0;
  for (const r of body.resources) {
    const result = describeResource(ctx, r, options);
    results.push(result);
    atLeastBytes += MIN_RESOURCE_BYTES + result.resourceName.length;
    for (const c of result.configs) atLeastBytes += MIN_CONFIG_BYTES + c.name.length;
    checkResponseEstimate("DescribeConfigs", atLeastBytes, limit);
    if (slicer.due()) await slicer.pause();
  }
  return { throttleTimeMs: 0, results };
};

/**
 * Fewest bytes a resource result takes on the wire in any version, its name's characters aside: error code (2),
 * error message (1, compact null), type (1), name length (1, compact), configs count (1, compact).
 */
const MIN_RESOURCE_BYTES = 6;
/**
 * Fewest bytes a config entry takes on the wire in any version, its name's characters aside: name length (1),
 * value (1, compact null), read-only (1), source or is-default (1), sensitive (1).
 */
const MIN_CONFIG_BYTES = 5;

function resourceError(r: Resource, error: { code: number; message: string | null }): ResourceResult {
  return {
    errorCode: error.code,
    errorMessage: error.message,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    configs: [],
  };
}

function describeResource(ctx: BrokerContext, r: Resource, options: Options): ResourceResult {
  const ok = (configs: ConfigResult[]): ResourceResult => ({
    errorCode: ErrorCode.NONE,
    errorMessage: "",
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    configs: r.configurationKeys === null || r.configurationKeys.length === 0
      ? configs
      : configs.filter((c) => r.configurationKeys!.includes(c.name)),
  });
  switch (r.resourceType) {
    case ConfigResourceType.TOPIC: {
      const problem = topicNameProblem(r.resourceName);
      if (problem !== undefined) return resourceError(r, { code: ErrorCode.INVALID_TOPIC_EXCEPTION, message: problem });
      const topic = ctx.metadata.topic(r.resourceName);
      if (!topic) return resourceError(r, { code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: "" });
      const entries = effectiveTopicConfig(ctx.config, Object.fromEntries(topic.configs));
      return ok(entries.map((e) => topicConfigResult(ctx, e, options)));
    }
    case ConfigResourceType.BROKER: {
      if (r.resourceName === "") return ok([]); // dynamic cluster-wide defaults: Samsa has none
      const id = brokerId(r.resourceName);
      if (id === undefined) return notAnInteger(r);
      if (id !== ctx.nodeId) {
        return resourceError(r, {
          code: ErrorCode.INVALID_REQUEST,
          message: `Unexpected broker id, expected ${ctx.nodeId} or empty string, but received ${r.resourceName}`,
        });
      }
      return ok(brokerConfigResults(ctx, options));
    }
    case ConfigResourceType.BROKER_LOGGER: {
      if (r.resourceName === "") {
        return resourceError(r, { code: ErrorCode.INVALID_REQUEST, message: "Broker id must not be empty" });
      }
      const id = brokerId(r.resourceName);
      if (id === undefined) return notAnInteger(r);
      if (id !== ctx.nodeId) {
        return resourceError(r, {
          code: ErrorCode.INVALID_REQUEST,
          message: `Unexpected broker id, expected ${ctx.nodeId} but received ${r.resourceName}`,
        });
      }
      // Samsa has one logger, Kafka's `root`, at `log.level` (Kafka's level names are upper case).
      return ok([{
        name: "root",
        value: ctx.config.logLevel.toUpperCase(),
        readOnly: false,
        isDefault: false,
        configSource: DYNAMIC_BROKER_LOGGER_CONFIG,
        isSensitive: false,
        synonyms: [],
        configType: 0,
        documentation: "",
      }]);
    }
    default:
      return resourceError(r, {
        code: ErrorCode.INVALID_REQUEST,
        message: `Unsupported resource type: ${RESOURCE_TYPE_NAMES.get(r.resourceType)}`,
      });
  }
}

/** The broker id a resource name holds, parsed as Java's `Integer.parseInt` would, or undefined. */
function brokerId(name: string): number | undefined {
  if (!/^[+-]?\d+$/.test(name)) return undefined;
  const id = Number(name);
  return id >= -2147483648 && id <= 2147483647 ? id : undefined;
}

function notAnInteger(r: Resource): ResourceResult {
  return resourceError(r, {
    code: ErrorCode.INVALID_REQUEST,
    message: `Broker id must be an integer, but it is: ${r.resourceName}`,
  });
}

/** A broker key's synonym chain as Kafka's `configSynonyms` builds it: static values first, then defaults. */
function brokerSynonyms(ctx: BrokerContext, names: readonly string[], sensitive: boolean): Synonym[] {
  const out: Synonym[] = [];
  for (const name of names) {
    if (ctx.config.isSet(name)) {
      out.push({ name, value: sensitive ? null : ctx.config.get(name) ?? null, source: SOURCE.STATIC_BROKER_CONFIG });
    }
  }
  for (const name of names) {
    const dflt = brokerConfigDef(name)?.default ?? null;
    if (dflt !== null) out.push({ name, value: sensitive ? null : dflt, source: SOURCE.DEFAULT_CONFIG });
  }
  return out;
}

function topicConfigResult(ctx: BrokerContext, e: TopicConfigEntry, options: Options): ConfigResult {
  const d = e.definition;
  const sensitive = d.sensitive || d.type === "password";
  const value = sensitive ? null : e.value;
  const brokerNames = d.synonyms.map((s) => s.name);
  let synonyms = brokerSynonyms(ctx, brokerNames, sensitive);
  // Kafka keeps the chain only from the topic key's first broker synonym on.
  const start = synonyms.findIndex((s) => s.name === brokerNames[0]);
  synonyms = start < 0 ? [] : synonyms.slice(start);
  if (e.source === "topic") synonyms.unshift({ name: d.name, value, source: SOURCE.TOPIC_CONFIG });
  return {
    name: d.name,
    value,
    readOnly: d.readOnly,
    isDefault: false,
    configSource: synonyms[0]?.source ?? SOURCE.DEFAULT_CONFIG,
    isSensitive: sensitive,
    synonyms: options.includeSynonyms ? synonyms : [],
    configType: CONFIG_TYPE_CODES[d.type],
    documentation: options.includeDocumentation ? d.doc : null,
  };
}

function brokerConfigResults(ctx: BrokerContext, options: Options): ConfigResult[] {
  return ctx.config.entries().map((entry) => {
    const d = entry.definition;
    // Kafka treats keys it has no definition for as possibly secret.
    const sensitive = d === undefined || d.sensitive === true || d.type === "password";
    const synonyms = brokerSynonyms(ctx, [entry.key], sensitive);
    return {
      name: entry.key,
      value: sensitive ? null : entry.value,
      readOnly: true,
      isDefault: false,
      configSource: synonyms[0]?.source ?? SOURCE.DEFAULT_CONFIG,
      isSensitive: sensitive,
      synonyms: options.includeSynonyms ? synonyms : [],
      configType: d === undefined ? 0 : CONFIG_TYPE_CODES[d.type],
      documentation: options.includeDocumentation ? d?.doc ?? null : null,
    };
  });
}
