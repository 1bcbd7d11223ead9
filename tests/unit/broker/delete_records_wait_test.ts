/**
 * DeleteRecords in a cluster answers once the in-sync replicas followed the new log start (the low watermark),
 * REQUEST_TIMED_OUT when they do not in time, NOT_LEADER_OR_FOLLOWER when leadership moved meanwhile.
 */
import assert from "node:assert/strict";
import { awaitFollowers } from "../../../broker/handlers/delete_records.ts";
import { AdvanceSignal } from "../../../broker/high_watermark_signal.ts";
import type { PartitionReplica } from "../../../broker/replication/partition_replica.ts";
import { ErrorCode } from "../../../protocol/generated/errors.ts";

/** The three members of a leader replica the wait reads. */
function leaderReplica(lowWatermark: number) {
  const replica = { isLeader: true, lowWatermark, followerLogStartReported: new AdvanceSignal() };
  return { replica, asReplica: replica as unknown as PartitionReplica };
}

/** A deadline the test resolves itself. */
function deadline() {
  let pass = () => {};
  const promise = new Promise<void>((resolve) => pass = resolve);
  return { promise, pass };
}

Deno.test("the answer waits for a follower's report that raises the low watermark to the new log start", async () => {
  const { replica, asReplica } = leaderReplica(3);
  const d = deadline();
  let answered: { errorCode: number; lowWatermark: number } | undefined;
  const wait = awaitFollowers(asReplica, 10, d.promise).then((a) => answered = a);
  await Promise.resolve();
  replica.followerLogStartReported.notify(); // a report that still lags
  await Promise.resolve();
  assert.equal(answered, undefined);
  replica.lowWatermark = 10;
  replica.followerLogStartReported.notify();
  await wait;
  assert.deepEqual(answered, { errorCode: ErrorCode.NONE, lowWatermark: 10 });
});

Deno.test("followers that do not follow in time: REQUEST_TIMED_OUT and low watermark -1", async () => {
  const { asReplica } = leaderReplica(3);
  const d = deadline();
  const wait = awaitFollowers(asReplica, 10, d.promise);
  d.pass();
  assert.deepEqual(await wait, { errorCode: ErrorCode.REQUEST_TIMED_OUT, lowWatermark: -1 });
});

Deno.test("a leader deposed while waiting answers NOT_LEADER_OR_FOLLOWER", async () => {
  const { replica, asReplica } = leaderReplica(3);
  const wait = awaitFollowers(asReplica, 10, deadline().promise);
  replica.isLeader = false;
  replica.followerLogStartReported.notify();
  assert.deepEqual(await wait, { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, lowWatermark: -1 });
});
