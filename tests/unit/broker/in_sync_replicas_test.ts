import assert from "node:assert/strict";
import { InSyncReplicas } from "../../../broker/replication/in_sync_replicas.ts";

Deno.test("a new leader counts every follower in sync until it lags replica.lag.time.max.ms", () => {
  const isr = new InSyncReplicas(2, [1, 2, 3], 1_000);
  assert.deepEqual(isr.members(1_000, 500), [2, 1, 3]);
  isr.observe(1, 40, 40, 1_400); // caught up with the leader's last offset
  isr.observe(3, 39, 40, 1_400); // heard from, but one offset behind
  assert.deepEqual(isr.members(1_500, 500), [2, 1, 3]);
  assert.deepEqual(isr.members(1_600, 500), [2, 1], "follower 3 last caught up at 1000");
  isr.observe(3, 40, 40, 1_700);
  assert.deepEqual(isr.members(1_700, 500), [2, 1, 3], "it rejoins once caught up");
});

Deno.test("a follower not heard from stays out of sync however far its old match index went", () => {
  const isr = new InSyncReplicas(1, [1, 2], 0);
  isr.observe(2, 10, 10, 100);
  assert.deepEqual(isr.members(700, 500), [1]);
  isr.observe(9, 10, 10, 700); // not a replica: ignored
  assert.deepEqual(isr.members(700, 500), [1]);
});

Deno.test("under a steady stream a follower a round trip behind stays in sync; one falling further behind leaves", () => {
  const isr = new InSyncReplicas(1, [1, 2, 3], 0);
  // Every 100 ms the leader's log grows by 10; follower 2 holds what the leader had at the previous contact,
  // follower 3 only half of it.
  for (let t = 100, last = 10; t <= 2_000; t += 100, last += 10) {
    isr.observe(2, last - 10, last, t);
    isr.observe(3, Math.floor(last / 2), last, t);
  }
  assert.deepEqual(isr.members(2_000, 500), [1, 2]);
});
