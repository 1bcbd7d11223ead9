/**
 * The API versions this broker serves, exactly what ApiVersions advertises and the dispatcher accepts.
 *
 * Record batches are magic v2 only, so Produce starts at v3 and Fetch at v4 (the first versions that carry v2
 * batches), as in Kafka 4.x (KIP-896). Each range is a subset of what Kafka 4.x serves.
 *
 * @module
 */
import { ApiKey } from "../protocol/messages.ts";

/** One served API and its version range. */
export interface SupportedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** Every served API, by key order. */
export const SUPPORTED_APIS: readonly SupportedApi[] = [
  { apiKey: ApiKey.Produce, minVersion: 3, maxVersion: 11 },
  { apiKey: ApiKey.Fetch, minVersion: 4, maxVersion: 17 },
  { apiKey: ApiKey.ListOffsets, minVersion: 1, maxVersion: 10 },
  { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 12 },
  { apiKey: ApiKey.OffsetCommit, minVersion: 2, maxVersion: 9 },
  { apiKey: ApiKey.OffsetFetch, minVersion: 1, maxVersion: 9 },
  { apiKey: ApiKey.FindCoordinator, minVersion: 0, maxVersion: 6 },
  { apiKey: ApiKey.JoinGroup, minVersion: 0, maxVersion: 9 },
  { apiKey: ApiKey.Heartbeat, minVersion: 0, maxVersion: 4 },
  { apiKey: ApiKey.LeaveGroup, minVersion: 0, maxVersion: 5 },
  { apiKey: ApiKey.SyncGroup, minVersion: 0, maxVersion: 5 },
  { apiKey: ApiKey.DescribeGroups, minVersion: 0, maxVersion: 5 },
  { apiKey: ApiKey.ListGroups, minVersion: 0, maxVersion: 5 },
  { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 },
  { apiKey: ApiKey.CreateTopics, minVersion: 2, maxVersion: 7 },
  { apiKey: ApiKey.DeleteTopics, minVersion: 1, maxVersion: 6 },
  { apiKey: ApiKey.DeleteRecords, minVersion: 0, maxVersion: 2 },
  // Versions 0-1 were removed in Kafka 4.0 (KIP-896).
  { apiKey: ApiKey.OffsetForLeaderEpoch, minVersion: 2, maxVersion: 4 },
  { apiKey: ApiKey.DeleteGroups, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.OffsetDelete, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.InitProducerId, minVersion: 0, maxVersion: 5 },
  { apiKey: ApiKey.DescribeConfigs, minVersion: 1, maxVersion: 4 },
  { apiKey: ApiKey.AlterConfigs, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.IncrementalAlterConfigs, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.ElectLeaders, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.DescribeLogDirs, minVersion: 1, maxVersion: 4 },
  { apiKey: ApiKey.CreatePartitions, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.DescribeQuorum, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.DescribeCluster, minVersion: 0, maxVersion: 1 },
  // Kafka 4.4 serves v0-1; v1 only adds AllowReplicationFactorChange (KIP-860), which clients send at v1 only
  // when set to false.
  { apiKey: ApiKey.AlterPartitionReassignments, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.ListPartitionReassignments, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.UnregisterBroker, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.ConsumerGroupHeartbeat, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.ConsumerGroupDescribe, minVersion: 0, maxVersion: 0 },
].sort((a, b) => a.apiKey - b.apiKey);

const BY_KEY = new Map(SUPPORTED_APIS.map((api) => [api.apiKey, api]));

/**
 * True when this broker serves `apiKey` at `apiVersion`.
 *
 * @example
 * ```ts
 * import { isSupported } from "./supported_apis.ts";
 * isSupported(0, 2); // false: Produce v2 carries magic v1 message sets
 * ```
 */
export function isSupported(apiKey: number, apiVersion: number): boolean {
  const api = BY_KEY.get(apiKey);
  return api !== undefined && apiVersion >= api.minVersion && apiVersion <= api.maxVersion;
}
