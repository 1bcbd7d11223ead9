/**
 * AlterConfigs (key 33, v0-2), the older form of IncrementalAlterConfigs: each resource's configs given become
 * its whole set of overrides (those left out are removed), through the controller. Same validation and errors
 * as IncrementalAlterConfigs (`incremental_alter_configs.ts`).
 *
 * @module
 */
import type { ApiKey } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { ConfigOperation } from "../config_changes.ts";
import { alterConfigsInOrder } from "./incremental_alter_configs.ts";

/** Answers AlterConfigs. */
export const handleAlterConfigs: Handler<typeof ApiKey.AlterConfigs> = async (ctx, { body }) => {
  const changes = body.resources.map((r) => ({
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    configs: r.configs.map((c) => ({ name: c.name, operation: ConfigOperation.SET, value: c.value })),
    replace: true,
  }));
  const results = await alterConfigsInOrder(ctx, changes, body.validateOnly);
  return { throttleTimeMs: 0, responses: results };
};
