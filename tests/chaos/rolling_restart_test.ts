/**
 * A rolling restart as an operator runs one (each broker in turn: SIGTERM, start again) of a three-broker
 * cluster, with a topic of three partitions at RF 3 (each broker the preferred leader of one) and confluent-kafka's
 * idempotent acks=all producer writing to every partition throughout. Each stopping broker hands its leaderships
 * over before it exits, so every restart moves a leadership. The checker's verdict is asserted: nothing
 * acknowledged is lost, acknowledged twice or moved, and the replicas hold the same batches. The longest stall of
 * each partition (the longest wait between two acknowledgements during the restart) is printed, not asserted.
 *
 * Needs python3 with confluent-kafka (`bash tests/install_clients.sh`).
 */
import assert from "node:assert/strict";
import { type Ack, describeResult } from "./checker.ts";
import { runScenario } from "./scenario.ts";

const PARTITIONS = 3;

/**
 * The longest wait, per partition, between the window's start, each acknowledgement in `[fromMs, toMs]`, and the
 * window's end.
 */
function longestStalls(acks: readonly Ack[], partitions: number, fromMs: number, toMs: number): number[] {
  return Array.from({ length: partitions }, (_, partition) => {
    const times = acks.filter((a) => a.partition === partition && a.atMs >= fromMs && a.atMs <= toMs)
      .map((a) => a.atMs).sort((a, b) => a - b);
    let previous = fromMs;
    let longest = 0;
    for (const t of [...times, toMs]) {
      longest = Math.max(longest, t - previous);
      previous = t;
    }
    return longest;
  });
}

Deno.test({
  name: "a rolling restart of all three brokers under an idempotent acks=all producer loses and duplicates nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const outcome = await runScenario({ faults: ["rolling-restart"], partitions: PARTITIONS, acksDuring: 300 });
    const verdict = describeResult(outcome.result);
    const restart = outcome.history.faults[0];
    if (restart) {
      const stalls = longestStalls(
        outcome.history.acks,
        PARTITIONS,
        restart.atMs,
        restart.healedAtMs ?? Date.now(),
      );
      const during = outcome.history.acks.filter((a) => a.atMs >= restart.atMs && a.atMs <= (restart.healedAtMs ?? 0));
      console.log(
        `${restart.name}: ${((restart.healedAtMs ?? restart.atMs) - restart.atMs) / 1000} s, ` +
          `${during.length} records acknowledged meanwhile; longest stall per partition: ` +
          stalls.map((ms, p) => `${p}: ${ms} ms`).join(", "),
      );
    }
    console.log(`${verdict}${outcome.notes.length ? `\nnotes: ${outcome.notes.join("\n")}` : ""}`);
    assert.ok(outcome.result.valid, `${verdict}\n${outcome.notes.join("\n")}`);
  },
});
