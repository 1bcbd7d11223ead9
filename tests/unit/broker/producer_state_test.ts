import assert from "node:assert/strict";
import { ProducerStateTable, RETAINED_BATCHES } from "../../../broker/producer_state.ts";

const batch = (producerEpoch: number, firstSequence: number, count: number, producerId = 42n) => ({
  producerId,
  producerEpoch,
  firstSequence,
  lastSequence: firstSequence + count - 1,
});

Deno.test("a new producer may start at any sequence (KIP-360)", () => {
  const table = new ProducerStateTable();
  assert.equal(table.check(batch(0, 17, 3)).kind, "append");
});

Deno.test("the next batch in sequence is appended, a gap is out of order", () => {
  const table = new ProducerStateTable();
  table.record(batch(0, 0, 5), 0, 4, 1);
  assert.equal(table.check(batch(0, 5, 2)).kind, "append");
  const gap = table.check(batch(0, 7, 2));
  assert.equal(gap.kind, "out_of_order");
});

Deno.test("a retried batch among the last five is a duplicate answered with its original offsets", () => {
  const table = new ProducerStateTable();
  for (let i = 0; i < 7; i++) table.record(batch(0, i * 2, 2), 100 + i * 2, 101 + i * 2, i);
  assert.equal(table.get(42n)!.batches.length, RETAINED_BATCHES);
  const verdict = table.check(batch(0, 12, 2));
  assert.equal(verdict.kind, "duplicate");
  assert.equal(verdict.kind === "duplicate" && verdict.original.firstOffset, 112);
  // The oldest batches fell out of the window: retrying them is no longer recognised.
  assert.equal(table.check(batch(0, 0, 2)).kind, "out_of_order");
});

Deno.test("an older epoch is fenced; a newer epoch must restart at sequence 0", () => {
  const table = new ProducerStateTable();
  table.record(batch(3, 0, 1), 0, 0, 0);
  assert.equal(table.check(batch(2, 1, 1)).kind, "fenced_epoch");
  assert.equal(table.check(batch(4, 5, 1)).kind, "out_of_order");
  assert.equal(table.check(batch(4, 0, 1)).kind, "append");
});

Deno.test("sequences wrap from Int32.MAX to 0", () => {
  const table = new ProducerStateTable();
  table.record({ producerId: 1n, producerEpoch: 0, firstSequence: 0x7ffffffe, lastSequence: 0x7fffffff }, 0, 1, 0);
  assert.equal(table.check({ producerId: 1n, producerEpoch: 0, firstSequence: 0, lastSequence: 0 }).kind, "append");
});

Deno.test("the table survives a JSON snapshot and forgets batches past a truncation", () => {
  const table = new ProducerStateTable();
  table.record(batch(0, 0, 2), 0, 1, 0);
  table.record(batch(0, 2, 2), 2, 3, 0);
  const restored = ProducerStateTable.fromJSON(JSON.parse(JSON.stringify(table.toJSON())));
  assert.equal(restored.check(batch(0, 2, 2)).kind, "duplicate");
  restored.truncateFrom(2);
  assert.equal(restored.check(batch(0, 2, 2)).kind, "append");
});
