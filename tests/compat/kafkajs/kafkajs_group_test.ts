/**
 * kafkajs 2.x consumer groups under Deno against a real Samsa broker process: subscribe, run, commit; and a
 * member that crashes (a killed process: no LeaveGroup) is removed after its session timeout, its partitions
 * moving to the member that is left.
 *
 * Run as `deno run -A kafkajs_group_test.ts member <bootstrap> <group> <topic>`, this file is the member that the
 * crash test kills (Deno.test is a no-op outside `deno test`).
 */
import assert from "node:assert/strict";
import { type Consumer, Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, startBroker } from "../../integration/broker_process.ts";

const SESSION_TIMEOUT_MS = 6000;

function client(bootstrap: string, clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10 } });
}

function consumer(kafka: Kafka, groupId: string): Consumer {
  return kafka.consumer({
    groupId,
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: 300,
    rebalanceTimeout: 10_000,
    maxWaitTimeInMs: 100,
  });
}

/** Consumes `topic`, calling `onMessage` and `onAssigned` (partition numbers after each rebalance). */
async function runMember(
  c: Consumer,
  topic: string,
  onMessage: (line: string) => void,
  onAssigned: (partitions: number[]) => void,
): Promise<void> {
  c.on(c.events.GROUP_JOIN, (e) => onAssigned((e.payload.memberAssignment[topic] ?? []) as number[]));
  await c.connect();
  await c.subscribe({ topics: [topic], fromBeginning: true });
  await c.run({
    autoCommitInterval: 100,
    eachMessage: ({ partition, message }) => {
      onMessage(`${partition}:${message.offset}:${message.value?.toString()}`);
      return Promise.resolve();
    },
  });
}

if (import.meta.main && Deno.args[0] === "member") {
  const [, bootstrap, groupId, topic] = Deno.args;
  const c = consumer(client(bootstrap, "crashing-member"), groupId);
  const out = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
  await runMember(c, topic, (line) => out(line), (partitions) => out(`assigned:${partitions.join(",")}`));
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The values of `partition:offset:value` lines. */
const valuesOf = (lines: readonly string[]) => lines.map((l) => l.split(":").slice(2).join(":"));

/** `prefix0` … `prefix{count-1}`. */
const numbered = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/** Every one of `expected` is among the consumed `lines`. */
function consumedAll(lines: readonly string[], expected: readonly string[]): boolean {
  const seen = new Set(valuesOf(lines));
  return expected.every((v) => seen.has(v));
}

/** The text up to its last newline: what a child process has finished writing. */
const completeLines = (text: string) => text.slice(0, text.lastIndexOf("\n") + 1);

async function produce(kafka: Kafka, topic: string, prefix: string, count: number, partitions: number) {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, i) => ({ value: `${prefix}${i}`, partition: i % partitions })),
  });
  await producer.disconnect();
}

async function withBroker(fn: (broker: BrokerProcess) => Promise<void>) {
  const broker = await startBroker({
    settings: { "group.initial.rebalance.delay.ms": 0, "offsets.topic.num.partitions": 5 },
  });
  try {
    await fn(broker);
  } finally {
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
}

Deno.test("kafkajs: a group member consumes, commits, and a new member resumes from the committed offsets", async () => {
  await withBroker(async (broker) => {
    const kafka = client(broker.bootstrap, "kafkajs-group");
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "resume", numPartitions: 3 }] });
    await produce(kafka, "resume", "first-", 30, 3);

    const seen: string[] = [];
    const first = consumer(kafka, "resumers");
    await runMember(first, "resume", (l) => seen.push(l), () => {});
    await waitFor("the 30 first records", () => consumedAll(seen, numbered("first-", 30)));
    await first.disconnect(); // commits and leaves
    const offsets = await admin.fetchOffsets({ groupId: "resumers", topics: ["resume"] });
    const committed = offsets[0].partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    assert.equal(committed, 30);
    const described = await admin.describeGroups(["resumers"]);
    assert.equal(described.groups[0].state, "Empty");
    assert.equal(described.groups[0].protocolType, "consumer");

    await produce(kafka, "resume", "second-", 9, 3);
    const resumed: string[] = [];
    const second = consumer(kafka, "resumers");
    await runMember(second, "resume", (l) => resumed.push(l), () => {});
    // Each partition is read in order from the committed offset, so a record re-read from before the commit
    // would arrive before the new records of its partition: once all 9 are in, everything is.
    await waitFor("the 9 new records", () => consumedAll(resumed, numbered("second-", 9)));
    await second.disconnect();
    assert.deepEqual(valuesOf(resumed).sort(), numbered("second-", 9).sort(), "no record before the commit");

    const listed = await admin.listGroups();
    assert.ok(listed.groups.some((g) => g.groupId === "resumers" && g.protocolType === "consumer"));
    await admin.deleteGroups(["resumers"]);
    const gone = await admin.fetchOffsets({ groupId: "resumers", topics: ["resume"] });
    assert.ok(gone[0].partitions.every((p) => p.offset === "-1"));
    await admin.disconnect();
  });
});

Deno.test("kafkajs: a crashed member (no LeaveGroup) is removed after its session timeout; its partitions move", async () => {
  await withBroker(async (broker) => {
    const kafka = client(broker.bootstrap, "kafkajs-survivor");
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "crash", numPartitions: 4 }] });
    await admin.disconnect();

    const survivorLines: string[] = [];
    let survivorPartitions: number[] = [];
    const survivor = consumer(kafka, "crashers");
    await runMember(survivor, "crash", (l) => survivorLines.push(l), (p) => survivorPartitions = p);
    await waitFor("the survivor to own every partition", () => survivorPartitions.length === 4);

    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, "member", broker.bootstrap, "crashers", "crash"],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).spawn();
    let childOut = "";
    const pump = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) childOut += decoder.decode(chunk, { stream: true });
    })();
    try {
      const childAssignment = () => /^assigned:(\d[\d,]*)$/m.exec(completeLines(childOut));
      await waitFor("the second member to get partitions", () => childAssignment() !== null);
      await waitFor("the survivor to give up half", () => survivorPartitions.length === 2);
      const childPartitions = childAssignment()![1].split(",").map(Number);
      assert.deepEqual([...survivorPartitions, ...childPartitions].sort(), [0, 1, 2, 3]);
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await pump;
    }
    const killedAt = Date.now();

    // The killed member sends no LeaveGroup: the coordinator notices when its session times out.
    await produce(kafka, "crash", "after-crash-", 40, 4);
    await waitFor("the survivor to own every partition again", () => survivorPartitions.length === 4, 30_000);
    const movedAfterMs = Date.now() - killedAt;
    assert.ok(movedAfterMs >= SESSION_TIMEOUT_MS - 1000, `partitions moved after ${movedAfterMs} ms`);
    await waitFor(
      "every record produced after the crash",
      () => consumedAll(survivorLines, numbered("after-crash-", 40)),
    );
    await survivor.disconnect();
  });
});
