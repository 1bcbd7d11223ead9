/**
 * A consumer group survives the kill -9 of its coordinator's broker (issue 17, "Coordinators across brokers"):
 * three brokers, `__consumer_offsets` and the topic at RF=3, a member consumes and commits; its coordinator's
 * broker is killed; another broker becomes the coordinator and answers the same committed offsets; a new member of
 * the group resumes from them, reading only the records produced after the commit, each once. Once with kcat's
 * balanced consumer (`-G`, librdkafka's classic protocol), once with confluent-kafka and `group.protocol=consumer`
 * (KIP-848).
 *
 * Needs kcat and python3 with confluent-kafka (`bash tests/install_clients.sh`).
 */
import assert from "node:assert/strict";
import { TestCluster, waitFor } from "../integration/cluster_process.ts";
import { committedOffsets } from "../harness/committed_offsets.ts";
import { groupCoordinator } from "../harness/group_coordinator.ts";
import { kcat } from "../compat/kcat/kcat.ts";
import { errorInfo } from "../../protocol/messages.ts";
import { createTopics } from "../integration/cluster_process.ts";
import { runningNodes } from "./nemesis.ts";
import { WorkloadGroupMember } from "./workload.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };
const TOPIC = "orders";
const GROUP = "readers";
const PARTITIONS = [0, 1];

/** A running member of the group. */
interface GroupMember {
  values(): string[];
  readonly stderr: string;
  stop(): Promise<void>;
}

/** A kcat -G member; its `partition:offset:value` lines are gathered as they come. */
class KcatGroupMember implements GroupMember {
  readonly #child: Deno.ChildProcess;
  #stdout = "";
  #stderr = "";
  readonly #done: Promise<void>;

  constructor(bootstrap: string) {
    const args = ["-b", bootstrap, "-G", GROUP, "-u", "-f", "%p:%o:%s\n", "-X", "auto.commit.interval.ms=100"];
    args.push("-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000", TOPIC);
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

  /** The values consumed so far (complete lines only). */
  values(): string[] {
    const complete = this.#stdout.slice(0, this.#stdout.lastIndexOf("\n") + 1);
    return complete.split("\n").filter((l) => l.length > 0).map((l) => l.split(":").slice(2).join(":"));
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** SIGTERM (kcat commits and leaves the group), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* exited */ }
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

async function produce(bootstrap: string, values: string[]): Promise<void> {
  const result = await kcat(
    ["-b", bootstrap, "-P", "-t", TOPIC, "-X", "acks=all", "-X", "enable.idempotence=true"],
    values.join("\n") + "\n",
  );
  assert.equal(result.code, 0, result.stderr);
}

/** The group's committed offsets as its coordinator answers them, by partition. */
async function committedThroughCoordinator(cluster: TestCluster): Promise<Map<number, number>> {
  const asked = runningNodes(cluster)[0];
  const { nodeId, errorCode } = await groupCoordinator(cluster.bootstrap(asked), GROUP);
  if (nodeId < 0 || !cluster.nodes.has(nodeId)) {
    throw new Error(`broker ${asked} names coordinator ${nodeId} (error ${errorCode} ${errorInfo(errorCode)?.name})`);
  }
  return await committedOffsets(cluster.bootstrap(nodeId), GROUP, TOPIC, PARTITIONS);
}

const total = (offsets: Map<number, number>) => [...offsets.values()].reduce((a, b) => a + Math.max(0, b), 0);

const MEMBERS: { client: string; join: (bootstrap: string) => GroupMember }[] = [
  { client: "kcat -G", join: (bootstrap) => new KcatGroupMember(bootstrap) },
  {
    client: "confluent-kafka with group.protocol=consumer",
    join: (bootstrap) => new WorkloadGroupMember(bootstrap, TOPIC, GROUP, "consumer"),
  },
];

for (const { client, join } of MEMBERS) {
  Deno.test({
    name: `${client}: the kill -9 of the group coordinator's broker loses no committed offset; a new member resumes`,
    ...OPTIONS,
    fn: async () => {
      const cluster = await TestCluster.start(3, {
        "offsets.topic.replication.factor": 3,
        "offsets.topic.num.partitions": 3,
        "group.initial.rebalance.delay.ms": 0,
        "replica.lag.time.max.ms": 2000,
      });
      const members: GroupMember[] = [];
      try {
        const all = () => runningNodes(cluster).map((id) => cluster.bootstrap(id)).join(",");
        const created = await createTopics(cluster.bootstrap(1), [
          { name: TOPIC, partitions: PARTITIONS.length, replicationFactor: 3 },
        ]);
        assert.equal(created.get(TOPIC), 0, `CreateTopics ${TOPIC}`);
        const first = Array.from({ length: 300 }, (_, i) => `first-${i}`);
        await produce(all(), first);

        const before = join(all());
        members.push(before);
        await waitFor("the first records consumed and committed", async () => {
          return before.values().length >= first.length && total(await committedThroughCoordinator(cluster)) === 300;
        }, 40_000);
        await before.stop();
        members.length = 0;
        const committed = await committedThroughCoordinator(cluster);

        const coordinator = (await groupCoordinator(cluster.bootstrap(1), GROUP)).nodeId;
        await cluster.nodes.get(coordinator)!.kill();
        cluster.nodes.delete(coordinator);
        const killedAt = performance.now();
        let after: Map<number, number> | undefined;
        await waitFor(
          `another broker coordinating ${GROUP} after the kill -9 of broker ${coordinator}`,
          async () => {
            after = await committedThroughCoordinator(cluster);
            return true;
          },
          15_000,
        );
        console.log(
          `a new coordinator answered OffsetFetch ${Math.round(performance.now() - killedAt)} ms after the kill`,
        );
        assert.deepEqual(after, committed, "the committed offsets, as the new coordinator answers them");

        const second = Array.from({ length: 100 }, (_, i) => `second-${i}`);
        await produce(all(), second);
        const resumed = join(all());
        members.push(resumed);
        await waitFor("the second records consumed and committed", async () => {
          return resumed.values().length >= second.length && total(await committedThroughCoordinator(cluster)) === 400;
        }, 40_000);
        assert.deepEqual(resumed.values().sort(), [...second].sort(), "the resumed member read only the new records");

        await cluster.startNode(coordinator);
      } finally {
        for (const m of members) await m.stop();
        await cluster.stop();
      }
    },
  });
}
