/**
 * Reads the output of `go test -v` into per-test results: the top-level tests that passed, failed or were
 * skipped, the ones still running when the output ends (a hang or a `-timeout` panic), and what each failed test
 * printed. A parallel test still paused at the end is left out: it never ran. Pure: text in, results out.
 *
 * @module
 */

/** The outcome of one top-level Go test. */
export type GoTestStatus = "pass" | "fail" | "skip" | "hung";

/** One top-level Go test. */
export interface GoTestResult {
  name: string;
  status: GoTestStatus;
  /** As reported on the `--- PASS:` line; for a hung test, unknown (null). */
  seconds: number | null;
  /**
   * For a failed, hung or skipped test: the lines it printed (its subtests' included), each distinct line once (ids
   * and numbers aside), the telling ones first, at most `maxOutputLines`.
   */
  output?: string[];
}

const RESULT = /^\s*--- (PASS|FAIL|SKIP): (\S+) \(([\d.]+)s\)/;
const MARKER = /^=== (RUN|CONT|PAUSE|NAME)\s+(\S+)/;

function topLevel(name: string): string {
  const slash = name.indexOf("/");
  return slash < 0 ? name : name.slice(0, slash);
}

/**
 * Parses `go test -v` output. Output lines are attributed to the test named by the last `=== RUN/CONT/NAME`
 * marker, which is how `go test -v` interleaves parallel tests.
 *
 * @example
 * ```ts
 * import { parseGoTestLog } from "./go_test_log.ts";
 * const results = parseGoTestLog("=== RUN   TestA\n--- PASS: TestA (0.01s)\n");
 * // [{ name: "TestA", status: "pass", seconds: 0.01 }]
 * ```
 */
export function parseGoTestLog(text: string, maxOutputLines = 20): GoTestResult[] {
  const order: string[] = [];
  const results = new Map<string, GoTestResult>();
  const printed = new Map<string, Map<string, string>>();
  const paused = new Set<string>();
  let current: string | null = null;
  const started = (name: string) => {
    if (!results.has(name) && !order.includes(name)) order.push(name);
  };
  for (const line of text.split("\n")) {
    const marker = MARKER.exec(line);
    if (marker) {
      current = marker[2];
      if (marker[1] === "RUN" && !current.includes("/")) started(current);
      if (marker[1] === "PAUSE") paused.add(current);
      if (marker[1] === "CONT") paused.delete(current);
      continue;
    }
    const result = RESULT.exec(line);
    if (result) {
      const [, status, name, seconds] = result;
      if (!name.includes("/")) {
        started(name);
        results.set(name, {
          name,
          status: status.toLowerCase() as GoTestStatus,
          seconds: Number(seconds),
        });
      }
      current = name;
      continue;
    }
    if (current !== null && line.trim() !== "" && !/^(PASS|FAIL|ok|FAIL\s)/.test(line)) {
      const top = topLevel(current);
      const lines = printed.get(top) ?? new Map<string, string>();
      // The same message repeats per group, topic or record: keep one of each, ids aside.
      const key = line.trim().replace(/[0-9a-f]{16,}/g, "<id>").replace(/\d+/g, "N");
      if (!lines.has(key) && lines.size < 10_000) lines.set(key, line.trimEnd());
      printed.set(top, lines);
    }
  }
  // A parallel test still paused when the output ends never ran: it has no result yet, rather than a hang.
  return order.filter((name) => results.has(name) || !paused.has(name)).map((name) => {
    const result = results.get(name) ?? { name, status: "hung" as const, seconds: null };
    if (result.status !== "pass") {
      return { ...result, output: telling([...(printed.get(name)?.values() ?? [])], maxOutputLines) };
    }
    return result;
  });
}

/** Lines that only say a subtest was skipped or finished, or what cleanup did: shown after the others. */
const NOISE = /completed in|does not support|deleting (topic|group)|NOT DELETING|^\s*=== /i;

/** The first `max` lines, those that say what went wrong first. */
function telling(lines: string[], max: number): string[] {
  return [...lines.filter((l) => !NOISE.test(l)), ...lines.filter((l) => NOISE.test(l))].slice(0, max);
}

/** Counts of each status. */
export function countByStatus(results: readonly GoTestResult[]): Record<GoTestStatus, number> {
  const counts: Record<GoTestStatus, number> = { pass: 0, fail: 0, skip: 0, hung: 0 };
  for (const r of results) counts[r.status]++;
  return counts;
}
