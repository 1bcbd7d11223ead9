/**
 * Runs every scenario in `testdata/`. Each file's first line, a comment, states the behaviour it specifies
 * and names the test.
 */
import { runScenario } from "./scenario.ts";

const dir = new URL("./testdata/", import.meta.url);
const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".txt")).map((e) => e.name).sort();

for (const name of files) {
  const text = Deno.readTextFileSync(new URL(name, dir));
  const title = text.split("\n")[0].replace(/^#\s*/, "");
  Deno.test(`${name}: ${title}`, () => {
    const r = runScenario(`tests/unit/raft/testdata/${name}`, text);
    if (r.expectations === 0) throw new Error(`${name} states no expectation`);
  });
}
