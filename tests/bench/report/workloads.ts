/**
 * The workloads of the report. Kafka-protocol brokers (Samsa, Apache Kafka) are driven by the same clients:
 * Kafka's ProducerPerformance (W1, W2, and the W3 fill), librdkafka's kcat (W1 and W2 again, with librdkafka's
 * deep pipeline: `kcat -P -l FILE`, batches up to 1 MB; and the W3 read, group-less), Kafka's ConsumerPerformance
 * (W3 again, through a consumer group), and librdkafka via confluent-kafka (W4, topic creation, offsets). NATS and
 * Redis get W1 and W4 with their own clients (others_client.py, redis-benchmark).
 *
 * Each workload function measures every case once; main.ts repeats W1, W2 and W4 in `Scale.repeats` rounds and
 * `medianRuns` keeps the run with the median figure (records/s, or W4's p99) and the range of all (`Run.spread`).
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
  /** Repeated measurements inside one run (W5 failover: each kill's time to the next acknowledgement, ms). */
  samples?: number[];
  /** What went wrong in a run that still measured something (W5 failover: a kill that was not answered). */
  remarks?: string;
  /** Set on the median run of a repeated case: the metric it was chosen by and every run's value of it. */
  spread?: { metric: string; values: number[]; failed?: number };
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
  /** W6 waits this long after the partitions are led before it measures idle CPU. */
  w6SettleS: number;
  /** Runs of each W1, W2 and W4 case (Samsa and Kafka); the report shows the median. */
  repeats: number;
  /** W1 with librdkafka (kcat): records of 1 KiB per run (1 GiB in a full run). */
  rdW1Records: number;
  /** W2 with librdkafka (kcat): records of 100 B per run. */
  rdW2Records: number;
  /** A kcat produce run is killed after this many seconds and counts what the broker acknowledged by then. */
  rdBoundS: number;
  /** W5's failover: leaders killed (kill -9) one after another, each brought back before the next. */
  w5Kills: number;
  /** W5's failover: the paced producer's rate, records/s of 1 KiB. */
  w5FailoverRate: number;
  /** W5's failover: how long a kill waits for the next acknowledgement (and, before it, for all replicas in sync). */
  w5WaitS: number;
}

export const SCALES: Record<"full" | "quick" | "smoke", Scale> = {
  full: {
    w1Records: 200_000,
    w2Records: 2_000_000,
    w3Bytes: 2 * 1024 ** 3,
    w4Rate: 20_000,
    w4Seconds: 20,
    w6Partitions: 10_000,
    w6IdleS: 30,
    w6SettleS: 20,
    repeats: 3,
    rdW1Records: 1024 * 1024,
    rdW2Records: 5_000_000,
    rdBoundS: 20,
    w5Kills: 5,
    w5FailoverRate: 1000,
    w5WaitS: 60,
  },
  quick: {
    w1Records: 20_000,
    w2Records: 200_000,
    w3Bytes: 64 * 1024 ** 2,
    w4Rate: 20_000,
    w4Seconds: 5,
    w6Partitions: 500,
    w6IdleS: 5,
    w6SettleS: 5,
    repeats: 1,
    rdW1Records: 128 * 1024,
    rdW2Records: 1_000_000,
    rdBoundS: 10,
    w5Kills: 3,
    w5FailoverRate: 1000,
    w5WaitS: 60,
  },
  smoke: {
    w1Records: 2_000,
    w2Records: 20_000,
    w3Bytes: 4 * 1024 ** 2,
    w4Rate: 2_000,
    w4Seconds: 2,
    w6Partitions: 20,
    w6IdleS: 2,
    w6SettleS: 1,
    repeats: 1,
    rdW1Records: 4096,
    rdW2Records: 20_000,
    rdBoundS: 10,
    w5Kills: 1,
    w5FailoverRate: 200,
    w5WaitS: 10,
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
  // Start every run with no dirty pages: the write-back of an earlier run's GiB (Kafka default never fsyncs)
  // would otherwise compete with this run's fsyncs, and it would fall on whichever system runs next.
  await runTimed(["sync"], { timeoutS: 120 }).catch(() => {});
  const watch = new BrokerWatch(t.broker.pids?.() ?? t.broker.pid());
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

export async function python(script: string, args: (string | number)[], timeoutS: number): Promise<unknown> {
  const r = await runTimed(["python3", `${HERE}${script}`, ...args.map(String)], { timeoutS });
  if (r.code !== 0) {
    // A Python traceback's last line holds the exception and its message.
    const last = r.stderr.trim().split("\n").pop() ?? "";
    throw new Error(`${script} ${args[0]} failed: ${last.slice(0, 600)}`);
  }
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

/** Creates a topic through librdkafka and waits until every partition has a leader. */
export async function createTopic(
  t: Target,
  topic: string,
  partitions: number,
  timeoutS = 120,
  replicationFactor = 1,
): Promise<number> {
  const args = ["create", t.broker.address, topic, partitions, timeoutS, replicationFactor];
  const out = await python("kafka_client.py", args, timeoutS + 30);
  const { ready, seconds } = out as { ready: boolean; seconds: number };
  if (!ready) throw new Error(`topic ${topic} (${partitions} partitions) not ready after ${seconds}s`);
  return seconds;
}

/** Every partition's high watermark (for acks=all and acks=1 alike: what the broker acknowledged and will serve). */
export async function offsets(t: Target, topic: string, partitions: number): Promise<number[]> {
  const out = await python("kafka_client.py", ["offsets", t.broker.address, topic, partitions], 60);
  return (out as { offsets: number[] }).offsets;
}

/**
 * A file of `count` lines of `size` bytes (`size - 1` random printable bytes and a newline) for `kcat -P -l`: one
 * record per line, the newline is the delimiter, so each record carries `size - 1` bytes. Written once into
 * ~/.cache/samsa/bench (never into the repository) and reused by later runs.
 */
export async function payloadFile(size: number, count: number): Promise<string> {
  const dir = `${Deno.env.get("HOME") ?? "/tmp"}/.cache/samsa/bench`;
  const path = `${dir}/payload-${size}B-x${count}.txt`;
  try {
    if ((await Deno.stat(path)).size === size * count) return path;
  } catch { /* not written yet */ }
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.${Deno.pid}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    const perChunk = Math.max(1, Math.floor((4 << 20) / size));
    const chunk = new Uint8Array(perChunk * size);
    for (let done = 0; done < count;) {
      const n = Math.min(perChunk, count - done);
      const buf = chunk.subarray(0, n * size);
      for (let o = 0; o < buf.length; o += 65536) {
        crypto.getRandomValues(buf.subarray(o, Math.min(buf.length, o + 65536)));
      }
      for (let i = 0; i < buf.length; i++) buf[i] = 33 + buf[i] % 94;
      for (let i = size - 1; i < buf.length; i += size) buf[i] = 10;
      for (let w = 0; w < buf.length;) w += await file.write(buf.subarray(w));
      done += n;
    }
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
  return path;
}

/** The figure a repeated case is judged by: W4 by its p99 latency, the others by records/s. */
function medianMetric(workload: string): string {
  return workload === "W4" ? "p99_ms" : "records_per_s";
}

/**
 * Folds the runs of repeated rounds into one run per case: the run with the median figure (the lower middle one of
 * an even count of successful runs), with every successful run's value in `spread`, followed by the failed runs
 * (the report lists them). A case whose runs all failed keeps all of them. Order follows each case's first run.
 */
export function medianRuns(all: Run[]): Run[] {
  const byCase = new Map<string, Run[]>();
  for (const r of all) {
    const key = `${r.system}\u0000${r.workload}\u0000${r.case}`;
    const list = byCase.get(key);
    if (list) list.push(r);
    else byCase.set(key, [r]);
  }
  const out: Run[] = [];
  for (const runs of byCase.values()) {
    const metric = medianMetric(runs[0].workload);
    const good = runs.filter((r) => !r.error && Number.isFinite(r.figures[metric]));
    const bad = runs.filter((r) => !good.includes(r));
    if (runs.length <= 1 || good.length === 0) {
      out.push(...runs);
      continue;
    }
    const sorted = [...good].sort((a, b) => a.figures[metric]! - b.figures[metric]!);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    median.spread = { metric, values: good.map((r) => r.figures[metric]!) };
    if (bad.length) median.spread.failed = bad.length;
    out.push(median, ...bad);
  }
  return out;
}

/** Case labels, shared with render.ts (which finds runs by them). */
export const CASES = {
  w1: (partitions: number) => `1 KiB acks=all, ${partitions} partition${partitions > 1 ? "s" : ""}`,
  w1Big: () => `1 KiB acks=all, 1 partition + ${W1_BIG_BATCH.join(" ")}`,
  w1Rd: (partitions: number) => `${CASES.w1(partitions)}, librdkafka (kcat -P)`,
  w2: "100 B acks=1, 16 partitions",
  w2Rd: "100 B acks=1, 16 partitions, librdkafka (kcat -P)",
  w3Kcat: (bytes: number) => `consume ${fmtBytes(bytes)} (kcat, 16 partitions)`,
  w3Perf: (bytes: number) => `consume ${fmtBytes(bytes)} (kafka-consumer-perf-test, 16 partitions, consumer group)`,
  w5: (partitions: number) => `1 KiB acks=all, RF=3, ${partitions} partition${partitions > 1 ? "s" : ""}`,
  w5Rd: (partitions: number) => `${CASES.w5(partitions)}, librdkafka (kcat -P)`,
  w5Failover: (rate: number) =>
    `kill -9 of the leader, 1 partition RF=3, idempotent acks=all producer at ${rate} rec/s of 1 KiB (confluent-kafka)`,
};

/**
 * Produce with librdkafka's own pipeline: `kcat -P -l FILE` (one record per line; kcat's defaults batch up to 1 MB
 * with linger 5 ms and keep up to 100,000 records queued, so many MB are in flight) and exit after every delivery.
 * Time-bounded: a run still going after `Scale.rdBoundS` is killed (SIGKILL) and counts what the broker
 * acknowledged by then. Records are counted from the partitions' high watermarks before and after, so a run also
 * shows how kcat's partitioner spread them (`partitions_used`).
 */
async function kcatProduce(
  t: Target,
  workload: string,
  label: string,
  topic: string,
  partitions: number,
  size: number,
  count: number,
  acks: string,
): Promise<Run> {
  const file = await payloadFile(size, count);
  const before = await offsets(t, topic, partitions);
  const bound = t.scale.rdBoundS;
  const script = `timeout -s KILL ${bound} kcat -P -b ${t.broker.address} -t ${topic} -X acks=${acks} -l '${file}'; ` +
    `rc=$?; echo "rc=$rc"; [ $rc -eq 0 ] || [ $rc -eq 137 ]`;
  const run = await measured(t, workload, label, ["bash", "-c", script], bound + 60, (stdout) => ({
    exit: Number(stdout.match(/rc=(\d+)/)?.[1]),
  }));
  if (run.error || !run.client) return run;
  const timedOut = run.figures.exit === 137;
  let after = await offsets(t, topic, partitions);
  // acks=1 is answered before the high watermark moves (Samsa: before the fsync): wait for it briefly.
  for (let i = 0; i < 25 && !timedOut && sum(after) - sum(before) < count; i++) {
    await sleep(200);
    after = await offsets(t, topic, partitions);
  }
  const per = after.map((o, i) => o - before[i]);
  const records = sum(per);
  const seconds = run.client.wallS;
  run.figures = {
    records,
    records_per_s: records / seconds,
    MBps: records * size / 1e6 / seconds,
    seconds,
    timed_out: timedOut ? 1 : 0,
    partitions_used: per.filter((d) => d > 0).length,
  };
  run.bytes = records * size;
  if (!timedOut && records !== count) run.error = `kcat exited 0 but the broker acknowledged ${records} of ${count}`;
  t.log(`  ${JSON.stringify(run.figures)}${partitions > 1 ? ` per partition ${per.join(",")}` : ""}`);
  return run;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

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

/**
 * W1: 1 KiB records, acks=all: ProducerPerformance to 1 and 16 partitions and to 1 with 1 MiB batches, then
 * librdkafka (kcat) to 1 and 16 partitions, each case once.
 */
export async function w1(t: Target): Promise<Run[]> {
  const runs: Run[] = [];
  const cases = [
    { partitions: 1, extra: [] as string[], label: CASES.w1(1) },
    { partitions: 16, extra: [] as string[], label: CASES.w1(16) },
    { partitions: 1, extra: W1_BIG_BATCH, label: CASES.w1Big() },
  ];
  for (const { partitions, extra, label } of cases) {
    const topic = `w1-p${partitions}${extra.length ? "-big" : ""}`;
    await createTopic(t, topic, partitions);
    const n = t.scale.w1Records;
    runs.push(
      await measured(
        t,
        "W1",
        label,
        producerPerformance(t, topic, n, 1024, "all", extra),
        300,
        parsePerf(1024),
        n * 1024,
      ),
    );
  }
  for (const partitions of [1, 16]) {
    const topic = `w1-rd-p${partitions}`;
    await createTopic(t, topic, partitions);
    const n = t.scale.rdW1Records;
    runs.push(await kcatProduce(t, "W1", CASES.w1Rd(partitions), topic, partitions, 1024, n, "all"));
  }
  return runs;
}

/**
 * W5: W1's 1 KiB acks=all produce against a three-broker cluster, every partition replicated three times
 * (`min.insync.replicas=2`): ProducerPerformance and librdkafka (kcat) to 1 and 16 partitions, each case once.
 */
export async function w5(t: Target): Promise<Run[]> {
  const runs: Run[] = [];
  for (const partitions of [1, 16]) {
    const topic = `w5-p${partitions}`;
    await createTopic(t, topic, partitions, 120, 3);
    const n = t.scale.w1Records;
    const cmd = producerPerformance(t, topic, n, 1024, "all");
    // Three flushing brokers on one shared disk can be slow: 200,000 records took Kafka flush/append 258 s (12-2026).
    runs.push(await measured(t, "W5", CASES.w5(partitions), cmd, 600, parsePerf(1024), n * 1024));
  }
  for (const partitions of [1, 16]) {
    const topic = `w5-rd-p${partitions}`;
    await createTopic(t, topic, partitions, 120, 3);
    runs.push(await kcatProduce(t, "W5", CASES.w5Rd(partitions), topic, partitions, 1024, t.scale.rdW1Records, "all"));
  }
  return runs;
}

/** W2: 100-byte records, acks=1, 16 partitions: ProducerPerformance, then librdkafka (kcat). */
export async function w2(t: Target): Promise<Run[]> {
  await createTopic(t, "w2", 16);
  const n = t.scale.w2Records;
  const cmd = producerPerformance(t, "w2", n, 100, "1");
  const perf = await measured(t, "W2", CASES.w2, cmd, 300, parsePerf(100), n * 100);
  await createTopic(t, "w2-rd", 16);
  const rd = await kcatProduce(t, "W2", CASES.w2Rd, "w2-rd", 16, 100, t.scale.rdW2Records, "1");
  return [perf, rd];
}

const CONSUMER_PERF_LINE =
  /^[\d-]+ [\d:]+, [\d-]+ [\d:]+, ([\d.]+), ([\d.]+), (\d+), ([\d.]+), (\d+), (\d+), ([\d.]+), ([\d.]+)/m;

/**
 * W3: fill a 16-partition topic (acks=1, 1 KiB), then read it all back from the page cache: kcat (group-less,
 * assigns every partition; `-f '%p\n' | wc -l` prints 2-3 bytes a record, so the pipe costs nothing and the record
 * count is checked), then kafka-consumer-perf-test (the Java consumer in a group; its own rate excludes the JVM
 * start, `fetch.MB.sec` also the group join).
 */
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
  const kcat = `kcat -C -b ${t.broker.address} -t w3 -o beginning -e -q -f '%p\n' | wc -l`;
  const consume = await measured(
    t,
    "W3",
    CASES.w3Kcat(total),
    ["bash", "-c", kcat],
    600,
    (stdout) => {
      const got = Number(stdout.trim());
      if (got !== n) throw new Error(`kcat read ${got} records, expected ${n}`);
      return { records: got };
    },
    total,
  );
  if (!consume.error && consume.client) {
    consume.figures.MBps = total / 1e6 / consume.client.wallS;
    consume.figures.seconds = consume.client.wallS;
  }
  const perf = await measured(
    t,
    "W3",
    CASES.w3Perf(total),
    [
      "bash",
      KAFKA_SH,
      "run",
      "org.apache.kafka.tools.ConsumerPerformance",
      "--bootstrap-server",
      t.broker.address,
      "--topic",
      "w3",
      "--num-records",
      String(n),
      "--timeout",
      "60000",
    ],
    300,
    (stdout) => {
      const m = stdout.match(CONSUMER_PERF_LINE);
      if (!m) throw new Error(`no ConsumerPerformance summary in: ${stdout.slice(-300)}`);
      if (Number(m[3]) < n) throw new Error(`ConsumerPerformance read ${m[3]} records, expected ${n}`);
      // Its "MB" is MiB; MB.sec counts from before the group join to the last record, fetch.MB.sec without the join.
      return {
        records: Number(m[3]),
        MBps: Number(m[2]) * 1.048576,
        fetch_MBps: Number(m[7]) * 1.048576,
        rebalance_ms: Number(m[5]),
        seconds: Number(m[1]) / Number(m[2]),
      };
    },
    total,
  );
  return [fill, consume, perf];
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
    // Idle means settled: after creation a broker still works for a while (Samsa: one burst of ~160 ms of CPU about
    // 10 s after the last partition is led, measured second by second, then ~0.03 %), which is not what idling costs.
    await sleep(t.scale.w6SettleS * 1000);
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

/**
 * W4 against NATS JetStream: paced publishes, push consumer in its own process and connection. When NATS falls
 * behind the rate (with `sync_interval: always` it stores a few thousand 1 KiB messages a second here), once more on
 * a restarted server at a quarter of the rate, so the report shows NATS's latency at a lower load too (the consumer
 * receives every record NATS acknowledged: `received` = `acks` in the figures).
 */
export async function natsW4(t: Target): Promise<Run[]> {
  const { w4Rate, w4Seconds: seconds } = t.scale;
  const one = (rate: number, note: string) =>
    measured(
      t,
      "W4",
      `${rate} rec/s of 1 KiB, ${seconds}s (nats-py, consumer in its own process)${note}`,
      ["python3", `${HERE}others_client.py`, "nats-e2e", t.broker.address, String(rate), String(seconds), "1024"],
      seconds + 90,
      parseJsonLast,
    );
  const runs = [await one(w4Rate, "")];
  if (fellBehind(runs[0], w4Rate)) {
    // A server that fell behind keeps storing its backlog long after the publisher is gone: start it afresh.
    await t.broker.stop();
    await t.broker.restart();
    runs.push(await one(Math.round(w4Rate / 4), `, a quarter of the rate after falling behind at ${w4Rate}`));
  }
  return runs;
}

/**
 * Whether a W4 run did not keep its rate: it delivered less than 99 % of the records within the time allowed, or
 * took more than 10 % longer than the rate asks (a backlog drained after the publisher stopped).
 */
export function fellBehind(r: Run, rate: number): boolean {
  const f = r.figures;
  return (f.delivered_pct ?? 100) < 99 || (f.rate_achieved !== undefined && f.rate_achieved < 0.9 * rate);
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
