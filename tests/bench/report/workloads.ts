/**
 * The workloads of the report. Kafka-protocol brokers (Samsa, Apache Kafka) are driven by the same clients:
 * Kafka's ProducerPerformance (W1, W2, and the W3 fill), kcat (W3 consume: Samsa has no group coordinator, so
 * ConsumerPerformance, which subscribes, cannot run against it), and librdkafka via confluent-kafka (W4, topic
 * creation). NATS and Redis get W1 and W4 with their own clients (others_client.py, redis-benchmark).
 *
 * @module
 */

import type { Broker } from "./brokers.ts";
import { BrokerWatch, cpuSeconds, loadAverage, rssKiB, runTimed, sleep, type Usage } from "./proc.ts";

const HERE = new URL(".", import.meta.url).pathname;
const KAFKA_SH = new URL("../../compat/kafka/kafka.sh", import.meta.url).pathname;

/** One measured run: what ran, against what, what it achieved and what it cost. */
export interface Run {
  system: string;
  workload: string;
  case: string;
  /** /proc/loadavg when the run began (other engineers share this machine). */
  load: string;
  figures: Record<string, number | undefined>;
  client?: Usage;
  brokerCpuS?: number;
  brokerPeakRssKiB?: number;
  /** Payload bytes moved, for CPU seconds per GB. */
  bytes?: number;
  error?: string;
}

/** Counts and durations; `full` is the default run, `quick` and `smoke` shrink it. */
export interface Scale {
  w1Records: number;
  w2Records: number;
  w3Bytes: number;
  w4Rate: number;
  w4Seconds: number;
  w6Partitions: number;
  w6IdleS: number;
}

export const SCALES: Record<"full" | "quick" | "smoke", Scale> = {
  full: {
    w1Records: 200_000,
    w2Records: 2_000_000,
    w3Bytes: 2 * 1024 ** 3,
    w4Rate: 20_000,
    w4Seconds: 20,
    w6Partitions: 10_000,
    w6IdleS: 10,
  },
  quick: {
    w1Records: 20_000,
    w2Records: 200_000,
    w3Bytes: 64 * 1024 ** 2,
    w4Rate: 20_000,
    w4Seconds: 5,
    w6Partitions: 500,
    w6IdleS: 5,
  },
  smoke: {
    w1Records: 2_000,
    w2Records: 20_000,
    w3Bytes: 4 * 1024 ** 2,
    w4Rate: 2_000,
    w4Seconds: 2,
    w6Partitions: 20,
    w6IdleS: 2,
  },
};

/** The context of one system's runs. */
export interface Target {
  system: string;
  broker: Broker;
  scale: Scale;
  log: (line: string) => void;
}

/** Runs a client under GNU time while watching the broker; never throws (a failure becomes `error`). */
async function measured(
  t: Target,
  workload: string,
  label: string,
  cmd: string[],
  timeoutS: number,
  parse: (stdout: string) => Record<string, number | undefined>,
  bytes?: number,
): Promise<Run> {
  const run: Run = { system: t.system, workload, case: label, load: loadAverage(), figures: {} };
  t.log(`${t.system} ${workload} ${label} (load ${run.load})`);
  const watch = new BrokerWatch(t.broker.pid());
  try {
    const r = await runTimed(cmd, { timeoutS });
    run.client = r.usage;
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${(r.stderr + r.stdout).trim().slice(-600)}`);
    run.figures = parse(r.stdout);
    run.bytes = bytes;
  } catch (e) {
    run.error = (e as Error).message;
    t.log(`  failed: ${run.error}`);
  } finally {
    const w = watch.stop();
    run.brokerCpuS = w.cpuS;
    run.brokerPeakRssKiB = w.peakRssKiB;
  }
  t.log(`  ${JSON.stringify(run.figures)}`);
  return run;
}

async function python(script: string, args: (string | number)[], timeoutS: number): Promise<unknown> {
  const r = await runTimed(["python3", `${HERE}${script}`, ...args.map(String)], { timeoutS });
  if (r.code !== 0) {
    // A Python traceback's last line holds the exception and its message.
    const last = r.stderr.trim().split("\n").pop() ?? "";
    throw new Error(`${script} ${args[0]} failed: ${last.slice(0, 600)}`);
  }
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

/** Creates a topic through librdkafka and waits until every partition has a leader. */
export async function createTopic(t: Target, topic: string, partitions: number, timeoutS = 120): Promise<number> {
  const out = await python("kafka_client.py", ["create", t.broker.address, topic, partitions, timeoutS], timeoutS + 30);
  const { ready, seconds } = out as { ready: boolean; seconds: number };
  if (!ready) throw new Error(`topic ${topic} (${partitions} partitions) not ready after ${seconds}s`);
  return seconds;
}

const PERF_LINE =
  /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th/;

function producerPerformance(
  t: Target,
  topic: string,
  records: number,
  size: number,
  acks: string,
  extra: string[] = [],
): string[] {
  return [
    "bash",
    KAFKA_SH,
    "run",
    "org.apache.kafka.tools.ProducerPerformance",
    "--topic",
    topic,
    "--num-records",
    String(records),
    "--record-size",
    String(size),
    "--throughput",
    "-1",
    "--command-property",
    `bootstrap.servers=${t.broker.address}`,
    `acks=${acks}`,
    ...extra,
  ];
}

/**
 * W1's third case: a client that is not the limit. With the defaults (batch.size 16 KiB, 5 requests in flight) one
 * partition never has more than ~80 KiB in flight, so an fsync round can never cover more than that.
 */
export const W1_BIG_BATCH = ["batch.size=1048576", "linger.ms=10"];

function parsePerf(size: number) {
  return (stdout: string) => {
    const lines = stdout.trim().split("\n").filter((l) => PERF_LINE.test(l));
    const m = lines.pop()?.match(PERF_LINE);
    if (!m) throw new Error(`no ProducerPerformance summary in: ${stdout.slice(-300)}`);
    const rps = Number(m[2]);
    return {
      records: Number(m[1]),
      records_per_s: rps,
      MBps: rps * size / 1e6,
      avg_ms: Number(m[4]),
      p50_ms: Number(m[6]),
      p99_ms: Number(m[8]),
      max_ms: Number(m[5]),
    };
  };
}

/** W1: 1 KiB records, acks=all, to 1 and to 16 partitions. */
export async function w1(t: Target): Promise<Run[]> {
  const runs: Run[] = [];
  const cases = [
    { partitions: 1, extra: [] as string[], suffix: "" },
    { partitions: 16, extra: [] as string[], suffix: "" },
    { partitions: 1, extra: W1_BIG_BATCH, suffix: ` + ${W1_BIG_BATCH.join(" ")}` },
  ];
  for (const { partitions, extra, suffix } of cases) {
    const topic = `w1-p${partitions}${extra.length ? "-big" : ""}`;
    await createTopic(t, topic, partitions);
    const n = t.scale.w1Records;
    runs.push(
      await measured(
        t,
        "W1",
        `1 KiB acks=all, ${partitions} partition${partitions > 1 ? "s" : ""}${suffix}`,
        producerPerformance(t, topic, n, 1024, "all", extra),
        300,
        parsePerf(1024),
        n * 1024,
      ),
    );
  }
  return runs;
}

/** W2: 100-byte records, acks=1, 16 partitions. */
export async function w2(t: Target): Promise<Run[]> {
  await createTopic(t, "w2", 16);
  const n = t.scale.w2Records;
  const cmd = producerPerformance(t, "w2", n, 100, "1");
  return [await measured(t, "W2", "100 B acks=1, 16 partitions", cmd, 300, parsePerf(100), n * 100)];
}

/** W3: fill a 16-partition topic (acks=1, 1 KiB), then read it all back from the page cache with kcat. */
export async function w3(t: Target): Promise<Run[]> {
  await createTopic(t, "w3", 16);
  const n = Math.ceil(t.scale.w3Bytes / 1024);
  const fill = await measured(
    t,
    "W3 fill",
    "1 KiB acks=1, 16 partitions",
    producerPerformance(t, "w3", n, 1024, "1"),
    600,
    parsePerf(1024),
    n * 1024,
  );
  if (fill.error) return [fill];
  const total = n * 1024;
  const kcat = `kcat -C -b ${t.broker.address} -t w3 -o beginning -e -q -f '%s' | wc -c`;
  const consume = await measured(
    t,
    "W3",
    `consume ${fmtBytes(total)} (kcat, 16 partitions)`,
    ["bash", "-c", kcat],
    600,
    (stdout) => {
      const got = Number(stdout.trim());
      if (got !== total) throw new Error(`kcat read ${got} bytes, expected ${total}`);
      return { bytes: got };
    },
    total,
  );
  if (!consume.error && consume.client) {
    consume.figures.MBps = total / 1e6 / consume.client.wallS;
    consume.figures.seconds = consume.client.wallS;
  }
  return [fill, consume];
}

/** W4: end-to-end latency at a fixed rate of 1 KiB records, acks=all, one partition (librdkafka both sides). */
export async function w4(t: Target): Promise<Run[]> {
  await createTopic(t, "w4", 1);
  const { w4Rate: rate, w4Seconds: seconds } = t.scale;
  const cmd = [
    "python3",
    `${HERE}kafka_client.py`,
    "e2e",
    t.broker.address,
    "w4",
    String(rate),
    String(seconds),
    "1024",
    "all",
  ];
  return [
    await measured(
      t,
      "W4",
      `${rate} rec/s of 1 KiB acks=all, ${seconds}s`,
      cmd,
      seconds + 90,
      parseJsonLast,
      rate * seconds * 1024,
    ),
  ];
}

function parseJsonLast(stdout: string): Record<string, number | undefined> {
  const out = JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, number | null>;
  const figures: Record<string, number | undefined> = {};
  for (const [k, v] of Object.entries(out)) figures[k] = v ?? undefined;
  // A broker that cannot keep up with the rate delivers fewer records in the time allowed: a result, not a failure.
  if (figures.sent !== undefined && figures.received !== undefined) {
    figures.delivered_pct = figures.sent > 0 ? figures.received / figures.sent * 100 : undefined;
  }
  return figures;
}

/**
 * W6: many partitions on one broker: create them, then idle CPU % and RSS, clean stop, restart (until the port
 * accepts and until every partition has a leader), RSS after the restart.
 */
export async function w6(t: Target): Promise<Run[]> {
  const partitions = t.scale.w6Partitions;
  const run: Run = {
    system: t.system,
    workload: "W6",
    case: `${partitions} partitions`,
    load: loadAverage(),
    figures: {},
  };
  t.log(`${t.system} W6 ${partitions} partitions (load ${run.load})`);
  try {
    // Kafka refuses a CreateTopics of more than 10,000 partition records: topics of at most 1,000 partitions.
    const topics = Math.ceil(partitions / 1000);
    const each = Math.ceil(partitions / topics);
    const created = await python(
      "kafka_client.py",
      ["create-many", t.broker.address, "w6", topics, each, 600],
      660,
    ) as {
      ready: boolean;
      seconds: number;
    };
    if (!created.ready) throw new Error(`partitions not all led after ${created.seconds}s`);
    run.figures.create_s = created.seconds;
    await sleep(3000);
    const pid = t.broker.pid();
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    await sleep(t.scale.w6IdleS * 1000);
    run.figures.idle_cpu_pct = (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000) * 100;
    run.figures.rss_MiB = rssKiB(pid) / 1024;
    run.figures.open_fds = openFds(pid);
    run.figures.nofile_limit = nofileLimit(pid);
    run.figures.stop_s = await t.broker.stop();
    const start = performance.now();
    run.figures.restart_listen_s = await t.broker.restart();
    const ready = await python("kafka_client.py", ["wait-many", t.broker.address, "w6", topics, each, 300], 330) as {
      ready: boolean;
    };
    if (!ready.ready) throw new Error("partitions not all led after the restart");
    run.figures.restart_ready_s = (performance.now() - start) / 1000;
    await sleep(2000);
    run.figures.rss_after_restart_MiB = rssKiB(t.broker.pid()) / 1024;
  } catch (e) {
    const pid = t.broker.pid();
    run.error = `${(e as Error).message} (broker holds ${openFds(pid) ?? "?"} fds, limit ${nofileLimit(pid) ?? "?"})`;
    t.log(`  failed: ${run.error}`);
  }
  t.log(`  ${JSON.stringify(run.figures)}`);
  return [run];
}

/** A process's soft open-file limit. */
function nofileLimit(pid: number): number | undefined {
  try {
    const line = Deno.readTextFileSync(`/proc/${pid}/limits`).split("\n").find((l) => l.startsWith("Max open files"));
    return line ? Number(line.split(/\s{2,}/)[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** How many file descriptors a process holds. */
function openFds(pid: number): number | undefined {
  try {
    return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
  } catch {
    return undefined;
  }
}

/** W1 against NATS JetStream: 1 KiB publishes with acks, 256 in flight (nats-py). */
export async function natsW1(t: Target): Promise<Run[]> {
  const n = t.scale.w1Records;
  const cmd = ["python3", `${HERE}others_client.py`, "nats-pub", t.broker.address, String(n), "1024", "256"];
  const run = await measured(t, "W1", "1 KiB with acks, 1 stream (nats-py, 256 in flight)", cmd, 300, (stdout) => {
    const f = parseJsonLast(stdout);
    return { ...f, MBps: (f.records_per_s ?? 0) * 1024 / 1e6 };
  }, n * 1024);
  return [run];
}

/** W4 against NATS JetStream: paced publishes, ordered push consumer. */
export async function natsW4(t: Target): Promise<Run[]> {
  const { w4Rate: rate, w4Seconds: seconds } = t.scale;
  const cmd = [
    "python3",
    `${HERE}others_client.py`,
    "nats-e2e",
    t.broker.address,
    String(rate),
    String(seconds),
    "1024",
  ];
  return [await measured(t, "W4", `${rate} rec/s of 1 KiB, ${seconds}s (nats-py)`, cmd, seconds + 90, parseJsonLast)];
}

/** W1 against Redis Streams: XADD of 1 KiB with redis-benchmark (C), 16 connections x 16 pipelined. */
export async function redisW1(t: Target): Promise<Run[]> {
  const n = t.scale.w1Records;
  const cmd = [
    "redis-benchmark",
    "-h",
    "127.0.0.1",
    "-p",
    String(t.broker.port),
    "-n",
    String(n),
    "-c",
    "16",
    "-P",
    "16",
    "--csv",
    "XADD",
    "w1",
    "*",
    "d",
    "x".repeat(1024),
  ];
  const run = await measured(
    t,
    "W1",
    "XADD 1 KiB, 1 stream (redis-benchmark, 16 conns x 16 pipelined)",
    cmd,
    300,
    (stdout) => {
      const lines = stdout.trim().split("\n");
      const header = lines[0].split('","').map((s) => s.replaceAll('"', ""));
      const values = lines[lines.length - 1].split('","').map((s) => s.replaceAll('"', ""));
      const get = (k: string) => Number(values[header.indexOf(k)]);
      const rps = get("rps");
      return {
        records: n,
        records_per_s: rps,
        MBps: rps * 1024 / 1e6,
        p50_ms: get("p50_latency_ms"),
        p99_ms: get("p99_latency_ms"),
      };
    },
    n * 1024,
  );
  return [run];
}

/** W4 against Redis Streams: paced pipelined XADD, XREAD BLOCK consumer (redis-py). */
export async function redisW4(t: Target): Promise<Run[]> {
  const { w4Rate: rate, w4Seconds: seconds } = t.scale;
  const cmd = [
    "python3",
    `${HERE}others_client.py`,
    "redis-e2e",
    "127.0.0.1",
    String(t.broker.port),
    String(rate),
    String(seconds),
    "1024",
  ];
  return [await measured(t, "W4", `${rate} rec/s of 1 KiB, ${seconds}s (redis-py)`, cmd, seconds + 90, parseJsonLast)];
}

/** `2.0 GiB`, `64 MiB`. */
export function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  return `${Math.round(n / 1024 ** 2)} MiB`;
}
