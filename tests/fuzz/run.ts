/**
 * Fuzzes a live broker: bursts of mutated requests (mutator.ts) on fresh connections, and after each burst a
 * health check: the broker process is alive, a healthy client gets ApiVersions and Metadata answered within
 * a few seconds, and the broker's RSS is under a bound. A failed check is a crash: it is reported with the
 * seed and burst to replay (the burst's frames are saved), and the broker is restarted to go on.
 *
 * @module
 */
import { ApiKey } from "../../protocol/messages.ts";
import { RawClient } from "../diff/raw_client.ts";
import { type BrokerProcess, startBroker } from "../integration/broker_process.ts";
import { capturedFrames, generatedFrames, mutate, Rng } from "./mutator.ts";

/** What to run. */
export interface FuzzOptions {
  /** How long to fuzz. */
  seconds: number;
  /** The seed of every random choice; the same seed sends the same frames. */
  seed: number;
  /** Mutated requests per burst (default 32). */
  burst?: number;
  /** RSS over this is a failure (default 1 GiB). */
  maxRssBytes?: number;
  /** Where to print progress (default nowhere). */
  log?: (line: string) => void;
}

/** What a run found. */
export interface FuzzReport {
  seed: number;
  bursts: number;
  requestsSent: number;
  /** Connections the broker closed (malformed requests, mostly). */
  connectionsClosed: number;
  /** Requests answered with a response frame. */
  responses: number;
  /** Lines the broker logged in all (malformed-request closes are rate-limited: a flood stays a few lines). */
  brokerLogLines: number;
  /** Lines the broker logged at error (a handler that threw: a bug, though the broker went on). */
  brokerErrors: string[];
  /** Broker deaths, failed health checks or RSS over the bound. */
  crashes: { burst: number; reason: string; savedTo: string }[];
  peakRssBytes: number;
  seconds: number;
}

/** How long one connection waits for its answers before the fuzzer hangs up (acks=0, long polls). */
const ANSWER_TIMEOUT_MS = 1500;
const HEALTH_TIMEOUT_MS = 5000;

function rssBytes(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return kb ? Number(kb[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function sized(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setInt32(0, frame.length);
  out.set(frame, 4);
  return out;
}

/** Sends `frames` pipelined on one connection; counts the responses until the broker closes or time is up. */
async function sendOnOneConnection(
  port: number,
  frames: Uint8Array[],
): Promise<{ responses: number; closedByBroker: boolean }> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return { responses: 0, closedByBroker: true };
  }
  let responses = 0;
  let closedByBroker = false;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
  }, ANSWER_TIMEOUT_MS);
  const writing = (async () => {
    for (const f of frames) await conn.write(sized(f));
  })().catch(() => {});
  try {
    const buf = new Uint8Array(64 * 1024);
    let pending = new Uint8Array(0);
    while (responses < frames.length) {
      const n = await conn.read(buf);
      if (n === null) {
        closedByBroker = true;
        break;
      }
      const joined = new Uint8Array(pending.length + n);
      joined.set(pending);
      joined.set(buf.subarray(0, n), pending.length);
      pending = joined;
      while (pending.length >= 4) {
        const size = new DataView(pending.buffer, pending.byteOffset).getInt32(0);
        if (pending.length < 4 + size) break;
        responses++;
        pending = pending.slice(4 + size);
      }
    }
  } catch {
    if (!timedOut) closedByBroker = true; // reset by the broker
  } finally {
    clearTimeout(timer);
    await writing;
    try {
      conn.close();
    } catch {
      // closed by the timer or the broker
    }
  }
  return { responses, closedByBroker };
}

async function healthy(broker: BrokerProcess): Promise<string | null> {
  let client: RawClient | undefined;
  try {
    client = await RawClient.connect(broker.bootstrap, "fuzz-health");
    const versions = await client.request(ApiKey.ApiVersions, 3, {
      clientSoftwareName: "fuzz",
      clientSoftwareVersion: "1",
    }, HEALTH_TIMEOUT_MS);
    if (versions.errorCode !== 0) return `ApiVersions answered error ${versions.errorCode}`;
    const metadata = await client.request(ApiKey.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }, HEALTH_TIMEOUT_MS);
    if (metadata.brokers.length !== 1) return `Metadata listed ${metadata.brokers.length} brokers`;
    return null;
  } catch (e) {
    return `health check failed: ${(e as Error).message}`;
  } finally {
    await client?.close().catch(() => {});
  }
}

function errorLines(logs: string): string[] {
  return logs.split("\n").filter((l) => l.includes("level=error"));
}

function start(): Promise<BrokerProcess> {
  return startBroker({
    settings: {
      "socket.request.max.bytes": 16 * 1024 * 1024,
      "queued.max.request.bytes": 64 * 1024 * 1024,
      "log.level": "warn",
    },
  });
}

/**
 * Runs the fuzzer for `options.seconds` against a broker it starts and stops.
 *
 * @example
 * ```ts ignore
 * const report = await runFuzz({ seconds: 20, seed: 42 });
 * report.crashes.length; // 0
 * ```
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => {});
  const burstSize = options.burst ?? 32;
  const maxRss = options.maxRssBytes ?? 1024 * 1024 * 1024;
  const rng = new Rng(options.seed);
  const seeds = [
    ...capturedFrames(new URL("../fixtures/", import.meta.url)),
    ...generatedFrames(options.seed),
  ];
  const corpus = seeds.map((s) => s.frame);
  const report: FuzzReport = {
    seed: options.seed,
    bursts: 0,
    requestsSent: 0,
    connectionsClosed: 0,
    responses: 0,
    crashes: [],
    brokerErrors: [],
    brokerLogLines: 0,
    peakRssBytes: 0,
    seconds: 0,
  };
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  let broker = await start();
  try {
    while (performance.now() < deadline) {
      const burst = report.bursts++;
      const frames: Uint8Array[] = [];
      for (let i = 0; i < burstSize; i++) frames.push(mutate(corpus[rng.int(0, corpus.length - 1)], rng, corpus));
      // 1-4 frames per connection, all connections of the burst at once.
      const groups: Uint8Array[][] = [];
      for (let i = 0; i < frames.length;) {
        const n = rng.int(1, 4);
        groups.push(frames.slice(i, i + n));
        i += n;
      }
      const results = await Promise.all(groups.map((g) => sendOnOneConnection(broker.port, g)));
      report.requestsSent += frames.length;
      for (const r of results) {
        report.responses += r.responses;
        if (r.closedByBroker) report.connectionsClosed++;
      }
      const rss = rssBytes(broker.pid);
      report.peakRssBytes = Math.max(report.peakRssBytes, rss);
      const problem = rss > maxRss
        ? `broker RSS ${(rss / 2 ** 20).toFixed(0)} MiB is over ${(maxRss / 2 ** 20).toFixed(0)} MiB`
        : await healthy(broker);
      if (problem !== null) {
        const savedTo = await Deno.makeTempDir({ prefix: `samsa-fuzz-seed${options.seed}-burst${burst}-` });
        frames.forEach((f, i) => Deno.writeFileSync(`${savedTo}/${String(i).padStart(2, "0")}.bin`, f));
        Deno.writeTextFileSync(`${savedTo}/broker.log`, broker.logs());
        report.crashes.push({ burst, reason: problem, savedTo });
        report.brokerErrors.push(...errorLines(broker.logs()));
        report.brokerLogLines += broker.logs().split("\n").length;
        log(`CRASH in burst ${burst}: ${problem} (frames and broker log in ${savedTo})`);
        await broker.kill();
        await Deno.remove(broker.dataDir, { recursive: true }).catch(() => {});
        broker = await start();
      }
      if (burst % 20 === 0) {
        log(
          `burst ${burst}: ${report.requestsSent} requests, ${report.connectionsClosed} connections closed, ` +
            `${report.responses} responses, RSS ${(rss / 2 ** 20).toFixed(0)} MiB`,
        );
      }
    }
  } finally {
    await broker.stop();
    report.brokerErrors.push(...errorLines(broker.logs()));
    report.brokerLogLines += broker.logs().split("\n").length;
    await Deno.remove(broker.dataDir, { recursive: true }).catch(() => {});
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
