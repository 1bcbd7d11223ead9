/**
 * The deterministic simulator's command line:
 *
 *     deno task sim --seeds N [--from S]   run seeds S .. S+N-1 (S defaults to 1)
 *     deno task sim --seed S [--verbose]   replay one seed, printing its events
 *     deno task sim --multi ...            the same for the many-groups (MultiRaft) simulation
 *
 * Exits 1 on the first failing seed, printing it and the command that replays it.
 *
 * @module
 */
import { runMultiSeed } from "./multi_run.ts";
import { type RunResult, runSeed } from "./run.ts";

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

const verbose = Deno.args.includes("--verbose");
const one = arg("--seed");
const from = Number(arg("--from") ?? 1);
const count = one !== undefined ? 1 : Number(arg("--seeds") ?? 100);
const first = one !== undefined ? Number(one) : from;

const started = performance.now();
let ticks = 0;
let messages = 0;
for (let seed = first; seed < first + count; seed++) {
  const r: RunResult = Deno.args.includes("--multi")
    ? {
      ...runMultiSeed(seed),
      ticks: 0,
      nodes: 3,
      features: ["multi"],
      committed: 0,
      leaders: 0,
      crashes: 0,
    }
    : runSeed(seed, verbose);
  ticks += r.ticks;
  messages += r.messages;
  if (verbose || one !== undefined) {
    console.log(
      `seed ${seed}: ${r.ok ? "ok" : "FAIL"} nodes=${r.nodes} ticks=${r.ticks} committed=${r.committed} ` +
        `leaders=${r.leaders} messages=${r.messages} crashes=${r.crashes} features=${r.features.join(",")}`,
    );
  }
  if (!r.ok) {
    if (!verbose) { for (const e of r.events ?? []) console.log(e); }
    console.log(`\nFAIL seed ${seed}: ${r.error}`);
    const multi = Deno.args.includes("--multi") ? " --multi" : "";
    console.log(`replay: deno task sim${multi} --seed ${seed} --verbose`);
    Deno.exit(1);
  }
  const done = seed - first + 1;
  if (!verbose && done % 1000 === 0) {
    const secs = (performance.now() - started) / 1000;
    console.log(`${done} seeds ok (${(done / secs).toFixed(1)} seeds/s)`);
  }
}
const secs = (performance.now() - started) / 1000;
console.log(
  `${count} seeds from ${first} ok in ${secs.toFixed(1)}s (${(count / secs).toFixed(1)} seeds/s, ` +
    `${ticks} ticks, ${messages} messages)`,
);
