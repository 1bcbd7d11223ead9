/**
 * The cluster settings of a node, in KRaft's own words (`node.id`, `process.roles`, `controller.listener.names`,
 * `controller.quorum.voters`, `inter.broker.listener.name`, `broker.rack`), checked for how they fit together.
 *
 * A node with no `controller.quorum.voters` is a single-node cluster, exactly as Samsa always was: it is its
 * own controller and writes `__cluster_metadata` locally. With voters, the node joins a cluster whose metadata
 * log is a Raft group of those controllers (see docs/ARCHITECTURE.md, "The metadata path").
 *
 * Pure: takes the parsed `BrokerConfig`, returns a description or throws a `ConfigError` naming the key.
 *
 * @module
 */
import { type BrokerConfig, ConfigError, describeSource, type ListenerConfig } from "../config.ts";

/** One controller of the static quorum (`id@host:port`). */
export interface QuorumVoter {
  id: number;
  host: string;
  port: number;
}

/** A node of a multi-node cluster. */
export interface ClusterSettings {
  readonly mode: "cluster";
  readonly nodeId: number;
  /** This node votes in the metadata quorum (and may become the active controller). */
  readonly isController: boolean;
  /** This node serves clients and hosts partitions. */
  readonly isBroker: boolean;
  /** The controllers, in the order given. */
  readonly voters: readonly QuorumVoter[];
  /** The controller listener of this node (bound only when it is a controller). */
  readonly controllerListener: ListenerConfig | undefined;
  /** The name of the controller listener (the first of `controller.listener.names`). */
  readonly controllerListenerName: string;
  /** The listener brokers reach each other on (`inter.broker.listener.name`, else the first client listener). */
  readonly interBrokerListenerName: string;
  /** Listeners that serve Kafka clients (every listener but the controller ones). */
  readonly clientListeners: readonly ListenerConfig[];
  /** `broker.rack`, or null. */
  readonly rack: string | null;
  /** The cluster id every node must share (`cluster.id`). */
  readonly clusterId: string;
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
  readonly electionTimeoutMs: number;
}

/** A node alone: its own controller, as before clusters existed. */
export interface SingleNodeSettings {
  readonly mode: "single";
}

/** What `clusterSettings` finds. */
export type NodeClusterSettings = ClusterSettings | SingleNodeSettings;

function fail(config: BrokerConfig, key: string, problem: string): never {
  throw new ConfigError(`${key} (from ${describeSource(config.source(key))}): ${problem}`, key, config.source(key));
}

/**
 * Parses `controller.quorum.voters` (`1@127.0.0.1:19093,2@host:19093`); throws a ConfigError naming the key.
 *
 * @example
 * ```ts
 * import { BrokerConfig } from "../config.ts";
 * import { parseQuorumVoters } from "./cluster_config.ts";
 * const config = BrokerConfig.from([]);
 * parseQuorumVoters(["1@127.0.0.1:19093"], config)[0].port; // 19093
 * ```
 */
export function parseQuorumVoters(entries: readonly string[], config: BrokerConfig): QuorumVoter[] {
  const key = "controller.quorum.voters";
  const voters: QuorumVoter[] = [];
  for (const entry of entries) {
    const m = entry.match(/^(\d+)@(\[[^\]]+\]|[^:@]+):(\d+)$/);
    if (!m) fail(config, key, `'${entry}' is not id@host:port`);
    const id = Number(m[1]);
    const port = Number(m[3]);
    if (!Number.isSafeInteger(id) || id < 1 || id > 0x7fffffff) {
      fail(config, key, `'${entry}' has a bad node id (1 or more: Samsa's Raft keeps 0 for 'no node')`);
    }
    if (port < 1 || port > 65535) fail(config, key, `'${entry}' has a bad port (1..65535)`);
    if (voters.some((v) => v.id === id)) fail(config, key, `node id ${id} appears twice`);
    voters.push({ id, host: m[2].replace(/^\[|\]$/g, ""), port });
  }
  return voters;
}

/**
 * Reads and checks the cluster settings. Without `controller.quorum.voters` the node is a single-node cluster
 * (then `process.roles` must hold both roles and no controller listener may be set, since nothing would use
 * it). With voters, every rule KRaft checks at startup applies, each failure naming its key.
 *
 * @example
 * ```ts
 * import { BrokerConfig } from "../config.ts";
 * import { clusterSettings } from "./cluster_config.ts";
 * clusterSettings(BrokerConfig.from([])).mode; // "single"
 * ```
 */
export function clusterSettings(config: BrokerConfig): NodeClusterSettings {
  const roles = config.getList("process.roles");
  const voterEntries = config.isSet("controller.quorum.voters") ? config.getList("controller.quorum.voters") : [];
  if (config.isSet("controller.quorum.bootstrap.servers")) {
    fail(
      config,
      "controller.quorum.bootstrap.servers",
      "the dynamic quorum of KIP-853 is not supported yet; list the controllers in controller.quorum.voters",
    );
  }
  if (roles.length === 0) fail(config, "process.roles", "at least one of broker, controller is needed");
  if (voterEntries.length === 0) {
    if (roles.length !== 2) {
      fail(config, "process.roles", `a node with roles '${roles.join(",")}' needs controller.quorum.voters`);
    }
    if (config.isSet("controller.listener.names")) {
      fail(config, "controller.listener.names", "is set but controller.quorum.voters is not");
    }
    return { mode: "single" };
  }

  const nodeId = config.nodeId;
  const isController = roles.includes("controller");
  const isBroker = roles.includes("broker");
  const voters = parseQuorumVoters(voterEntries, config);
  const names = config.isSet("controller.listener.names") ? config.getList("controller.listener.names") : [];
  if (names.length === 0) fail(config, "controller.listener.names", "must be set when controller.quorum.voters is");
  const controllerListenerName = names[0];
  const isVoter = voters.some((v) => v.id === nodeId);
  if (isController && !isVoter) {
    fail(config, "controller.quorum.voters", `this controller's node.id ${nodeId} is not among the voters`);
  }
  if (!isController && isVoter) {
    fail(config, "controller.quorum.voters", `node.id ${nodeId} is a voter but process.roles has no controller`);
  }
  const listeners = config.listeners;
  const controllerListener = listeners.find((l) => l.name === controllerListenerName);
  if (isController && !controllerListener) {
    fail(config, "listeners", `a controller needs the ${controllerListenerName} listener of controller.listener.names`);
  }
  if (!isController && controllerListener) {
    fail(config, "listeners", `a broker-only node must not have the controller listener ${controllerListenerName}`);
  }
  const clientListeners = listeners.filter((l) => !names.includes(l.name));
  if (isBroker && clientListeners.length === 0) {
    fail(config, "listeners", "a broker needs a listener besides the controller one");
  }
  const portZero = listeners.find((l) => l.port === 0);
  if (portZero) {
    fail(config, "listeners", `listener ${portZero.name} has port 0: a cluster node registers fixed ports`);
  }
  let interBrokerListenerName = clientListeners[0]?.name ?? "";
  if (config.isSet("inter.broker.listener.name")) {
    interBrokerListenerName = config.getString("inter.broker.listener.name");
    if (names.includes(interBrokerListenerName)) {
      fail(config, "inter.broker.listener.name", `${interBrokerListenerName} is a controller listener`);
    }
    if (isBroker && !clientListeners.some((l) => l.name === interBrokerListenerName)) {
      fail(config, "inter.broker.listener.name", `${interBrokerListenerName} is not in listeners`);
    }
  }
  const clusterId = config.clusterId;
  if (clusterId === undefined || clusterId === "") {
    fail(config, "cluster.id", "must be set when controller.quorum.voters is: every node of a cluster shares it");
  }
  const rack = config.isSet("broker.rack") ? config.getString("broker.rack") : null;
  return {
    mode: "cluster",
    nodeId,
    isController,
    isBroker,
    voters,
    controllerListener,
    controllerListenerName,
    interBrokerListenerName,
    clientListeners,
    rack: rack === "" ? null : rack,
    clusterId,
    heartbeatIntervalMs: config.getInt("broker.heartbeat.interval.ms"),
    sessionTimeoutMs: config.getInt("broker.session.timeout.ms"),
    electionTimeoutMs: config.getInt("controller.quorum.election.timeout.ms"),
  };
}
