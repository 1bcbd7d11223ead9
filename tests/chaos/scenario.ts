/**
 * One chaos scenario from start to verdict: a cluster of real Samsa processes, a topic with a replica on every
 * node, the real idempotent acks=all producer running through a schedule of faults (each healed before the
 * next), a real consumer reading everything back, the cluster stopped and every node's segment files read,
 * and the checker's verdict over the whole history.
 *
 * Every wait is bounded: a cluster that never recovers makes the scenario fail with the checker's account of
 * it ("no record acknowledged within 10000 ms of kill -9 of leader 2", "broker 3 holds no log for it"), never
 * hang. Every process is stopped at the end, on failure too.
 *
 * @module
 */
import { ApiKey } from "../../protocol/messages.ts";
import { RawClient } from "../diff/raw_client.ts";
import { clusterView, createTopics, TestCluster, waitFor } from "../integration/cluster_process.ts";
import { readSegmentBatches } from "../harness/segment_files.ts";
import { type Ack, check, type CheckResult, type Fault, type History, type PartitionReplicas } from "./checker.ts";
import { inject, type NemesisName, partitionLeadership, runningNodes } from "./nemesis.ts";
import { consumeAll, type WorkloadClient, WorkloadProducer } from "./workload.ts";

/** One fault of a schedule: which, on which partition, and for how many acknowledgements it lasts. */
export interface FaultStep {
  nemesis: NemesisName;
  /** The partition whose leader or follower it aims at (default: step i aims at partition i % partitions). */
  partition?: number;
  /** Acknowledgements to wait for while the fault lasts (when a majority survives) and after it heals. */
  acksDuring?: number;
  acksAfter?: number;
}

/** How a scenario runs. */
export interface ScenarioOptions {
  /** The faults, in order; each is healed before the next. */
  faults: (NemesisName | FaultStep)[];
  /** Inject no further fault once this many ms have passed since the workload started (default: no limit). */
  budgetMs?: number;
  /** Brokers in the cluster (all voters); every partition has a replica on each. Default 3. */
  brokers?: number;
  /** Partitions of the topic (default 1). */
  partitions?: number;
  /** Replicas of each partition (default: one on every broker). */
  replicationFactor?: number;
  /** Acknowledgements to wait for before the first fault, while a fault lasts, and after each healing. */
  acksBefore?: number;
  acksDuring?: number;
  acksAfter?: number;
  /** The bound on the wait for an acknowledgement after a fault a majority survives (default 10 s). */
  availableWithinMs?: number;
  /** Ms between the producer's sends (default 2). */
  intervalMs?: number;
  /** Called with each step (for the chaos run's progress lines). */
  log?: (line: string) => void;
  /** Keep every node's data folder (the chaos run copies the logs out). */
  keepData?: boolean;
  /** The real client of the producer and the final read (default confluent-kafka; `java`: the Java client). */
  client?: WorkloadClient;
}

/** What a scenario produced. */
export interface ScenarioOutcome {
  result: CheckResult;
  history: History;
  /** Each node's log, by node id (the last life of each). */
  brokerLogs: Map<number, string>;
  /** Notes on what did not go as the scenario planned (a bounded wait that ran out), for the reader. */
  notes: string[];
  /** The data folders, by node id, when `keepData` was set. */
  dataDirs: Map<number, string>;
}

/** The topic every scenario writes. */
export const CHAOS_TOPIC = "chaos";

/** Cluster settings that make failures noticed quickly on one machine. */
const CLUSTER_SETTINGS = {
  "replica.lag.time.max.ms": 2000,
  "offsets.topic.replication.factor": 3,
  "log.level": "info",
};

/**
 * Each running broker's size of each partition of `topic` (DescribeLogDirs), by node id; a partition the broker
 * does not hold is absent.
 */
async function partitionSizes(cluster: TestCluster, topic: string): Promise<Map<number, Map<number, bigint>>> {
  const out = new Map<number, Map<number, bigint>>();
  for (const id of runningNodes(cluster)) {
    const client = await RawClient.connect(cluster.bootstrap(id), "chaos");
    try {
      const answer = await client.request(ApiKey.DescribeLogDirs, 4, { topics: null });
      const sizes = new Map<number, bigint>();
      for (const dir of answer.results) {
        for (const t of dir.topics) {
          if (t.name !== topic) continue;
          for (const p of t.partitions) sizes.set(p.partitionIndex, p.partitionSize);
        }
      }
      out.set(id, sizes);
    } finally {
      await client.close();
    }
  }
  return out;
}

/**
 * Whether every replica of every partition is in the ISR and every broker holds the same number of bytes of it:
 * the moment to stop the cluster and compare the replicas' files.
 */
async function replicasInSync(cluster: TestCluster, topic: string, partitions: number): Promise<boolean> {
  const view = await clusterView(cluster.bootstrap(runningNodes(cluster)[0]));
  const t = view.topics.find((x) => x.name === topic);
  if (!t || t.partitions.length !== partitions) return false;
  if (t.partitions.some((p) => p.replicas.some((r) => !p.isr.includes(r)))) return false;
  const sizes = await partitionSizes(cluster, topic);
  for (const p of t.partitions) {
    const each = p.replicas.map((id) => sizes.get(id)?.get(p.partition));
    if (each.some((s) => s === undefined || s !== each[0])) return false;
  }
  return true;
}

/**
 * When the metadata, asked through the brokers other than `frozen`, first names a live leader of `partition` other
 * than `frozen` (wall-clock ms), or undefined if none by `deadlineMs`.
 */
async function newLeaderNamed(
  cluster: TestCluster,
  partition: number,
  frozen: number,
  deadlineMs: number,
): Promise<number | undefined> {
  while (Date.now() < deadlineMs) {
    for (const id of runningNodes(cluster)) {
      if (id === frozen) continue;
      try {
        const view = await clusterView(cluster.bootstrap(id));
        const p = view.topics.find((t) => t.name === CHAOS_TOPIC)?.partitions.find((x) => x.partition === partition);
        if (p && p.leader >= 0 && p.leader !== frozen) return Date.now();
      } catch {
        // that broker is busy or starting: ask the next
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/**
 * Runs one scenario and returns the checker's verdict with the history. Throws only when the cluster cannot be
 * set up at all (no broker starts, the topic cannot be created, nothing is acknowledged before the first fault).
 *
 * @example
 * ```ts ignore
 * const { result } = await runScenario({ faults: ["kill-leader"] });
 * assert.ok(result.valid, describeResult(result));
 * ```
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioOutcome> {
  const brokers = options.brokers ?? 3;
  const partitions = options.partitions ?? 1;
  const log = options.log ?? (() => {});
  const availableWithinMs = options.availableWithinMs ?? 10_000;
  const notes: string[] = [];
  const faults: Fault[] = [];
  const cluster = await TestCluster.start(brokers, CLUSTER_SETTINGS);
  const brokerLogs = new Map<number, string>();
  const dataDirs = new Map([...cluster.specs.values()].map((s) => [s.id, s.dataDir]));
  let producer: WorkloadProducer | undefined;
  const keepLogs = () => {
    for (const [id, node] of cluster.nodes) brokerLogs.set(id, node.logs());
  };
  try {
    await waitFor(`${brokers} registered brokers`, async () => {
      return (await clusterView(cluster.bootstrap(1))).brokers.length === brokers;
    }, 30_000);
    const created = await createTopics(cluster.bootstrap(1), [
      { name: CHAOS_TOPIC, partitions, replicationFactor: options.replicationFactor ?? brokers },
    ]);
    if (created.get(CHAOS_TOPIC) !== 0) {
      throw new Error(`CreateTopics ${CHAOS_TOPIC}: error ${created.get(CHAOS_TOPIC)}`);
    }
    const replicaNodes = new Map<number, number[]>();
    for (let p = 0; p < partitions; p++) {
      replicaNodes.set(p, (await partitionLeadership(cluster, CHAOS_TOPIC, p, 20_000)).replicas);
    }
    log(`cluster of ${brokers} up, ${CHAOS_TOPIC} created with ${partitions} partition(s)`);

    const bootstrap = [...cluster.specs.keys()].map((id) => cluster.bootstrap(id)).join(",");
    producer = new WorkloadProducer({
      bootstrap,
      topic: CHAOS_TOPIC,
      partitions,
      intervalMs: options.intervalMs,
      maxSeconds: 600,
      client: options.client,
    });
    const acksBefore = options.acksBefore ?? 200;
    if (!await producer.waitUntil((acks) => acks.length >= acksBefore, 30_000)) {
      throw new Error(
        `only ${producer.acks.length} of ${acksBefore} records acknowledged before the first fault\n${producer.stderr}`,
      );
    }
    const workloadStarted = Date.now();
    for (const [i, entry] of options.faults.entries()) {
      if (options.budgetMs !== undefined && Date.now() - workloadStarted > options.budgetMs) break;
      const step: FaultStep = typeof entry === "string" ? { nemesis: entry } : entry;
      const partition = step.partition ?? i % partitions;
      const fault = await inject(step.nemesis, cluster, CHAOS_TOPIC, partition);
      const recorded: Fault = {
        name: fault.description,
        atMs: fault.atMs,
        ...(fault.partitionWide ? {} : { partition }),
        ...(fault.majoritySurvives && fault.frozen === undefined ? { availableWithinMs } : {}),
      };
      faults.push(recorded);
      log(`fault ${i + 1}: ${fault.description}`);
      if (fault.frozen !== undefined) {
        const electedMs = await newLeaderNamed(cluster, partition, fault.frozen, fault.atMs + availableWithinMs);
        if (electedMs === undefined) {
          throw new Error(`${fault.description}: no other leader named by the metadata within ${availableWithinMs} ms`);
        }
        notes.push(`${fault.description}: a new leader named by the metadata ${electedMs - fault.atMs} ms after it`);
      }
      if (fault.majoritySurvives) {
        const acksDuring = step.acksDuring ?? options.acksDuring ?? 100;
        const ofPartition = (a: Ack) => fault.partitionWide || a.partition === partition;
        if (!await producer.waitForAcksSince(fault.atMs, acksDuring, availableWithinMs, ofPartition)) {
          notes.push(
            `${fault.description}: ${producer.acks.filter((a) => a.atMs >= fault.atMs && ofPartition(a)).length} ` +
              `of ${acksDuring} ` +
              `acknowledgements within ${availableWithinMs} ms, before healing`,
          );
        }
      }
      await fault.heal();
      recorded.healedAtMs = Date.now();
      log(`healed: ${fault.description}`);
      const acksAfter = step.acksAfter ?? options.acksAfter ?? 100;
      if (!await producer.waitForAcksSince(recorded.healedAtMs, acksAfter, 30_000)) {
        notes.push(`${fault.description}: fewer than ${acksAfter} acknowledgements within 30 s of healing`);
      }
    }
    await producer.stop();
    log(`producer stopped: ${producer.sent} sent, ${producer.acks.length} acknowledged`);
    if (producer.clientErrors.some((e) => e.startsWith("produce:"))) {
      notes.push(`the producer stopped on an error: ${producer.clientErrors.find((e) => e.startsWith("produce:"))}`);
    }
    if (producer.unflushed > 0) {
      notes.push(`${producer.unflushed} records still unacknowledged when the producer gave up`);
    }

    try {
      await waitFor("every replica in sync", () => replicasInSync(cluster, CHAOS_TOPIC, partitions), 15_000);
    } catch (e) {
      notes.push(`replicas not in sync before the final read: ${(e as Error).message}`);
    }
    const consumed = await consumeAll(bootstrap, CHAOS_TOPIC, partitions, 30, options.client);
    log(`consumer read ${consumed.reads.length} records`);
    if (!consumed.complete) {
      notes.push(
        `the consumer did not reach the high watermark of every partition (found ${
          JSON.stringify(Object.fromEntries(consumed.highWatermarks))
        }); last client errors: ${consumed.clientErrors.slice(-3).join("; ")}`,
      );
    }
    keepLogs();
    await cluster.stop({ keepData: true });

    const replicas: PartitionReplicas[] = [];
    for (let p = 0; p < partitions; p++) {
      const logs = (replicaNodes.get(p) ?? []).map((id) => ({
        nodeId: id,
        batches: readSegmentBatches(cluster.specs.get(id)!.dataDir, CHAOS_TOPIC, p),
      }));
      // When the consumer found no high watermark (noted above), the replicas are compared up to the end of the
      // shortest: what every one of them holds.
      const ends = logs.map((l) => l.batches === null ? 0 : (l.batches.at(-1)?.lastOffset ?? -1) + 1);
      replicas.push({
        partition: p,
        highWatermark: consumed.highWatermarks.get(p) ?? (ends.length > 0 ? Math.min(...ends) : 0),
        replicas: logs,
      });
    }
    let sent = producer.sent;
    if (sent < 0) {
      // The client died without saying how many it sent: at least every value it had a report for.
      sent = Math.max(0, ...[...producer.acks, ...producer.failures].map((x) => x.value + 1));
      notes.push(`the producer exited without reporting how many it sent\n${producer.stderr.slice(-1500)}`);
    }
    const history: History = {
      sent,
      acks: producer.acks,
      failures: producer.failures,
      reads: consumed.reads,
      replicas,
      faults,
    };
    return { result: check(history), history, brokerLogs, notes, dataDirs };
  } finally {
    keepLogs();
    await producer?.stop(5_000);
    await cluster.stop({ keepData: true });
    if (!options.keepData) {
      for (const dir of dataDirs.values()) await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
}
