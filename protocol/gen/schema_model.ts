/**
 * Reading Kafka's JSON message schemas into a small model the emitter walks: version ranges parsed, types
 * classified, inline and common structs resolved. Pure: takes file text, returns data.
 *
 * @module
 */

/** An inclusive version range, or null for "none". */
export type Range = readonly [number, number] | null;

/** The highest version an open range ("3+") reaches. */
export const MAX_VERSION = 0x7fff;

/** A field type: a primitive, a struct, or an array of either. */
export type FieldType =
  | { kind: "prim"; name: string }
  | { kind: "struct"; name: string }
  | { kind: "array"; elem: FieldType };

/** One parsed field. */
export interface Field {
  name: string;
  camel: string;
  type: FieldType;
  typeText: string;
  versions: Range;
  nullable: Range;
  tagged: Range;
  tag: number | null;
  ignorable: boolean;
  flexibleNone: boolean;
  defaultText: string | number | boolean | null | undefined;
  about: string;
  /** For struct or struct-array fields: the struct's name (resolved against inline and common structs). */
  struct: Struct | null;
}

/** A struct: a message's top level, an inline struct, or a common struct. */
export interface Struct {
  name: string;
  fields: Field[];
  /** Versions in which this struct can be encoded (its field's versions within the parent's). */
  context: readonly [number, number];
}

/** A parsed schema file. */
export interface Spec {
  name: string;
  type: string;
  apiKey: number | null;
  valid: readonly [number, number];
  flexible: Range;
  listeners: string[];
  top: Struct;
  /** Every struct, top first, in first-use order. */
  structs: Struct[];
  about: string;
}

/** Removes `//` comments (outside strings) from Kafka's commented JSON. */
export function stripComments(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") {
        out += text[i + 1];
        i++;
      } else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else out += c;
  }
  return out;
}

/** Parses "0+", "1-3", "5", "none" into a range. */
export function parseRange(s: string | undefined): Range {
  if (s === undefined || s === "none" || s === "") return null;
  if (s.endsWith("+")) return [Number(s.slice(0, -1)), MAX_VERSION];
  const dash = s.indexOf("-");
  if (dash > 0) return [Number(s.slice(0, dash)), Number(s.slice(dash + 1))];
  return [Number(s), Number(s)];
}

/** The intersection of two ranges. */
export function intersect(a: Range, b: Range): Range {
  if (a === null || b === null) return null;
  const lo = Math.max(a[0], b[0]);
  const hi = Math.min(a[1], b[1]);
  return lo <= hi ? [lo, hi] : null;
}

/** "ThrottleTimeMs" → "throttleTimeMs". */
export function camel(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}

/** "ProduceRequest" → "produce_request". */
export function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2").toLowerCase();
}

const PRIMS = new Set([
  "bool",
  "int8",
  "int16",
  "uint16",
  "int32",
  "int64",
  "float64",
  "uuid",
  "string",
  "bytes",
  "records",
]);

function parseType(t: string): FieldType {
  if (t.startsWith("[]")) return { kind: "array", elem: parseType(t.slice(2)) };
  if (PRIMS.has(t)) return { kind: "prim", name: t };
  return { kind: "struct", name: t };
}

function structName(t: FieldType): string | null {
  if (t.kind === "struct") return t.name;
  if (t.kind === "array") return structName(t.elem);
  return null;
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** Parses one schema file's text. */
export function parseSpec(text: string): Spec {
  const j: Json = JSON.parse(stripComments(text));
  const valid = parseRange(j.validVersions)!;
  const structs: Struct[] = [];
  const common = new Map<string, Json>();
  for (const cs of j.commonStructs ?? []) common.set(cs.name, cs);
  const commonBuilt = new Map<string, Struct>();

  function build(name: string, fieldsJson: Json[], context: readonly [number, number]): Struct {
    const s: Struct = { name, fields: [], context };
    structs.push(s);
    for (const f of fieldsJson) {
      const type = parseType(f.type);
      const versions = intersect(parseRange(f.versions), context);
      const field: Field = {
        name: f.name,
        camel: camel(f.name),
        type,
        typeText: f.type,
        versions,
        nullable: intersect(parseRange(f.nullableVersions), versions),
        tagged: intersect(parseRange(f.taggedVersions), versions),
        tag: f.tag === undefined ? null : Number(f.tag),
        ignorable: f.ignorable === true,
        flexibleNone: f.flexibleVersions === "none",
        defaultText: f.default,
        about: f.about ?? "",
        struct: null,
      };
      const sn = structName(type);
      if (sn !== null) {
        if (f.fields) {
          field.struct = build(sn, f.fields, versions ?? context);
        } else if (common.has(sn)) {
          let c = commonBuilt.get(sn);
          if (!c) {
            c = build(sn, common.get(sn).fields, valid);
            commonBuilt.set(sn, c);
          }
          field.struct = c;
        } else throw new Error(`${j.name}: unknown struct type ${f.type}`);
      }
      s.fields.push(field);
    }
    return s;
  }

  const top = build(j.name, j.fields, valid);
  return {
    name: j.name,
    type: j.type,
    apiKey: j.apiKey ?? null,
    valid,
    flexible: parseRange(j.flexibleVersions),
    listeners: j.listeners ?? [],
    top,
    structs,
    about: "",
  };
}
