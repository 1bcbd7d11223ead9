/**
 * Reads the failed tests out of the JUnit XML `deno test --junit-path` writes: pure string work.
 *
 * @module
 */

/** A test that failed: its file (as deno names it, `./tests/...`) and its name (`outer > step` for steps). */
export interface FailedTest {
  file: string;
  name: string;
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e];
  });
}

function attribute(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescapeXml(m[1]) : undefined;
}

/**
 * The test cases with a `<failure>` or `<error>`, in report order, and the number of test cases reported.
 *
 * @example
 * ```ts
 * import { readJunit } from "./junit.ts";
 * const xml = '<testcase name="a" classname="./x_test.ts"><failure message="boom">boom</failure></testcase>';
 * readJunit(xml); // { cases: 1, failed: [{ file: "./x_test.ts", name: "a" }] }
 * ```
 */
export function readJunit(xml: string): { cases: number; failed: FailedTest[] } {
  const failed: FailedTest[] = [];
  let cases = 0;
  const testcase = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(testcase)) {
    cases++;
    const body = m[3] ?? "";
    if (!/<(failure|error)\b/.test(body)) continue;
    failed.push({ file: attribute(m[1], "classname") ?? "", name: attribute(m[1], "name") ?? "" });
  }
  return { cases, failed };
}
