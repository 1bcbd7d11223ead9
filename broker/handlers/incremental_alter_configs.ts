/**
 * IncrementalAlterConfigs (key 44, v0-1): SET, DELETE, APPEND or SUBTRACT topic config overrides, through the
 * controller (ConfigRecords in `__cluster_metadata`; on a cluster the active controller commits them and every
 * broker applies them to its open partitions). Validation and errors as Kafka's: INVALID_CONFIG for an unknown
 * key or a bad value, UNKNOWN_TOPIC_OR_PARTITION for a missing topic, INVALID_REQUEST for a resource named
 * twice; `validateOnly` checks and changes nothing. See `broker/config_changes.ts`.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import type { ConfigChangeResult, ConfigResourceChange } from "../config_changes.ts";
import type { BrokerContext } from "../broker_context.ts";

/**
 * Sends `changes` to the controller, except resources named more than once, which Kafka answers with
 * INVALID_REQUEST without changing them; results stay in request order.
 */
export async function alterConfigsInOrder(
  ctx: BrokerContext,
  changes: ConfigResourceChange[],
  validateOnly: boolean,
): Promise<ConfigChangeResult[]> {
  const keyOf = (c: ConfigResourceChange) => `${c.resourceType}:${c.resourceName}`;
  const count = new Map<string, number>();
  for (const c of changes) count.set(keyOf(c), (count.get(keyOf(c)) ?? 0) + 1);
  const unique = changes.filter((c) => count.get(keyOf(c)) === 1);
  const answers = unique.length > 0 ? await ctx.controller.alterConfigs(unique, validateOnly) : [];
  const byKey = new Map(answers.map((a) => [`${a.resourceType}:${a.resourceName}`, a]));
  return changes.map((c) =>
    byKey.get(keyOf(c)) ?? {
      resourceType: c.resourceType,
      resourceName: c.resourceName,
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: "Error due to duplicate resources",
    }
  );
}

/** Answers IncrementalAlterConfigs. */
export const handleIncrementalAlterConfigs: Handler<typeof ApiKey.IncrementalAlterConfigs> = async (ctx, { body }) => {
  const changes = body.resources.map((r) => ({
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    configs: r.configs.map((c) => ({ name: c.name, operation: c.configOperation, value: c.value })),
  }));
  const results = await alterConfigsInOrder(ctx, changes, body.validateOnly);
  return { throttleTimeMs: 0, responses: results };
};
