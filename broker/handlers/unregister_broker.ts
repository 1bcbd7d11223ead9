/**
 * UnregisterBroker (key 64), what `kafka-cluster unregister --id N` sends: forwarded to the active controller,
 * which commits an UnregisterBrokerRecord (the partitions the broker led lose their leader first).
 * BROKER_ID_NOT_REGISTERED for an id that is not registered. A single node has no registrations to remove.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";

/** Answers UnregisterBroker. */
export const handleUnregisterBroker: Handler<typeof ApiKey.UnregisterBroker> = async (ctx, request) => {
  const brokerId = request.body.brokerId;
  if (!ctx.unregisterBroker) {
    return ctx.nodeId === brokerId
      ? {
        throttleTimeMs: 0,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: "a single-node broker is not registered with a controller quorum",
      }
      : {
        throttleTimeMs: 0,
        errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED,
        errorMessage: `Broker ID ${brokerId} is not currently registered`,
      };
  }
  const answer = await ctx.unregisterBroker(brokerId);
  return { throttleTimeMs: 0, ...answer };
};
