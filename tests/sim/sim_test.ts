/**
 * The simulator in CI: many seeds with every fault type, each checked for safety after every step and for
 * liveness once the faults stop. A failure names its seed and the command that replays it.
 */
import assert from "node:assert/strict";
import { runSeed } from "./run.ts";
import { Cluster } from "./cluster.ts";
import { runMultiSeed } from "./multi_run.ts";

/** Seeds per CI run: about 10 s at the ~500 seeds/s measured on the 2-core dev machine. */
const SEEDS = 5000;

Deno.test(`${SEEDS} randomized seeds keep every safety invariant and recover liveness`, () => {
  const features = new Map<string, number>();
  let sizes = { 3: 0, 5: 0 } as Record<number, number>;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSeed(seed);
    if (!r.ok) {
      assert.fail(
        `seed ${seed}: ${r.error}\n${(r.events ?? []).join("\n")}\nreplay: deno task sim --seed ${seed} --verbose`,
      );
    }
    for (const f of r.features) features.set(f, (features.get(f) ?? 0) + 1);
    sizes = { ...sizes, [r.nodes]: (sizes[r.nodes] ?? 0) + 1 };
  }
  // The run really covered what it claims to.
  for (
    const f of [
      "membership",
      "snapshots",
      "transfer",
      "crashes",
      "partitions",
      "no-prevote",
      "no-checkquorum",
      "observers",
      "observer-snapshot",
    ]
  ) {
    assert.ok((features.get(f) ?? 0) >= SEEDS / 20, `feature ${f} ran on only ${features.get(f) ?? 0} seeds`);
  }
  assert.ok(sizes[3] > SEEDS / 4 && sizes[5] > SEEDS / 4);
});

Deno.test("500 randomized seeds of many groups on three nodes keep every group safe and live", () => {
  let batches = 0;
  let messages = 0;
  for (let seed = 1; seed <= 500; seed++) {
    const r = runMultiSeed(seed);
    if (!r.ok) assert.fail(`multi seed ${seed}: ${r.error}\nreplay: deno task sim --multi --seed ${seed}`);
    batches += r.batches;
    messages += r.messages;
  }
  // Coalescing: a batch carries the messages of many groups.
  assert.ok(messages / batches > 2, `only ${(messages / batches).toFixed(2)} messages per batch`);
});

Deno.test("the same seed replays exactly the same run", () => {
  for (const seed of [7, 1234, 99999]) {
    assert.deepEqual(runSeed(seed), runSeed(seed));
  }
});

Deno.test("the checkers catch two leaders in one term", () => {
  const c = new Cluster(1, [1, 2, 3]);
  c.checker.leader(1, 5);
  assert.throws(() => c.checker.leader(2, 5), /election safety/);
});

Deno.test("the checkers catch a committed entry applied differently on two nodes", () => {
  const c = new Cluster(1, [1, 2, 3]);
  const e = { index: 0, count: 1, term: 1, type: 0, data: new Uint8Array([1]) };
  c.checker.apply(1, e, 111);
  assert.throws(() => c.checker.apply(2, { ...e, term: 2 }, 222), /state machine safety/);
});

Deno.test("the checkers catch an entry persisted with different contents under the same index and term", () => {
  const c = new Cluster(1, [1, 2, 3]);
  const e = { index: 3, count: 2, term: 1, type: 0, data: new Uint8Array([1]) };
  c.checker.persist(1, [e], 1);
  assert.throws(() => c.checker.persist(2, [{ ...e, count: 1 }], 1), /log matching/);
});

Deno.test("the checkers catch a commit index going back", () => {
  const c = new Cluster(1, [1, 2, 3]);
  c.checker.commit(1, 10);
  assert.throws(() => c.checker.commit(1, 9), /commit went back/);
});
