/**
 * Which broker coordinates a consumer group, asked with Samsa's own codec (FindCoordinator v3), for tests that
 * kill a group's coordinator and wait for another broker to take the group over.
 *
 * @module
 */
import { ApiKey } from "../../protocol/messages.ts";
import { RawClient } from "../diff/raw_client.ts";

/** A FindCoordinator answer: the coordinator's node id (-1 if none) and the error code (0 when found). */
export interface CoordinatorAnswer {
  nodeId: number;
  errorCode: number;
}

/**
 * Asks the broker at `bootstrap` for the coordinator of `group`.
 *
 * @example
 * ```ts ignore
 * const { nodeId } = await groupCoordinator(cluster.bootstrap(1), "readers");
 * ```
 */
export async function groupCoordinator(bootstrap: string, group: string): Promise<CoordinatorAnswer> {
  const client = await RawClient.connect(bootstrap, "samsa-test-coordinator");
  try {
    const answer = await client.request(ApiKey.FindCoordinator, 3, { key: group, keyType: 0, coordinatorKeys: [] });
    return { nodeId: answer.errorCode === 0 ? answer.nodeId : -1, errorCode: answer.errorCode };
  } finally {
    await client.close();
  }
}
