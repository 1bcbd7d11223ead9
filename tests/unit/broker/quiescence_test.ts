/**
 * The quiescence decision (pure): when an idle partition group may stop ticking, and which peer brokers are live.
 */
import assert from "node:assert/strict";
import {
  BrokerLiveness,
  type FollowerView,
  type GroupView,
  quiescenceOf,
} from "../../../broker/replication/quiescence.ts";

const caughtUp = (last: number): FollowerView => ({ match: last, sentCommit: last, state: "replicate" });

/** Broker 1 leads a group of {1, 2, 3} whose log ends at `last`, everything committed and known everywhere. */
function quietLeader(last = 9, followers: Record<number, Partial<FollowerView>> = {}): GroupView {
  return {
    id: 1,
    role: "leader",
    lead: 1,
    leadTransferee: 0,
    log: { committed: last, lastIndex: () => last },
    progress: new Map([1, 2, 3].map((id) => [id, { ...caughtUp(last), ...followers[id] }])),
  };
}

function follower(lead: number, role = "follower"): GroupView {
  return { id: 2, role, lead, leadTransferee: 0, log: { committed: 9, lastIndex: () => 9 }, progress: new Map() };
}

const allLive = () => true;

Deno.test("a leader with nothing in flight and every follower live may quiesce", () => {
  assert.deepEqual(quiescenceOf(quietLeader(), false, allLive), "leader");
  // An empty log (last index -1) is quiet too.
  assert.deepEqual(quiescenceOf(quietLeader(-1), false, allLive), "leader");
});

Deno.test("a leader keeps ticking while anything is in flight", () => {
  const uncommitted = { ...quietLeader(), log: { committed: 8, lastIndex: () => 9 } };
  assert.deepEqual(quiescenceOf(uncommitted, false, allLive), "tick", "a proposal not committed yet");
  assert.deepEqual(quiescenceOf(quietLeader(9, { 3: { match: 7 } }), false, allLive), "tick", "a follower behind");
  assert.deepEqual(
    quiescenceOf(quietLeader(9, { 2: { sentCommit: 8 } }), false, allLive),
    "tick",
    "a follower not told the commit index",
  );
  // Probing a follower known to hold the whole log is no work in flight: the next proposal reaches it anyway.
  assert.deepEqual(quiescenceOf(quietLeader(9, { 2: { state: "probe" } }), false, allLive), "leader");
  assert.deepEqual(quiescenceOf(quietLeader(9, { 2: { state: "snapshot" } }), false, allLive), "tick", "snapshot");
  assert.deepEqual(quiescenceOf({ ...quietLeader(), leadTransferee: 2 }, false, allLive), "tick", "a transfer");
  assert.deepEqual(quiescenceOf(quietLeader(), true, allLive), "tick", "something to persist or send");
});

Deno.test("a leader whose follower's broker is not live keeps ticking, so check-quorum can step it down", () => {
  assert.deepEqual(quiescenceOf(quietLeader(), false, (id) => id !== 3), "tick");
});

Deno.test("a follower may quiesce while its leader's broker is live, and only then", () => {
  assert.deepEqual(quiescenceOf(follower(1), false, allLive), "follower");
  assert.deepEqual(quiescenceOf(follower(1), false, (id) => id !== 1), "tick", "leader's broker silent");
  assert.deepEqual(quiescenceOf(follower(0), false, allLive), "tick", "no leader known");
  assert.deepEqual(quiescenceOf(follower(1), true, allLive), "tick", "an answer still to send");
  assert.deepEqual(quiescenceOf(follower(0, "pre_candidate"), false, allLive), "tick", "campaigning");
  assert.deepEqual(quiescenceOf(follower(0, "candidate"), false, allLive), "tick", "campaigning");
});

Deno.test("a peer broker is live while heard within the timeout; changes report deaths and revivals once", () => {
  const liveness = new BrokerLiveness(10);
  assert.ok(!liveness.isLive(2, 0), "never heard");
  assert.deepEqual(liveness.silentFor(2, 0), Infinity);
  liveness.heard(2, 5);
  liveness.heard(3, 5);
  assert.ok(liveness.isLive(2, 15));
  assert.ok(!liveness.isLive(2, 16));
  assert.deepEqual(liveness.changes([2, 3], 6), { died: [], revived: [2, 3] });
  assert.deepEqual(liveness.changes([2, 3], 7), { died: [], revived: [] });
  liveness.heard(3, 12);
  assert.deepEqual(liveness.changes([2, 3], 16), { died: [2], revived: [] });
  assert.deepEqual(liveness.silentFor(2, 16), 11);
  liveness.heard(2, 17);
  assert.deepEqual(liveness.changes([2, 3], 18), { died: [], revived: [2] });
  liveness.forget(2);
  assert.ok(!liveness.isLive(2, 18));
});
