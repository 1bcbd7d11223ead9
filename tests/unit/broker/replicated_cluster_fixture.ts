/**
 * Test helper: three ReplicaManagers (real logs in temp directories) in one process, joined by an in-test network
 * that can cut a broker off, hosting one topic of replication factor 3. Time is driven by the tests
 * (`manualTicks`): one tick is 50 ms of the groups' clock, an election timeout 10-20 ticks.
 *
 * @module
 */
import { BrokerConfig } from "../../../broker/config.ts";
import { silentLogger } from "../../../broker/logger.ts";
import type { TopicImage } from "../../../broker/metadata_image.ts";
import type { PartitionReplica } from "../../../broker/replication/partition_replica.ts";
import { ReplicaManager } from "../../../broker/replication/replica_manager.ts";
import type { MessageBatch } from "../../../raft/transport.ts";
import type { Message } from "../../../raft/types.ts";

/** The topic every cluster hosts, partition 0 only. */
export const TOPIC = "orders";
/** The brokers, all replicas of the partition. */
export const NODES = [1, 2, 3];

/** Delivers batches between managers on the microtask queue; a cut broker neither sends nor receives. */
export class TestNetwork {
  readonly managers = new Map<number, ReplicaManager>();
  readonly cut = new Set<number>();
  /** Drops the messages it answers true for (a lossy link), when set. */
  drop?: (from: number, to: number, message: Message) => boolean;

  transport(from: number) {
    return {
      send: (sent: MessageBatch) => {
        if (this.cut.has(from) || this.cut.has(sent.to)) return;
        const drop = this.drop;
        const batch = drop ? { ...sent, messages: sent.messages.filter((m) => !drop(from, sent.to, m.message)) } : sent;
        queueMicrotask(() => {
          if (this.cut.has(from) || this.cut.has(batch.to)) return;
          this.managers.get(batch.to)?.receive(batch);
        });
      },
    };
  }
}

/** A running cluster. */
export interface Cluster {
  net: TestNetwork;
  topic: TopicImage;
  manager(id: number): ReplicaManager;
  replica(id: number): PartitionReplica;
  /** Ticks every live manager until `done()` holds; fails after `maxTicks`. */
  tickUntil(done: () => boolean, what: string, maxTicks?: number): Promise<void>;
  /** The id of the live broker whose replica leads (and may take produces), or undefined. */
  leader(): number | undefined;
  /** Closes broker `id`'s manager (a dead broker) and cuts it off. */
  kill(id: number): Promise<void>;
  /**
   * Starts a dead broker again over its directory; with `empty`, over an empty one (a new replica that holds
   * nothing of the partition yet).
   */
  revive(id: number, options?: { empty?: boolean }): Promise<void>;
}

function topicImage(configs: Record<string, string>): TopicImage {
  return {
    name: TOPIC,
    topicId: "7f1f0a2e-0000-4000-8000-000000000002",
    partitions: [{ partition: 0, leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: NODES, isr: NODES }],
    configs: new Map(Object.entries(configs)),
  };
}

/** Runs `fn` against a fresh cluster and stops and removes everything afterwards. */
export async function withCluster(
  fn: (c: Cluster) => Promise<void>,
  options: { topicConfigs?: Record<string, string> } = {},
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "samsa-replicated-cluster-" });
  const net = new TestNetwork();
  const dead = new Set<number>();
  const topic = topicImage(options.topicConfigs ?? {});
  const startManager = (id: number) => {
    const settings = { "log.dirs": `${root}/${id}`, "node.id": String(id) };
    const config = BrokerConfig.from(
      Object.entries(settings).map(([key, value]) => ({ key, value, source: { kind: "flag" as const, flag: key } })),
    );
    const manager = new ReplicaManager(config, silentLogger, { manualTicks: true });
    manager.attachTransport(net.transport(id));
    net.managers.set(id, manager);
    return manager;
  };
  for (const id of NODES) {
    await Deno.mkdir(`${root}/${id}`);
    startManager(id);
  }
  const cluster: Cluster = {
    net,
    topic,
    manager: (id) => net.managers.get(id)!,
    replica: (id) => net.managers.get(id)!.get(TOPIC, 0)!,
    async tickUntil(done, what, maxTicks = 400) {
      for (let i = 0; i < maxTicks; i++) {
        if (done()) return;
        for (const [id, m] of net.managers) if (!dead.has(id)) m.tickReplicatedGroups();
        // Let the ready loops write, fsync and answer.
        await new Promise((r) => setTimeout(r, 5));
      }
      if (!done()) throw new Error(`not within ${maxTicks} ticks: ${what}`);
    },
    leader() {
      return NODES.find((id) => !dead.has(id) && cluster.replica(id)?.isLeader);
    },
    async kill(id) {
      net.cut.add(id);
      dead.add(id);
      await net.managers.get(id)!.close();
    },
    async revive(id, revival = {}) {
      if (revival.empty) {
        await Deno.remove(`${root}/${id}`, { recursive: true });
        await Deno.mkdir(`${root}/${id}`);
      }
      dead.delete(id);
      net.cut.delete(id);
      await startManager(id).ensureTopic(topic);
    },
  };
  try {
    for (const id of NODES) await cluster.manager(id).ensureTopic(topic);
    await fn(cluster);
  } finally {
    for (const [id, m] of net.managers) if (!dead.has(id)) await m.close();
    await Deno.remove(root, { recursive: true });
  }
}
