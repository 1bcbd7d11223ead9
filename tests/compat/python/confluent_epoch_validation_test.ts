/**
 * confluent-kafka for Python (librdkafka) validates its fetch position after the partition's leader epoch changes
 * (KIP-320): it asks OffsetForLeaderEpoch where the epoch of the last record it read ended, and, the log not being
 * truncated, goes on from its position. A broker restart raises the leader epoch of a one-replica partition, so
 * one consumer kept across a restart exercises the API on the wire.
 */
import assert from "node:assert/strict";
import { type BrokerProcess, startBroker } from "../../integration/broker_process.ts";

/**
 * The consumer: reads the first 5 records of partition 0, prints `read-before`, waits for a line on stdin (the
 * broker restarts meanwhile), produces 3 more and reads them, then prints what it read and what librdkafka logged
 * about the validation, as one JSON line.
 */
const CONSUMER = `
import json, logging, sys, time
from confluent_kafka import Consumer, Producer, TopicPartition
bootstrap, topic = sys.argv[1:3]
lines = []
class Keep(logging.Handler):
    def emit(self, record):
        lines.append(record.getMessage())
log = logging.getLogger("librdkafka")
log.addHandler(Keep())
log.setLevel(logging.DEBUG)
def produce(values):
    p = Producer({"bootstrap.servers": bootstrap})
    for v in values:
        p.produce(topic, value=v, partition=0)
    assert p.flush(30) == 0
def read(c, count, limit_s=30):
    got, deadline = [], time.monotonic() + limit_s
    while len(got) < count and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            got.append([m.offset(), m.leader_epoch(), m.value().decode()])
    return got
produce([f"before-{i}" for i in range(5)])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "epoch-validation", "enable.auto.commit": False,
              "topic.metadata.refresh.interval.ms": 500, "debug": "consumer,fetch,protocol", "logger": log})
c.assign([TopicPartition(topic, 0, 0)])
before = read(c, 5)
print("read-before", flush=True)
sys.stdin.readline()
produce([f"after-{i}" for i in range(3)])
after = read(c, 3, 60)
time.sleep(0.5)
after += read(c, 1, 0.5)
c.close()
print(json.dumps({
    "before": before,
    "after": after,
    "sent": any("Sent OffsetForLeaderEpochRequest" in l for l in lines),
    "validated": [l for l in lines if "validation" in l and "offset" in l],
}), flush=True)
`;

/** Reads lines of a child's stdout, one at a time. */
class LineReader {
  #buffer = "";
  readonly #reader: ReadableStreamDefaultReader<string>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line; throws when the stream ends first. */
  async next(): Promise<string> {
    for (;;) {
      const end = this.#buffer.indexOf("\n");
      if (end >= 0) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 1);
        return line;
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error(`the consumer ended without a full line (got: ${this.#buffer})`);
      this.#buffer += value;
    }
  }

  cancel(): Promise<void> {
    return this.#reader.cancel();
  }
}

Deno.test("confluent-kafka-python: a consumer validates its position with OffsetForLeaderEpoch after a restart", async () => {
  let broker: BrokerProcess = await startBroker({ settings: { "num.partitions": 1 } });
  const { dataDir, port } = broker;
  const child = new Deno.Command("python3", {
    args: ["-c", CONSUMER, broker.bootstrap, "epoch-validation"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = new LineReader(child.stdout);
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  try {
    assert.equal(await lines.next(), "read-before");
    assert.equal(await broker.stop(), 0);
    broker = await startBroker({ dataDir, port, settings: { "num.partitions": 1 } });
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
    const result = JSON.parse(await lines.next());

    assert.deepEqual(result.before.map((r: unknown[]) => r[0]), [0, 1, 2, 3, 4]);
    // Every record once, in order, after the restart: no reset, no re-read.
    assert.deepEqual(result.after.map((r: unknown[]) => [r[0], r[2]]), [[5, "after-0"], [6, "after-1"], [
      7,
      "after-2",
    ]]);
    const epochBefore = result.before[4][1];
    assert.ok(result.after[0][1] > epochBefore, `the restart raised the leader epoch: ${JSON.stringify(result)}`);
    assert.ok(result.sent, "librdkafka asked OffsetForLeaderEpoch");
    assert.ok(
      result.validated.some((l: string) =>
        /validation succeeded: broker end offset 5 \(offset leader epoch \d+\)/.test(l)
      ),
      `librdkafka validated offset 5: ${JSON.stringify(result.validated)}`,
    );
    assert.equal((await child.status).code, 0, await stderr);
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await lines.cancel().catch(() => {});
    await child.status;
    await stderr.catch(() => "");
    await broker.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
