/**
 * What a mutation's test run means (caught, survived, or not a fair run) and the table that reports it: pure,
 * so the rules are tested without running anything.
 *
 * @module
 */
import type { FailedTest } from "./junit.ts";

/** What running some test files produced. */
export interface TestRun {
  /** The test files run (relative to the repository root), or `["tests/"]` for the whole default suite. */
  files: string[];
  /** The test files of the mutation that do not exist in the tree (not run). */
  missing: string[];
  /** `deno test`'s exit code (null when it was killed on timeout). */
  exitCode: number | null;
  /** Test cases the JUnit report listed. */
  cases: number;
  /** Failed test cases. */
  failed: FailedTest[];
  /** The run passed its time limit and was killed. */
  timedOut: boolean;
  /** Type errors reported by the type check (`TS1234 ...` lines). */
  typeErrors: string[];
  /** Wall time of the run. */
  durationMs: number;
}

/** The outcome of one mutation. */
export type Verdict =
  | { kind: "caught"; by: FailedTest[] }
  | { kind: "caught_timeout" }
  | { kind: "survived" }
  | { kind: "drifted"; message: string }
  | { kind: "does_not_compile"; errors: string[] }
  | { kind: "no_tests"; missing: string[] }
  | { kind: "run_failed"; exitCode: number | null };

/** Names a test as `file › name` (the file without its leading `./`). */
export function testLabel(t: FailedTest): string {
  return `${t.file.replace(/^\.\//, "")} › ${t.name}`;
}

/**
 * Judges a mutated run. Failures of tests that also fail without the mutation (`baselineFailures`, as
 * {@linkcode testLabel}s) catch nothing: only a test the mutation alone makes fail counts.
 *
 * @example
 * ```ts
 * import { judge } from "./verdict.ts";
 * const run = { files: ["a_test.ts"], missing: [], exitCode: 0, cases: 3, failed: [], timedOut: false,
 *   typeErrors: [], durationMs: 10 };
 * judge(run, new Set()).kind; // "survived"
 * ```
 */
export function judge(run: TestRun, baselineFailures: ReadonlySet<string>): Verdict {
  if (run.files.length === 0) return { kind: "no_tests", missing: run.missing };
  if (run.typeErrors.length > 0) return { kind: "does_not_compile", errors: run.typeErrors };
  const newFailures = run.failed.filter((t) => !baselineFailures.has(testLabel(t)));
  // A failing step also fails its test: name the step, not the test around it.
  const leaves = newFailures.filter((t) => !newFailures.some((o) => o !== t && o.name.startsWith(`${t.name} > `)));
  // The mutation's first-listed test file, the one meant to catch it, is named first.
  const rank = (t: FailedTest) => run.files.indexOf(t.file.replace(/^\.\//, ""));
  leaves.sort((a, b) => rank(a) - rank(b));
  if (leaves.length > 0) return { kind: "caught", by: leaves };
  if (run.timedOut) return { kind: "caught_timeout" };
  if (run.exitCode === 0 || run.failed.length > 0) return { kind: "survived" };
  // Non-zero exit with no test failing: the files did not load, or a test leaked; not a catch to trust.
  return { kind: "run_failed", exitCode: run.exitCode };
}

/** True for verdicts that count as caught. */
export function isCaught(v: Verdict): boolean {
  return v.kind === "caught" || v.kind === "caught_timeout";
}

/** One row of the report. */
export interface ReportRow {
  id: string;
  file: string;
  tests: string[];
  verdict: Verdict;
  durationMs: number;
}

function describe(v: Verdict): string {
  switch (v.kind) {
    case "caught": {
      const files = [...new Set(v.by.map((t) => t.file.replace(/^\.\//, "")))];
      const more = v.by.length === 1
        ? ""
        : files.length === 1
        ? ` (+${v.by.length - 1} more)`
        : ` (+${v.by.length - 1} more, in ${files.join(", ")})`;
      return `caught: ${testLabel(v.by[0])}${more}`;
    }
    case "caught_timeout":
      return "caught: the tests hung and were killed at the time limit";
    case "survived":
      return "**survived**";
    case "drifted":
      return `**not run**: ${v.message}`;
    case "does_not_compile":
      return `**not run**: the mutated code does not type-check (${v.errors[0]})`;
    case "no_tests":
      return `**not run**: no test file exists (${v.missing.join(", ")})`;
    case "run_failed":
      return `**run failed** (exit ${v.exitCode}) without a failing test`;
  }
}

function escapeCell(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/**
 * The report as a Markdown table: mutation, where, tests run, result and seconds.
 *
 * @example
 * ```ts
 * import { renderTable } from "./verdict.ts";
 * renderTable([{ id: "m", file: "a.ts", tests: ["a_test.ts"], verdict: { kind: "survived" }, durationMs: 1500 }]);
 * ```
 */
export function renderTable(rows: readonly ReportRow[]): string {
  const lines = [
    "| mutation | where | tests run | result | s |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const cells = [
      `\`${r.id}\``,
      `\`${r.file}\``,
      r.tests.map((t) => `\`${t}\``).join(", "),
      describe(r.verdict),
      (r.durationMs / 1000).toFixed(0),
    ];
    lines.push(`| ${cells.map(escapeCell).join(" | ")} |`);
  }
  return lines.join("\n");
}
