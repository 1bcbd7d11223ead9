/**
 * Renders the report as Markdown: the run, the machine's limits, every run's figures and costs, the targets of the
 * issue (met / not met with the measured ratio), notes, and the profile. A hand-written part between
 * `<!-- manual:begin -->` and `<!-- manual:end -->` in the previous file is carried over unchanged.
 *
 * @module
 */

import type { Limits } from "./limits.ts";
import { CASES, fellBehind, fmtBytes, type Run, type Scale } from "./workloads.ts";

/** Everything a report is made from. */
export interface ReportInput {
  date: string;
  durationS: number;
  mode: string;
  command: string;
  machine: Record<string, string>;
  versions: Record<string, string>;
  limits: Limits;
  runs: Run[];
  notes: string[];
  profile?: string;
  scale: Scale;
}

const MANUAL_BEGIN = "<!-- manual:begin -->";
const MANUAL_END = "<!-- manual:end -->";

/** A number for a table: `-` when missing, fewer decimals for bigger numbers. */
export function num(n: number | undefined, digits?: number): string {
  if (n === undefined || !Number.isFinite(n)) return "-";
  const d = digits ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2);
  return n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}

const mib = (kib: number | undefined) => kib === undefined ? undefined : kib / 1024;

function table(header: string[], rows: string[][]): string {
  const align = header.map((_h, i) => (i < 2 ? "---" : "---:"));
  return [`| ${header.join(" | ")} |`, `| ${align.join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join(
    "\n",
  );
}

function costs(r: Run): string[] {
  const client = r.client ? r.client.userS + r.client.sysS : undefined;
  return [num(client), num(mib(r.client?.maxRssKiB), 0), num(r.brokerCpuS), num(mib(r.brokerPeakRssKiB), 0), r.load];
}
const COST_HEADER = [
  "client CPU s",
  "client peak RSS MiB",
  "broker CPU s",
  "broker peak RSS MiB",
  "load avg (1/5/15 min)",
];

function find(runs: Run[], system: string, workload: string, caseIncludes = ""): Run | undefined {
  return runs.find((r) => r.system === system && r.workload === workload && r.case.includes(caseIncludes) && !r.error);
}

/** The successful run of exactly this case. */
function findCase(runs: Run[], system: string, workload: string, label: string): Run | undefined {
  return runs.find((r) => r.system === system && r.workload === workload && r.case === label && !r.error);
}

/** "3: 52,100–60,300": how many runs a repeated case had and the range of the metric it was chosen by. */
function spread(r: Run, digits?: number): string {
  if (!r.spread || r.spread.values.length < 2) return "1";
  const v = r.spread.values;
  const failed = r.spread.failed ? ` (+${r.spread.failed} failed)` : "";
  return `${v.length}: ${num(Math.min(...v), digits)}–${num(Math.max(...v), digits)}${failed}`;
}

function verdict(ok: boolean | undefined): string {
  return ok === undefined ? "n/a (not measured)" : ok ? "**met**" : "**not met**";
}

function targets(input: ReportInput): string {
  const { runs, limits } = input;
  const rows: string[][] = [];
  const add = (target: string, measured: string, ratio: number | undefined, ok: boolean | undefined) =>
    rows.push([target, measured, num(ratio), verdict(ratio === undefined ? undefined : ok)]);
  /** A ratio the issue sets no target for: shown, never judged. */
  const show = (what: string, measured: string, ratio: number | undefined) =>
    rows.push([`${what} (no target)`, measured, num(ratio), ratio === undefined ? "n/a (not measured)" : "-"]);
  const S = "Samsa", KD = "Kafka default", KF = "Kafka flush/append";
  const w1Cases = [
    { name: "1 partition", label: CASES.w1(1) },
    { name: "16 partitions", label: CASES.w1(16) },
    { name: "1 partition + batch.size", label: CASES.w1Big() },
    { name: "librdkafka (kcat -P) 1 partition", label: CASES.w1Rd(1) },
    { name: "librdkafka (kcat -P) 16 partitions", label: CASES.w1Rd(16) },
  ];
  for (const { name: p, label } of w1Cases) {
    const s = findCase(runs, S, "W1", label), kd = findCase(runs, KD, "W1", label);
    const kf = findCase(runs, KF, "W1", label);
    const limit = limits.write1MiBMBps;
    const ratio = s && limit ? s.figures.MBps! / limit : undefined;
    add(
      `W1 ${p}: >= 0.5 of the fsync'd 1 MiB write limit`,
      `${num(s?.figures.MBps)} of ${num(limit)} MB/s`,
      ratio,
      ratio !== undefined && ratio >= 0.5,
    );
    const rf = s && kf ? s.figures.records_per_s! / kf.figures.records_per_s! : undefined;
    add(
      `W1 ${p}: >= 1.0x Kafka flush-per-append`,
      `${num(s?.figures.records_per_s)} vs ${num(kf?.figures.records_per_s)} rec/s`,
      rf,
      rf !== undefined && rf >= 1,
    );
    const rd = s && kd ? s.figures.records_per_s! / kd.figures.records_per_s! : undefined;
    show(
      `W1 ${p}: ratio to Kafka default`,
      `${num(s?.figures.records_per_s)} vs ${num(kd?.figures.records_per_s)} rec/s`,
      rd,
    );
  }
  const w5Cases = [
    { name: "1 partition", label: CASES.w5(1) },
    { name: "16 partitions", label: CASES.w5(16) },
    { name: "librdkafka (kcat -P) 1 partition", label: CASES.w5Rd(1) },
    { name: "librdkafka (kcat -P) 16 partitions", label: CASES.w5Rd(16) },
  ];
  for (const { name: p, label } of w5Cases) {
    const s = findCase(runs, S, "W5", label), kd = findCase(runs, KD, "W5", label);
    const kf = findCase(runs, KF, "W5", label);
    if (!s && !kd && !kf) continue;
    const rf = s && kf ? s.figures.records_per_s! / kf.figures.records_per_s! : undefined;
    add(
      `W5 ${p} (3 brokers, RF=3): >= 1.0x Kafka flush-per-append`,
      `${num(s?.figures.records_per_s)} vs ${num(kf?.figures.records_per_s)} rec/s`,
      rf,
      rf !== undefined && rf >= 1,
    );
    const rd = s && kd ? s.figures.records_per_s! / kd.figures.records_per_s! : undefined;
    show(
      `W5 ${p}: ratio to Kafka default`,
      `${num(s?.figures.records_per_s)} vs ${num(kd?.figures.records_per_s)} rec/s`,
      rd,
    );
  }
  {
    // A failover run whose kills all went unanswered failed the target rather than missing it: look at it too.
    const failover = (system: string) => runs.find((r) => r.system === system && r.workload === "W5 failover");
    const s = failover(S), kd = failover(KD);
    const figure = (r: Run | undefined) =>
      !r
        ? "-"
        : r.figures.kills
        ? `${num(r.figures.median_ms, 0)} ms, max ${num(r.figures.max_ms, 0)} ms`
        : `no kill answered within ${input.scale.w5WaitS} s`;
    if (s || kd) {
      const median = s?.figures.median_ms;
      const unanswered = s !== undefined && !s.figures.kills;
      rows.push([
        "W5 failover: kill -9 of the leader to the next acknowledgement, median < 1 s (ratio = median / 1 s)",
        `${figure(s)} (Kafka default: ${figure(kd)})`,
        num(median !== undefined ? median / 1000 : undefined),
        unanswered ? "**not met**" : verdict(median === undefined ? undefined : median < 1000),
      ]);
    }
  }
  for (const { name, label } of [{ name: "", label: CASES.w2 }, { name: " librdkafka (kcat -P)", label: CASES.w2Rd }]) {
    const s = findCase(runs, S, "W2", label), kd = findCase(runs, KD, "W2", label);
    const r = s && kd ? s.figures.records_per_s! / kd.figures.records_per_s! : undefined;
    add(
      `W2${name}: >= 1.0x Kafka default records/s`,
      `${num(s?.figures.records_per_s)} vs ${num(kd?.figures.records_per_s)} rec/s`,
      r,
      r !== undefined && r >= 1,
    );
  }
  {
    const bytes = input.scale.w3Bytes;
    const s = findCase(runs, S, "W3", CASES.w3Kcat(bytes)), kd = findCase(runs, KD, "W3", CASES.w3Kcat(bytes));
    const lo = limits.loopbackMBps;
    const r1 = s && lo ? s.figures.MBps! / lo : undefined;
    add(
      "W3 (kcat): >= 0.5 of loopback TCP",
      `${num(s?.figures.MBps)} of ${num(lo)} MB/s`,
      r1,
      r1 !== undefined && r1 >= 0.5,
    );
    const r2 = s && kd ? s.figures.MBps! / kd.figures.MBps! : undefined;
    add(
      "W3 (kcat): >= 1.0x Kafka",
      `${num(s?.figures.MBps)} vs ${num(kd?.figures.MBps)} MB/s`,
      r2,
      r2 !== undefined && r2 >= 1,
    );
    const sp = findCase(runs, S, "W3", CASES.w3Perf(bytes)), kp = findCase(runs, KD, "W3", CASES.w3Perf(bytes));
    const r3 = sp && kp ? sp.figures.fetch_MBps! / kp.figures.fetch_MBps! : undefined;
    show(
      "W3 (kafka-consumer-perf-test, fetch.MB.sec): ratio to Kafka",
      `${num(sp?.figures.fetch_MBps)} vs ${num(kp?.figures.fetch_MBps)} MB/s`,
      r3,
    );
  }
  {
    const s = find(runs, S, "W4"), kf = find(runs, KF, "W4"), kd = find(runs, KD, "W4");
    const p99 = s?.figures.p99_ms;
    add(
      "W4: p99 <= 5 ms (ratio = p99 / 5 ms)",
      `${num(p99)} ms`,
      p99 !== undefined ? p99 / 5 : undefined,
      p99 !== undefined && p99 <= 5,
    );
    const r = p99 !== undefined && kf?.figures.p99_ms ? p99 / kf.figures.p99_ms : undefined;
    add(
      "W4: p99 below Kafka flush-per-append (ratio = Samsa / Kafka)",
      `${num(p99)} vs ${num(kf?.figures.p99_ms)} ms (Kafka default ${num(kd?.figures.p99_ms)} ms)`,
      r,
      r !== undefined && r < 1,
    );
  }
  {
    const s = find(runs, S, "W6"), kd = find(runs, KD, "W6");
    const k = (f: string) => kd ? ` (Kafka ${num(kd.figures[f])})` : "";
    const idle = s?.figures.idle_cpu_pct;
    add(
      `W6${s ? ` ${s.case}` : ""}: idle CPU < 2 %`,
      `${num(idle)} %${k("idle_cpu_pct")}`,
      idle !== undefined ? idle / 2 : undefined,
      idle !== undefined && idle < 2,
    );
    const rs = s?.figures.restart_ready_s;
    add(
      "W6: restart after clean stop < 5 s (until every partition is led)",
      `${num(rs)} s${k("restart_ready_s")}`,
      rs !== undefined ? rs / 5 : undefined,
      rs !== undefined && rs < 5,
    );
    const rss = s ? Math.max(s.figures.rss_MiB ?? 0, s.figures.rss_after_restart_MiB ?? 0) : undefined;
    add(
      "W6: RSS < 1 GiB",
      `${num(rss, 0)} MiB${k("rss_MiB")}`,
      rss !== undefined ? rss / 1024 : undefined,
      rss !== undefined && rss < 1024,
    );
  }
  for (const other of ["NATS JetStream", "Redis Streams"]) {
    // The other systems' W1 drivers keep 256 requests in flight: compare with Samsa's deep-pipeline W1 (kcat -P).
    const s1 = findCase(runs, S, "W1", CASES.w1Rd(1)), o1 = find(runs, other, "W1");
    const r1 = s1 && o1 ? s1.figures.records_per_s! / o1.figures.records_per_s! : undefined;
    add(
      `W7: W1 ahead of ${other} (Samsa: W1 librdkafka, 1 partition)`,
      `${num(s1?.figures.records_per_s)} vs ${num(o1?.figures.records_per_s)} rec/s`,
      r1,
      r1 !== undefined && r1 > 1,
    );
    const s4 = find(runs, S, "W4"), o4 = find(runs, other, "W4");
    const behind = (r: Run | undefined) => r !== undefined && fellBehind(r, input.scale.w4Rate);
    const r4 = s4?.figures.p99_ms && o4?.figures.p99_ms ? s4.figures.p99_ms / o4.figures.p99_ms : undefined;
    if (s4 && o4 && behind(o4) && !behind(s4)) {
      // The driver is not the limit (others_client.py: its consumer receives every record the other system
      // acknowledged); the other system is. Keeping the rate beats a latency measured only on what was delivered.
      rows.push([
        `W7: W4 p99 below ${other} (ratio = Samsa / other)`,
        `${num(s4.figures.p99_ms)} vs ${num(o4.figures.p99_ms)} ms; ${other} fell behind the rate (${
          num(o4.figures.delivered_pct, 1)
        } % delivered in time, ${num(o4.figures.rate_achieved, 0)} rec/s${
          o4.figures.acks !== undefined && o4.figures.seconds
            ? `; it acknowledged ${num(o4.figures.acks / o4.figures.seconds, 0)} publishes/s`
            : ""
        })`,
        num(r4),
        "**met** (the other did not keep the rate)",
      ]);
      continue;
    }
    add(
      `W7: W4 p99 below ${other} (ratio = Samsa / other)`,
      `${num(s4?.figures.p99_ms)} vs ${num(o4?.figures.p99_ms)} ms`,
      r4,
      r4 !== undefined && r4 < 1,
    );
  }
  const w8Cases = [
    ["W1", CASES.w1(1), "W1 1 partition"],
    ["W1", CASES.w1(16), "W1 16 partitions"],
    ["W2", CASES.w2, "W2"],
    ["W1", CASES.w1Rd(1), "W1 librdkafka 1 partition"],
    ["W1", CASES.w1Rd(16), "W1 librdkafka 16 partitions"],
    ["W2", CASES.w2Rd, "W2 librdkafka"],
  ];
  for (const [wl, c, name] of w8Cases) {
    const s = findCase(runs, S, wl, c), kd = findCase(runs, KD, wl, c);
    const r = s && kd ? perGB(s)! / perGB(kd)! : undefined;
    add(
      `W8: broker CPU s per GB in ${name} lower than Kafka default`,
      `${num(s && perGB(s))} vs ${num(kd && perGB(kd))}`,
      r,
      r !== undefined && r < 1,
    );
  }
  return table(["target", "measured", "ratio", "verdict"], rows);
}

function perGB(r: Run): number | undefined {
  return r.bytes && r.brokerCpuS !== undefined ? r.brokerCpuS / (r.bytes / 1e9) : undefined;
}

function failed(runs: Run[]): string {
  const bad = runs.filter((r) => r.error);
  if (bad.length === 0) return "";
  return "\n\n**Failed runs**\n\n" +
    bad.map((r) => `- ${r.system} ${r.workload} ${r.case}: ${r.error!.replaceAll("\n", " ").slice(0, 400)}`).join("\n");
}

/** How W6 measured, for runs that recorded it. */
function w6Method(input: ReportInput): string {
  const { w6SettleS: settle, w6IdleS: idle } = input.scale;
  if (settle === undefined) return "";
  return `Each system on a fresh broker; idle CPU over ${idle} s, measured ${settle} s after the last partition is led ` +
    `(creation work settles first).\n\n`;
}

function results(input: ReportInput): string {
  const ok = input.runs.filter((r) => !r.error);
  const sec: string[] = [];
  const w1limit = input.limits.write1MiBMBps;
  const bound = input.scale.rdBoundS;
  const produce = (wl: string, title: string, ratioName: string) => {
    const rs = ok.filter((r) => r.workload === wl);
    if (rs.length === 0) return;
    sec.push(
      `### ${title}\n\n` + table(
        [
          "system",
          "case",
          "runs: range of records/s",
          "records/s (median)",
          "MB/s",
          ratioName,
          "send→ack p50 ms",
          "p99 ms",
          ...COST_HEADER,
        ],
        rs.map((
          r,
        ) => [
          r.system,
          r.figures.timed_out ? `${r.case}, stopped after ${bound} s` : r.case,
          spread(r, 0),
          num(r.figures.records_per_s, 0),
          num(r.figures.MBps),
          num(w1limit ? r.figures.MBps! / w1limit : undefined),
          num(r.figures.p50_ms),
          num(r.figures.p99_ms),
          ...costs(r),
        ]),
      ),
    );
  };
  produce(
    "W1",
    "W1: produce 1 KiB records, acks=all (W7: NATS and Redis with their own durable acks)",
    "÷ fsync'd 1 MiB write",
  );
  produce("W2", "W2: produce 100-byte records, acks=1, 16 partitions", "÷ fsync'd 1 MiB write");
  produce(
    "W5",
    "W5: three brokers on this machine, RF=3 (min.insync.replicas=2), produce 1 KiB records, acks=all",
    "÷ fsync'd 1 MiB write",
  );
  const w5f = input.runs.filter((r) => r.workload === "W5 failover");
  if (w5f.length) {
    sec.push(
      "### W5 failover: kill -9 of a partition's leader → the producer's next acknowledged record\n\n" +
        "Each kill waits until all three replicas are in sync, kills the leader (SIGKILL), times the first " +
        "acknowledgement of a record sent after the kill, then restarts the killed broker on its data. " +
        '"lost" compares the records acknowledged with the partition\'s high watermark at the end.\n\n' +
        table(
          [
            "system",
            "case",
            "kills answered",
            "median ms",
            "min ms",
            "max ms",
            "each kill, ms",
            "acknowledged",
            "high watermark",
            "lost (at least)",
            "load avg (1/5/15 min)",
            "remarks",
          ],
          w5f.map((r) => [
            r.system,
            r.case,
            `${num(r.figures.kills, 0)} of ${num((r.figures.kills ?? 0) + (r.figures.failed_kills ?? 0), 0)}`,
            num(r.figures.median_ms, 0),
            num(r.figures.min_ms, 0),
            num(r.figures.max_ms, 0),
            (r.samples ?? []).map((v) => num(v, 0)).join(", ") || "-",
            num(r.figures.acked, 0),
            num(r.figures.high_watermark, 0),
            num(r.figures.lost_at_least, 0),
            r.load,
            (r.remarks ?? r.error ?? "").replaceAll("|", "/").replaceAll("\n", " ").slice(0, 600),
          ]),
        ),
    );
  }
  const w4 = ok.filter((r) => r.workload === "W4");
  if (w4.length) {
    sec.push(
      "### W4: end-to-end latency at a fixed rate (send → consumer receive, one partition/stream)\n\n" +
        table(
          [
            "system",
            "case",
            "runs: range of p99 ms",
            "delivered %",
            "achieved rec/s",
            "p50 ms",
            "p99 ms (median)",
            "p99.9 ms",
            "max ms",
            ...COST_HEADER,
          ],
          w4.map((
            r,
          ) => [
            r.system,
            r.case,
            spread(r),
            num(r.figures.delivered_pct, 1),
            num(r.figures.rate_achieved, 0),
            num(r.figures.p50_ms),
            num(r.figures.p99_ms),
            num(r.figures.p999_ms),
            num(r.figures.max_ms),
            ...costs(r),
          ]),
        ),
    );
  }
  const w3 = ok.filter((r) => r.workload.startsWith("W3"));
  if (w3.length) {
    const lo = input.limits.loopbackMBps;
    sec.push(
      `### W3: consume ${fmtBytes(input.scale.w3Bytes)} from the page cache (and the fill before it)\n\n` + table(
        ["system", "step", "MB/s", "MB/s without the group join", "÷ loopback TCP", "seconds", ...COST_HEADER],
        w3.map((
          r,
        ) => [
          r.system,
          `${r.workload} ${r.case}`,
          num(r.figures.MBps),
          num(r.figures.fetch_MBps),
          num(lo ? r.figures.MBps! / lo : undefined),
          num(r.figures.seconds ?? r.client?.wallS),
          ...costs(r),
        ]),
      ),
    );
  }
  const w6 = ok.filter((r) => r.workload === "W6");
  if (w6.length) {
    sec.push(
      "### W6: many partitions on one broker\n\n" + w6Method(input) + table(
        [
          "system",
          "case",
          "create s",
          "idle CPU %",
          "RSS MiB",
          "open fds",
          "clean stop s",
          "restart: port open s",
          "restart: all led s",
          "RSS after restart MiB",
          "load avg",
        ],
        w6.map((
          r,
        ) => [
          r.system,
          r.case,
          num(r.figures.create_s),
          num(r.figures.idle_cpu_pct),
          num(r.figures.rss_MiB, 0),
          num(r.figures.open_fds, 0),
          num(r.figures.stop_s),
          num(r.figures.restart_listen_s),
          num(r.figures.restart_ready_s),
          num(r.figures.rss_after_restart_MiB, 0),
          r.load,
        ]),
      ),
    );
  }
  const w8 = ok.filter((r) => (r.workload === "W1" || r.workload === "W2") && perGB(r) !== undefined);
  if (w8.length) {
    sec.push(
      "### W8: broker CPU seconds per GB produced (payload bytes)\n\n" + table(
        ["system", "run", "GB", "broker CPU s", "CPU s per GB"],
        w8.map((r) => [r.system, `${r.workload} ${r.case}`, num(r.bytes! / 1e9, 3), num(r.brokerCpuS), num(perGB(r))]),
      ),
    );
  }
  return sec.join("\n\n") + failed(input.runs);
}

/**
 * The whole Markdown document; `previous` is the old file, whose manual part is kept.
 *
 * @example
 * ```ts
 * const md = renderReport(input, "");
 * ```
 */
export function renderReport(input: ReportInput, previous: string): string {
  const b = previous.indexOf(MANUAL_BEGIN), e = previous.indexOf(MANUAL_END);
  const manual = b >= 0 && e > b
    ? previous.slice(b, e + MANUAL_END.length)
    : `${MANUAL_BEGIN}\n_(analysis of the profile and proposals go here; kept across runs)_\n${MANUAL_END}`;
  const l = input.limits;
  const s = input.scale;
  return `# Samsa performance, side by side

Generated by \`${input.command}\` (tests/bench/report/main.ts); everything above "Where the time goes" is rewritten by
each run, the part between the \`manual\` markers is kept. **Read every figure as a ratio** to a limit or to another
broker measured in the same run: the disk of this machine is shared and its fsync rate drops for minutes at a time,
and other engineers run tests on the same two cores (see the load average of each run).

## The run

| | |
| --- | --- |
| date | ${input.date} |
| mode | ${input.mode} (W1 ${s.w1Records.toLocaleString("en-US")} records per case, W2 ${
    s.w2Records.toLocaleString("en-US")
  }; librdkafka W1 ${s.rdW1Records?.toLocaleString("en-US")} records, W2 ${
    s.rdW2Records?.toLocaleString("en-US")
  }, at most ${s.rdBoundS} s each; W3 ${fmtBytes(s.w3Bytes)}, W4 ${
    s.w4Rate.toLocaleString("en-US")
  } rec/s for ${s.w4Seconds} s, W6 ${s.w6Partitions.toLocaleString("en-US")} partitions, W5 failover ${
    s.w5Kills ?? "-"
  } kills at ${s.w5FailoverRate?.toLocaleString("en-US") ?? "-"} rec/s; W1, W2, W4 of Samsa and Kafka ${
    (s.repeats ?? 1) > 1 ? `run ${s.repeats} times each, median shown` : "run once"
  }) |
| duration | ${num(input.durationS / 60, 1)} min |
${Object.entries(input.machine).map(([k, v]) => `| ${k} | ${v} |`).join("\n")}

Versions: ${Object.entries(input.versions).map(([k, v]) => `${k} ${v}`).join("; ")}.

How each system runs: Samsa \`main.ts start\` with defaults (acks=all is answered after the fdatasync that covers the
batch); Apache Kafka one KRaft node from \`tests/compat/kafka/kafka.sh\` twice, with defaults (no fsync on the produce
path) and with \`log.flush.interval.messages=1\` ("flush/append": fsync after every append, the durability Samsa gives);
NATS JetStream on file storage with \`sync_interval: always\`; Redis with \`appendonly yes\`, \`appendfsync always\`.
Clients, the same for Samsa and Kafka: Kafka's ProducerPerformance (defaults: linger.ms 5, batch.size 16 KiB) for
W1/W2/W3-fill; librdkafka's kcat for W1/W2 again (\`kcat -P -l FILE\`, one record per line of a random printable
payload file, so a "1 KiB" record carries 1,023 bytes and "100 B" 99; kcat's defaults batch up to 1 MB with linger 5
ms and queue up to 100,000 records, and it exits after the last delivery; records are counted from the partitions'
high watermarks before and after, and a run still going after the bound is killed and counts what was acknowledged
by then, so MB/s is records x record size / kcat's wall time); for the W3 read kcat (group-less; it writes each record's partition number, \`-f '%p\\n'\`, into \`wc -l\`, so the
pipe costs nothing and the count is checked) and kafka-consumer-perf-test (a consumer group); librdkafka
(confluent-kafka, linger.ms 1) for W4 with producer and consumer in one process (Kafka's EndToEndLatency tool sends
one record and waits for it before the next, so it cannot hold a fixed rate). NATS's W4 consumer runs in its own
process and connection. Client CPU and peak RSS come from GNU time (the JVM's start included), broker CPU from
/proc/PID/stat, broker peak RSS from VmRSS sampled every 200 ms. A repeated case shows the run with the median figure
(its costs are that run's) and the range over all runs; NATS and Redis run once.
W5 runs three brokers of each system on this machine, every node broker and KRaft/metadata controller in one
process (the same roles as Samsa's nodes; three JVMs rather than six on two cores), data on the same disk as the
other workloads, \`default.replication.factor=3\`, \`min.insync.replicas=2\`, acks=all: Samsa's nodes are those of
\`deno task cluster\`; Kafka is ${
    input.versions["Apache Kafka (W5's three brokers)"] ?? "4.4"
  } (its broker jars from tests/bench/report/kafka_cluster.pom.xml; the client tools stay those above), with defaults
and with \`log.flush.interval.messages=1\`. Its producers are W1's (ProducerPerformance and kcat -P, 1 and 16
partitions), each case once. The failover figure comes from a paced idempotent acks=all confluent-kafka producer
(tests/bench/report/failover.ts), on Samsa and on Kafka with its defaults.
Order: limits (fsync tests first); then W1, W2, W4 in rounds over Samsa, Kafka default and Kafka flush/append, each
round on fresh brokers in rotating order (Samsa first, then second, then third), with a \`sync\` before every measured
run so no run pays for the write-back of the one before; then W5 (Samsa, Kafka default, Kafka flush/append, each on
fresh nodes); then NATS and Redis; then the bulk W3 and W6, each on fresh brokers, so the disk's
slowdown after bulk writes falls on no fsync figure.

## Limits of this machine (same run)

| limit | figure |
| --- | ---: |
| sequential write + fdatasync per 1 MiB (fio psync) | ${num(l.write1MiBMBps)} MB/s |
| sequential write + fdatasync per 64 KiB | ${num(l.write64KiBMBps)} MB/s |
| 4 KiB append + fdatasync: rate | ${num(l.smallAppendSyncsPerS, 0)} /s |
| 4 KiB append + fdatasync: fdatasync p50 / p99 | ${num(l.smallAppendP50Us, 0)} / ${num(l.smallAppendP99Us, 0)} µs |
| loopback TCP, one stream (iperf3) | ${num(l.loopbackMBps, 0)} MB/s |

## Targets of the issue

${targets(input)}

## Results

${results(input)}

## Notes

${input.notes.length ? input.notes.map((n) => `- ${n.replaceAll("\n", " ")}`).join("\n") : "- none"}

## Where the time goes

${input.profile ?? "_(no profile in this run: it runs with W1 or W2 in quick and full mode, not with --no-profile)_"}

${manual}
`;
}
