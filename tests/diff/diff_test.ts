/**
 * Samsa against Apache Kafka's recorded answers: starts a Samsa broker, runs every differential scenario
 * against it, and compares each answer with Kafka's in golden/ (recorded with
 * `deno run -A tests/diff/main.ts --record kafka --kafka HOST:PORT`). Kafka itself is not started.
 *
 * A difference fails its scenario unless it is informational (error messages, configs only one side has, ...)
 * or listed with its reason in known_differences.ts.
 *
 * It is part of the default suite (`deno task test`) and runs alone with `deno task test:diff`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startBroker } from "../integration/broker_process.ts";
import { compareRuns, probeBroker, readGolden, runScenario } from "./run.ts";
import { report } from "./report.ts";
import { SCENARIOS } from "./scenarios/mod.ts";

/** Settings that make Samsa's defaults match the reference Kafka's (tests/compat/kafka/kafka.sh). */
const SETTINGS = { "num.partitions": 1, "auto.create.topics.enable": true };

Deno.test({
  name: "Samsa answers every differential scenario like the recorded Apache Kafka",
  async fn(t) {
    const broker = await startBroker({ settings: SETTINGS });
    try {
      const problem = await probeBroker(broker.bootstrap);
      assert.equal(
        problem,
        null,
        `Samsa at ${broker.bootstrap} cannot be compared: ${problem}. Its API handlers are missing or failing.\n` +
          `--- broker log (tail) ---\n${broker.logs().slice(-3000)}`,
      );
      for (const scenario of SCENARIOS) {
        await t.step(`${scenario.name}: ${scenario.description}`, async () => {
          const golden = await readGolden(scenario.name);
          assert.ok(golden, `no golden file for ${scenario.name}; record it with main.ts --record kafka`);
          const samsa = await runScenario(scenario, broker.bootstrap);
          const lines: string[] = [];
          const unexplained = report(scenario.name, compareRuns(scenario, golden, samsa), (l) => lines.push(l));
          if (unexplained === 0 && lines.length > 1) console.log(lines.join("\n"));
          assert.equal(unexplained, 0, `Samsa differs from ${golden.recordedAgainst}:\n${lines.join("\n")}`);
        });
      }
    } finally {
      await broker.stop();
      await Deno.remove(broker.dataDir, { recursive: true }).catch(() => {});
    }
  },
});
