import assert from "node:assert/strict";
import { encodeConfEntry } from "../../../raft/conf_change.ts";
import { MemoryStorage } from "../../../raft/storage.ts";
import { type Entry, EntryType } from "../../../raft/types.ts";

const e = (index: number, count: number, term: number): Entry => ({
  index,
  count,
  term,
  type: EntryType.Normal,
  data: new Uint8Array(0),
});

Deno.test("appending at an existing entry boundary truncates the stored suffix", () => {
  const s = new MemoryStorage();
  s.append([e(0, 1, 1), e(1, 3, 1), e(4, 1, 1)]);
  s.append([e(1, 2, 2)]);
  assert.equal(s.lastIndex(), 2);
  assert.equal(s.term(2), 2);
  assert.throws(() => s.append([e(2, 1, 2)]), /splits an entry/);
  assert.throws(() => s.append([e(9, 1, 2)]), /gap/);
});

Deno.test("a snapshot drops the log prefix and keeps the configuration as of its index", () => {
  const s = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
  const conf = encodeConfEntry({
    change: { type: "add_learner", node: 4 },
    config: { voters: [1, 2, 3], learners: [4] },
  });
  s.append([e(0, 1, 1), { index: 1, count: 1, term: 1, type: EntryType.ConfChange, data: conf }, e(2, 5, 1)]);
  s.createSnapshot(6, new Uint8Array([42]));
  assert.equal(s.firstIndex(), 7);
  assert.equal(s.lastIndex(), 6);
  assert.equal(s.term(6), 1);
  assert.equal(s.term(5), undefined);
  assert.deepEqual(s.snapshotMeta(), { index: 6, term: 1, config: { voters: [1, 2, 3], learners: [4] } });
  assert.throws(() => s.createSnapshot(7, new Uint8Array()), /not an entry end/);
});

Deno.test("the initial configuration only includes changes up to the persisted commit index", () => {
  const s = new MemoryStorage({ voters: [1], learners: [] });
  const conf = encodeConfEntry({ change: { type: "add_voter", node: 2 }, config: { voters: [1, 2], learners: [] } });
  s.append([e(0, 1, 1), { index: 1, count: 1, term: 1, type: EntryType.ConfChange, data: conf }]);
  s.setHardState({ term: 1, vote: 1, commit: 0 });
  assert.deepEqual(s.initialState().config.voters, [1]);
  s.setHardState({ term: 1, vote: 1, commit: 1 });
  assert.deepEqual(s.initialState().config.voters, [1, 2]);
});
