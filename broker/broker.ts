/**
 * The broker: opens the metadata log and every partition log (recovering what a crash left), then serves the
 * Kafka APIs on the configured listeners until `close()`.
 *
 * Startup order: metadata image → partition replicas → controller → listeners. Shutdown runs it backwards:
 * stop accepting and finish in-flight requests, then flush and close every log (writing their clean markers).
 *
 * @module
 */
import { DenoFileSystem, type FileSystem } from "../log/file_system.ts";
import type { BrokerConfig } from "./config.ts";
import type { BrokerContext, Controller, QuorumDescription } from "./broker_context.ts";
import { LocalController } from "./controller.ts";
import { GroupCoordinator } from "./group/group_coordinator.ts";
import { consumerGroupConfigFrom } from "./group/consumer_group.ts";
import { ConsumerGroupManager } from "./group/consumer_group_manager.ts";
import { KafkaServer, serverOptionsFromConfig } from "./listener.ts";
import { LogDirMonitor } from "./log_dir_monitor.ts";
import { prepareLogDir } from "./log_dir_access.ts";
import type { Logger } from "./logger.ts";
import { METADATA_TOPIC, MetadataLog } from "./metadata_log.ts";
import type { MetadataImage, TopicImage } from "./metadata_image.ts";
import { readOpenFilesLimit, recommendedOpenFilesLimit } from "./open_files_limit.ts";
import { clusterSettings } from "./metadata/cluster_config.ts";
import { type ClusterNode, startClusterNode } from "./metadata/cluster_node.ts";
import { ReplicaManager } from "./replication/replica_manager.ts";
import { RequestDispatcher } from "./request_dispatcher.ts";

/** A running broker. */
export interface RunningBroker {
  /** The bound address of each listener (port 0 in the config becomes the real port here). */
  readonly addresses: readonly { name: string; hostname: string; port: number }[];
  /** Stops accepting, finishes requests in progress (within `shutdown.timeout.ms`), flushes and closes the logs. */
  close(): Promise<void>;
}

const META_PROPERTIES = "meta.properties";

/** A new cluster id as Kafka makes them: 16 random bytes, URL-safe base64 without padding (22 characters). */
function newClusterId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Reads or creates `meta.properties` in the log directory: the cluster id survives restarts. */
function clusterIdFor(logDir: string, config: BrokerConfig): string {
  const path = `${logDir}/${META_PROPERTIES}`;
  let stored: string | undefined;
  try {
    stored = Deno.readTextFileSync(path).match(/^cluster\.id=(.*)$/m)?.[1]?.trim();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const configured = config.clusterId;
  if (stored && configured && stored !== configured) {
    throw new Error(`cluster.id ${configured} does not match ${stored} stored in ${path}`);
  }
  const clusterId = stored ?? configured ?? newClusterId();
  if (!stored) {
    Deno.writeTextFileSync(path, `version=1\nnode.id=${config.nodeId}\ncluster.id=${clusterId}\n`);
  }
  return clusterId;
}

/** Options of `startBroker` beyond the configuration. */
export interface StartBrokerOptions {
  /** The file system of every log; the real one by default (tests inject faults with `FaultyFileSystem`). */
  fs?: FileSystem;
}

/**
 * Warns when `ulimit -n` is below what the partition count needs for every active segment to stay open: the
 * broker still works (files beyond the pool's `maxOpen` are reopened on use), but more slowly, and connections
 * compete with log files for what is left.
 */
function warnOnLowDescriptorLimit(topics: readonly TopicImage[], maxOpenLogFiles: number, logger: Logger): void {
  const limit = readOpenFilesLimit();
  if (!limit) return;
  const partitions = topics.reduce((n, t) => n + t.partitions.length, 0);
  const recommended = recommendedOpenFilesLimit(partitions);
  if (limit.soft >= recommended) return;
  logger.warn("ulimit -n is low for this partition count", {
    partitions,
    open_files_limit: limit.soft,
    open_files_hard_limit: limit.hard,
    recommended_open_files_limit: recommended,
    max_open_log_files: maxOpenLogFiles,
    advice: `raise it (ulimit -n ${recommended}, or LimitNOFILE= in systemd); until then partitions beyond ` +
      `${maxOpenLogFiles} open log files reopen their files on use`,
  });
}

/** A node with `process.roles=controller`: it serves no clients, only the metadata quorum. */
function controllerOnly(node: ClusterNode, config: BrokerConfig, logger: Logger, clusterId: string): RunningBroker {
  logger.info("controller started", { node_id: config.nodeId, cluster_id: clusterId });
  return {
    addresses: [],
    async close() {
      await node.close();
      logger.info("controller stopped", { node_id: config.nodeId });
    },
  };
}

/**
 * Starts the broker described by `config`.
 *
 * @example
 * ```ts ignore
 * import { loadBrokerConfig } from "./config.ts";
 * import { startBroker } from "./broker.ts";
 * import { createLogger } from "./logger.ts";
 * const broker = await startBroker(await loadBrokerConfig(), createLogger());
 * await broker.close();
 * ```
 */
export async function startBroker(
  config: BrokerConfig,
  logger: Logger,
  options: StartBrokerOptions = {},
): Promise<RunningBroker> {
  const logDir = config.logDirs[0];
  const fs = options.fs ?? new DenoFileSystem();
  await prepareLogDir(fs, logDir);
  const clusterId = clusterIdFor(logDir, config);
  const started = performance.now();

  const settings = clusterSettings(config);
  // The single node's metadata log, which the monitor reopens (a cluster's metadata journal is the quorum's).
  let metadataLog: MetadataLog | undefined;
  let image: MetadataImage;
  // A failed write takes a log offline; the monitor probes the directory and reopens what failed once writes
  // succeed again. Its `reopen` reads `metadataLog`, `image` and `replicas`, which exist before any write can fail.
  const monitor = new LogDirMonitor({
    dir: logDir,
    fs,
    logger,
    backoff: {
      initialMs: config.getLong("log.dir.failure.probe.initial.backoff.ms"),
      maxMs: config.getLong("log.dir.failure.probe.max.backoff.ms"),
    },
    now: Date.now,
    reopen: async () => {
      const reopened: string[] = [];
      if (metadataLog && await metadataLog.reopenIfOffline()) reopened.push(`${METADATA_TOPIC}-0`);
      reopened.push(...await replicas.reopenOfflineLogs(image.topics()));
      return { reopened };
    },
  });
  const replicas = new ReplicaManager(config, logger, {
    fs,
    onLogOffline: (partition, error) => monitor.reportFailure(partition, error),
  });
  let controller: Controller;
  let cluster: ClusterNode | undefined;
  let closeMetadata: () => Promise<void>;
  let describeQuorum: () => Promise<QuorumDescription>;
  let metadataOffset: () => number;
  if (settings.mode === "single") {
    // A single node is its own controller and writes __cluster_metadata locally.
    const metadata = await MetadataLog.open(`${logDir}/${METADATA_TOPIC}-0`, {
      fs,
      onOffline: (error) => monitor.reportFailure(`${METADATA_TOPIC}-0`, error),
    });
    metadataLog = metadata;
    const topics = metadata.image.topics();
    warnOnLowDescriptorLimit(topics, replicas.files.maxOpen, logger);
    await replicas.openAll(topics);
    image = metadata.image;
    const local = new LocalController(metadata, replicas, config, logger);
    await local.bootstrapFeatures();
    controller = local;
    metadataOffset = () => metadata.log.logEndOffset - 1;
    // A metadata log that cannot be flushed (a full disk) closes without its clean marker: the next start
    // recovers it. The failure is logged, and the broker stops anyway.
    closeMetadata = () => metadata.close().catch((e) => logger.error("closing the metadata log failed", { error: e }));
    // The sole voter and leader of its metadata log, which it writes directly.
    describeQuorum = () => {
      const now = Date.now();
      const self = { replicaId: config.nodeId, lastFetchTimestamp: now, lastCaughtUpTimestamp: now };
      const end = metadata.log.logEndOffset;
      return Promise.resolve({
        leaderId: config.nodeId,
        leaderEpoch: 0,
        highWatermark: end,
        voters: [{ ...self, logEndOffset: end }],
        observers: [],
        nodes: [],
      });
    };
  } else {
    // Returns once this node has caught up with the replicated metadata log (a broker: its registration applied).
    const node = await startClusterNode({ config, settings, logDir, replicas, logger });
    if (!settings.isBroker) return controllerOnly(node, config, logger, clusterId);
    cluster = node;
    image = node.image;
    controller = node.controller;
    closeMetadata = () => node.close();
    describeQuorum = () => node.controller.describeQuorum();
    metadataOffset = () => node.quorum.appliedOffset;
  }
  // The groups and committed offsets of the __consumer_offsets partitions led here are replayed before any client
  // is served; later leadership changes load and unload them as they come.
  const groups = new GroupCoordinator({
    config,
    metadata: image,
    replicas,
    controller,
    logger,
    now: Date.now,
    cluster: settings.mode === "cluster",
  });
  const consumerGroups = new ConsumerGroupManager({
    config: consumerGroupConfigFrom(config),
    sink: { write: (groupId, records) => groups.writeRecords(groupId, records) },
    topics: image,
    isGroupIdInUseElsewhere: (groupId) => {
      const g = groups.group(groupId);
      return g !== undefined && g.state !== "Empty" && g.state !== "Dead";
    },
    onExpired: (m) =>
      logger.info("consumer group member expired", { group: m.groupId, member: m.memberId, reason: m.reason }),
  });
  groups.extension = consumerGroups.groupExtension();
  await groups.load();

  const advertised = new Map<string, { host: string; port: number }>();
  const ctx: BrokerContext = {
    config,
    nodeId: config.nodeId,
    clusterId,
    advertised,
    metadata: image,
    replicas,
    controller,
    cluster: cluster?.membership,
    leadership: cluster?.balancer,
    describeQuorum: () => describeQuorum(),
    unregisterBroker: cluster && ((brokerId) => cluster!.controller.unregisterBroker(brokerId)),
    metadataOffset: () => metadataOffset(),
    groups,
    consumerGroups,
    logger,
    now: () => Date.now(),
  };
  const server = KafkaServer.listen({
    ...serverOptionsFromConfig(config),
    // A cluster node's CONTROLLER listener belongs to the metadata quorum.
    ...(settings.mode === "cluster" ? { listeners: settings.clientListeners } : {}),
    logger,
    handler: new RequestDispatcher(ctx),
    // Other brokers open their replication connections on these listeners (`broker/node_hello.ts`).
    handover: cluster?.replication?.handover,
  });
  // Filled before the event loop can accept a connection: a port 0 listener advertises its bound port.
  for (const listener of config.advertisedListeners) {
    const bound = server.addresses.find((a) => a.name === listener.name);
    advertised.set(listener.name, {
      host: listener.host || bound?.hostname || "127.0.0.1",
      port: listener.port === 0 && bound ? bound.port : listener.port,
    });
  }
  groups.start();
  consumerGroups.startExpiryTimer(Date.now);
  replicas.startBackgroundWork(
    Number(config.get("log.retention.check.interval.ms") ?? 300_000),
    Number(config.get("log.cleaner.backoff.ms") ?? 15_000),
    config.get("log.cleaner.enable") !== "false",
    Number(config.get("log.flush.offset.checkpoint.interval.ms") ?? 60_000),
  );
  logger.info("broker started", {
    node_id: config.nodeId,
    cluster_id: clusterId,
    log_dir: logDir,
    topics: image.topics().length,
    listeners: server.addresses.map((a) => `${a.name}://${a.hostname}:${a.port}`).join(","),
    startup_ms: Math.round(performance.now() - started),
  });

  return {
    addresses: server.addresses,
    async close() {
      // While clients are still served: a produce to a partition handed over gets NOT_LEADER_OR_FOLLOWER naming
      // the new leader, and the group coordinator unloads the offsets partitions that moved.
      await cluster?.handOverLeaderships();
      await monitor.close();
      groups.close();
      consumerGroups.close();
      await server.close({ timeoutMs: config.shutdownTimeoutMs });
      await closeMetadata();
      await replicas.close();
      // After the replicas: their last Raft messages (a leadership hand-over) still reach the other brokers.
      await cluster?.replication?.close();
      logger.info("broker stopped", { node_id: config.nodeId });
    },
  };
}
