/**
 * The generator: its schema reading, and the promise CI relies on — the committed protocol/generated/ is
 * exactly what `deno task gen ../shared/kafka-protocol` writes.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { generate } from "../../../protocol/gen/main.ts";
import { camel, parseRange, parseSpec, snake, stripComments } from "../../../protocol/gen/schema_model.ts";
import { versionCond } from "../../../protocol/gen/emit_message.ts";

const KAFKA_PROTOCOL = new URL("../../../../shared/kafka-protocol", import.meta.url).pathname;
const GENERATED = new URL("../../../protocol/generated/", import.meta.url).pathname;

Deno.test("comments are stripped from schema JSON, but not '//' inside strings", () => {
  const text = '// licence\n{ "about": "see http://kafka.apache.org", // trailing\n "x": 1 }';
  deepStrictEqual(JSON.parse(stripComments(text)), { about: "see http://kafka.apache.org", x: 1 });
});

Deno.test("version specs parse to inclusive ranges, 'none' to null", () => {
  deepStrictEqual(parseRange("3+"), [3, 0x7fff]);
  deepStrictEqual(parseRange("0-2"), [0, 2]);
  deepStrictEqual(parseRange("5"), [5, 5]);
  strictEqual(parseRange("none"), null);
});

Deno.test("version conditions are simplified against the versions a codec function can see", () => {
  strictEqual(versionCond([0, 0x7fff], [0, 11]), "true");
  strictEqual(versionCond([3, 0x7fff], [0, 11]), "version >= 3");
  strictEqual(versionCond([0, 4], [0, 11]), "version <= 4");
  strictEqual(versionCond([2, 7], [0, 11]), "version >= 2 && version <= 7");
  strictEqual(versionCond([4, 4], [0, 11]), "version === 4");
  strictEqual(versionCond(null, [0, 11]), "false");
  strictEqual(versionCond([12, 0x7fff], [0, 11]), "false");
});

Deno.test("names follow TypeScript and file conventions", () => {
  strictEqual(camel("ThrottleTimeMs"), "throttleTimeMs");
  strictEqual(snake("ProduceRequest"), "produce_request");
  strictEqual(snake("AddPartitionsToTxnResponse"), "add_partitions_to_txn_response");
});

Deno.test("inline and common structs are resolved with the versions of the field that holds them", () => {
  const spec = parseSpec(`{
    "apiKey": 99, "type": "request", "name": "DemoRequest", "validVersions": "0-5", "flexibleVersions": "3+",
    "fields": [
      { "name": "Items", "type": "[]Item", "versions": "2+", "fields": [
        { "name": "Id", "type": "int32", "versions": "2+" } ] },
      { "name": "Shared", "type": "Common", "versions": "0+" }
    ],
    "commonStructs": [ { "name": "Common", "versions": "0+", "fields": [
      { "name": "Note", "type": "string", "versions": "1+", "nullableVersions": "1+", "default": "null" } ] } ]
  }`);
  deepStrictEqual(spec.structs.map((s) => [s.name, s.context]), [["DemoRequest", [0, 5]], ["Item", [2, 5]], [
    "Common",
    [0, 5],
  ]]);
  deepStrictEqual(spec.flexible, [3, 0x7fff]);
});

Deno.test("the committed protocol/generated is exactly what the generator writes", () => {
  const files = generate(KAFKA_PROTOCOL);
  for (const [path, text] of files) strictEqual(Deno.readTextFileSync(GENERATED + path), text, path);
  strictEqual(files.size > 250, true);
});
