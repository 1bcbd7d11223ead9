/**
 * FindCoordinator (key 10): with one broker, this broker coordinates every group and transactional id. Both
 * the single-key form (v0-3) and the batched form (v4+, KIP-699) are answered. Asking for a group coordinator
 * creates `__consumer_offsets` first when it does not exist yet, as Kafka does.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { advertisedEndpoint } from "./metadata.ts";

const GROUP = 0;
const TRANSACTION = 1;

/** Answers FindCoordinator. */
export const handleFindCoordinator: Handler<typeof ApiKey.FindCoordinator> = async (ctx, request, conn) => {
  const { body, apiVersion } = request;
  let offsetsTopicError: string | undefined;
  if (body.keyType === GROUP) {
    try {
      await ctx.groups?.ensureOffsetsTopic();
    } catch (e) {
      // Kafka answers COORDINATOR_NOT_AVAILABLE while `__consumer_offsets` cannot be created; clients retry.
      offsetsTopicError = e instanceof Error ? e.message : String(e);
      ctx.logger.warn("cannot create the offsets topic", { error: offsetsTopicError });
    }
  }
  const endpoint = advertisedEndpoint(ctx, conn.listenerName);
  const answer = (keyType: number) =>
    offsetsTopicError !== undefined
      ? {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: offsetsTopicError,
        nodeId: -1,
        host: "",
        port: -1,
      }
      : keyType === GROUP || keyType === TRANSACTION
      ? { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: ctx.nodeId, host: endpoint.host, port: endpoint.port }
      : {
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `Unknown key type ${keyType}`,
        nodeId: -1,
        host: "",
        port: -1,
      };
  if (apiVersion >= 4) {
    return {
      throttleTimeMs: 0,
      // v4+ carries only `coordinators`; the single-key fields keep their defaults.
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      nodeId: 0,
      host: "",
      port: 0,
      coordinators: body.coordinatorKeys.map((key) => ({ key, ...answer(body.keyType) })),
    };
  }
  return { throttleTimeMs: 0, ...answer(body.keyType), coordinators: [] };
};
