/**
 * `deno task bench:report`: Samsa side by side with Apache Kafka, NATS JetStream and Redis Streams, every figure
 * next to a limit of this machine measured in the same run; writes docs/PERFORMANCE.md.
 *
 *   deno task bench:report [--quick | --smoke] [--only W1,W4] [--systems samsa,kafka] [--w6-partitions N]
 *                          [--out FILE] [--json FILE] [--no-profile]
 *                          [--from-json FILE (render an earlier run again, measure nothing)]
 *
 * Order: the limits (fsync tests first, before any bulk write), then the fsync-sensitive workloads (W1, W2, W4)
 * in rounds over Samsa, Kafka (defaults) and Kafka (`log.flush.interval.messages=1`) in rotating order, then W5 on
 * three-broker clusters of each (once each, with the failover kills on Samsa and Kafka default), then NATS
 * and Redis, then the bulk ones (W3's fill and read, then W6, each on fresh brokers) on Samsa and Kafka, then a
 * CPU profile of Samsa under W1 and W2. Every measured run starts after a `sync`, so no run pays for the
 * write-back of the one before. Running the bulk writes last keeps the disk's post-bulk slowdown (docs:
 * ../shared/PLATFORM.md) away from the fsync figures.
 *
 * `--smoke` is for tests: tiny counts, Samsa only, no profile, and it writes to a temp file unless `--out` says.
 * A full run measures every W1, W2 and W4 case of Samsa and Kafka in 3 rounds and reports the median (quick and
 * smoke: one round); it took 13-15 minutes on this 2-core machine (11-2026). The librdkafka payload files (up to
 * 1 GiB) are written once into ~/.cache/samsa/bench.
 *
 * @module
 */

import { type Broker, findNatsServer, startKafka, startNats, startRedis, startSamsa } from "./brokers.ts";
import { kafkaClusterVersion, startKafkaCluster, startSamsaCluster } from "./clusters.ts";
import { w5Failover } from "./failover.ts";
import { type Limits, measureLimits } from "./limits.ts";
import { have, loadAverage } from "./proc.ts";
import { renderReport, type ReportInput } from "./render.ts";
import { profileTable, summarizeProfile } from "./profile_summary.ts";
import * as W from "./workloads.ts";

const REPO = new URL("../../../", import.meta.url).pathname;
const ALL = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8"];

/** Parsed command line. */
export interface ReportOptions {
  mode: "full" | "quick" | "smoke";
  only: Set<string>;
  out: string;
  /** Also write the raw figures as JSON here (the smoke test reads them). */
  json?: string;
  profile: boolean;
  /** W6's partition count instead of the mode's (10,000 in a full run). */
  w6Partitions?: number;
  /** Measure nothing: render the report again from a `--json` file of an earlier run. */
  fromJson?: string;
  /** Which Kafka-protocol brokers to measure (both unless `--systems` says); NATS and Redis go with W7. */
  systems: Set<"samsa" | "kafka">;
}

/** Parses the runner's flags. */
export function parseArgs(args: string[]): ReportOptions {
  let mode: ReportOptions["mode"] = "full";
  let only = new Set(ALL);
  let out: string | undefined;
  let profile = true;
  let json: string | undefined;
  let w6Partitions: number | undefined;
  let fromJson: string | undefined;
  let systems = new Set<string>(["samsa", "kafka"]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--quick") mode = "quick";
    else if (a === "--smoke") mode = "smoke";
    else if (a === "--only") only = new Set(args[++i].split(",").map((s) => s.trim().toUpperCase()));
    else if (a.startsWith("--only=")) only = new Set(a.slice(7).split(",").map((s) => s.trim().toUpperCase()));
    else if (a === "--out") out = args[++i];
    else if (a === "--json") json = args[++i];
    else if (a === "--w6-partitions") w6Partitions = Number(args[++i]);
    else if (a === "--from-json") fromJson = args[++i];
    else if (a === "--no-profile") profile = false;
    else if (a === "--systems") systems = new Set(args[++i].split(",").map((s) => s.trim().toLowerCase()));
    else throw new Error(`unknown flag ${a}`);
  }
  if (mode === "smoke") profile = false;
  for (const w of only) if (!ALL.includes(w)) throw new Error(`unknown workload ${w} (known: ${ALL.join(",")})`);
  out ??= mode === "smoke"
    ? Deno.makeTempFileSync({ prefix: "samsa-report-", suffix: ".md" })
    : `${REPO}docs/PERFORMANCE.md`;
  for (const s of systems) if (s !== "samsa" && s !== "kafka") throw new Error(`unknown system ${s} (samsa, kafka)`);
  if (w6Partitions !== undefined && !(w6Partitions > 0)) throw new Error("--w6-partitions wants a positive number");
  return {
    mode,
    only,
    out,
    json,
    profile,
    w6Partitions,
    fromJson,
    systems: systems as Set<"samsa" | "kafka">,
  };
}

function log(line: string): void {
  console.error(`[report ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

async function text(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const s = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return s.trim();
  } catch {
    return "(not installed)";
  }
}

async function machine(dir: string): Promise<Record<string, string>> {
  const mem = Deno.readTextFileSync("/proc/meminfo").match(/MemTotal:\s+(\d+)/)?.[1];
  const cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
  const mount = await text("findmnt", ["-no", "SOURCE,FSTYPE,OPTIONS", "-T", dir]);
  const dev = mount.split(" ")[0].replace("/dev/", "").replace(/\d+$/, "");
  const rotational = await Deno.readTextFile(`/sys/block/${dev}/queue/rotational`).catch(() => "?");
  return {
    cpus: `${navigator.hardwareConcurrency} (${cpu})`,
    memory: `${(Number(mem) / 1024 / 1024).toFixed(1)} GiB`,
    disk: `${mount.split(" ").slice(0, 2).join(" ")} (rotational=${rotational.trim()}), data under ${dir}`,
    kernel: await text("uname", ["-r"]),
  };
}

async function versions(): Promise<Record<string, string>> {
  const pom = await Deno.readTextFile(`${REPO}tests/compat/kafka/pom.xml`);
  const nats = await findNatsServer();
  return {
    samsa: `${JSON.parse(await Deno.readTextFile(`${REPO}deno.json`)).version} (this tree, ${await text("git", [
      "-C",
      REPO,
      "rev-parse",
      "--short",
      "HEAD",
    ])} + uncommitted work)`,
    deno: Deno.version.deno,
    "Apache Kafka": pom.match(/<kafka.version>(.*)<\/kafka.version>/)?.[1] ?? "?",
    "Apache Kafka (W5's three brokers)": kafkaClusterVersion(),
    java: (await text("java", ["-version"])).split("\n")[0],
    "librdkafka (confluent-kafka)": await text("python3", [
      "-c",
      "import confluent_kafka as c; print(c.libversion()[0], '/ confluent-kafka', c.version()[0])",
    ]),
    kcat: (await text("kcat", ["-V"])).split("\n")[0],
    "nats-server": nats ? `${nats.version} (${nats.path})` : "(not installed)",
    "redis-server": (await text("redis-server", ["--version"])).split(" ").slice(0, 3).join(" "),
    fio: await text("fio", ["--version"]),
    iperf3: (await text("iperf3", ["--version"])).split("\n")[0],
  };
}

/** One workload step: measures its cases on a started broker. */
type Step = (t: W.Target) => Promise<W.Run[]>;

/** A broker this runner starts, fresh in the data folder it is given. */
interface Starter {
  system: string;
  start: (dataDir: string) => Promise<Broker>;
}

/** Runs the chosen workloads against one started broker, then stops it. Never throws. */
async function onBroker(
  system: string,
  start: () => Promise<Broker>,
  steps: Step[],
  scale: W.Scale,
  runs: W.Run[],
  notes: string[],
): Promise<void> {
  if (steps.length === 0) return;
  let broker: Broker;
  try {
    log(`starting ${system} (load ${loadAverage()})`);
    broker = await start();
  } catch (e) {
    notes.push(`${system} did not start: ${(e as Error).message.slice(0, 400)}`);
    log(`${system} did not start: ${(e as Error).message}`);
    return;
  }
  const t: W.Target = { system, broker, scale, log };
  for (const step of steps) {
    try {
      runs.push(...await step(t));
    } catch (e) {
      const message = (e as Error).message.slice(0, 400);
      notes.push(`${system} ${step.name}: ${message}`);
      log(`${system} ${step.name} failed: ${message}`);
    }
  }
  await broker.stop().catch((e) => notes.push(`${system} stop: ${(e as Error).message}`));
  // Repeated GiB-sized runs add up: free the disk before the next broker starts (its log file stays).
  await Deno.remove(broker.dataDir, { recursive: true }).catch(() => {});
}

/** The whole report; returns what was rendered. */
export async function runReport(options: ReportOptions): Promise<ReportInput> {
  const began = Date.now();
  const scale = { ...W.SCALES[options.mode] };
  if (options.w6Partitions) scale.w6Partitions = options.w6Partitions;
  const root = await Deno.makeTempDir({ prefix: "samsa-report-" });
  const runs: W.Run[] = [];
  const notes: string[] = [];
  const want = (w: string) => options.only.has(w);
  const lifetime = options.mode === "full" ? 1500 : 600;
  const machineInfo = await machine(root);
  log(`mode ${options.mode}, workloads ${[...options.only].join(",")}, data in ${root}, out ${options.out}`);

  let limits: Limits;
  try {
    limits = await measureLimits(root, options.mode);
  } catch (e) {
    limits = { notes: [`limits failed: ${(e as Error).message}`] };
  }
  notes.push(...limits.notes);
  log(`limits ${JSON.stringify(limits)}`);

  const kafkaOk = options.mode !== "smoke" && options.systems.has("kafka") && await have("java");
  const samsaOk = options.systems.has("samsa");
  const flush1 = { "log.flush.interval.messages": 1 };
  const phaseA = [want("W1") && W.w1, want("W2") && W.w2, want("W4") && W.w4].filter((s) => s !== false);
  // Kafka-protocol brokers, each started fresh for every round and every bulk workload.
  const samsa: Starter = { system: "Samsa", start: (dataDir) => startSamsa({ dataDir, maxLifetimeS: lifetime }) };
  const kafkaDefault: Starter = {
    system: "Kafka default",
    start: (dataDir) => startKafka({ dataDir, maxLifetimeS: lifetime }),
  };
  const kafkaFlush: Starter = {
    system: "Kafka flush/append",
    start: (dataDir) => startKafka({ dataDir, maxLifetimeS: lifetime, settings: flush1 }),
  };
  if (!kafkaOk && options.mode !== "smoke" && options.systems.has("kafka")) notes.push("java not found: Kafka skipped");
  /** Runs `steps` on a fresh broker of `b`, in a data folder named after the system and `tag`. */
  const onFresh = (b: Starter, tag: string, steps: Step[], into: W.Run[]) =>
    onBroker(
      b.system,
      () => b.start(`${root}/${b.system.replace(/\W+/g, "-").toLowerCase()}-${tag}`),
      steps,
      scale,
      into,
      notes,
    );

  // Rounds in rotating order (Samsa first in round 1, second in round 2, ...), each system on a fresh broker, so no
  // system always runs right after the limits' fio writes or always after another system's GiB; the median of the
  // rounds is reported.
  const producers = [...(samsaOk ? [samsa] : []), ...(kafkaOk ? [kafkaDefault, kafkaFlush] : [])];
  const roundRuns: W.Run[] = [];
  for (let round = 0; round < scale.repeats; round++) {
    const k = round % producers.length;
    for (const p of [...producers.slice(k), ...producers.slice(0, k)]) await onFresh(p, `a${round}`, phaseA, roundRuns);
  }
  runs.push(...W.medianRuns(roundRuns));

  // W5: three-broker clusters at RF=3, each system once on fresh nodes (fsync-sensitive, so before the bulk writes);
  // the failover kills run on Samsa and on Kafka with its defaults (a flush per append does not change how fast
  // Kafka elects a new leader).
  if (want("W5")) {
    // A node that is never killed lives through every case and every kill: give it more than one workload's time.
    const clusterLifetime = options.mode === "full" ? 3600 : 1200;
    const clusters: [Starter, Step[]][] = [];
    if (samsaOk) {
      clusters.push([{
        system: "Samsa",
        start: (dataDir) => startSamsaCluster({ dataDir, maxLifetimeS: clusterLifetime }),
      }, [
        W.w5,
        w5Failover,
      ]]);
    }
    if (kafkaOk) {
      clusters.push(
        [
          {
            system: "Kafka default",
            start: (dataDir) => startKafkaCluster({ dataDir, maxLifetimeS: clusterLifetime }),
          },
          [
            W.w5,
            w5Failover,
          ],
        ],
        [{
          system: "Kafka flush/append",
          start: (dataDir) => startKafkaCluster({ dataDir, maxLifetimeS: clusterLifetime, settings: flush1 }),
        }, [W.w5]],
      );
    }
    for (const [b, steps] of clusters) await onFresh(b, "w5", steps, runs);
  }

  if (want("W7") && options.mode !== "smoke") {
    const nats = await findNatsServer();
    if (!nats) notes.push("NATS skipped: nats-server is not installed (Debian package nats-server)");
    else {
      if (!nats.syncAlways) {
        notes.push(
          `nats-server ${nats.version} has no sync_interval (2.10+): JetStream ran with its default sync (every 2 min), NOT fsync per message`,
        );
      }
      const steps = [want("W1") && W.natsW1, want("W4") && W.natsW4].filter((s) => s !== false);
      await onBroker(
        "NATS JetStream",
        () =>
          startNats({
            dataDir: `${root}/nats`,
            maxLifetimeS: lifetime,
            binary: nats.path,
            syncAlways: nats.syncAlways,
          }),
        steps,
        scale,
        runs,
        notes,
      );
    }
    if (!await have("redis-server")) {
      notes.push("Redis skipped: redis-server is not installed (Debian package redis-server)");
    } else {
      const steps = [want("W1") && W.redisW1, want("W4") && W.redisW4].filter((s) => s !== false);
      await onBroker(
        "Redis Streams",
        () => startRedis({ dataDir: `${root}/redis`, maxLifetimeS: lifetime }),
        steps,
        scale,
        runs,
        notes,
      );
    }
  }

  // W3 and W6 each on fresh brokers: an idle broker with 10,000 partitions is measured as such, not while it is
  // still settling after W3's 2 GiB.
  for (const [step, tag] of [[want("W3") && W.w3, "w3"], [want("W6") && W.w6, "w6"]] as const) {
    if (step === false) continue;
    for (const b of [...(samsaOk ? [samsa] : []), ...(kafkaOk ? [kafkaDefault] : [])]) {
      await onFresh(b, tag, [step], runs);
    }
  }

  let profile: string | undefined;
  if (options.profile && samsaOk && (want("W1") || want("W2"))) {
    const profDir = `${root}/cpuprof`;
    const profRuns: W.Run[] = [];
    const steps = [want("W1") && W.w1, want("W2") && W.w2].filter((s) => s !== false);
    await onBroker(
      "Samsa --cpu-prof",
      () => startSamsa({ dataDir: `${root}/samsa-p`, maxLifetimeS: lifetime, cpuProfDir: profDir }),
      steps,
      scale,
      profRuns,
      notes,
    );
    const files = [...Deno.readDirSync(profDir)].filter((f) => f.name.endsWith(".cpuprofile"));
    if (files.length === 0) notes.push("the CPU profile was not written (did Samsa exit cleanly?)");
    else {
      const file = `${profDir}/${files[0].name}`;
      const summary = summarizeProfile(JSON.parse(await Deno.readTextFile(file)), 30);
      const saved = `${REPO}.cache/samsa-w1-w2.cpuprofile`;
      await Deno.mkdir(`${REPO}.cache`, { recursive: true });
      await Deno.copyFile(file, saved);
      const during = profRuns.map((r) =>
        `${r.workload} ${r.case}: ${(r.figures.records_per_s ?? NaN).toFixed(0)} rec/s`
      );
      profile = `Profile of one Samsa process under ${steps.map((s) => s.name.toUpperCase()).join(" + ")} ` +
        `(${during.join("; ")}; profiling slows it down). Total ${(summary.totalMs / 1000).toFixed(1)} s sampled, ` +
        `${
          summary.idlePct.toFixed(1)
        } % idle. Saved as \`.cache/samsa-w1-w2.cpuprofile\` (open in Chrome DevTools).\n\n` +
        profileTable(summary);
    }
  }

  await Deno.remove(root, { recursive: true }).catch(() => {});
  const input: ReportInput = {
    date: new Date(began).toISOString(),
    durationS: (Date.now() - began) / 1000,
    mode: options.mode,
    command: `deno task bench:report ${Deno.args.join(" ")}`.trim(),
    machine: machineInfo,
    versions: await versions(),
    limits,
    runs,
    notes,
    profile,
    scale,
  };
  await writeReport(input, options.out);
  if (options.json) await Deno.writeTextFile(options.json, JSON.stringify(input, null, 2));
  log(`wrote ${options.out} in ${input.durationS.toFixed(0)} s`);
  return input;
}

/** Writes `input` as the report at `out`, keeping the manual part of the file that is there. */
async function writeReport(input: ReportInput, out: string): Promise<void> {
  let previous = "";
  try {
    previous = await Deno.readTextFile(out);
  } catch { /* first report */ }
  await Deno.writeTextFile(out, renderReport(input, previous));
  // The repository's `deno fmt --check` covers Markdown: leave the report formatted.
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", "--line-width=120", out],
    cwd: REPO,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!fmt.success) log(`deno fmt ${out} failed: ${new TextDecoder().decode(fmt.stderr).slice(0, 300)}`);
}

if (import.meta.main) {
  const options = parseArgs(Deno.args);
  if (options.fromJson) await writeReport(JSON.parse(await Deno.readTextFile(options.fromJson)), options.out);
  else await runReport(options);
  console.log(options.out);
}
