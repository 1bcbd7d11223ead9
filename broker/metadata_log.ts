/**
 * The `__cluster_metadata` log of this broker: topic, partition and config records, framed as Kafka frames
 * them (unsigned varints: frame version 1, record type, record version; then the record), one record batch per
 * change, fsynced before the change is answered. Replaying the log rebuilds the metadata image.
 *
 * With one broker the log is written locally; the Raft issue replicates the same log to every broker.
 *
 * @module
 */
import type { FileSystem } from "../log/file_system.ts";
import { PartitionLog } from "../log/partition_log.ts";
import { buildRecordBatch } from "../protocol/record_batch.ts";
import { replayRecords } from "./log_replay.ts";
import { Reader } from "../protocol/wire/reader.ts";
import { Writer } from "../protocol/wire/writer.ts";
import {
  type ConfigRecord,
  decodeBrokerRegistrationChangeRecord,
  decodeConfigRecord,
  decodeFeatureLevelRecord,
  decodePartitionChangeRecord,
  decodePartitionRecord,
  decodeProducerIdsRecord,
  decodeRegisterBrokerRecord,
  decodeRemoveTopicRecord,
  decodeTopicRecord,
  decodeUnregisterBrokerRecord,
  defaultPartitionChangeRecord,
  encodeBrokerRegistrationChangeRecord,
  encodeConfigRecord,
  encodeFeatureLevelRecord,
  encodePartitionChangeRecord,
  encodePartitionRecord,
  encodeProducerIdsRecord,
  encodeRegisterBrokerRecord,
  encodeRemoveTopicRecord,
  encodeTopicRecord,
  encodeUnregisterBrokerRecord,
  type PartitionChangeRecord,
  type PartitionRecord,
  type RegisterBrokerRecord,
  type RemoveTopicRecord,
  type TopicRecord,
} from "../protocol/generated/mod.ts";
import { MetadataImage, type MetadataRecord, type PartitionChangeFields } from "./metadata_image.ts";

/** Kafka's metadata record types (the `apiKey` of each metadata record schema). */
const RecordType = {
  RegisterBroker: 0,
  UnregisterBroker: 1,
  Topic: 2,
  Partition: 3,
  Config: 4,
  PartitionChange: 5,
  RemoveTopic: 9,
  FeatureLevel: 12,
  ProducerIds: 15,
  BrokerRegistrationChange: 17,
} as const;
/** RegisterBrokerRecord version written: v3 carries `inControlledShutdown` and `logDirs`. */
const REGISTER_BROKER_VERSION = 3;
/** BrokerRegistrationChangeRecord version written: v1 carries `inControlledShutdown`. */
const BROKER_CHANGE_VERSION = 1;
const FRAME_VERSION = 1;
/**
 * The tag of Samsa's `LeaderEpoch` field of PartitionChangeRecord (an int32): the exact leader epoch a partition's
 * Raft group elected its leader in (Kafka's record has no epoch; its image adds one per leader change). Kafka
 * numbers its own tags of this record from 0 upwards (0-8 in Kafka 4.4) and adds new ones next in line, so a tag
 * this far away cannot meet one of a future Kafka version; a Kafka reader skips a tag it does not know.
 */
export const LEADER_EPOCH_TAG = 10_000;

/** Topic name of the metadata log. */
export const METADATA_TOPIC = "__cluster_metadata";

function frame(type: number, version: number, write: (w: Writer) => void): Uint8Array {
  const w = new Writer(64);
  w.uvarint(FRAME_VERSION);
  w.uvarint(type);
  w.uvarint(version);
  write(w);
  return w.finish();
}

/** Encodes one image record as a metadata log record value. */
export function encodeMetadataRecord(entry: MetadataRecord): Uint8Array {
  switch (entry.type) {
    case "topic":
      return frame(RecordType.Topic, 0, (w) => encodeTopicRecord(w, entry.record as TopicRecord, 0));
    case "partition": {
      const record: PartitionRecord = {
        ...entry.record,
        removingReplicas: entry.record.removingReplicas ?? [],
        addingReplicas: entry.record.addingReplicas ?? [],
        leaderRecoveryState: 0,
        directories: [],
        eligibleLeaderReplicas: null,
        lastKnownElr: null,
      };
      return frame(RecordType.Partition, 0, (w) => encodePartitionRecord(w, record, 0));
    }
    case "partition_change": {
      const { leaderEpoch, ...fields } = entry.record;
      const record: PartitionChangeRecord = {
        ...defaultPartitionChangeRecord(),
        ...fields,
        replicas: fields.replicas ?? null,
        addingReplicas: fields.addingReplicas ?? null,
        removingReplicas: fields.removingReplicas ?? null,
      };
      if (leaderEpoch !== undefined) {
        const epoch = new Writer(4);
        epoch.int32(leaderEpoch);
        record.unknownTaggedFields = [{ tag: LEADER_EPOCH_TAG, data: epoch.finish() }];
      }
      return frame(RecordType.PartitionChange, 0, (w) => encodePartitionChangeRecord(w, record, 0));
    }
    case "config":
      return frame(RecordType.Config, 0, (w) => encodeConfigRecord(w, entry.record as ConfigRecord, 0));
    case "remove_topic":
      return frame(RecordType.RemoveTopic, 0, (w) => encodeRemoveTopicRecord(w, entry.record as RemoveTopicRecord, 0));
    case "register_broker": {
      const record: RegisterBrokerRecord = {
        ...entry.record,
        isMigratingZkBroker: false,
        features: [],
        logDirs: [],
      };
      return frame(
        RecordType.RegisterBroker,
        REGISTER_BROKER_VERSION,
        (w) => encodeRegisterBrokerRecord(w, record, REGISTER_BROKER_VERSION),
      );
    }
    case "unregister_broker":
      return frame(RecordType.UnregisterBroker, 0, (w) => encodeUnregisterBrokerRecord(w, entry.record, 0));
    case "broker_change":
      return frame(
        RecordType.BrokerRegistrationChange,
        BROKER_CHANGE_VERSION,
        (w) => encodeBrokerRegistrationChangeRecord(w, { ...entry.record, logDirs: [] }, BROKER_CHANGE_VERSION),
      );
    case "producer_ids":
      return frame(RecordType.ProducerIds, 0, (w) => encodeProducerIdsRecord(w, entry.record, 0));
    case "feature_level":
      return frame(RecordType.FeatureLevel, 0, (w) => encodeFeatureLevelRecord(w, entry.record, 0));
  }
}

/** Decodes a metadata log record value; records of types the image does not use give undefined. */
export function decodeMetadataRecord(value: Uint8Array): MetadataRecord | undefined {
  const r = new Reader(value);
  r.uvarint(); // frame version
  const type = r.uvarint();
  const version = r.uvarint();
  switch (type) {
    case RecordType.Topic:
      return { type: "topic", record: decodeTopicRecord(r, version) };
    case RecordType.Partition:
      return { type: "partition", record: decodePartitionRecord(r, version) };
    case RecordType.PartitionChange: {
      const { topicId, partitionId, leader, isr, replicas, addingReplicas, removingReplicas, unknownTaggedFields } =
        decodePartitionChangeRecord(r, version);
      const record: PartitionChangeFields = { topicId, partitionId, leader, isr };
      // A reassignment's steps (KRaft writes these three fields together when the placement changes).
      if (replicas !== null) record.replicas = replicas;
      if (addingReplicas !== null) record.addingReplicas = addingReplicas;
      if (removingReplicas !== null) record.removingReplicas = removingReplicas;
      const epoch = unknownTaggedFields?.find((f) => f.tag === LEADER_EPOCH_TAG);
      if (epoch) record.leaderEpoch = new Reader(epoch.data).int32();
      return { type: "partition_change", record };
    }
    case RecordType.Config:
      return { type: "config", record: decodeConfigRecord(r, version) };
    case RecordType.RemoveTopic:
      return { type: "remove_topic", record: decodeRemoveTopicRecord(r, version) };
    case RecordType.RegisterBroker:
      return { type: "register_broker", record: decodeRegisterBrokerRecord(r, version) };
    case RecordType.UnregisterBroker:
      return { type: "unregister_broker", record: decodeUnregisterBrokerRecord(r, version) };
    case RecordType.BrokerRegistrationChange:
      return { type: "broker_change", record: decodeBrokerRegistrationChangeRecord(r, version) };
    case RecordType.ProducerIds:
      return { type: "producer_ids", record: decodeProducerIdsRecord(r, version) };
    case RecordType.FeatureLevel:
      return { type: "feature_level", record: decodeFeatureLevelRecord(r, version) };
    default:
      return undefined;
  }
}

/** Options of `MetadataLog.open`. */
export interface MetadataLogOptions {
  /** The file system; the real one by default (tests inject faults). */
  fs?: FileSystem;
  /** Told when the log goes offline because a write or fsync failed. */
  onOffline?: (error: string) => void;
}

/**
 * The metadata log and the image it builds.
 *
 * @example
 * ```ts ignore
 * const metadata = await MetadataLog.open(`${logDir}/__cluster_metadata-0`);
 * await metadata.commit([{ type: "topic", record: { name: "orders", topicId: crypto.randomUUID() } }]);
 * metadata.image.topic("orders");
 * ```
 */
export class MetadataLog {
  #log: PartitionLog;
  /** The end of what the image holds: records past it were written but never committed (their fsync failed). */
  #appliedEnd: number;

  private constructor(
    log: PartitionLog,
    readonly image: MetadataImage,
    private readonly dir: string,
    private readonly options: MetadataLogOptions,
  ) {
    this.#log = log;
    this.#appliedEnd = log.logEndOffset;
  }

  /** Opens (recovering if needed) the log and replays it into a fresh image. */
  static async open(dir: string, options: MetadataLogOptions = {}): Promise<MetadataLog> {
    const log = await MetadataLog.#openLog(dir, options);
    const image = new MetadataImage();
    replayRecords(log, (record) => {
      const entry = record.value && decodeMetadataRecord(record.value);
      if (entry) image.apply(entry);
    });
    return new MetadataLog(log, image, dir, options);
  }

  static #openLog(dir: string, options: MetadataLogOptions): Promise<PartitionLog> {
    return PartitionLog.open(dir, {
      config: { "segment.bytes": 64 * 1024 * 1024 },
      fs: options.fs,
      onEvent: (event) => {
        if (event.event === "log_offline") options.onOffline?.(String(event.error));
      },
    });
  }

  /** The partition log under the image. */
  get log(): PartitionLog {
    return this.#log;
  }

  /** Appends the records as one batch, waits until it is durable, then applies them to the image. */
  async commit(entries: MetadataRecord[]): Promise<void> {
    if (entries.length === 0) return;
    const now = Date.now();
    const batch = buildRecordBatch(
      entries.map((entry) => ({ timestamp: now, key: null, value: encodeMetadataRecord(entry) })),
    );
    await this.appendDurably(batch);
    for (const entry of entries) this.image.apply(entry);
  }

  /**
   * Appends one batch and waits until it is durable. Throws LogError `storage` when the log is offline or the
   * write or fsync fails (the log then goes offline).
   */
  async appendDurably(batch: Uint8Array): Promise<void> {
    const { lastOffset } = this.#log.append(batch);
    await this.#log.waitForDurable(lastOffset + 1);
    this.#appliedEnd = lastOffset + 1;
  }

  /**
   * When the log is offline, reopens it (recovery cuts a half-written batch) and cuts what was written but
   * never committed, so that the log holds exactly what the image holds. Returns true when it reopened.
   */
  async reopenIfOffline(): Promise<boolean> {
    if (!this.#log.isOffline) return false;
    await this.#log.close().catch(() => {});
    const log = await MetadataLog.#openLog(this.dir, this.options);
    try {
      if (log.logEndOffset > this.#appliedEnd) await log.truncateTo(this.#appliedEnd);
    } catch (e) {
      await log.close().catch(() => {}); // the next probe opens it again
      throw e;
    }
    this.#log = log;
    return true;
  }

  /** Flushes and closes the log. */
  close(): Promise<void> {
    return this.#log.close();
  }
}
