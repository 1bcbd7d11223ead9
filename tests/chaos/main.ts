/**
 * The randomized chaos run (issue 18), `deno task chaos`:
 *
 *     deno task chaos [--minutes N] [--brokers 3|5] [--partitions P] [--nemesis kill-leader,pause-leader,...]
 *                     [--seed S] [--out DIR] [--plant lost|duplicate] [--client confluent-kafka|java]
 *
 * Starts a cluster of real Samsa processes, the confluent-kafka workload, and a schedule of faults drawn from
 * the seed (which nemesis, which partition, how many acknowledgements each fault and each recovery lasts), one
 * after another until the time budget is spent; then reads everything back, stops the cluster, and runs the
 * checker. Prints the seed first and a summary last; writes the whole history (`history.jsonl`), the brokers'
 * logs (`node-N.log`) and the summary (`summary.txt`) to one folder. On anomalies it exits 1 and prints the
 * command that replays the same schedule. `--client java` runs the workload with the official Java client
 * (`tests/compat/java` `ChaosWorkload`) instead of confluent-kafka. `--plant` removes or duplicates one acknowledged record in the history
 * before checking, to show the checker failing the run.
 *
 * @module
 */
import { seededRandom } from "../../raft/prng.ts";
import { check, describeResult, type History } from "./checker.ts";
import { NEMESES, type NemesisName } from "./nemesis.ts";
import { type FaultStep, runScenario } from "./scenario.ts";

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

function usage(message: string): never {
  console.error(
    `${message}\nusage: deno task chaos [--minutes N] [--brokers 3|5] [--partitions P] ` +
      `[--nemesis ${
        NEMESES.join(",")
      }] [--seed S] [--out DIR] [--plant lost|duplicate] [--client confluent-kafka|java]`,
  );
  Deno.exit(2);
}

/**
 * The schedule a seed stands for: up to `count` faults, each a nemesis of `nemeses`, a partition, and the
 * acknowledgements the fault and the recovery after it last.
 */
export function schedule(seed: number, nemeses: readonly NemesisName[], partitions: number, count = 500): FaultStep[] {
  const random = seededRandom(seed);
  const pick = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  return Array.from({ length: count }, () => ({
    nemesis: nemeses[pick(0, nemeses.length - 1)],
    partition: pick(0, partitions - 1),
    acksDuring: pick(50, 1000),
    acksAfter: pick(50, 500),
  }));
}

/**
 * The history with a planted bug: one acknowledged record's reads removed (`lost`), or one acknowledged record
 * read once more at a new offset (`duplicate`).
 */
export function planted(history: History, kind: "lost" | "duplicate"): History {
  const victim = history.acks[Math.floor(history.acks.length / 2)];
  if (victim === undefined) return history;
  const value = String(victim.value);
  if (kind === "lost") return { ...history, reads: history.reads.filter((r) => r.value !== value) };
  const maxOffset = Math.max(...history.reads.filter((r) => r.partition === victim.partition).map((r) => r.offset));
  return { ...history, reads: [...history.reads, { partition: victim.partition, offset: maxOffset + 1, value }] };
}

if (import.meta.main) {
  const minutes = Number(arg("--minutes") ?? 2);
  const brokers = Number(arg("--brokers") ?? 3);
  const partitions = Number(arg("--partitions") ?? 3);
  const seed = Number(arg("--seed") ?? Math.floor(Math.random() * 2 ** 31));
  const plant = arg("--plant");
  const client = arg("--client") ?? "confluent-kafka";
  const nemeses = (arg("--nemesis") ?? NEMESES.join(",")).split(",") as NemesisName[];
  if (!(minutes > 0)) usage("--minutes must be a positive number");
  if (![3, 5].includes(brokers)) usage("--brokers must be 3 or 5");
  if (!(Number.isInteger(partitions) && partitions >= 1)) usage("--partitions must be a positive integer");
  if (!Number.isInteger(seed)) usage("--seed must be an integer");
  if (plant !== undefined && !["lost", "duplicate"].includes(plant)) usage("--plant must be lost or duplicate");
  for (const n of nemeses) if (!NEMESES.includes(n)) usage(`unknown nemesis ${n}`);
  if (client !== "confluent-kafka" && client !== "java") usage("--client must be confluent-kafka or java");
  const out = arg("--out") ?? await Deno.makeTempDir({ prefix: `samsa-chaos-${seed}-` });
  await Deno.mkdir(out, { recursive: true });

  const replay = `deno task chaos --minutes ${minutes} --brokers ${brokers} --partitions ${partitions} ` +
    `--nemesis ${nemeses.join(",")} --seed ${seed}${client === "java" ? " --client java" : ""}`;
  console.log(`seed ${seed}; writing to ${out}`);
  const started = performance.now();
  const outcome = await runScenario({
    faults: schedule(seed, nemeses, partitions),
    budgetMs: minutes * 60_000,
    brokers,
    partitions,
    client,
    log: (line) => console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${line}`),
  });
  const history = plant === undefined ? outcome.history : planted(outcome.history, plant as "lost" | "duplicate");
  const result = plant === undefined ? outcome.result : check(history);

  const lines = [
    ...history.faults.map((f) => ({ type: "fault", ...f })),
    ...history.acks.map((a) => ({ type: "ack", ...a })),
    ...history.failures.map((f) => ({ type: "fail", ...f })),
    ...history.reads.map((r) => ({ type: "read", ...r })),
    ...history.replicas.flatMap((p) =>
      p.replicas.map((r) => ({ type: "replica", partition: p.partition, highWatermark: p.highWatermark, ...r }))
    ),
  ];
  await Deno.writeTextFile(`${out}/history.jsonl`, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  for (const [id, text] of outcome.brokerLogs) await Deno.writeTextFile(`${out}/node-${id}.log`, text);
  const summary = [
    `seed ${seed}, ${brokers} brokers, ${partitions} partitions, nemeses ${nemeses.join(",")}, client ${client}, ` +
    `${((performance.now() - started) / 1000).toFixed(0)} s${plant ? `, planted: ${plant}` : ""}`,
    `faults injected: ${history.faults.length}`,
    describeResult(result, 10),
    ...(outcome.notes.length ? ["notes:", ...outcome.notes.map((n) => `  ${n}`)] : []),
  ].join("\n");
  await Deno.writeTextFile(`${out}/summary.txt`, summary + "\n");
  console.log(`\n${summary}\n\nhistory and broker logs in ${out}`);
  if (!result.valid) {
    console.log(`FAIL seed ${seed}\nreplay: ${replay}`);
    Deno.exit(1);
  }
}
