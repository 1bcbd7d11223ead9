/**
 * Normalizes decoded responses so that two brokers' answers can be compared field by field: what legitimately
 * differs between two clusters (cluster id, node ids, hosts and ports, topic ids, producer ids, throttle times,
 * the names a run gave its topics) is dropped or replaced by a stable placeholder, arrays whose order Kafka
 * does not specify are sorted, and raw record bytes become a readable summary of their batches.
 *
 * Identities are kept, not erased: the first node id seen becomes `node#0`, the second `node#1`, and the
 * same for producer ids and topic ids, so "the leader is the node listed in brokers" still shows.
 *
 * @example
 * ```ts
 * import { Canon, normalize } from "./normalize.ts";
 * const canon = new Canon();
 * canon.nameTopic("d1a2-orders", "orders");
 * normalize({ throttleTimeMs: 5, topics: [{ name: "d1a2-orders", topicId: "x" }] }, canon);
 * // { topics: [{ name: "<orders>", topicId: "<id:orders>" }] }
 * ```
 *
 * @module
 */
import { decodeRecordBatch, iterateBatches } from "../../protocol/record_batch.ts";
import { isBatchCrcValid } from "../../protocol/record_batch_header.ts";

/** A JSON value: what normalized responses are made of (golden files store them as they are). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

import { ZERO_UUID } from "../../protocol/messages.ts";
import type { FieldSchema } from "../../protocol/wire/schema.ts";

/** Fields that only say how fast or how busy a broker was. */
const DROPPED_KEYS = new Set(["throttleTimeMs"]);

/** Fields whose numbers are broker ids (-1 means none and stays -1). */
const NODE_ID_KEYS = new Set([
  "nodeId",
  "leaderId",
  "controllerId",
  "brokerId",
  "replicaNodes",
  "isrNodes",
  "offlineReplicas",
  "eligibleLeaderReplicas",
  "lastKnownElr",
  "preferredReadReplica",
  "replicas",
]);

/** Array elements are sorted by the first of these keys they all have: Kafka does not promise an order. */
const SORT_KEYS = ["name", "partitionIndex", "index", "apiKey", "resourceName", "nodeId", "partition"];

/** The per-run identities of one scenario run, mapped to stable placeholders. */
export class Canon {
  #topicNames = new Map<string, string>();
  #topicIds = new Map<string, string>();
  #nodeIds = new Map<number, string>();
  #producerIds = new Map<string, string>();
  readonly #bootstrap?: { host: string; port: number };

  /**
   * `bootstrap` (`host:port`) is the address the run connected to: an advertised host or port equal to it
   * becomes `<host>`/`<port>`, any other value stays visible, so a broker advertising a wrong address shows.
   */
  constructor(bootstrap?: string) {
    if (bootstrap !== undefined) {
      const i = bootstrap.lastIndexOf(":");
      this.#bootstrap = { host: bootstrap.slice(0, i), port: Number(bootstrap.slice(i + 1)) };
    }
  }

  /** An advertised host: `<host>` when it is the bootstrap's (or no bootstrap is known). */
  host(host: string): Json {
    return this.#bootstrap === undefined || this.#bootstrap.host === host ? "<host>" : host;
  }

  /** An advertised port: `<port>` when it is the bootstrap's (or no bootstrap is known). */
  port(port: number): Json {
    return this.#bootstrap === undefined || this.#bootstrap.port === port ? "<port>" : port;
  }

  /** Registers a run-specific topic name (`actual`) under its stable `logical` name. */
  nameTopic(actual: string, logical: string): void {
    this.#topicNames.set(actual, logical);
  }

  /** True when `name` is one of the topics this run created or named. */
  isKnownTopic(name: string): boolean {
    return this.#topicNames.has(name);
  }

  /** Registers the id a broker gave a topic, so ids show as `<id:logical>`. */
  nameTopicId(id: string, actualName: string): void {
    if (id === ZERO_UUID || this.#topicIds.has(id)) return;
    const logical = this.#topicNames.get(actualName);
    this.#topicIds.set(id, logical !== undefined ? `<id:${logical}>` : `<id#${this.#topicIds.size}>`);
  }

  /** A topic id's placeholder; the zero uuid stays visible as `ZERO`. */
  topicId(id: string): string {
    if (id === ZERO_UUID) return "ZERO";
    let name = this.#topicIds.get(id);
    if (name === undefined) {
      name = `<id#${this.#topicIds.size}>`;
      this.#topicIds.set(id, name);
    }
    return name;
  }

  /** A broker id's placeholder; negative ids (none) stay as they are. */
  nodeId(id: number): Json {
    if (id < 0) return id;
    let name = this.#nodeIds.get(id);
    if (name === undefined) {
      name = `node#${this.#nodeIds.size}`;
      this.#nodeIds.set(id, name);
    }
    return name;
  }

  /** A producer id's placeholder; -1 (none) stays -1. */
  producerId(id: bigint | number): Json {
    if (BigInt(id) < 0n) return Number(id);
    const key = String(id);
    let name = this.#producerIds.get(key);
    if (name === undefined) {
      name = `pid#${this.#producerIds.size}`;
      this.#producerIds.set(key, name);
    }
    return name;
  }

  /** Replaces run-specific topic names inside a string (error messages quote them). */
  text(s: string): string {
    const exact = this.#topicNames.get(s);
    if (exact !== undefined) return `<${exact}>`;
    let out = s;
    const names = [...this.#topicNames.keys()].sort((a, b) => b.length - a.length);
    for (const name of names) {
      if (out.includes(name)) out = out.split(name).join(`<${this.#topicNames.get(name)}>`);
    }
    return out;
  }
}

/**
 * Keeps only the fields that exist in `version` of a message, so a field the version lacks (which the codec
 * fills with its default) is absent rather than compared, e.g. FindCoordinator v4's top-level nodeId.
 *
 * @example
 * ```ts
 * import { onlyFieldsOf } from "./normalize.ts";
 * const schema = { name: "X", type: "response", validVersions: [0, 1], fields: [
 *   { name: "a", type: "int32", versions: [0, 32767] }, { name: "b", type: "int32", versions: [1, 32767] },
 * ] } as const;
 * onlyFieldsOf({ a: 1, b: 0 }, schema.fields, 0); // { a: 1 }
 * ```
 */
export function onlyFieldsOf(value: unknown, fields: readonly FieldSchema[], version: number): unknown {
  if (Array.isArray(value)) return value.map((v) => onlyFieldsOf(v, fields, version));
  if (!isPlainObject(value)) return value;
  const o = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (version < f.versions[0] || version > f.versions[1] || !(f.name in o)) continue;
    out[f.name] = f.fields ? onlyFieldsOf(o[f.name], f.fields, version) : o[f.name];
  }
  if (o.unknownTaggedFields !== undefined) out.unknownTaggedFields = o.unknownTaggedFields;
  return out;
}

/** Options of {@link normalize}. */
export interface NormalizeOptions {
  /** Drop topics (elements of a `topics` array) that this run did not name, e.g. for "all topics" Metadata. */
  onlyKnownTopics?: boolean;
}

/**
 * Normalizes a decoded response body (or any value made of its parts) into JSON.
 *
 * @example
 * ```ts
 * import { Canon, normalize } from "./normalize.ts";
 * normalize({ brokers: [{ nodeId: 1, host: "127.0.0.1", port: 9092, rack: null }] }, new Canon());
 * // { brokers: [{ nodeId: "node#0", host: "<host>", port: "<port>", rack: null }] }
 * ```
 */
export function normalize(value: unknown, canon: Canon, options: NormalizeOptions = {}): Json {
  learnTopicIds(value, canon);
  return walk(value, undefined, canon, options);
}

/** Finds `{ name, topicId }` pairs anywhere in a response, so topic ids get their topic's logical name. */
function learnTopicIds(value: unknown, canon: Canon): void {
  if (Array.isArray(value)) {
    for (const v of value) learnTopicIds(v, canon);
  } else if (isPlainObject(value)) {
    const o = value as Record<string, unknown>;
    if (typeof o.topicId === "string" && typeof o.name === "string") canon.nameTopicId(o.topicId, o.name);
    for (const v of Object.values(o)) learnTopicIds(v, canon);
  }
}

function isPlainObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function walk(value: unknown, key: string | undefined, canon: Canon, options: NormalizeOptions): Json {
  if (value === undefined || value === null) return null;
  if (key !== undefined && NODE_ID_KEYS.has(key)) {
    if (typeof value === "number") return canon.nodeId(value);
    if (Array.isArray(value)) {
      return value.map((v) => typeof v === "number" ? canon.nodeId(v) : walk(v, undefined, canon, options));
    }
  }
  switch (key) {
    case "clusterId":
      return typeof value === "string" ? "<cluster-id>" : null;
    case "host":
      if (typeof value === "string") return canon.host(value);
      break;
    case "port":
      if (typeof value === "number") return canon.port(value);
      break;
    case "topicId":
      if (typeof value === "string") return canon.topicId(value);
      break;
    case "producerId":
      if (typeof value === "bigint" || typeof value === "number") return canon.producerId(value);
      break;
    case "records":
      if (value instanceof Uint8Array) return summarizeRecords(value, canon);
      break;
    case "sessionId":
      // A fetch session's id is the broker's choice; 0 (no session) stays visible.
      if (typeof value === "number" && value !== 0) return "<session>";
      break;
    case "logAppendTimeMs":
    case "timestamp":
    case "maxTimestamp":
    case "baseTimestamp":
      if (typeof value === "number" || typeof value === "bigint") return clockTime(Number(value));
      break;
    case "unknownTaggedFields":
      // Tags our codec does not know (fields newer than its schemas): which tags, not their bytes.
      if (Array.isArray(value)) return value.map((t) => (t as { tag: number }).tag);
      break;
  }
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : String(value);
  }
  if (typeof value === "string") return canon.text(value);
  if (typeof value === "number" || typeof value === "boolean") return value;
  if (value instanceof Uint8Array) return bytesText(value);
  if (Array.isArray(value)) {
    let items = value;
    if (key === "topics" && options.onlyKnownTopics) {
      items = items.filter((t) => !isPlainObject(t) || typeof t.name !== "string" || canon.isKnownTopic(t.name));
    }
    const out = items.map((v) => walk(v, undefined, canon, options));
    if (
      key === "configs" && out.every((c) => isPlainObject(c) && typeof (c as Record<string, Json>).name === "string")
    ) {
      return keyByName(out as Record<string, Json>[]) as unknown as Json;
    }
    return sortUnordered(out);
  }
  if (typeof value === "object") {
    const out: Record<string, Json> = {};
    for (const k of Object.keys(value as object).sort()) {
      if (DROPPED_KEYS.has(k)) continue;
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined) continue;
      out[k] = walk(v, k, canon, options);
    }
    return out;
  }
  return String(value);
}

/** Configs become an object keyed by config name, so a config only one side returns shows by name. */
function keyByName(configs: Record<string, Json>[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const c of [...configs].sort((a, b) => compareJson(a.name, b.name))) {
    const { name, ...rest } = c;
    out[name as string] = rest;
  }
  return out;
}

function sortUnordered(items: Json[]): Json[] {
  if (items.length < 2 || !items.every(isPlainObject)) return items;
  const objects = items as Record<string, Json>[];
  const key = SORT_KEYS.find((k) => objects.every((o) => k in o));
  if (key === undefined) return items;
  return [...objects].sort((a, b) => compareJson(a[key], b[key]));
}

function compareJson(a: Json, b: Json): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = JSON.stringify(a), y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A timestamp a broker took from its clock (log append time) differs between runs; the scenarios' own record
 * timestamps are fixed and far in the past. Within a day of now it becomes `<now>`.
 */
function clockTime(ms: number): Json {
  return Math.abs(ms - Date.now()) < 86_400_000 ? "<now>" : ms;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function bytesText(bytes: Uint8Array | null): Json {
  if (bytes === null) return null;
  if (bytes.length > 64) return `<${bytes.length} bytes>`;
  try {
    const s = utf8.decode(bytes);
    if (/^[\x20-\x7e]*$/.test(s)) return s;
  } catch {
    // not text
  }
  return "hex:" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Record bytes as a list of batches with their header fields and records. CRCs become `crcValid` (the value
 * itself depends on bytes we compare anyway); a trailing partial batch, which Kafka may send at the end of a
 * fetch, shows as its byte count.
 */
export function summarizeRecords(bytes: Uint8Array, canon: Canon): Json {
  const batches: Json[] = [];
  let trailingBytes = 0;
  try {
    const it = iterateBatches(bytes);
    while (true) {
      const next = it.next();
      if (next.done) {
        trailingBytes = next.value;
        break;
      }
      const { pos, size, header } = next.value;
      const slice = bytes.subarray(pos, pos + size);
      const batch: Record<string, Json> = {
        baseOffset: Number(header.baseOffset),
        partitionLeaderEpoch: header.partitionLeaderEpoch,
        attributes: header.attributes,
        lastOffsetDelta: header.lastOffsetDelta,
        baseTimestamp: clockTime(Number(header.baseTimestamp)),
        maxTimestamp: clockTime(Number(header.maxTimestamp)),
        producerId: canon.producerId(header.producerId),
        producerEpoch: header.producerEpoch,
        baseSequence: header.baseSequence,
        recordsCount: header.recordsCount,
        sizeInBytes: size,
        crcValid: isBatchCrcValid(slice),
      };
      try {
        batch.records = decodeRecordBatch(slice, { verifyCrc: false }).records.map((r) => ({
          offsetDelta: r.offsetDelta,
          timestamp: clockTime(r.timestamp),
          key: bytesText(r.key),
          value: bytesText(r.value),
          headers: r.headers.map((h) => ({ key: h.key, value: bytesText(h.value) })),
        }));
      } catch (e) {
        batch.records = `<undecodable: ${(e as Error).message}>`;
      }
      batches.push(batch);
    }
  } catch (e) {
    return { error: `<unreadable records: ${(e as Error).message}>`, bytes: bytes.length };
  }
  return trailingBytes > 0 ? { batches, trailingBytes } : { batches };
}
