/**
 * A full disk, simulated with the fault-injecting file system: every API that writes answers its own retriable
 * Kafka error (never UNKNOWN_SERVER_ERROR, never a dropped connection), reads go on, and once space is freed
 * the log directory comes back online by itself, without a restart and without losing an acknowledged record.
 */
import assert from "node:assert/strict";
import { startBroker } from "../../broker/broker.ts";
import { BrokerConfig, type ConfigSetting } from "../../broker/config.ts";
import { replayRecords } from "../../broker/log_replay.ts";
import { createLogger } from "../../broker/logger.ts";
import { decodeMetadataRecord } from "../../broker/metadata_log.ts";
import { PartitionLog } from "../../log/partition_log.ts";
import { DenoFileSystem } from "../../log/file_system.ts";
import { FaultyFileSystem } from "../../log/faulty_file_system.ts";
import { defaultFetchRequest, defaultFetchRequestFetchPartition } from "../../protocol/generated/mod.ts";
import { ApiKey, ErrorCode } from "../../protocol/messages.ts";
import { buildRecordBatch, decodeRecordBatch, iterateBatches } from "../../protocol/record_batch.ts";
import { startBroker as startBrokerProcess } from "./broker_process.ts";
import { produceBatch, RawClient } from "./produce_helpers.ts";

function settings(dir: string): ConfigSetting[] {
  const entries: Record<string, string> = {
    "log.dirs": dir,
    "listeners": "PLAINTEXT://127.0.0.1:0",
    "offsets.topic.num.partitions": "1",
    "group.initial.rebalance.delay.ms": "0",
    "log.dir.failure.probe.initial.backoff.ms": "20",
    "log.dir.failure.probe.max.backoff.ms": "100",
  };
  return Object.entries(entries).map(([key, value]) => ({
    key,
    value,
    source: { kind: "flag" as const, flag: "--set" },
  }));
}

function batchOf(values: string[]): Uint8Array {
  const encoder = new TextEncoder();
  return buildRecordBatch(values.map((v) => ({ timestamp: Date.now(), key: null, value: encoder.encode(v) })));
}

/** Every record value of partition 0 of `topic` from offset 0, with its offset. */
async function readAll(client: RawClient, topic: string): Promise<{ errorCode: number; records: string[] }> {
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
        partition: 0,
        fetchOffset: 0n,
        partitionMaxBytes: 1 << 20,
      }],
    }],
  } as never);
  const partition = answer.responses[0].partitions[0];
  const records: string[] = [];
  const bytes = partition.records ?? new Uint8Array(0);
  for (const slot of iterateBatches(bytes)) {
    const batch = decodeRecordBatch(bytes.subarray(slot.pos, slot.pos + slot.size));
    for (const r of batch.records) {
      records.push(`${batch.header.baseOffset + BigInt(r.offsetDelta)}:${new TextDecoder().decode(r.value!)}`);
    }
  }
  return { errorCode: partition.errorCode, records };
}

function createTopicsRequest(name: string) {
  return {
    topics: [{ name, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  };
}

function offsetCommitRequest(group: string, topic: string, offset: bigint) {
  return {
    groupId: group,
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [{
      name: topic,
      partitions: [{
        partitionIndex: 0,
        committedOffset: offset,
        committedLeaderEpoch: -1,
        commitTimestamp: -1n,
        committedMetadata: "",
      }],
    }],
  };
}

const INIT_PRODUCER_ID = { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 };

/** Waits until `attempt` resolves true; bounded in count and time. */
async function eventually(what: string, attempt: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000; i++) {
    if (await attempt()) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms`);
}

Deno.test("a full disk: writes get retriable errors, reads go on, and the log dir comes back by itself", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-full-disk-" });
  const fs = new FaultyFileSystem(new DenoFileSystem());
  const lines: string[] = [];
  const logger = createLogger({ level: "info", sink: (l) => lines.push(l) });
  let broker = await startBroker(BrokerConfig.from(settings(dir)), logger, { fs });
  let client = await RawClient.connect(`127.0.0.1:${broker.addresses[0].port}`);
  try {
    const created = await client.request(ApiKey.CreateTopics, 7, createTopicsRequest("orders"));
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    const before = await produceBatch(client, "orders", batchOf(["a", "b"]));
    assert.deepEqual([before.errorCode, before.baseOffset], [ErrorCode.NONE, 0n]);

    // The disk fills up: every write fails, the first one after writing a few bytes (a torn batch).
    fs.failOn({ op: "append", code: "ENOSPC", sticky: true, shortBytes: 7 });

    const refused = await produceBatch(client, "orders", batchOf(["lost"]));
    assert.equal(refused.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    const again = await produceBatch(client, "orders", batchOf(["lost again"]), 1);
    assert.equal(again.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);

    const createWhileFull = await client.request(ApiKey.CreateTopics, 7, createTopicsRequest("later"));
    assert.equal(createWhileFull.topics[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.match(createWhileFull.topics[0].errorMessage ?? "", /metadata log could not be written/);

    const grow = await client.request(ApiKey.CreatePartitions, 3, {
      topics: [{ name: "orders", count: 2, assignments: null }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.equal(grow.results[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);

    const deleted = await client.request(ApiKey.DeleteTopics, 6, {
      topics: [{ name: "orders", topicId: "00000000-0000-0000-0000-000000000000" }],
      topicNames: [],
      timeoutMs: 10_000,
    });
    assert.equal(deleted.responses[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);

    const producerId = await client.request(ApiKey.InitProducerId, 4, INIT_PRODUCER_ID);
    assert.equal(producerId.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);

    // `__consumer_offsets` does not exist yet and cannot be created: the coordinator is not available.
    const coordinator = await client.request(ApiKey.FindCoordinator, 3, { key: "g", keyType: 0, coordinatorKeys: [] });
    assert.equal(coordinator.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const commit = await client.request(ApiKey.OffsetCommit, 8, offsetCommitRequest("g", "orders", 2n));
    assert.equal(commit.topics[0].partitions[0].errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);

    const trimmed = await client.request(ApiKey.DeleteRecords, 2, {
      topics: [{ name: "orders", partitions: [{ partitionIndex: 0, offset: 1n }] }],
      timeoutMs: 10_000,
    });
    assert.equal(trimmed.topics[0].partitions[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);

    // Reads go on, on the same connection: nothing above closed it.
    assert.deepEqual(await readAll(client, "orders"), { errorCode: ErrorCode.NONE, records: ["0:a", "1:b"] });
    assert.ok(lines.some((l) => l.includes('msg="log dir offline"')), "the failure is logged");

    // Space is freed: the probe succeeds and the partition takes writes again, without a restart.
    fs.heal();
    let after = { errorCode: -2, baseOffset: -1n };
    await eventually("produce succeeds again", async () => {
      after = await produceBatch(client, "orders", batchOf(["c"]));
      return after.errorCode === ErrorCode.NONE;
    });
    // The torn bytes of the failed write were cut: offsets go on right after the acknowledged records.
    assert.equal(after.baseOffset, 2n);
    assert.ok(lines.some((l) => l.includes('msg="log dir online"')), "the recovery is logged");

    const createAfter = await client.request(ApiKey.CreateTopics, 7, createTopicsRequest("later"));
    assert.equal(createAfter.topics[0].errorCode, ErrorCode.NONE);
    assert.equal((await client.request(ApiKey.InitProducerId, 4, INIT_PRODUCER_ID)).errorCode, ErrorCode.NONE);
    await eventually("the coordinator is found", async () => {
      const r = await client.request(ApiKey.FindCoordinator, 3, { key: "g", keyType: 0, coordinatorKeys: [] });
      return r.errorCode === ErrorCode.NONE;
    });
    const committed = await client.request(ApiKey.OffsetCommit, 8, offsetCommitRequest("g", "orders", 3n));
    assert.equal(committed.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.deepEqual(await readAll(client, "orders"), { errorCode: ErrorCode.NONE, records: ["0:a", "1:b", "2:c"] });

    // Everything acknowledged before and after survives a restart.
    client.close();
    await broker.close();
    broker = await startBroker(BrokerConfig.from(settings(dir)), createLogger({ level: "error", sink: () => {} }));
    client = await RawClient.connect(`127.0.0.1:${broker.addresses[0].port}`);
    assert.deepEqual(await readAll(client, "orders"), { errorCode: ErrorCode.NONE, records: ["0:a", "1:b", "2:c"] });
    const fetched = await client.request(ApiKey.OffsetFetch, 7, {
      groupId: "g",
      topics: [{ name: "orders", partitionIndexes: [0] }],
      groups: [],
      requireStable: false,
    });
    assert.equal(fetched.topics![0].partitions[0].committedOffset, 3n);
    const topics = await client.request(ApiKey.Metadata, 9, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.deepEqual(topics.topics.map((t) => t.name).filter((n) => !n?.startsWith("__")).sort(), ["later", "orders"]);
  } finally {
    client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a full disk under the group coordinator: group writes answer NOT_COORDINATOR, then heal", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-full-disk-" });
  const fs = new FaultyFileSystem(new DenoFileSystem());
  const broker = await startBroker(BrokerConfig.from(settings(dir)), createLogger({ level: "error", sink: () => {} }), {
    fs,
  });
  const client = await RawClient.connect(`127.0.0.1:${broker.addresses[0].port}`);
  try {
    assert.equal((await client.request(ApiKey.CreateTopics, 7, createTopicsRequest("orders"))).topics[0].errorCode, 0);
    await eventually("the coordinator is found", async () => {
      const r = await client.request(ApiKey.FindCoordinator, 3, { key: "g", keyType: 0, coordinatorKeys: [] });
      return r.errorCode === ErrorCode.NONE;
    });
    const first = await client.request(ApiKey.OffsetCommit, 8, offsetCommitRequest("g", "orders", 1n));
    assert.equal(first.topics[0].partitions[0].errorCode, ErrorCode.NONE);

    fs.failOn({ op: "append", code: "ENOSPC", sticky: true, shortBytes: 5 });
    // Kafka's coordinator maps a storage error of its log to NOT_COORDINATOR: the client looks the coordinator
    // up again and retries.
    const commit = await client.request(ApiKey.OffsetCommit, 8, offsetCommitRequest("g", "orders", 2n));
    assert.equal(commit.topics[0].partitions[0].errorCode, ErrorCode.NOT_COORDINATOR);
    const offsetDelete = await client.request(ApiKey.OffsetDelete, 0, {
      groupId: "g",
      topics: [{ name: "orders", partitions: [{ partitionIndex: 0 }] }],
    });
    assert.equal(offsetDelete.errorCode, ErrorCode.NOT_COORDINATOR);
    const deleteGroups = await client.request(ApiKey.DeleteGroups, 2, { groupsNames: ["g"] });
    assert.equal(deleteGroups.results[0].errorCode, ErrorCode.NOT_COORDINATOR);
    const heartbeat = await client.request(ApiKey.ConsumerGroupHeartbeat, 0, {
      groupId: "new-style",
      memberId: crypto.randomUUID(),
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: ["orders"],
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: [],
    });
    assert.equal(heartbeat.errorCode, ErrorCode.NOT_COORDINATOR);
    const joinRequest = (memberId: string) => ({
      groupId: "classic",
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId,
      groupInstanceId: null,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array(0) }],
      reason: null,
    });
    const required = await client.request(ApiKey.JoinGroup, 5, joinRequest(""));
    const joined = await client.request(ApiKey.JoinGroup, 5, joinRequest(required.memberId));
    assert.equal(joined.errorCode, ErrorCode.NONE, "a join stores nothing yet");
    const synced = await client.request(ApiKey.SyncGroup, 3, {
      groupId: "classic",
      generationId: joined.generationId,
      memberId: joined.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: joined.memberId, assignment: new Uint8Array(0) }],
    });
    assert.equal(synced.errorCode, ErrorCode.NOT_COORDINATOR, "storing the assignment failed");

    fs.heal();
    await eventually("offset commits succeed again", async () => {
      const r = await client.request(ApiKey.OffsetCommit, 8, offsetCommitRequest("g", "orders", 4n));
      return r.topics[0].partitions[0].errorCode === ErrorCode.NONE;
    });
    const fetched = await client.request(ApiKey.OffsetFetch, 7, {
      groupId: "g",
      topics: [{ name: "orders", partitionIndexes: [0] }],
      groups: [],
      requireStable: false,
    });
    assert.equal(fetched.topics![0].partitions[0].committedOffset, 4n);
  } finally {
    client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed fsync takes the logs offline; once fsyncs work again they come back, metadata exactly as answered", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-fsync-fault-" });
  const fs = new FaultyFileSystem(new DenoFileSystem());
  const quiet = () => createLogger({ level: "error", sink: () => {} });
  let broker = await startBroker(BrokerConfig.from(settings(dir)), quiet(), { fs });
  let client = await RawClient.connect(`127.0.0.1:${broker.addresses[0].port}`);
  try {
    assert.equal((await client.request(ApiKey.CreateTopics, 7, createTopicsRequest("orders"))).topics[0].errorCode, 0);
    assert.equal((await produceBatch(client, "orders", batchOf(["a"]))).errorCode, ErrorCode.NONE);

    // The device fails every fsync for a while (EIO): nothing written meanwhile may be acknowledged.
    fs.failOn({ op: "sync", code: "EIO", sticky: true });
    assert.equal((await produceBatch(client, "orders", batchOf(["unsure"]))).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    const created = await client.request(ApiKey.CreateTopics, 7, createTopicsRequest("pending"));
    assert.equal(created.topics[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);

    fs.heal();
    await eventually("produce succeeds again", async () => {
      return (await produceBatch(client, "orders", batchOf(["b"]))).errorCode === ErrorCode.NONE;
    });
    // The refused topic creation was written but never committed: the reopened metadata log dropped it, so the
    // name is free, and the topic is created once.
    const again = await client.request(ApiKey.CreateTopics, 7, createTopicsRequest("pending"));
    assert.equal(again.topics[0].errorCode, ErrorCode.NONE);
    const records = (await readAll(client, "orders")).records;
    // A batch refused after its write but before its fsync may or may not survive (as with Kafka, the
    // producer retries it); every acknowledged one does, in order.
    assert.deepEqual(records.filter((r) => !r.endsWith(":unsure")).map((r) => r.split(":")[1]), ["a", "b"]);

    client.close();
    await broker.close();
    // The metadata log holds the topic record of "pending" once: the uncommitted one was cut.
    const metadataLog = await PartitionLog.open(`${dir}/__cluster_metadata-0`);
    const topicRecords: string[] = [];
    replayRecords(metadataLog, (r) => {
      const entry = r.value && decodeMetadataRecord(r.value);
      if (entry?.type === "topic") topicRecords.push((entry.record as { name: string }).name);
    });
    await metadataLog.close();
    assert.deepEqual(topicRecords, ["orders", "pending"]);
    broker = await startBroker(BrokerConfig.from(settings(dir)), quiet());
    client = await RawClient.connect(`127.0.0.1:${broker.addresses[0].port}`);
    assert.deepEqual((await readAll(client, "orders")).records, records);
    const topics = await client.request(ApiKey.Metadata, 9, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.deepEqual(topics.topics.map((t) => t.name).sort(), ["orders", "pending"]);
  } finally {
    client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an idempotent retry of a batch refused by a failed fsync is stored once after the log comes back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-fsync-retry-" });
  const fs = new FaultyFileSystem(new DenoFileSystem());
  const lines: string[] = [];
  const broker = await startBroker(BrokerConfig.from(settings(dir)), createLogger({ sink: (l) => lines.push(l) }), {
    fs,
  });
  const client = await RawClient.connect(`127.0.0.1:${broker.addresses[0].port}`);
  try {
    assert.equal((await client.request(ApiKey.CreateTopics, 7, createTopicsRequest("orders"))).topics[0].errorCode, 0);
    const { producerId, errorCode } = await client.request(ApiKey.InitProducerId, 4, INIT_PRODUCER_ID);
    assert.equal(errorCode, ErrorCode.NONE);
    const idempotent = (value: string, baseSequence: number) =>
      buildRecordBatch([{ timestamp: Date.now(), key: null, value: new TextEncoder().encode(value) }], {
        producerId,
        producerEpoch: 0,
        baseSequence,
      });
    assert.equal((await produceBatch(client, "orders", idempotent("first", 0))).errorCode, ErrorCode.NONE);

    fs.failOn({ op: "sync", code: "EIO", sticky: true, pathIncludes: "orders-0" });
    const refused = await produceBatch(client, "orders", idempotent("second", 1));
    assert.equal(refused.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    // The probe file is elsewhere and succeeds, but reopening the partition fails its recovery fsync: the
    // partition stays offline and keeps answering KAFKA_STORAGE_ERROR (not NOT_LEADER_OR_FOLLOWER).
    await eventually(
      "a reopen was tried and failed",
      () => Promise.resolve(lines.some((l) => l.includes('msg="log dir still offline"') && l.includes("opening"))),
    );
    assert.equal(
      (await produceBatch(client, "orders", idempotent("second", 1))).errorCode,
      ErrorCode.KAFKA_STORAGE_ERROR,
    );
    fs.heal();
    // The producer retries the same batch (same sequence) until the partition is back.
    let retried = { errorCode: -2, baseOffset: -1n };
    await eventually("the retry is answered", async () => {
      retried = await produceBatch(client, "orders", idempotent("second", 1));
      return retried.errorCode === ErrorCode.NONE;
    });
    assert.equal(retried.baseOffset, 1n);
    assert.deepEqual((await readAll(client, "orders")).records, ["0:first", "1:second"]);
  } finally {
    client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Fills the file system of `dir` with one file, in ever smaller writes, until not even 1 byte fits. */
function fill(path: string): void {
  const file = Deno.openSync(path, { write: true, create: true });
  try {
    for (let size = 1 << 20; size >= 1; size >>= 2) {
      const chunk = new Uint8Array(size).fill(0x5a);
      for (let i = 0; i < 100_000; i++) {
        try {
          file.writeSync(chunk);
        } catch {
          break;
        }
      }
    }
  } finally {
    file.close();
  }
}

Deno.test({
  name: "a real full file system (tmpfs): storage errors, reads go on, and writes resume once space is freed",
  ignore: Deno.build.os !== "linux" || Deno.uid() !== 0, // mounting a tmpfs needs root (CI runs as root)
  async fn() {
    const mountPoint = await Deno.makeTempDir({ prefix: "samsa-tmpfs-" });
    const mounted = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint],
      stderr: "null",
    }).output();
    assert.ok(mounted.success, "mounting a small tmpfs");
    const dataDir = `${mountPoint}/data`;
    let broker = await startBrokerProcess({
      dataDir,
      settings: {
        "log.dir.failure.probe.initial.backoff.ms": 20,
        "log.dir.failure.probe.max.backoff.ms": 100,
        "offsets.topic.num.partitions": 1,
      },
    });
    let client = await RawClient.connect(broker.bootstrap);
    try {
      assert.equal((await client.request(ApiKey.CreateTopics, 7, createTopicsRequest("full"))).topics[0].errorCode, 0);
      const acknowledged: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await produceBatch(client, "full", batchOf([`early-${i}`]));
        assert.equal(r.errorCode, ErrorCode.NONE);
        acknowledged.push(`${r.baseOffset}:early-${i}`);
      }
      fill(`${mountPoint}/filler`);

      // 16 KiB batches until one no longer fits (the segment's last page may still take a little).
      const big = "x".repeat(16 * 1024);
      let refused: number | undefined;
      for (let i = 0; i < 50 && refused === undefined; i++) {
        const r = await produceBatch(client, "full", batchOf([`${big}-${i}`]));
        if (r.errorCode === ErrorCode.NONE) acknowledged.push(`${r.baseOffset}:${big}-${i}`);
        else refused = r.errorCode;
      }
      assert.equal(refused, ErrorCode.KAFKA_STORAGE_ERROR);
      // A small metadata record may still fit in the metadata segment's last page: either answer is right,
      // as long as it is not UNKNOWN_SERVER_ERROR or a closed connection.
      const created = await client.request(ApiKey.CreateTopics, 7, createTopicsRequest("while-full"));
      assert.ok(([ErrorCode.NONE, ErrorCode.KAFKA_STORAGE_ERROR] as number[]).includes(created.topics[0].errorCode));
      assert.deepEqual(await readAll(client, "full"), { errorCode: ErrorCode.NONE, records: acknowledged });

      await Deno.remove(`${mountPoint}/filler`);
      await eventually("produce succeeds once space is freed", async () => {
        const r = await produceBatch(client, "full", batchOf(["late"]));
        if (r.errorCode === ErrorCode.NONE) acknowledged.push(`${r.baseOffset}:late`);
        return r.errorCode === ErrorCode.NONE;
      });
      assert.match(broker.logs(), /msg="log dir online"/);
      assert.equal(
        (await client.request(ApiKey.CreateTopics, 7, createTopicsRequest("after-full"))).topics[0].errorCode,
        0,
      );
      assert.deepEqual(await readAll(client, "full"), { errorCode: ErrorCode.NONE, records: acknowledged });

      client.close();
      assert.equal(await broker.stop(), 0);
      broker = await startBrokerProcess({ dataDir });
      client = await RawClient.connect(broker.bootstrap);
      assert.deepEqual(await readAll(client, "full"), { errorCode: ErrorCode.NONE, records: acknowledged });
    } finally {
      client.close();
      await broker.kill();
      await new Deno.Command("umount", { args: ["-l", mountPoint] }).output();
      await Deno.remove(mountPoint, { recursive: true });
    }
  },
});
