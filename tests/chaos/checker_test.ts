/**
 * The chaos checker catches what it must: each test plants one anomaly in an otherwise clean history (lost,
 * duplicated, reordered, moved records; conflicting offsets; phantom values; replicas that differ) and expects
 * exactly that anomaly, named in a sentence; a clean history passes and its figures are right.
 */
import assert from "node:assert/strict";
import {
  type Ack,
  type AnomalyKind,
  check,
  describeResult,
  type History,
  type Read,
  type StoredBatch,
} from "./checker.ts";

/** `count` records to partition `value % partitions`, acknowledged in order 10 ms apart, read back where acked. */
function cleanHistory(count = 20, partitions = 2): History {
  const next = new Map<number, number>();
  const acks: Ack[] = [];
  for (let value = 0; value < count; value++) {
    const partition = value % partitions;
    const offset = next.get(partition) ?? 0;
    next.set(partition, offset + 1);
    acks.push({ value, partition, offset, atMs: 1_000 + value * 10 });
  }
  const reads: Read[] = acks.map((a) => ({ partition: a.partition, offset: a.offset, value: String(a.value) }));
  const batches = (partition: number): StoredBatch[] =>
    Array.from(
      { length: next.get(partition)! },
      (_, o) => ({ baseOffset: o, lastOffset: o, digest: `p${partition}-${o}` }),
    );
  return {
    sent: count,
    acks,
    failures: [],
    reads,
    replicas: [...next.keys()].map((partition) => ({
      partition,
      highWatermark: next.get(partition)!,
      replicas: [1, 2, 3].map((nodeId) => ({ nodeId, batches: batches(partition) })),
    })),
    faults: [],
  };
}

function kinds(history: History): AnomalyKind[] {
  return check(history).anomalies.map((a) => a.kind);
}

Deno.test("a clean history has no anomalies, and its figures count what happened", () => {
  const history = cleanHistory();
  history.faults.push({ name: "kill -9 leader 2", atMs: 1_055, healedAtMs: 1_101 });
  const result = check(history);
  assert.deepEqual(result.anomalies, []);
  assert.equal(result.valid, true);
  assert.deepEqual(result.figures, {
    sent: 20,
    acked: 20,
    failed: 0,
    read: 20,
    failedButRead: 0,
    faults: [{ name: "kill -9 leader 2", toNextAckMs: 5, healedToNextAckMs: 9 }],
    longestAckGapMs: 10,
  });
  assert.match(describeResult(result), /no anomalies/);
});

Deno.test("an acknowledged record that no consumer read is lost", () => {
  const history = cleanHistory();
  history.reads = history.reads.filter((r) => r.value !== "7");
  const result = check(history);
  assert.deepEqual(result.anomalies, [
    { kind: "lost", message: "acknowledged record 7 missing (partition 1, offset 3)" },
  ]);
  assert.match(describeResult(result), /lost \(1\):\n {4}acknowledged record 7 missing/);
});

Deno.test("a record read at two offsets is a duplicate", () => {
  const history = cleanHistory();
  // The old leader's copy and a retry written again by the new leader.
  history.reads.push({ partition: 0, offset: 10, value: "4" });
  assert.deepEqual(check(history).anomalies, [
    { kind: "duplicate", message: "record 4 read 2 times: at offset 2 of partition 0, offset 10 of partition 0" },
  ]);
});

Deno.test("the same offset read twice with the same value is not a duplicate", () => {
  const history = cleanHistory();
  history.reads.push(...history.reads.slice(0, 5));
  assert.deepEqual(kinds(history), []);
});

Deno.test("acknowledged records read out of acknowledgement order are reordered", () => {
  const history = cleanHistory(6, 1);
  // Records 2 and 3 swapped places in the log; the acknowledgements said 2 then 3.
  history.reads = history.reads.map((r) =>
    r.value === "2" ? { ...r, value: "3" } : r.value === "3" ? { ...r, value: "2" } : r
  );
  const anomalies = check(history).anomalies;
  assert.deepEqual(anomalies.map((a) => a.kind), ["offset-mismatch", "offset-mismatch", "reordered"]);
  assert.equal(
    anomalies[2].message,
    "partition 0: record 3, acknowledged after record 2, was read at offset 2, before it (offset 3)",
  );
});

Deno.test("a record read at another offset than it was acknowledged with is an offset mismatch", () => {
  const history = cleanHistory(4, 1);
  // The last record moved from offset 3 to offset 5 (a new leader wrote it again after losing it): still in order.
  history.reads[3] = { partition: 0, offset: 5, value: "3" };
  assert.deepEqual(check(history).anomalies, [{
    kind: "offset-mismatch",
    message: "acknowledged record 3 at offset 3 of partition 0 was read at offset 5 of partition 0",
  }]);
});

Deno.test("two acknowledgements at one offset, or two values read at one offset, conflict", () => {
  const history = cleanHistory(4, 1);
  history.acks.push({ value: 4, partition: 0, offset: 3, atMs: 2_000 }); // a second leader in the same epoch
  history.sent = 5;
  const anomalies = check(history).anomalies;
  assert.deepEqual(anomalies.map((a) => a.kind), ["conflicting-offset", "lost"]);
  assert.equal(anomalies[0].message, "records 3 and 4 were both acknowledged at offset 3 of partition 0");

  const reread = cleanHistory(4, 1);
  reread.reads.push({ partition: 0, offset: 1, value: "9" });
  assert.deepEqual(check(reread).anomalies, [
    { kind: "conflicting-offset", message: "offset 1 of partition 0 was read as 1 and as 9" },
  ]);
});

Deno.test("a value never sent is unexpected", () => {
  const history = cleanHistory(4, 1);
  history.reads.push({ partition: 0, offset: 4, value: "4" }, { partition: 0, offset: 5, value: "garbage" });
  assert.deepEqual(kinds(history), ["unexpected-value", "unexpected-value"]);
});

Deno.test("a failed send may be read once, not twice", () => {
  const history = cleanHistory(4, 1);
  history.sent = 5;
  history.failures.push({ value: 4, error: "Local: Message timed out", atMs: 3_000 });
  history.reads.push({ partition: 0, offset: 4, value: "4" });
  const result = check(history);
  assert.deepEqual(result.anomalies, []);
  assert.equal(result.figures.failedButRead, 1);
  history.reads.push({ partition: 0, offset: 5, value: "4" });
  assert.deepEqual(kinds(history), ["duplicate"]);
});

Deno.test("replicas that hold different batches below the high watermark diverge", () => {
  const history = cleanHistory(10, 1);
  const broker3 = history.replicas[0].replicas[2];
  broker3.batches = broker3.batches!.map((b) => b.baseOffset === 6 ? { ...b, digest: "rewritten" } : b);
  const anomalies = check(history).anomalies;
  assert.deepEqual(anomalies.map((a) => a.kind), ["replica-divergent"]);
  assert.match(
    anomalies[0].message,
    /^partition 0: broker 3 differs from broker 1 at offset 6: batch 6\.\.6 \(digest rewritten\) against batch 6\.\.6 \(digest p0-6\)$/,
  );
});

Deno.test("replicas may differ above the high watermark (an uncommitted tail), not below it", () => {
  const history = cleanHistory(10, 1);
  const replicas = history.replicas[0].replicas;
  replicas[0].batches!.push({ baseOffset: 10, lastOffset: 12, digest: "uncommitted-a" });
  replicas[1].batches!.push({ baseOffset: 10, lastOffset: 11, digest: "uncommitted-b" });
  assert.deepEqual(kinds(history), []);
});

Deno.test("batches split differently are caught even when their offsets cover the same range", () => {
  const history = cleanHistory(10, 1);
  const broker2 = history.replicas[0].replicas[1];
  broker2.batches = [
    ...broker2.batches!.slice(0, 4),
    { baseOffset: 4, lastOffset: 5, digest: "merged" },
    ...broker2.batches!.slice(6),
  ];
  assert.deepEqual(kinds(history), ["replica-divergent"]);
});

Deno.test("a replica without the partition, or ending before the high watermark, is reported", () => {
  const history = cleanHistory(10, 1);
  const replicas = history.replicas[0].replicas;
  replicas[1].batches = null;
  replicas[2].batches = replicas[2].batches!.slice(0, 7);
  assert.deepEqual(check(history).anomalies, [
    { kind: "replica-missing", message: "partition 0: broker 2 holds no log for it (high watermark 10)" },
    { kind: "replica-short", message: "partition 0: broker 3's log ends at offset 6, before the high watermark 10" },
  ]);
});

Deno.test("a replica whose log starts later (retention) is compared from its first batch", () => {
  const history = cleanHistory(10, 1);
  const broker2 = history.replicas[0].replicas[1];
  broker2.batches = broker2.batches!.slice(3);
  assert.deepEqual(kinds(history), []);
});

Deno.test("a fault with no acknowledgement after it shows as never recovered", () => {
  const history = cleanHistory(4, 1);
  history.faults.push({ name: "SIGSTOP leader 1", atMs: 99_000 });
  const result = check(history);
  assert.deepEqual(result.figures.faults, [{ name: "SIGSTOP leader 1", toNextAckMs: null, healedToNextAckMs: null }]);
  assert.match(describeResult(result), /SIGSTOP leader 1: next ack never after the fault/);
});

Deno.test("a fault a majority survives must be followed by an acknowledgement within its bound", () => {
  const history = cleanHistory(10, 1); // acknowledged at 1000, 1010, ... 1090
  history.faults.push({ name: "kill -9 of leader 1", atMs: 1_041, availableWithinMs: 20, healedAtMs: 1_200 });
  assert.deepEqual(kinds(history), []);
  history.faults[0] = { name: "kill -9 of leader 1", atMs: 1_095, availableWithinMs: 2_000, healedAtMs: 5_000 };
  assert.deepEqual(check(history).anomalies, [{
    kind: "unavailable",
    message: "no record acknowledged within 2000 ms of kill -9 of leader 1 (healed after 3905 ms)",
  }]);
  history.faults[0] = { name: "kill -9 of all nodes", atMs: 1_095, healedAtMs: 5_000 }; // no bound: none expected
  assert.deepEqual(kinds(history), []);
});

Deno.test("a fault on one partition counts that partition's acknowledgements only", () => {
  const history = cleanHistory(10, 2); // partition 0 acknowledged at 1000, 1020, ...; partition 1 at 1010, 1030, ...
  history.faults.push({ name: "kill -9 of leader 1 of chaos/1", partition: 1, atMs: 1_075, availableWithinMs: 12 });
  const result = check(history);
  assert.deepEqual(result.anomalies.map((a) => a.message), [
    "no record acknowledged within 12 ms of kill -9 of leader 1 of chaos/1",
  ]);
  assert.equal(result.figures.faults[0].toNextAckMs, 15); // partition 1's 1090, not partition 0's 1080
});

Deno.test("describeResult lists a few anomalies of each kind and counts the rest", () => {
  const history = cleanHistory(20, 1);
  history.reads = [];
  const text = describeResult(check(history), 3);
  assert.match(text, /^sent 20, acknowledged 20, failed 0 \(0 of them read\), read 0;/);
  assert.match(text, /20 anomalies:\n {2}lost \(20\):\n {4}acknowledged record 0 missing/);
  assert.match(text, /\.\.\. and 17 more$/);
});
