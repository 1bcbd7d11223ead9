import assert from "node:assert/strict";
import { parseSegmentLogName, segmentFileName } from "../../../log/segment.ts";

Deno.test("segment file names carry the base offset in 20 digits", () => {
  assert.equal(segmentFileName(0, "log"), "00000000000000000000.log");
  assert.equal(segmentFileName(1234567, "timeindex"), "00000000000001234567.timeindex");
  assert.equal(parseSegmentLogName("00000000000001234567.log"), 1234567);
  assert.equal(parseSegmentLogName("00000000000001234567.index"), null);
  assert.equal(parseSegmentLogName("1234567.log"), null);
});
