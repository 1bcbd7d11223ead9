/**
 * The chaos workload's processes: the real producer and consumer of `workload.py` (confluent-kafka), or of its
 * Java twin `tests/compat/java` `ChaosWorkload` (the official Java client, same arguments and lines), driven
 * from Deno. The producer's delivery reports are recorded as they arrive, so a scenario can wait for
 * acknowledgements before and after a fault; the consumer's reads come back at the end.
 *
 * @module
 */
import type { Ack, Read, SendFailure } from "./checker.ts";

const WORKLOAD = new URL("./workload.py", import.meta.url).pathname;
const JAVA_RUN = new URL("../compat/java/run.sh", import.meta.url).pathname;

/** Which real client runs the workload: confluent-kafka (librdkafka, the default) or the Java client. */
export type WorkloadClient = "confluent-kafka" | "java";

/** The command that runs the workload's `args` (mode first) with `client`. */
export function workloadCommand(client: WorkloadClient, args: string[]): { command: string; args: string[] } {
  return client === "java"
    ? { command: "bash", args: [JAVA_RUN, "workload", ...args] }
    : { command: "python3", args: [WORKLOAD, ...args] };
}

/** One JSON line of the workload (the fields its `type` carries). */
export type WorkloadLine =
  | ({ type: "ack" } & Ack)
  | ({ type: "fail" } & SendFailure)
  | ({ type: "read" } & Read)
  | { type: "error"; error: string; atMs: number }
  | { type: "done"; sent?: number; unflushed?: number; highWatermarks?: Record<string, number>; complete?: boolean };

/** Splits a stream into lines and hands each parsed JSON line on; other lines go to `other`. */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: WorkloadLine) => void,
  other: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        onLine(JSON.parse(text));
      } catch {
        other(text);
      }
    }
  }
  if (pending.length > 0) other(pending);
}

/** Options of the producer. */
export interface ProducerOptions {
  bootstrap: string;
  topic: string;
  partitions: number;
  /** Upper bounds: the producer stops by itself after this many values or seconds. */
  maxRecords?: number;
  maxSeconds?: number;
  /** Pause between sends, ms (default 2: about 500 records a second). */
  intervalMs?: number;
  /** How long librdkafka keeps retrying one record (`message.timeout.ms`, default 30 s). */
  messageTimeoutMs?: number;
  /** The client (default confluent-kafka). */
  client?: WorkloadClient;
}

/** A running idempotent acks=all producer and what it has been told so far. */
export class WorkloadProducer {
  readonly acks: Ack[] = [];
  readonly failures: SendFailure[] = [];
  readonly clientErrors: string[] = [];
  /** Values handed to the client, as it reported when done; -1 until then. */
  sent = -1;
  unflushed = 0;
  #stderr = "";
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(options: ProducerOptions) {
    const args = [
      "produce",
      options.bootstrap,
      options.topic,
      String(options.partitions),
      "--max-records",
      String(options.maxRecords ?? 1_000_000),
      "--max-seconds",
      String(options.maxSeconds ?? 120),
      "--interval-ms",
      String(options.intervalMs ?? 2),
      "--message-timeout-ms",
      String(options.messageTimeoutMs ?? 30_000),
    ];
    const run = workloadCommand(options.client ?? "confluent-kafka", args);
    this.#child = new Deno.Command(run.command, { args: run.args, stdin: "piped", stdout: "piped", stderr: "piped" })
      .spawn();
    this.#reading = Promise.all([
      readLines(this.#child.stdout, (line) => this.#record(line), (text) => this.#stderr += `${text}\n`),
      readLines(this.#child.stderr, () => {}, (text) => this.#stderr += `${text}\n`),
    ]).then(() => this.#wake());
  }

  #record(line: WorkloadLine): void {
    if (line.type === "ack") {
      this.acks.push({ value: line.value, partition: line.partition, offset: line.offset, atMs: line.atMs });
    } else if (line.type === "fail") this.failures.push({ value: line.value, error: line.error, atMs: line.atMs });
    else if (line.type === "error") this.clientErrors.push(line.error);
    else if (line.type === "done") {
      this.sent = line.sent ?? 0;
      this.unflushed = line.unflushed ?? 0;
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** What the client printed that is not a workload line (its own log, a Python traceback). */
  get stderr(): string {
    return this.#stderr;
  }

  /**
   * Waits until `condition` holds over the acknowledgements, or `timeoutMs` passed, or the producer exited;
   * resolves with whether it held.
   */
  async waitUntil(condition: (acks: readonly Ack[]) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    this.#reading.then(() => exited = true);
    while (!condition(this.acks)) {
      const left = deadline - Date.now();
      if (left <= 0 || exited) return condition(this.acks);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return true;
  }

  /** Waits for `count` acknowledgements (those `which` accepts, by default all) at or after `sinceMs`. */
  waitForAcksSince(
    sinceMs: number,
    count: number,
    timeoutMs: number,
    which: (ack: Ack) => boolean = () => true,
  ): Promise<boolean> {
    return this.waitUntil((acks) => {
      let n = 0;
      for (let i = acks.length - 1; i >= 0 && acks[i].atMs >= sinceMs; i--) if (which(acks[i])) n++;
      return n >= count;
    }, timeoutMs);
  }

  /**
   * Stops sending (closes the client's stdin), lets it flush for what it has left of `timeoutMs`, and kills it
   * if it is still running then.
   */
  async stop(timeoutMs = 40_000): Promise<void> {
    try {
      await this.#child.stdin.close();
    } catch { /* already closed: the client exited */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* exited */ }
    }, timeoutMs);
    try {
      await this.#child.status;
      await this.#reading;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What the consumer read. */
export interface Consumed {
  reads: Read[];
  /** The high watermark of each partition the consumer found at its start. */
  highWatermarks: Map<number, number>;
  /** Whether it read every partition to that high watermark in time. */
  complete: boolean;
  clientErrors: string[];
  stderr: string;
}

/**
 * Reads `topic` from the beginning to the high watermark with the real consumer, within `maxSeconds` (the process
 * is killed 15 s after that, should it hang).
 *
 * @example
 * ```ts ignore
 * const { reads, complete } = await consumeAll(cluster.bootstrap(1), "chaos", 1, 30);
 * ```
 */
export async function consumeAll(
  bootstrap: string,
  topic: string,
  partitions: number,
  maxSeconds: number,
  client: WorkloadClient = "confluent-kafka",
): Promise<Consumed> {
  const run = workloadCommand(client, [
    "consume",
    bootstrap,
    topic,
    String(partitions),
    "--max-seconds",
    `${maxSeconds}`,
  ]);
  const child = new Deno.Command(run.command, { args: run.args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), (maxSeconds + 15) * 1000);
  const out: Consumed = { reads: [], highWatermarks: new Map(), complete: false, clientErrors: [], stderr: "" };
  try {
    await Promise.all([
      readLines(child.stdout, (line) => {
        if (line.type === "read") {
          out.reads.push({ partition: line.partition, offset: line.offset, value: String(line.value) });
        } else if (line.type === "error") out.clientErrors.push(line.error);
        else if (line.type === "done") {
          for (const [p, hw] of Object.entries(line.highWatermarks ?? {})) out.highWatermarks.set(Number(p), hw);
          out.complete = line.complete ?? false;
        }
      }, (text) => out.stderr += `${text}\n`),
      readLines(child.stderr, () => {}, (text) => out.stderr += `${text}\n`),
    ]);
    await child.status;
  } finally {
    clearTimeout(timer);
  }
  return out;
}

/** A member of a consumer group run by `workload.py group`: its reads are gathered as they come. */
export class WorkloadGroupMember {
  readonly reads: Read[] = [];
  readonly clientErrors: string[] = [];
  #stderr = "";
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;

  /** Joins `group` on `topic` with the classic protocol or KIP-848's (`consumer`), as `client` (confluent-kafka). */
  constructor(
    bootstrap: string,
    topic: string,
    group: string,
    protocol: "classic" | "consumer",
    client: WorkloadClient = "confluent-kafka",
  ) {
    const args = ["group", bootstrap, topic, group, "--group-protocol", protocol, "--max-seconds", "300"];
    const run = workloadCommand(client, args);
    this.#child = new Deno.Command(run.command, { args: run.args, stdin: "piped", stdout: "piped", stderr: "piped" })
      .spawn();
    this.#reading = Promise.all([
      readLines(this.#child.stdout, (line) => {
        if (line.type === "read") {
          this.reads.push({ partition: line.partition, offset: line.offset, value: String(line.value) });
        } else if (line.type === "error") this.clientErrors.push(line.error);
      }, (text) => this.#stderr += `${text}\n`),
      readLines(this.#child.stderr, () => {}, (text) => this.#stderr += `${text}\n`),
    ]).then(() => {});
  }

  /** The values read so far. */
  values(): string[] {
    return this.reads.map((r) => r.value);
  }

  /** What the client printed besides its reads: its errors and log. */
  get stderr(): string {
    return [...this.clientErrors, this.#stderr].join("\n");
  }

  /** Closes stdin: the member commits, leaves the group and exits; killed after `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<void> {
    try {
      await this.#child.stdin.close();
    } catch { /* exited */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* exited */ }
    }, timeoutMs);
    try {
      await this.#child.status;
      await this.#reading;
    } finally {
      clearTimeout(timer);
    }
  }
}
