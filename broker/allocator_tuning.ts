/**
 * Process-wide tuning of glibc's malloc for the broker's allocation pattern.
 *
 * Every produce request of a few MB is read into a fresh buffer of its own (the frame), and every fetch reads its
 * records into one. glibc serves allocations above its mmap threshold with a fresh `mmap` and unmaps them on free,
 * so each such buffer pays a page fault per 4 KiB when it is first filled: measured here, a fresh 1 MiB buffer
 * costs ~125 us to fill against ~30 us when malloc hands back memory it already holds. Raising the mmap threshold
 * (large buffers come from the heap and are reused after garbage collection frees them) and the trim threshold
 * (freed memory is kept for the next request instead of going back to the kernel) made librdkafka's W1 produce
 * ~10 % faster on this machine (docs/PERFORMANCE.md). The cost is memory the process keeps after a burst, up to the
 * trim threshold.
 *
 * It calls `mallopt` through FFI, so it applies only on Linux with glibc and only when FFI is permitted; anywhere
 * else it does nothing.
 *
 * @module
 */

/** glibc's `M_TRIM_THRESHOLD`. */
const M_TRIM_THRESHOLD = -1;
/** glibc's `M_MMAP_THRESHOLD`. */
const M_MMAP_THRESHOLD = -3;

/** Allocations up to this size come from the heap (glibc accepts at most 32 MiB on 64-bit). */
export const MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024;
/** Free memory at the top of the heap is returned to the kernel only beyond this much. */
export const TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024;

/** What {@link tuneAllocator} did. */
export type AllocatorTuning = { applied: true } | { applied: false; reason: string };

/**
 * Sets glibc's mmap and trim thresholds for this process. Never throws and never prompts: without FFI permission,
 * off Linux or without glibc (musl) it returns why it did nothing.
 *
 * @example
 * ```ts
 * import { tuneAllocator } from "./allocator_tuning.ts";
 * const tuning = tuneAllocator();
 * if (!tuning.applied) console.log(`malloc left as it is: ${tuning.reason}`);
 * ```
 */
export function tuneAllocator(): AllocatorTuning {
  if (Deno.build.os !== "linux") return { applied: false, reason: `not Linux (${Deno.build.os})` };
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return { applied: false, reason: "FFI not permitted (--allow-ffi)" };
  }
  let libc;
  try {
    libc = Deno.dlopen("libc.so.6", { mallopt: { parameters: ["i32", "i32"], result: "i32" } });
  } catch (e) {
    return { applied: false, reason: `no glibc: ${(e as Error).message}` };
  }
  try {
    // mallopt answers 1 on success and 0 for a value it refuses.
    if (libc.symbols.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) !== 1) {
      return { applied: false, reason: "mallopt refused M_MMAP_THRESHOLD" };
    }
    if (libc.symbols.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) !== 1) {
      return { applied: false, reason: "mallopt refused M_TRIM_THRESHOLD" };
    }
    return { applied: true };
  } finally {
    libc.close();
  }
}
