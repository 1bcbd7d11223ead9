/**
 * Group coordinators across the brokers of a real three-process cluster: FindCoordinator, asked of any broker,
 * names the leader of the group's `__consumer_offsets` partition; the other brokers answer the group's requests
 * NOT_COORDINATOR; kcat's balanced consumer (`-G`), bootstrapped through a broker that is not the coordinator,
 * consumes and commits through the coordinator; and its committed offsets survive a restart of the
 * coordinator's broker. The same for a KIP-848 group (confluent-kafka with `group.protocol=consumer`).
 */
import assert from "node:assert/strict";
import { partitionForGroup } from "../../broker/group/coordinator_records.ts";
import { ApiKey, ErrorCode } from "../../protocol/messages.ts";
import { committedTotal } from "../harness/committed_offsets.ts";
import { RawClient } from "../diff/raw_client.ts";
import { kcat } from "../compat/kcat/kcat.ts";
import { clusterView, createTopics, TestCluster, waitFor } from "./cluster_process.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };
const OFFSETS_PARTITIONS = 6;

/** FindCoordinator v4 (batched) for one group, asked of the broker at `bootstrap`. */
async function findCoordinator(bootstrap: string, group: string): Promise<{ errorCode: number; nodeId: number }> {
  const client = await RawClient.connect(bootstrap, "coordinator-test");
  try {
    const answer = await client.request(ApiKey.FindCoordinator, 4, {
      key: "",
      keyType: 0,
      coordinatorKeys: [group],
    });
    return answer.coordinators[0];
  } finally {
    await client.close();
  }
}

/** FindCoordinator v1 (one key): the node id and port of the coordinator. */
async function findCoordinatorV1(bootstrap: string, group: string) {
  const client = await RawClient.connect(bootstrap, "coordinator-test");
  try {
    return await client.request(ApiKey.FindCoordinator, 1, { key: group, keyType: 0, coordinatorKeys: [] });
  } finally {
    await client.close();
  }
}

/** The group-level errors of OffsetFetch v7 and DescribeGroups v5 for `group`, asked of `bootstrap`. */
async function groupErrors(bootstrap: string, group: string): Promise<{ offsetFetch: number; describe: number }> {
  const client = await RawClient.connect(bootstrap, "coordinator-test");
  try {
    const fetched = await client.request(ApiKey.OffsetFetch, 7, {
      groupId: group,
      topics: null,
      groups: [],
      requireStable: false,
    });
    const described = await client.request(ApiKey.DescribeGroups, 5, {
      groups: [group],
      includeAuthorizedOperations: false,
    });
    return { offsetFetch: fetched.errorCode, describe: described.groups[0].errorCode };
  } finally {
    await client.close();
  }
}

/** A kcat balanced consumer, its output gathered as it comes. */
class GroupMember {
  readonly #child: Deno.ChildProcess;
  #stdout = "";
  #stderr = "";
  readonly #done: Promise<void>;

  constructor(bootstrap: string, group: string, topic: string) {
    this.#child = new Deno.Command("kcat", {
      args: [
        "-b",
        bootstrap,
        "-u",
        "-G",
        group,
        "-f",
        "%s\n",
        "-X",
        "auto.commit.interval.ms=100",
        "-X",
        "auto.offset.reset=earliest",
        "-X",
        "session.timeout.ms=6000",
        topic,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
    };
    this.#done = Promise.all([
      pump(this.#child.stdout, (s) => this.#stdout += s),
      pump(this.#child.stderr, (s) => this.#stderr += s),
    ]).then(() => {});
  }

  /** The values consumed so far (complete lines only). */
  values(): string[] {
    return this.#stdout.slice(0, this.#stdout.lastIndexOf("\n") + 1).split("\n").filter((l) => l.length > 0);
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** SIGTERM: kcat commits, leaves the group and exits (SIGKILL after 15 s). */
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

async function produce(bootstrap: string, topic: string, values: string[]): Promise<void> {
  const result = await kcat(["-b", bootstrap, "-P", "-t", topic], values.join("\n") + "\n");
  assert.equal(result.code, 0, result.stderr);
}

Deno.test({
  name:
    "a consumer group works through a broker that is not its coordinator; the others answer NOT_COORDINATOR; its offsets survive a restart of the coordinator's broker",
  ...OPTIONS,
  fn: async () => {
    const cluster = await TestCluster.start(3, {
      "offsets.topic.num.partitions": OFFSETS_PARTITIONS,
      "group.initial.rebalance.delay.ms": 0,
    });
    const members: GroupMember[] = [];
    try {
      const ids = [1, 2, 3];
      const all = ids.map((id) => cluster.bootstrap(id)).join(",");
      await waitFor("three live brokers", async () => (await clusterView(cluster.bootstrap(1))).brokers.length === 3);
      assert.equal((await createTopics(cluster.bootstrap(1), [{ name: "orders", partitions: 3 }])).get("orders"), 0);
      const first = Array.from({ length: 300 }, (_, i) => `first-${i}`);
      await produce(all, "orders", first);

      // The first FindCoordinator creates __consumer_offsets (RF 3 by default, as Kafka's); then a group whose
      // coordinator is not broker 1, the one the consumer will be bootstrapped through.
      await waitFor(
        "__consumer_offsets created and led",
        async () => (await findCoordinator(cluster.bootstrap(1), "probe")).errorCode === ErrorCode.NONE,
      );
      const view = await clusterView(cluster.bootstrap(1));
      const offsets = view.topics.find((t) => t.name === "__consumer_offsets")!;
      assert.equal(offsets.partitions.length, OFFSETS_PARTITIONS);
      assert.ok(offsets.partitions.every((p) => p.replicas.length === 3), "offsets.topic.replication.factor 3");
      let group = "";
      for (let i = 0; group === "" && i < 100; i++) {
        const candidate = `readers-${i}`;
        if (offsets.partitions[partitionForGroup(candidate, OFFSETS_PARTITIONS)].leader !== 1) group = candidate;
      }
      const coordinator = offsets.partitions[partitionForGroup(group, OFFSETS_PARTITIONS)].leader;
      // Every broker names the same coordinator (the partition's leader), in both forms of the request.
      for (const id of ids) {
        assert.deepEqual(await findCoordinator(cluster.bootstrap(id), group), {
          key: group,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          nodeId: coordinator,
          host: "127.0.0.1",
          port: cluster.specs.get(coordinator)!.clientPort,
        });
        const v1 = await findCoordinatorV1(cluster.bootstrap(id), group);
        assert.equal(v1.errorCode, ErrorCode.NONE);
        assert.equal(v1.nodeId, coordinator);
        assert.equal(v1.port, cluster.specs.get(coordinator)!.clientPort);
      }

      const committed = () => committedTotal(cluster.bootstrap(coordinator), group, "orders", [0, 1, 2]);
      members.push(new GroupMember(cluster.bootstrap(1), group, "orders"));
      await waitFor(
        "every record consumed and committed through the coordinator",
        async () => members[0].values().length >= first.length && await committed() === first.length,
        40_000,
      ).catch(async (e) => {
        throw new Error(
          `${e}; consumed ${members[0].values().length}; committed ${await committed().catch(String)}\n${
            members[0].stderr
          }`,
        );
      });
      assert.deepEqual(members[0].values().sort(), [...first].sort());
      // The group lives on its coordinator only: the other brokers send its members there.
      for (const id of ids.filter((id) => id !== coordinator)) {
        assert.deepEqual(await groupErrors(cluster.bootstrap(id), group), {
          offsetFetch: ErrorCode.NOT_COORDINATOR,
          describe: ErrorCode.NOT_COORDINATOR,
        });
      }
      assert.deepEqual(await groupErrors(cluster.bootstrap(coordinator), group), { offsetFetch: 0, describe: 0 });
      await members.shift()!.stop();

      // The coordinator's broker restarts; its groups are replayed from __consumer_offsets.
      await cluster.nodes.get(coordinator)!.stop();
      await cluster.startNode(coordinator);
      let now = -1;
      await waitFor("a coordinator again, with the committed offsets", async () => {
        const found = await findCoordinator(cluster.bootstrap(1), group);
        if (found.errorCode !== ErrorCode.NONE) return false;
        now = found.nodeId;
        return await committedTotal(cluster.bootstrap(now), group, "orders", [0, 1, 2]) === first.length;
      }, 30_000);

      // A new member resumes where the group stopped: only the records produced since.
      const second = ["second-0", "second-1", "second-2"];
      await produce(all, "orders", second);
      members.push(new GroupMember(cluster.bootstrap(1), group, "orders"));
      await waitFor(
        "the new records consumed and committed",
        async () =>
          members[0].values().length >= second.length &&
          await committedTotal(cluster.bootstrap(now), group, "orders", [0, 1, 2]) === first.length + second.length,
        40_000,
      );
      assert.deepEqual(members[0].values().sort(), second, `nothing re-read: ${members[0].stderr}`);
    } finally {
      for (const m of members) await m.stop();
      await cluster.stop();
    }
  },
});

/** One step of a KIP-848 group (confluent-kafka, `group.protocol=consumer`) as a small Python program. */
const CONSUMER_GROUP_STEP = `
import json, sys, time
from confluent_kafka import Consumer, Producer, TopicPartition
bootstrap, step, topic, group = sys.argv[1:5]
def produce(prefix, count):
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(count):
        p.produce(topic, value=f"{prefix}{i}", partition=i % 3)
    p.flush(30)
def consume(expected):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got, deadline = [], time.monotonic() + 30
    while len(got) < expected and time.monotonic() < deadline:
        m = c.poll(0.2)
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

async function consumerGroupStep(
  bootstrap: string,
  step: "before" | "after",
  group: string,
): Promise<{ got: string[]; committed: number }> {
  const out = await new Deno.Command("python3", {
    args: ["-c", CONSUMER_GROUP_STEP, bootstrap, step, "events", group],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

Deno.test({
  name:
    "a KIP-848 consumer group (group.protocol=consumer) bootstrapped through another broker commits on its coordinator and resumes after the coordinator's broker restarts",
  ...OPTIONS,
  fn: async () => {
    const cluster = await TestCluster.start(3, { "offsets.topic.num.partitions": OFFSETS_PARTITIONS });
    try {
      await waitFor("three live brokers", async () => (await clusterView(cluster.bootstrap(1))).brokers.length === 3);
      assert.equal((await createTopics(cluster.bootstrap(1), [{ name: "events", partitions: 3 }])).get("events"), 0);
      await waitFor(
        "__consumer_offsets created and led",
        async () => (await findCoordinator(cluster.bootstrap(1), "probe")).errorCode === ErrorCode.NONE,
      );
      const offsets = (await clusterView(cluster.bootstrap(1))).topics.find((t) => t.name === "__consumer_offsets")!;
      let group = "";
      for (let i = 0; group === "" && i < 100; i++) {
        const candidate = `kip848-${i}`;
        if (offsets.partitions[partitionForGroup(candidate, OFFSETS_PARTITIONS)].leader !== 1) group = candidate;
      }
      const coordinator = offsets.partitions[partitionForGroup(group, OFFSETS_PARTITIONS)].leader;

      const before = await consumerGroupStep(cluster.bootstrap(1), "before", group);
      assert.deepEqual(before.got.sort(), Array.from({ length: 30 }, (_, i) => `before-${i}`).sort());
      assert.equal(before.committed, 30);
      assert.equal(await committedTotal(cluster.bootstrap(coordinator), group, "events", [0, 1, 2]), 30);

      await cluster.nodes.get(coordinator)!.stop();
      await cluster.startNode(coordinator);
      await waitFor("a coordinator again", async () => {
        return (await findCoordinator(cluster.bootstrap(1), group)).errorCode === ErrorCode.NONE;
      }, 30_000);
      const after = await consumerGroupStep(cluster.bootstrap(1), "after", group);
      assert.deepEqual(after.got.sort(), Array.from({ length: 12 }, (_, i) => `after-${i}`).sort());
      assert.equal(after.committed, 42);
    } finally {
      await cluster.stop();
    }
  },
});
