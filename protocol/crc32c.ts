/**
 * CRC-32C (Castagnoli), the checksum of record batch v2.
 *
 * Backed by `@node-rs/crc32` (Node-API, SSE4.2): ~7-8 GB/s over 1 MiB here, against ~1.8 GB/s for
 * TypeScript slicing-by-8 (see `deno task bench codec`).
 *
 * @module
 */
import { crc32c as nativeCrc32c } from "@node-rs/crc32";

/**
 * Computes the CRC-32C of `bytes`, continuing from `initial` when given.
 *
 * @example
 * ```ts
 * import { crc32c } from "./crc32c.ts";
 * crc32c(new TextEncoder().encode("123456789")); // 0xe3069283
 * ```
 */
export function crc32c(bytes: Uint8Array, initial = 0): number {
  // The native binding wants a Node Buffer-compatible view; a Uint8Array works as is.
  return nativeCrc32c(bytes as unknown as Parameters<typeof nativeCrc32c>[0], initial) >>> 0;
}
