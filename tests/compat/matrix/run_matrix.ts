/**
 * `deno task compat:matrix`: the client × feature matrix, filled from tests that ran.
 *
 * For each client (Java kafka-clients, confluent-kafka-python, kcat, kafkajs) it starts one Samsa broker on a free
 * port with a temporary data directory, runs that client's scenario for every feature, stops the broker, and
 * records each cell as pass, fail or not run, with the test that decided it and the date. franz-go's cells come
 * from the latest `tests/compat/franz/result.json` (`deno task test:franz`). The results go to
 * `tests/compat/matrix/results.json`, and the generated part of the "Samsa results" section of
 * `docs/COMPATIBILITY.md` is rewritten from them.
 *
 * ```sh
 * deno run -A tests/compat/matrix/run_matrix.ts                    # every client
 * deno run -A tests/compat/matrix/run_matrix.ts --clients kcat,java # only these; other cells keep their results
 * deno run -A tests/compat/matrix/run_matrix.ts --render-only       # rewrite the doc from results.json
 * deno run -A tests/compat/matrix/run_matrix.ts --check [--clients …] # CI: write nothing, exit 1 on a failure
 * ```
 *
 * `--check` runs the chosen clients without touching `results.json` or the doc, prints every cell, and exits 1
 * when a cell failed that `EXPECTED_FAILURES` (matrix.ts) does not list with its reason; an expected failure
 * that passed is reported so its entry can go.
 *
 * Environment: COMPAT_RECORDS (records per scenario, default 100), passed on to every driver. Broker logs are kept
 * in `.cache/matrix/samsa-<client>-<time>.log`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import denoJson from "../../../deno.json" with { type: "json" };
import { runDriver } from "../client_driver.ts";
import type { FranzResult } from "../franz/franz.ts";
import { samsaCommit } from "../franz/franz.ts";
import {
  type Cell,
  cellFromChecks,
  type Client,
  CLIENTS,
  type Feature,
  judgeMatrix,
  type MatrixResults,
  renderMatrix,
  replaceGeneratedSection,
} from "./matrix.ts";
import { startSamsa } from "./samsa_broker.ts";
import type { RetryClient } from "../idempotence_retry.ts";

const COMPAT = new URL("../", import.meta.url).pathname;
const HERE = new URL("./", import.meta.url).pathname;
const REPO = new URL("../../../", import.meta.url).pathname;
const RESULTS_FILE = `${HERE}results.json`;
const DOC = `${REPO}docs/COMPATIBILITY.md`;
const FRANZ_RESULT = `${COMPAT}franz/result.json`;

/** A command that prints driver check lines for one cell. */
interface CommandScenario {
  feature: Feature;
  test: string;
  command: string;
  args: (bootstrap: string) => string[];
}

/** How one cell is decided: a command, or a reason it cannot run. */
type Scenario = CommandScenario | { feature: Feature; notRun: string };

const CODECS = ["gzip", "snappy", "lz4", "zstd"] as const;

/**
 * The idempotent producer is decided by real retries: `idempotence_retry.ts` starts its own broker behind a
 * proxy that cuts connections after the broker answered a Produce, and checks each record is stored once. A
 * plain idempotent run proves nothing about deduplication, since no client ever resends there.
 */
function retryScenario(client: RetryClient): CommandScenario {
  return {
    feature: "idempotence",
    test: `idempotence_retry.ts ${client}`,
    command: Deno.execPath(),
    args: () => ["run", "-A", `${COMPAT}idempotence_retry.ts`, client],
  };
}

function javaScenarios(): Scenario[] {
  const driver = (feature: Feature, scenario: string): Scenario => ({
    feature,
    test: `java/run.sh ${scenario}`,
    command: "bash",
    args: (b) => [`${COMPAT}java/run.sh`, b, scenario],
  });
  // The Java driver has no compression or transaction scenario; the matrix's own single-file program runs on
  // the driver's jars (target/lib, built by the first run.sh call).
  const own = (feature: Feature, ...scenario: string[]): Scenario => ({
    feature,
    test: `matrix/java/MatrixScenarios.java ${scenario.join(" ")}`,
    command: "java",
    args: (b) => [
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
      "-cp",
      `${COMPAT}java/target/lib/*`,
      `${HERE}java/MatrixScenarios.java`,
      b,
      ...scenario,
    ],
  });
  return [
    driver("consume", "consume"),
    own("produce", "produce-codec", "none"),
    ...CODECS.map((c) => own(c, "produce-codec", c)),
    retryScenario("java"),
    driver("groups-classic", "group-classic"),
    driver("groups-kip848", "group-consumer"),
    driver("admin", "admin"),
    own("transactions", "transactions"),
  ];
}

function pythonScenarios(): Scenario[] {
  const driver = (feature: Feature, scenario: string): Scenario => ({
    feature,
    test: `python/driver.py ${scenario}`,
    command: "python3",
    args: (b) => [`${COMPAT}python/driver.py`, b, scenario],
  });
  const own = (feature: Feature, ...scenario: string[]): Scenario => ({
    feature,
    test: `matrix/python_scenarios.py ${scenario.join(" ")}`,
    command: "python3",
    args: (b) => [`${HERE}python_scenarios.py`, b, ...scenario],
  });
  return [
    own("produce", "produce-codec", "none"),
    driver("consume", "consume"),
    ...CODECS.map((c) => own(c, "produce-codec", c)),
    retryScenario("python"),
    driver("groups-classic", "group-classic"),
    driver("groups-kip848", "group-consumer"),
    driver("admin", "admin"),
    own("transactions", "transactions"),
  ];
}

function denoDriver(file: string, feature: Feature, ...scenario: string[]): Scenario {
  return {
    feature,
    test: `matrix/${file} ${scenario.join(" ")}`,
    command: Deno.execPath(),
    args: (b) => ["run", "-A", `${HERE}${file}`, b, ...scenario],
  };
}

function kcatScenarios(): Scenario[] {
  const k = (feature: Feature, ...scenario: string[]) => denoDriver("kcat_driver.ts", feature, ...scenario);
  return [
    k("produce", "produce"),
    k("consume", "consume"),
    ...CODECS.map((c) => k(c, "produce-codec", c)),
    retryScenario("kcat"),
    k("groups-classic", "group-classic"),
    { feature: "groups-kip848", notRun: "kcat 1.7.1 is built on librdkafka 2.0.2, which has no KIP-848 consumer" },
    { feature: "admin", notRun: "kcat has no admin commands (its -L metadata listing is checked under produce)" },
    { feature: "transactions", notRun: "kcat has no transactional producer" },
  ];
}

function kafkajsScenarios(): Scenario[] {
  const j = (feature: Feature, ...scenario: string[]) => denoDriver("kafkajs_driver.ts", feature, ...scenario);
  return [
    j("produce", "produce-codec", "none"),
    j("consume", "consume"),
    ...CODECS.map((c) => j(c, "produce-codec", c)),
    retryScenario("kafkajs"),
    j("groups-classic", "group-classic"),
    { feature: "groups-kip848", notRun: "kafkajs implements only the classic group protocol" },
    j("admin", "admin"),
    j("transactions", "transactions"),
  ];
}

const SCENARIOS: Record<Exclude<Client, "franz-go">, () => Scenario[]> = {
  java: javaScenarios,
  python: pythonScenarios,
  kcat: kcatScenarios,
  kafkajs: kafkajsScenarios,
};

/**
 * Which of franz-go's pkg/kgo tests decide each feature. franz-go's producer is idempotent and compresses with
 * snappy unless told otherwise, so its plain producing tests speak for both; no pkg/kgo test produces lz4 or zstd
 * to a broker (its codec tests run in-process), and its tests use admin requests only to set up.
 */
export const FRANZ_TESTS: Record<Feature, string[] | string> = {
  "produce": ["TestClient_Produce", "TestClient_ProduceLargeMessages", "TestIssue769"],
  "consume": [
    "TestIssue325",
    "TestDirectPartitionPurge",
    "TestAddRemovePartitions",
    "TestPauseIssue489",
    "TestConsumeRegex",
  ],
  "gzip": ["TestConsumeMaxDecompressBatchBytes"],
  "snappy": ["TestClient_Produce"],
  "lz4": "no pkg/kgo test produces lz4 to a broker (TestCompressDecompress runs in-process)",
  "zstd": "no pkg/kgo test produces zstd to a broker (TestCompressDecompress runs in-process)",
  // Replaced by `idempotence_retry.ts franz-go` when the matrix runs franz-go: these tests never resend.
  "idempotence": ["TestClient_Produce", "TestIssue769"],
  "groups-classic": ["TestGroupSimple", "TestIssue523", "TestGroupETL"],
  "groups-kip848": ["Test848RegexBrokerResolves"],
  "admin": "pkg/kgo's tests use admin requests only as setup; franz-go's admin package (kadm) was not run",
  "transactions": ["TestTxnEtl"],
};

/** franz-go's cells from its result file: a cell fails if any of its tests failed or hung. */
export function franzCells(result: FranzResult | null, today: string): Cell[] {
  const byName = new Map((result?.tests ?? []).map((t) => [t.name, t]));
  const date = result?.date.slice(0, 10) ?? today;
  return (Object.entries(FRANZ_TESTS) as [Feature, string[] | string][]).map(([feature, tests]) => {
    const base = { client: "franz-go" as const, feature, ...(result ? { samsaCommit: result.samsaCommit } : {}) };
    if (typeof tests === "string") {
      return { ...base, status: "not-run", test: "franz-go pkg/kgo", date: today, note: tests };
    }
    const test = `franz-go ${tests.join(", ")}`;
    if (!result) return { ...base, status: "not-run", test, date: today, note: "no tests/compat/franz/result.json" };
    const found = tests.map((t) => byName.get(t)).filter((t) => t !== undefined);
    const bad = found.filter((t) => t.status === "fail" || t.status === "hung");
    const passed = found.filter((t) => t.status === "pass");
    const checks = `${passed.length}/${tests.length}`;
    if (bad.length) {
      const note = bad.map((t) => `${t.name}: ${t.output?.find((l) => /\w+_test\.go:\d+/.test(l))?.trim() ?? t.status}`)
        .join("; ");
      return {
        ...base,
        status: "fail",
        test,
        date,
        checks,
        note: note.length > 300 ? note.slice(0, 297) + "..." : note,
      };
    }
    if (passed.length === 0) {
      const skipped = found.map((t) => `${t.name} (${t.output?.[0]?.trim() ?? "no reason printed"})`).join("; ") ||
        "none of them ran";
      return { ...base, status: "not-run", test, date, checks, note: `franz-go skipped: ${skipped}` };
    }
    return { ...base, status: "pass", test, date, checks };
  });
}

async function output(command: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
    return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  } catch {
    return "";
  }
}

async function clientVersions(franz: FranzResult | null): Promise<Partial<Record<Client, string>>> {
  const pom = await Deno.readTextFile(`${COMPAT}java/pom.xml`);
  const python = (await output("python3", [
    "-c",
    "import confluent_kafka as c; v = c.version(); print(v[0] if isinstance(v, tuple) else v, c.libversion()[0])",
  ]))
    .trim().split(" ");
  const kcat = await output("kcat", ["-V"]);
  const kafkajs = /kafkajs@([\d.]+)/.exec((denoJson.imports as Record<string, string>).kafkajs)?.[1];
  return {
    java: `Java kafka-clients ${/<kafka.version>([^<]+)</.exec(pom)?.[1] ?? "?"}`,
    python: `confluent-kafka-python ${python[0] ?? "?"} (librdkafka ${python[1] ?? "?"})`,
    kcat: `kcat ${/Version (\S+)/.exec(kcat)?.[1] ?? "?"} (librdkafka ${/librdkafka ([\d.]+)/.exec(kcat)?.[1] ?? "?"})`,
    kafkajs: `kafkajs ${kafkajs ?? "?"}`,
    "franz-go": `franz-go ${franz?.franzVersion ?? "?"}`,
  };
}

async function runClient(client: Exclude<Client, "franz-go">, stamp: string, today: string): Promise<Cell[]> {
  const cells: Cell[] = [];
  await Deno.mkdir(`${REPO}.cache/matrix`, { recursive: true });
  // Other work may land while the matrix runs: each broker runs the tree as it is when it starts.
  const commit = await samsaCommit();
  const broker = await startSamsa({ logFile: `${REPO}.cache/matrix/samsa-${client}-${stamp}.log`, lifetimeS: 1800 });
  console.error(`matrix: ${client}: Samsa at ${broker.bootstrap}, log ${broker.logFile}`);
  try {
    for (const s of SCENARIOS[client]()) {
      if ("notRun" in s) {
        cells.push({
          client,
          feature: s.feature,
          status: "not-run",
          test: "none",
          date: today,
          note: s.notRun,
          samsaCommit: commit,
        });
        continue;
      }
      cells.push(await runScenario(client, s, broker.bootstrap, today, commit));
    }
  } finally {
    await broker.stop();
  }
  return cells;
}

/** Runs one scenario's command and turns its check lines into a cell, logging the outcome. */
async function runScenario(
  client: Client,
  s: CommandScenario,
  bootstrap: string,
  today: string,
  commit: string,
): Promise<Cell> {
  const started = Date.now();
  const run = await runDriver(s.command, s.args(bootstrap), 320_000);
  const tail = run.stderr.trim().split("\n").slice(-2).join(" ").slice(-200);
  const cell = cellFromChecks(client, s.feature, s.test, today, run.code, run.checks, tail);
  cell.samsaCommit = commit;
  console.error(
    `matrix: ${client} ${s.feature}: ${cell.status} ${cell.checks} (${((Date.now() - started) / 1000).toFixed(1)} s)` +
      (cell.note ? ` — ${cell.note}` : ""),
  );
  return cell;
}

/** franz-go's cells: from its suite's result file, except the idempotent producer, decided by real retries. */
async function franzGoCells(franz: FranzResult | null, today: string): Promise<Cell[]> {
  const retried = await runScenario("franz-go", retryScenario("franz-go"), "", today, await samsaCommit());
  return franzCells(franz, today).map((c) => c.feature === "idempotence" ? retried : c);
}

/** Prints every cell and the verdict of `--check`; returns the exit code. */
function reportCheck(cells: Cell[]): number {
  for (const c of cells) {
    console.log(
      `matrix: ${c.client} ${c.feature}: ${c.status}${c.checks ? ` ${c.checks}` : ""}` +
        (c.note ? ` (${c.note})` : ""),
    );
  }
  const verdict = judgeMatrix(cells);
  for (const { cell, reason } of verdict.expected) {
    console.log(`matrix: expected failure ${cell.client} ${cell.feature}: ${reason}`);
  }
  for (const c of verdict.nowPassing) {
    console.log(`matrix: ${c.client} ${c.feature} passes now: remove it from EXPECTED_FAILURES (matrix.ts)`);
  }
  for (const c of verdict.unexpected) console.log(`matrix: FAILED ${c.client} ${c.feature}: ${c.note ?? ""}`);
  const counts = { pass: 0, fail: 0, "not-run": 0 };
  for (const c of cells) counts[c.status]++;
  console.log(
    `matrix: ${counts.pass} passed, ${counts.fail} failed (${verdict.expected.length} expected), ` +
      `${counts["not-run"]} not run; ${verdict.unexpected.length === 0 ? "ok" : "FAILED"}`,
  );
  return verdict.unexpected.length === 0 ? 0 : 1;
}

function mostCommon(values: string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(file)) as T;
  } catch {
    return null;
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { clients: { type: "string" }, "render-only": { type: "boolean" }, check: { type: "boolean" } },
  });
  const previous = await readJson<MatrixResults>(RESULTS_FILE);
  let results: MatrixResults;
  if (values["render-only"]) {
    if (!previous) throw new Error(`no ${RESULTS_FILE}`);
    results = previous;
  } else {
    const chosen = (values.clients?.split(",") ?? [...CLIENTS]) as Client[];
    for (const c of chosen) if (!CLIENTS.includes(c)) throw new Error(`unknown client ${c}; one of ${CLIENTS}`);
    const now = new Date();
    const today = now.toISOString().slice(0, 10);
    const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
    const franz = await readJson<FranzResult>(FRANZ_RESULT);
    const fresh: Cell[] = [];
    for (const client of chosen) {
      if (client === "franz-go") fresh.push(...await franzGoCells(franz, today));
      else fresh.push(...await runClient(client, stamp, today));
    }
    // Clients not run this time keep the cells an earlier run decided.
    if (values.check) Deno.exit(reportCheck(fresh));
    const kept = (previous?.cells ?? []).filter((c) => !chosen.includes(c.client));
    results = {
      generated: now.toISOString(),
      samsaCommit: mostCommon([...kept, ...fresh].map((c) => c.samsaCommit).filter((c) => c !== undefined)) ??
        await samsaCommit(),
      clientVersions: { ...previous?.clientVersions, ...await clientVersions(franz) },
      cells: [...kept, ...fresh],
    };
    await Deno.writeTextFile(RESULTS_FILE, JSON.stringify(results, null, 2) + "\n");
  }
  const doc = await Deno.readTextFile(DOC);
  await Deno.writeTextFile(DOC, replaceGeneratedSection(doc, renderMatrix(results)));
  // The generated tables are padded the way `deno fmt` pads them, so that `deno fmt --check` stays clean.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", DOC], stdout: "null", stderr: "inherit" }).output();
  const counts = { pass: 0, fail: 0, "not-run": 0 };
  for (const c of results.cells) counts[c.status]++;
  console.log(`matrix: ${counts.pass} passed, ${counts.fail} failed, ${counts["not-run"]} skipped (cells not run)`);
}
