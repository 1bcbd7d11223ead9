/**
 * Prints one scenario's verdict and its differences, marking each line: `x` a difference that fails, `k` a
 * known and justified one (known_differences.ts), `i` an informational one.
 *
 * @example
 * ```ts
 * import { report } from "./report.ts";
 * report("metadata", []); // prints "metadata: same", returns 0
 * ```
 *
 * @module
 */
import { type Difference, formatDifference } from "./compare.ts";
import { explainDifference } from "./known_differences.ts";

/** Prints the verdict of `scenario` through `log`; returns how many differences are neither known nor informational. */
export function report(scenario: string, diffs: Difference[], log: (line: string) => void = console.log): number {
  const judged = diffs.filter((d) => !d.informational);
  const unexplained = judged.filter((d) => !explainDifference(scenario, d.path));
  if (judged.length === 0) {
    log(`${scenario}: same${diffs.length ? ` (${diffs.length} informational)` : ""}`);
  } else {
    log(`${scenario}: ${judged.length} difference(s), ${unexplained.length} not known`);
  }
  for (const d of diffs) {
    const known = d.informational ? undefined : explainDifference(scenario, d.path);
    const mark = d.informational ? "i" : known ? "k" : "x";
    log(`  ${mark} ${formatDifference(d)}${known ? ` [known: ${known.reason}]` : ""}`);
  }
  return unexplained.length;
}
