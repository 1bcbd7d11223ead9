/**
 * A small seeded pseudo-random generator (a 32-bit SplitMix variant), for election timeouts in tests, the
 * simulator and anywhere a reproducible stream of numbers is wanted.
 *
 * @module
 */

/**
 * Returns a function yielding uniform numbers in `[0, 1)`, the same sequence for the same seed.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./prng.ts";
 * const a = seededRandom(42), b = seededRandom(42);
 * a() === b(); // true
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}

/** A uniform integer in `[lo, hi]` drawn from `random`. */
export function randomInt(random: () => number, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}
