/**
 * confluent-kafka for Python (librdkafka) consumer groups against a real Samsa broker process: the driver's
 * `group-classic` scenario, and committed offsets that survive a broker restart (stop, then start on the same
 * data directory and port): the group resumes where it committed.
 */
import assert from "node:assert/strict";
import { startBroker } from "../../integration/broker_process.ts";
import { failedChecks, runDriver } from "../client_driver.ts";

const DRIVER = new URL("./driver.py", import.meta.url).pathname;

for (const scenario of ["group-classic", "group-consumer"]) {
  Deno.test(`confluent-kafka-python: ${scenario}`, async () => {
    const broker = await startBroker({ settings: { "group.initial.rebalance.delay.ms": 0 } });
    try {
      const run = await runDriver("python3", [DRIVER, broker.bootstrap, scenario]);
      assert.equal(run.code, 0, failedChecks(run));
      assert.ok(run.checks.length > 0 && run.checks.every((c) => c.ok), failedChecks(run));
    } finally {
      await broker.stop();
      await Deno.remove(broker.dataDir, { recursive: true });
    }
  });
}

/** One step of the restart scenario, as a small Python program: prints one JSON line. */
const STEP = `
import json, sys, time
from confluent_kafka import Consumer, Producer, TopicPartition
bootstrap, step, topic, group = sys.argv[1:5]
def produce(prefix, count):
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(count):
        p.produce(topic, value=f"{prefix}{i}", partition=i % 3)
    p.flush(30)
def consume(expected):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    c.subscribe([topic])
    got, deadline = [], time.monotonic() + 30
    while len(got) < expected and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            got.append(m.value().decode())
    extra_deadline = time.monotonic() + 1
    while time.monotonic() < extra_deadline:
        m = c.poll(0.1)
        if m is not None and m.error() is None:
            got.append(m.value().decode())
    c.commit(asynchronous=False)
    committed = c.committed([TopicPartition(topic, p) for p in range(3)], 10)
    c.close()
    return got, sum(max(tp.offset, 0) for tp in committed)
if step == "before":
    produce("before-", 30)
    got, committed = consume(30)
    produce("after-", 12)
else:
    got, committed = consume(12)
print(json.dumps({"got": got, "committed": committed}))
`;

async function step(bootstrap: string, name: "before" | "after"): Promise<{ got: string[]; committed: number }> {
  const out = await new Deno.Command("python3", {
    args: ["-c", STEP, bootstrap, name, "restart-topic", "restart-group"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

Deno.test("confluent-kafka-python: committed offsets survive a broker restart and the group resumes", async () => {
  let broker = await startBroker({
    settings: { "group.initial.rebalance.delay.ms": 0, "num.partitions": 3, "offsets.topic.num.partitions": 5 },
  });
  const { dataDir, port } = broker;
  try {
    const before = await step(broker.bootstrap, "before");
    assert.equal(before.got.length, 30);
    assert.equal(before.committed, 30);
    assert.equal(await broker.stop(), 0);

    broker = await startBroker({ dataDir, port, settings: { "group.initial.rebalance.delay.ms": 0 } });
    assert.match(broker.logs(), /group coordinator loaded.*groups=1/);
    const after = await step(broker.bootstrap, "after");
    assert.deepEqual(after.got.sort(), Array.from({ length: 12 }, (_, i) => `after-${i}`).sort());
    assert.equal(after.committed, 42);
  } finally {
    await broker.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
