import assert from "node:assert/strict";
import { RaftJournal } from "../../../../broker/metadata/raft_journal.ts";
import { type Entry, EntryType } from "../../../../raft/types.ts";

const CONFIG = { voters: [1, 2, 3], learners: [] };

function entry(index: number, term: number, text: string): Entry {
  return { index, count: 1, term, type: EntryType.Normal, data: new TextEncoder().encode(text) };
}

function texts(journal: RaftJournal): string[] {
  return journal.entries(journal.firstIndex(), journal.lastIndex() + 1, 1 << 20).map((e) =>
    `${e.index}@${e.term}:${new TextDecoder().decode(e.data)}`
  );
}

Deno.test("the journal keeps entries and hard state across a reopen, and cuts a torn tail", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const journal = RaftJournal.open(dir, CONFIG);
    journal.append([entry(0, 1, "a"), entry(1, 1, "b")]);
    journal.sync();
    journal.setHardState({ term: 1, vote: 2, commit: 1 });
    journal.close();
    // A crash in the middle of an append leaves half a record at the end.
    const file = await Deno.open(`${dir}/metadata.journal`, { append: true });
    await file.write(new Uint8Array([0, 0, 0, 40, 1, 2, 3]));
    file.close();
    const reopened = RaftJournal.open(dir, CONFIG);
    assert.deepEqual(texts(reopened), ["0@1:a", "1@1:b"]);
    assert.deepEqual(reopened.hardState(), { term: 1, vote: 2, commit: 1 });
    assert.deepEqual(reopened.initialState().config, CONFIG);
    reopened.append([entry(2, 1, "c")]);
    reopened.sync();
    reopened.close();
    assert.deepEqual(texts(RaftJournal.open(dir, CONFIG)), ["0@1:a", "1@1:b", "2@1:c"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a conflicting append replaces the tail, durably", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const journal = RaftJournal.open(dir, CONFIG);
    journal.append([entry(0, 1, "a"), entry(1, 1, "b"), entry(2, 1, "c")]);
    journal.append([entry(1, 2, "B")]);
    journal.sync();
    journal.close();
    assert.deepEqual(texts(RaftJournal.open(dir, CONFIG)), ["0@1:a", "1@2:B"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a snapshot drops the prefix it covers; one from a leader replaces the whole log", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const journal = RaftJournal.open(dir, CONFIG);
    journal.append([entry(0, 1, "a"), entry(1, 1, "b"), entry(2, 2, "c")]);
    journal.sync();
    journal.createSnapshot(1, new TextEncoder().encode("image@1"));
    assert.equal(journal.firstIndex(), 2);
    assert.equal(journal.term(1), 1);
    journal.close();
    const reopened = RaftJournal.open(dir, CONFIG);
    assert.deepEqual(texts(reopened), ["2@2:c"]);
    assert.equal(new TextDecoder().decode(reopened.snapshot().data), "image@1");
    reopened.applySnapshot({
      meta: { index: 9, term: 3, config: { voters: [1, 2, 3], learners: [4] } },
      data: new TextEncoder().encode("image@9"),
    });
    reopened.close();
    const last = RaftJournal.open(dir, CONFIG);
    assert.deepEqual(texts(last), []);
    assert.equal(last.lastIndex(), 9);
    assert.deepEqual(last.initialState().config, { voters: [1, 2, 3], learners: [4] });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
