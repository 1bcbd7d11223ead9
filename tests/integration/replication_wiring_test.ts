/**
 * The replication network as a cluster node wires it: its peers are the other registered brokers at their
 * inter-broker listener (following registrations and unregistrations), it is the transport the ReplicaManager
 * sends through, and batches arriving on the broker's client listener reach `ReplicaManager.receive`.
 *
 * Three nodes run in this process (two combined voters and a broker-only observer) with a stand-in for the
 * ReplicaManager, so the test sees exactly what the node hands it.
 */
import assert from "node:assert/strict";
import { BrokerConfig } from "../../broker/config.ts";
import { KafkaServer } from "../../broker/listener.ts";
import { createLogger } from "../../broker/logger.ts";
import { type ClusterSettings, clusterSettings } from "../../broker/metadata/cluster_config.ts";
import { type ClusterNode, replicationPeers, startClusterNode } from "../../broker/metadata/cluster_node.ts";
import type { ReplicaManager } from "../../broker/replication/replica_manager.ts";
import type { MessageBatch, Transport } from "../../raft/transport.ts";
import { message } from "../../raft/types.ts";
import { freePort } from "./broker_process.ts";

const CLUSTER_ID = "d2lyaW5nLXRlc3QtY2x1c3Q";
const flag = { kind: "flag", flag: "--set" } as const;

/** What the node does with its ReplicaManager's replication side. */
class ReplicasStandIn {
  transport: Transport | undefined;
  readonly received: MessageBatch[] = [];
  attachTransport(t: Transport): void {
    this.transport = t;
  }
  receive(batch: MessageBatch): void {
    this.received.push(batch);
  }
  removeTopic(): Promise<void> {
    return Promise.resolve();
  }
  applyTopicConfigs(): void {}
  ensureTopic(): Promise<void> {
    return Promise.resolve();
  }
  catchUpLeaderEpochs(): Promise<void> {
    return Promise.resolve();
  }
  /** No replica here ever leads: the leadership reporter has nothing to report. */
  onLeadership(): () => void {
    return () => {};
  }
  all(): IterableIterator<never> {
    return [][Symbol.iterator]();
  }
  get(): undefined {
    return undefined;
  }
}

interface TestNode {
  id: number;
  node: ClusterNode;
  server: KafkaServer;
  replicas: ReplicasStandIn;
  dir: string;
  port: number;
}

async function startNode(
  id: number,
  roles: string,
  voters: string,
  ports: { client: number; controller?: number },
): Promise<TestNode> {
  const dir = await Deno.makeTempDir({ prefix: `samsa-wiring-${id}-` });
  const listeners = [`REPLICATION://127.0.0.1:${ports.client}`];
  if (ports.controller) listeners.push(`CONTROLLER://127.0.0.1:${ports.controller}`);
  const settings: Record<string, string> = {
    "node.id": String(id),
    "process.roles": roles,
    "cluster.id": CLUSTER_ID,
    "listeners": listeners.join(","),
    "listener.security.protocol.map": "REPLICATION:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name": "REPLICATION",
    "controller.listener.names": "CONTROLLER",
    "controller.quorum.voters": voters,
    "broker.heartbeat.interval.ms": "200",
    "broker.session.timeout.ms": "3000",
    "controller.quorum.election.timeout.ms": "500",
    "log.dirs": dir,
  };
  const config = BrokerConfig.from(Object.entries(settings).map(([key, value]) => ({ key, value, source: flag })));
  const cluster = clusterSettings(config) as ClusterSettings;
  const replicas = new ReplicasStandIn();
  const logger = createLogger({ level: "error", fields: { node: id } });
  const node = await startClusterNode({
    config,
    settings: cluster,
    logDir: dir,
    replicas: replicas as unknown as ReplicaManager,
    logger,
  });
  // As broker.ts: the client listener, with the replication network's hand-over.
  const server = KafkaServer.listen({
    listeners: cluster.clientListeners,
    logger,
    handler: { handle: () => null },
    handover: node.replication?.handover,
  });
  return { id, node, server, replicas, dir, port: ports.client };
}

async function stopNode(n: TestNode): Promise<void> {
  await n.server.close({ timeoutMs: 1000 });
  await n.node.close();
  await n.node.replication?.close();
  await Deno.remove(n.dir, { recursive: true });
}

async function waitFor(what: string, condition: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function peerIds(n: TestNode): number[] {
  return [...n.node.replication!.peers().keys()].sort();
}

Deno.test({
  name: "a broker's replication peers follow the registered brokers, and batches reach ReplicaManager.receive",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ports = [1, 2, 3].map(() => ({ client: freePort(), controller: freePort() }));
    const voters = `1@127.0.0.1:${ports[0].controller},2@127.0.0.1:${ports[1].controller}`;
    const nodes: TestNode[] = [];
    try {
      nodes.push(
        ...await Promise.all([1, 2].map((id) => startNode(id, "broker,controller", voters, ports[id - 1]))),
      );
      const [one, two] = nodes;
      await waitFor("each voter to know the other", () => peerIds(one).join() === "2" && peerIds(two).join() === "1");
      assert.deepEqual(one.node.replication!.peers().get(2), { host: "127.0.0.1", port: ports[1].client });
      assert.equal(one.replicas.transport, one.node.replication, "the network is the replicas' transport");

      // A broker-only node registers: every broker adds it.
      const three = await startNode(3, "broker", voters, { client: ports[2].client });
      nodes.push(three);
      await waitFor("the new broker as a peer", () => peerIds(one).join() === "2,3" && peerIds(two).join() === "1,3");
      assert.deepEqual(peerIds(three), [1, 2]);

      // What one broker's replicas send reaches the others' replicas, over their client listeners.
      const send = (from: TestNode, to: number, group: string) =>
        from.replicas.transport!.send({
          from: from.id,
          to,
          messages: [{ group, message: message("heartbeat", from.id, to, 1) }],
        });
      send(one, 2, "topic-a:0");
      send(one, 3, "topic-a:1");
      send(three, 1, "topic-b:0");
      await waitFor(
        "the batches",
        () =>
          two.replicas.received.length > 0 && three.replicas.received.length > 0 && one.replicas.received.length > 0,
      );
      assert.equal(two.replicas.received[0].messages[0].group, "topic-a:0");
      assert.equal(three.replicas.received[0].from, 1);
      assert.equal(one.replicas.received[0].messages[0].group, "topic-b:0");

      // Unregistered: the peers drop it.
      nodes.pop();
      await stopNode(three);
      const answer = await one.node.controller.unregisterBroker(3);
      assert.equal(answer.errorCode, 0);
      await waitFor("the broker gone from the peers", () => peerIds(one).join() === "2" && peerIds(two).join() === "1");
    } finally {
      for (const n of nodes.reverse()) await stopNode(n);
    }
  },
});

Deno.test("replication peers are the other brokers at their inter-broker listener", () => {
  const broker = (id: number, endpoints: [string, number][]) => ({
    id,
    epoch: 1n,
    incarnationId: "",
    rack: null,
    fenced: id === 3,
    inControlledShutdown: false,
    endpoints: endpoints.map(([name, port]) => ({ name, host: `h${id}`, port, securityProtocol: 0 })),
  });
  const peers = replicationPeers(
    [
      broker(1, [["REPLICATION", 1]]),
      broker(2, [["CLIENT", 20], ["REPLICATION", 21]]),
      broker(3, [["REPLICATION", 31]]),
      broker(4, [["CLIENT", 40]]),
    ],
    1,
    "REPLICATION",
  );
  // Not itself; a fenced broker still replicates; one without the listener cannot be reached.
  assert.deepEqual([...peers], [[2, { host: "h2", port: 21 }], [3, { host: "h3", port: 31 }]]);
});
