/**
 * The wire-codec generator: reads Kafka's JSON schemas from the kafka-protocol folder given as the only
 * argument and writes `protocol/generated/` (messages, headers, API table, error table, record schemas),
 * deleting stale files. Deterministic: the same input always gives byte-identical output, already formatted.
 *
 * Run: `deno task gen ../shared/kafka-protocol`
 *
 * @module
 */
import { parseSpec, snake, type Spec } from "./schema_model.ts";
import { emitSpec, GENERATED_HEADER } from "./emit_message.ts";
import { emitApiKeys, emitErrors, emitHeaders, emitRecordTable } from "./emit_tables.ts";

const OUT = new URL("../generated/", import.meta.url).pathname;

/** Record folders: source folder under kafka-protocol → output folder under generated/records. */
const RECORD_DIRS: [string, string][] = [
  ["metadata-records", "metadata"],
  ["group-coordinator-records", "group_coordinator"],
  ["transaction-coordinator-records", "transaction_coordinator"],
];

function readSpecs(dir: string): Spec[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(dir)) if (e.isFile && e.name.endsWith(".json")) names.push(e.name);
  names.sort();
  return names.map((n) => {
    try {
      return parseSpec(Deno.readTextFileSync(`${dir}/${n}`));
    } catch (e) {
      throw new Error(`${dir}/${n}: ${(e as Error).message}`);
    }
  });
}

function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.isDirectory) out.push(...listFiles(`${dir}/${e.name}`, `${prefix}${e.name}/`));
    else out.push(prefix + e.name);
  }
  return out;
}

function removeEmptyDirs(dir: string, keep: boolean): boolean {
  let empty = true;
  for (const e of [...Deno.readDirSync(dir)]) {
    if (e.isDirectory && removeEmptyDirs(`${dir}/${e.name}`, false)) continue;
    empty = false;
  }
  if (empty && !keep) Deno.removeSync(dir);
  return empty;
}

function modFile(doc: string, paths: string[]): string {
  const lines = [GENERATED_HEADER, `/**`, ` * ${doc}`, ` * @module`, ` */`];
  for (const p of [...paths].sort()) lines.push(`export * from "${p}";`);
  return lines.join("\n") + "\n";
}

/** Generates every output file: relative path → content. */
export function generate(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const messages = readSpecs(`${root}/messages`);
  const messagePaths: string[] = [];
  for (const spec of messages) {
    const path = `messages/${snake(spec.name)}.ts`;
    files.set(path, emitSpec(spec, "../../wire"));
    messagePaths.push(`./${snake(spec.name)}.ts`);
  }
  files.set("messages/mod.ts", modFile("Every generated request, response, header and data message.", messagePaths));
  const requests = messages.filter((s) => s.type === "request");
  const responses = messages.filter((s) => s.type === "response");
  files.set("api_keys.ts", emitApiKeys(requests, responses));
  files.set("headers.ts", emitHeaders(requests));
  files.set("errors.ts", emitErrors(JSON.parse(Deno.readTextFileSync(`${root}/errors.json`))));

  const recordMods: string[] = [];
  for (const [src, dst] of RECORD_DIRS) {
    const specs = readSpecs(`${root}/${src}`);
    const paths: string[] = [];
    for (const spec of specs) {
      files.set(`records/${dst}/${snake(spec.name)}.ts`, emitSpec(spec, "../../../wire"));
      paths.push(`./${snake(spec.name)}.ts`);
    }
    files.set(`records/${dst}/table.ts`, emitRecordTable(specs, src));
    paths.push("./table.ts");
    files.set(`records/${dst}/mod.ts`, modFile(`Generated codecs of the ${src} schemas.`, paths));
    recordMods.push(dst);
  }
  files.set(
    "mod.ts",
    [
      GENERATED_HEADER,
      `/**`,
      ` * The generated wire codec: messages, headers, API table, error table and record schemas.`,
      ` * @module`,
      ` */`,
      `export * from "./api_keys.ts";`,
      `export * from "./errors.ts";`,
      `export * from "./headers.ts";`,
      `export * from "./messages/mod.ts";`,
      ...recordMods.map((d) => `export * from "./records/${d}/mod.ts";`),
      `export type { RecordCodec } from "../wire/schema.ts";`,
      "",
    ].join("\n"),
  );
  return files;
}

if (import.meta.main) {
  const root = Deno.args[0];
  if (!root) {
    console.error("usage: deno task gen <kafka-protocol folder>");
    Deno.exit(2);
  }
  const files = generate(root.replace(/\/+$/, ""));
  let written = 0;
  for (const [path, text] of files) {
    const full = OUT + path;
    let old: string | null = null;
    try {
      old = Deno.readTextFileSync(full);
    } catch {
      old = null;
    }
    if (old === text) continue;
    Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(full, text);
    written++;
  }
  let removed = 0;
  for (const rel of listFiles(OUT.replace(/\/$/, ""))) {
    if (!files.has(rel)) {
      Deno.removeSync(OUT + rel);
      removed++;
    }
  }
  removeEmptyDirs(OUT.replace(/\/$/, ""), true);
  console.log(`protocol/generated: ${files.size} files, ${written} written, ${removed} stale removed`);
}
