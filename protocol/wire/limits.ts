/**
 * Kafka's limits on what one decoded message may hold, whatever its size in bytes. Kafka 4.4's generated
 * readers (`MessageUtil.MAX_ARRAY_LENGTH`, `MessageUtil.MAX_TAGGED_FIELD_COUNT`) refuse larger counts before
 * reading an element, and the broker then closes the connection as for any request it cannot parse. Samsa
 * holds the same lines so that a client sees the same behaviour, and so that a 100 MiB request of tiny
 * elements cannot ask for tens of millions of answers.
 *
 * @example
 * ```ts
 * import { MAX_ARRAY_LENGTH } from "./limits.ts";
 * MAX_ARRAY_LENGTH; // 1000000
 * ```
 *
 * @module
 */

/** Most elements one array (ARRAY or COMPACT_ARRAY) of a message may hold. */
export const MAX_ARRAY_LENGTH = 1_000_000;

/** Most tagged fields one struct's tagged-field section may hold. */
export const MAX_TAGGED_FIELD_COUNT = 10_000;

/**
 * Most array elements one request may hold in all its arrays (Samsa's bound; Kafka bounds each array only).
 * A broker's work and its response grow with the elements of a request, and nesting lets a 100 MiB Produce
 * carry ~13 million partition entries in arrays each under `MAX_ARRAY_LENGTH`; no client sends more than a
 * few thousand.
 */
export const MAX_REQUEST_ELEMENTS = 1_000_000;

/**
 * The generator codecs (`decode*InSlices`, `encode*InSlices`) pause after this many elements of one array:
 * ~0.05-1 ms of work, so their caller can let other work run between slices.
 */
export const SLICE_ELEMENTS = 256;
