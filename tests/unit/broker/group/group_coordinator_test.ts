/**
 * The group coordinator shell over real partition logs: commits are durable `__consumer_offsets` records in
 * Kafka's format, a new coordinator replays them (groups, offsets, tombstones), deletion and expiry write
 * tombstones, and Kafka's partitioning of group ids.
 */
import assert from "node:assert/strict";
import {
  decodeCoordinatorRecord,
  groupMetadataRecord,
  offsetCommitRecord,
  OFFSETS_TOPIC,
  partitionForGroup,
} from "../../../../broker/group/coordinator_records.ts";
import { GroupCoordinator, kafkaDeleteOrder } from "../../../../broker/group/group_coordinator.ts";
import { ErrorCode } from "../../../../protocol/messages.ts";
import { silentLogger } from "../../../../broker/logger.ts";
import { WorkSlicer } from "../../../../broker/work_slices.ts";
import { type ReplicaFixture, withReplicas } from "../replica_fixture.ts";

const hex = (b: Uint8Array | null) =>
  b === null ? null : Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function coordinator(f: ReplicaFixture, clock: { now: number }): GroupCoordinator {
  return new GroupCoordinator({
    config: f.ctx.config,
    metadata: f.ctx.metadata,
    replicas: f.ctx.replicas,
    controller: f.ctx.controller,
    logger: silentLogger,
    now: () => clock.now,
  });
}

async function withCoordinator(fn: (f: ReplicaFixture, clock: { now: number }) => Promise<void>): Promise<void> {
  await withReplicas(async (f) => {
    await f.addTopic(OFFSETS_TOPIC, { partitions: 50, configs: { "cleanup.policy": "compact" } });
    await f.addTopic("orders", { partitions: 2 });
    await fn(f, { now: 1_700_000_000_000 });
  });
}

const commit = (groupId: string, partition: number, offset: bigint, generation = -1, memberId = "") => ({
  groupId,
  generationIdOrMemberEpoch: generation,
  memberId,
  groupInstanceId: null,
  retentionTimeMs: -1n,
  topics: [{
    name: "orders",
    partitions: [{
      partitionIndex: partition,
      committedOffset: offset,
      committedLeaderEpoch: 4,
      committedMetadata: "m",
    }],
  }],
});

Deno.test("group ids map to __consumer_offsets partitions as Kafka maps them", () => {
  // Recorded from Apache Kafka 4.3.1's log directories with 50 partitions.
  assert.equal(partitionForGroup("simple", 50), 26);
  assert.equal(partitionForGroup("g1", 50), 42);
  assert.equal(partitionForGroup("g3", 50), 44);
  assert.equal(partitionForGroup("", 50), 0);
});

Deno.test("offset commit and group metadata records are byte for byte what Kafka 4.3 writes", () => {
  const offset = offsetCommitRecord("simple", "t", 0, {
    offset: 5n,
    leaderEpoch: -1,
    metadata: "",
    commitTimestamp: 0x1a20c1cdda9n,
    expireTimestamp: -1n,
  }, "76be0a29-1c37-4237-a02c-f8b86986cc97");
  assert.equal(hex(offset.key), "0001000673696d706c6500017400000000");
  assert.equal(
    hex(offset.value),
    "00040000000000000005ffffffff01000001a20c1cdda901001076be0a291c374237a02cf8b86986cc97",
  );
  const empty = groupMetadataRecord("g1", {
    protocolType: "",
    generation: 0,
    protocol: null,
    leader: null,
    currentStateTimestamp: 0x1a20c1cdd75n,
    members: [],
  });
  assert.equal(hex(empty.key), "000200026731");
  assert.equal(hex(empty.value), "0003000000000000ffffffff000001a20c1cdd7500000000");
  const tombstone = decodeCoordinatorRecord(offsetCommitRecord("simple", "t", 0, null).key, null);
  assert.deepEqual(tombstone, { type: "offset", group: "simple", topic: "t", partition: 0, value: null });
});

Deno.test("DeleteGroups answers in Kafka's order (batched by offsets partition in a HashMap)", () => {
  assert.deepEqual(kafkaDeleteOrder(["nog", ""], 50), ["", "nog"]);
});

Deno.test("a simple commit is answered once durable and a new coordinator replays it", async () => {
  await withCoordinator(async (f, clock) => {
    const groups = coordinator(f, clock);
    await groups.load();
    const result = await groups.commitOffsets(commit("readers", 1, 42n), 8);
    assert.deepEqual(result, [{ name: "orders", partitions: [{ partitionIndex: 1, errorCode: ErrorCode.NONE }] }]);
    const partition = f.replica(OFFSETS_TOPIC, partitionForGroup("readers", 50));
    assert.equal(partition.highWatermark, 1, "the record is durable before the answer");
    groups.close();

    const reloaded = coordinator(f, clock);
    await reloaded.load();
    const fetched = reloaded.fetchOffsets("readers", [{ name: "orders", partitionIndexes: [0, 1] }]);
    assert.deepEqual(fetched.topics[0].partitions.map((p) => [p.committedOffset, p.committedLeaderEpoch, p.metadata]), [
      [-1n, -1, ""],
      [42n, 4, "m"],
    ]);
    assert.equal(reloaded.describeGroup("readers").groupState, "Empty");
    reloaded.close();
  });
});

Deno.test("a commit whose records exceed the offsets topic's max.message.bytes is refused whole: INVALID_COMMIT_OFFSET_SIZE", async () => {
  await withCoordinator(async (f, clock) => {
    const groups = coordinator(f, clock);
    await groups.load();
    // ~50 bytes per record: 40,000 partitions make ~2 MB, over the default 1,048,588.
    const partitions = Array.from({ length: 40_000 }, (_, i) => ({
      partitionIndex: i % 2,
      committedOffset: BigInt(i),
      committedLeaderEpoch: -1,
      committedMetadata: null,
    }));
    let clockReads = 0;
    const slicer = new WorkSlicer(1, () => clockReads++, () => Promise.resolve());
    const result = await groups.commitOffsets(
      { ...commit("big", 0, 0n), topics: [{ name: "orders", partitions }] },
      8,
      slicer,
    );
    assert.equal(result[0].partitions.length, 40_000);
    assert.ok(result[0].partitions.every((p) => p.errorCode === ErrorCode.INVALID_COMMIT_OFFSET_SIZE));
    assert.ok(slicer.pauses > 0, "the commit paused between slices");
    assert.equal(f.replica(OFFSETS_TOPIC, partitionForGroup("big", 50)).highWatermark, 0, "nothing was written");
    assert.equal(
      groups.fetchOffsets("big", [{ name: "orders", partitionIndexes: [0] }]).topics[0].partitions[0].committedOffset,
      -1n,
    );
    // A commit that fits is written.
    const fits = await groups.commitOffsets(
      { ...commit("big", 0, 0n), topics: [{ name: "orders", partitions: partitions.slice(0, 1000) }] },
      8,
      slicer,
    );
    assert.ok(fits[0].partitions.every((p) => p.errorCode === ErrorCode.NONE));
    groups.close();
  });
});

Deno.test("a group member's commit is checked against its generation; unknown groups: ILLEGAL_GENERATION / v9 GROUP_ID_NOT_FOUND", async () => {
  await withCoordinator(async (f, clock) => {
    const groups = coordinator(f, clock);
    const code = async (req: ReturnType<typeof commit>, version = 8) =>
      (await groups.commitOffsets(req, version))[0].partitions[0].errorCode;
    assert.equal(await code(commit("nobody", 0, 1n, 3, "m-1")), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(await code(commit("nobody", 0, 1n, 3, "m-1"), 9), ErrorCode.GROUP_ID_NOT_FOUND);
    const tooLarge = commit("readers", 0, 1n);
    tooLarge.topics[0].partitions[0].committedMetadata = "x".repeat(5000);
    assert.equal(await code(tooLarge), ErrorCode.OFFSET_METADATA_TOO_LARGE);
    groups.close();
  });
});

Deno.test("a rebalanced group is stored with its assignment and comes back Stable after a reload", async () => {
  await withCoordinator(async (f, clock) => {
    const groups = coordinator(f, clock);
    const protocols = [{ name: "range", metadata: new Uint8Array([1, 2, 3]) }];
    const join = {
      groupId: "workers",
      memberId: "",
      groupInstanceId: null,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      protocolType: "consumer",
      protocols,
    };
    // v3: no MEMBER_ID_REQUIRED round trip. The initial delay (3 s by default) is driven by the fake clock.
    const joined = groups.joinGroup(join, 3, "client", "/127.0.0.1");
    assert.ok(joined instanceof Promise);
    clock.now += 3000;
    groups.classicGroups.get("workers")!.tick(clock.now);
    const group = groups.classicGroups.get("workers")!;
    const replies = group.takeReplies();
    const joinResult = replies[0].result as { memberId: string; generationId: number };
    assert.equal(joinResult.generationId, 1);
    const memberId = joinResult.memberId;
    const synced = await groups.syncGroup("workers", {
      memberId,
      groupInstanceId: null,
      generationId: 1,
      protocolType: "consumer",
      protocolName: "range",
      assignments: [{ memberId, assignment: new Uint8Array([9, 9]) }],
    });
    assert.equal(synced.errorCode, ErrorCode.NONE);
    assert.deepEqual(synced.assignment, new Uint8Array([9, 9]));
    assert.equal(groups.describeGroup("workers").groupState, "Stable");
    assert.deepEqual(await groups.deleteGroups(["workers"]), [{
      groupId: "workers",
      errorCode: ErrorCode.NON_EMPTY_GROUP,
    }]);
    groups.close();

    const reloaded = coordinator(f, clock);
    await reloaded.load();
    const described = reloaded.describeGroup("workers");
    assert.equal(described.groupState, "Stable");
    assert.equal(described.protocolData, "range");
    assert.deepEqual(described.members.map((m) => [m.memberId, m.clientId, m.memberAssignment]), [
      [memberId, "client", new Uint8Array([9, 9])],
    ]);
    assert.equal(reloaded.heartbeat("workers", memberId, null, 1), ErrorCode.NONE);
    reloaded.close();
  });
});

Deno.test("DeleteGroups writes tombstones: after a reload the group and its offsets are gone", async () => {
  await withCoordinator(async (f, clock) => {
    const groups = coordinator(f, clock);
    await groups.commitOffsets(commit("gone", 0, 7n), 8);
    const deleted = await groups.deleteGroups(["gone", "never"]);
    assert.deepEqual(deleted.sort((a, b) => a.groupId.localeCompare(b.groupId)), [
      { groupId: "gone", errorCode: ErrorCode.NONE },
      { groupId: "never", errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    assert.equal(groups.fetchOffsets("gone", null).topics.length, 0);
    groups.close();
    const reloaded = coordinator(f, clock);
    await reloaded.load();
    assert.equal(reloaded.fetchOffsets("gone", null).topics.length, 0);
    assert.equal(reloaded.describeGroup("gone").groupState, "Dead");
    reloaded.close();
  });
});

Deno.test("offsets of a group without members expire after offsets.retention.minutes, then the group goes", async () => {
  await withCoordinator(async (f, clock) => {
    const groups = coordinator(f, clock);
    await groups.commitOffsets(commit("old", 0, 1n), 8);
    clock.now += 10079 * 60_000;
    await groups.expireOffsets();
    assert.equal(groups.fetchOffsets("old", null).topics.length, 1, "kept until the retention has passed");
    clock.now += 60_000;
    await groups.expireOffsets();
    assert.equal(groups.fetchOffsets("old", null).topics.length, 0);
    assert.equal(groups.describeGroup("old").groupState, "Dead");
    groups.close();
    const reloaded = coordinator(f, clock);
    await reloaded.load();
    assert.equal(reloaded.fetchOffsets("old", null).topics.length, 0, "the expiry wrote tombstones");
    reloaded.close();
  });
});

Deno.test("OffsetDelete: GROUP_ID_NOT_FOUND for unknown groups, deletes offsets of an empty group", async () => {
  await withCoordinator(async (f, clock) => {
    const groups = coordinator(f, clock);
    assert.equal((await groups.deleteOffsets("none", [])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    await groups.commitOffsets(commit("some", 0, 3n), 8);
    const result = await groups.deleteOffsets("some", [{ name: "orders", partitions: [{ partitionIndex: 0 }] }]);
    assert.deepEqual(result, {
      errorCode: ErrorCode.NONE,
      topics: [{ name: "orders", partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NONE }] }],
    });
    assert.equal(groups.fetchOffsets("some", null).topics.length, 0);
    groups.close();
  });
});

Deno.test("ListGroups filters by state and type, case-insensitively", async () => {
  await withCoordinator(async (f, clock) => {
    const groups = coordinator(f, clock);
    await groups.commitOffsets(commit("listed", 0, 3n), 8);
    assert.deepEqual(groups.listGroups([], []), [
      { groupId: "listed", protocolType: "", groupState: "Empty", groupType: "classic" },
    ]);
    assert.equal(groups.listGroups(["EMPTY"], ["Classic"]).length, 1);
    assert.equal(groups.listGroups(["Stable"], []).length, 0);
    assert.equal(groups.listGroups([], ["consumer"]).length, 0);
    groups.close();
  });
});

Deno.test("a second JoinGroup of a member whose first is held answers the first, then holds the second", async () => {
  await withCoordinator(async (f, clock) => {
    const groups = coordinator(f, clock);
    const join = (memberId: string) =>
      groups.joinGroup(
        {
          groupId: "twice",
          memberId,
          groupInstanceId: null,
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          protocolType: "consumer",
          protocols: [{ name: "range", metadata: new Uint8Array(1) }],
        },
        5,
        "client",
        "/127.0.0.1",
      );
    const required = await join("");
    assert.equal(required.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    const first = join(required.memberId);
    let secondAnswered = false;
    const second = Promise.resolve(join(required.memberId)).then((r) => (secondAnswered = true, r));
    assert.equal((await first).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(secondAnswered, false, "the second JoinGroup waits for the join phase");
    groups.close();
    void second;
  });
});
