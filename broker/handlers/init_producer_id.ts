/**
 * InitProducerId (key 22) for idempotent producers: like Kafka, every request without a transactional id gets
 * a fresh producer id at epoch 0 (an id and epoch presented under KIP-360 are not bumped but replaced).
 * Transactional ids are not served yet (the transactions issue adds the transaction coordinator), so they are
 * refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, an error clients report instead of retrying.
 *
 * When a new block of producer ids cannot be reserved (the metadata log cannot be written: a full or failing
 * disk), the answer is COORDINATOR_LOAD_IN_PROGRESS, as Kafka's ProducerIdManager answers while it has no block:
 * a retriable error every client retries (older ones treat REQUEST_TIMED_OUT here as fatal).
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import { LogError } from "../../log/log_error.ts";
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
  let producerId: bigint;
  try {
    producerId = await ctx.controller.allocateProducerId();
  } catch (e) {
    if (!(e instanceof LogError) || e.kind !== "storage") throw e;
    ctx.logger.warn("cannot reserve producer ids", { error: e.message });
    return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, producerId: -1n, producerEpoch: -1 };
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
};
