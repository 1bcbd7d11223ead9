/**
 * Topic name rules, as Kafka's `Topic.validate` applies them: 1 to 249 characters of `[a-zA-Z0-9._-]`, not
 * `.` or `..`; and two names that differ only by `.` versus `_` collide, because both map to the same metric name.
 *
 * @module
 */

/** The longest legal topic name. */
export const MAX_TOPIC_NAME_LENGTH = 249;

const LEGAL = /^[a-zA-Z0-9._-]+$/;

/**
 * Returns why `name` is not a legal topic name, or undefined when it is.
 *
 * @example
 * ```ts
 * import { topicNameProblem } from "./topic_name.ts";
 * topicNameProblem("orders"); // undefined
 * topicNameProblem("a/b"); // "Topic name is invalid: 'a/b' contains one or more characters other than ..."
 * ```
 */
export function topicNameProblem(name: string): string | undefined {
  // Kafka 4.x's wording, so clients and operators see the same message from either broker.
  if (name.length === 0) return "Topic name is invalid: the empty string is not allowed";
  if (name === "." || name === "..") return `Topic name is invalid: '${name}' is not allowed`;
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `Topic name is invalid: the length of '${name}' is longer than the max allowed length ${MAX_TOPIC_NAME_LENGTH}`;
  }
  if (!LEGAL.test(name)) {
    return `Topic name is invalid: '${name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return undefined;
}

/** The name with `.` replaced by `_`: two topics with the same collision key cannot coexist. */
export function topicCollisionKey(name: string): string {
  return name.replaceAll(".", "_");
}

/** True for Kafka's internal topics, which clients may not create or delete. */
export function isInternalTopic(name: string): boolean {
  return name === "__consumer_offsets" || name === "__transaction_state" || name === "__cluster_metadata";
}
