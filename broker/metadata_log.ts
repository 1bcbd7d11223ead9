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
  decodeConfigRecord,
  decodePartitionRecord,
  decodeRemoveTopicRecord,
  decodeTopicRecord,
  encodeConfigRecord,
  encodePartitionRecord,
  encodeRemoveTopicRecord,
  encodeTopicRecord,
  type PartitionRecord,
  type RemoveTopicRecord,
  type TopicRecord,
} from "../protocol/generated/mod.ts";
import { MetadataImage, type MetadataRecord } from "./metadata_image.ts";

/** Kafka's metadata record types (the `apiKey` of each metadata record schema). */
const RecordType = { Topic: 2, Partition: 3, Config: 4, RemoveTopic: 9 } as const;
const FRAME_VERSION = 1;

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
        removingReplicas: [],
        addingReplicas: [],
        leaderRecoveryState: 0,
        directories: [],
        eligibleLeaderReplicas: null,
        lastKnownElr: null,
      };
      return frame(RecordType.Partition, 0, (w) => encodePartitionRecord(w, record, 0));
    }
    case "config":
      return frame(RecordType.Config, 0, (w) => encodeConfigRecord(w, entry.record as ConfigRecord, 0));
    case "remove_topic":
      return frame(RecordType.RemoveTopic, 0, (w) => encodeRemoveTopicRecord(w, entry.record as RemoveTopicRecord, 0));
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
    case RecordType.Config:
      return { type: "config", record: decodeConfigRecord(r, version) };
    case RecordType.RemoveTopic:
      return { type: "remove_topic", record: decodeRemoveTopicRecord(r, version) };
    default:
      return undefined;
  }
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
  private constructor(readonly log: PartitionLog, readonly image: MetadataImage) {}

  /** Opens (recovering if needed) the log and replays it into a fresh image; `fs` is the real one by default. */
  static async open(dir: string, options: { fs?: FileSystem } = {}): Promise<MetadataLog> {
    const log = await PartitionLog.open(dir, { config: { "segment.bytes": 64 * 1024 * 1024 }, fs: options.fs });
    const image = new MetadataImage();
    replayRecords(log, (record) => {
      const entry = record.value && decodeMetadataRecord(record.value);
      if (entry) image.apply(entry);
    });
    return new MetadataLog(log, image);
  }

  /** Appends the records as one batch, waits until it is durable, then applies them to the image. */
  async commit(entries: MetadataRecord[]): Promise<void> {
    if (entries.length === 0) return;
    const now = Date.now();
    const batch = buildRecordBatch(
      entries.map((entry) => ({ timestamp: now, key: null, value: encodeMetadataRecord(entry) })),
    );
    const { lastOffset } = this.log.append(batch);
    await this.log.waitForDurable(lastOffset + 1);
    for (const entry of entries) this.image.apply(entry);
  }

  /** Flushes and closes the log. */
  close(): Promise<void> {
    return this.log.close();
  }
}
