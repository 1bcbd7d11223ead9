/**
 * Random sample values of generated messages, built from their field descriptors: every field present in the
 * chosen version gets a random value of its type (null only where the version allows it), absent fields get
 * their defaults, and flexible versions sometimes carry unknown tagged fields. Deterministic for a seed, so
 * property tests (fast-check drives the seed) and fuzzers can replay failures.
 *
 * @module
 */
import type { FieldSchema, MessageSchema } from "../wire/schema.ts";
import { uuidFromBytes } from "../wire/uuid.ts";

/** A small deterministic PRNG (mulberry32). */
export class Rng {
  private s: number;
  /** Seeds the generator. */
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** A uniform float in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** A uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const inRange = (r: readonly [number, number] | undefined, v: number) => r !== undefined && v >= r[0] && v <= r[1];

/** The default value of a field (structs: every sub-field at its default). */
export function defaultOf(f: FieldSchema): unknown {
  if ("default" in f) {
    const d = f.default;
    return Array.isArray(d) ? [] : d instanceof Uint8Array ? new Uint8Array(0) : d;
  }
  return defaultStruct(f.fields ?? []);
}

/** A struct with every field at its default. */
export function defaultStruct(fields: readonly FieldSchema[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) o[f.name] = defaultOf(f);
  return o;
}

const STRING_POOL = ["", "a", "topic-1", "samsa", "ünïcödé", "日本語", "😀", "x".repeat(40)];

function sampleInt(rng: Rng, bits: number, signed: boolean): number {
  // Favour edge values: they find sign and width bugs.
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const pick = rng.int(0, 5);
  if (pick === 0) return min;
  if (pick === 1) return max;
  if (pick === 2) return signed ? -1 : 0;
  return rng.int(min, max);
}

function samplePrim(type: string, rng: Rng): unknown {
  switch (type) {
    case "bool":
      return rng.chance(0.5);
    case "int8":
      return sampleInt(rng, 8, true);
    case "int16":
      return sampleInt(rng, 16, true);
    case "uint16":
      return sampleInt(rng, 16, false);
    case "int32":
      return sampleInt(rng, 32, true);
    case "int64": {
      const pick = rng.int(0, 4);
      if (pick === 0) return -(2n ** 63n);
      if (pick === 1) return 2n ** 63n - 1n;
      if (pick === 2) return -1n;
      return BigInt.asIntN(64, (BigInt(rng.int(0, 0xffffffff)) << 32n) | BigInt(rng.int(0, 0xffffffff)));
    }
    case "float64":
      return [0, 1.5, -2.25, 1e300, Number.MIN_VALUE, rng.next()][rng.int(0, 5)];
    case "uuid": {
      const b = new Uint8Array(16);
      for (let i = 0; i < 16; i++) b[i] = rng.int(0, 255);
      return uuidFromBytes(b, 0);
    }
    case "string":
      return rng.chance(0.7) ? STRING_POOL[rng.int(0, STRING_POOL.length - 1)] : `s${rng.int(0, 1e6)}`;
    case "bytes":
    case "records": {
      const b = new Uint8Array(rng.int(0, 12));
      for (let i = 0; i < b.length; i++) b[i] = rng.int(0, 255);
      return b;
    }
  }
  throw new Error(`unknown primitive ${type}`);
}

function sampleElem(f: FieldSchema, elemType: string, version: number, flexible: boolean, rng: Rng): unknown {
  if (f.fields) return sampleStruct(f.fields, version, flexible, rng);
  return samplePrim(elemType, rng);
}

function sampleField(f: FieldSchema, version: number, flexible: boolean, rng: Rng): unknown {
  if (inRange(f.nullable, version) && rng.chance(0.15)) return null;
  if (f.type.startsWith("[]")) {
    const n = rng.int(0, f.fields ? 2 : 3);
    const a: unknown[] = [];
    for (let i = 0; i < n; i++) a.push(sampleElem(f, f.type.slice(2), version, flexible, rng));
    return a;
  }
  if (f.fields) return sampleStruct(f.fields, version, flexible, rng);
  return samplePrim(f.type, rng);
}

/** A random struct value for `version`. */
export function sampleStruct(
  fields: readonly FieldSchema[],
  version: number,
  flexible: boolean,
  rng: Rng,
): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) {
    const present = inRange(f.versions, version);
    o[f.name] = present && rng.chance(0.9) ? sampleField(f, version, flexible, rng) : defaultOf(f);
  }
  if (flexible && rng.chance(0.2)) {
    // Unknown tags far above any known one, ascending as a decoder would return them.
    const tags = [90, 93, 97].filter(() => rng.chance(0.5));
    if (tags.length > 0) {
      o.unknownTaggedFields = tags.map((tag) => ({ tag, data: samplePrim("bytes", rng) as Uint8Array }));
    }
  }
  return o;
}

/**
 * A random value of `schema` for `version`, deterministic for `seed`.
 *
 * @example
 * ```ts
 * import { sampleMessage } from "./sample_values.ts";
 * import { produceRequestSchema } from "../generated/messages/produce_request.ts";
 * const v = sampleMessage(produceRequestSchema, 9, 42); // a ProduceRequest v9 value
 * ```
 */
export function sampleMessage(schema: MessageSchema, version: number, seed: number): Record<string, unknown> {
  const flexible = inRange(schema.flexibleVersions, version);
  return sampleStruct(schema.fields, version, flexible, new Rng(seed));
}
