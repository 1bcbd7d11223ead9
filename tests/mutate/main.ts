/**
 * `deno task mutate`: applies each mutation of `mutations.ts`, one at a time, to a scratch copy of the
 * repository, runs the test files that must catch it, and prints a table: mutation, where, tests run, caught (by
 * which test) or survived. Exits 1 unless every mutation was caught.
 *
 * ```
 * deno task mutate                       # every mutation, each against its own test files
 * deno task mutate --only dedup-off,fsync-noop
 * deno task mutate --full fetch-past-hw  # that mutation against the whole default suite (tests/, --parallel)
 * deno task mutate --list                # the mutations, without running anything
 * ```
 * Options: `--no-baseline` skips the run of the same test files without any mutation (which makes sure a test
 * that fails anyway is not counted as a catch); `--timeout S` limits each run (default 600 s); `--verbose` shows
 * the test output; `--markdown PATH` also writes the table to a file.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { MutationDrift } from "./mutation.ts";
import { MUTATIONS } from "./mutations.ts";
import { ScratchCopy } from "./scratch_copy.ts";
import { runTests } from "./test_runner.ts";
import { isCaught, judge, renderTable, type ReportRow, testLabel, type TestRun } from "./verdict.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    only: { type: "string" },
    full: { type: "string" },
    list: { type: "boolean", default: false },
    "no-baseline": { type: "boolean", default: false },
    timeout: { type: "string", default: "600" },
    verbose: { type: "boolean", default: false },
    markdown: { type: "string" },
  },
});

const repoRoot = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const timeoutMs = Number(values.timeout) * 1000;
const full = values.full ? new Set(values.full.split(",")) : new Set<string>();
const only = values.only ? new Set(values.only.split(",")) : full.size > 0 ? full : undefined;
for (const id of [...(only ?? []), ...full]) {
  if (!MUTATIONS.some((m) => m.id === id)) {
    console.error(`unknown mutation ${id}; known: ${MUTATIONS.map((m) => m.id).join(", ")}`);
    Deno.exit(2);
  }
}
const chosen = MUTATIONS.filter((m) => only === undefined || only.has(m.id));

if (values.list) {
  for (const m of MUTATIONS) {
    console.log(`${m.id.padEnd(30)} ${m.file.padEnd(36)} ${m.title}\n${" ".repeat(31)}${m.tests.join(", ")}`);
  }
  Deno.exit(0);
}

const log = (s: string) => console.error(`[mutate] ${s}`);
const onOutput = values.verbose ? (line: string) => console.error(`  ${line}`) : undefined;
const began = performance.now();
const commit = new TextDecoder().decode(
  (await new Deno.Command("git", { args: ["rev-parse", "--short", "HEAD"], cwd: repoRoot, stdout: "piped" }).output())
    .stdout,
).trim();
const dirty = (await new Deno.Command("git", { args: ["status", "--porcelain"], cwd: repoRoot, stdout: "piped" })
  .output()).stdout.length > 0;

const scratch = await ScratchCopy.create(repoRoot);
log(`scratch copy of ${repoRoot} (${commit}${dirty ? " + uncommitted changes" : ""}) in ${scratch.dir}`);
const testsOf = (id: string, tests: string[]) => full.has(id) ? ["tests/"] : tests.filter((t) => scratch.exists(t));

try {
  // Tests that fail without any mutation catch nothing: find them first.
  const baselineFailures = new Set<string>();
  if (!values["no-baseline"]) {
    const files = [...new Set(chosen.flatMap((m) => testsOf(m.id, m.tests)))];
    log(`baseline: ${files.length} test file(s) without a mutation`);
    const base = await runTests({ dir: scratch.dir, files, timeoutMs, parallel: full.size > 0, onOutput });
    for (const t of base.failed) baselineFailures.add(testLabel(t));
    if (base.timedOut || base.typeErrors.length > 0 || (base.exitCode !== 0 && base.failed.length === 0)) {
      throw new Error(`the baseline run itself failed (exit ${base.exitCode}${base.timedOut ? ", timed out" : ""})`);
    }
    log(
      `baseline done in ${(base.durationMs / 1000).toFixed(0)} s, ${base.cases} tests, ${base.failed.length} failing`,
    );
    for (const t of base.failed) log(`  fails without any mutation (not counted as a catch): ${testLabel(t)}`);
  }

  const rows: ReportRow[] = [];
  for (const m of chosen) {
    const files = testsOf(m.id, m.tests);
    const missing = m.tests.filter((t) => !scratch.exists(t));
    const row: ReportRow = { id: m.id, file: m.file, tests: files, verdict: { kind: "survived" }, durationMs: 0 };
    rows.push(row);
    let restore: (() => Promise<void>) | undefined;
    try {
      restore = await scratch.apply(m);
    } catch (e) {
      if (!(e instanceof MutationDrift)) throw e;
      row.verdict = { kind: "drifted", message: e.message };
      log(`${m.id}: ${e.message}`);
      continue;
    }
    try {
      log(`${m.id}: ${m.title}; running ${files.join(" ") || "nothing"}`);
      const run: TestRun = files.length === 0
        ? {
          files,
          missing,
          exitCode: null,
          cases: 0,
          failed: [],
          timedOut: false,
          typeErrors: [],
          durationMs: 0,
        }
        : await runTests({ dir: scratch.dir, files, missing, timeoutMs, parallel: full.has(m.id), onOutput });
      row.verdict = judge(run, baselineFailures);
      row.durationMs = run.durationMs;
      log(`${m.id}: ${isCaught(row.verdict) ? "caught" : row.verdict.kind} in ${(run.durationMs / 1000).toFixed(0)} s`);
    } finally {
      await restore();
    }
  }

  const totalS = (performance.now() - began) / 1000;
  const table = renderTable(rows);
  const caught = rows.filter((r) => isCaught(r.verdict)).length;
  const summary =
    `${caught} of ${rows.length} mutations caught; commit ${commit}${dirty ? " (with uncommitted changes)" : ""}; ${
      new Date().toISOString().slice(0, 16).replace("T", " ")
    } UTC; ${totalS.toFixed(0)} s in all` +
    (values["no-baseline"] ? " (no baseline run)" : " (baseline run included)");
  console.log(table);
  console.log(`\n${summary}`);
  if (values.markdown) await Deno.writeTextFile(values.markdown, `${table}\n\n${summary}\n`);
  if (caught !== rows.length) Deno.exitCode = 1;
} finally {
  await scratch.remove();
}
