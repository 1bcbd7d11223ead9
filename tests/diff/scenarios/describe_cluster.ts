/**
 * DescribeCluster v0 and v1 (Java 4.x admin clients use it instead of Metadata): brokers, controller, cluster
 * id, and asking for controller endpoints, which a broker refuses.
 *
 * @module
 */
import { ApiKey } from "../../../protocol/messages.ts";
import type { Scenario } from "../scenario.ts";

const BROKERS = 1;
const CONTROLLERS = 2;

/** DescribeCluster scenarios. */
export const scenario: Scenario = {
  name: "describe_cluster",
  description: "DescribeCluster v0/v1: brokers, controller, cluster id, endpoint types",
  async run(s) {
    await s.step("brokers v0", ApiKey.DescribeCluster, 0, {
      includeClusterAuthorizedOperations: false,
      endpointType: BROKERS,
    });
    await s.step("brokers v1", ApiKey.DescribeCluster, 1, {
      includeClusterAuthorizedOperations: false,
      endpointType: BROKERS,
    });
    await s.step("with authorized operations v1", ApiKey.DescribeCluster, 1, {
      includeClusterAuthorizedOperations: true,
      endpointType: BROKERS,
    });
    await s.step("controllers from a broker v1", ApiKey.DescribeCluster, 1, {
      includeClusterAuthorizedOperations: false,
      endpointType: CONTROLLERS,
    });
  },
};
