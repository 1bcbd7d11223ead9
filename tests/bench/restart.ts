/**
 * Restart time at scale: a broker with N one-partition topics (one record each), restarted after kill -9 (right
 * after the writes, and again once its recovery points were checkpointed) and after a clean stop. Prints the
 * figures; it judges nothing. Partition counts come from the command line (default 1000 5000 20000); the broker
 * runs under `ulimit -n 4096` (RESTART_BENCH_ULIMIT), below the two descriptors per partition a 20,000-partition
 * broker would take for every active segment to stay open.
 *
 * `deno task bench restart [1000 5000 20000]`
 *
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, startBroker } from "../integration/broker_process.ts";
import { RawClient } from "../diff/raw_client.ts";
import { ApiKey, ErrorCode } from "../../protocol/messages.ts";

const TOPICS_PER_REQUEST = 500;
/** Recovery points checkpointed every second, so the "idle" kill -9 finds them current after a short wait. */
const SETTINGS = { "log.flush.offset.checkpoint.interval.ms": 1000 };

function kafkaFor(bootstrap: string): Kafka {
  return new Kafka({
    clientId: "restart-bench",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
    connectionTimeout: 5_000,
    requestTimeout: 600_000,
  });
}

/** The broker's own startup time, from its "broker started" line (ms; the line may trail the port by a moment). */
async function startupMs(broker: BrokerProcess): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const match = /msg="broker started".*startup_ms=(\d+)/.exec(broker.logs());
    if (match) return Number(match[1]);
    if (Date.now() > deadline) return NaN;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function restart(
  dataDir: string,
  port: number,
  limit: number,
): Promise<{ wallMs: number; broker: BrokerProcess }> {
  // Each restart starts with the page cache written back, so it does not pay for the writes of what came before.
  await new Deno.Command("sync").output();
  const started = performance.now();
  const broker = await startBroker({
    dataDir,
    port,
    openFilesLimit: limit,
    startTimeoutMs: 900_000,
    settings: SETTINGS,
  });
  return { wallMs: performance.now() - started, broker };
}

/**
 * Asks ListOffsets (latest) for every topic's partition, 500 topics a request over one raw connection (kafkajs
 * refreshes metadata for every topic it knows at each call, quadratic at these counts); returns how many
 * answered with their one record.
 */
async function servedPartitions(bootstrap: string, topics: string[]): Promise<number> {
  const client = await RawClient.connect(bootstrap);
  let served = 0;
  try {
    for (let i = 0; i < topics.length; i += TOPICS_PER_REQUEST) {
      const response = await client.request(ApiKey.ListOffsets, 7, {
        replicaId: -1,
        isolationLevel: 0,
        timeoutMs: 30_000,
        topics: topics.slice(i, i + TOPICS_PER_REQUEST).map((name) => ({
          name,
          partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }],
        })),
      });
      for (const t of response.topics) {
        served += t.partitions.filter((p) => p.errorCode === ErrorCode.NONE && p.offset === 1n).length;
      }
    }
  } finally {
    client.close();
  }
  return served;
}

async function benchOne(partitions: number, limit: number): Promise<void> {
  const broker = await startBroker({ openFilesLimit: limit, settings: SETTINGS });
  const dataDir = broker.dataDir;
  const topics = Array.from({ length: partitions }, (_, i) => `t${i}`);
  try {
    const kafka = kafkaFor(broker.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    let t = performance.now();
    for (let i = 0; i < topics.length; i += TOPICS_PER_REQUEST) {
      await admin.createTopics({
        topics: topics.slice(i, i + TOPICS_PER_REQUEST).map((topic) => ({ topic, numPartitions: 1 })),
        timeout: 600_000,
      });
    }
    const createMs = performance.now() - t;
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    t = performance.now();
    for (let i = 0; i < topics.length; i += TOPICS_PER_REQUEST) {
      await producer.sendBatch({
        acks: -1,
        topicMessages: topics.slice(i, i + TOPICS_PER_REQUEST).map((topic) => ({ topic, messages: [{ value: "x" }] })),
      });
    }
    const produceMs = performance.now() - t;
    await producer.disconnect();
    console.log(
      `${partitions} partitions: created in ${(createMs / 1000).toFixed(1)} s, one record each in ` +
        `${(produceMs / 1000).toFixed(1)} s`,
    );
  } finally {
    await broker.kill();
  }

  // kill -9 right after the writes: every partition's tail is past its recovery point (fsynced in recovery).
  let { wallMs, broker: b } = await restart(dataDir, broker.port, limit);
  const served = await servedPartitions(b.bootstrap, topics);
  console.log(
    `  restart after kill -9 (fresh writes): ${(wallMs / 1000).toFixed(2)} s to listening, broker ` +
      `startup ${await startupMs(b)} ms, ${served}/${partitions} partitions served`,
  );
  // Let the recovery points be checkpointed (interval 1 s), then kill -9 an idle broker.
  await new Promise((r) => setTimeout(r, 3_000));
  await b.kill();
  ({ wallMs, broker: b } = await restart(dataDir, broker.port, limit));
  console.log(
    `  restart after kill -9 (idle):         ${(wallMs / 1000).toFixed(2)} s to listening, broker ` +
      `startup ${await startupMs(b)} ms`,
  );
  const t = performance.now();
  await b.stop();
  const stopMs = performance.now() - t;
  ({ wallMs, broker: b } = await restart(dataDir, broker.port, limit));
  console.log(
    `  clean stop ${(stopMs / 1000).toFixed(2)} s; clean restart: ${(wallMs / 1000).toFixed(2)} s to ` +
      `listening, broker startup ${await startupMs(b)} ms`,
  );
  await b.stop();
  await Deno.remove(dataDir, { recursive: true });
}

/** Runs the benchmark for each partition count given (or 1000, 5000, 20000). */
export async function runRestartBench(args: string[]): Promise<void> {
  const counts = args.length > 0 ? args.map(Number) : [1_000, 5_000, 20_000];
  const limit = Number(Deno.env.get("RESTART_BENCH_ULIMIT") ?? 4096);
  console.log(`broker under ulimit -n ${limit}`);
  for (const n of counts) await benchOne(n, limit);
}
