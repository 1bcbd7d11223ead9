/**
 * Quiescence with real replicas: three ReplicaManagers (real logs in temp directories) joined by an in-test network,
 * hosting a topic of replication factor 3. Time is driven by the tests (`manualTicks`, one tick = 50 ms of the
 * groups' clock). Idle groups stop sending partition messages (only one liveness message per broker pair goes out),
 * a produce wakes them, and a dead leader's partitions still fail over by the election timeout.
 */
import assert from "node:assert/strict";
import { BrokerConfig } from "../../../broker/config.ts";
import { silentLogger } from "../../../broker/logger.ts";
import type { TopicImage } from "../../../broker/metadata_image.ts";
import type { PartitionReplica } from "../../../broker/replication/partition_replica.ts";
import { ReplicaManager } from "../../../broker/replication/replica_manager.ts";
import { LIVENESS_GROUP } from "../../../broker/replication/group_clock.ts";
import { buildRecordBatch } from "../../../protocol/record_batch.ts";
import type { MessageBatch } from "../../../raft/transport.ts";
import { TEST_PRODUCE_SETTINGS } from "./replica_fixture.ts";

const TOPIC = "idle";
const NODES = [1, 2, 3];
const PARTITIONS = 3;

/** Delivers batches on the microtask queue, counting partition and liveness messages; a cut broker is silent. */
class CountingNetwork {
  readonly managers = new Map<number, ReplicaManager>();
  readonly cut = new Set<number>();
  partitionMessages = 0;
  livenessMessages = 0;

  transport(from: number) {
    return {
      send: (batch: MessageBatch) => {
        if (this.cut.has(from) || this.cut.has(batch.to)) return;
        for (const { group } of batch.messages) {
          if (group === LIVENESS_GROUP) this.livenessMessages++;
          else this.partitionMessages++;
        }
        queueMicrotask(() => {
          if (!this.cut.has(from) && !this.cut.has(batch.to)) this.managers.get(batch.to)?.receive(batch);
        });
      },
    };
  }
}

interface Cluster {
  net: CountingNetwork;
  replica(id: number, partition: number): PartitionReplica;
  /** Ticks every live manager until `done()` holds; fails after `maxTicks`. Returns the ticks it took. */
  tickUntil(done: () => boolean, what: string, maxTicks?: number): Promise<number>;
  /** Ticks every live manager `n` times. */
  tick(n: number): Promise<void>;
  leader(partition: number): number | undefined;
  quiesced(id: number): number;
  kill(id: number): Promise<void>;
}

async function withCluster(fn: (c: Cluster) => Promise<void>, lagTimeMaxMs = 30_000): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "samsa-quiescence-" });
  const net = new CountingNetwork();
  const dead = new Set<number>();
  const topic: TopicImage = {
    name: TOPIC,
    topicId: "7f1f0a2e-0000-4000-8000-00000000000a",
    partitions: Array.from({ length: PARTITIONS }, (_, p) => ({
      partition: p,
      leader: NODES[p % NODES.length],
      leaderEpoch: 0,
      partitionEpoch: 0,
      replicas: NODES,
      isr: NODES,
    })),
    configs: new Map(),
  };
  for (const id of NODES) {
    await Deno.mkdir(`${root}/${id}`);
    const settings = {
      "log.dirs": `${root}/${id}`,
      "node.id": String(id),
      "replica.lag.time.max.ms": String(lagTimeMaxMs),
    };
    const config = BrokerConfig.from(
      Object.entries(settings).map(([key, value]) => ({ key, value, source: { kind: "flag" as const, flag: key } })),
    );
    const manager = new ReplicaManager(config, silentLogger, { manualTicks: true });
    manager.attachTransport(net.transport(id));
    net.managers.set(id, manager);
  }
  const live = () => NODES.filter((id) => !dead.has(id));
  const tickOnce = async () => {
    for (const id of live()) net.managers.get(id)!.tickReplicatedGroups();
    // Let the ready loops write, fsync and answer.
    await new Promise((r) => setTimeout(r, 5));
  };
  const cluster: Cluster = {
    net,
    replica: (id, partition) => net.managers.get(id)!.get(TOPIC, partition)!,
    async tickUntil(done, what, maxTicks = 400) {
      for (let i = 0; i < maxTicks; i++) {
        if (done()) return i;
        await tickOnce();
      }
      if (!done()) throw new Error(`not within ${maxTicks} ticks: ${what}`);
      return maxTicks;
    },
    async tick(n) {
      for (let i = 0; i < n; i++) await tickOnce();
    },
    leader: (partition) => live().find((id) => cluster.replica(id, partition).isLeader),
    quiesced: (id) => net.managers.get(id)!.groupClockCounts().quiesced,
    async kill(id) {
      net.cut.add(id);
      dead.add(id);
      await net.managers.get(id)!.close();
    },
  };
  try {
    for (const id of NODES) await net.managers.get(id)!.ensureTopic(topic);
    await fn(cluster);
  } finally {
    for (const id of live()) await net.managers.get(id)!.close();
    await Deno.remove(root, { recursive: true });
  }
}

function batch(value: string): Uint8Array {
  return buildRecordBatch([{ timestamp: Date.now(), key: null, value: new TextEncoder().encode(value) }], {});
}

const partitions = [...Array(PARTITIONS).keys()];

/** Every partition has a leader and every group on every live broker stopped ticking. */
async function allQuiet(c: Cluster, brokers = NODES): Promise<void> {
  await c.tickUntil(
    () => partitions.every((p) => c.leader(p) !== undefined) && brokers.every((id) => c.quiesced(id) === PARTITIONS),
    "every group quiesces",
  );
}

Deno.test("idle replicated groups quiesce: no partition message goes out, one liveness message per broker pair", async () => {
  await withCluster(async (c) => {
    await allQuiet(c);
    const before = { partition: c.net.partitionMessages, liveness: c.net.livenessMessages };
    // 100 ticks = 5 s of the groups' clock: unquiesced, 3 leaders would send 2 heartbeats each per 2 ticks (300).
    await c.tick(100);
    assert.deepEqual(c.net.partitionMessages - before.partition, 0);
    // Every other tick, each of the 6 ordered broker pairs carries one liveness message, whatever the group count.
    const liveness = c.net.livenessMessages - before.liveness;
    assert.ok(liveness >= 6 * 49 && liveness <= 6 * 51, `liveness messages: ${liveness}`);
    for (const p of partitions) {
      const leader = c.leader(p)!;
      assert.deepEqual(c.replica(leader, p).inSyncReplicas().length, 3);
    }
  });
});

Deno.test("a produce wakes a quiesced group: acks=-1 is acknowledged, every replica gets the batch, and it quiesces again", async () => {
  await withCluster(async (c) => {
    await allQuiet(c);
    const leader = c.leader(0)!;
    const sentBefore = c.net.partitionMessages;
    const outcome = c.replica(leader, 0).append(batch("wake up"), TEST_PRODUCE_SETTINGS, Date.now(), -1);
    assert.ok(outcome.durable, "the produce was taken");
    // No tick needed to replicate and commit: the proposal itself sends the append.
    await outcome.durable;
    assert.ok(c.net.partitionMessages > sentBefore);
    const end = c.replica(leader, 0).logEndOffset;
    await c.tickUntil(
      () => NODES.every((id) => c.replica(id, 0).highWatermark === end),
      "every replica holds the batch and knows it is committed",
    );
    await allQuiet(c);
    const settled = c.net.partitionMessages;
    await c.tick(40);
    assert.deepEqual(c.net.partitionMessages, settled);
  });
});

Deno.test("a quiesced leader's followers stay in sync while their brokers are live", async () => {
  // An ISR lag of 400 ms of real time: without liveness a quiesced leader would drop both followers meanwhile.
  await withCluster(async (c) => {
    await allQuiet(c);
    const started = Date.now();
    await c.tickUntil(() => Date.now() - started > 1_000, "a second passes", 1_000);
    for (const p of partitions) assert.deepEqual(c.replica(c.leader(p)!, p).inSyncReplicas().length, 3);
  }, 400);
});

Deno.test("a killed broker's quiesced partitions fail over by the election timeout; its leaderships' followers elect", async () => {
  await withCluster(async (c) => {
    await allQuiet(c);
    const victim = c.leader(0)!;
    const led = partitions.filter((p) => c.leader(p) === victim);
    const epochs = led.map((p) => c.replica(victim, p).leaderEpoch);
    await c.kill(victim);
    // Liveness: silent for 10 ticks; election: a randomized 10-20 ticks counted from the last message heard.
    const ticks = await c.tickUntil(
      () => led.every((p) => c.leader(p) !== undefined),
      "every partition the dead broker led has a new leader",
      60,
    );
    console.log(`failover after ${ticks} ticks (${ticks * 50} ms of group time)`);
    for (const [i, p] of led.entries()) {
      const leader = c.leader(p)!;
      assert.notEqual(leader, victim);
      assert.ok(c.replica(leader, p).leaderEpoch > epochs[i]);
      await c.replica(leader, p).append(batch("after failover"), TEST_PRODUCE_SETTINGS, Date.now(), -1).durable;
    }
  });
});

Deno.test("a follower whose broker dies leaves the ISR after replica.lag.time.max.ms; the leader keeps ticking", async () => {
  await withCluster(async (c) => {
    await allQuiet(c);
    const leader = c.leader(0)!;
    const victim = NODES.find((id) => id !== leader)!;
    await c.kill(victim);
    await c.tickUntil(
      () => !c.replica(leader, 0).inSyncReplicas().includes(victim),
      "the dead follower leaves the ISR",
      400,
    );
    assert.deepEqual(c.replica(leader, 0).inSyncReplicas().length, 2);
    assert.ok(!c.net.managers.get(leader)!.isQuiesced(c.replica(leader, 0)), "a leader with a silent peer ticks");
  }, 400);
});

Deno.test("DeleteRecords on a quiesced leader wakes its group: every follower's log starts there before it quiesces again", async () => {
  await withCluster(async (c) => {
    await allQuiet(c);
    const leader = c.leader(0)!;
    for (const v of ["a", "b", "c"]) {
      await c.replica(leader, 0).append(batch(v), TEST_PRODUCE_SETTINGS, Date.now(), -1).durable;
    }
    await allQuiet(c);
    const target = c.replica(leader, 0).highWatermark - 1;
    await c.replica(leader, 0).log.deleteRecordsBefore(target);
    c.replica(leader, 0).announceLogStart();
    await c.tickUntil(
      () => NODES.every((id) => c.replica(id, 0).logStartOffset === target),
      "every replica's log starts at the new log start",
    );
    await allQuiet(c);
  });
});
