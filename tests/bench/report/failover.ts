/**
 * W5's failover figure: the time from kill -9 of a partition's leader to the producer's next acknowledged record.
 *
 * A paced, idempotent acks=all producer (kafka_client.py `failover`, librdkafka through confluent-kafka) writes
 * 1 KiB records to a one-partition RF=3 topic. With every replica in sync, the runner asks Metadata for the leader,
 * notes the wall clock, kills the leader's process (SIGKILL) and tells the producer the kill's time; the producer
 * answers with the first acknowledgement of a record it sent at or after that time (only a live leader can
 * acknowledge it). The killed broker is then started again on its data, and the next kill waits until it is back in
 * sync. At the end the partition's high watermark is compared with the records acknowledged: an acknowledged record
 * must never be lost.
 *
 * @module
 */

import type { Cluster } from "./clusters.ts";
import { loadAverage, sleep } from "./proc.ts";
import { CASES, createTopic, offsets, python, type Run, type Target } from "./workloads.ts";

const HERE = new URL(".", import.meta.url).pathname;
const TOPIC = "w5-failover";

/** Median, min and max of the kill-to-acknowledgement times (ms); pure. */
export function failoverFigures(samplesMs: number[]): { median_ms?: number; min_ms?: number; max_ms?: number } {
  if (samplesMs.length === 0) return {};
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median_ms: median, min_ms: sorted[0], max_ms: sorted[sorted.length - 1] };
}

/** Whether a target's broker is a cluster whose nodes can be crashed. */
function isCluster(b: Target["broker"]): b is Cluster {
  return "crash" in b && "nodeIds" in b;
}

/** Lines of a child's stdout, one JSON object each, handed out as they arrive. */
class JsonLines {
  #queue: Record<string, unknown>[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    void this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        rest += text;
        let nl: number;
        while ((nl = rest.indexOf("\n")) >= 0) {
          const line = rest.slice(0, nl).trim();
          rest = rest.slice(nl + 1);
          if (line.startsWith("{")) this.#queue.push(JSON.parse(line));
          this.#wake?.();
        }
      }
    } finally {
      this.#ended = true;
      this.#wake?.();
    }
  }

  /** The next line for which `pick` holds (earlier lines are dropped); undefined after `timeoutMs` or at the end. */
  async next(pick: (o: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      while (this.#queue.length) {
        const o = this.#queue.shift()!;
        if (pick(o) || "fatal" in o) return o;
      }
      const left = deadline - Date.now();
      if (this.#ended || left <= 0) return { timeout: true };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}

/** Waits until the failover topic's partition is led and has all three replicas in sync. */
async function inSync(t: Target, timeoutS: number): Promise<boolean> {
  const out = await python("kafka_client.py", ["wait-isr", t.broker.address, TOPIC, 1, 3, timeoutS], timeoutS + 30);
  return (out as { ready: boolean }).ready;
}

/** W5 failover: `Scale.w5Kills` kills of the leader, one after another, on a cluster. */
export async function w5Failover(t: Target): Promise<Run[]> {
  const rate = t.scale.w5FailoverRate;
  const wait = t.scale.w5WaitS;
  const run: Run = {
    system: t.system,
    workload: "W5 failover",
    case: CASES.w5Failover(rate),
    load: loadAverage(),
    figures: {},
  };
  if (!isCluster(t.broker)) throw new Error("W5 failover needs a cluster");
  const cluster = t.broker;
  t.log(`${t.system} W5 failover, ${t.scale.w5Kills} kills (load ${run.load})`);
  await createTopic(t, TOPIC, 1, 120, 3);
  const samples: number[] = [];
  const problems: string[] = [];
  const child = new Deno.Command("timeout", {
    // Bounded by what the kills may take at most: three waits each, a restart, and the producer's flush at the end.
    args: [
      "-k",
      "5",
      String(t.scale.w5Kills * (3 * wait + 120) + 180),
      "python3",
      `${HERE}kafka_client.py`,
      "failover",
      cluster.address,
      TOPIC,
      String(rate),
      "1024",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = new JsonLines(child.stdout);
  const stdin = child.stdin.getWriter();
  const say = (line: string) => stdin.write(new TextEncoder().encode(`${line}\n`));
  try {
    const first = await lines.next((o) => "first_ack_at" in o, 60_000);
    if (!("first_ack_at" in first)) throw new Error(`the producer got no acknowledgement: ${JSON.stringify(first)}`);
    for (let k = 0; k < t.scale.w5Kills; k++) {
      if (!await inSync(t, wait)) {
        problems.push(`kill ${k + 1}: not all replicas in sync after ${wait} s; killed anyway`);
        t.log(`  ${problems[problems.length - 1]}`);
      }
      const where = await python("kafka_client.py", ["partition", cluster.address, TOPIC, 0], 60) as { leader: number };
      if (!cluster.nodeIds.includes(where.leader)) {
        problems.push(`kill ${k + 1}: no leader to kill (${JSON.stringify(where)})`);
        break;
      }
      // The kill's wall-clock time in seconds, as the producer's time.time() reads it.
      const killAt = (performance.timeOrigin + performance.now()) / 1000;
      await cluster.crash(where.leader);
      await say(`kill ${killAt}`);
      const answer = await lines.next((o) => o.kill_at === killAt, wait * 1000);
      const restartedAfterS = (performance.timeOrigin + performance.now()) / 1000 - killAt;
      await cluster.startNode(where.leader);
      if (typeof answer.failover_ms === "number") {
        samples.push(answer.failover_ms);
        t.log(`  kill ${k + 1}: node ${where.leader} killed, next ack after ${answer.failover_ms.toFixed(0)} ms`);
        continue;
      }
      // No other replica took over in time: say whether the killed leader's own return ended the outage.
      const late = "timeout" in answer ? await lines.next((o) => o.kill_at === killAt, wait * 1000) : answer;
      const after = typeof late.failover_ms === "number"
        ? `acknowledged again ${(late.failover_ms / 1000).toFixed(1)} s after the kill (the killed node was ` +
          `restarted ${restartedAfterS.toFixed(1)} s after it)`
        : JSON.stringify(late);
      problems.push(`kill ${k + 1} (node ${where.leader}): no acknowledgement within ${wait} s; ${after}`);
      t.log(`  ${problems[problems.length - 1]}`);
      if ("fatal" in late || "timeout" in late) break;
    }
  } finally {
    await say("stop").catch(() => {});
    await stdin.close().catch(() => {});
  }
  const status = await child.status;
  const summary = await lines.next((o) => "acked" in o, 90_000);
  if (!status.success) problems.push(`producer exit ${status.code}: ${(await stderr).trim().slice(-400)}`);
  // The high watermark can trail the last acknowledgement briefly on a follower-turned-leader: wait for it a little.
  let high = NaN;
  for (let i = 0; i < 25; i++) {
    high = (await offsets(t, TOPIC, 1).catch(() => [NaN]))[0];
    if (!(high < Number(summary.acked))) break;
    await sleep(200);
  }
  run.figures = {
    kills: samples.length,
    failed_kills: t.scale.w5Kills - samples.length,
    ...failoverFigures(samples),
    acked: Number(summary.acked),
    delivery_errors: Number(summary.errors),
    high_watermark: high,
    // Fewer records in the log than were acknowledged means acknowledged records were lost.
    lost_at_least: Math.max(0, Number(summary.acked) - high),
  };
  run.samples = samples;
  if (summary.last_error) problems.push(`last delivery error: ${summary.last_error}`);
  // A kill without an answer is a result (the figure says how many failed); no answer at all is a failed run.
  if (problems.length) run.remarks = problems.join("; ");
  if (samples.length === 0) run.error = run.remarks ?? "no kill was answered";
  t.log(`  ${JSON.stringify(run.figures)}${run.error ? ` problems: ${run.error}` : ""}`);
  return [run];
}
