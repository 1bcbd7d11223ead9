/**
 * The mutation check's own rules, and the list's honesty: every mutation still applies to the code as it is
 * now (a snippet that moved fails here, in the default suite, not only when `deno task mutate` runs).
 */
import assert from "node:assert/strict";
import { applyEdits, MutationDrift } from "./mutation.ts";
import { MUTATIONS } from "./mutations.ts";
import { readJunit } from "./junit.ts";
import { judge, renderTable, type TestRun } from "./verdict.ts";

const repoRoot = new URL("../../", import.meta.url).pathname;

Deno.test("an edit replaces its snippet, and a snippet found zero or two times is drift, not a silent no-op", () => {
  assert.equal(applyEdits("a();\nb();\n", [{ find: "b();", replace: "c();" }], "x.ts"), "a();\nc();\n");
  assert.throws(() => applyEdits("a();\n", [{ find: "b();", replace: "" }], "x.ts"), MutationDrift);
  assert.throws(() => applyEdits("b();\nb();\n", [{ find: "b();", replace: "" }], "x.ts"), /occurs 2 times/);
});

Deno.test("every mutation applies to the current code, changes it, and names test files that exist", async () => {
  const ids = new Set<string>();
  for (const m of MUTATIONS) {
    assert.ok(!ids.has(m.id), `duplicate id ${m.id}`);
    ids.add(m.id);
    assert.ok(m.tests.length > 0, `${m.id} names no test file`);
    for (const t of m.tests) {
      assert.ok((await Deno.stat(`${repoRoot}${t}`).catch(() => null))?.isFile, `${m.id}: ${t} does not exist`);
    }
    const source = await Deno.readTextFile(`${repoRoot}${m.file}`);
    const mutated = applyEdits(source, m.edits, m.file);
    assert.notEqual(mutated, source, `${m.id} changes nothing`);
  }
});

Deno.test("the failed tests are read from deno's JUnit report, steps included, entities decoded", () => {
  const xml = `<testsuites><testsuite name="./a_test.ts">
    <testcase name="passes" classname="./a_test.ts" time="0.0" line="1" col="6">
    </testcase>
    <testcase name="fails &lt;here&gt; &amp; &quot;there&quot;" classname="./a_test.ts" time="0.0" line="2" col="6">
      <failure message="boom">Error: boom</failure>
    </testcase>
    <testcase name="outer &gt; inner" classname="./a_test.ts" time="0.0" line="3" col="6">
      <failure message="s">Error: s</failure>
    </testcase>
  </testsuite></testsuites>`;
  assert.deepEqual(readJunit(xml), {
    cases: 3,
    failed: [
      { file: "./a_test.ts", name: 'fails <here> & "there"' },
      { file: "./a_test.ts", name: "outer > inner" },
    ],
  });
});

const run = (over: Partial<TestRun>): TestRun => ({
  files: ["tests/a_test.ts"],
  missing: [],
  exitCode: 0,
  cases: 4,
  failed: [],
  timedOut: false,
  typeErrors: [],
  durationMs: 1000,
  ...over,
});

Deno.test("a mutation is caught only by a test it alone makes fail", () => {
  assert.deepEqual(judge(run({}), new Set()), { kind: "survived" });
  const failed = [{ file: "./tests/a_test.ts", name: "keeps data" }];
  assert.deepEqual(judge(run({ exitCode: 1, failed }), new Set()), { kind: "caught", by: failed });
  // The same test failing without the mutation proves nothing.
  assert.deepEqual(judge(run({ exitCode: 1, failed }), new Set(["tests/a_test.ts › keeps data"])), {
    kind: "survived",
  });
  // The mutation's first-listed test file comes first, whatever order the report has.
  const two = [{ file: "./tests/b_test.ts", name: "b" }, { file: "./tests/a_test.ts", name: "a" }];
  assert.deepEqual(judge(run({ files: ["tests/a_test.ts", "tests/b_test.ts"], exitCode: 1, failed: two }), new Set()), {
    kind: "caught",
    by: [two[1], two[0]],
  });
  // A step is named rather than the test around it.
  const withStep = [{ file: "./a_test.ts", name: "outer" }, { file: "./a_test.ts", name: "outer > inner" }];
  assert.deepEqual(judge(run({ exitCode: 1, failed: withStep }), new Set()), { kind: "caught", by: [withStep[1]] });
});

Deno.test("code that does not type-check, missing tests and a run that fails without a failing test are no catch", () => {
  assert.equal(judge(run({ exitCode: 1, typeErrors: ["TS2322 [ERROR]: x"] }), new Set()).kind, "does_not_compile");
  assert.equal(judge(run({ files: [], missing: ["tests/b_test.ts"] }), new Set()).kind, "no_tests");
  assert.equal(judge(run({ exitCode: 1 }), new Set()).kind, "run_failed");
  assert.equal(judge(run({ exitCode: null, timedOut: true }), new Set()).kind, "caught_timeout");
});

Deno.test("the table names the mutation, its file, the tests run and the catching test", () => {
  const table = renderTable([
    {
      id: "dedup-off",
      file: "broker/replication/partition_replica.ts",
      tests: ["tests/a_test.ts"],
      verdict: { kind: "caught", by: [{ file: "./tests/a_test.ts", name: "a | b" }] },
      durationMs: 2400,
    },
    {
      id: "two",
      file: "y.ts",
      tests: ["tests/a_test.ts", "tests/b_test.ts"],
      verdict: {
        kind: "caught",
        by: [{ file: "./tests/a_test.ts", name: "x" }, { file: "./tests/b_test.ts", name: "y" }],
      },
      durationMs: 500,
    },
    { id: "other", file: "x.ts", tests: ["tests/b_test.ts"], verdict: { kind: "survived" }, durationMs: 0 },
  ]);
  assert.equal(
    table,
    [
      "| mutation | where | tests run | result | s |",
      "| --- | --- | --- | --- | --- |",
      "| `dedup-off` | `broker/replication/partition_replica.ts` | `tests/a_test.ts` | caught: tests/a_test.ts › a \\| b | 2 |",
      "| `two` | `y.ts` | `tests/a_test.ts`, `tests/b_test.ts` | caught: tests/a_test.ts › x (+1 more, in tests/a_test.ts, tests/b_test.ts) | 1 |",
      "| `other` | `x.ts` | `tests/b_test.ts` | **survived** | 0 |",
    ].join("\n"),
  );
});
