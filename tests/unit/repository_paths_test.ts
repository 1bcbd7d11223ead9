/**
 * The repository names shared material (../shared/PLATFORM.md, the Kafka schemas) relative to itself, never
 * by one machine's absolute path, so that a fresh clone anywhere reads the same.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const SKIPPED = new Set([".git", "node_modules", "fixtures", "golden", "dist"]);

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    if (SKIPPED.has(entry.name)) continue;
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(`${path}/`);
    else if (/\.(ts|md)$/.test(entry.name)) yield path;
  }
}

Deno.test("no source or document names the shared folder by an absolute path", () => {
  const offenders: string[] = [];
  for (const path of sourceFiles(ROOT)) {
    const text = Deno.readTextFileSync(path);
    text.split("\n").forEach((line, i) => {
      if (/(^|[\s(`'"])\/work\/shared\//.test(line)) offenders.push(`${path.slice(ROOT.length)}:${i + 1}`);
    });
  }
  assert.deepEqual(offenders, [], "write ../shared/... instead");
});
