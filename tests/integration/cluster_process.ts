/**
 * Starts a multi-node Samsa cluster of real processes on 127.0.0.1 for the cluster tests: voters that are
 * both broker and controller, optionally broker-only observers, each on its own free ports and data folder.
 *
 * Every node is told its ports in advance (the voters name each other's controller ports, and a restarted node
 * comes back on the same ones), so they come from `fixedPorts` (outside the kernel's ephemeral range, where the
 * parallel suite's own port-0 binds and connections cannot take them); a start that still finds one taken is
 * retried on new ports.
 *
 * @module
 */
import { type BrokerProcess, startBroker } from "./broker_process.ts";
import { fixedPorts, isAddressInUse } from "../harness/test_ports.ts";
import { RawClient } from "../diff/raw_client.ts";
import { ApiKey } from "../../protocol/messages.ts";

/** A cluster id for tests (22 characters of URL-safe base64, as Kafka's). */
export const TEST_CLUSTER_ID = "c2Ftc2EtY2x1c3Rlci10ZQ";

/** One node's fixed identity: restarting it reuses these. */
export interface NodeSpec {
  id: number;
  roles: "broker,controller" | "broker";
  clientPort: number;
  controllerPort: number | undefined;
  dataDir: string;
  rack?: string;
}

/** A running test cluster. */
export class TestCluster {
  readonly nodes = new Map<number, BrokerProcess>();
  readonly specs = new Map<number, NodeSpec>();

  private constructor(readonly voters: string, readonly settings: Record<string, string | number>) {}

  /**
   * Starts `voters` combined nodes (ids 1..n) at once; they form the quorum together. `racks[i]`, when given, is
   * node i+1's `broker.rack`.
   */
  static async start(
    voters: number,
    settings: Record<string, string | number> = {},
    racks: readonly string[] = [],
  ): Promise<TestCluster> {
    for (let attempt = 1;; attempt++) {
      const specs: NodeSpec[] = [];
      const ports = fixedPorts(2 * voters);
      for (let id = 1; id <= voters; id++) {
        specs.push({
          id,
          roles: "broker,controller",
          clientPort: ports[2 * (id - 1)],
          controllerPort: ports[2 * (id - 1) + 1],
          dataDir: await Deno.makeTempDir({ prefix: `samsa-cluster-${id}-` }),
          rack: racks[id - 1],
        });
      }
      const voterList = specs.map((s) => `${s.id}@127.0.0.1:${s.controllerPort}`).join(",");
      const cluster = new TestCluster(voterList, settings);
      for (const s of specs) cluster.specs.set(s.id, s);
      try {
        await Promise.all(specs.map((s) => cluster.startNode(s.id)));
        return cluster;
      } catch (e) {
        await cluster.stop();
        // Another test took one of the ports between the pick and the bind: pick again.
        if (attempt < 3 && isAddressInUse(String(e))) continue;
        throw e;
      }
    }
  }

  /** Adds a broker-only node (an observer of the metadata quorum) and starts it. */
  async addBroker(id: number, rack?: string): Promise<BrokerProcess> {
    const dataDir = await Deno.makeTempDir({ prefix: `samsa-cluster-${id}-` });
    const [clientPort] = fixedPorts(1);
    this.specs.set(id, { id, roles: "broker", clientPort, controllerPort: undefined, dataDir, rack });
    return await this.startNode(id);
  }

  /** Starts (or restarts, with the same ports and data) node `id`. */
  async startNode(id: number): Promise<BrokerProcess> {
    const s = this.specs.get(id)!;
    const listeners = [`PLAINTEXT://127.0.0.1:${s.clientPort}`];
    if (s.controllerPort !== undefined) listeners.push(`CONTROLLER://127.0.0.1:${s.controllerPort}`);
    const node = await startBroker({
      dataDir: s.dataDir,
      port: s.clientPort,
      startTimeoutMs: 30_000,
      settings: {
        "node.id": id,
        "process.roles": s.roles,
        "cluster.id": TEST_CLUSTER_ID,
        "listeners": listeners.join(","),
        "controller.listener.names": "CONTROLLER",
        "controller.quorum.voters": this.voters,
        "broker.heartbeat.interval.ms": 300,
        "broker.session.timeout.ms": 2000,
        "controller.quorum.election.timeout.ms": 600,
        ...(s.rack ? { "broker.rack": s.rack } : {}),
        ...this.settings,
      },
    });
    this.nodes.set(id, node);
    return node;
  }

  /** The bootstrap address of node `id`. */
  bootstrap(id: number): string {
    return `127.0.0.1:${this.specs.get(id)!.clientPort}`;
  }

  /**
   * Stops every running node and removes the data folders: SIGCONT first (a node paused by SIGSTOP acts on
   * SIGTERM only once resumed), then SIGTERM, and SIGKILL for a node still running after `graceMs`.
   */
  async stop(options: { keepData?: boolean; graceMs?: number } = {}): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => stopWithin(n, options.graceMs ?? 20_000)));
    this.nodes.clear();
    if (options.keepData) return;
    for (const s of this.specs.values()) await Deno.remove(s.dataDir, { recursive: true }).catch(() => {});
  }
}

/** SIGCONT, SIGTERM, and SIGKILL if the node has not exited within `graceMs`. */
async function stopWithin(node: BrokerProcess, graceMs: number): Promise<void> {
  node.signal("SIGCONT");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), graceMs));
  try {
    if (await Promise.race([node.stop(), late]) === "late") await node.kill();
  } finally {
    clearTimeout(timer);
  }
}

/** What a broker's Metadata answer says about the cluster, normalized for comparison. */
export interface ClusterView {
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
  controllerId: number;
  topics: {
    name: string;
    topicId: string;
    partitions: {
      partition: number;
      errorCode: number;
      leader: number;
      replicas: number[];
      isr: number[];
      offlineReplicas: number[];
    }[];
  }[];
}

/** Asks the broker at `bootstrap` for Metadata (all topics). */
export async function clusterView(bootstrap: string): Promise<ClusterView> {
  const client = await RawClient.connect(bootstrap, "cluster-test");
  try {
    const r = await client.request(ApiKey.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    return {
      brokers: r.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }))
        .sort((a, b) => a.nodeId - b.nodeId),
      controllerId: r.controllerId,
      topics: r.topics.map((t) => ({
        name: t.name!,
        topicId: t.topicId,
        partitions: t.partitions.map((p) => ({
          partition: p.partitionIndex,
          errorCode: p.errorCode,
          leader: p.leaderId,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offlineReplicas: p.offlineReplicas,
        })).sort((a, b) => a.partition - b.partition),
      })).sort((a, b) => a.name < b.name ? -1 : 1),
    };
  } finally {
    await client.close();
  }
}

/** Creates topics through the broker at `bootstrap`; returns each topic's error code. */
export async function createTopics(
  bootstrap: string,
  topics: { name: string; partitions: number; replicationFactor?: number }[],
): Promise<Map<string, number>> {
  const client = await RawClient.connect(bootstrap, "cluster-test");
  try {
    const r = await client.request(ApiKey.CreateTopics, 7, {
      topics: topics.map((t) => ({
        name: t.name,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor ?? -1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 30_000,
      validateOnly: false,
    }, 40_000);
    return new Map(r.topics.map((t) => [t.name, t.errorCode]));
  } finally {
    await client.close();
  }
}

/** Waits until `condition` holds (checked every 100 ms), failing after `timeoutMs`. */
export async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await condition()) return;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${lastError}` : ""}`);
}
