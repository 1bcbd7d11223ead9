/**
 * A short fuzzing run in the default suite: 20 s of mutated real-client requests against a live broker (see
 * run.ts) leave it alive, answering a healthy client after every burst, with bounded memory and no handler
 * failure in its log. Seed from FUZZ_SEED (a finding replays with `deno task fuzz --seed S`); 20261208 when
 * unset, so the suite is repeatable. Longer runs: `deno task fuzz --seconds 600`.
 */
import assert from "node:assert/strict";
import { runFuzz } from "./run.ts";

Deno.test("20 s of mutated client requests crash nothing and every burst leaves the broker healthy", async () => {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? 20261208);
  const report = await runFuzz({ seconds: 20, seed });
  const summary = `seed ${seed}: ${report.requestsSent} requests, ${report.responses} responses, ` +
    `${report.connectionsClosed} connections closed, peak RSS ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB`;
  console.log(summary);
  assert.deepEqual(report.crashes, [], `crashes (${summary})`);
  assert.deepEqual(report.brokerErrors, [], `handler failures in the broker log (${summary})`);
  assert.ok(report.requestsSent > 500, summary);
  assert.ok(report.responses > 0 && report.connectionsClosed > 0, `both answered and refused requests: ${summary}`);
});
