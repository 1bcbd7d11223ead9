/**
 * FindCoordinator for consumer groups at v2 (not flexible; kafkajs), v3 (flexible, one key) and v4+ (batched
 * keys, KIP-699; Java 4.x and librdkafka 2.x), and for a transactional id. The first request for a group may
 * answer COORDINATOR_NOT_AVAILABLE while the offsets topic is created; the scenario retries (unrecorded) until
 * it does not, as clients do.
 *
 * @module
 */
import { ApiKey } from "../../../protocol/messages.ts";
import type { FindCoordinatorRequest } from "../../../protocol/generated/mod.ts";
import type { Scenario } from "../scenario.ts";

const GROUP = 0;
const TRANSACTION = 1;

function find(key: string, keyType = GROUP, version = 3): FindCoordinatorRequest {
  return version >= 4 ? { key: "", keyType, coordinatorKeys: [key] } : { key, keyType, coordinatorKeys: [] };
}

/** FindCoordinator scenarios. */
export const scenario: Scenario = {
  name: "find_coordinator",
  description: "FindCoordinator v2/v3/v4/v6 for groups, batched keys, a transactional id",
  async run(s) {
    const group = s.topic("group");
    await s.stepRetrying("group v3 (after retries)", ApiKey.FindCoordinator, 3, find(group));
    await s.step("group v2", ApiKey.FindCoordinator, 2, find(group, GROUP, 2));
    await s.step("group v4", ApiKey.FindCoordinator, 4, find(group, GROUP, 4));
    await s.step("group v6", ApiKey.FindCoordinator, 6, find(group, GROUP, 6));
    await s.step("two groups in one request v6", ApiKey.FindCoordinator, 6, {
      key: "",
      keyType: GROUP,
      coordinatorKeys: [s.topic("group-b"), s.topic("group-c")],
    });
    await s.step("empty group id v3", ApiKey.FindCoordinator, 3, find(""));
    await s.step("unknown key type 7 v3", ApiKey.FindCoordinator, 3, find(group, 7));
    await s.stepRetrying(
      "transactional id v3 (after retries)",
      ApiKey.FindCoordinator,
      3,
      find(s.topic("txn"), TRANSACTION),
    );
  },
};
