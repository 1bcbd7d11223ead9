/**
 * Power loss under the broker: a node assembled as `startBroker` assembles it, every file on a
 * `PowerLossFileSystem`, runs a seeded workload, loses power at a random point (a random, seeded part of what was
 * not synced survives), starts again over what the disk kept, and must still have everything it acknowledged:
 * topics created (the metadata log), offsets committed (`__consumer_offsets`), and idempotent batches produced
 * with acks=-1 through the Produce handler — each exactly once, with the producer state that recognises a retry,
 * and a leader epoch above every epoch already in the log.
 */
import assert from "node:assert/strict";
import { type CrashOptions, PowerLossFileSystem } from "../../../log/power_loss_file_system.ts";
import { ErrorCode } from "../../../protocol/messages.ts";
import { buildRecordBatch, iterateBatches } from "../../../protocol/record_batch.ts";
import { createTopic, openNode, type PowerLossNode, produceThroughHandler } from "./power_loss_node.ts";

const SEEDS = Number(Deno.env.get("SEEDS") ?? 25);

/** A small seeded generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CRASH_MODES: CrashOptions[] = [
  { unsyncedWrites: "lost", unsyncedDirOps: "undone" },
  { unsyncedWrites: "prefix", unsyncedDirOps: "prefix" },
  { unsyncedWrites: "prefix", unsyncedDirOps: "kept" },
];

/** A fresh disk with the broker's log directory on it. */
function freshDisk(): PowerLossFileSystem {
  const fs = new PowerLossFileSystem();
  fs.mkdir("/data");
  return fs;
}

/**
 * Ends a node's life the way `rand` picks: a power loss now, a clean stop (the power may go right after), or a
 * power loss in the middle of the clean stop. Returns the next process's file system.
 */
async function endLife(
  node: PowerLossNode,
  fs: PowerLossFileSystem,
  rand: () => number,
  seed: number,
): Promise<PowerLossFileSystem> {
  const ending = rand();
  if (ending < 0.2) {
    await node.close();
  } else if (ending < 0.5) {
    node.close().catch(() => {});
    for (let i = Math.floor(rand() * 6); i > 0; i--) await Promise.resolve();
  } else {
    for (let i = Math.floor(rand() * 30); i > 0; i--) await Promise.resolve();
  }
  node.groups.close(); // the dead process's timers
  return fs.crash({ ...CRASH_MODES[Math.floor(rand() * CRASH_MODES.length)], seed });
}

Deno.test("power loss never loses a created topic (the metadata log)", async () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rand = random(seed);
    let fs = freshDisk();
    const acked = new Map<string, number>();
    let n = 0;
    for (let life = 0; life < 3; life++) {
      const node = await openNode(fs);
      for (const [name, partitions] of acked) {
        const topic = node.metadata.image.topic(name);
        assert.ok(topic, `seed ${seed}, life ${life}: acknowledged topic ${name} is missing`);
        assert.equal(topic.partitions.length, partitions, `seed ${seed}: partitions of ${name}`);
        for (let p = 0; p < partitions; p++) assert.ok(node.replicas.get(name, p), `${name}-${p} is open`);
      }
      const creations = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < creations; i++) {
        const name = `topic-${n++}`;
        const partitions = 1 + Math.floor(rand() * 3);
        const created = createTopic(node, name, partitions).then(() => void acked.set(name, partitions));
        if (rand() < 0.7) await created;
        else created.catch(() => {}); // still in flight when the power goes
      }
      fs = await endLife(node, fs, rand, seed * 7 + life);
    }
    const node = await openNode(fs);
    for (const name of acked.keys()) assert.ok(node.metadata.image.topic(name), `seed ${seed}: ${name} at the end`);
    await node.close();
  }
});

Deno.test("power loss never loses a committed offset (__consumer_offsets)", async () => {
  const groups = ["g-a", "g-b", "g-c"];
  let acknowledged = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rand = random(seed);
    let fs = freshDisk();
    /** The last acknowledged commit, and every offset ever sent, by group and partition. */
    const acked = new Map<string, bigint>();
    const sent = new Map<string, Set<bigint>>();
    let next = 1n;
    for (let life = 0; life < 3; life++) {
      const node = await openNode(fs);
      for (const [key, offset] of acked) {
        const [group, partition] = key.split("/");
        const fetched = node.groups.fetchOffsets(group, [{ name: "orders", partitionIndexes: [Number(partition)] }]);
        const committed = fetched.topics[0].partitions[0].committedOffset;
        assert.ok(
          committed >= offset && sent.get(key)!.has(committed),
          `seed ${seed}, life ${life}: ${key} committed ${committed}, acknowledged ${offset}`,
        );
      }
      const commits = 1 + Math.floor(rand() * 6);
      for (let i = 0; i < commits; i++) {
        const group = groups[Math.floor(rand() * groups.length)];
        const partition = Math.floor(rand() * 3);
        const key = `${group}/${partition}`;
        const offset = next++;
        if (!sent.has(key)) sent.set(key, new Set());
        sent.get(key)!.add(offset);
        const commit = node.groups.commitOffsets({
          groupId: group,
          generationIdOrMemberEpoch: -1,
          memberId: "",
          groupInstanceId: null,
          retentionTimeMs: -1n,
          topics: [{
            name: "orders",
            partitions: [{
              partitionIndex: partition,
              committedOffset: offset,
              committedLeaderEpoch: -1,
              committedMetadata: "",
            }],
          }],
        }, 8).then((result) => {
          if (result[0].partitions[0].errorCode !== ErrorCode.NONE) return;
          acked.set(key, offset);
          acknowledged++;
        });
        if (rand() < 0.7) await commit;
        else commit.catch(() => {});
      }
      fs = await endLife(node, fs, rand, seed * 11 + life);
    }
    const node = await openNode(fs);
    for (const [key, offset] of acked) {
      const [group, partition] = key.split("/");
      const fetched = node.groups.fetchOffsets(group, [{ name: "orders", partitionIndexes: [Number(partition)] }]);
      assert.ok(fetched.topics[0].partitions[0].committedOffset >= offset, `seed ${seed}: ${key} at the end`);
    }
    await node.close();
  }
  assert.ok(acknowledged > SEEDS, `commits were acknowledged (${acknowledged})`);
});

const PRODUCERS = [4242n, 4343n];

/** An idempotent batch of `count` records starting at sequence `sequence`, unstamped (sent as a copy). */
function idempotentBatch(producerId: bigint, sequence: number, count: number): Uint8Array {
  return buildRecordBatch(
    Array.from({ length: count }, (_, i) => ({
      timestamp: Date.now(),
      key: null,
      value: new TextEncoder().encode(`${producerId}-${sequence + i}`),
    })),
    { producerId, producerEpoch: 0, baseSequence: sequence },
  );
}

/** `producerId/baseSequence` of every batch of `topic`-0, by base offset, read from the whole log. */
function batchesInLog(node: PowerLossNode, topic: string): Map<number, string> {
  const replica = node.replicas.get(topic, 0)!;
  const log = replica.log;
  const out = new Map<number, string>();
  let offset = log.logStartOffset;
  let epoch = -1;
  while (offset < log.logEndOffset) {
    const { records } = log.read(offset, 1024 * 1024, { upTo: log.logEndOffset });
    assert.ok(records.length > 0, `readable at ${offset}`);
    for (const { header } of iterateBatches(records)) {
      out.set(Number(header.baseOffset), `${header.producerId}/${header.baseSequence}`);
      offset = Number(header.baseOffset) + header.lastOffsetDelta + 1;
      assert.ok(header.partitionLeaderEpoch >= epoch, `leader epochs never go down (at ${header.baseOffset})`);
      epoch = header.partitionLeaderEpoch;
    }
  }
  // Every start is a leader election: the new epoch is above every epoch already in the log.
  assert.ok(replica.leaderEpoch > epoch, `leader epoch ${replica.leaderEpoch} after epoch ${epoch} in the log`);
  return out;
}

/** What one idempotent producer of the workload knows. */
interface ProducerView {
  id: bigint;
  nextSequence: number;
  lastAcked: { sequence: number; count: number; offset: number } | null;
  inFlight: { sequence: number; count: number } | null;
}

Deno.test("power loss never loses an acks=-1 batch, and a retry after restart is not written twice (producer state)", async () => {
  for (let seed = 1; seed <= SEEDS * 4; seed++) {
    const rand = random(seed);
    let fs = freshDisk();
    /** Acknowledged batches: base offset -> `producerId/baseSequence`. */
    const acked = new Map<number, string>();
    const producers: ProducerView[] = PRODUCERS.map((id) => ({
      id,
      nextSequence: 0,
      lastAcked: null,
      inFlight: null,
    }));
    const send = async (node: PowerLossNode, p: ProducerView, sequence: number, count: number, context: string) => {
      const answer = await produceThroughHandler(node.ctx, "events", 0, idempotentBatch(p.id, sequence, count), -1);
      assert.equal(answer.errorCode, ErrorCode.NONE, `${context}: produce of ${p.id}/${sequence}`);
      acked.set(answer.baseOffset, `${p.id}/${sequence}`);
      p.lastAcked = { sequence, count, offset: answer.baseOffset };
    };
    for (let life = 0; life < 4; life++) {
      const node = await openNode(fs);
      const context = `seed ${seed}, life ${life}`;
      if (life === 0) await createTopic(node, "events");
      const log = node.replicas.get("events", 0)!.log;
      // Everything acknowledged is there, exactly once.
      const inLog = batchesInLog(node, "events");
      for (const [offset, batch] of acked) assert.equal(inLog.get(offset), batch, `${context}: acknowledged ${batch}`);
      const seen = [...inLog.values()];
      assert.equal(new Set(seen).size, seen.length, `${context}: no batch is in the log twice`);
      // A retry of each producer's last acknowledged batch is recognised: answered with its offset, not appended.
      for (const p of producers) {
        if (!p.lastAcked) continue;
        const end = log.logEndOffset;
        const { sequence, count, offset } = p.lastAcked;
        const retry = await produceThroughHandler(node.ctx, "events", 0, idempotentBatch(p.id, sequence, count), -1);
        assert.equal(retry.errorCode, ErrorCode.NONE, `${context}: retry of ${p.id}/${sequence}`);
        assert.equal(
          retry.baseOffset,
          offset,
          `${context}: the retry of ${p.id}/${sequence} is answered as a duplicate`,
        );
        assert.equal(log.logEndOffset, end, `${context}: the retry wrote nothing`);
      }
      // Each producer resends what it had in flight when the power went, in a random order, among new batches.
      const steps = 1 + Math.floor(rand() * 8);
      for (let step = 0; step < steps; step++) {
        const p = producers[Math.floor(rand() * producers.length)];
        if (p.inFlight) {
          const { sequence, count } = p.inFlight;
          p.inFlight = null;
          await send(node, p, sequence, count, context);
          continue;
        }
        const count = 1 + Math.floor(rand() * 3);
        const sequence = p.nextSequence;
        p.nextSequence += count;
        if (step >= steps - 2 && rand() < 0.5) {
          // Still in flight when the power goes; its answer, if any, is lost with the process.
          p.inFlight = { sequence, count };
          produceThroughHandler(node.ctx, "events", 0, idempotentBatch(p.id, sequence, count), -1).catch(() => {});
          continue;
        }
        await send(node, p, sequence, count, context);
      }
      fs = await endLife(node, fs, rand, seed * 13 + life);
    }
    const node = await openNode(fs);
    const inLog = batchesInLog(node, "events");
    for (const [offset, batch] of acked) assert.equal(inLog.get(offset), batch, `seed ${seed}: ${batch} at the end`);
    await node.close();
  }
});

Deno.test("a producer snapshot left beyond a recovered log end is not trusted again after the next crash", async () => {
  const [a, b] = PRODUCERS;
  let fs = freshDisk();
  let node = await openNode(fs);
  await createTopic(node, "events");
  assert.equal((await produceThroughHandler(node.ctx, "events", 0, idempotentBatch(a, 0, 1), -1)).baseOffset, 0);
  // a/1 goes to offset 1 but never becomes durable; the clean stop writes the producer snapshot (up to offset 2),
  // then the power goes before the log's fsync.
  fs.beforeSyncCompletes = () => new Promise(() => {});
  produceThroughHandler(node.ctx, "events", 0, idempotentBatch(a, 1, 1), -1).catch(() => {});
  node.close().catch(() => {});
  node.groups.close();
  fs = fs.crash({ unsyncedWrites: "kept", unsyncedDirOps: "kept" });
  // The disk kept the snapshot but not the log's tail (its pages were written back in another order).
  const segment = fs.open("/data/events-0/00000000000000000000.log");
  segment.truncate(batchesEnd(fs, 1));
  await segment.syncData();
  segment.close();

  node = await openNode(fs);
  assert.equal(node.replicas.get("events", 0)!.logEndOffset, 1);
  // Offset 1 now goes to another producer, and a/1 is resent after it; both acknowledged, then the power goes.
  assert.equal((await produceThroughHandler(node.ctx, "events", 0, idempotentBatch(b, 0, 1), -1)).baseOffset, 1);
  assert.equal((await produceThroughHandler(node.ctx, "events", 0, idempotentBatch(a, 1, 1), -1)).baseOffset, 2);
  node.groups.close();
  fs = fs.crash({ unsyncedWrites: "lost", unsyncedDirOps: "undone" });

  node = await openNode(fs);
  const retry = await produceThroughHandler(node.ctx, "events", 0, idempotentBatch(a, 1, 1), -1);
  assert.equal(retry.baseOffset, 2, "the retry of a/1 is answered with the offset it has now");
  assert.equal(node.replicas.get("events", 0)!.logEndOffset, 3, "and nothing is written twice");
  await node.close();
});

/** The byte length of the first `batches` batches of the `events-0` segment. */
function batchesEnd(fs: PowerLossFileSystem, batches: number): number {
  const bytes = fs.readFile("/data/events-0/00000000000000000000.log")!;
  let pos = 0;
  for (let i = 0; i < batches; i++) pos += new DataView(bytes.buffer, bytes.byteOffset).getInt32(pos + 8) + 12;
  return pos;
}
