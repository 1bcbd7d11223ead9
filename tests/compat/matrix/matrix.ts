/**
 * The client × feature compatibility matrix: its results (one cell per client and feature, each decided by a
 * test that ran) and the markdown that `docs/COMPATIBILITY.md` shows between two marker comments. Pure: the
 * runner (`run_matrix.ts`) gathers the results, this module only renders them.
 *
 * @module
 */

/** The features of the matrix, in the order of its rows. */
export const FEATURES = [
  "produce",
  "consume",
  "gzip",
  "snappy",
  "lz4",
  "zstd",
  "idempotence",
  "groups-classic",
  "groups-kip848",
  "admin",
  "transactions",
] as const;

/** One feature of the matrix. */
export type Feature = typeof FEATURES[number];

/** How a row reads in the table. */
export const FEATURE_TITLES: Record<Feature, string> = {
  "produce": "produce",
  "consume": "consume",
  "gzip": "compression: gzip",
  "snappy": "compression: snappy",
  "lz4": "compression: lz4",
  "zstd": "compression: zstd",
  "idempotence": "idempotent producer",
  "groups-classic": "consumer groups (classic)",
  "groups-kip848": "consumer groups (KIP-848)",
  "admin": "admin",
  "transactions": "transactions",
};

/** The clients of the matrix, in the order of its columns. */
export const CLIENTS = ["java", "python", "kcat", "kafkajs", "franz-go"] as const;

/** One client of the matrix. */
export type Client = typeof CLIENTS[number];

/** What decided a cell. `not-run` cells say why in `note`. */
export type CellStatus = "pass" | "fail" | "not-run";

/** One cell: a client's result for a feature. */
export interface Cell {
  client: Client;
  feature: Feature;
  status: CellStatus;
  /** The test that decided the cell, e.g. `java run.sh consume` or `franz-go TestTxnEtl`. */
  test: string;
  /** The day the test ran, `YYYY-MM-DD`; for a not-run cell, the day the matrix was generated. */
  date: string;
  /** Checks passed out of checks run, e.g. `3/3`, when the test reports checks. */
  checks?: string;
  /** Why a cell failed (the first failed check) or was not run. */
  note?: string;
  /** The Samsa commit the test ran against, when it differs from the run's (`MatrixResults.samsaCommit`). */
  samsaCommit?: string;
}

/** The whole matrix, as `results.json` stores it. */
export interface MatrixResults {
  /** ISO time of the run that last wrote the file. */
  generated: string;
  /** The Samsa commit most cells ran against (`+dirty` when the work tree had changes); see `Cell.samsaCommit`. */
  samsaCommit: string;
  /** Client → the version that ran, e.g. `kafka-clients 4.3.1`. */
  clientVersions: Partial<Record<Client, string>>;
  cells: Cell[];
}

/** The comments that enclose the generated part of `docs/COMPATIBILITY.md`. */
export const BEGIN_MARKER = "<!-- BEGIN GENERATED: Samsa results (deno task compat:matrix); do not edit by hand -->";
/** See `BEGIN_MARKER`. */
export const END_MARKER = "<!-- END GENERATED: Samsa results -->";

const SYMBOL: Record<CellStatus, string> = { "pass": "pass", "fail": "**FAIL**", "not-run": "not run" };

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(escapeCell).join(" | ")} |`),
  ].join("\n");
}

/**
 * Renders the matrix as markdown: a summary line, the client × feature table, and one row per cell saying which
 * test decided it, when, and (for failures and cells not run) why.
 *
 * @example
 * ```ts
 * import { renderMatrix } from "./matrix.ts";
 * const md = renderMatrix({
 *   generated: "2026-11-24T06:00:00Z",
 *   samsaCommit: "abc",
 *   clientVersions: { java: "kafka-clients 4.3.1" },
 *   cells: [{ client: "java", feature: "produce", status: "pass", test: "java produce-codec none", date: "2026-11-24" }],
 * });
 * ```
 */
export function renderMatrix(results: MatrixResults): string {
  const byKey = new Map(results.cells.map((c) => [`${c.client}/${c.feature}`, c]));
  const counts: Record<CellStatus, number> = { "pass": 0, "fail": 0, "not-run": 0 };
  const header = ["feature", ...CLIENTS.map((c) => results.clientVersions[c] ?? c)];
  const rows = FEATURES.map((f) => [
    FEATURE_TITLES[f],
    ...CLIENTS.map((c) => {
      const cell = byKey.get(`${c}/${f}`);
      counts[cell?.status ?? "not-run"]++;
      return cell ? SYMBOL[cell.status] : SYMBOL["not-run"];
    }),
  ]);
  const detailRows: string[][] = [];
  for (const c of CLIENTS) {
    for (const f of FEATURES) {
      const cell = byKey.get(`${c}/${f}`);
      if (!cell) {
        detailRows.push([c, FEATURE_TITLES[f], "not run", "", "", "", "no result recorded"]);
        continue;
      }
      detailRows.push([
        c,
        FEATURE_TITLES[f],
        SYMBOL[cell.status],
        cell.test === "none" ? "" : `\`${cell.test}\``,
        cell.checks ?? "",
        cell.samsaCommit && cell.samsaCommit !== results.samsaCommit
          ? `${cell.date} (Samsa ${cell.samsaCommit})`
          : cell.date,
        cell.note ?? "",
      ]);
    }
  }
  const others = [...new Set(results.cells.map((c) => c.samsaCommit).filter((c) => c && c !== results.samsaCommit))];
  const against = `Samsa \`${results.samsaCommit}\`` +
    (others.length ? ` (some cells: ${others.map((c) => `\`${c}\``).join(", ")}, as the detail rows say)` : "");
  return [
    `Generated ${results.generated.slice(0, 16).replace("T", " ")} UTC from \`tests/compat/matrix/results.json\` ` +
    `against ${against}: ${counts.pass} pass, ${counts.fail} fail, ${counts["not-run"]} not run.`,
    "",
    table(header, rows),
    "",
    "Which test decided each cell (a cell passes when every check of its test passed):",
    "",
    table(["client", "feature", "result", "test", "checks", "date", "note"], detailRows),
  ].join("\n");
}

/**
 * Replaces what lies between `BEGIN_MARKER` and `END_MARKER` in `doc` with `generated`; when the markers are
 * missing, puts them and `generated` at the end of the `## Samsa results` section (or of the document).
 *
 * @example
 * ```ts
 * import { BEGIN_MARKER, END_MARKER, replaceGeneratedSection } from "./matrix.ts";
 * const doc = `# C\n\n## Samsa results\n\n${BEGIN_MARKER}\nold\n${END_MARKER}\n`;
 * replaceGeneratedSection(doc, "new"); // "# C\n\n## Samsa results\n\n<!-- BEGIN … -->\nnew\n<!-- END … -->\n"
 * ```
 */
export function replaceGeneratedSection(doc: string, generated: string): string {
  const block = `${BEGIN_MARKER}\n\n${generated.trim()}\n\n${END_MARKER}`;
  const begin = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (begin >= 0 && end > begin) return doc.slice(0, begin) + block + doc.slice(end + END_MARKER.length);
  const heading = doc.search(/^## Samsa results\s*$/m);
  if (heading < 0) return `${doc.trimEnd()}\n\n## Samsa results\n\n${block}\n`;
  const next = doc.slice(heading + 1).search(/^## /m);
  const sectionEnd = next < 0 ? doc.length : heading + 1 + next;
  return `${doc.slice(0, sectionEnd).trimEnd()}\n\n${block}\n${next < 0 ? "" : "\n" + doc.slice(sectionEnd)}`;
}

/**
 * Folds the checks of one test into a cell: pass only when the test exited 0 and reported at least one check,
 * all of them passed.
 *
 * @example
 * ```ts
 * import { cellFromChecks } from "./matrix.ts";
 * cellFromChecks("java", "consume", "java run.sh consume", "2026-11-24", 0, [{ check: "read-all", ok: true }]);
 * ```
 */
export function cellFromChecks(
  client: Client,
  feature: Feature,
  test: string,
  date: string,
  exitCode: number,
  checks: readonly { check: string; ok: boolean; detail?: unknown }[],
  stderrTail = "",
): Cell {
  const passed = checks.filter((c) => c.ok).length;
  const ok = exitCode === 0 && checks.length > 0 && passed === checks.length;
  const cell: Cell = {
    client,
    feature,
    status: ok ? "pass" : "fail",
    test,
    date,
    checks: `${passed}/${checks.length}`,
  };
  if (!ok) {
    const failed = checks.find((c) => !c.ok);
    const why = failed
      ? `${failed.check}: ${typeof failed.detail === "string" ? failed.detail : JSON.stringify(failed.detail)}`
      : `exit ${exitCode}, no checks reported${stderrTail ? `: ${stderrTail}` : ""}`;
    cell.note = why.length > 220 ? `${why.slice(0, 217)}...` : why;
  }
  return cell;
}

/** A cell known to fail, and why; `judgeMatrix` lets it fail without failing the check. */
export interface ExpectedFailure {
  client: Client;
  feature: Feature;
  reason: string;
}

const NO_TRANSACTIONS = "Samsa does not serve transactions yet: AddPartitionsToTxn, EndTxn and the other " +
  "transaction APIs are not implemented (tests/diff/known_differences.ts)";

/**
 * The cells that fail today for a reason the project knows and tracks. Nothing else may fail; when one of
 * these passes, the check says so, and the entry should go.
 */
export const EXPECTED_FAILURES: readonly ExpectedFailure[] = [
  { client: "java", feature: "transactions", reason: NO_TRANSACTIONS },
  { client: "python", feature: "transactions", reason: NO_TRANSACTIONS },
  { client: "kafkajs", feature: "transactions", reason: NO_TRANSACTIONS },
];

/** What a run of the matrix means for CI. */
export interface MatrixVerdict {
  /** Failed cells no expected failure covers: each one fails the check. */
  unexpected: Cell[];
  /** Failed cells an expected failure covers, with its reason. */
  expected: { cell: Cell; reason: string }[];
  /** Expected failures whose cell passed: the entry is stale. */
  nowPassing: Cell[];
}

/**
 * Sorts a run's failures into expected and unexpected ones.
 *
 * @example
 * ```ts
 * import { judgeMatrix } from "./matrix.ts";
 * const cell = { client: "kcat", feature: "consume", status: "fail", test: "t", date: "2026-12-08" } as const;
 * judgeMatrix([cell]).unexpected.length; // 1
 * ```
 */
export function judgeMatrix(
  cells: readonly Cell[],
  expectedFailures: readonly ExpectedFailure[] = EXPECTED_FAILURES,
): MatrixVerdict {
  const reasonOf = (c: Cell) => expectedFailures.find((e) => e.client === c.client && e.feature === c.feature)?.reason;
  const verdict: MatrixVerdict = { unexpected: [], expected: [], nowPassing: [] };
  for (const cell of cells) {
    const reason = reasonOf(cell);
    if (cell.status === "fail") {
      if (reason === undefined) verdict.unexpected.push(cell);
      else verdict.expected.push({ cell, reason });
    } else if (cell.status === "pass" && reason !== undefined) {
      verdict.nowPassing.push(cell);
    }
  }
  return verdict;
}
