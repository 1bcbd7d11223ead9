/**
 * Replicated partitions in one process: three ReplicaManagers (real logs in temp directories) joined by an
 * in-test network that can cut a broker off, hosting a topic of replication factor 3. Time is driven by the
 * tests (`manualTicks`): one tick is 50 ms of the groups' clock, an election timeout 10-20 ticks.
 */
import assert from "node:assert/strict";
import { BrokerConfig } from "../../../broker/config.ts";
import { silentLogger } from "../../../broker/logger.ts";
import type { TopicImage } from "../../../broker/metadata_image.ts";
import type { PartitionReplica, ProduceOutcome } from "../../../broker/replication/partition_replica.ts";
import { partitionGroupId, ReplicaManager } from "../../../broker/replication/replica_manager.ts";
import { preferredReadReplica, RACK_AWARE_REPLICA_SELECTOR } from "../../../broker/replication/replica_selector.ts";
import type { BrokerContext } from "../../../broker/broker_context.ts";
import { LeaderHints, leaderReplica } from "../../../broker/leader_lookup.ts";
import { ErrorCode } from "../../../protocol/generated/errors.ts";
import { buildRecordBatch } from "../../../protocol/record_batch.ts";
import type { MessageBatch } from "../../../raft/transport.ts";
import { message } from "../../../raft/types.ts";
import { TEST_PRODUCE_SETTINGS } from "./replica_fixture.ts";

const TOPIC = "orders";
const NODES = [1, 2, 3];

/** Delivers batches between managers on the microtask queue; a cut broker neither sends nor receives. */
class TestNetwork {
  readonly managers = new Map<number, ReplicaManager>();
  readonly cut = new Set<number>();
  delivered = 0;

  transport(from: number) {
    return {
      send: (batch: MessageBatch) => {
        if (this.cut.has(from) || this.cut.has(batch.to)) return;
        queueMicrotask(() => {
          if (this.cut.has(from) || this.cut.has(batch.to)) return;
          this.delivered++;
          this.managers.get(batch.to)?.receive(batch);
        });
      },
    };
  }
}

interface Cluster {
  net: TestNetwork;
  topic: TopicImage;
  manager(id: number): ReplicaManager;
  replica(id: number): PartitionReplica;
  /** Ticks every live manager until `done()` holds; fails after `maxTicks`. */
  tickUntil(done: () => boolean, what: string, maxTicks?: number): Promise<void>;
  /** The id of the broker whose replica leads (and may take produces), or undefined. */
  leader(): number | undefined;
  /** Closes broker `id`'s manager (a dead broker) and cuts it off. */
  kill(id: number): Promise<void>;
  /** Closes broker `id`'s manager and opens a new one over the same directory (a broker restart). */
  restart(id: number): Promise<void>;
}

function topicImage(configs: Record<string, string> = {}): TopicImage {
  return {
    name: TOPIC,
    topicId: "7f1f0a2e-0000-4000-8000-000000000001",
    partitions: [{ partition: 0, leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: NODES, isr: NODES }],
    configs: new Map(Object.entries(configs)),
  };
}

async function withCluster(
  fn: (c: Cluster) => Promise<void>,
  options: { topicConfigs?: Record<string, string>; brokerSettings?: Record<string, string> } = {},
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "samsa-replication-" });
  const net = new TestNetwork();
  const closed = new Set<number>();
  const topic = topicImage(options.topicConfigs);
  const startManager = (id: number) => {
    const settings = { "log.dirs": `${root}/${id}`, "node.id": String(id), ...options.brokerSettings };
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
        for (const [id, m] of net.managers) if (!closed.has(id)) m.tickReplicatedGroups();
        // Let the ready loops write, fsync and answer.
        await new Promise((r) => setTimeout(r, 5));
      }
      if (!done()) throw new Error(`not within ${maxTicks} ticks: ${what}`);
    },
    leader() {
      return NODES.find((id) => !closed.has(id) && cluster.replica(id)?.isLeader);
    },
    async kill(id) {
      net.cut.add(id);
      closed.add(id);
      await net.managers.get(id)!.close();
    },
    async restart(id) {
      net.cut.add(id);
      await net.managers.get(id)!.close();
      net.cut.delete(id);
      await startManager(id).ensureTopic(topic);
    },
  };
  try {
    for (const id of NODES) await cluster.manager(id).ensureTopic(topic);
    await fn(cluster);
  } finally {
    for (const [id, m] of net.managers) if (!closed.has(id)) await m.close();
    await Deno.remove(root, { recursive: true });
  }
}

function batch(values: string[], idempotent?: { producerId: bigint; producerEpoch: number; baseSequence: number }) {
  return buildRecordBatch(
    values.map((v) => ({ timestamp: Date.now(), key: null, value: new TextEncoder().encode(v) })),
    idempotent ?? {},
  );
}

function produce(replica: PartitionReplica, bytes: Uint8Array, acks = -1): ProduceOutcome {
  return replica.append(bytes, TEST_PRODUCE_SETTINGS, Date.now(), acks);
}

/** Every byte of a replica's log from its start to its end. */
function logBytes(replica: PartitionReplica): Uint8Array {
  const log = replica.log;
  return log.read(log.logStartOffset, 64 * 1024 * 1024, { upTo: log.logEndOffset }).records;
}

/** Watches whether a promise settled, without awaiting it. */
function watch(p: Promise<void>): { settled: boolean; error?: unknown } {
  const state: { settled: boolean; error?: unknown } = { settled: false };
  p.then(() => (state.settled = true), (e) => {
    state.settled = true;
    state.error = e;
  });
  return state;
}

async function electedLeader(c: Cluster): Promise<number> {
  await c.tickUntil(() => c.leader() !== undefined, "a leader is elected");
  return c.leader()!;
}

Deno.test("the metadata's leader of a new replicated partition is elected and its batches reach every replica byte for byte", async () => {
  await withCluster(async (c) => {
    const leader = await electedLeader(c);
    assert.deepEqual(leader, 1);
    const epoch = c.replica(1).leaderEpoch;
    for (const id of [2, 3]) {
      assert.ok(!c.replica(id).isLeader);
      await c.tickUntil(() => c.replica(id).leaderId === 1, `replica ${id} knows the leader`);
    }
    const first = produce(c.replica(1), batch(["a", "b"]));
    const second = produce(c.replica(1), batch(["c"]));
    assert.deepEqual(first.errorCode, ErrorCode.NONE);
    await first.durable;
    await second.durable;
    // A new partition's first leader writes no LeaderChange batch: its first record is at offset 0, as in Kafka.
    assert.deepEqual(first.baseOffset, 0);
    assert.deepEqual(second.baseOffset, 2);
    const end = c.replica(1).logEndOffset;
    await c.tickUntil(
      () => [2, 3].every((id) => c.replica(id).highWatermark === end),
      "followers learn the high watermark",
    );
    const reference = logBytes(c.replica(1));
    for (const id of [2, 3]) {
      assert.deepEqual(logBytes(c.replica(id)), reference);
      assert.deepEqual(c.replica(id).leaderEpoch, epoch);
      assert.deepEqual(c.replica(id).log.endOffsetForEpoch(epoch).endOffset, end);
    }
  });
});

Deno.test("a follower answers a produce with NOT_LEADER_OR_FOLLOWER and appends nothing", async () => {
  await withCluster(async (c) => {
    await electedLeader(c);
    const before = c.replica(2).logEndOffset;
    const outcome = produce(c.replica(2), batch(["x"]));
    assert.deepEqual(outcome.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.deepEqual(outcome.durable, undefined);
    assert.deepEqual(c.replica(2).logEndOffset, before);
  });
});

Deno.test("acks=-1 waits for a majority: with both followers cut off it does not resolve, once healed it does", async () => {
  await withCluster(async (c) => {
    await electedLeader(c);
    await produce(c.replica(1), batch(["warm-up"])).durable;
    c.net.cut.add(2);
    c.net.cut.add(3);
    const outcome = produce(c.replica(1), batch(["needs", "a", "majority"]));
    assert.deepEqual(outcome.errorCode, ErrorCode.NONE);
    const ack = watch(outcome.durable!);
    // Written and fsynced here, but within less than an election timeout no follower holds it.
    await c.tickUntil(() => c.replica(1).log.flushedOffset === c.replica(1).logEndOffset, "the leader fsyncs");
    for (let i = 0; i < 4; i++) {
      c.manager(1).tickReplicatedGroups();
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(!ack.settled, "acks=-1 resolved without a majority");
    assert.ok(c.replica(1).highWatermark <= outcome.baseOffset);
    c.net.cut.clear();
    await c.tickUntil(() => ack.settled, "the produce is acknowledged after healing", 8);
    assert.deepEqual(ack.error, undefined);
    assert.ok(c.replica(1).highWatermark > outcome.baseOffset);
  });
});

Deno.test("after the leader dies a new leader with a higher epoch takes produces, and answers an idempotent retry with its original offset", async () => {
  await withCluster(async (c) => {
    await electedLeader(c);
    const oldEpoch = c.replica(1).leaderEpoch;
    const producer = { producerId: 4242n, producerEpoch: 0, baseSequence: 0 };
    const original = produce(c.replica(1), batch(["once"], producer));
    await original.durable;
    // The followers hold it (committed on a majority) before the leader dies.
    await c.tickUntil(() => [2, 3].every((id) => c.replica(id).logEndOffset === c.replica(1).logEndOffset), "copies");
    await c.kill(1);
    await c.tickUntil(() => c.leader() !== undefined, "a new leader is elected");
    const leader = c.leader()!;
    assert.notEqual(leader, 1);
    assert.ok(c.replica(leader).leaderEpoch > oldEpoch);
    const retry = produce(c.replica(leader), batch(["once"], producer));
    assert.deepEqual(retry.errorCode, ErrorCode.NONE);
    assert.deepEqual(retry.baseOffset, original.baseOffset);
    await retry.durable;
    const next = produce(c.replica(leader), batch(["twice"], { ...producer, baseSequence: 1 }));
    assert.deepEqual(next.errorCode, ErrorCode.NONE);
    assert.ok(next.baseOffset > original.baseOffset);
    await next.durable;
    const other = leader === 2 ? 3 : 2;
    await c.tickUntil(() => c.replica(other).highWatermark === c.replica(leader).highWatermark, "follower caught up");
    assert.deepEqual(logBytes(c.replica(other)), logBytes(c.replica(leader)));
  });
});

Deno.test("a deposed leader's uncommitted tail is cut and replaced by the new leader's batches", async () => {
  await withCluster(async (c) => {
    await electedLeader(c);
    await produce(c.replica(1), batch(["committed"])).durable;
    await c.tickUntil(() => [2, 3].every((id) => c.replica(id).logEndOffset === c.replica(1).logEndOffset), "copies");
    // Broker 1 is cut off and takes a batch no one else will ever see.
    c.net.cut.add(1);
    const doomed = produce(c.replica(1), batch(["doomed"], { producerId: 9n, producerEpoch: 0, baseSequence: 0 }));
    assert.deepEqual(doomed.errorCode, ErrorCode.NONE);
    const doomedAck = watch(doomed.durable!);
    const doomedOffset = doomed.baseOffset;
    await c.tickUntil(() => c.leader() !== undefined && c.leader() !== 1, "2 or 3 takes over");
    const leader = c.leader()!;
    const replacement = produce(c.replica(leader), batch(["replacement", "longer"]));
    await replacement.durable;
    // The doomed offset is reused: by the new leader's LeaderChange batch when it did not yet know its whole log
    // committed, else (it knew, and wrote none) by the replacement itself.
    assert.ok(
      replacement.baseOffset === doomedOffset || replacement.baseOffset === doomedOffset + 1,
      `replacement at ${replacement.baseOffset}, doomed at ${doomedOffset}`,
    );
    // The old leader stepped down (check-quorum) and answered its waiting produce.
    await c.tickUntil(() => doomedAck.settled, "the deposed leader answers its produce");
    assert.deepEqual((doomedAck.error as { errorCode?: number }).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    c.net.cut.delete(1);
    await c.tickUntil(
      () => c.replica(1).highWatermark === c.replica(leader).highWatermark && c.replica(1).leaderId === leader,
      "the old leader follows and catches up",
    );
    assert.deepEqual(logBytes(c.replica(1)), logBytes(c.replica(leader)));
    // Its producer state forgot the cut batch: producer 9 may start again at sequence 0.
    assert.deepEqual(c.replica(1).producers.get(9n), undefined);
    // The epoch cache reflects the new leader's epoch from where its batches start.
    assert.deepEqual(c.replica(1).log.epochForOffset(doomedOffset), c.replica(leader).leaderEpoch);
  });
});

Deno.test("min.insync.replicas=3 with a follower out of sync answers acks=-1 with NOT_ENOUGH_REPLICAS, acks=1 still appends", async () => {
  await withCluster(async (c) => {
    await electedLeader(c);
    await produce(c.replica(1), batch(["all three"])).durable;
    await c.tickUntil(() => c.replica(1).inSyncReplicas().length === 3, "all in sync");
    c.net.cut.add(3);
    await c.tickUntil(() => c.replica(1).inSyncReplicas().length === 2, "follower 3 leaves the ISR");
    assert.deepEqual(c.replica(1).inSyncReplicas(), [1, 2]);
    const before = c.replica(1).logEndOffset;
    const refused = produce(c.replica(1), batch(["refused"]));
    assert.deepEqual(refused.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
    assert.deepEqual(c.replica(1).logEndOffset, before);
    const acks1 = produce(c.replica(1), batch(["acks=1"]), 1);
    assert.deepEqual(acks1.errorCode, ErrorCode.NONE);
    c.net.cut.clear();
    await c.tickUntil(() => c.replica(1).inSyncReplicas().length === 3, "follower 3 rejoins the ISR");
    const accepted = produce(c.replica(1), batch(["accepted"]));
    assert.deepEqual(accepted.errorCode, ErrorCode.NONE);
    await accepted.durable;
  }, { topicConfigs: { "min.insync.replicas": "3" }, brokerSettings: { "replica.lag.time.max.ms": "300" } });
});

Deno.test("leadership listeners hear of the new leader; transferLeadershipAway hands leadership to a follower", async () => {
  await withCluster(async (c) => {
    const heard: string[] = [];
    for (const id of NODES) {
      c.manager(id).onLeadership((r) => heard.push(`${id}:${r.leaderId}:${r.leaderEpoch}:${r.isLeader}`));
    }
    await electedLeader(c);
    const epoch = c.replica(1).leaderEpoch;
    assert.ok(heard.includes(`1:1:${epoch}:true`), heard.join(" "));
    await c.tickUntil(() => heard.includes(`2:1:${epoch}:false`), "follower 2 reports the leader");
    const moved = c.manager(1).transferLeadershipAway(5_000);
    await c.tickUntil(() => c.leader() !== undefined && c.leader() !== 1, "leadership moves");
    assert.deepEqual(await moved, true);
    const leader = c.leader()!;
    assert.ok(c.replica(leader).leaderEpoch > epoch);
    const outcome = produce(c.replica(leader), batch(["after transfer"]));
    assert.deepEqual(outcome.errorCode, ErrorCode.NONE);
    await outcome.durable;
  });
});

Deno.test("after transferLeadershipAway the old leader refuses produces, naming the new leader (KIP-951)", async () => {
  await withCluster(async (c) => {
    await electedLeader(c);
    await c.tickUntil(() => c.replica(1).inSyncReplicas().length === 3, "every follower in sync");
    // Broker 2 is stopping too: only broker 3 may take the leadership.
    const moved = c.manager(1).transferLeadershipAway(5_000, (id) => id !== 2);
    await c.tickUntil(() => c.leader() === 3, "leadership moves to broker 3");
    assert.deepEqual(await moved, true);
    // What the produce path of broker 1 answers, as the metadata (not updated yet) still names broker 1.
    const ctx = {
      nodeId: 1,
      replicas: c.manager(1),
      metadata: { topic: () => topicImage() },
      advertised: new Map(),
    } as unknown as BrokerContext;
    assert.deepEqual(leaderReplica(ctx, TOPIC, 0).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const hint = new LeaderHints(ctx, "PLAINTEXT").currentLeader(TOPIC, 0);
    assert.deepEqual(hint, { leaderId: 3, leaderEpoch: c.replica(3).leaderEpoch });
    // Nobody left who may lead: it gives up at once rather than waiting for its bound.
    const started = Date.now();
    assert.deepEqual(await c.manager(3).transferLeadershipAway(5_000, () => false), false);
    assert.ok(Date.now() - started < 1000);
  });
});

Deno.test("a follower behind the leader's log start restarts its log there and catches up", async () => {
  await withCluster(async (c) => {
    await electedLeader(c);
    c.net.cut.add(3);
    for (let i = 0; i < 5; i++) {
      await produce(c.replica(1), batch([`v${i}`], { producerId: 77n, producerEpoch: 0, baseSequence: i })).durable;
    }
    const start = c.replica(1).logEndOffset - 2;
    await c.replica(1).log.deleteRecordsBefore(start);
    c.net.cut.clear();
    await c.tickUntil(
      () => c.replica(3).highWatermark === c.replica(1).highWatermark && c.replica(3).logStartOffset === start,
      "follower 3 installs the snapshot and catches up",
    );
    assert.deepEqual(logBytes(c.replica(3)), logBytes(c.replica(1)));
    // The snapshot carried the producer's state as of the log start; the replayed batches added the rest.
    assert.deepEqual(c.replica(3).producers.get(77n)?.batches.at(-1)?.lastSequence, 4);
  });
});

Deno.test("a restarted follower rejoins from its own log; after a whole-cluster restart every committed batch is still there", async () => {
  await withCluster(async (c) => {
    await electedLeader(c);
    for (const v of ["a", "b"]) await produce(c.replica(1), batch([v])).durable;
    await c.tickUntil(() => c.replica(3).highWatermark === c.replica(1).highWatermark, "follower 3 caught up");
    const epoch = c.replica(1).leaderEpoch;
    await c.restart(3);
    assert.equal(c.replica(3).leaderEpoch, epoch, "the term survives the restart");
    await produce(c.replica(1), batch(["c"])).durable;
    await c.tickUntil(
      () => c.replica(3).highWatermark === c.replica(1).highWatermark,
      "the restarted follower catches up",
    );
    assert.deepEqual(logBytes(c.replica(3)), logBytes(c.replica(1)));

    const committed = logBytes(c.replica(1));
    const end = c.replica(1).highWatermark;
    for (const id of NODES) await c.restart(id);
    await c.tickUntil(() => c.leader() !== undefined, "a leader after the restart");
    const leader = c.leader()!;
    assert.ok(c.replica(leader).leaderEpoch > epoch);
    assert.ok(c.replica(leader).highWatermark >= end);
    assert.deepEqual(logBytes(c.replica(leader)).subarray(0, committed.length), committed);
    const after = produce(c.replica(leader), batch(["d"]));
    assert.equal(after.errorCode, ErrorCode.NONE);
    await after.durable;
  });
});

Deno.test("a follower that missed the election gets the leader's older batches, read back from disk", async () => {
  await withCluster(async (c) => {
    c.net.cut.add(3);
    await electedLeader(c);
    for (const v of ["a", "b", "c"]) await produce(c.replica(1), batch([v])).durable;
    await c.tickUntil(() => c.replica(2).highWatermark === c.replica(1).highWatermark, "follower 2 caught up");
    assert.equal(c.replica(3).logEndOffset, 0);
    c.net.cut.clear();
    await c.tickUntil(() => c.replica(3).highWatermark === c.replica(1).highWatermark, "follower 3 caught up");
    assert.deepEqual(logBytes(c.replica(3)), logBytes(c.replica(1)));
  });
});

Deno.test("listeners hear when a partition stops being led here because its topic was deleted", async () => {
  await withCluster(async (c) => {
    await electedLeader(c);
    const heard: boolean[] = [];
    c.manager(1).onLeadership((r) => heard.push(r.isLeader));
    await c.manager(1).removeTopic(TOPIC);
    assert.deepEqual(heard, [false]);
    assert.equal(c.manager(1).get(TOPIC, 0), undefined);
  });
});

Deno.test("a garbage batch from the network stops only its group on that broker; unknown groups are dropped; the rest keeps working", async () => {
  await withCluster(async (c) => {
    const other: TopicImage = { ...topicImage(), name: "payments", topicId: "7f1f0a2e-0000-4000-8000-000000000002" };
    for (const id of NODES) await c.manager(id).ensureTopic(other);
    await electedLeader(c);
    const otherLeader = () => NODES.find((id) => c.manager(id).get("payments", 0)?.isLeader);
    await c.tickUntil(() => otherLeader() !== undefined, "payments has a leader");
    await c.tickUntil(() => c.replica(2).leaderId === 1, "follower 2 follows");
    const follower = c.replica(2);
    const garbage = new Uint8Array(80).fill(7);
    c.manager(2).receive({
      from: 1,
      to: 2,
      messages: [
        { group: "no-such-topic:0", message: message("heartbeat", 1, 2, 0) },
        {
          group: partitionGroupId(c.topic.topicId, 0),
          message: message("app", 1, 2, follower.leaderEpoch, {
            index: follower.logEndOffset - 1,
            logTerm: follower.leaderEpoch,
            entries: [{ index: follower.logEndOffset, count: 1, term: follower.leaderEpoch, type: 0, data: garbage }],
          }),
        },
      ],
    });
    // The orders group on broker 2 stops; orders still commits on 1 and 3, payments on all three.
    const orders = produce(c.replica(1), batch(["still served"]));
    await orders.durable;
    const paymentsLeader = c.manager(otherLeader()!).get("payments", 0)!;
    const payments = produce(paymentsLeader, batch(["also served"]));
    await payments.durable;
    await c.tickUntil(
      () => c.manager(2).get("payments", 0)!.highWatermark === paymentsLeader.highWatermark,
      "broker 2 still follows payments",
    );
    assert.ok(c.replica(2).highWatermark < c.replica(1).highWatermark, "orders stopped on broker 2");
  });
});

Deno.test("after DeleteRecords on the leader every replica's log starts there, the low watermark reports it, and a new leader keeps it", async () => {
  await withCluster(async (c) => {
    await electedLeader(c);
    for (let i = 0; i < 6; i++) await produce(c.replica(1), batch([`r${i}`])).durable;
    await c.tickUntil(() => c.replica(1).lowWatermark === 0, "the followers report their log start");
    const start = c.replica(1).highWatermark - 2;
    // While the followers cannot hear it, only the leader's log start moves: the low watermark stays behind.
    c.net.cut.add(2);
    c.net.cut.add(3);
    assert.deepEqual(await c.replica(1).log.deleteRecordsBefore(start), start);
    assert.deepEqual(c.replica(1).lowWatermark, 0);
    c.net.cut.clear();
    await c.tickUntil(
      () => [2, 3].every((id) => c.replica(id).logStartOffset === start) && c.replica(1).lowWatermark === start,
      "the followers follow the leader's log start and report it",
    );
    assert.deepEqual(logBytes(c.replica(2)), logBytes(c.replica(1)));
    assert.deepEqual(logBytes(c.replica(3)), logBytes(c.replica(1)));
    await c.kill(1);
    const next = await electedLeader(c);
    assert.deepEqual(c.replica(next).logStartOffset, start);
    assert.deepEqual(c.replica(next).read(start - 1, 1024, true).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  });
});

Deno.test("a follower restarted after missing a log start move follows it from the leader's next heartbeat", async () => {
  await withCluster(async (c) => {
    await electedLeader(c);
    for (let i = 0; i < 4; i++) await produce(c.replica(1), batch([`s${i}`])).durable;
    await c.tickUntil(() => c.replica(3).highWatermark === c.replica(1).highWatermark, "follower 3 catches up");
    c.net.cut.add(3);
    const start = c.replica(1).highWatermark - 1;
    await c.replica(1).log.deleteRecordsBefore(start);
    await c.tickUntil(() => c.replica(2).logStartOffset === start, "follower 2 follows");
    assert.ok(c.replica(3).logStartOffset < start, "a cut-off follower cannot know");
    // Out of the in-sync replicas, follower 3 does not hold the low watermark back for ever.
    await c.tickUntil(() => c.replica(1).lowWatermark === start, "the low watermark counts in-sync replicas", 600);
    await c.restart(3);
    await c.tickUntil(() => c.replica(3).logStartOffset === start, "the restarted follower follows");
    assert.deepEqual(logBytes(c.replica(3)), logBytes(c.replica(1)));
  }, { brokerSettings: { "replica.lag.time.max.ms": "300" } });
});

Deno.test("KIP-392: a leader with the rack-aware selector names the in-sync follower in the client's rack, if it holds the fetch offset", async () => {
  await withCluster(async (c) => {
    await electedLeader(c);
    for (let i = 0; i < 3; i++) await produce(c.replica(1), batch([`k${i}`])).durable;
    const racks = [{ nodeId: 1, rack: "a" }, { nodeId: 2, rack: "b" }, { nodeId: 3, rack: "c" }];
    const query = {
      nodeId: 1,
      selector: RACK_AWARE_REPLICA_SELECTOR,
      clientRack: "b",
      fetchOffset: 1,
      liveBrokers: () => racks,
    };
    await c.tickUntil(() => c.replica(1).raft.matchIndex(2) === c.replica(1).logEndOffset - 1, "follower 2 matches");
    assert.equal(preferredReadReplica(c.replica(1), query), 2);
    assert.equal(preferredReadReplica(c.replica(1), { ...query, clientRack: "a" }), -1, "the leader's own rack");
    assert.equal(preferredReadReplica(c.replica(1), { ...query, clientRack: "" }), -1, "no client rack");
    assert.equal(preferredReadReplica(c.replica(1), { ...query, selector: null }), -1, "no selector configured");
    assert.equal(preferredReadReplica(c.replica(2), { ...query, nodeId: 2 }), -1, "only a leader names one");
    assert.equal(
      preferredReadReplica(c.replica(1), { ...query, liveBrokers: () => racks.filter((b) => b.nodeId !== 2) }),
      -1,
      "a follower whose broker is not live",
    );
    // A follower that does not hold the fetch offset yet is no candidate.
    c.net.cut.add(2);
    await produce(c.replica(1), batch(["only on 1 and 3"])).durable;
    assert.equal(preferredReadReplica(c.replica(1), { ...query, fetchOffset: c.replica(1).logEndOffset }), -1);
    // The follower serves what it holds: up to its high watermark; beyond its log end is out of range.
    const follower = c.replica(2);
    assert.ok(follower.read(1, 1024 * 1024, true).records.length > 0);
    assert.equal(follower.read(follower.highWatermark, 1024, true).records.length, 0);
    assert.equal(follower.read(follower.logEndOffset + 1, 1024, true).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  });
});
