/**
 * Samsa's public module: the Kafka wire codec today, the Deno client later.
 *
 * @example
 * ```ts
 * import { crc32c } from "@samsa/samsa";
 * crc32c(new TextEncoder().encode("123456789")); // 0xe3069283
 * ```
 *
 * @module
 */
export { crc32c } from "./protocol/crc32c.ts";
