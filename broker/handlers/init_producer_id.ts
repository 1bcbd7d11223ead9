/**
 * InitProducerId (key 22) for idempotent producers: like Kafka, every request without a transactional id gets
 * a fresh producer id at epoch 0 (an id and epoch presented under KIP-360 are not bumped but replaced).
 * Transactional ids are not served yet (the transactions issue adds the transaction coordinator), so they are
 * refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, an error clients report instead of retrying.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";

/** Answers InitProducerId. */
export const handleInitProducerId: Handler<typeof ApiKey.InitProducerId> = async (ctx, request) => {
  const { body } = request;
  if (body.transactionalId !== null) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      producerId: -1n,
      producerEpoch: -1,
    };
  }
  const producerId = await ctx.controller.allocateProducerId();
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
};
