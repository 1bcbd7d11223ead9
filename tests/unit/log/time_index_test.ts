import assert from "node:assert/strict";
import fc from "fast-check";
import { TimeIndex } from "../../../log/time_index.ts";

Deno.test("time index keeps only increasing timestamps", () => {
  const index = new TimeIndex(50);
  assert.notEqual(index.maybeAppend(1_000, 50), null);
  assert.equal(index.maybeAppend(1_000, 60), null);
  assert.equal(index.maybeAppend(900, 70), null);
  assert.notEqual(index.maybeAppend(2_000, 80), null);
  assert.equal(index.entries, 2);
  assert.deepEqual(index.last(), { timestamp: 2_000, offset: 80 });
});

Deno.test("time index lookup returns the last entry at or below the timestamp (property vs linear scan)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 0, max: 50 })), { maxLength: 100 }),
      fc.integer({ min: -100, max: 60_000 }),
      (steps, target) => {
        const index = new TimeIndex(0);
        const entries: { timestamp: number; offset: number }[] = [];
        let timestamp = 0;
        let offset = 0;
        for (const [dt, dOffset] of steps) {
          timestamp += dt;
          offset += dOffset;
          index.maybeAppend(timestamp, offset);
          entries.push({ timestamp, offset });
        }
        const expected = entries.filter((e) => e.timestamp <= target).pop() ?? null;
        assert.deepEqual(index.lookup(target), expected);
        const decoded = TimeIndex.decode(0, index.encode());
        assert.deepEqual(decoded.lookup(target), expected);
      },
    ),
  );
});

Deno.test("time index truncation drops entries at and after the offset", () => {
  const index = new TimeIndex(0);
  index.maybeAppend(10, 0);
  index.maybeAppend(20, 5);
  index.maybeAppend(30, 9);
  assert.equal(index.truncateTo(5), 1);
  assert.deepEqual(index.last(), { timestamp: 10, offset: 0 });
});
