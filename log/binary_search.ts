/**
 * The one search both sparse indexes need.
 *
 * @module
 */

/**
 * Index of the last element of the ascending `keys[0..count)` that is `<= target`, or -1 when none is.
 *
 * @example
 * ```ts
 * import { lastAtMost } from "./binary_search.ts";
 * lastAtMost(new Float64Array([10, 20, 30]), 3, 25); // 1
 * lastAtMost(new Float64Array([10, 20, 30]), 3, 5); // -1
 * ```
 */
export function lastAtMost(keys: ArrayLike<number>, count: number, target: number): number {
  let lo = 0;
  let hi = count - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] <= target) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
