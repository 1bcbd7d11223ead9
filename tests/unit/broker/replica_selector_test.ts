import assert from "node:assert/strict";
import { selectReadReplica } from "../../../broker/replication/replica_selector.ts";

const leader = { nodeId: 1, rack: "a", logEndOffset: 100 };

Deno.test("a client in the leader's rack, in no rack, or in a rack without replicas reads from the leader", () => {
  const followers = [{ nodeId: 2, rack: "b", logEndOffset: 100 }, { nodeId: 3, rack: "a", logEndOffset: 100 }];
  assert.equal(selectReadReplica("a", leader, followers), 1);
  assert.equal(selectReadReplica("", leader, followers), 1);
  assert.equal(selectReadReplica("z", leader, followers), 1);
});

Deno.test("a client in a follower's rack reads from the most caught-up follower there, the lowest id among equals", () => {
  assert.equal(selectReadReplica("b", leader, [{ nodeId: 2, rack: "b", logEndOffset: 90 }]), 2);
  const two = [
    { nodeId: 4, rack: "b", logEndOffset: 95 },
    { nodeId: 3, rack: "b", logEndOffset: 99 },
    { nodeId: 2, rack: "c", logEndOffset: 100 },
  ];
  assert.equal(selectReadReplica("b", leader, two), 3);
  const equal = [{ nodeId: 5, rack: "b", logEndOffset: 99 }, { nodeId: 3, rack: "b", logEndOffset: 99 }];
  assert.equal(selectReadReplica("b", leader, equal), 3);
});

Deno.test("a leader without a rack is not in the client's rack", () => {
  assert.equal(selectReadReplica("b", { ...leader, rack: null }, [{ nodeId: 2, rack: "b", logEndOffset: 1 }]), 2);
});
