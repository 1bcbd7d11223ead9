/**
 * UUIDs of the wire protocol (topic ids, directory ids, ...) are 16 raw bytes on the wire and canonical
 * lowercase strings (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`) in memory, so they compare with `===` and key maps.
 *
 * @module
 */
import { ProtocolError } from "../protocol_error.ts";

/** The all-zero UUID, Kafka's "no id" (`Uuid.ZERO_UUID`), the default of every uuid field. */
export const ZERO_UUID = "00000000-0000-0000-0000-000000000000";

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, "0"));

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/**
 * Formats 16 bytes at `offset` as a canonical UUID string.
 *
 * @example
 * ```ts
 * import { uuidFromBytes } from "./uuid.ts";
 * uuidFromBytes(new Uint8Array(16), 0); // "00000000-0000-0000-0000-000000000000"
 * ```
 */
export function uuidFromBytes(b: Uint8Array, offset: number): string {
  let s = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
    s += HEX[b[offset + i]];
  }
  return s;
}

/**
 * Writes a canonical UUID string as 16 bytes at `offset`; throws ProtocolError if it is malformed.
 *
 * @example
 * ```ts
 * import { uuidToBytes } from "./uuid.ts";
 * const out = new Uint8Array(16);
 * uuidToBytes("00000000-0000-0000-0000-000000000001", out, 0); // out[15] === 1
 * ```
 */
export function uuidToBytes(s: string, out: Uint8Array, offset: number): void {
  if (typeof s !== "string" || s.length !== 36) throw new ProtocolError("invalid_value", `malformed uuid: ${s}`);
  let j = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) {
      if (s.charCodeAt(j) !== 45) throw new ProtocolError("invalid_value", `malformed uuid: ${s}`);
      j++;
    }
    const hi = hexValue(s.charCodeAt(j));
    const lo = hexValue(s.charCodeAt(j + 1));
    if (hi < 0 || lo < 0) throw new ProtocolError("invalid_value", `malformed uuid: ${s}`);
    out[offset + i] = (hi << 4) | lo;
    j += 2;
  }
}
