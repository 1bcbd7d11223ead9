/**
 * Bytes that are produced only when the frame carrying them is assembled.
 *
 * A Fetch response carries megabytes of record batches read from segment files. Read eagerly, each partition's
 * bytes go into a fresh buffer (zero-filled by the runtime), then are copied again into the response frame. A
 * deferred run instead stands in the response as a placeholder view of the right length, and {@link Writer.finish}
 * asks its filler to read the bytes straight into their place in the frame: one pass over the data instead of three.
 *
 * The placeholder is a view over one shared, never-written buffer: its content means nothing, only its length and
 * identity do. Anything other than the encoder that reads it sees zeros, so only code that hands the bytes straight
 * to an encoder (the Fetch handler's reads) may create one.
 *
 * @module
 */

/** The longest deferred run; longer reads are made eagerly. */
export const MAX_DEFERRED_BYTES = 64 * 1024 * 1024;

/** Fills `dest` (exactly the run's length) with the run's bytes; throws when it cannot. */
export type Filler = (dest: Uint8Array) => void;

let placeholderBuffer: ArrayBuffer | null = null;
const fillers = new WeakMap<Uint8Array, Filler>();

/**
 * A placeholder of `length` bytes whose content `fill` writes when the frame is assembled. Throws RangeError when
 * `length` exceeds {@link MAX_DEFERRED_BYTES}.
 *
 * @example
 * ```ts
 * import { deferredBytes } from "./deferred_bytes.ts";
 * import { Writer } from "./writer.ts";
 * const w = new Writer();
 * w.raw(deferredBytes(3, (dest) => dest.set([1, 2, 3])));
 * w.finish(); // Uint8Array [1, 2, 3]
 * ```
 */
export function deferredBytes(length: number, fill: Filler): Uint8Array {
  if (!(length >= 0 && length <= MAX_DEFERRED_BYTES)) {
    throw new RangeError(`deferred run of ${length} bytes (at most ${MAX_DEFERRED_BYTES})`);
  }
  // Allocated once and never written: the pages of a large zeroed allocation stay unbacked until touched.
  placeholderBuffer ??= new ArrayBuffer(MAX_DEFERRED_BYTES);
  const view = new Uint8Array(placeholderBuffer, 0, length);
  fillers.set(view, fill);
  return view;
}

/** The filler of a placeholder made by {@link deferredBytes}, or undefined for ordinary bytes. */
export function fillerOf(bytes: Uint8Array): Filler | undefined {
  return bytes.buffer === placeholderBuffer ? fillers.get(bytes) : undefined;
}
