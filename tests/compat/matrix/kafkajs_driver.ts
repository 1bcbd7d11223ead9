/**
 * kafkajs 2.x as a matrix driver: one scenario per run, one JSON check line per check on stdout, exit 1 if a
 * check failed, 2 on bad usage, like the Java and Python drivers.
 *
 * ```sh
 * deno run -A tests/compat/matrix/kafkajs_driver.ts <bootstrap> <scenario> [codec]
 * ```
 *
 * kafkajs has no consumer without a group, so `consume` uses a consumer group, and the scenarios that only need
 * to see what the broker stored read it back with kcat (group-less). kafkajs ships gzip only; for snappy, lz4
 * and zstd, `produce-codec` registers codecs built on Samsa's own `protocol/compression.ts` (the batch framing is
 * still kafkajs's), which is what a kafkajs user does with a codec package.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { CompressionCodecs, CompressionTypes, ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { compress, decompress, DEFAULT_MAX_DECOMPRESSED_BYTES } from "../../../protocol/compression.ts";
import { Compression } from "../../../protocol/record_batch_header.ts";
import { kcat } from "../kcat/kcat.ts";

const RECORDS = Number(Deno.env.get("COMPAT_RECORDS") ?? 100);
const RUN_ID = Date.now().toString(36);
let failures = 0;

function check(name: string, ok: boolean, detail: unknown = null) {
  if (!ok) failures++;
  console.log(JSON.stringify({ check: name, ok, detail }));
}

function client(bootstrap: string): Kafka {
  return new Kafka({
    clientId: "samsa-matrix-kafkajs",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 100 },
  });
}

const CODECS: Record<string, [CompressionTypes, Compression]> = {
  none: [CompressionTypes.None, Compression.None],
  gzip: [CompressionTypes.GZIP, Compression.Gzip],
  snappy: [CompressionTypes.Snappy, Compression.Snappy],
  lz4: [CompressionTypes.LZ4, Compression.Lz4],
  zstd: [CompressionTypes.ZSTD, Compression.Zstd],
};

function registerCodec(type: CompressionTypes, codec: Compression) {
  if (type === CompressionTypes.None || type === CompressionTypes.GZIP) return;
  (CompressionCodecs as Record<number, unknown>)[type] = () => ({
    compress: (encoder: { buffer: Buffer }) =>
      Promise.resolve(Buffer.from(compress(codec, new Uint8Array(encoder.buffer)))),
    decompress: (data: Buffer) =>
      Promise.resolve(Buffer.from(decompress(codec, new Uint8Array(data), DEFAULT_MAX_DECOMPRESSED_BYTES))),
  });
}

async function createTopic(kafka: Kafka, topic: string, numPartitions = 1) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Partition 0 of `topic` as kcat (read_committed, librdkafka's default) sees it, `%s` per line. */
async function kcatValues(bootstrap: string, topic: string, extra: string[] = []): Promise<string[]> {
  const r = await kcat([
    "-b",
    bootstrap,
    "-C",
    "-t",
    topic,
    "-p",
    "0",
    "-o",
    "beginning",
    "-e",
    "-q",
    "-f",
    "%s\n",
    ...extra,
  ]);
  if (r.code !== 0) throw new Error(`kcat -C exit ${r.code}: ${r.stderr.slice(-300)}`);
  return r.stdout.split("\n").filter((l) => l.length > 0);
}

async function waitHigh(kafka: Kafka, topic: string, count: number): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let high = 0;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      high = Number((await admin.fetchTopicOffsets(topic))[0].high);
      if (high >= count) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return high;
  } finally {
    await admin.disconnect();
  }
}

const values = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}-${"x".repeat(i % 40)}`);

/** A group member that reads `count` records of `topic` (or until 45 s pass), commits and leaves. */
async function groupRead(kafka: Kafka, group: string, topic: string, count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  const got: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((r) => done = r);
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        got.push(message.value?.toString() ?? "");
        await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
        if (got.length >= count) done();
      },
    });
    await Promise.race([finished, new Promise((r) => setTimeout(r, 45_000))]);
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await consumer.disconnect();
  }
  return got;
}

const SCENARIOS: Record<string, (bootstrap: string, arg?: string) => Promise<void>> = {
  async "produce-codec"(bootstrap, name = "none") {
    const [type, codec] = CODECS[name] ?? CODECS.none;
    registerCodec(type, codec);
    const kafka = client(bootstrap);
    const topic = `kafkajs-${name}-${RUN_ID}`;
    await createTopic(kafka, topic);
    const producer = kafka.producer();
    await producer.connect();
    const want = values(name, RECORDS);
    const offsets: number[] = [];
    try {
      for (let i = 0; i < RECORDS; i += 10) {
        const [meta] = await producer.send({
          topic,
          acks: -1,
          compression: type,
          messages: want.slice(i, i + 10).map((value, j) => ({ key: `k-${i + j}`, value, partition: 0 })),
        });
        offsets.push(Number(meta.baseOffset));
      }
    } finally {
      await producer.disconnect();
    }
    const expected = Array.from({ length: offsets.length }, (_, i) => i * 10);
    check("acked-in-order", JSON.stringify(offsets) === JSON.stringify(expected), { baseOffsets: offsets.slice(0, 5) });
    const high = await waitHigh(kafka, topic, RECORDS);
    check("end-offset", high === RECORDS, { high, produced: RECORDS });
    const got = await kcatValues(bootstrap, topic);
    check("read-back-by-kcat", JSON.stringify(got) === JSON.stringify(want), { read: got.length });
  },
  async consume(bootstrap) {
    const kafka = client(bootstrap);
    const topic = `kafkajs-consume-${RUN_ID}`;
    await createTopic(kafka, topic);
    const want = values("v", RECORDS);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: want.map((value, i) => ({ key: `k-${i}`, value, partition: 0 })),
    });
    await producer.disconnect();
    const got = await groupRead(kafka, `kafkajs-consume-${RUN_ID}`, topic, RECORDS);
    check("read-all", got.length === RECORDS, { read: got.length, produced: RECORDS });
    check("records-match", JSON.stringify(got) === JSON.stringify(want), { read: got.length });
  },
  async idempotence(bootstrap) {
    const kafka = client(bootstrap);
    const topic = `kafkajs-idempotent-${RUN_ID}`;
    await createTopic(kafka, topic);
    const want = values("idem", RECORDS);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (const value of want) await producer.send({ topic, acks: -1, messages: [{ key: "k", value, partition: 0 }] });
    } finally {
      await producer.disconnect();
    }
    const got = await kcatValues(bootstrap, topic);
    check("exactly-once", JSON.stringify(got) === JSON.stringify(want), { read: got.length, sent: want.length });
  },
  async "group-classic"(bootstrap) {
    const kafka = client(bootstrap);
    const topic = `kafkajs-group-${RUN_ID}`;
    const group = topic;
    await createTopic(kafka, topic, 2);
    const producer = kafka.producer();
    await producer.connect();
    const send = (tag: string, n: number) =>
      producer.send({ topic, acks: -1, messages: values(tag, n).map((value, i) => ({ value, partition: i % 2 })) });
    try {
      await send("first", RECORDS);
      const first = await groupRead(kafka, group, topic, RECORDS);
      check("first-member-reads-all", first.length === RECORDS, { read: first.length, produced: RECORDS });
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      await admin.disconnect();
      const total = offsets[0].partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      check("commit", total === RECORDS, { committedTotal: total });
      const more = Math.max(1, Math.floor(RECORDS / 2));
      await send("second", more);
      const second = await groupRead(kafka, group, topic, more);
      const replayed = second.filter((v) => !v.startsWith("second-")).length;
      check("second-member-resumes", second.length === more && replayed === 0, {
        read: second.length,
        expected: more,
        replayed,
      });
    } finally {
      await producer.disconnect();
    }
  },
  async admin(bootstrap) {
    const admin = client(bootstrap).admin();
    const topics = [`kafkajs-admin-${RUN_ID}-0`, `kafkajs-admin-${RUN_ID}-1`];
    await admin.connect();
    try {
      const created = await admin.createTopics({
        topics: topics.map((topic) => ({
          topic,
          numPartitions: 3,
          configEntries: [{ name: "retention.ms", value: "123456" }],
        })),
      });
      check("create-topics", created === true, { created });
      const listed = (await admin.listTopics()).filter((t) => topics.includes(t)).sort();
      check("list-topics", JSON.stringify(listed) === JSON.stringify(topics), { listed });
      const meta = await admin.fetchTopicMetadata({ topics });
      const partitions = meta.topics.map((t) => t.partitions.length);
      check("topic-metadata", partitions.every((n) => n === 3), { partitions });
      const configs = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topics[0], configNames: ["retention.ms"] }],
        includeSynonyms: false,
      });
      const retention = configs.resources[0]?.configEntries.find((e) => e.configName === "retention.ms")?.configValue;
      check("describe-configs", retention === "123456", { retention });
      await admin.deleteTopics({ topics });
      let remaining = topics;
      for (const deadline = Date.now() + 10_000; remaining.length && Date.now() < deadline;) {
        const now = await admin.listTopics();
        remaining = topics.filter((t) => now.includes(t));
        if (remaining.length) await new Promise((r) => setTimeout(r, 200));
      }
      check("topics-gone", remaining.length === 0, { remaining });
    } finally {
      await admin.disconnect();
    }
  },
  async transactions(bootstrap) {
    const kafka = client(bootstrap);
    const topic = `kafkajs-txn-${RUN_ID}`;
    await createTopic(kafka, topic);
    const producer = kafka.producer({
      transactionalId: `kafkajs-txn-${RUN_ID}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const aborted = Math.max(1, Math.floor(RECORDS / 2));
    try {
      const committed = await producer.transaction();
      await committed.send({ topic, messages: values("committed", RECORDS).map((value) => ({ value, partition: 0 })) });
      await committed.commit();
      check("commit", true);
      const abort = await producer.transaction();
      await abort.send({ topic, messages: values("aborted", aborted).map((value) => ({ value, partition: 0 })) });
      await abort.abort();
      check("abort", true);
    } finally {
      await producer.disconnect();
    }
    const readCommitted = await kcatValues(bootstrap, topic, ["-X", "isolation.level=read_committed"]);
    const onlyCommitted = readCommitted.filter((v) => v.startsWith("committed-")).length;
    check("read-committed-by-kcat", readCommitted.length === RECORDS && onlyCommitted === RECORDS, {
      read: readCommitted.length,
      committed: onlyCommitted,
    });
    const all = await kcatValues(bootstrap, topic, ["-X", "isolation.level=read_uncommitted"]);
    check("read-uncommitted-by-kcat", all.length === RECORDS + aborted, {
      read: all.length,
      expected: RECORDS + aborted,
    });
  },
};

if (import.meta.main) {
  const [bootstrap, scenario, arg] = Deno.args;
  if (!bootstrap || !(scenario in SCENARIOS)) {
    console.error(`usage: kafkajs_driver.ts <bootstrap> <${Object.keys(SCENARIOS).join("|")}> [codec]`);
    Deno.exit(2);
  }
  const timer = setTimeout(() => {
    check(scenario, false, "timed out after 170 s");
    Deno.exit(1);
  }, 170_000);
  try {
    await SCENARIOS[scenario](bootstrap, arg);
  } catch (e) {
    check(scenario, false, `exception: ${(e as Error).name}: ${(e as Error).message}`);
  }
  clearTimeout(timer);
  Deno.exit(failures === 0 ? 0 : 1);
}
