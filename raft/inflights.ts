/**
 * The bounded window of append messages in flight to one follower: at most `maxCount` messages and
 * `maxBytes` payload bytes. A leader stops sending when either bound is reached (flow control) and frees
 * slots as acknowledgements arrive.
 *
 * @module
 */

/**
 * In-flight appends to one follower, oldest first.
 *
 * @example
 * ```ts
 * import { Inflights } from "./inflights.ts";
 * const w = new Inflights(2, 1 << 20);
 * w.add(10, 100); w.add(20, 100);
 * w.full(); // true
 * w.freeLE(10); // the append ending at 10 was acknowledged
 * w.full(); // false
 * ```
 */
export class Inflights {
  #lasts: number[] = [];
  #sizes: number[] = [];
  #bytes = 0;

  /** An empty window of at most `maxCount` appends and `maxBytes` payload bytes. */
  constructor(readonly maxCount: number, readonly maxBytes: number) {}

  /** Records an append whose last index is `last`, carrying `bytes` payload bytes. */
  add(last: number, bytes: number): void {
    this.#lasts.push(last);
    this.#sizes.push(bytes);
    this.#bytes += bytes;
  }

  /** Frees every append whose last index is `<= index`. */
  freeLE(index: number): void {
    let i = 0;
    while (i < this.#lasts.length && this.#lasts[i] <= index) {
      this.#bytes -= this.#sizes[i];
      i++;
    }
    if (i > 0) {
      this.#lasts.splice(0, i);
      this.#sizes.splice(0, i);
    }
  }

  /** Frees the oldest append (used when acknowledgements may have been lost). */
  freeFirst(): void {
    if (this.#lasts.length > 0) this.freeLE(this.#lasts[0]);
  }

  /** Whether no further append may be sent. */
  full(): boolean {
    return this.#lasts.length >= this.maxCount || (this.#lasts.length > 0 && this.#bytes >= this.maxBytes);
  }

  /** Number of appends in flight. */
  get count(): number {
    return this.#lasts.length;
  }

  /** Payload bytes in flight. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Forgets everything in flight. */
  reset(): void {
    this.#lasts = [];
    this.#sizes = [];
    this.#bytes = 0;
  }
}
