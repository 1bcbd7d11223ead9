/**
 * Every differential scenario, in the order they run.
 *
 * @module
 */
import type { Scenario } from "../scenario.ts";
import { scenario as apiVersions } from "./api_versions.ts";
import { scenario as metadata } from "./metadata.ts";
import { scenario as createTopics } from "./create_topics.ts";
import { scenario as produce } from "./produce.ts";
import { scenario as recordValidation } from "./record_validation.ts";
import { scenario as fetch } from "./fetch.ts";
import { scenario as listOffsets } from "./list_offsets.ts";
import { scenario as offsetForLeaderEpoch } from "./offset_for_leader_epoch.ts";
import { scenario as describeConfigs } from "./describe_configs.ts";
import { scenario as initProducerId } from "./init_producer_id.ts";
import { scenario as deleteTopics } from "./delete_topics.ts";
import { scenario as createPartitions } from "./create_partitions.ts";
import { scenario as describeCluster } from "./describe_cluster.ts";
import { scenario as findCoordinator } from "./find_coordinator.ts";

/** All scenarios. */
export const SCENARIOS: readonly Scenario[] = [
  apiVersions,
  metadata,
  createTopics,
  produce,
  recordValidation,
  fetch,
  listOffsets,
  offsetForLeaderEpoch,
  describeConfigs,
  initProducerId,
  deleteTopics,
  createPartitions,
  describeCluster,
  findCoordinator,
];
