/**
 * CreateTopics (key 19, v2-7): validates and creates topics through the controller. From v5 each created
 * topic's result carries its partition count, replication factor and effective configs; from v7 its topic id.
 *
 * As Kafka's ControllerApis does, a name given more than once gets one INVALID_REQUEST result ("Duplicate topic
 * name."), placed after the results of the other topics, and `__cluster_metadata` comes last. A `timeoutMs` of 0
 * or less times every topic out (REQUEST_TIMED_OUT) without creating anything, as Kafka 4.x does.
 *
 * @module
 */
import { type ApiKey, ErrorCode, ZERO_UUID } from "../../protocol/messages.ts";
import type { CreateTopicsResponseCreatableTopicConfigs } from "../../protocol/generated/messages/create_topics_response.ts";
import type { CreateTopicsResponseCreatableTopicResult } from "../../protocol/generated/messages/create_topics_response.ts";
import type { BrokerContext, Handler, TopicChangeResult, TopicCreation } from "../broker_context.ts";
import { DESCRIBE_CONFIG_SOURCE_CODES, effectiveTopicConfig } from "../config.ts";
import { METADATA_TOPIC } from "../metadata_log.ts";

/** The DescribeConfigs source code of an effective topic config entry's source. */
const SOURCE_CODE = {
  topic: DESCRIBE_CONFIG_SOURCE_CODES.TOPIC_CONFIG,
  static_broker: DESCRIBE_CONFIG_SOURCE_CODES.STATIC_BROKER_CONFIG,
  default: DESCRIBE_CONFIG_SOURCE_CODES.DEFAULT_CONFIG,
} as const;

/**
 * The effective configs of a topic created with `overrides`, in name order, as CreateTopics v5+ returns them.
 *
 * @example
 * ```ts ignore
 * createdTopicConfigs(ctx, { "retention.ms": "1000" }).find((c) => c.name === "retention.ms")?.configSource; // 1
 * ```
 */
export function createdTopicConfigs(
  ctx: BrokerContext,
  overrides: Readonly<Record<string, string>>,
): CreateTopicsResponseCreatableTopicConfigs[] {
  return effectiveTopicConfig(ctx.config, overrides).map((e) => ({
    name: e.name,
    value: e.definition.sensitive ? null : e.value,
    readOnly: e.definition.readOnly,
    configSource: SOURCE_CODE[e.source],
    isSensitive: e.definition.sensitive,
  }));
}

/** Answers CreateTopics. */
export const handleCreateTopics: Handler<typeof ApiKey.CreateTopics> = async (ctx, { body }) => {
  if (body.timeoutMs <= 0) {
    // Kafka 4.x: the controller's deadline has passed before it starts, so nothing is created.
    return {
      throttleTimeMs: 0,
      topics: body.topics.map((t) =>
        topicResult(ctx, {
          name: t.name,
          topicId: ZERO_UUID,
          errorCode: ErrorCode.REQUEST_TIMED_OUT,
          errorMessage: null,
          numPartitions: -1,
          replicationFactor: -1,
        }, {})
      ),
    };
  }
  // CreateTopics allows null config values; the controller refuses them with INVALID_CONFIG, as Kafka does.
  const creations: TopicCreation[] = body.topics.map((t) => ({
    name: t.name,
    numPartitions: t.numPartitions,
    replicationFactor: t.replicationFactor,
    assignments: t.assignments.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: [...a.brokerIds] })),
    configs: Object.fromEntries(t.configs.map((c) => [c.name, c.value])) as Record<string, string>,
  }));
  const results = await ctx.controller.createTopics(creations, body.validateOnly);

  const count = new Map<string, number>();
  for (const t of body.topics) count.set(t.name, (count.get(t.name) ?? 0) + 1);
  const first: CreateTopicsResponseCreatableTopicResult[] = [];
  const duplicates: CreateTopicsResponseCreatableTopicResult[] = [];
  const internal: CreateTopicsResponseCreatableTopicResult[] = [];
  const answered = new Set<string>();
  results.forEach((r, i) => {
    if (answered.has(r.name)) return;
    answered.add(r.name);
    const result = topicResult(ctx, r, creations[i].configs);
    if ((count.get(r.name) ?? 0) > 1) duplicates.push(result);
    else if (r.name === METADATA_TOPIC) internal.push(result);
    else first.push(result);
  });
  return { throttleTimeMs: 0, topics: [...first, ...duplicates, ...internal] };
};

function topicResult(
  ctx: BrokerContext,
  r: TopicChangeResult,
  overrides: Record<string, string>,
): CreateTopicsResponseCreatableTopicResult {
  if (r.errorCode !== ErrorCode.NONE) {
    return {
      name: r.name,
      topicId: ZERO_UUID,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      topicConfigErrorCode: ErrorCode.NONE,
      numPartitions: -1,
      replicationFactor: -1,
      configs: [],
    };
  }
  return {
    name: r.name,
    topicId: r.topicId,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topicConfigErrorCode: ErrorCode.NONE,
    numPartitions: r.numPartitions,
    replicationFactor: r.replicationFactor,
    configs: createdTopicConfigs(ctx, overrides),
  };
}
