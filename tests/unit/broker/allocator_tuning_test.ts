import { strictEqual } from "node:assert/strict";
import { tuneAllocator } from "../../../broker/allocator_tuning.ts";

Deno.test("malloc tuning applies on Linux with glibc when FFI is permitted, and says why not otherwise", () => {
  const tuning = tuneAllocator();
  if (Deno.build.os === "linux") {
    strictEqual(tuning.applied, true, tuning.applied ? "" : tuning.reason);
  } else {
    strictEqual(tuning.applied, false);
  }
  // Applying it twice is harmless: the thresholds are process-wide settings, not allocations.
  strictEqual(tuneAllocator().applied, tuning.applied);
});

Deno.test({
  name: "without FFI permission malloc tuning does nothing and never prompts",
  permissions: { ffi: false },
  fn() {
    const tuning = tuneAllocator();
    strictEqual(tuning.applied, false);
    if (!tuning.applied && Deno.build.os === "linux") strictEqual(tuning.reason, "FFI not permitted (--allow-ffi)");
  },
});
