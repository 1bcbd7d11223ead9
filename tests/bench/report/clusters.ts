/**
 * Three-broker clusters for W5, each node its own process on 127.0.0.1 with its own ports and data folder under the
 * report's data root (the same disk as every other workload):
 *
 * - Samsa: the nodes of `deno task cluster` (`localClusterPlan` of cli/local_cluster.ts: every node broker and
 *   controller), started one by one here so a single node can be killed and restarted.
 * - Apache Kafka 4.4 in KRaft mode, also three combined broker+controller nodes: the same process count and the same
 *   roles as Samsa's nodes (Samsa's metadata quorum runs inside its brokers too), and three JVMs rather than six on
 *   two cores. Its jars come from Maven Central through kafka_cluster.pom.xml into ~/.cache/samsa/kafka-<version>.
 *
 * Both: RF=3 by default (`default.replication.factor=3`, internal topics too), `min.insync.replicas=2`, every
 * other setting at its default unless the caller sets it (Kafka's flush-per-append run sets
 * `log.flush.interval.messages=1`). A cluster is ready when every node answers Metadata naming all three brokers.
 *
 * @module
 */

import { localClusterPlan } from "../../../cli/local_cluster.ts";
import { type Broker, type BrokerOptions, Wrapped } from "./brokers.ts";
import { freePort, sleep, waitForPort } from "./proc.ts";

const REPO = new URL("../../../", import.meta.url).pathname;
const KAFKA_POM = new URL("./kafka_cluster.pom.xml", import.meta.url).pathname;
const decoder = new TextDecoder();

/** A running cluster: a `Broker` whose address lists every node, and whose nodes can crash and come back. */
export interface Cluster extends Broker {
  /** Node ids, 1..n. */
  readonly nodeIds: number[];
  /** The pid of node `id`'s broker process. */
  nodePid(id: number): number;
  /** kill -9 of node `id` (a crash: nothing flushed, no controlled shutdown). */
  crash(id: number): Promise<void>;
  /** Starts node `id` again on its ports and data; resolves once it answers Metadata naming every broker. */
  startNode(id: number): Promise<number>;
}

/** The settings both systems' W5 clusters share (Kafka's property names; Samsa reads the same). */
export const RF3_SETTINGS: Record<string, string | number> = {
  "default.replication.factor": 3,
  "min.insync.replicas": 2,
  "offsets.topic.replication.factor": 3,
};

/** Whether the node at `address` answers Metadata listing `brokers` brokers (kcat -L). */
async function answersWith(address: string, brokers: number): Promise<boolean> {
  try {
    const out = await new Deno.Command("kcat", {
      args: ["-b", address, "-L", "-m", "2"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success && decoder.decode(out.stdout).includes(` ${brokers} brokers:`);
  } catch {
    return false;
  }
}

/** Waits until the node on `port` listens and names every broker of the cluster. */
async function waitForNode(port: number, brokers: number, timeoutMs: number, gone: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await waitForPort(port, timeoutMs, gone);
  while (!await answersWith(`127.0.0.1:${port}`, brokers)) {
    if (gone()) throw new Error(`the node on port ${port} exited`);
    if (Date.now() > deadline) throw new Error(`the node on port ${port} did not list ${brokers} brokers in time`);
    await sleep(250);
  }
}

/** One node's process and how to (re)start it. */
interface Node {
  id: number;
  port: number;
  launch: () => Wrapped;
  proc?: Wrapped;
  pid: number;
}

/** The `Cluster` over started nodes (shared by Samsa and Kafka). */
async function clusterOf(nodes: Node[], dataDir: string, startTimeoutMs: number, what: string): Promise<Cluster> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const get = (id: number) => {
    const n = byId.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  };
  const startNode = async (id: number): Promise<number> => {
    const n = get(id);
    const began = performance.now();
    n.proc = n.launch();
    n.pid = await n.proc.pid();
    const proc = n.proc;
    await waitForNode(n.port, nodes.length, startTimeoutMs, () => proc.exited);
    return (performance.now() - began) / 1000;
  };
  const stopAll = async () => {
    const took = performance.now();
    await Promise.all(nodes.map((n) => n.proc?.stop()));
    return (performance.now() - took) / 1000;
  };
  const startAll = async () => {
    const began = performance.now();
    // Every node at once: a quorum of controllers must be up before any broker registers.
    try {
      await Promise.all(nodes.map((n) => startNode(n.id)));
    } catch (e) {
      await stopAll();
      throw new Error(`${what} did not start: ${(e as Error).message} (logs: ${dataDir}/node-*.log)`);
    }
    return (performance.now() - began) / 1000;
  };
  await startAll();
  return {
    address: nodes.map((n) => `127.0.0.1:${n.port}`).join(","),
    port: nodes[0].port,
    dataDir,
    nodeIds: nodes.map((n) => n.id),
    pid: () => nodes[0].pid,
    pids: () => nodes.map((n) => n.pid),
    nodePid: (id) => get(id).pid,
    crash: async (id) => await get(id).proc?.crash(),
    startNode,
    stop: stopAll,
    restart: startAll,
  };
}

/** A base port whose 1..n client ports and 10000+1..n controller ports are free now (cli/local_cluster's layout). */
function freeBasePort(n: number): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: n }, (_, i) => [base + i, base + 10_000 + i]).flat();
    if (ports.every(portFree)) return base;
  }
  throw new Error("no free range of ports for a cluster");
}

function portFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** Samsa as `n` nodes (broker and controller each), from this tree. */
export async function startSamsaCluster(options: BrokerOptions & { nodes?: number }): Promise<Cluster> {
  const n = options.nodes ?? 3;
  await Deno.mkdir(options.dataDir, { recursive: true });
  const plan = localClusterPlan({
    brokers: n,
    basePort: freeBasePort(n),
    dataDir: options.dataDir,
    // Fresh data folders every time: a fixed id is enough (16 bytes, URL-safe base64 as Kafka's).
    clusterId: "c2Ftc2EtYmVuY2gtdzUtYw",
  });
  const nodes: Node[] = plan.map((p) => {
    const settings = { ...p.settings, ...RF3_SETTINGS, ...options.settings };
    const args = [Deno.execPath(), "run", "--allow-all", `${REPO}main.ts`, "start"];
    for (const [k, v] of Object.entries(settings)) args.push("--set", `${k}=${v}`);
    return {
      id: p.id,
      port: p.clientPort,
      pid: 0,
      launch: () => new Wrapped(args, `${options.dataDir}/node-${p.id}.log`, options.maxLifetimeS, REPO),
    };
  });
  return await clusterOf(nodes, options.dataDir, 90_000, "the Samsa cluster");
}

/** The Kafka version of kafka_cluster.pom.xml. */
export function kafkaClusterVersion(): string {
  const pom = Deno.readTextFileSync(KAFKA_POM);
  return pom.match(/<kafka.version>(.*)<\/kafka.version>/)?.[1] ?? "?";
}

/** The jars of kafka_cluster.pom.xml, fetched with Maven once; returns the folder holding them. */
export async function fetchKafkaClusterJars(): Promise<string> {
  const home = `${
    Deno.env.get("SAMSA_CACHE") ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache/samsa`
  }/kafka-${kafkaClusterVersion()}`;
  const libs = `${home}/libs`;
  const stamp = `${home}/fetched`;
  const pom = await Deno.readTextFile(KAFKA_POM);
  const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pom))))
    .map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 16);
  if (await Deno.readTextFile(stamp).then((s) => s.trim() === digest, () => false)) return libs;
  const tmp = `${libs}.tmp`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(home, { recursive: true });
  const out = await new Deno.Command("mvn", {
    args: [
      "-q",
      "-B",
      "-Dstyle.color=never",
      "-f",
      KAFKA_POM,
      "dependency:copy-dependencies",
      `-DoutputDirectory=${tmp}`,
      "-DincludeScope=runtime",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`mvn could not fetch Kafka's jars: ${decoder.decode(out.stdout).slice(-1000)}`);
  }
  await Deno.remove(libs, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, libs);
  await Deno.writeTextFile(stamp, `${digest}\n`);
  return libs;
}

/** A Java 17+ binary (Kafka 4's minimum): `KAFKA_JAVA`, `JAVA_HOME`'s, or the one on PATH. */
async function java(): Promise<string> {
  const home = Deno.env.get("JAVA_HOME");
  for (const candidate of [Deno.env.get("KAFKA_JAVA"), home && `${home}/bin/java`, "java"]) {
    if (!candidate) continue;
    try {
      const out = await new Deno.Command(candidate, {
        args: ["-XshowSettings:properties", "-version"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const spec = decoder.decode(out.stderr).match(/java\.specification\.version = (\d+)/)?.[1];
      if (Number(spec) >= 17) return candidate;
    } catch {
      continue;
    }
  }
  throw new Error("no Java 17+ found for Kafka (set KAFKA_JAVA)");
}

/** One Kafka node's server.properties: combined broker+controller, RF=3, then the caller's overrides. */
export function kafkaNodeProperties(
  options: {
    id: number;
    port: number;
    controllerPort: number;
    voters: string;
    logDir: string;
    settings?: Record<string, string | number>;
  },
): string {
  const settings: Record<string, string | number> = {
    "process.roles": "broker,controller",
    "node.id": options.id,
    "controller.quorum.voters": options.voters,
    "listeners": `PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${options.port}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "log.dirs": options.logDir,
    "num.partitions": 1,
    "transaction.state.log.replication.factor": 3,
    "transaction.state.log.min.isr": 2,
    "share.coordinator.state.topic.replication.factor": 3,
    "share.coordinator.state.topic.min.isr": 2,
    "group.initial.rebalance.delay.ms": 0,
    ...RF3_SETTINGS,
    ...options.settings,
  };
  return Object.entries(settings).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

const KAFKA_LOG4J = (file: string) =>
  `rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
`;

/** Apache Kafka (kafka_cluster.pom.xml's version) as `n` KRaft nodes, each broker and controller. */
export async function startKafkaCluster(options: BrokerOptions & { nodes?: number }): Promise<Cluster> {
  const n = options.nodes ?? 3;
  const libs = await fetchKafkaClusterJars();
  const javaBin = await java();
  await Deno.mkdir(options.dataDir, { recursive: true });
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const ports = new Set<number>();
  const take = () => {
    let p = freePort();
    while (ports.has(p)) p = freePort();
    ports.add(p);
    return p;
  };
  const spec = ids.map((id) => ({ id, port: take(), controllerPort: take(), dir: `${options.dataDir}/node-${id}` }));
  const voters = spec.map((s) => `${s.id}@127.0.0.1:${s.controllerPort}`).join(",");
  const clusterId = "c2Ftc2EtYmVuY2gtdzUtYw";
  const jvm = ["-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true"];
  const nodes: Node[] = [];
  for (const s of spec) {
    await Deno.mkdir(s.dir, { recursive: true });
    const props = `${s.dir}/server.properties`;
    await Deno.writeTextFile(
      props,
      kafkaNodeProperties({ ...s, voters, logDir: `${s.dir}/data`, settings: options.settings }),
    );
    await Deno.writeTextFile(`${s.dir}/log4j2.properties`, KAFKA_LOG4J(`${s.dir}/server.log`));
    const base = [javaBin, ...jvm, `-Dlog4j2.configurationFile=${s.dir}/log4j2.properties`, "-cp", `${libs}/*`];
    const format = await new Deno.Command(base[0], {
      args: [...base.slice(1), "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", props],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!format.success) {
      throw new Error(`Kafka storage format failed: ${decoder.decode(format.stdout).slice(-1000)}`);
    }
    nodes.push({
      id: s.id,
      port: s.port,
      pid: 0,
      launch: () =>
        new Wrapped([...base, "kafka.Kafka", props], `${options.dataDir}/node-${s.id}.log`, options.maxLifetimeS),
    });
  }
  return await clusterOf(nodes, options.dataDir, 120_000, `Kafka ${kafkaClusterVersion()}`);
}
