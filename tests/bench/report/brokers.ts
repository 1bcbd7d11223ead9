/**
 * The brokers of the report: Samsa (this tree), Apache Kafka (tests/compat/kafka/kafka.sh), NATS JetStream and Redis.
 * Each listens on a free 127.0.0.1 port, keeps its data in its own folder, and stops itself after `maxLifetimeS`
 * even if the runner dies (a `timeout` wrapper, or kafka.sh's watchdog).
 *
 * @module
 */

import { firstChild, freePort, sleep, waitForPort } from "./proc.ts";

const REPO = new URL("../../../", import.meta.url).pathname;
const KAFKA_SH = `${REPO}tests/compat/kafka/kafka.sh`;
const decoder = new TextDecoder();

/**
 * Open-file limit asked for every broker: 10,000 partitions need more descriptors than a default limit of 20,000
 * when a broker keeps three per partition (Kafka's documentation asks operators for 100,000+). Raising the hard
 * limit needs CAP_SYS_RESOURCE; without it the broker keeps the inherited limit, and W6 reports the limit it had.
 */
export const BROKER_NOFILE = 200_000;
export const RAISE_NOFILE = `ulimit -n ${BROKER_NOFILE} 2>/dev/null || true;`;

/** A running broker. */
export interface Broker {
  /** Kafka-protocol bootstrap (`127.0.0.1:P`), or the NATS/Redis address. */
  address: string;
  port: number;
  dataDir: string;
  /** The pid of the broker process itself (not of a wrapper); a cluster's first node. */
  pid(): number;
  /** Every broker process of a cluster (CPU and RSS are summed over them); absent for a single broker. */
  pids?(): number[];
  /** Clean stop (SIGTERM); resolves with the seconds it took. */
  stop(): Promise<number>;
  /** Starts again on the same port and data; resolves with the seconds until the port accepted connections. */
  restart(): Promise<number>;
}

/** A process under `timeout`, its output appended to a log file. */
export class Wrapped {
  #child: Deno.ChildProcess;
  #exited = false;
  #status: Promise<Deno.CommandStatus>;

  constructor(cmd: string[], logFile: string, maxLifetimeS: number, cwd?: string) {
    const quoted = cmd.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
    this.#child = new Deno.Command("bash", {
      args: ["-c", `${RAISE_NOFILE} exec timeout -s TERM -k 20 ${maxLifetimeS} ${quoted} >>'${logFile}' 2>&1`],
      cwd,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#status = this.#child.status.then((s) => {
      this.#exited = true;
      return s;
    });
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** The wrapped program's pid (the child of `timeout`). */
  async pid(): Promise<number> {
    for (let i = 0; i < 100; i++) {
      const child = firstChild(this.#child.pid);
      if (child !== undefined) return child;
      await sleep(20);
    }
    return this.#child.pid;
  }

  /** kill -9 of the wrapped program itself (a crash, not a shutdown); resolves once the wrapper has exited. */
  async crash(): Promise<void> {
    if (this.#exited) return;
    const pid = await this.pid();
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* already gone */ }
    await this.#status;
  }

  /** SIGTERM (timeout forwards it once), SIGKILL after `graceMs`; the seconds it took. */
  async stop(graceMs = 30_000): Promise<number> {
    const start = performance.now();
    if (!this.#exited) this.#child.kill("SIGTERM");
    const killer = setTimeout(() => {
      if (!this.#exited) this.#child.kill("SIGKILL");
    }, graceMs);
    await this.#status;
    clearTimeout(killer);
    return (performance.now() - start) / 1000;
  }
}

/** Options shared by every broker. */
export interface BrokerOptions {
  dataDir: string;
  maxLifetimeS: number;
  /** Broker settings (`--set key=value` for Samsa and Kafka). */
  settings?: Record<string, string | number>;
}

/** Samsa from this tree; `cpuProfDir` turns on `deno run --cpu-prof` (the profile is written at a clean exit). */
export async function startSamsa(options: BrokerOptions & { cpuProfDir?: string }): Promise<Broker> {
  const port = freePort();
  const logFile = `${options.dataDir}.log`;
  const settings = { "listeners": `PLAINTEXT://127.0.0.1:${port}`, "log.dirs": options.dataDir, ...options.settings };
  const args = [Deno.execPath(), "run", "--allow-all"];
  if (options.cpuProfDir) args.push("--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`);
  args.push(`${REPO}main.ts`, "start");
  for (const [k, v] of Object.entries(settings)) args.push("--set", `${k}=${v}`);
  let proc: Wrapped;
  let brokerPid = 0;
  const launch = async (): Promise<number> => {
    const start = performance.now();
    proc = new Wrapped(args, logFile, options.maxLifetimeS, REPO);
    brokerPid = await proc.pid();
    try {
      await waitForPort(port, 60_000, () => proc.exited);
    } catch (e) {
      await proc.stop(1000);
      const log = await Deno.readTextFile(logFile).catch(() => "");
      throw new Error(`Samsa did not start: ${(e as Error).message}\n${log.slice(-2000)}`);
    }
    return (performance.now() - start) / 1000;
  };
  await launch();
  return {
    address: `127.0.0.1:${port}`,
    port,
    dataDir: options.dataDir,
    pid: () => brokerPid,
    stop: () => proc.stop(),
    restart: launch,
  };
}

async function kafkaSh(args: string[]): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: ["-c", `${RAISE_NOFILE} exec bash "$0" "$@"`, KAFKA_SH, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`kafka.sh ${args[0]} failed: ${decoder.decode(out.stderr).slice(-2000)}`);
  return decoder.decode(out.stdout).trim();
}

/** Apache Kafka (one KRaft node) through kafka.sh; its run folder is `dataDir`. */
export async function startKafka(options: BrokerOptions): Promise<Broker> {
  const port = freePort();
  const sets = Object.entries(options.settings ?? {}).flatMap(([k, v]) => ["--set", `${k}=${v}`]);
  const common = ["--dir", options.dataDir, "--port", String(port), "--max-lifetime", String(options.maxLifetimeS)];
  const address = (await kafkaSh(["start", ...common, ...sets])).split("\n").pop()!;
  const pid = () => Number(Deno.readTextFileSync(`${options.dataDir}/kafka.pid`).trim());
  return {
    address,
    port,
    dataDir: options.dataDir,
    pid,
    async stop() {
      const start = performance.now();
      await kafkaSh(["stop", "--dir", options.dataDir]);
      return (performance.now() - start) / 1000;
    },
    async restart() {
      const start = performance.now();
      await kafkaSh(["start", ...common, "--keep-data", ...sets]);
      return (performance.now() - start) / 1000;
    },
  };
}

/** The NATS server binary to use: one that knows `sync_interval` (2.10+) if there is one, and its version. */
export async function findNatsServer(): Promise<{ path: string; version: string; syncAlways: boolean } | undefined> {
  const home = Deno.env.get("HOME") ?? "/root";
  const candidates = [
    Deno.env.get("NATS_SERVER"),
    `${home}/.cache/samsa/nats-server-2.10.29/nats-server`,
    "nats-server",
  ];
  for (const path of candidates) {
    if (!path) continue;
    try {
      const out = await new Deno.Command(path, { args: ["--version"], stdout: "piped", stderr: "piped" }).output();
      if (!out.success) continue;
      const version = decoder.decode(out.stdout).trim().replace(/^nats-server:\s*v?/, "");
      const [major, minor] = version.split(".").map(Number);
      return { path, version, syncAlways: major > 2 || (major === 2 && minor >= 10) };
    } catch {
      continue;
    }
  }
  return undefined;
}

/** NATS with JetStream on file storage; `sync_interval: always` when the server knows it. */
export async function startNats(options: BrokerOptions & { binary: string; syncAlways: boolean }): Promise<Broker> {
  const port = freePort();
  await Deno.mkdir(options.dataDir, { recursive: true });
  const conf = `${options.dataDir}/nats.conf`;
  const sync = options.syncAlways ? ", sync_interval: always" : "";
  await Deno.writeTextFile(
    conf,
    `listen: 127.0.0.1:${port}\nmax_payload: 1MB\njetstream { store_dir: "${options.dataDir}/js"${sync} }\n`,
  );
  let proc: Wrapped;
  let pid = 0;
  const launch = async () => {
    const start = performance.now();
    proc = new Wrapped([options.binary, "-c", conf], `${options.dataDir}.log`, options.maxLifetimeS);
    pid = await proc.pid();
    await waitForPort(port, 30_000, () => proc.exited);
    return (performance.now() - start) / 1000;
  };
  await launch();
  return {
    address: `nats://127.0.0.1:${port}`,
    port,
    dataDir: options.dataDir,
    pid: () => pid,
    stop: () => proc.stop(),
    restart: launch,
  };
}

/** Redis with an append-only file fsynced before every reply (`appendfsync always`). */
export async function startRedis(options: BrokerOptions): Promise<Broker> {
  const port = freePort();
  await Deno.mkdir(options.dataDir, { recursive: true });
  const args = [
    "redis-server",
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    options.dataDir,
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--save",
    "",
    "--protected-mode",
    "no",
  ];
  let proc: Wrapped;
  let pid = 0;
  const launch = async () => {
    const start = performance.now();
    proc = new Wrapped(args, `${options.dataDir}.log`, options.maxLifetimeS);
    pid = await proc.pid();
    await waitForPort(port, 30_000, () => proc.exited);
    return (performance.now() - start) / 1000;
  };
  await launch();
  return {
    address: `127.0.0.1:${port}`,
    port,
    dataDir: options.dataDir,
    pid: () => pid,
    stop: () => proc.stop(),
    restart: launch,
  };
}
