import assert from "node:assert/strict";
import fc from "fast-check";
import { OffsetIndex } from "../../../log/offset_index.ts";

/** Strictly increasing (offset, position) entries above a base offset. */
const entriesArb = fc.record({
  base: fc.integer({ min: 0, max: 2 ** 40 }),
  steps: fc.array(fc.tuple(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: 100_000 })), {
    maxLength: 200,
  }),
});

function build(base: number, steps: [number, number][]) {
  const index = new OffsetIndex(base);
  const entries: { offset: number; position: number }[] = [];
  let offset = base;
  let position = 0;
  for (const [dOffset, dPosition] of steps) {
    offset += dOffset;
    position += dPosition;
    index.append(offset, position);
    entries.push({ offset, position });
  }
  return { index, entries };
}

function linearLookup(base: number, entries: { offset: number; position: number }[], target: number) {
  let found = { offset: base, position: 0 };
  for (const e of entries) if (e.offset <= target) found = e;
  return found;
}

Deno.test("offset index lookup agrees with a linear scan (property)", () => {
  fc.assert(
    fc.property(entriesArb, fc.integer({ min: -10, max: 300_000 }), ({ base, steps }, delta) => {
      const { index, entries } = build(base, steps);
      assert.deepEqual(index.lookup(base + delta), linearLookup(base, entries, base + delta));
      for (const e of entries) assert.deepEqual(index.lookup(e.offset), e);
    }),
  );
});

Deno.test("offset index survives encode/decode and truncates at an offset (property)", () => {
  fc.assert(
    fc.property(entriesArb, fc.integer({ min: 0, max: 300_000 }), ({ base, steps }, delta) => {
      const { index, entries } = build(base, steps);
      const decoded = OffsetIndex.decode(base, index.encode());
      assert.equal(decoded.entries, entries.length);
      for (let i = 0; i < entries.length; i++) assert.deepEqual(decoded.entry(i), entries[i]);
      const kept = decoded.truncateTo(base + delta);
      assert.equal(kept, entries.filter((e) => e.offset < base + delta).length);
    }),
  );
});

Deno.test("offset index refuses entries out of order or beyond int32", () => {
  const index = new OffsetIndex(100);
  index.append(110, 500);
  assert.throws(() => index.append(110, 600), RangeError);
  assert.throws(() => index.append(120, 400), RangeError);
  assert.throws(() => index.append(100 + 2 ** 31, 700), RangeError);
});

Deno.test("offset index sanity check rejects positions past the log and offsets past its end", () => {
  const index = new OffsetIndex(0);
  index.append(10, 500);
  assert.equal(index.isSaneFor(1_000, 20), true);
  assert.equal(index.isSaneFor(500, 20), false);
  assert.equal(index.isSaneFor(1_000, 10), false);
});
