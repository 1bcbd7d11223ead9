/**
 * Test helper: a broker assembled in-process as `broker/broker.ts` assembles it (metadata log, replica manager,
 * controller, group coordinator, the produce handler), every file on one `PowerLossFileSystem`, so a test can
 * pull the plug (`fs.crash()`) at any point and start the node again over what the disk kept.
 *
 * @module
 */
import type { BrokerContext } from "../../../broker/broker_context.ts";
import { BrokerConfig } from "../../../broker/config.ts";
import { LocalController } from "../../../broker/controller.ts";
import { GroupCoordinator } from "../../../broker/group/group_coordinator.ts";
import { handleProduce } from "../../../broker/handlers/produce.ts";
import { silentLogger } from "../../../broker/logger.ts";
import { METADATA_TOPIC, MetadataLog } from "../../../broker/metadata_log.ts";
import { ReplicaManager } from "../../../broker/replication/replica_manager.ts";
import type { FileSystem } from "../../../log/file_system.ts";
import type { ProduceResponse } from "../../../protocol/generated/messages/produce_response.ts";
import { testConnection } from "./replica_fixture.ts";

/** The log directory every power-loss node uses. */
export const DATA_DIR = "/data";

/** A broker's parts, opened over a (fake) file system. */
export interface PowerLossNode {
  ctx: BrokerContext;
  metadata: MetadataLog;
  replicas: ReplicaManager;
  controller: LocalController;
  groups: GroupCoordinator;
  /** Closes cleanly, as SIGTERM does: snapshots, flushes, clean-shutdown markers. */
  close(): Promise<void>;
}

/**
 * Opens a node over `fs` (the log directory `DATA_DIR` must exist on it): replays the metadata log, opens and
 * recovers every partition, loads the groups, as `startBroker` does.
 */
export async function openNode(fs: FileSystem, settings: Record<string, string> = {}): Promise<PowerLossNode> {
  const config = BrokerConfig.from(
    Object.entries({ "log.dirs": DATA_DIR, "offsets.topic.num.partitions": "2", ...settings }).map((
      [key, value],
    ) => ({ key, value, source: { kind: "flag" as const, flag: `--set ${key}=${value}` } })),
  );
  const metadata = await MetadataLog.open(`${DATA_DIR}/${METADATA_TOPIC}-0`, { fs });
  const replicas = new ReplicaManager(config, silentLogger, { fs });
  for (const topic of metadata.image.topics()) await replicas.ensureTopic(topic);
  const controller = new LocalController(metadata, replicas, config, silentLogger);
  const groups = new GroupCoordinator({
    config,
    metadata: metadata.image,
    replicas,
    controller,
    logger: silentLogger,
    now: Date.now,
  });
  await groups.load();
  const ctx: BrokerContext = {
    config,
    nodeId: config.nodeId,
    clusterId: "samsa-power-loss",
    advertised: new Map([["PLAINTEXT", { host: "127.0.0.1", port: 9092 }]]),
    metadata: metadata.image,
    replicas,
    controller,
    groups,
    logger: silentLogger,
    now: () => Date.now(),
  };
  return {
    ctx,
    metadata,
    replicas,
    controller,
    groups,
    async close() {
      groups.close();
      await replicas.close();
      await metadata.close();
    },
  };
}

/** Creates a topic through the controller (durable in the metadata log when it resolves). */
export async function createTopic(
  node: PowerLossNode,
  name: string,
  partitions = 1,
  configs: Record<string, string> = {},
): Promise<void> {
  const [result] = await node.controller.createTopics([
    { name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs },
  ], false);
  if (result.errorCode !== 0) throw new Error(`creating ${name}: ${result.errorCode} ${result.errorMessage}`);
}

/** One partition's answer to a Produce request sent through the real handler. */
export interface ProduceAnswer {
  errorCode: number;
  baseOffset: number;
}

/** Sends `batch` to `topic`-`partition` through `handleProduce` with `acks`; resolves with the answer. */
export async function produceThroughHandler(
  ctx: BrokerContext,
  topic: string,
  partition: number,
  batch: Uint8Array,
  acks: number,
): Promise<ProduceAnswer> {
  const apiVersion = 9;
  const header = { requestApiKey: 0, requestApiVersion: apiVersion, correlationId: 1, clientId: "power-loss" };
  const body = {
    transactionalId: null,
    acks,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  };
  const response = await handleProduce(ctx, { apiVersion, header, body }, testConnection()) as ProduceResponse;
  const answer = response.responses[0].partitionResponses[0];
  return { errorCode: answer.errorCode, baseOffset: Number(answer.baseOffset) };
}
