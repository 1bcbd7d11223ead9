/**
 * kcat's balanced consumer (`-G`, librdkafka's classic group protocol) against a real Samsa broker process:
 * three members share a six-partition topic, every record is consumed exactly once, a member that leaves
 * (LeaveGroup on a clean stop) hands its partitions to the others, and committed offsets let a new member
 * resume where the group stopped.
 */
import assert from "node:assert/strict";
import { type BrokerProcess, startBroker } from "../../integration/broker_process.ts";
import { committedTotal } from "../../harness/committed_offsets.ts";
import { kcat } from "./kcat.ts";

/** One record as a member printed it. */
interface ConsumedRecord {
  partition: number;
  offset: number;
  value: string;
}

/** A kcat process whose output is gathered as it comes. */
class KcatMember {
  readonly #child: Deno.ChildProcess;
  #stdout = "";
  #stderr = "";
  readonly #done: Promise<void>;

  constructor(args: string[]) {
    this.#child = new Deno.Command("kcat", { args, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
    const pump = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
    };
    this.#done = Promise.all([
      pump(this.#child.stdout, (s) => this.#stdout += s),
      pump(this.#child.stderr, (s) => this.#stderr += s),
    ]).then(() => {});
  }

  /**
   * The records consumed so far, from the complete lines of the `%p:%o:%s` output: a line kcat is still
   * writing (no newline yet) waits for the next call instead of being read half.
   */
  records(): ConsumedRecord[] {
    const complete = this.#stdout.slice(0, this.#stdout.lastIndexOf("\n") + 1);
    return complete.split("\n").filter((l) => l.length > 0).map((line) => {
      const match = /^(\d+):(\d+):(.*)$/.exec(line);
      if (match === null) throw new Error(`kcat printed a line that is not partition:offset:value: ${line}`);
      return { partition: Number(match[1]), offset: Number(match[2]), value: match[3] };
    });
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** SIGTERM: kcat closes the consumer (commits, sends LeaveGroup) and exits. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already exited */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 15_000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#done;
  }
}

function member(broker: BrokerProcess, group: string, topic: string, extra: string[] = []): KcatMember {
  return new KcatMember([
    ...extra,
    "-b",
    broker.bootstrap,
    "-u",
    "-G",
    group,
    "-f",
    "%p:%o:%s\n",
    "-X",
    "session.timeout.ms=6000",
    "-X",
    "auto.commit.interval.ms=100",
    // Not `-o beginning`: kcat applies -o to every assignment, so a rebalance would re-read from the start.
    "-X",
    "auto.offset.reset=earliest",
    topic,
  ]);
}

async function produce(broker: BrokerProcess, topic: string, values: string[]): Promise<void> {
  const input = values.map((v) => `${v}:${v}`).join("\n") + "\n";
  const result = await kcat(["-b", broker.bootstrap, "-P", "-t", topic, "-K:"], input);
  assert.equal(result.code, 0, result.stderr);
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const valuesOf = (members: KcatMember[]) => members.flatMap((m) => m.records().map((r) => r.value));

/** Every one of `expected` was consumed (at least once) by `members`. */
const consumedAll = (members: KcatMember[], expected: readonly string[]) => {
  const seen = new Set(valuesOf(members));
  return expected.every((v) => seen.has(v));
};

Deno.test("kcat -G: three members share six partitions, each record once; a leaving member's partitions move", async () => {
  const broker = await startBroker({
    settings: { "num.partitions": 6, "group.initial.rebalance.delay.ms": 1500, "offsets.topic.num.partitions": 5 },
  });
  const members: KcatMember[] = [];
  try {
    const topic = "orders";
    const first = Array.from({ length: 600 }, (_, i) => `first-${i}`);
    await produce(broker, topic, first);

    const committed = () => committedTotal(broker.bootstrap, "balanced", topic, [0, 1, 2, 3, 4, 5]);
    for (let i = 0; i < 3; i++) members.push(member(broker, "balanced", topic));
    // Consumed and committed up to the end: a later (re)assignment starts at the end, so no duplicate can
    // still be on its way when the records are counted.
    await waitFor(
      "every first record, consumed and committed",
      async () => consumedAll(members, first) && await committed() === first.length,
    );
    assert.deepEqual(valuesOf(members).sort(), [...first].sort(), "each record consumed exactly once");
    const partitionsOf = (m: KcatMember) => new Set(m.records().map((r) => r.partition));
    for (const m of members) assert.equal(partitionsOf(m).size, 2, `each member owns two partitions: ${m.stderr}`);

    // One member leaves (a clean stop sends LeaveGroup); the other two take over its partitions.
    const leaving = members.shift()!;
    await leaving.stop();
    assert.match(leaving.stderr, /revoked/);
    const second = Array.from({ length: 300 }, (_, i) => `second-${i}`);
    await produce(broker, topic, second);
    await waitFor(
      "every second record, consumed and committed",
      async () => consumedAll(members, second) && await committed() === first.length + second.length,
    );
    const consumedSecond = valuesOf(members).filter((v) => v.startsWith("second-"));
    assert.deepEqual(consumedSecond.sort(), [...second].sort(), "after the rebalance each record exactly once");
    const owned = new Set(members.flatMap((m) => [...partitionsOf(m)]));
    assert.equal(owned.size, 6, "the two remaining members own all six partitions");

    // Everyone stops; a new member of the same group resumes from the committed offsets: nothing to re-read.
    for (const m of members.splice(0)) await m.stop();
    const third = ["third-0", "third-1", "third-2"];
    await produce(broker, topic, third);
    const resumed = member(broker, "balanced", topic);
    members.push(resumed);
    await waitFor(
      "the records produced after the commit, consumed and committed",
      async () => consumedAll([resumed], third) && await committed() === first.length + second.length + third.length,
    );
    assert.deepEqual(valuesOf([resumed]).sort(), third, "the new member re-read nothing before them");
  } finally {
    for (const m of members) await m.stop();
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});

Deno.test("kcat -C commits offsets without a group protocol (-X group.id, generation -1) and reads them back", async () => {
  const broker = await startBroker({ settings: { "offsets.topic.num.partitions": 3 } });
  try {
    await produce(broker, "simple", ["a", "b", "c", "d"]);
    const args = ["-b", broker.bootstrap, "-C", "-t", "simple", "-p", "0", "-e", "-q", "-f", "%s\n"];
    const group = ["-X", "group.id=simple-reader", "-X", "enable.auto.commit=true", "-X", "auto.commit.interval.ms=50"];
    const first = await kcat([...args, "-o", "stored", ...group, "-X", "auto.offset.reset=earliest"]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.stdout.trim().split("\n"), ["a", "b", "c", "d"]);
    await produce(broker, "simple", ["e"]);
    const second = await kcat([...args, "-o", "stored", ...group]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(second.stdout.trim().split("\n"), ["e"]);
  } finally {
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});

Deno.test("kcat -G with group.instance.id: a restarted static member takes its place back without a rebalance wait", async () => {
  const broker = await startBroker({
    settings: { "num.partitions": 2, "group.initial.rebalance.delay.ms": 0, "offsets.topic.num.partitions": 3 },
  });
  const members: KcatMember[] = [];
  try {
    await produce(broker, "static", ["a", "b", "c", "d"]);
    const staticArgs = ["-X", "group.instance.id=instance-1", "-X", "max.poll.interval.ms=60000"];
    const first = member(broker, "statics", "static", staticArgs);
    members.push(first);
    const committed = () => committedTotal(broker.bootstrap, "statics", "static", [0, 1]);
    await waitFor(
      "the first four records, consumed and committed",
      async () => consumedAll([first], ["a", "b", "c", "d"]) && await committed() === 4,
    );
    await first.stop(); // a static member sends no LeaveGroup: the coordinator keeps its place
    await produce(broker, "static", ["e", "f"]);
    const started = Date.now();
    const again = member(broker, "statics", "static", staticArgs);
    members.push(again);
    await waitFor("the records produced while it was away", () => consumedAll([again], ["e", "f"]), 20_000);
    // A dynamic member would wait for the old one's rebalance timeout (a minute); the static one is back at once.
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    await waitFor("their offsets committed", async () => await committed() === 6);
    assert.deepEqual(valuesOf([again]).sort(), ["e", "f"], "it resumed from its commit, re-reading nothing");
  } finally {
    for (const m of members) await m.stop();
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});
