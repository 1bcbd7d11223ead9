/**
 * The chaos run's seeded schedule replays exactly from its seed, and a planted bug (an acknowledged record
 * dropped, or read twice) makes the checker fail a history that was clean.
 */
import assert from "node:assert/strict";
import { check, type History } from "./checker.ts";
import { planted, schedule } from "./main.ts";

Deno.test("a seed stands for one schedule of faults, drawn from the nemeses asked for", () => {
  const a = schedule(42, ["kill-leader", "pause-leader"], 3, 50);
  assert.deepEqual(schedule(42, ["kill-leader", "pause-leader"], 3, 50), a);
  assert.notDeepEqual(schedule(43, ["kill-leader", "pause-leader"], 3, 50), a);
  assert.deepEqual(new Set(a.map((s) => s.nemesis)), new Set(["kill-leader", "pause-leader"]));
  assert.ok(a.every((s) => s.partition! >= 0 && s.partition! < 3));
});

Deno.test("a planted lost or duplicated record fails a clean history", () => {
  const history: History = {
    sent: 4,
    acks: [0, 1, 2, 3].map((v) => ({ value: v, partition: 0, offset: v, atMs: v })),
    failures: [],
    reads: [0, 1, 2, 3].map((v) => ({ partition: 0, offset: v, value: String(v) })),
    replicas: [],
    faults: [],
  };
  assert.equal(check(history).valid, true);
  assert.deepEqual(check(planted(history, "lost")).anomalies.map((a) => a.message), [
    "acknowledged record 2 missing (partition 0, offset 2)",
  ]);
  assert.deepEqual(check(planted(history, "duplicate")).anomalies.map((a) => a.kind), ["duplicate"]);
});
