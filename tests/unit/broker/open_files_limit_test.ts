/** Reading `ulimit -n` from /proc/self/limits, and what the broker derives from it. */
import assert from "node:assert/strict";
import {
  logFileBudget,
  parseOpenFilesLimit,
  readOpenFilesLimit,
  recommendedOpenFilesLimit,
} from "../../../broker/open_files_limit.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

Deno.test("the soft and hard open-files limits are read from a /proc limits text", () => {
  assert.deepEqual(parseOpenFilesLimit(LIMITS), { soft: 1024, hard: 524288 });
  assert.deepEqual(parseOpenFilesLimit("Max open files  unlimited  unlimited  files\n"), {
    soft: Infinity,
    hard: Infinity,
  });
  assert.equal(parseOpenFilesLimit("Max cpu time unlimited unlimited seconds\n"), null);
});

Deno.test("this process's limit is readable on Linux", () => {
  const limit = readOpenFilesLimit();
  assert.ok(limit && limit.soft >= 1 && limit.hard >= limit.soft);
});

Deno.test("log files get half the soft limit, at least 32, unless log.open.files.max says otherwise", () => {
  assert.equal(logFileBudget({ soft: 1024, hard: 4096 }, 0), 512);
  assert.equal(logFileBudget({ soft: 40, hard: 40 }, 0), 32);
  assert.equal(logFileBudget({ soft: 1024, hard: 4096 }, 100), 100);
  assert.equal(logFileBudget(null, 0), 16_384);
  assert.equal(logFileBudget({ soft: Infinity, hard: Infinity }, 0), 16_384);
});

Deno.test("the recommended ulimit -n keeps every partition's active segment open with room for the rest", () => {
  assert.equal(recommendedOpenFilesLimit(0), 1024);
  assert.equal(recommendedOpenFilesLimit(20_000), 41_024);
});
