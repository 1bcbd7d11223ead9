/**
 * A real cluster: several Samsa processes on 127.0.0.1 share one Raft-replicated `__cluster_metadata`. Metadata
 * changes reach the active controller through any broker, every broker follows the log, the quorum survives
 * the loss of its leader, broker-only nodes join as observers (catching up from a snapshot), and a broker that
 * stops heartbeating is fenced.
 */
import assert from "node:assert/strict";
import { ApiKey, ErrorCode } from "../../protocol/messages.ts";
import { defaultFetchRequest, defaultFetchRequestFetchPartition } from "../../protocol/generated/mod.ts";
import { buildRecordBatch, decodeRecordBatch, iterateBatches } from "../../protocol/record_batch.ts";
import { RawClient } from "../diff/raw_client.ts";
import { EntryType } from "../../raft/types.ts";
import { decodeMetadataBatches } from "../../broker/metadata/image_snapshot.ts";
import { RaftJournal } from "../../broker/metadata/raft_journal.ts";
import { clusterView, createTopics, TestCluster, waitFor } from "./cluster_process.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };

/** The committed metadata entries in a stopped node's journal (after its snapshot), with their records. */
function committedEntries(dataDir: string) {
  const journal = RaftJournal.open(`${dataDir}/__cluster_metadata-0`, { voters: [], learners: [] });
  try {
    const commit = journal.hardState().commit;
    const entries = journal.entries(journal.firstIndex(), commit + 1, Number.MAX_SAFE_INTEGER);
    return entries.map((e) => ({
      index: e.index,
      term: e.term,
      type: e.type,
      bytes: Array.from(e.data).join(","),
      records: e.type === EntryType.Normal ? decodeMetadataBatches(e.data) : [],
    }));
  } finally {
    journal.close();
  }
}

/** Produces `values` to one partition through the broker at `bootstrap`; returns the partition's error code. */
async function produce(bootstrap: string, topic: string, partition: number, values: string[]): Promise<number> {
  const client = await RawClient.connect(bootstrap, "cluster-test");
  try {
    const encoder = new TextEncoder();
    const records = buildRecordBatch(
      values.map((v) => ({ timestamp: Date.now(), key: null, value: encoder.encode(v) })),
    );
    const answer = await client.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    });
    return answer.responses[0].partitionResponses[0].errorCode;
  } finally {
    await client.close();
  }
}

/** Every record value of one partition from offset 0, read through the broker at `bootstrap`. */
async function readAll(bootstrap: string, topic: string, partition: number): Promise<string[]> {
  const client = await RawClient.connect(bootstrap, "cluster-test");
  try {
    const answer = await client.request(ApiKey.Fetch, 4, {
      ...defaultFetchRequest(),
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{
        topic,
        topicId: "00000000-0000-0000-0000-000000000000",
        partitions: [{
          ...defaultFetchRequestFetchPartition(),
          partition,
          fetchOffset: 0n,
          partitionMaxBytes: 1 << 20,
        }],
      }],
    } as never);
    const data = answer.responses[0].partitions[0];
    assert.equal(data.errorCode, ErrorCode.NONE);
    const bytes = data.records ?? new Uint8Array(0);
    const values: string[] = [];
    for (const slot of iterateBatches(bytes)) {
      const batch = decodeRecordBatch(bytes.subarray(slot.pos, slot.pos + slot.size));
      for (const r of batch.records) values.push(new TextDecoder().decode(r.value!));
    }
    return values;
  } finally {
    await client.close();
  }
}

Deno.test({
  name: "three nodes form a quorum; topics created through each broker in turn appear, identical, on all three",
  ...OPTIONS,
  fn: async () => {
    const cluster = await TestCluster.start(3);
    try {
      const ids = [1, 2, 3];
      await waitFor("three live brokers on every node", async () => {
        for (const id of ids) if ((await clusterView(cluster.bootstrap(id))).brokers.length !== 3) return false;
        return true;
      });
      for (const id of ids) {
        const name = `through-${id}`;
        const codes = await createTopics(cluster.bootstrap(id), [{ name, partitions: 3 }]);
        assert.equal(codes.get(name), ErrorCode.NONE);
        // Answered only once applied on the answering broker: its very next Metadata shows the topic.
        const view = await clusterView(cluster.bootstrap(id));
        assert.ok(view.topics.some((t) => t.name === name), `${name} on broker ${id} right after its creation`);
      }
      await waitFor("one identical view on every broker", async () => {
        const views = await Promise.all(ids.map((id) => clusterView(cluster.bootstrap(id))));
        return views.every((v) => JSON.stringify(v) === JSON.stringify(views[0])) && views[0].topics.length === 3;
      });
      const view = await clusterView(cluster.bootstrap(1));
      assert.deepEqual(
        view.brokers.map((b) => [b.nodeId, b.port]),
        ids.map((id) => [id, cluster.specs.get(id)!.clientPort]),
      );
      assert.ok(ids.includes(view.controllerId));
      // Striped placement: the three partitions of each topic are led by three different brokers.
      for (const t of view.topics) {
        assert.deepEqual(t.partitions.map((p) => p.leader).sort(), [1, 2, 3], t.name);
        for (const p of t.partitions) assert.deepEqual(p.isr, [p.leader]);
      }

      // Two creates of one name through different brokers at once: exactly one succeeds.
      const results = await Promise.all(
        ids.map((id) => createTopics(cluster.bootstrap(id), [{ name: "race", partitions: 1 }])),
      );
      const codes = results.map((r) => r.get("race")).sort();
      assert.deepEqual(codes, [ErrorCode.NONE, ErrorCode.TOPIC_ALREADY_EXISTS, ErrorCode.TOPIC_ALREADY_EXISTS]);

      // More replicas than unfenced brokers is refused.
      const tooMany = await createTopics(cluster.bootstrap(2), [{ name: "rf4", partitions: 1, replicationFactor: 4 }]);
      assert.equal(tooMany.get("rf4"), ErrorCode.INVALID_REPLICATION_FACTOR);
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test({
  name:
    "kill -9 of the active controller: a new one serves CreateTopics, the old one rejoins, no record is lost or applied twice",
  ...OPTIONS,
  fn: async () => {
    const cluster = await TestCluster.start(3);
    try {
      assert.equal((await createTopics(cluster.bootstrap(1), [{ name: "before", partitions: 2 }])).get("before"), 0);
      const oldController = (await clusterView(cluster.bootstrap(1))).controllerId;
      const survivors = [1, 2, 3].filter((id) => id !== oldController);
      await cluster.nodes.get(oldController)!.kill();

      const started = performance.now();
      const codes = await createTopics(cluster.bootstrap(survivors[0]), [{ name: "after", partitions: 2 }]);
      assert.equal(codes.get("after"), ErrorCode.NONE);
      console.log(`CreateTopics answered ${Math.round(performance.now() - started)} ms after the kill -9`);
      const view = await clusterView(cluster.bootstrap(survivors[1]));
      assert.ok(view.topics.some((t) => t.name === "after"));
      assert.ok(survivors.includes(view.controllerId), `new controller ${view.controllerId}`);

      // The old controller restarts with its data and rejoins as a follower.
      await cluster.startNode(oldController);
      await waitFor("the old controller sees both topics", async () => {
        const names = (await clusterView(cluster.bootstrap(oldController))).topics.map((t) => t.name);
        return names.includes("before") && names.includes("after");
      });
      assert.equal(
        (await createTopics(cluster.bootstrap(oldController), [{ name: "rejoined", partitions: 1 }])).get("rejoined"),
        ErrorCode.NONE,
      );
    } finally {
      await cluster.stop({ keepData: true });
    }
    try {
      // Every node holds the same committed log, and each topic was created exactly once.
      const logs = [1, 2, 3].map((id) => committedEntries(cluster.specs.get(id)!.dataDir));
      const common = Math.min(...logs.map((l) => l.length));
      assert.ok(common > 0);
      for (const log of logs.slice(1)) {
        assert.deepEqual(
          log.slice(0, common).map((e) => [e.index, e.term, e.bytes]),
          logs[0].slice(0, common).map((e) => [e.index, e.term, e.bytes]),
        );
      }
      const longest = logs.reduce((a, b) => (b.length > a.length ? b : a));
      const created = longest.flatMap((e) => e.records).filter((r) => r.type === "topic").map((r) => r.record.name);
      assert.deepEqual(created.sort(), ["after", "before", "rejoined"]);
    } finally {
      for (const s of cluster.specs.values()) await Deno.remove(s.dataDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "a broker-only node joins as an observer, registers, is unfenced and catches up from a snapshot",
  ...OPTIONS,
  fn: async () => {
    // Small snapshots: the voters' logs are cut behind the new broker before it exists.
    const cluster = await TestCluster.start(3, { "metadata.log.max.record.bytes.between.snapshots": 1500 });
    try {
      for (let i = 0; i < 12; i++) {
        assert.equal(
          (await createTopics(cluster.bootstrap(1 + (i % 3)), [{ name: `t${i}`, partitions: 2 }])).get(`t${i}`),
          0,
        );
      }
      await waitFor("a snapshot on every voter", () =>
        Promise.resolve([1, 2, 3].every((id) => {
          try {
            return Deno.statSync(`${cluster.specs.get(id)!.dataDir}/__cluster_metadata-0/metadata.snapshot`).size > 0;
          } catch {
            return false;
          }
        })));

      await cluster.addBroker(4, "rack-4");
      const view = await clusterView(cluster.bootstrap(4));
      assert.deepEqual(view.brokers.map((b) => b.nodeId), [1, 2, 3, 4]);
      assert.equal(view.brokers.find((b) => b.nodeId === 4)!.rack, "rack-4");
      assert.equal(view.topics.length, 12);
      assert.deepEqual(view.topics, (await clusterView(cluster.bootstrap(1))).topics);
      const logs = cluster.nodes.get(4)!.logs();
      assert.match(logs, /metadata snapshot installed/);

      // DescribeQuorum through the new broker (kafka-metadata-quorum's request): three voters, one observer.
      const client = await RawClient.connect(cluster.bootstrap(4), "cluster-test");
      try {
        const q = await client.request(ApiKey.DescribeQuorum, 2, {
          topics: [{ topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] }],
        });
        const p = q.topics[0].partitions[0];
        assert.equal(p.errorCode, ErrorCode.NONE);
        assert.ok([1, 2, 3].includes(p.leaderId));
        assert.deepEqual(p.currentVoters.map((v) => v.replicaId), [1, 2, 3]);
        assert.deepEqual(p.observers.map((o) => o.replicaId), [4]);
        assert.ok(p.highWatermark > 0n);
        assert.deepEqual(q.nodes.map((n) => n.nodeId), [1, 2, 3]);
        assert.equal(q.nodes[0].listeners[0].port, cluster.specs.get(1)!.controllerPort);
      } finally {
        await client.close();
      }

      // New topics are placed on the new broker too, and it follows the log as it grows.
      assert.equal((await createTopics(cluster.bootstrap(4), [{ name: "wide", partitions: 4 }])).get("wide"), 0);
      const wide = (await clusterView(cluster.bootstrap(4))).topics.find((t) => t.name === "wide")!;
      assert.deepEqual(wide.partitions.map((p) => p.leader).sort(), [1, 2, 3, 4]);
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test({
  name:
    "a broker frozen with SIGSTOP is fenced after the session timeout, its partitions leaderless; after SIGCONT it is unfenced and leads them again, records intact",
  ...OPTIONS,
  fn: async () => {
    const cluster = await TestCluster.start(3);
    try {
      await waitFor("three live brokers", async () => (await clusterView(cluster.bootstrap(1))).brokers.length === 3);
      const controller = (await clusterView(cluster.bootstrap(1))).controllerId;
      const frozen = [1, 2, 3].find((id) => id !== controller)!;
      const watcher = cluster.bootstrap(controller);
      assert.equal((await createTopics(watcher, [{ name: "held", partitions: 3 }])).get("held"), ErrorCode.NONE);
      const held = (await clusterView(watcher)).topics.find((t) => t.name === "held")!;
      const own = held.partitions.find((p) => p.leader === frozen)!.partition;
      const values = ["a", "b", "c"];
      // The topic reaches the frozen broker once it applies the records (CreateTopics waits for the asked broker).
      await waitFor(
        "the first records produced",
        async () => await produce(cluster.bootstrap(frozen), "held", own, values) === ErrorCode.NONE,
      );

      cluster.nodes.get(frozen)!.signal("SIGSTOP");
      try {
        await waitFor(
          `broker ${frozen} fenced`,
          async () => !(await clusterView(watcher)).brokers.some((b) => b.nodeId === frozen),
        );
        // Its partition has no leader (its data is on the frozen broker only): LEADER_NOT_AVAILABLE, as Kafka
        // answers an offline partition, with the fenced replica offline. The others keep their leaders.
        for (const id of [1, 2, 3].filter((id) => id !== frozen)) {
          const partitions = (await clusterView(cluster.bootstrap(id))).topics.find((t) => t.name === "held")!
            .partitions;
          assert.deepEqual(partitions[own], {
            partition: own,
            errorCode: ErrorCode.LEADER_NOT_AVAILABLE,
            leader: -1,
            replicas: [frozen],
            isr: [frozen],
            offlineReplicas: [frozen],
          });
          for (const p of partitions.filter((p) => p.partition !== own)) {
            assert.equal(p.errorCode, ErrorCode.NONE);
            assert.notEqual(p.leader, frozen);
          }
        }
        // A fenced broker gets no new partitions.
        await createTopics(watcher, [{ name: "while-fenced", partitions: 4 }]);
        const t = (await clusterView(watcher)).topics.find((t) => t.name === "while-fenced")!;
        assert.ok(t.partitions.every((p) => p.leader !== frozen && p.leader !== -1));
      } finally {
        cluster.nodes.get(frozen)!.signal("SIGCONT");
      }
      await waitFor(`broker ${frozen} unfenced and leading its partition again`, async () => {
        const view = await clusterView(watcher);
        const p = view.topics.find((t) => t.name === "held")!.partitions[own];
        return view.brokers.some((b) => b.nodeId === frozen) && p.leader === frozen && p.errorCode === ErrorCode.NONE;
      });
      assert.deepEqual(await readAll(cluster.bootstrap(frozen), "held", own), values);
      assert.equal(await produce(cluster.bootstrap(frozen), "held", own, ["d"]), ErrorCode.NONE);
      assert.deepEqual(await readAll(cluster.bootstrap(frozen), "held", own), [...values, "d"]);
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test({
  name: "a broker stopped with SIGTERM (controlled shutdown) leaves its partitions leaderless until it returns",
  ...OPTIONS,
  fn: async () => {
    const cluster = await TestCluster.start(3);
    try {
      await waitFor("three live brokers", async () => (await clusterView(cluster.bootstrap(1))).brokers.length === 3);
      const controller = (await clusterView(cluster.bootstrap(1))).controllerId;
      const stopped = [1, 2, 3].find((id) => id !== controller)!;
      const watcher = cluster.bootstrap(controller);
      assert.equal((await createTopics(watcher, [{ name: "held", partitions: 3 }])).get("held"), ErrorCode.NONE);
      const own = (await clusterView(watcher)).topics[0].partitions.find((p) => p.leader === stopped)!.partition;
      await waitFor(
        "the first records produced",
        async () => await produce(cluster.bootstrap(stopped), "held", own, ["x", "y"]) === ErrorCode.NONE,
      );

      await cluster.nodes.get(stopped)!.stop();
      // The controlled shutdown committed the change before the broker stopped.
      const offline = (await clusterView(watcher)).topics[0].partitions[own];
      assert.equal(offline.leader, -1);
      assert.equal(offline.errorCode, ErrorCode.LEADER_NOT_AVAILABLE);
      assert.deepEqual(offline.offlineReplicas, [stopped]);

      await cluster.startNode(stopped);
      await waitFor(`broker ${stopped} leads its partition again`, async () => {
        const p = (await clusterView(watcher)).topics[0].partitions[own];
        return p.leader === stopped && p.errorCode === ErrorCode.NONE;
      });
      assert.deepEqual(await readAll(cluster.bootstrap(stopped), "held", own), ["x", "y"]);
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test({
  name:
    "UnregisterBroker through any broker removes a stopped broker's registration; an unknown id is BROKER_ID_NOT_REGISTERED",
  ...OPTIONS,
  fn: async () => {
    const cluster = await TestCluster.start(3);
    try {
      await cluster.addBroker(4);
      await waitFor("four live brokers", async () => (await clusterView(cluster.bootstrap(1))).brokers.length === 4);
      assert.equal((await createTopics(cluster.bootstrap(1), [{ name: "wide", partitions: 4 }])).get("wide"), 0);
      await cluster.nodes.get(4)!.stop();
      const client = await RawClient.connect(cluster.bootstrap(2), "cluster-test");
      try {
        const unknown = await client.request(ApiKey.UnregisterBroker, 0, { brokerId: 9 });
        assert.equal(unknown.errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED);
        assert.match(unknown.errorMessage!, /Broker ID 9 is not currently registered/);
        const gone = await client.request(ApiKey.UnregisterBroker, 0, { brokerId: 4 });
        assert.equal(gone.errorCode, ErrorCode.NONE);
        const again = await client.request(ApiKey.UnregisterBroker, 0, { brokerId: 4 });
        assert.equal(again.errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED);
      } finally {
        await client.close();
      }
      // Answered once applied on the answering broker; the partition it led stays leaderless.
      const view = await clusterView(cluster.bootstrap(2));
      assert.deepEqual(view.brokers.map((b) => b.nodeId), [1, 2, 3]);
      const orphan = view.topics.find((t) => t.name === "wide")!.partitions.find((p) => p.replicas[0] === 4)!;
      assert.equal(orphan.leader, -1);
      assert.deepEqual(orphan.offlineReplicas, [4]);
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test({
  name: "a cluster of one voter starts, serves a produce and a fetch, and starts again",
  ...OPTIONS,
  fn: async () => {
    const cluster = await TestCluster.start(1);
    try {
      const bootstrap = cluster.bootstrap(1);
      assert.equal((await createTopics(bootstrap, [{ name: "solo", partitions: 1 }])).get("solo"), ErrorCode.NONE);
      await waitFor("the first records produced", async () => await produce(bootstrap, "solo", 0, ["a"]) === 0);
      await cluster.nodes.get(1)!.stop();
      // Its own quorum: at the next start it appends no entry on election, and must still become the controller.
      await cluster.startNode(1);
      await waitFor("a produce after the restart", async () => await produce(bootstrap, "solo", 0, ["b"]) === 0);
      assert.deepEqual(await readAll(bootstrap, "solo", 0), ["a", "b"]);
    } finally {
      await cluster.stop();
    }
  },
});
