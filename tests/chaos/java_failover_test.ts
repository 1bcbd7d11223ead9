/**
 * The official Java client (kafka-clients 4.x) through failovers (issue 17's real-client tests), on three Samsa
 * processes with topics at RF=3:
 * - its idempotent acks=all producer through the kill -9 of the partition leader, judged by the chaos checker
 *   (nothing acknowledged lost, duplicated or moved; the wait from the kill to the next acknowledgement printed);
 * - a consumer that follows the partition while its leader is killed: it learns the new leader and epoch,
 *   validates its position with OffsetsForLeaderEpoch (KIP-320, seen in the client's debug log) and goes on with
 *   nothing skipped and nothing read twice;
 * - a consumer group member (KIP-848's `group.protocol=consumer`, and the classic protocol) through the kill -9 of
 *   its group coordinator's broker: it goes on reading and committing through the new coordinator, nothing is
 *   read twice, and a new member resumes after the last commit.
 * Each takes 7-15 s, so they run in the default suite.
 *
 * Needs Java 17+ and Maven (`bash tests/install_clients.sh`); the driver is built on first use
 * (`tests/compat/java/run.sh`).
 */
import assert from "node:assert/strict";
import { clusterView, createTopics, TestCluster, waitFor } from "../integration/cluster_process.ts";
import { describeResult } from "./checker.ts";
import { partitionLeadership, runningNodes } from "./nemesis.ts";
import { runScenario } from "./scenario.ts";
import { JavaTail, produceWithKcat } from "./java_workload.ts";
import { WorkloadGroupMember } from "./workload.ts";
import { committedOffsets } from "../harness/committed_offsets.ts";
import { groupCoordinator } from "../harness/group_coordinator.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "Java idempotent producer: kill -9 of the partition leader loses, duplicates and moves nothing acknowledged",
  ...OPTIONS,
  fn: async () => {
    const outcome = await runScenario({ faults: ["kill-leader"], client: "java" });
    const verdict = describeResult(outcome.result);
    console.log(`Java producer, kill-leader: ${verdict}${outcome.notes.length ? `\nnotes: ${outcome.notes}` : ""}`);
    assert.ok(outcome.result.valid, `${verdict}\n${outcome.notes.join("\n")}`);
    assert.equal(outcome.result.figures.faults[0]?.toNextAckMs !== null, true, "an acknowledgement after the kill");
  },
});

/** The leader of `topic`/0 as the running nodes other than `old` name it, once it is not `old`. */
async function leaderOtherThan(cluster: TestCluster, topic: string, old: number): Promise<number> {
  let leader = -1;
  await waitFor(`a leader of ${topic}/0 other than ${old}`, async () => {
    for (const id of runningNodes(cluster).filter((n) => n !== old)) {
      const view = await clusterView(cluster.bootstrap(id)).catch(() => undefined);
      const p = view?.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partition === 0);
      if (p && p.leader >= 0 && p.leader !== old) leader = p.leader;
    }
    return leader >= 0;
  }, 20_000);
  return leader;
}

/** Partition leadership lines of a broker's log (`partition leadership ... leader_epoch=...`), for the reader. */
function leadershipLines(log: string, topic: string): string[] {
  return log.split("\n").filter((l) => l.includes("partition leadership") && l.includes(topic));
}

for (const fault of ["kill -9", "SIGSTOP"] as const) {
  Deno.test({
    name: `Java consumer: after the ${fault} of the partition leader it validates its position (KIP-320) and ` +
      "skips or re-reads nothing, also once the old leader is back",
    ...OPTIONS,
    fn: async () => {
      const topic = "followed";
      const cluster = await TestCluster.start(3, { "replica.lag.time.max.ms": 2000 });
      let tail: JavaTail | undefined;
      let paused: number | undefined;
      try {
        const all = () => runningNodes(cluster).map((id) => cluster.bootstrap(id)).join(",");
        const created = await createTopics(cluster.bootstrap(1), [{
          name: topic,
          partitions: 1,
          replicationFactor: 3,
        }]);
        assert.equal(created.get(topic), 0, `CreateTopics ${topic}`);
        const { leader } = await partitionLeadership(cluster, topic, 0, 20_000);
        const batch = (name: string) => Array.from({ length: 200 }, (_, i) => `${name}-${i}`);
        const [before, during, healed] = [batch("before"), batch("during"), batch("healed")];
        await produceWithKcat(all(), topic, before, 0);
        tail = new JavaTail(all(), topic);
        const readsReach = (n: number) => async (what: string) => {
          try {
            await waitFor(what, () => Promise.resolve(tail!.reads.length >= n), 40_000);
          } catch (e) {
            const log = tail!.stderr.split("\n").filter((l) => !l.includes("TRACE")).slice(-60).join("\n");
            throw new Error(`${(e as Error).message}: ${tail!.reads.length} of ${n} read; the client's log:\n${log}`);
          }
        };
        await readsReach(200)("the consumer read the first records");

        if (fault === "kill -9") {
          await cluster.nodes.get(leader)!.kill();
          cluster.nodes.delete(leader);
        } else {
          cluster.nodes.get(leader)!.signal("SIGSTOP");
          paused = leader;
        }
        const next = await leaderOtherThan(cluster, topic, leader);
        const others = () => runningNodes(cluster).filter((n) => n !== paused).map((n) => cluster.bootstrap(n));
        await produceWithKcat(others().join(","), topic, during, 0);
        // A SIGSTOPped broker still accepts connections (the kernel does), and the Java client keeps waiting on it
        // (docs/COMPATIBILITY.md): it reads again once the old leader resumes and answers that it lost the lead.
        if (fault === "kill -9") await readsReach(400)("the consumer read the records written after the failover");

        // The old leader comes back: restarted, or resumed still believing it leads until it hears the new term.
        if (fault === "kill -9") await cluster.startNode(leader);
        else cluster.nodes.get(leader)!.signal("SIGCONT");
        paused = undefined;
        await readsReach(400)("the consumer read the records written after the failover");
        await produceWithKcat(all(), topic, healed, 0);
        await readsReach(600)("the consumer read the records written after the old leader came back");
        await tail.stop();

        assert.deepEqual(tail.reads.map((r) => r.offset), Array.from({ length: 600 }, (_, i) => i), "offsets read");
        assert.deepEqual(tail.reads.map((r) => r.value), [...before, ...during, ...healed], "values read");
        const validation = tail.validationLog();
        console.log(
          `${fault} of leader ${leader}, new leader ${next}; the consumer's KIP-320 log:\n  ${
            validation.slice(0, 8).join("\n  ")
          }\nthe old leader's log after it came back:\n  ${
            leadershipLines(cluster.nodes.get(leader)!.logs(), topic).slice(-3).join("\n  ")
          }`,
        );
        // The client asked the new leader where the epoch of its position ends and was told: at its position (200),
        // so there is nothing to truncate and it fetches on from there.
        assert.ok(
          validation.some((l) =>
            /OffsetsForLeaderEpoch response for followed-0\. Got offset 200 for epoch \d+/.test(l)
          ),
          `no OffsetsForLeaderEpoch answer at the consumer's position in its debug log:\n${tail.stderr.slice(-3000)}`,
        );
      } finally {
        if (paused !== undefined) cluster.nodes.get(paused)?.signal("SIGCONT");
        await tail?.stop();
        await cluster.stop();
      }
    },
  });
}

const GROUP_TOPIC = "orders";
const GROUP = "readers";
const GROUP_PARTITIONS = [0, 1];

/** The group's committed offsets as its coordinator answers them, summed over the partitions. */
async function committedTotal(cluster: TestCluster): Promise<number> {
  const asked = runningNodes(cluster)[0];
  const { nodeId, errorCode } = await groupCoordinator(cluster.bootstrap(asked), GROUP);
  if (nodeId < 0 || !cluster.nodes.has(nodeId)) throw new Error(`coordinator ${nodeId} (error ${errorCode})`);
  const offsets = await committedOffsets(cluster.bootstrap(nodeId), GROUP, GROUP_TOPIC, GROUP_PARTITIONS);
  return [...offsets.values()].reduce((a, b) => a + Math.max(0, b), 0);
}

/** Waits until `member` read `count` records and the group committed `committed` in all (through its coordinator). */
function readAndCommitted(cluster: TestCluster, member: WorkloadGroupMember, count: number, committed: number) {
  return waitFor(`${count} records read and ${committed} committed`, async () => {
    return member.values().length >= count && await committedTotal(cluster).catch(() => -1) === committed;
  }, 40_000);
}

for (const protocol of ["consumer", "classic"] as const) {
  Deno.test({
    name: `Java consumer, group.protocol=${protocol}: a member lives through the kill -9 of its group coordinator's ` +
      "broker, loses no committed offset, and a new member resumes after the last commit",
    ...OPTIONS,
    fn: async () => {
      const cluster = await TestCluster.start(3, {
        "offsets.topic.replication.factor": 3,
        "offsets.topic.num.partitions": 3,
        "group.initial.rebalance.delay.ms": 0,
        "replica.lag.time.max.ms": 2000,
      });
      const members: WorkloadGroupMember[] = [];
      try {
        const all = () => runningNodes(cluster).map((id) => cluster.bootstrap(id)).join(",");
        const created = await createTopics(cluster.bootstrap(1), [
          { name: GROUP_TOPIC, partitions: GROUP_PARTITIONS.length, replicationFactor: 3 },
        ]);
        assert.equal(created.get(GROUP_TOPIC), 0, `CreateTopics ${GROUP_TOPIC}`);
        const batch = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}-${i}`);
        const [first, second, third] = [batch("first", 300), batch("second", 100), batch("third", 100)];
        await produceWithKcat(all(), GROUP_TOPIC, first);
        const member = new WorkloadGroupMember(all(), GROUP_TOPIC, GROUP, protocol, "java");
        members.push(member);
        await readAndCommitted(cluster, member, 300, 300);

        const coordinator = (await groupCoordinator(cluster.bootstrap(1), GROUP)).nodeId;
        await cluster.nodes.get(coordinator)!.kill();
        cluster.nodes.delete(coordinator);
        const killedAt = performance.now();
        await waitFor("another broker answering the committed offsets", async () => {
          return await committedTotal(cluster).catch(() => -1) === 300;
        }, 15_000);
        const answeredMs = Math.round(performance.now() - killedAt);
        await produceWithKcat(all(), GROUP_TOPIC, second);
        await readAndCommitted(cluster, member, 400, 400);
        console.log(
          `coordinator ${coordinator} killed: another answered the committed offsets after ${answeredMs} ms; ` +
            `the member read and committed the next records ${
              Math.round(performance.now() - killedAt)
            } ms after the kill`,
        );
        await member.stop();
        assert.deepEqual(member.values().sort(), [...first, ...second].sort(), "the member read each record once");

        await produceWithKcat(all(), GROUP_TOPIC, third);
        const resumed = new WorkloadGroupMember(all(), GROUP_TOPIC, GROUP, protocol, "java");
        members.push(resumed);
        await readAndCommitted(cluster, resumed, 100, 500);
        assert.deepEqual(resumed.values().sort(), [...third].sort(), "the new member read only the new records");
      } finally {
        for (const m of members) await m.stop();
        await cluster.stop();
      }
    },
  });
}
