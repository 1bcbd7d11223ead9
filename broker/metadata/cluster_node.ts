/**
 * A node of a multi-node cluster, assembled: its metadata image follows the replicated `__cluster_metadata`
 * (`MetadataQuorum`), its metadata changes go through the active controller (`QuorumController`), and, as a
 * broker, it registers and heartbeats (`BrokerLifecycle`), opens or deletes the partitions it leads as
 * committed records say, and carries its partitions' Raft messages to the other brokers over the replication
 * network (`broker/replication/replication_network.ts`), whose peers follow the image's registered brokers.
 *
 * @module
 */
import type { ClusterMembership } from "../broker_context.ts";
import type { BrokerConfig, SecurityProtocol } from "../config.ts";
import type { Logger } from "../logger.ts";
import {
  type BrokerEndpoint,
  type BrokerImage,
  MetadataImage,
  type MetadataRecord,
  TOPIC_RESOURCE,
} from "../metadata_image.ts";
import { METADATA_TOPIC } from "../metadata_log.ts";
import type { PeerAddress } from "../raft_transport.ts";
import type { ReplicaManager } from "../replication/replica_manager.ts";
import { type ReplicationNetwork, startReplicationNetwork } from "../replication/replication_network.ts";
import { BrokerLifecycle } from "./broker_lifecycle.ts";
import type { ClusterSettings } from "./cluster_config.ts";
import { ControllerClient } from "./controller_client.ts";
import { LeadershipBalancer } from "./leadership_balancer.ts";
import { LeadershipReporter } from "./leadership_reporter.ts";
import { MetadataQuorum } from "./metadata_quorum.ts";
import { logPartitionHealth, PartitionHealth } from "./partition_health.ts";
import { QuorumController } from "./quorum_controller.ts";

/** Kafka's security protocol ids (RegisterBrokerRecord's `securityProtocol`). */
const SECURITY_PROTOCOL_IDS: Record<SecurityProtocol, number> = {
  PLAINTEXT: 0,
  SSL: 1,
  SASL_PLAINTEXT: 2,
  SASL_SSL: 3,
};

/**
 * How long one leadership report waits for the controller before the reporter tries again. Short: clients find the
 * new leader of a partition only once it is recorded, and a report sent to a controller that just froze or died
 * must be sent again, to its successor (elected within about a second), without waiting long. Reports are
 * idempotent, so a slow answer followed by a retry costs nothing.
 */
const LEADERSHIP_REPORT_TIMEOUT_MS = 1500;
/** How long a controlled shutdown waits for the controller. */
const CONTROLLED_SHUTDOWN_TIMEOUT_MS = 3000;
/**
 * How long a broker stopping hands its leaderships over (and waits for the metadata to name the new leaders)
 * before it shuts down anyway: a few election timeouts, so a follower lagging a little still catches up.
 */
const LEADERSHIP_HANDOVER_TIMEOUT_MS = 5000;

/** A running cluster node's metadata side. */
export interface ClusterNode {
  readonly image: MetadataImage;
  readonly controller: QuorumController;
  readonly membership: ClusterMembership;
  readonly quorum: MetadataQuorum;
  /**
   * A broker's replication network (undefined on a controller-only node): its `handover` goes on the broker's
   * client listeners, and the broker closes it after its replicas stop sending (after `ReplicaManager.close`).
   */
  readonly replication: ReplicationNetwork | undefined;
  /** A broker's leadership hand-overs: preferred-leader elections, the automatic rebalance (undefined otherwise). */
  readonly balancer: LeadershipBalancer | undefined;
  /**
   * The first step of a broker's controlled shutdown, while it still serves clients: hands its leaderships to
   * in-sync followers (bounded in time; skipped with `controlled.shutdown.enable=false`). Resolves either way.
   */
  handOverLeaderships(): Promise<void>;
  /**
   * Controlled shutdown (brokers), leadership hand-over (the active controller), then the metadata side stops;
   * the replication network stays up for the replicas' last messages.
   */
  close(): Promise<void>;
}

/** Metadata records that change which brokers exist or where they listen. */
const BROKER_RECORD_TYPES: ReadonlySet<MetadataRecord["type"]> = new Set([
  "register_broker",
  "unregister_broker",
  "broker_change",
]);

/**
 * Where to send this broker's replication messages: every other registered broker (fenced ones too: a fenced
 * replica still catches up), at its endpoint of the inter-broker listener. A broker without that listener is
 * left out (it could not be reached), as Kafka leaves it out of replication.
 *
 * @example
 * ```ts
 * import { replicationPeers } from "./cluster_node.ts";
 * const broker = (id: number, port: number) => ({
 *   id, epoch: 0n, incarnationId: "", rack: null, fenced: false, inControlledShutdown: false,
 *   endpoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port, securityProtocol: 0 }],
 * });
 * replicationPeers([broker(1, 9092), broker(2, 9093)], 1, "PLAINTEXT"); // Map { 2 => { host: "127.0.0.1", port: 9093 } }
 * ```
 */
export function replicationPeers(
  brokers: readonly BrokerImage[],
  nodeId: number,
  interBrokerListenerName: string,
): Map<number, PeerAddress> {
  const peers = new Map<number, PeerAddress>();
  for (const b of brokers) {
    if (b.id === nodeId) continue;
    const endpoint = b.endpoints.find((e) => e.name === interBrokerListenerName);
    if (endpoint) peers.set(b.id, { host: endpoint.host, port: endpoint.port });
  }
  return peers;
}

/** Makes the network's peers exactly `peers`. */
function syncPeers(network: ReplicationNetwork, peers: ReadonlyMap<number, PeerAddress>): void {
  for (const id of network.peers().keys()) if (!peers.has(id)) network.removePeer(id);
  for (const [id, address] of peers) network.setPeer(id, address);
}

/** This broker's endpoints as it registers them: its client listeners at their advertised addresses. */
export function brokerEndpoints(config: BrokerConfig, settings: ClusterSettings): BrokerEndpoint[] {
  const clientNames = new Set(settings.clientListeners.map((l) => l.name));
  return config.advertisedListeners.filter((l) => clientNames.has(l.name)).map((l) => ({
    name: l.name,
    host: l.host || "127.0.0.1",
    port: l.port,
    securityProtocol: SECURITY_PROTOCOL_IDS[l.securityProtocol],
  }));
}

/**
 * Opens the quorum state, joins the quorum and, for a broker, registers and waits until the controller has
 * unfenced it (it has applied the log up to its registration: it caught up) before returning.
 *
 * @example
 * ```ts ignore
 * const node = await startClusterNode({ config, settings, logDir, replicas, logger });
 * node.image.brokers(); // every registered broker
 * await node.close();
 * ```
 */
export async function startClusterNode(options: {
  config: BrokerConfig;
  settings: ClusterSettings;
  logDir: string;
  replicas: ReplicaManager;
  logger: Logger;
}): Promise<ClusterNode> {
  const { config, settings, logDir, replicas, logger } = options;
  const image = new MetadataImage();
  const controller = new QuorumController(image, settings, config, logger);
  const hostsPartitions = settings.isBroker;
  const replication = settings.isBroker
    ? startReplicationNetwork({
      nodeId: settings.nodeId,
      clusterId: settings.clusterId,
      logger,
      onBatch: (batch) => replicas.receive(batch),
      // Other brokers ask this one for leadership transfers (ElectLeaders) on the same connections.
      onRequest: (op, args, from) =>
        balancer ? balancer.handleRequest(op, args, from.nodeId) : Promise.reject(new Error("starting")),
    })
    : undefined;
  // Requests to other brokers' inter-broker listeners (a leadership transfer for ElectLeaders).
  const brokerRequests = settings.isBroker
    ? new ControllerClient({ clusterId: settings.clusterId, nodeId: settings.nodeId, onClientListener: true })
    : undefined;
  const balancer = settings.isBroker
    ? new LeadershipBalancer({
      nodeId: settings.nodeId,
      image,
      replicas,
      logger,
      request(brokerId, op, args, timeoutMs) {
        const peers = replicationPeers(image.brokers(), settings.nodeId, settings.interBrokerListenerName);
        const address = peers.get(brokerId);
        if (!address || !brokerRequests) return Promise.reject(new Error(`broker ${brokerId} cannot be reached`));
        return brokerRequests.request(address, op, args, timeoutMs);
      },
      autoRebalance: config.getBoolean("auto.leader.rebalance.enable"),
      imbalanceCheckIntervalMs: config.getLong("leader.imbalance.check.interval.seconds") * 1000,
      imbalancePercentage: config.getInt("leader.imbalance.per.broker.percentage"),
    })
    : undefined;
  const followBrokers = () => {
    if (replication) {
      syncPeers(replication, replicationPeers(image.brokers(), settings.nodeId, settings.interBrokerListenerName));
    }
  };
  if (replication) replicas.attachTransport(replication);
  const quorum = MetadataQuorum.open({
    dir: `${logDir}/${METADATA_TOPIC}-0`,
    settings,
    image,
    logger,
    snapshotEveryBytes: config.getLong("metadata.log.max.record.bytes.between.snapshots"),
    onRequest: (op, args, from) => controller.handle(op, args, from),
    onApplied: async (records: readonly MetadataRecord[], removed: readonly string[]) => {
      logPartitionHealth(logger, health.update(records));
      if (!hostsPartitions) return;
      if (records.some((r) => BROKER_RECORD_TYPES.has(r.type))) followBrokers();
      for (const name of removed) {
        try {
          await replicas.removeTopic(name);
        } catch (e) {
          logger.error("removing partitions of a deleted topic failed", { topic: name, error: e });
        }
      }
      const reconfigured = new Set<string>();
      for (const r of records) {
        if (r.type === "config" && r.record.resourceType === TOPIC_RESOURCE) reconfigured.add(r.record.resourceName);
      }
      for (const name of reconfigured) {
        const topic = image.topic(name);
        if (topic) replicas.applyTopicConfigs(topic);
      }
      const touched = new Set<string>();
      for (const r of records) {
        if (r.type === "partition" || r.type === "partition_change") touched.add(r.record.topicId);
        else if (r.type === "topic") touched.add(r.record.topicId);
      }
      for (const topicId of touched) {
        const topic = image.topicById(topicId);
        if (!topic) continue;
        try {
          // A leaderless partition (this broker fenced) keeps its open log: the data is here only, and it is
          // led from here again, in a newer leader epoch, once this broker is unfenced.
          await replicas.ensureTopic(topic);
          // A reassignment: its leader here moves the group; a replica moved away is closed and deleted.
          await replicas.followPlacement(topic);
          await replicas.catchUpLeaderEpochs(topic);
        } catch (e) {
          logger.error("opening partitions of a topic failed", { topic: topic.name, error: e });
        }
      }
      // Once the partitions the batch created are open: their leaders may disagree with the image.
      reporter?.afterApplied(records);
    },
  });
  controller.attach(quorum);
  // The brokers of the image rebuilt from this node's snapshot; records applied from now on keep them current.
  followBrokers();
  const health = new PartitionHealth(image);
  logPartitionHealth(logger, health.counts);
  // The leaders of partitions' Raft groups hosted here report them, so the metadata follows what the groups elect.
  const reporter = hostsPartitions
    ? new LeadershipReporter({
      nodeId: settings.nodeId,
      image,
      replicas,
      logger,
      send: (reports) => controller.reportLeadership(reports, LEADERSHIP_REPORT_TIMEOUT_MS),
    })
    : undefined;
  reporter?.start();
  const bound = quorum.start();
  logger.info("metadata quorum started", {
    node_id: settings.nodeId,
    voters: settings.voters.map((v) => `${v.id}@${v.host}:${v.port}`).join(","),
    controller_listener: bound ? `${settings.controllerListenerName}://:${bound.port}` : undefined,
    roles: [settings.isBroker ? "broker" : "", settings.isController ? "controller" : ""].filter(Boolean).join(","),
  });

  let lifecycle: BrokerLifecycle | undefined;
  if (settings.isBroker) {
    lifecycle = new BrokerLifecycle(controller, quorum, settings, brokerEndpoints(config, settings), logger);
    await lifecycle.register();
    lifecycle.startHeartbeats();
    // As Kafka's BrokerServer, startup completes once the controller has unfenced the broker (it caught up).
    await lifecycle.unfenced;
  }
  balancer?.start();

  const membership: ClusterMembership = {
    liveBrokers(listenerName) {
      const out = [];
      for (const b of image.brokers()) {
        if (b.fenced) continue;
        const endpoint = b.endpoints.find((e) => e.name === listenerName) ?? b.endpoints[0];
        if (endpoint) out.push({ nodeId: b.id, host: endpoint.host, port: endpoint.port, rack: b.rack });
      }
      return out;
    },
    controllerId() {
      // As in KRaft, clients are given a live broker: it forwards what only the controller may do. The active
      // controller itself when it is a broker, this broker otherwise.
      const leader = quorum.leaderId;
      const b = image.broker(leader);
      return b && !b.fenced ? leader : settings.nodeId;
    },
  };

  return {
    image,
    controller,
    membership,
    quorum,
    replication,
    balancer,
    async handOverLeaderships() {
      if (!balancer || !config.getBoolean("controlled.shutdown.enable")) return;
      await balancer.handOverLeaderships(LEADERSHIP_HANDOVER_TIMEOUT_MS);
    },
    async close() {
      balancer?.close();
      brokerRequests?.close();
      reporter?.close();
      if (lifecycle) {
        await lifecycle.controlledShutdown(CONTROLLED_SHUTDOWN_TIMEOUT_MS);
        lifecycle.close();
      }
      if (quorum.isActiveController()) await quorum.resign(CONTROLLED_SHUTDOWN_TIMEOUT_MS);
      controller.close();
      await quorum.close();
    },
  };
}
