/**
 * Compact, data-only descriptions of generated messages: each field's type, version ranges, nullability and
 * tag. The generated codecs do not read them; tests and tools do (random value generation, documentation).
 *
 * @module
 */
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

/** An inclusive version range `[lowest, highest]`; `highest` is 32767 for an open range ("3+"). */
export type VersionRange = readonly [number, number];

/** One field of a message or struct. */
export interface FieldSchema {
  /** The camelCase property name. */
  readonly name: string;
  /** "int8" ... "int64", "uint16", "float64", "bool", "uuid", "string", "bytes", "records", "[]T" or "Struct". */
  readonly type: string;
  /** Versions in which the field exists. */
  readonly versions: VersionRange;
  /** Versions in which it may be null, if any. */
  readonly nullable?: VersionRange;
  /** Versions in which it is a tagged field, if any. */
  readonly tagged?: VersionRange;
  /** Its tag, when tagged. */
  readonly tag?: number;
  /** False when the field never uses compact encodings (RequestHeader's ClientId). */
  readonly flexible?: false;
  /** The value it takes in versions that lack it: a number, bigint, bool, string, null or [] (absent for structs). */
  readonly default?: unknown;
  /** The fields of a struct or struct-array field. */
  readonly fields?: readonly FieldSchema[];
}

/** A message, header or record schema. */
export interface MessageSchema {
  /** Kafka's name, e.g. "ProduceRequest". */
  readonly name: string;
  /** "request", "response", "header", "data" or "metadata". */
  readonly type: string;
  /** The API key (requests, responses) or record type (metadata records), if any. */
  readonly apiKey?: number;
  /** Versions the codec supports. */
  readonly validVersions: VersionRange;
  /** Flexible (compact, tagged) versions, if any. */
  readonly flexibleVersions?: VersionRange;
  /** Top-level fields. */
  readonly fields: readonly FieldSchema[];
}

/** A record schema (metadata, group or transaction coordinator record) with its codec. */
export interface RecordCodec {
  /** The descriptor (its apiKey is the metadata record type, when it has one). */
  readonly schema: MessageSchema;
  /** Writes a value of `version`. */
  encode(w: Writer, v: any, version: number): void;
  /** Reads a value of `version`. */
  decode(r: Reader, version: number): any;
}
