/**
 * Which offsets partitions a broker coordinates: a leader loads once everything it holds is committed, serves
 * only when loaded, and unloads when it stops leading or a new epoch begins.
 */
import assert from "node:assert/strict";
import { CoordinatorPartitions } from "../../../../broker/group/coordinator_partitions.ts";
import { ErrorCode } from "../../../../protocol/messages.ts";

const leader = (leaderEpoch: number, logEndOffset: number, highWatermark = logEndOffset) => ({
  isLeader: true,
  leaderEpoch,
  logEndOffset,
  highWatermark,
});
const follower = { isLeader: false, leaderEpoch: 4, logEndOffset: 10, highWatermark: 10 };

Deno.test("a broker without a replica, or with a follower, coordinates nothing: NOT_COORDINATOR", () => {
  const partitions = new CoordinatorPartitions();
  assert.deepEqual(partitions.observe(3, undefined), { unload: false, replay: false, awaitHighWatermark: false });
  assert.equal(partitions.errorCode(3), ErrorCode.NOT_COORDINATOR);
  assert.deepEqual(partitions.observe(3, follower), { unload: false, replay: false, awaitHighWatermark: false });
  assert.equal(partitions.errorCode(3), ErrorCode.NOT_COORDINATOR);
  assert.deepEqual(partitions.partitions(), []);
});

Deno.test("a leader whose entries are all committed replays at once and then serves; observing again changes nothing", () => {
  const partitions = new CoordinatorPartitions();
  assert.deepEqual(partitions.observe(0, leader(1, 10)), { unload: false, replay: true, awaitHighWatermark: false });
  assert.equal(partitions.errorCode(0), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "until the replay is done");
  partitions.loaded(0);
  assert.equal(partitions.errorCode(0), ErrorCode.NONE);
  assert.deepEqual(partitions.observe(0, leader(1, 12, 11)), {
    unload: false,
    replay: false,
    awaitHighWatermark: false,
  });
  assert.equal(partitions.errorCode(0), ErrorCode.NONE);
});

Deno.test("a new leader waits until its high watermark reaches the log end it had when elected", () => {
  const partitions = new CoordinatorPartitions();
  // Entries of an earlier term up to offset 20 are not known to be committed yet.
  assert.deepEqual(partitions.observe(5, leader(7, 20, 14)), {
    unload: false,
    replay: false,
    awaitHighWatermark: true,
  });
  assert.equal(partitions.errorCode(5), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  assert.equal(partitions.anyLoading(), true);
  // The leader's own entry of the new term lengthens the log; only the end at election counts.
  assert.deepEqual(partitions.observe(5, leader(7, 21, 19)), {
    unload: false,
    replay: false,
    awaitHighWatermark: true,
  });
  assert.deepEqual(partitions.observe(5, leader(7, 21, 20)), {
    unload: false,
    replay: true,
    awaitHighWatermark: false,
  });
  partitions.loaded(5);
  assert.equal(partitions.errorCode(5), ErrorCode.NONE);
  assert.equal(partitions.anyLoading(), false);
});

Deno.test("losing the leadership unloads a loaded partition; a loading one has nothing to unload", () => {
  const partitions = new CoordinatorPartitions();
  partitions.observe(1, leader(2, 0));
  partitions.loaded(1);
  assert.deepEqual(partitions.observe(1, follower), { unload: true, replay: false, awaitHighWatermark: false });
  assert.equal(partitions.errorCode(1), ErrorCode.NOT_COORDINATOR);
  partitions.observe(2, leader(2, 5, 0));
  assert.deepEqual(partitions.observe(2, undefined), { unload: false, replay: false, awaitHighWatermark: false });
  assert.equal(partitions.errorCode(2), ErrorCode.NOT_COORDINATOR);
});

Deno.test("a new leader epoch reloads: another leader may have written in between; a write spanning it is told", () => {
  const partitions = new CoordinatorPartitions();
  partitions.observe(9, leader(3, 4));
  partitions.loaded(9);
  const before = partitions.loadIdOf(9);
  assert.notEqual(before, undefined);
  assert.deepEqual(partitions.observe(9, leader(5, 8)), { unload: true, replay: true, awaitHighWatermark: false });
  assert.equal(partitions.loadIdOf(9), undefined, "not served while loading");
  partitions.loaded(9);
  assert.notEqual(partitions.loadIdOf(9), before);
});
