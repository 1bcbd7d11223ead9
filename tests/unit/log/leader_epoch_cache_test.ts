import assert from "node:assert/strict";
import { LeaderEpochCache } from "../../../log/leader_epoch_cache.ts";

Deno.test("assign records new epochs only, dropping entries a lower start contradicts", () => {
  const cache = new LeaderEpochCache();
  assert.equal(cache.assign(1, 0), true);
  assert.equal(cache.assign(1, 10), false);
  assert.equal(cache.assign(0, 20), false);
  assert.equal(cache.assign(-1, 20), false);
  assert.equal(cache.assign(4, 30), true);
  assert.equal(cache.assign(6, 30), true, "epoch 4 wrote nothing: 6 replaces it");
  assert.deepEqual(cache.entries(), [{ epoch: 1, startOffset: 0 }, { epoch: 6, startOffset: 30 }]);
});

Deno.test("endOffsetForEpoch answers OffsetsForLeaderEpoch", () => {
  const cache = new LeaderEpochCache([{ epoch: 2, startOffset: 0 }, { epoch: 5, startOffset: 40 }, {
    epoch: 7,
    startOffset: 90,
  }]);
  assert.deepEqual(cache.endOffsetForEpoch(1, 120), { leaderEpoch: -1, endOffset: -1 });
  assert.deepEqual(cache.endOffsetForEpoch(2, 120), { leaderEpoch: 2, endOffset: 40 });
  assert.deepEqual(cache.endOffsetForEpoch(3, 120), { leaderEpoch: 2, endOffset: 40 });
  assert.deepEqual(cache.endOffsetForEpoch(5, 120), { leaderEpoch: 5, endOffset: 90 });
  assert.deepEqual(cache.endOffsetForEpoch(7, 120), { leaderEpoch: 7, endOffset: 120 });
  assert.deepEqual(cache.endOffsetForEpoch(9, 120), { leaderEpoch: 7, endOffset: 120 });
  assert.deepEqual(new LeaderEpochCache().endOffsetForEpoch(3, 10), { leaderEpoch: -1, endOffset: -1 });
});

Deno.test("truncation from the end and from the start keep the cache consistent with the log", () => {
  const cache = new LeaderEpochCache([{ epoch: 2, startOffset: 0 }, { epoch: 5, startOffset: 40 }, {
    epoch: 7,
    startOffset: 90,
  }]);
  cache.truncateFromEnd(90);
  assert.deepEqual(cache.entries(), [{ epoch: 2, startOffset: 0 }, { epoch: 5, startOffset: 40 }]);
  cache.truncateFromStart(50);
  assert.deepEqual(cache.entries(), [{ epoch: 5, startOffset: 50 }]);
  assert.equal(cache.epochForOffset(49), -1);
  assert.equal(cache.epochForOffset(60), 5);
});

Deno.test("the checkpoint text round-trips and malformed text is refused", () => {
  const cache = new LeaderEpochCache([{ epoch: 2, startOffset: 0 }, { epoch: 5, startOffset: 40 }]);
  assert.equal(cache.encode(), "0\n2\n2 0\n5 40\n");
  assert.deepEqual(LeaderEpochCache.decode(cache.encode()).entries(), cache.entries());
  assert.throws(() => LeaderEpochCache.decode("0\n3\n2 0\n5 40\n"));
  assert.throws(() => LeaderEpochCache.decode("0\n2\n5 0\n2 40\n"));
  assert.throws(() => LeaderEpochCache.decode("1\n0\n"));
});
