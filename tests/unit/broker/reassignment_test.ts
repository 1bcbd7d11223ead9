/**
 * A reassignment carried out by the partition's Raft group, in one process: four ReplicaManagers (real logs in
 * temp directories) on an in-test network, a partition of replication factor 3 moved from brokers {1,2,3} to
 * {2,3,4} while acks=-1 produces keep coming. The controller's part is played by the test: it hands every broker
 * the placement KRaft would record, then the completed one. Time is driven by the tests (`manualTicks`).
 */
import assert from "node:assert/strict";
import { BrokerConfig } from "../../../broker/config.ts";
import { silentLogger } from "../../../broker/logger.ts";
import type { PartitionImage, TopicImage } from "../../../broker/metadata_image.ts";
import { ReplicaManager } from "../../../broker/replication/replica_manager.ts";
import { ErrorCode } from "../../../protocol/generated/errors.ts";
import { buildRecordBatch, iterateBatches } from "../../../protocol/record_batch.ts";
import { decodeRecordBatch } from "../../../protocol/record_batch.ts";
import type { MessageBatch } from "../../../raft/transport.ts";
import { TEST_PRODUCE_SETTINGS } from "./replica_fixture.ts";

const TOPIC = "moves";
const TOPIC_ID = "7f1f0a2e-0000-4000-8000-0000000000ab";
const BROKERS = [1, 2, 3, 4];

function topicWith(p: Partial<PartitionImage>): TopicImage {
  const partition = { partition: 0, leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1, 2, 3], isr: [1, 2, 3] };
  return { name: TOPIC, topicId: TOPIC_ID, partitions: [{ ...partition, ...p }], configs: new Map() };
}

interface Harness {
  root: string;
  managers: Map<number, ReplicaManager>;
  /** Bytes sent to broker 4 while it was a learner (the throttle's subject). */
  sentToLearner: number;
  tickUntil(done: () => boolean, what: string, maxTicks?: number): Promise<void>;
  leader(): number | undefined;
  place(topic: TopicImage): Promise<void>;
  /** Closes broker `id`'s manager and opens a new one over the same directory with `topic` (a restart). */
  restart(id: number, topic: TopicImage): Promise<void>;
}

async function withBrokers(settings: Record<string, string>, fn: (h: Harness) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "samsa-reassign-" });
  const managers = new Map<number, ReplicaManager>();
  const h: Harness = {
    root,
    managers,
    sentToLearner: 0,
    async tickUntil(done, what, maxTicks = 600) {
      for (let i = 0; i < maxTicks; i++) {
        if (done()) return;
        for (const m of managers.values()) m.tickReplicatedGroups();
        await new Promise((r) => setTimeout(r, 5));
      }
      if (!done()) throw new Error(`not within ${maxTicks} ticks: ${what}`);
    },
    restart: () => Promise.resolve(),
    leader: () => BROKERS.find((id) => managers.get(id)?.get(TOPIC, 0)?.isLeader),
    async place(topic) {
      for (const m of managers.values()) {
        await m.ensureTopic(topic);
        await m.followPlacement(topic);
      }
    },
  };
  const start = (id: number) => {
    const values = { "log.dirs": `${root}/${id}`, "node.id": String(id), ...settings };
    const config = BrokerConfig.from(
      Object.entries(values).map(([key, value]) => ({ key, value, source: { kind: "flag" as const, flag: key } })),
    );
    const manager = new ReplicaManager(config, silentLogger, { manualTicks: true });
    manager.attachTransport({
      send: (batch: MessageBatch) => {
        if (batch.to === 4) {
          for (const { message } of batch.messages) {
            for (const e of message.entries ?? []) h.sentToLearner += e.data.byteLength;
          }
        }
        queueMicrotask(() => managers.get(batch.to)?.receive(batch));
      },
    });
    managers.set(id, manager);
    return manager;
  };
  h.restart = async (id, topic) => {
    await managers.get(id)?.close();
    const manager = start(id);
    await manager.ensureTopic(topic);
    await manager.followPlacement(topic);
  };
  for (const id of BROKERS) {
    await Deno.mkdir(`${root}/${id}`);
    start(id);
  }
  try {
    await fn(h);
  } finally {
    for (const m of managers.values()) await m.close();
    await Deno.remove(root, { recursive: true });
  }
}

/** Every byte of a replica's log from its start up to `end`. */
function logBytes(h: Harness, id: number, end: number): Uint8Array {
  const log = h.managers.get(id)!.get(TOPIC, 0)!.log;
  return log.read(log.logStartOffset, 64 * 1024 * 1024, { upTo: end }).records;
}

/** The values of the data records in `bytes`, in log order. */
function valuesIn(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (const slot of iterateBatches(bytes)) {
    const decoded = decodeRecordBatch(bytes.subarray(slot.pos, slot.pos + slot.size));
    if (decoded.header.attributes & 0x20) continue; // control batches: LeaderChange, membership changes
    for (const r of decoded.records) out.push(new TextDecoder().decode(r.value!));
  }
  return out;
}

/** Produces `value` with acks=-1 at the current leader; resolves to true once acknowledged, false if refused. */
async function produce(h: Harness, value: string): Promise<boolean> {
  const leader = h.leader();
  if (leader === undefined) return false;
  const batch = buildRecordBatch([{ timestamp: Date.now(), key: null, value: new TextEncoder().encode(value) }], {});
  const outcome = h.managers.get(leader)!.get(TOPIC, 0)!.append(batch, TEST_PRODUCE_SETTINGS, Date.now(), -1);
  if (outcome.errorCode !== ErrorCode.NONE) return false;
  return await outcome.durable!.then(() => true, () => false);
}

Deno.test("a partition moves from brokers {1,2,3} to {2,3,4} under acks=-1 produces: nothing acknowledged is lost, the old replica is deleted, the new logs are byte-identical", async () => {
  await withBrokers({}, async (h) => {
    await h.place(topicWith({}));
    await h.tickUntil(() => h.leader() === 1, "broker 1 leads");
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) if (await produce(h, `before-${i}`)) acked.push(`before-${i}`);
    assert.equal(acked.length, 20);

    // The controller recorded the move as KRaft does: replicas = target + removing.
    await h.place(topicWith({ replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] }));
    assert.ok(h.managers.get(4)!.get(TOPIC, 0), "broker 4 opened its new replica");
    let n = 0;
    const pending: Promise<void>[] = [];
    await h.tickUntil(() => {
      // Keep producing while the group changes (a produce refused during a hand-over is not acknowledged).
      const value = `during-${n++}`;
      pending.push(produce(h, value).then((ok) => void (ok && acked.push(value))));
      const leader = h.leader();
      const raft = leader === undefined ? undefined : h.managers.get(leader)!.get(TOPIC, 0)!.raft;
      return raft !== undefined && raft.voters.join() === "2,3,4" && raft.learners.length === 0;
    }, "the group's voters become {2,3,4}");
    await Promise.all(pending);
    assert.notEqual(h.leader(), 1, "the old leader handed leadership over before it left");
    assert.ok(acked.length > 20);
    // Restarted before the metadata completes the move, broker 4 is a voter all the same: the membership its log
    // committed (kept in raft-state.json) wins over the metadata's placement, which says it is still being added.
    await h.restart(4, topicWith({ replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] }));
    assert.deepEqual([...h.managers.get(4)!.get(TOPIC, 0)!.raft.voters], [2, 3, 4]);

    // The leader's report completes the move in the metadata; every broker follows it.
    await h.place(topicWith({ replicas: [2, 3, 4], addingReplicas: [], removingReplicas: [] }));
    assert.equal(h.managers.get(1)!.get(TOPIC, 0), undefined, "broker 1 closed its replica");
    assert.equal(await Deno.stat(`${h.root}/1/${TOPIC}-0`).then(() => true, () => false), false);

    for (let i = 0; i < 5; i++) if (await produce(h, `after-${i}`)) acked.push(`after-${i}`);
    const leader = h.leader()!;
    const hw = h.managers.get(leader)!.get(TOPIC, 0)!.highWatermark;
    await h.tickUntil(
      () => [2, 3, 4].every((id) => h.managers.get(id)!.get(TOPIC, 0)!.highWatermark >= hw),
      "every new replica learns the high watermark",
    );
    const reference = logBytes(h, leader, hw);
    for (const id of [2, 3, 4]) assert.deepEqual(logBytes(h, id, hw), reference, `broker ${id}'s log`);
    const values = valuesIn(reference);
    for (const v of acked) assert.equal(values.filter((x) => x === v).length, 1, `${v} once`);
  });
});

Deno.test("a broker removed by a move while it was down deletes its stray directory when it starts", async () => {
  await withBrokers({}, async (h) => {
    await h.place(topicWith({}));
    await h.tickUntil(() => h.leader() === 1, "broker 1 leads");
    assert.ok(await produce(h, "x"));
    // Broker 3 is down (its replica closed) while the group moves from {1,2,3} to {1,2,4} and completes.
    await h.managers.get(3)!.close();
    h.managers.delete(3);
    const moving = topicWith({ replicas: [1, 2, 4, 3], addingReplicas: [4], removingReplicas: [3] });
    await h.place(moving);
    const raft = () => h.managers.get(1)!.get(TOPIC, 0)!.raft;
    await h.tickUntil(() => raft().voters.join() === "1,2,4", "the group's voters become {1,2,4}");
    const done = topicWith({ replicas: [1, 2, 4] });
    await h.place(done);
    assert.ok(await Deno.stat(`${h.root}/3/${TOPIC}-0`).then(() => true, () => false), "left on broker 3's disk");
    await h.restart(3, done);
    assert.equal(h.managers.get(3)!.get(TOPIC, 0), undefined);
    assert.equal(await Deno.stat(`${h.root}/3/${TOPIC}-0`).then(() => true, () => false), false);
  });
});

Deno.test("a cancelled move removes the learner it added and the partition stays on its replicas", async () => {
  await withBrokers({}, async (h) => {
    await h.place(topicWith({}));
    await h.tickUntil(() => h.leader() === 1, "broker 1 leads");
    assert.ok(await produce(h, "x"));
    await h.place(topicWith({ replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] }));
    const raft = () => h.managers.get(1)!.get(TOPIC, 0)!.raft;
    await h.tickUntil(() => raft().learners.includes(4) || raft().voters.includes(4), "broker 4 joins");
    // Cancelled: back to {1,2,3}; broker 4 stays a replica until the group removed it.
    await h.place(topicWith({ replicas: [2, 3, 1, 4], addingReplicas: [], removingReplicas: [4] }));
    await h.tickUntil(
      () => !raft().learners.includes(4) && !raft().voters.includes(4),
      "broker 4 leaves the group",
    );
    assert.deepEqual([...raft().voters], [1, 2, 3]);
    await h.place(topicWith({ replicas: [2, 3, 1] }));
    assert.equal(h.managers.get(4)!.get(TOPIC, 0), undefined);
  });
});

Deno.test("leader.replication.throttled.rate bounds what a learner is sent, and it still catches up", async () => {
  const rate = 1024 * 1024;
  await withBrokers({ "leader.replication.throttled.rate": String(rate) }, async (h) => {
    await h.place(topicWith({}));
    await h.tickUntil(() => h.leader() === 1, "broker 1 leads");
    // 3 MiB in 64 KiB batches: more than the 1 MiB a Raft append carries, so the learner gets several.
    const big = "v".repeat(64 * 1024);
    for (let i = 0; i < 48; i++) assert.ok(await produce(h, `${i}-${big}`));
    const started = Date.now();
    await h.place(topicWith({ replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] }));
    await h.tickUntil(
      () => {
        const leader = h.leader();
        return leader !== undefined && h.managers.get(leader)!.get(TOPIC, 0)!.raft.voters.includes(4);
      },
      "broker 4 becomes a voter",
      2000,
    );
    const seconds = (Date.now() - started) / 1000;
    assert.ok(h.sentToLearner >= 3 * rate, `${h.sentToLearner} bytes sent to the learner`);
    // At most a second's burst and one message beyond the rate.
    assert.ok(h.sentToLearner <= rate * (seconds + 1) + rate, `${h.sentToLearner} bytes in ${seconds} s`);
  });
});
