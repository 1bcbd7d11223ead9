import assert from "node:assert/strict";
import { RaftLog } from "../../../raft/raft_log.ts";
import { MemoryStorage } from "../../../raft/storage.ts";
import { type Entry, EntryType } from "../../../raft/types.ts";

const e = (index: number, count: number, term: number, data = ""): Entry => ({
  index,
  count,
  term,
  type: EntryType.Normal,
  data: new TextEncoder().encode(data),
});

function logWith(stable: Entry[], unstable: Entry[] = []): RaftLog {
  const s = new MemoryStorage({ voters: [1], learners: [] });
  s.append(stable);
  const log = new RaftLog(s);
  if (unstable.length > 0) log.truncateAndAppend(unstable);
  return log;
}

Deno.test("an empty log ends at -1, whose term is 0", () => {
  const log = logWith([]);
  assert.equal(log.lastIndex(), -1);
  assert.equal(log.term(-1), 0);
  assert.equal(log.firstIndex(), 0);
});

Deno.test("an entry's term covers every offset it spans", () => {
  const log = logWith([e(0, 1, 1), e(1, 3, 1)], [e(4, 2, 2)]);
  assert.equal(log.term(2), 1);
  assert.equal(log.term(3), 1);
  assert.equal(log.term(5), 2);
  assert.equal(log.term(6), undefined);
  assert.equal(log.lastIndex(), 5);
});

Deno.test("slices return the entries overlapping a range across durable and unstable parts", () => {
  const log = logWith([e(0, 1, 1), e(1, 3, 1)], [e(4, 2, 2), e(6, 1, 2)]);
  assert.deepEqual(log.slice(1, 6, Infinity).map((x) => x.index), [1, 4]);
  assert.deepEqual(log.slice(0, 7, Infinity).map((x) => x.index), [0, 1, 4, 6]);
});

Deno.test("slices stop at maxBytes but always hold one entry", () => {
  const log = logWith([e(0, 1, 1, "aaaa"), e(1, 1, 1, "bbbb")], [e(2, 1, 1, "cccc")]);
  assert.deepEqual(log.slice(0, 3, 1).map((x) => x.index), [0]);
  assert.deepEqual(log.slice(0, 3, 8).map((x) => x.index), [0, 1]);
  assert.deepEqual(log.slice(1, 3, 8).map((x) => x.index), [1, 2]);
});

Deno.test("a conflicting append replaces the suffix from an entry boundary", () => {
  const log = logWith([e(0, 1, 1)], [e(1, 2, 1), e(3, 2, 1)]);
  log.truncateAndAppend([e(3, 1, 2)]);
  assert.deepEqual(log.slice(0, 10, Infinity).map((x) => `${x.index}+${x.count}@${x.term}`), [
    "0+1@1",
    "1+2@1",
    "3+1@2",
  ]);
  assert.throws(() => log.truncateAndAppend([e(2, 1, 3)]), /splits an entry/);
});

Deno.test("the conflict hint is the last entry boundary at or below an index with a term no higher", () => {
  const log = logWith([e(0, 1, 1), e(1, 3, 1), e(4, 2, 3), e(6, 3, 3), e(9, 1, 5)]);
  // Probe at 8 with term 4: entries of term 3 end at 8.
  assert.deepEqual(log.findConflictByTerm(8, 4), { index: 8, term: 3 });
  // Term 2: the last term-1 entry ends at 3.
  assert.deepEqual(log.findConflictByTerm(8, 2), { index: 3, term: 1 });
  // An index inside an entry: the boundary before it.
  assert.deepEqual(log.findConflictByTerm(7, 3), { index: 5, term: 3 });
  assert.deepEqual(log.findConflictByTerm(100, 9), { index: 9, term: 5 });
  assert.deepEqual(log.findConflictByTerm(5, 0), { index: -1, term: 0 });
});

Deno.test("only persisted committed entries are handed out for applying", () => {
  const log = logWith([e(0, 1, 1), e(1, 2, 1)], [e(3, 1, 1)]);
  log.committed = 3;
  assert.equal(log.maxAppliable(), 2);
  assert.deepEqual(log.nextCommitted(Infinity).map((x) => x.index), [0, 1]);
});
