/**
 * InitProducerId for idempotent (non-transactional) producers at v1 (not flexible; kafkajs), v2 (first
 * flexible) and v4/v5 (Java 4.x, librdkafka 2.x): a new producer id each time with epoch 0, and what happens
 * when a client passes an existing id and epoch without a transactional id (KIP-360).
 *
 * @module
 */
import { ApiKey } from "../../../protocol/messages.ts";
import type { InitProducerIdRequest } from "../../../protocol/generated/mod.ts";
import type { Scenario } from "../scenario.ts";

function init(producerId = -1n, producerEpoch = -1): InitProducerIdRequest {
  return { transactionalId: null, transactionTimeoutMs: 60_000, producerId, producerEpoch };
}

/** InitProducerId scenarios. */
export const scenario: Scenario = {
  name: "init_producer_id",
  description: "InitProducerId v1/v2/v4/v5 without a transactional id",
  async run(s) {
    const first = await s.stepRetrying("new producer v4", ApiKey.InitProducerId, 4, init());
    for (const v of [1, 2, 5]) await s.step(`new producer v${v}`, ApiKey.InitProducerId, v, init());
    await s.step("new producer again v4 (a different id)", ApiKey.InitProducerId, 4, init());
    if (first === undefined || first.errorCode !== 0) return;
    await s.step(
      "existing id and epoch, no transactional id v4",
      ApiKey.InitProducerId,
      4,
      init(first.producerId, first.producerEpoch),
    );
    await s.step("unknown id with epoch 3, no transactional id v4", ApiKey.InitProducerId, 4, init(123_456_789n, 3));
    await s.step("negative transaction timeout v4", ApiKey.InitProducerId, 4, {
      ...init(),
      transactionTimeoutMs: -1,
    });
  },
};
