import assert from "node:assert/strict";
import { committedIndex, hasQuorum, voteResult } from "../../../raft/quorum.ts";

const acks = (m: Record<number, number>) => (id: number) => m[id];

Deno.test("the committed index is the largest index a majority of voters acknowledged", () => {
  assert.equal(committedIndex([1, 2, 3], acks({ 1: 9, 2: 4, 3: 7 })), 7);
  assert.equal(committedIndex([1, 2, 3, 4], acks({ 1: 9, 2: 4, 3: 7, 4: 1 })), 4);
  assert.equal(committedIndex([1, 2, 3, 4, 5], acks({ 1: 5, 2: 5, 3: 1 })), 1);
});

Deno.test("a single voter commits what it alone acknowledged", () => {
  assert.equal(committedIndex([1], acks({ 1: 3 })), 3);
});

Deno.test("voters that never acknowledged count as -1", () => {
  assert.equal(committedIndex([1, 2, 3], acks({ 1: 3 })), -1);
});

Deno.test("an election is won by a majority, lost once a majority refused, pending otherwise", () => {
  assert.equal(voteResult([1, 2, 3], new Map([[1, true], [2, true]])), "won");
  assert.equal(voteResult([1, 2, 3], new Map([[1, true], [2, false]])), "pending");
  assert.equal(voteResult([1, 2, 3], new Map([[1, true], [2, false], [3, false]])), "lost");
  assert.equal(voteResult([1, 2, 3, 4], new Map([[1, true], [2, true]])), "pending");
});

Deno.test("check-quorum needs a majority of voters active", () => {
  assert.equal(hasQuorum([1, 2, 3], (id) => id !== 3), true);
  assert.equal(hasQuorum([1, 2, 3], (id) => id === 1), false);
});
