/**
 * The matrix generator: results JSON in, the markdown of docs/COMPATIBILITY.md's generated section out. No broker,
 * no client: the runners that fill the results are `run_matrix.ts` and `../franz/franz.ts`, kept out of the
 * default test suite because they take minutes.
 */
import assert from "node:assert/strict";
import type { FranzResult } from "../franz/franz.ts";
import { parseGoTestLog } from "../franz/go_test_log.ts";
import {
  BEGIN_MARKER,
  type Cell,
  cellFromChecks,
  type Client,
  END_MARKER,
  EXPECTED_FAILURES,
  type Feature,
  FEATURES,
  judgeMatrix,
  type MatrixResults,
  renderMatrix,
  replaceGeneratedSection,
} from "./matrix.ts";
import { franzCells } from "./run_matrix.ts";

const RESULTS: MatrixResults = {
  generated: "2026-11-24T06:10:00.000Z",
  samsaCommit: "db0e4e5",
  clientVersions: { java: "Java kafka-clients 4.3.1", kcat: "kcat 1.7.1" },
  cells: [
    { client: "java", feature: "produce", status: "pass", test: "java produce", date: "2026-11-24", checks: "2/2" },
    {
      client: "java",
      feature: "transactions",
      status: "fail",
      test: "java txn",
      date: "2026-11-24",
      checks: "0/1",
      note: "init | TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
    },
    {
      client: "kcat",
      feature: "admin",
      status: "not-run",
      test: "none",
      date: "2026-11-24",
      note: "kcat has no admin commands",
    },
  ],
};

function row(md: string, title: string): string[] {
  const line = md.split("\n").find((l) => l.startsWith(`| ${title} |`));
  assert.ok(line, `no row ${title}`);
  return line.split(" | ").map((c) => c.replace(/^\| |\s*\|$/g, "").trim());
}

Deno.test("renderMatrix puts each cell under its client and in its feature's row", () => {
  const md = renderMatrix(RESULTS);
  const header = md.split("\n").find((l) => l.startsWith("| feature |"))!;
  assert.equal(
    header,
    "| feature | Java kafka-clients 4.3.1 | python | kcat 1.7.1 | kafkajs | franz-go |",
  );
  assert.deepEqual(row(md, "produce"), ["produce", "pass", "not run", "not run", "not run", "not run"]);
  assert.deepEqual(row(md, "transactions"), ["transactions", "**FAIL**", "not run", "not run", "not run", "not run"]);
  assert.deepEqual(row(md, "admin"), ["admin", "not run", "not run", "not run", "not run", "not run"]);
  assert.match(md, /1 pass, 1 fail, 53 not run/);
});

Deno.test("renderMatrix names the deciding test, its date and why it failed, escaping pipes", () => {
  const md = renderMatrix(RESULTS);
  assert.ok(
    md.includes(
      "| java | transactions | **FAIL** | `java txn` | 0/1 | 2026-11-24 | init \\| TRANSACTIONAL_ID_AUTHORIZATION_FAILED |",
    ),
  );
  assert.ok(md.includes("| kcat | admin | not run |  |  | 2026-11-24 | kcat has no admin commands |"));
  assert.equal(md.split("\n").filter((l) => /^\| (java|python|kcat|kafkajs|franz-go) \|/.test(l)).length, 55);
  assert.equal(FEATURES.length, 11);
});

Deno.test("replaceGeneratedSection rewrites only what lies between the markers", () => {
  const doc = `# C\n\n## Samsa results\n\nIntro.\n\n${BEGIN_MARKER}\nold\n${END_MARKER}\n\n## Next\n\nkept\n`;
  const out = replaceGeneratedSection(doc, "new table");
  assert.equal(
    out,
    `# C\n\n## Samsa results\n\nIntro.\n\n${BEGIN_MARKER}\n\nnew table\n\n${END_MARKER}\n\n## Next\n\nkept\n`,
  );
  assert.equal(replaceGeneratedSection(out, "new table"), out);
});

Deno.test("replaceGeneratedSection adds the markers at the end of the section the first time", () => {
  const doc = "# C\n\n## Samsa results\n\nTo be filled.\n\n## Next\n\nkept\n";
  const out = replaceGeneratedSection(doc, "table");
  assert.equal(
    out,
    `# C\n\n## Samsa results\n\nTo be filled.\n\n${BEGIN_MARKER}\n\ntable\n\n${END_MARKER}\n\n## Next\n\nkept\n`,
  );
});

Deno.test("cellFromChecks passes only a clean exit whose every check passed", () => {
  const ok = [{ check: "a", ok: true }, { check: "b", ok: true }];
  assert.equal(cellFromChecks("python", "admin", "t", "d", 0, ok).status, "pass");
  assert.equal(cellFromChecks("python", "admin", "t", "d", 0, []).status, "fail");
  const failed = cellFromChecks("python", "admin", "t", "d", 1, [...ok, { check: "c", ok: false, detail: { x: 1 } }]);
  assert.deepEqual([failed.status, failed.checks, failed.note], ["fail", "2/3", 'c: {"x":1}']);
});

Deno.test("franz-go cells: a failed test fails its feature, a skipped one leaves it not run", () => {
  const log = [
    "=== RUN   TestClient_Produce",
    "--- PASS: TestClient_Produce (2.10s)",
    "=== RUN   TestTxnEtl",
    "    txn_test.go:50: unable to begin transaction: TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
    "--- FAIL: TestTxnEtl (5.58s)",
    "=== RUN   Test848RegexBrokerResolves",
    "    consumer_test.go:225: broker does not support KIP-848",
    "--- SKIP: Test848RegexBrokerResolves (0.00s)",
    "=== RUN   TestGroupSimple",
  ].join("\n");
  const tests = parseGoTestLog(log);
  assert.deepEqual(tests.map((t) => [t.name, t.status]), [
    ["TestClient_Produce", "pass"],
    ["TestTxnEtl", "fail"],
    ["Test848RegexBrokerResolves", "skip"],
    ["TestGroupSimple", "hung"],
  ]);
  const result: FranzResult = {
    date: "2026-11-24T05:37:19Z",
    franzVersion: "v1.22.2",
    samsaCommit: "x",
    rf: 1,
    records: 50000,
    passes: 1,
    durationS: 80,
    counts: {},
    tests,
  };
  const cells = new Map(franzCells(result, "2026-11-25").map((c) => [c.feature, c]));
  assert.equal(cells.get("transactions")!.status, "fail");
  assert.match(cells.get("transactions")!.note!, /TestTxnEtl: txn_test\.go:50: unable to begin transaction/);
  assert.equal(cells.get("groups-kip848")!.status, "not-run");
  assert.equal(cells.get("groups-classic")!.status, "fail");
  assert.equal(cells.get("lz4")!.status, "not-run");
  assert.equal(cells.get("transactions")!.date, "2026-11-24");
});

Deno.test("judgeMatrix: a failure fails the check unless an expected failure with a reason covers it", () => {
  const cell = (client: Client, feature: Feature, status: Cell["status"]): Cell => ({
    client,
    feature,
    status,
    test: "t",
    date: "2026-12-08",
  });
  const expected = [{ client: "java" as const, feature: "transactions" as const, reason: "not served yet" }];
  const verdict = judgeMatrix([
    cell("java", "transactions", "fail"),
    cell("kcat", "consume", "fail"),
    cell("kcat", "admin", "not-run"),
    cell("python", "produce", "pass"),
  ], expected);
  assert.deepEqual(verdict.unexpected.map((c) => `${c.client}/${c.feature}`), ["kcat/consume"]);
  assert.deepEqual(verdict.expected.map((e) => [e.cell.client, e.reason]), [["java", "not served yet"]]);
  assert.deepEqual(verdict.nowPassing, []);
  const fixed = judgeMatrix([cell("java", "transactions", "pass")], expected);
  assert.deepEqual([fixed.unexpected.length, fixed.nowPassing.map((c) => c.client)], [0, ["java"]]);
});

Deno.test("every expected failure of the matrix says why", () => {
  for (const e of EXPECTED_FAILURES) assert.ok(e.reason.length >= 40, `${e.client}/${e.feature}: ${e.reason}`);
});
