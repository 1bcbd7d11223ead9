/**
 * The records of `__consumer_offsets`, as Kafka writes them: the key is an int16 version followed by the key
 * struct (version 0-1: an offset commit; 2: group metadata; 3 and up: KIP-848 and share-group records), the value
 * an int16 version followed by the value struct, and a null value is a tombstone (the key's record is deleted).
 *
 * Also Kafka's choice of partition for a group: `Utils.abs(groupId.hashCode()) % partitions`, with Java's
 * String.hashCode over UTF-16 code units.
 *
 * @module
 */
import { Reader, Writer, ZERO_UUID } from "../../protocol/messages.ts";
import { uuidToBytes } from "../../protocol/wire/uuid.ts";
import {
  decodeGroupMetadataKey,
  encodeGroupMetadataKey,
} from "../../protocol/generated/records/group_coordinator/group_metadata_key.ts";
import {
  decodeGroupMetadataValue,
  encodeGroupMetadataValue,
  type GroupMetadataValue,
} from "../../protocol/generated/records/group_coordinator/group_metadata_value.ts";
import {
  decodeOffsetCommitKey,
  encodeOffsetCommitKey,
} from "../../protocol/generated/records/group_coordinator/offset_commit_key.ts";
import {
  decodeOffsetCommitValue,
  encodeOffsetCommitValue,
  type OffsetCommitValue,
} from "../../protocol/generated/records/group_coordinator/offset_commit_value.ts";

/** The internal topic that stores groups and their committed offsets. */
export const OFFSETS_TOPIC = "__consumer_offsets";

/** Key version of an offset commit (Kafka writes 1). */
export const OFFSET_COMMIT_KEY_VERSION = 1;
/** Key version of group metadata. */
export const GROUP_METADATA_KEY_VERSION = 2;
/** Value version of an offset commit without expire timestamp (Kafka 4.3 writes 4; 1 when it has one). */
export const OFFSET_COMMIT_VALUE_VERSION = 4;
/** The tag of OffsetCommitValue v4's topic id (Kafka 4.1+). */
export const OFFSET_COMMIT_TOPIC_ID_TAG = 0;
/** Value version of group metadata (Kafka 4 writes 3). */
export const GROUP_METADATA_VALUE_VERSION = 3;

/** A record as stored: key and value bytes (value null for a tombstone). */
export interface StoredRecord {
  key: Uint8Array;
  value: Uint8Array | null;
}

/** A decoded `__consumer_offsets` record. */
export type CoordinatorRecord =
  | { type: "offset"; group: string; topic: string; partition: number; value: OffsetCommitValue | null }
  | { type: "group"; group: string; value: GroupMetadataValue | null }
  /** A record this coordinator does not interpret (KIP-848, share groups): for whoever registered for it. */
  | { type: "other"; keyVersion: number; key: Uint8Array; value: Uint8Array | null };

/**
 * Java's `String.hashCode`.
 *
 * @example
 * ```ts
 * import { javaStringHashCode } from "./coordinator_records.ts";
 * javaStringHashCode("ab"); // 3105
 * ```
 */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * The `__consumer_offsets` partition of a group, as Kafka computes it.
 *
 * @example
 * ```ts
 * import { partitionForGroup } from "./coordinator_records.ts";
 * partitionForGroup("simple", 50); // 26
 * ```
 */
export function partitionForGroup(groupId: string, partitions: number): number {
  // Kafka's Utils.abs: the absolute value, with Integer.MIN_VALUE mapped to 0 (not a bit mask).
  const hash = javaStringHashCode(groupId);
  return (hash === -2147483648 ? 0 : Math.abs(hash)) % partitions;
}

function prefixed(version: number, encode: (w: Writer) => void): Uint8Array {
  const w = new Writer();
  w.int16(version);
  encode(w);
  return w.finish();
}

/**
 * The record of a committed offset, or its tombstone (`value` null). Kafka 4.3 writes value version 4 with the
 * topic id as tagged field 0 (newer than the schema we generate from, so it travels as a raw tagged field), and
 * version 1 when the commit has an expire timestamp.
 */
export function offsetCommitRecord(
  group: string,
  topic: string,
  partition: number,
  value: OffsetCommitValue | null,
  topicId?: string,
): StoredRecord {
  const key = prefixed(OFFSET_COMMIT_KEY_VERSION, (w) => encodeOffsetCommitKey(w, { group, topic, partition }, 1));
  if (value === null) return { key, value: null };
  if (value.expireTimestamp >= 0n) return { key, value: prefixed(1, (w) => encodeOffsetCommitValue(w, value, 1)) };
  const tagged = [];
  if (topicId !== undefined && topicId !== ZERO_UUID) {
    const data = new Uint8Array(16);
    uuidToBytes(topicId, data, 0);
    tagged.push({ tag: OFFSET_COMMIT_TOPIC_ID_TAG, data });
  }
  const v4 = { ...value, unknownTaggedFields: tagged };
  return {
    key,
    value: prefixed(OFFSET_COMMIT_VALUE_VERSION, (w) => encodeOffsetCommitValue(w, v4, OFFSET_COMMIT_VALUE_VERSION)),
  };
}

/** The record of a group's metadata, or its tombstone (`value` null). */
export function groupMetadataRecord(group: string, value: GroupMetadataValue | null): StoredRecord {
  const key = prefixed(GROUP_METADATA_KEY_VERSION, (w) => encodeGroupMetadataKey(w, { group }, 2));
  if (value === null) return { key, value: null };
  return {
    key,
    value: prefixed(
      GROUP_METADATA_VALUE_VERSION,
      (w) => encodeGroupMetadataValue(w, value, GROUP_METADATA_VALUE_VERSION),
    ),
  };
}

/** Decodes one stored record; throws ProtocolError on malformed bytes. */
export function decodeCoordinatorRecord(key: Uint8Array, value: Uint8Array | null): CoordinatorRecord {
  const kr = new Reader(key);
  const keyVersion = kr.int16();
  const vr = value === null ? null : new Reader(value);
  const valueVersion = vr?.int16() ?? 0;
  if (keyVersion === 0 || keyVersion === 1) {
    const k = decodeOffsetCommitKey(kr, keyVersion);
    return { type: "offset", ...k, value: vr === null ? null : decodeOffsetCommitValue(vr, valueVersion) };
  }
  if (keyVersion === 2) {
    const k = decodeGroupMetadataKey(kr, keyVersion);
    return { type: "group", group: k.group, value: vr === null ? null : decodeGroupMetadataValue(vr, valueVersion) };
  }
  return { type: "other", keyVersion, key, value };
}
