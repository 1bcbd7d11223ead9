/**
 * Field-by-field comparison of two normalized answers, with a readable path for every difference:
 * `topics[0].partitions[0].errorCode: kafka=3 (UNKNOWN_TOPIC_OR_PARTITION) samsa=0 (NONE)`.
 *
 * Some differences are informational: they are printed but do not make a scenario fail. Error *messages*
 * (clients act on codes), documentation strings and the values of features and tagged fields differ without
 * a client noticing. Omissions never are: a config, field, element or API that only one side returns is a
 * difference to judge, so a broker that answers DescribeConfigs with nothing, or drops an API from
 * ApiVersions, fails unless known_differences.ts says why that is acceptable.
 *
 * @example
 * ```ts
 * import { compareJson, formatDifference } from "./compare.ts";
 * const diffs = compareJson({ errorCode: 3 }, { errorCode: 0 });
 * formatDifference(diffs[0]); // "errorCode: kafka=3 (UNKNOWN_TOPIC_OR_PARTITION) samsa=0 (NONE)"
 * ```
 *
 * @module
 */
import { errorInfo } from "../../protocol/messages.ts";
import type { Json } from "./normalize.ts";

/** One difference between Kafka's and Samsa's answers. */
export interface Difference {
  /** Where, e.g. `step "unknown topic" v7: responses[0].partitionResponses[0].errorCode`. */
  path: string;
  /** Kafka's value; undefined when Kafka has no such field or element. */
  kafka: Json | undefined;
  /** Samsa's value; undefined when Samsa has no such field or element. */
  samsa: Json | undefined;
  /** True for differences reported but not judged (error messages, documentation, ...); never for omissions. */
  informational: boolean;
  /** Why it is informational or what it means, when that is not obvious. */
  note?: string;
}

/** Marks the walk into one entry of a `configs` map (keyed by config name), for the notes. */
const CONFIG_ENTRY = "\0config";

/** Keys whose values never decide a verdict when both sides have them. */
const INFORMATIONAL_KEYS = new Set([
  "errorMessage",
  "documentation",
  "unknownTaggedFields",
  "supportedFeatures",
  "finalizedFeatures",
  "finalizedFeaturesEpoch",
  "zkMigrationReady",
]);

/**
 * Compares two JSON values; `path` is the prefix of every reported path.
 *
 * @example
 * ```ts
 * import { compareJson } from "./compare.ts";
 * compareJson({ a: [1, 2] }, { a: [1] }); // [{ path: "a[1]", kafka: 2, samsa: undefined, informational: false }]
 * ```
 */
export function compareJson(kafka: Json | undefined, samsa: Json | undefined, path = "", info = false): Difference[] {
  const out: Difference[] = [];
  walk(kafka, samsa, path, info, out, undefined);
  return out;
}

function walk(
  kafka: Json | undefined,
  samsa: Json | undefined,
  path: string,
  info: boolean,
  out: Difference[],
  ownKey: string | undefined,
): void {
  if (kafka === undefined || samsa === undefined) {
    // Something only one side returns is judged even under an informational key: an omission is never noise.
    if (kafka !== samsa) out.push({ path, kafka, samsa, informational: false, note: onlyOneSide(kafka, ownKey) });
    return;
  }
  if (Array.isArray(kafka) && Array.isArray(samsa)) {
    const n = Math.max(kafka.length, samsa.length);
    for (let i = 0; i < n; i++) walk(kafka[i], samsa[i], `${path}[${i}]`, info, out, undefined);
    return;
  }
  if (isObject(kafka) && isObject(samsa)) {
    const keys = [...new Set([...Object.keys(kafka), ...Object.keys(samsa)])].sort();
    for (const k of keys) {
      const sub = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? (path ? `${path}.${k}` : k) : `${path}[${JSON.stringify(k)}]`;
      walk(kafka[k], samsa[k], sub, info || INFORMATIONAL_KEYS.has(k), out, ownKey === "configs" ? CONFIG_ENTRY : k);
    }
    return;
  }
  if (JSON.stringify(kafka) !== JSON.stringify(samsa)) out.push({ path, kafka, samsa, informational: info });
}

/** Says which side returned something alone, in words: "config only Kafka returns". */
function onlyOneSide(kafka: Json | undefined, ownKey: string | undefined): string {
  const side = kafka === undefined ? "Samsa" : "Kafka";
  return ownKey === CONFIG_ENTRY ? `config only ${side} returns` : `only ${side} returns this`;
}

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: Json | undefined, path: string): string {
  if (v === undefined) return "(absent)";
  let s = JSON.stringify(v);
  if (s.length > 160) s = s.slice(0, 157) + "...";
  if (typeof v === "number" && /errorCode$/i.test(path)) {
    const e = errorInfo(v);
    if (e) s += ` (${e.name})`;
  }
  return s;
}

/**
 * One line per difference, e.g. `errorCode: kafka=3 (UNKNOWN_TOPIC_OR_PARTITION) samsa=0 (NONE)`.
 *
 * @example
 * ```ts
 * import { formatDifference } from "./compare.ts";
 * formatDifference({ path: "x", kafka: 1, samsa: 2, informational: true }); // "x: kafka=1 samsa=2 [info]"
 * ```
 */
export function formatDifference(d: Difference): string {
  let line = `${d.path}: kafka=${show(d.kafka, d.path)} samsa=${show(d.samsa, d.path)}`;
  if (d.note) line += ` (${d.note})`;
  if (d.informational) line += " [info]";
  return line;
}
