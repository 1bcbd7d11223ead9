/**
 * The differential runner: the same scenarios against Apache Kafka and Samsa, answers compared field by field.
 *
 *   deno run -A tests/diff/main.ts --kafka HOST:PORT --samsa HOST:PORT [--scenario NAME]...
 *       live comparison; prints "same" or the differences of each scenario
 *   deno run -A tests/diff/main.ts --samsa HOST:PORT [--scenario NAME]...
 *       compares Samsa with Kafka's recorded answers in tests/diff/golden/
 *   deno run -A tests/diff/main.ts --record kafka --kafka HOST:PORT [--scenario NAME]...
 *       records Kafka's normalized answers as the golden files
 *   --samsa start    instead of an address: starts a Samsa broker (tests/integration/broker_process.ts) for
 *                    the run and stops it afterwards
 *   --show    also prints each run's normalized answers
 *
 * Exit code 1 when a difference neither informational nor listed in known_differences.ts was found.
 *
 * @module
 */
import { report } from "./report.ts";
import { startBroker } from "../integration/broker_process.ts";
import { compareRuns, probeBroker, readGolden, runScenario, type ScenarioRun, writeGolden } from "./run.ts";
import type { Scenario } from "./scenario.ts";
import { SCENARIOS } from "./scenarios/mod.ts";

interface Args {
  kafka?: string;
  samsa?: string;
  record?: string;
  scenarios: string[];
  show: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { scenarios: [], show: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--kafka") args.kafka = value();
    else if (a === "--samsa") args.samsa = value();
    else if (a === "--record") args.record = value();
    else if (a === "--scenario") args.scenarios.push(...value().split(","));
    else if (a === "--show") args.show = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

/** The Kafka version the reference script runs, from its pom. */
async function kafkaVersion(): Promise<string> {
  try {
    const pom = await Deno.readTextFile(new URL("../compat/kafka/pom.xml", import.meta.url));
    return `Apache Kafka ${pom.match(/<kafka.version>(.*)<\/kafka.version>/)?.[1] ?? "?"}`;
  } catch {
    return "Apache Kafka";
  }
}

function show(label: string, run: ScenarioRun): void {
  console.log(`--- ${label} ${run.scenario}${run.aborted ? ` (aborted: ${run.aborted})` : ""}`);
  for (const r of run.results) {
    console.log(`[${r.step}] ${r.request}: ${r.error ?? JSON.stringify(r.response)}`);
  }
}

async function main(): Promise<number> {
  const args = parseArgs(Deno.args);
  const selected = args.scenarios.length
    ? args.scenarios.map((n) => {
      const s = SCENARIOS.find((x) => x.name === n);
      if (!s) throw new Error(`no scenario ${n}; have ${SCENARIOS.map((x) => x.name).join(", ")}`);
      return s;
    })
    : SCENARIOS;
  if (args.record !== undefined) {
    if (args.record !== "kafka" || !args.kafka) throw new Error("--record kafka needs --kafka HOST:PORT");
    const against = await kafkaVersion();
    for (const scenario of selected) {
      const run = await runScenario(scenario, args.kafka);
      if (args.show) show("kafka", run);
      const path = await writeGolden(run, against);
      console.log(
        `${scenario.name}: recorded ${run.results.length} steps${
          run.aborted ? ` (aborted: ${run.aborted})` : ""
        } -> ${path}`,
      );
    }
    return 0;
  }
  if (!args.samsa && !args.kafka) throw new Error("want --kafka and/or --samsa (see the top of tests/diff/main.ts)");
  const started = args.samsa === "start"
    ? await startBroker({ settings: { "num.partitions": 1, "auto.create.topics.enable": true } })
    : undefined;
  if (started) args.samsa = started.bootstrap;
  try {
    return await compareAll(args, selected);
  } finally {
    if (started) {
      await started.stop();
      await Deno.remove(started.dataDir, { recursive: true }).catch(() => {});
    }
  }
}

async function compareAll(args: Args, selected: readonly Scenario[]): Promise<number> {
  if (args.samsa) {
    const problem = await probeBroker(args.samsa);
    if (problem) {
      console.log(`Samsa at ${args.samsa} cannot be compared: ${problem}`);
      return 1;
    }
  }
  let unexplained = 0;
  for (const scenario of selected) {
    const kafka = args.kafka ? await runScenario(scenario, args.kafka) : await readGolden(scenario.name);
    if (kafka === undefined) {
      console.log(`${scenario.name}: no golden file; record one with --record kafka`);
      unexplained++;
      continue;
    }
    if (args.show) show("kafka", kafka);
    if (!args.samsa) continue;
    const samsa = await runScenario(scenario, args.samsa);
    if (args.show) show("samsa", samsa);
    unexplained += report(scenario.name, compareRuns(scenario, kafka, samsa));
  }
  return unexplained > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
