/**
 * Idempotence proven with real retries, for one real client at a time. A Samsa broker runs behind a proxy
 * (`tests/harness/tcp_proxy.ts`) that lets the broker write a Produce request and then cuts the connection
 * before the answer reaches the client, for the 1st and the 4th Produce. The client cannot know whether those
 * batches were written, so it resends them with the same producer id, epoch and sequence; the broker must
 * recognise the duplicates. With the `timeout` fault (Java and confluent-kafka, whose request timeout the driver
 * can shorten) the proxy instead holds the answer to the 2nd Produce (and the answers behind it) for twice the
 * client's 2 s request timeout: the request times out, and the client resends the batch while the broker's
 * late answer is still on its way. Checks: the client's own (every record acknowledged at offsets 0..N-1), that the
 * proxy saw a batch sent twice, and that the partition, read back with Samsa's own codec, holds each record
 * exactly once, in send order, from one producer epoch.
 *
 * Without deduplication on the broker these checks fail: a resent batch is either written a second time or
 * refused as out of order.
 *
 * ```sh
 * deno run -A tests/compat/idempotence_retry.ts <java|python|kcat|kafkajs|franz-go> [cut|timeout]
 * ```
 *
 * Prints one JSON check line per check, like the other drivers (`client_driver.ts`); exits 1 if one failed.
 * It starts its own broker behind its own proxy.
 *
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
import { ApiKey, decodeRequest } from "../../protocol/messages.ts";
import { iterateBatches } from "../../protocol/record_batch.ts";
import { type BrokerProcess, freePort, startBroker } from "../integration/broker_process.ts";
import { createTopic, RawClient } from "../integration/produce_helpers.ts";
import { readPartition } from "../harness/read_partition.ts";
import { startTcpProxy } from "../harness/tcp_proxy.ts";
import { type DriverCheck, runDriver } from "./client_driver.ts";
import { kcat } from "./kcat/kcat.ts";

/** How many records each client sends. */
export const RETRY_RECORDS = 100;
const TOPIC = "retried";
const JAVA = new URL("./java/run.sh", import.meta.url).pathname;
const PYTHON = new URL("./python/driver.py", import.meta.url).pathname;
const GO_DIR = new URL("./go/", import.meta.url).pathname;
/** The request timeout the drivers get under the `timeout` fault. */
const SHORT_REQUEST_TIMEOUT_MS = 2_000;

/** How the network loses answers: cut after the broker answered, or hold an answer past the request timeout. */
export type RetryFault = "cut" | "timeout";

/** The clients whose request timeout the scenario can shorten, so the `timeout` fault takes seconds. */
export const TIMEOUT_CLIENTS = ["java", "python"] as const;

/** The clients this scenario drives. */
export const RETRY_CLIENTS = ["java", "python", "kcat", "kafkajs", "franz-go"] as const;

/** One of them. */
export type RetryClient = typeof RETRY_CLIENTS[number];

/**
 * Sends RETRY_RECORDS records `k-i`/`v-i` to partition 0 of TOPIC through `bootstrap` (the proxy) and returns
 * the client's own checks. `direct` is the broker itself, for clients that need a second bootstrap address.
 */
type Producing = (bootstrap: string, direct: string, env: Record<string, string>) => Promise<DriverCheck[]>;

async function driverChecks(
  command: string,
  args: string[],
  timeoutMs: number,
  env: Record<string, string>,
): Promise<DriverCheck[]> {
  const run = await runDriver(command, args, timeoutMs, env);
  const exit = { check: "driver-exit", ok: run.code === 0, detail: { code: run.code, stderr: run.stderr.slice(-600) } };
  return [...run.checks, exit];
}

const PRODUCERS: Record<RetryClient, Producing> = {
  java: (bootstrap, _, env) => driverChecks("bash", [JAVA, bootstrap, "produce-retry"], 300_000, env),
  python: (bootstrap, _, env) => driverChecks("python3", [PYTHON, bootstrap, "produce-retry"], 180_000, env),
  "franz-go": async (bootstrap, _, env) => {
    const build = await new Deno.Command("go", { args: ["build", "-o", `${GO_DIR}.driver`, "."], cwd: GO_DIR })
      .output();
    if (!build.success) {
      return [{ check: "go-build", ok: false, detail: new TextDecoder().decode(build.stderr).slice(-600) }];
    }
    return driverChecks(`${GO_DIR}.driver`, [bootstrap, "produce-retry"], 180_000, env);
  },
  // kcat exits when every broker connection is down, which the cut makes true for a moment with one broker; a
  // second bootstrap address (the broker itself, used only for metadata) keeps one up, as a cluster would.
  kcat: async (bootstrap, direct) => {
    const input = Array.from({ length: RETRY_RECORDS }, (_, i) => `k-${i}:v-${i}\n`).join("");
    const settings = ["enable.idempotence=true", "acks=all", "linger.ms=5", "batch.num.messages=10"];
    const args = ["-b", `${bootstrap},${direct}`, "-P", "-t", TOPIC, "-p", "0", "-K", ":"];
    const result = await kcat([...args, ...settings.flatMap((s) => ["-X", s])], input);
    const failed = /Delivery failed.*/i.exec(result.stderr)?.[0];
    return [
      { check: "kcat-exit", ok: result.code === 0, detail: { code: result.code, stderr: result.stderr.slice(-600) } },
      { check: "all-delivered", ok: failed === undefined, detail: failed ?? "no delivery failure reported" },
    ];
  },
  kafkajs: async (bootstrap) => {
    const kafka = new Kafka({
      clientId: "samsa-retry-test",
      brokers: [bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100 },
    });
    // kafkajs's idempotent producer allows one request in flight: batches of ten records, one after another.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const baseOffsets: string[] = [];
    try {
      await producer.connect();
      for (let first = 0; first < RETRY_RECORDS; first += 10) {
        const messages = Array.from({ length: 10 }, (_, i) => ({
          key: `k-${first + i}`,
          value: `v-${first + i}`,
          partition: 0,
        }));
        const [meta] = await producer.send({ topic: TOPIC, acks: -1, messages });
        baseOffsets.push(meta.baseOffset ?? "?");
      }
    } catch (e) {
      return [{ check: "all-acked", ok: false, detail: String(e) }];
    } finally {
      await producer.disconnect().catch(() => {});
    }
    const expected = Array.from({ length: RETRY_RECORDS / 10 }, (_, i) => String(i * 10));
    return [{
      check: "offsets-in-send-order",
      ok: JSON.stringify(baseOffsets) === JSON.stringify(expected),
      detail: { baseOffsets },
    }];
  },
};

/** `producerId/epoch/baseSequence-lastOffsetDelta` of each batch in a Produce request frame. */
function producedBatchIds(frame: Uint8Array): string[] {
  if (new DataView(frame.buffer, frame.byteOffset).getInt16(0) !== ApiKey.Produce) return [];
  const request = decodeRequest(frame);
  if (request.apiKey !== ApiKey.Produce) return [];
  const ids: string[] = [];
  for (const topic of request.body.topicData) {
    for (const partition of topic.partitionData) {
      for (const { header } of iterateBatches(partition.records ?? new Uint8Array(0))) {
        ids.push(`${header.producerId}/${header.producerEpoch}/${header.baseSequence}-${header.lastOffsetDelta}`);
      }
    }
  }
  return ids;
}

/**
 * Runs the scenario for `client` against a fresh broker behind a fresh proxy, and returns every check: the
 * client's, then the proxy's and the read-back's.
 */
export async function runRetryScenario(client: RetryClient, fault: RetryFault = "cut"): Promise<DriverCheck[]> {
  if (fault === "timeout" && !(TIMEOUT_CLIENTS as readonly string[]).includes(client)) {
    return [{ check: "idempotence-retry", ok: false, detail: `the timeout fault needs one of ${TIMEOUT_CLIENTS}` }];
  }
  const brokerPort = freePort();
  const proxy = startTcpProxy({ targetPort: brokerPort });
  let broker: BrokerProcess | undefined;
  try {
    broker = await startBroker({
      port: brokerPort,
      // Clients must come back through the proxy after bootstrap, so the broker advertises its address.
      settings: { "advertised.listeners": `PLAINTEXT://${proxy.address}` },
    });
    const admin = await RawClient.connect(broker.bootstrap);
    try {
      await createTopic(admin, TOPIC);
    } finally {
      await admin.close();
    }
    const sent: string[] = [];
    proxy.observeRequests((frame) => sent.push(...producedBatchIds(frame)));
    const env: Record<string, string> = { COMPAT_TOPIC: TOPIC, COMPAT_RECORDS: String(RETRY_RECORDS) };
    if (fault === "cut") {
      proxy.cutBeforeAnswer({ apiKey: ApiKey.Produce, nth: 1 });
      proxy.cutBeforeAnswer({ apiKey: ApiKey.Produce, nth: 4 });
    } else {
      // Held, not dropped: a connection that stays open and silent forever is a different fault, after which
      // librdkafka keeps resending on that connection until its messages time out.
      proxy.delayAnswers({ apiKey: ApiKey.Produce, nth: 2 }, 2 * SHORT_REQUEST_TIMEOUT_MS);
      env.COMPAT_REQUEST_TIMEOUT_MS = String(SHORT_REQUEST_TIMEOUT_MS);
    }

    const checks = await PRODUCERS[client](proxy.address, broker.bootstrap, env);

    const faults = proxy.fired().length;
    checks.push({
      check: "faults-injected",
      ok: faults === (fault === "cut" ? 2 : 1),
      detail: { fault, faults, observerErrors: proxy.observerErrors().map(String) },
    });
    const resent = [...new Set(sent.filter((id, i) => sent.indexOf(id) !== i))];
    checks.push({
      check: "same-batch-resent",
      ok: resent.length > 0,
      detail: { resent: resent.slice(0, 5), batchesSent: sent.length },
    });
    const stored = await readPartition(broker.bootstrap, TOPIC);
    const got = stored.map((r) => `${r.offset}:${r.key}=${r.value}`);
    const want = Array.from({ length: RETRY_RECORDS }, (_, i) => `${i}:k-${i}=v-${i}`);
    const firstWrong = want.findIndex((w, i) => got[i] !== w);
    checks.push({
      check: "stored-exactly-once-in-order",
      ok: got.length === want.length && firstWrong === -1,
      detail: { stored: got.length, expected: want.length, firstWrong: firstWrong === -1 ? null : got[firstWrong] },
    });
    const producers = [...new Set(stored.map((r) => `${r.producerId}/${r.producerEpoch}`))];
    checks.push({ check: "one-producer-epoch", ok: producers.length === 1, detail: { producers } });
    return checks;
  } catch (e) {
    return [{ check: "idempotence-retry", ok: false, detail: `exception: ${(e as Error).stack ?? e}` }];
  } finally {
    await proxy.close();
    if (broker !== undefined) {
      await broker.stop();
      await Deno.remove(broker.dataDir, { recursive: true });
    }
  }
}

if (import.meta.main) {
  const [client, fault = "cut"] = Deno.args as [RetryClient, RetryFault?];
  if (!RETRY_CLIENTS.includes(client) || (fault !== "cut" && fault !== "timeout")) {
    console.error(`usage: idempotence_retry.ts <${RETRY_CLIENTS.join("|")}> [cut|timeout]`);
    Deno.exit(2);
  }
  const checks = await runRetryScenario(client, fault);
  for (const c of checks) console.log(JSON.stringify(c));
  Deno.exit(checks.every((c) => c.ok) ? 0 : 1);
}
