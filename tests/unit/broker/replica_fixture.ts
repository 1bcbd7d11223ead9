/**
 * Test helper for handler tests: a BrokerContext over real PartitionReplicas (real PartitionLogs in a temp
 * directory, opened by the real ReplicaManager), a metadata image the tests fill, and a fake connection whose
 * close the test controls.
 *
 * @module
 */
import type { BrokerContext, Controller } from "../../../broker/broker_context.ts";
import { BrokerConfig } from "../../../broker/config.ts";
import type { ConnectionInfo } from "../../../broker/connection.ts";
import { silentLogger } from "../../../broker/logger.ts";
import { MetadataImage, type TopicImage } from "../../../broker/metadata_image.ts";
import type { PartitionReplica, ProduceSettings } from "../../../broker/replication/partition_replica.ts";
import { ReplicaManager } from "../../../broker/replication/replica_manager.ts";
import { buildRecordBatch } from "../../../protocol/record_batch.ts";

/** Produce settings that accept any timestamp (tests write old and future timestamps on purpose). */
export const TEST_PRODUCE_SETTINGS: ProduceSettings = {
  logAppendTime: false,
  maxMessageBytes: 10 * 1024 * 1024,
  timestampBeforeMaxMs: Infinity,
  timestampAfterMaxMs: Infinity,
};

/** What `addTopic` creates. */
export interface TopicSpec {
  partitions?: number;
  /** Leader of every partition; default this node (1). Another id makes the partitions "led elsewhere". */
  leader?: number;
  leaderEpoch?: number;
  /** Topic config overrides, e.g. `{ "segment.bytes": "2000" }`. */
  configs?: Record<string, string>;
}

/** A produced batch. */
export interface Produced {
  baseOffset: number;
  lastOffset: number;
  /** The batch's size in bytes, as stored. */
  size: number;
}

/** A broker context with real replicas, and helpers to fill it. */
export interface ReplicaFixture {
  ctx: BrokerContext;
  /** Creates a topic in the image and opens the partitions this node leads. */
  addTopic(name: string, spec?: TopicSpec): Promise<TopicImage>;
  replica(topic: string, partition: number): PartitionReplica;
  /**
   * Appends one batch of `records` records of `valueBytes` bytes each, with timestamps `timestamp`, and waits
   * until it is durable (the high watermark passed it) unless `durable` is false.
   */
  produce(
    topic: string,
    partition: number,
    options?: { records?: number; valueBytes?: number; timestamp?: number; durable?: boolean },
  ): Promise<Produced>;
}

const NODE_ID = 1;

let topicIdCounter = 0;

function nextTopicId(): string {
  topicIdCounter++;
  return `00000000-0000-4000-8000-${topicIdCounter.toString(16).padStart(12, "0")}`;
}

const noController: Controller = {
  createTopics: () => Promise.reject(new Error("no controller in tests")),
  deleteTopics: () => Promise.reject(new Error("no controller in tests")),
  createPartitions: () => Promise.reject(new Error("no controller in tests")),
  allocateProducerId: () => Promise.reject(new Error("no controller in tests")),
  alterConfigs: () => Promise.reject(new Error("no controller in tests")),
};

/** Runs `fn` with a fresh fixture in a temp directory; closes every log and removes the directory after. */
export async function withReplicas(fn: (f: ReplicaFixture) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "samsa-broker-" });
  const config = BrokerConfig.from([{ key: "log.dirs", value: dir, source: { kind: "default" } }]);
  const metadata = new MetadataImage();
  const replicas = new ReplicaManager(config, silentLogger);
  const ctx: BrokerContext = {
    config,
    nodeId: NODE_ID,
    clusterId: "samsa-test-cluster",
    advertised: new Map([["PLAINTEXT", { host: "127.0.0.1", port: 9092 }]]),
    metadata,
    replicas,
    controller: noController,
    logger: silentLogger,
    now: () => Date.now(),
  };
  const fixture: ReplicaFixture = {
    ctx,
    async addTopic(name, spec = {}) {
      const topicId = nextTopicId();
      metadata.apply({ type: "topic", record: { name, topicId } });
      for (const [key, value] of Object.entries(spec.configs ?? {})) {
        metadata.apply({ type: "config", record: { resourceType: 2, resourceName: name, name: key, value } });
      }
      for (let p = 0; p < (spec.partitions ?? 1); p++) {
        const leader = spec.leader ?? NODE_ID;
        metadata.apply({
          type: "partition",
          record: {
            partitionId: p,
            topicId,
            replicas: [leader],
            isr: [leader],
            leader,
            leaderEpoch: spec.leaderEpoch ?? 0,
            partitionEpoch: 0,
          },
        });
      }
      const topic = metadata.topic(name)!;
      await replicas.ensureTopic(topic);
      return topic;
    },
    replica(topic, partition) {
      const replica = replicas.get(topic, partition);
      if (!replica) throw new Error(`no replica of ${topic}-${partition}`);
      return replica;
    },
    async produce(topic, partition, options = {}) {
      const count = options.records ?? 1;
      const value = new Uint8Array(options.valueBytes ?? 100).fill(0x61);
      const timestamp = options.timestamp ?? Date.now();
      const batch = buildRecordBatch(
        Array.from({ length: count }, () => ({ timestamp, key: null, value })),
      );
      const outcome = fixture.replica(topic, partition).append(batch, TEST_PRODUCE_SETTINGS, Date.now());
      if (outcome.errorCode !== 0) throw new Error(`produce failed: ${outcome.errorCode} ${outcome.errorMessage}`);
      if (options.durable !== false) await outcome.durable;
      return { baseOffset: outcome.baseOffset, lastOffset: outcome.baseOffset + count - 1, size: batch.length };
    },
  };
  try {
    await fn(fixture);
  } finally {
    await replicas.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A connection whose `close()` aborts its signal, as the real one does. */
export function testConnection(): ConnectionInfo & { closeNow(): void } {
  const controller = new AbortController();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const conn = {
    id: 1,
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 } as Deno.NetAddr,
    listenerName: "PLAINTEXT",
    signal: controller.signal,
    closed,
    get isClosed() {
      return controller.signal.aborted;
    },
    close(_reason: string) {
      if (controller.signal.aborted) return;
      controller.abort();
      resolveClosed();
    },
    closeNow() {
      conn.close("test");
    },
  };
  return conn;
}
