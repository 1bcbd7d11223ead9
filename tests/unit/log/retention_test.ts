import assert from "node:assert/strict";
import { segmentsToDelete } from "../../../log/retention.ts";

const segment = (baseOffset: number, nextOffset: number, sizeBytes: number, largestTimestampMs: number) => ({
  baseOffset,
  nextOffset,
  sizeBytes,
  largestTimestampMs,
});
const segments = [
  segment(0, 10, 100, 1_000),
  segment(10, 20, 100, 5_000),
  segment(20, 30, 100, 2_000),
  segment(30, 35, 50, 9_000),
];
const off = { "retention.ms": -1, "retention.bytes": -1 };

Deno.test("retention by time deletes the oldest prefix of expired segments", () => {
  assert.deepEqual(segmentsToDelete(segments, 7_000, 0, { ...off, "retention.ms": 4_000 }), [
    { baseOffset: 0, reason: "retention.ms" },
  ], "segment 20 expired too, but segment 10 before it has not: only a prefix goes");
  assert.deepEqual(segmentsToDelete(segments, 9_500, 0, { ...off, "retention.ms": 4_000 }).length, 3);
});

Deno.test("retention never deletes the active segment", () => {
  assert.equal(segmentsToDelete(segments, 1e12, 0, { ...off, "retention.ms": 0 }).length, 3);
  assert.equal(segmentsToDelete(segments, 0, 0, { ...off, "retention.bytes": 0 }).length, 3);
  assert.deepEqual(segmentsToDelete([segment(0, 5, 10, 0)], 1e12, 5, { ...off, "retention.ms": 0 }), []);
});

Deno.test("retention by size deletes the oldest segments while what remains stays at or above the limit", () => {
  assert.deepEqual(segmentsToDelete(segments, 0, 0, { ...off, "retention.bytes": 250 }).map((d) => d.baseOffset), [0]);
  assert.deepEqual(segmentsToDelete(segments, 0, 0, { ...off, "retention.bytes": 150 }).map((d) => d.baseOffset), [
    0,
    10,
  ]);
  assert.deepEqual(segmentsToDelete(segments, 0, 0, { ...off, "retention.bytes": 350 }), []);
});

Deno.test("segments wholly below the log start offset go first", () => {
  assert.deepEqual(segmentsToDelete(segments, 0, 20, off), [
    { baseOffset: 0, reason: "log_start_offset" },
    { baseOffset: 10, reason: "log_start_offset" },
  ]);
});
