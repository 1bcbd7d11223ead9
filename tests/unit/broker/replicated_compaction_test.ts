/**
 * Replicated compacted topics: a follower that was away while the leader's cleaner removed whole batches still
 * catches up (the leader serves the gaps as filler entries, `broker/replication/compacted_gap.ts`), its own cleaner cannot
 * break its Raft log, and a leader elected from such a follower serves consumers every key's latest value.
 */
import assert from "node:assert/strict";
import { gapFillerBatch, isGapFillerBatch } from "../../../broker/replication/compacted_gap.ts";
import { replayRecords } from "../../../broker/log_replay.ts";
import type { PartitionReplica } from "../../../broker/replication/partition_replica.ts";
import { partitionGroupId } from "../../../broker/replication/replica_manager.ts";
import { isControlBatch } from "../../../protocol/control_records.ts";
import { buildRecordBatch, decodeRecordBatch, iterateBatches } from "../../../protocol/record_batch.ts";
import { EntryType, message } from "../../../raft/types.ts";
import { TEST_PRODUCE_SETTINGS } from "./replica_fixture.ts";
import { type Cluster, withCluster } from "./replicated_cluster_fixture.ts";

const COMPACTED = { "cleanup.policy": "compact", "segment.bytes": "400", "min.cleanable.dirty.ratio": "0.01" };
const text = new TextEncoder();
const utf8 = new TextDecoder();

async function produce(replica: PartitionReplica, key: string, value: string): Promise<void> {
  const bytes = buildRecordBatch([{ timestamp: Date.now(), key: text.encode(key), value: text.encode(value) }]);
  const outcome = replica.append(bytes, TEST_PRODUCE_SETTINGS, Date.now(), -1);
  assert.equal(outcome.errorCode, 0);
  await outcome.durable;
}

/** Every batch of a replica's log, from its start to its end. */
function batches(replica: PartitionReplica): Uint8Array[] {
  const log = replica.log;
  const out: Uint8Array[] = [];
  let next = log.logStartOffset;
  while (next < log.logEndOffset) {
    // A read returns batches of one segment at most.
    const bytes = log.read(next, 64 * 1024 * 1024, { upTo: log.logEndOffset }).records;
    if (bytes.length === 0) break;
    for (const slot of iterateBatches(bytes)) {
      out.push(bytes.subarray(slot.pos, slot.pos + slot.size));
      next = Number(slot.header.baseOffset) + slot.header.lastOffsetDelta + 1;
    }
  }
  return out;
}

/** What a consumer sees: every data record by offset (control batches skipped, as clients skip them). */
function records(replica: PartitionReplica): Map<number, string> {
  const out = new Map<number, string>();
  for (const batch of batches(replica)) {
    const decoded = decodeRecordBatch(batch);
    if (isControlBatch(decoded.header.attributes)) continue;
    for (const r of decoded.records) {
      out.set(Number(decoded.header.baseOffset) + r.offsetDelta, `${utf8.decode(r.key!)}=${utf8.decode(r.value!)}`);
    }
  }
  return out;
}

/** Each key's latest value, as a consumer reading the whole partition ends up with. */
function latestByKey(replica: PartitionReplica): Map<string, string> {
  const out = new Map<string, string>();
  for (const [, kv] of [...records(replica)].sort((a, b) => a[0] - b[0])) {
    const [k, v] = kv.split("=");
    out.set(k, v);
  }
  return out;
}

/** Offsets a log has no batch for (ranges the cleaner removed), counted. */
function gapCount(replica: PartitionReplica): number {
  let gaps = 0;
  let next = replica.log.logStartOffset;
  for (const batch of batches(replica)) {
    const header = decodeRecordBatch(batch).header;
    if (Number(header.baseOffset) > next) gaps++;
    next = Number(header.baseOffset) + header.lastOffsetDelta + 1;
  }
  return gaps;
}

/** Records two replicas both hold are the same at the same offsets. */
function assertAgree(a: PartitionReplica, b: PartitionReplica): void {
  const ra = records(a);
  for (const [offset, kv] of records(b)) {
    if (ra.has(offset)) assert.equal(ra.get(offset), kv, `offset ${offset}`);
  }
}

async function compact(replica: PartitionReplica): Promise<void> {
  await replica.log.compact({ upTo: replica.highWatermark, force: true });
}

/** Writes `rounds` rounds over keys k0..k3, one record per batch, so the cleaner drops whole batches. */
async function overwrite(c: Cluster, leader: number, rounds: number, tag: string): Promise<Map<string, string>> {
  const expected = new Map<string, string>();
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < 4; k++) {
      await produce(c.replica(leader), `k${k}`, `${tag}${round}`);
      expected.set(`k${k}`, `${tag}${round}`);
    }
  }
  return expected;
}

Deno.test("a follower cut off while the leader compacted catches up across the gaps; the replicas agree on every record", async () => {
  await withCluster(async (c) => {
    await c.tickUntil(() => c.leader() === 1, "broker 1 leads");
    await overwrite(c, 1, 2, "early");
    await c.tickUntil(() => c.replica(3).highWatermark === c.replica(1).highWatermark, "follower 3 caught up");

    c.net.cut.add(3);
    const expected = await overwrite(c, 1, 8, "v");
    // A last batch in a fresh segment, so everything before it is cleanable.
    await produce(c.replica(1), "k0", "last");
    expected.set("k0", "last");
    await c.tickUntil(() => c.replica(2).highWatermark === c.replica(1).highWatermark, "follower 2 caught up");
    await compact(c.replica(1));
    await compact(c.replica(2)); // a follower's own cleaner runs too
    assert.ok(gapCount(c.replica(1)) > 0, "the leader's cleaner removed whole batches");
    assert.ok(gapCount(c.replica(2)) > 0, "follower 2's cleaner removed whole batches");

    c.net.cut.clear();
    await c.tickUntil(
      () =>
        c.replica(3).logEndOffset === c.replica(1).logEndOffset &&
        c.replica(3).highWatermark === c.replica(1).highWatermark,
      "follower 3 catches up across the gaps",
    );
    const fillers = batches(c.replica(3)).filter(isGapFillerBatch);
    assert.ok(fillers.length > 0, "follower 3 stored the gaps as filler control batches");
    for (const a of [1, 2, 3]) for (const b of [1, 2, 3]) assertAgree(c.replica(a), c.replica(b));
    for (const id of [1, 2, 3]) assert.deepEqual(latestByKey(c.replica(id)), expected, `replica ${id}`);

    // Its own cleaner does not break its Raft log: it compacts, and the group goes on replicating.
    await compact(c.replica(3));
    await produce(c.replica(1), "k1", "after");
    expected.set("k1", "after");
    await c.tickUntil(() => c.replica(3).highWatermark === c.replica(1).highWatermark, "follower 3 follows on");
    for (const id of [1, 2, 3]) assert.deepEqual(latestByKey(c.replica(id)), expected, `replica ${id}`);

    // Its fillers survive a restart (recovery reads them back as control batches of their offsets).
    await c.kill(3);
    await c.revive(3);
    await produce(c.replica(1), "k2", "restarted");
    expected.set("k2", "restarted");
    await c.tickUntil(() => c.replica(3).highWatermark === c.replica(1).highWatermark, "follower 3 rejoins");
    assert.deepEqual(latestByKey(c.replica(3)), expected);
  }, { topicConfigs: COMPACTED });
});

Deno.test("a leader elected from a follower that caught up across gaps serves every key's latest value and feeds a new replica", async () => {
  await withCluster(async (c) => {
    await c.tickUntil(() => c.leader() === 1, "broker 1 leads");
    await overwrite(c, 1, 1, "early");
    await c.tickUntil(() => c.replica(3).highWatermark === c.replica(1).highWatermark, "follower 3 caught up");
    c.net.cut.add(3);
    const expected = await overwrite(c, 1, 8, "v");
    await produce(c.replica(1), "k2", "last");
    expected.set("k2", "last");
    await compact(c.replica(1));
    await compact(c.replica(2));
    c.net.cut.clear();
    await c.tickUntil(() => c.replica(3).highWatermark === c.replica(1).highWatermark, "follower 3 caught up");

    // Broker 1 dies; leadership ends on broker 3 (handed over by 2 if 2 won the election).
    await c.kill(1);
    await c.tickUntil(() => c.leader() !== undefined, "a new leader");
    if (c.leader() === 2) {
      await c.manager(2).transferLeadershipAway(5000);
      await c.tickUntil(() => c.leader() === 3, "broker 3 leads");
    }
    assert.equal(c.leader(), 3);
    assert.deepEqual(latestByKey(c.replica(3)), expected, "the new leader serves every key's latest value");
    // What a coordinator does with `__consumer_offsets` when it takes over: replay the log (control batches
    // skipped), the latest record of each key winning.
    const replayed = new Map<string, string>();
    replayRecords(c.replica(3).log, (r) => replayed.set(utf8.decode(r.key!), utf8.decode(r.value!)));
    assert.deepEqual(replayed, expected, "replaying the new leader's log rebuilds every key's latest value");
    await produce(c.replica(3), "k3", "from3");
    expected.set("k3", "from3");

    // A new, empty replica on broker 1 fetches everything from broker 3, whose log holds fillers and its own gaps.
    await compact(c.replica(3));
    await c.revive(1, { empty: true });
    await c.tickUntil(
      () =>
        c.replica(1).highWatermark === c.replica(3).highWatermark &&
        c.replica(1).logEndOffset === c.replica(3).logEndOffset,
      "the new replica catches up from broker 3",
    );
    for (const a of [1, 2, 3]) for (const b of [1, 2, 3]) assertAgree(c.replica(a), c.replica(b));
    for (const id of [1, 2, 3]) assert.deepEqual(latestByKey(c.replica(id)), expected, `replica ${id}`);
  }, { topicConfigs: COMPACTED });
});

Deno.test("a deposed leader whose uncommitted tail lies under a range compacted over two epochs has it cut and catches up", async () => {
  await withCluster(async (c) => {
    await c.tickUntil(() => c.leader() === 1, "broker 1 leads");
    await overwrite(c, 1, 1, "early");
    await c.tickUntil(() => c.replica(3).highWatermark === c.replica(1).highWatermark, "followers caught up");

    // Broker 1, cut off, takes a batch (acks=1) no one else will see.
    c.net.cut.add(1);
    const lost = c.replica(1).append(
      buildRecordBatch([{ timestamp: Date.now(), key: text.encode("k0"), value: text.encode("lost") }]),
      TEST_PRODUCE_SETTINGS,
      Date.now(),
      1,
    );
    assert.equal(lost.errorCode, 0);
    await c.tickUntil(() => c.leader() === 2 || c.leader() === 3, "2 or 3 leads");
    const first = c.leader()!;
    const expected = await overwrite(c, first, 4, "a");
    // Leadership moves to the other live broker: the range 1 missed spans two epochs.
    await c.manager(first).transferLeadershipAway(5000);
    const second = first === 2 ? 3 : 2;
    await c.tickUntil(() => c.leader() === second, "the other broker leads");
    for (const [k, v] of await overwrite(c, second, 4, "b")) expected.set(k, v);
    await produce(c.replica(second), "k1", "last");
    expected.set("k1", "last");
    await c.tickUntil(() => c.replica(first).highWatermark === c.replica(second).highWatermark, "caught up");
    await compact(c.replica(2));
    await compact(c.replica(3));
    assert.ok(gapCount(c.replica(second)) > 0);

    c.net.cut.clear();
    await c.tickUntil(
      () =>
        c.replica(1).highWatermark === c.replica(second).highWatermark &&
        c.replica(1).logEndOffset === c.replica(second).logEndOffset,
      "broker 1 cuts its tail and catches up",
    );
    const fillerTerms = new Set(
      batches(c.replica(1)).filter(isGapFillerBatch).map((b) => decodeRecordBatch(b).header.partitionLeaderEpoch),
    );
    assert.ok(fillerTerms.size >= 2, `fillers in two epochs (${[...fillerTerms]})`);
    assert.ok(![...records(c.replica(1)).values()].includes("k0=lost"), "the uncommitted batch is gone");
    for (const a of [1, 2, 3]) for (const b of [1, 2, 3]) assertAgree(c.replica(a), c.replica(b));
    for (const id of [1, 2, 3]) assert.deepEqual(latestByKey(c.replica(id)), expected, `replica ${id}`);
    // The leader epochs every replica gives for every offset are the same (the terms Raft compares).
    for (let offset = 0; offset < c.replica(1).logEndOffset; offset++) {
      const epochs = [1, 2, 3].map((id) => c.replica(id).log.epochForOffset(offset));
      assert.ok(epochs.every((e) => e === epochs[0]), `epochs at ${offset}: ${epochs}`);
    }
  }, { topicConfigs: COMPACTED });
});

Deno.test("a filler starting inside a follower's log and running past its end is taken for the offsets it lacks", async () => {
  await withCluster(async (c) => {
    await c.tickUntil(() => c.leader() === 1, "broker 1 leads");
    await overwrite(c, 1, 2, "early");
    await c.tickUntil(() => c.replica(3).highWatermark === c.replica(1).highWatermark, "follower 3 caught up");
    const committedOn3 = c.replica(3).highWatermark - 1;
    // Follower 3 hears of no commit past what it knows: the batches it receives now stay uncommitted there.
    c.net.drop = (_from, to, m) => to === 3 && m.commit > committedOn3;
    await overwrite(c, 1, 1, "w");
    await c.tickUntil(() => c.replica(3).logEndOffset > committedOn3 + 1, "follower 3 holds an uncommitted batch");
    c.net.cut.add(3);
    const held = c.replica(3).logEndOffset;
    const expected = await overwrite(c, 1, 8, "v");
    await produce(c.replica(1), "k3", "last");
    expected.set("k3", "last");
    await compact(c.replica(1));
    // The first batch the leader kept after what follower 3 holds: the gap before it is removed.
    const kept = batches(c.replica(1)).map((b) => Number(decodeRecordBatch(b).header.baseOffset));
    const nextKept = kept.find((o) => o > held)!;
    assert.ok(kept.every((o) => o <= committedOn3 + 1 || o >= nextKept), "the leader removed what follower 3 holds");

    // What the leader sends when it resends from its last acknowledged offset, below what follower 3 received:
    // one filler from inside follower 3's uncommitted batches to the next batch it kept.
    const term = c.replica(1).leaderEpoch;
    const from = committedOn3 + 1;
    const filler = { index: from, count: nextKept - from, term: c.replica(1).log.epochForOffset(from) };
    c.net.drop = undefined;
    c.manager(3).receive({
      from: 1,
      to: 3,
      messages: [{
        group: partitionGroupId(c.topic.topicId, 0),
        message: message("app", 1, 3, term, {
          index: from - 1,
          logTerm: c.replica(3).log.epochForOffset(from - 1),
          entries: [{ ...filler, type: EntryType.Normal, data: gapFillerBatch(filler) }],
          commit: committedOn3,
        }),
      }],
    });
    await c.tickUntil(() => c.replica(3).logEndOffset === nextKept, "follower 3 stores the offsets it lacked");
    assert.equal(records(c.replica(3)).size, held, "the records it held are kept");

    c.net.cut.clear();
    await c.tickUntil(() => c.replica(3).highWatermark === c.replica(1).highWatermark, "follower 3 catches up");
    for (const a of [1, 2, 3]) for (const b of [1, 2, 3]) assertAgree(c.replica(a), c.replica(b));
    for (const id of [1, 2, 3]) assert.deepEqual(latestByKey(c.replica(id)), expected, `replica ${id}`);
  }, { topicConfigs: COMPACTED });
});
