/**
 * Runs scenarios against a broker, compares two runs step by step, and reads and writes the golden files
 * (Kafka's recorded, normalized answers) in `golden/`.
 *
 * @example
 * ```ts
 * import { compareRuns, runScenario } from "./run.ts";
 * import { SCENARIOS } from "./scenarios/mod.ts";
 * const kafka = await runScenario(SCENARIOS[0], "127.0.0.1:9092");
 * const samsa = await runScenario(SCENARIOS[0], "127.0.0.1:9093");
 * compareRuns(SCENARIOS[0], kafka, samsa); // [] when they agree
 * ```
 *
 * @module
 */
import { ApiKey } from "../../protocol/messages.ts";
import { compareJson, type Difference } from "./compare.ts";
import { ConnectionClosedError, RawClient } from "./raw_client.ts";
import { type Scenario, Session, type StepResult } from "./scenario.ts";

/** The outcome of one scenario against one broker. */
export interface ScenarioRun {
  /** The scenario's name. */
  scenario: string;
  /** The recorded steps. */
  results: StepResult[];
  /** Set when the scenario stopped early: the broker closed the connection, or setup failed. */
  aborted?: string;
  /** True when the broker closed the connection before answering the scenario's first request. */
  closedAtFirstRequest?: boolean;
}

/** A golden file: Kafka's answers to one scenario. */
export interface GoldenFile extends ScenarioRun {
  /** e.g. "Apache Kafka 4.3.1". */
  recordedAgainst: string;
}

const GOLDEN_DIR = new URL("./golden/", import.meta.url);

function runId(): string {
  return crypto.randomUUID().slice(0, 8);
}

/** Runs one scenario against the broker at `bootstrap` on a fresh connection. */
export async function runScenario(scenario: Scenario, bootstrap: string): Promise<ScenarioRun> {
  const session = new Session(await RawClient.connect(bootstrap, `samsa-diff-${scenario.name}`), bootstrap, runId());
  const run: ScenarioRun = { scenario: scenario.name, results: session.results };
  try {
    await scenario.run(session);
  } catch (e) {
    run.aborted = `${(e as Error).name}: ${(e as Error).message}`;
    if (e instanceof ConnectionClosedError && session.results.filter((r) => !r.error).length === 0) {
      run.closedAtFirstRequest = true;
    }
  } finally {
    await session.close();
  }
  return run;
}

/**
 * Why the broker at `bootstrap` cannot be compared at all (it refuses the connection, closes it at the first
 * request, or does not answer ApiVersions v3 within 10 s), or null when it answers.
 */
export async function probeBroker(bootstrap: string): Promise<string | null> {
  let client: RawClient | undefined;
  try {
    client = await RawClient.connect(bootstrap, "samsa-diff-probe");
    const body = { clientSoftwareName: "samsa-diff", clientSoftwareVersion: "0" };
    await client.request(ApiKey.ApiVersions, 3, body, 10_000);
    return null;
  } catch (e) {
    const closed = e instanceof ConnectionClosedError;
    return `${closed ? "the broker closed the connection at the first request (ApiVersions v3)" : "no answer"}: ` +
      `${(e as Error).name}: ${(e as Error).message}`;
  } finally {
    await client?.close();
  }
}

/** Compares Kafka's run with Samsa's, step by step (matched by step name). */
export function compareRuns(scenario: Scenario, kafka: ScenarioRun, samsa: ScenarioRun): Difference[] {
  const out: Difference[] = [];
  if (kafka.aborted !== samsa.aborted) {
    out.push({ path: "aborted", kafka: kafka.aborted, samsa: samsa.aborted, informational: false });
  }
  const names = [...kafka.results.map((r) => r.step)];
  for (const r of samsa.results) if (!names.includes(r.step)) names.push(r.step);
  for (const name of names) {
    const k = kafka.results.find((r) => r.step === name);
    const s = samsa.results.find((r) => r.step === name);
    const prefix = `[${name}] ${(k ?? s)!.request}`;
    if (k === undefined || s === undefined) {
      out.push({
        path: `${prefix}: step`,
        kafka: k ? "ran" : undefined,
        samsa: s ? "ran" : undefined,
        informational: false,
      });
      continue;
    }
    if (k.error !== s.error) {
      out.push({ path: `${prefix}: error`, kafka: k.error, samsa: s.error, informational: false });
      if (k.error || s.error) continue;
    }
    const custom = scenario.compareStep?.(name, k.response, s.response);
    const diffs = custom ?? compareJson(k.response, s.response);
    for (const d of diffs) out.push({ ...d, path: d.path ? `${prefix}: ${d.path}` : prefix });
  }
  return out;
}

/** The golden file of a scenario, or undefined when none was recorded. */
export async function readGolden(name: string): Promise<GoldenFile | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(new URL(`${name}.json`, GOLDEN_DIR)));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Writes a scenario's run as its golden file, formatted by `deno fmt`. */
export async function writeGolden(run: ScenarioRun, recordedAgainst: string): Promise<string> {
  await Deno.mkdir(GOLDEN_DIR, { recursive: true });
  const golden: GoldenFile = { scenario: run.scenario, recordedAgainst, results: run.results };
  if (run.aborted) golden.aborted = run.aborted;
  const url = new URL(`${run.scenario}.json`, GOLDEN_DIR);
  await Deno.writeTextFile(url, compactJson(golden) + "\n");
  // deno fmt has the last word on the layout, so `deno fmt --check` of the repository stays clean.
  const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", url.pathname], stderr: "piped" })
    .output();
  if (!fmt.success) throw new Error(`deno fmt ${url.pathname}: ${new TextDecoder().decode(fmt.stderr)}`);
  return url.pathname;
}

/** JSON with one line per value that fits in `width` characters, indented otherwise: small and diffable. */
export function compactJson(value: unknown, indent = "", width = 110): string {
  const flat = JSON.stringify(value);
  if (flat === undefined || flat.length + indent.length <= width || typeof value !== "object" || value === null) {
    return flat ?? "null";
  }
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    return `[\n${value.map((v) => inner + compactJson(v, inner, width)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{\n${
    entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${compactJson(v, inner, width)}`).join(",\n")
  }\n${indent}}`;
}
