/**
 * franz-go (Go, github.com/twmb/franz-go) against a real Samsa broker process: an idempotent acks=all producer
 * with every compression codec, and a consumer reading each record back in order. Its full pkg/kgo suite runs
 * behind `deno task test:franz` (docs/COMPATIBILITY.md).
 */
import assert from "node:assert/strict";
import { startBroker } from "../../integration/broker_process.ts";
import { failedChecks, runDriver } from "../client_driver.ts";

const HERE = new URL(".", import.meta.url).pathname;

Deno.test("franz-go: produce with every codec and consume back", async () => {
  const build = await new Deno.Command("go", { args: ["build", "-o", `${HERE}/.driver`, "."], cwd: HERE }).output();
  assert.ok(build.success, new TextDecoder().decode(build.stderr));
  const broker = await startBroker();
  try {
    const run = await runDriver(`${HERE}/.driver`, [broker.bootstrap, "produce-consume"]);
    assert.equal(run.code, 0, failedChecks(run));
    assert.equal(run.checks.filter((c) => c.ok).length, 10, failedChecks(run));
  } finally {
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});
