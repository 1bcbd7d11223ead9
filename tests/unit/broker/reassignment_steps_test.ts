import assert from "node:assert/strict";
import { type MembershipState, nextMembershipStep } from "../../../broker/replication/reassignment_steps.ts";

function state(partial: Partial<MembershipState>): MembershipState {
  return { self: 1, voters: [1, 2, 3], learners: [], target: [2, 3, 4], caughtUp: () => true, ...partial };
}

Deno.test("a new target replica first joins as a learner", () => {
  assert.deepEqual(nextMembershipStep(state({})), { kind: "change", change: { type: "add_learner", node: 4 } });
});

Deno.test("a learner that has not caught up waits; once caught up it is promoted to voter", () => {
  const behind = state({ learners: [4], caughtUp: (id) => id !== 4 });
  assert.equal(nextMembershipStep(behind).kind, "wait");
  assert.deepEqual(nextMembershipStep(state({ learners: [4] })), {
    kind: "change",
    change: { type: "add_voter", node: 4 },
  });
});

Deno.test("new replicas join one at a time, each fully, before any replica leaves", () => {
  const s = state({ voters: [1, 2, 3], target: [4, 5, 6], learners: [4], caughtUp: (id) => id !== 4 });
  assert.equal(nextMembershipStep(s).kind, "wait"); // 5 does not join while 4 catches up
  const next = nextMembershipStep(state({ voters: [1, 2, 3, 4], target: [4, 5, 6] }));
  assert.deepEqual(next, { kind: "change", change: { type: "add_learner", node: 5 } });
});

Deno.test("once every target is a voter, the other voters are removed, the leader last after handing over", () => {
  const others = state({ self: 2, voters: [1, 2, 3, 4] });
  assert.deepEqual(nextMembershipStep(others), { kind: "change", change: { type: "remove", node: 1 } });
  const self = state({ self: 1, voters: [1, 2, 3, 4] });
  assert.deepEqual(nextMembershipStep(self), { kind: "transfer", to: 2 });
});

Deno.test("the leader hands over only to a caught-up target voter", () => {
  const s = state({ self: 1, voters: [1, 2, 3, 4], caughtUp: (id) => id === 4 });
  assert.deepEqual(nextMembershipStep(s), { kind: "transfer", to: 4 });
  assert.equal(nextMembershipStep({ ...s, caughtUp: () => false }).kind, "wait");
});

Deno.test("a learner that is not a target (a cancelled move) is removed", () => {
  const s = state({ self: 2, voters: [1, 2, 3], learners: [4], target: [1, 2, 3] });
  assert.deepEqual(nextMembershipStep(s), { kind: "change", change: { type: "remove", node: 4 } });
});

Deno.test("the move is done when the voters are the target and no learner is left", () => {
  assert.deepEqual(nextMembershipStep(state({ self: 2, voters: [2, 3, 4] })), { kind: "done" });
});
