import assert from "node:assert/strict";
import { Inflights } from "../../../raft/inflights.ts";
import { Progress } from "../../../raft/progress.ts";

Deno.test("the in-flight window fills at its message limit and frees by acknowledged index", () => {
  const w = new Inflights(2, 1000);
  w.add(5, 10);
  assert.equal(w.full(), false);
  w.add(9, 10);
  assert.equal(w.full(), true);
  w.freeLE(5);
  assert.equal(w.count, 1);
  assert.equal(w.bytes, 10);
  assert.equal(w.full(), false);
});

Deno.test("the in-flight window fills at its byte limit", () => {
  const w = new Inflights(100, 15);
  w.add(1, 10);
  assert.equal(w.full(), false);
  w.add(2, 10);
  assert.equal(w.full(), true);
  w.freeFirst();
  assert.equal(w.full(), false);
});

Deno.test("a probing follower gets one append until it answers", () => {
  const p = new Progress(10, 4, 1000, false);
  assert.equal(p.isPaused(), false);
  p.sentEntries(12, 5);
  assert.equal(p.isPaused(), true);
  assert.equal(p.maybeUpdate(12), true);
  assert.equal(p.isPaused(), false);
});

Deno.test("a replicating follower gets appends until the window is full", () => {
  const p = new Progress(10, 2, 1000, false);
  p.maybeUpdate(9);
  p.becomeReplicate();
  p.sentEntries(11, 5);
  assert.equal(p.next, 12);
  p.sentEntries(14, 5);
  assert.equal(p.isPaused(), true);
  p.maybeUpdate(11);
  p.inflights.freeLE(11);
  assert.equal(p.isPaused(), false);
});

Deno.test("a stale rejection is ignored; a fresh one moves next back to the leader's chosen boundary", () => {
  const p = new Progress(20, 4, 1000, false);
  p.match = 5;
  assert.equal(p.maybeDecrTo(12, 8), false, "probe at 19 is outstanding, not 12");
  assert.equal(p.maybeDecrTo(19, 8), true);
  assert.equal(p.next, 8);
  assert.equal(p.maybeDecrTo(7, 2), true);
  assert.equal(p.next, 6, "never below match + 1");
});
