/**
 * The records a consumer group (KIP-848) writes to `__consumer_offsets`, as Kafka writes them: the key is an
 * int16 record type (Kafka's key "version": 3 group metadata, 4 partition metadata, 5 member metadata, 6 target
 * assignment metadata, 7 target assignment member, 8 current member assignment) followed by the key struct; the
 * value is an int16 value version (0) followed by the flexible value struct; a null value is a tombstone.
 *
 * @module
 */
import { Reader } from "../../protocol/wire/reader.ts";
import { Writer } from "../../protocol/wire/writer.ts";
import {
  type ConsumerGroupCurrentMemberAssignmentValue,
  decodeConsumerGroupCurrentMemberAssignmentValue,
  encodeConsumerGroupCurrentMemberAssignmentValue,
} from "../../protocol/generated/records/group_coordinator/consumer_group_current_member_assignment_value.ts";
import {
  decodeConsumerGroupCurrentMemberAssignmentKey,
  encodeConsumerGroupCurrentMemberAssignmentKey,
} from "../../protocol/generated/records/group_coordinator/consumer_group_current_member_assignment_key.ts";
import {
  decodeConsumerGroupMemberMetadataKey,
  encodeConsumerGroupMemberMetadataKey,
} from "../../protocol/generated/records/group_coordinator/consumer_group_member_metadata_key.ts";
import {
  type ConsumerGroupMemberMetadataValue,
  decodeConsumerGroupMemberMetadataValue,
  encodeConsumerGroupMemberMetadataValue,
} from "../../protocol/generated/records/group_coordinator/consumer_group_member_metadata_value.ts";
import {
  decodeConsumerGroupMetadataKey,
  encodeConsumerGroupMetadataKey,
} from "../../protocol/generated/records/group_coordinator/consumer_group_metadata_key.ts";
import {
  type ConsumerGroupMetadataValue,
  decodeConsumerGroupMetadataValue,
  encodeConsumerGroupMetadataValue,
} from "../../protocol/generated/records/group_coordinator/consumer_group_metadata_value.ts";
import {
  decodeConsumerGroupPartitionMetadataKey,
  encodeConsumerGroupPartitionMetadataKey,
} from "../../protocol/generated/records/group_coordinator/consumer_group_partition_metadata_key.ts";
import {
  type ConsumerGroupPartitionMetadataValue,
  decodeConsumerGroupPartitionMetadataValue,
  encodeConsumerGroupPartitionMetadataValue,
} from "../../protocol/generated/records/group_coordinator/consumer_group_partition_metadata_value.ts";
import {
  decodeConsumerGroupTargetAssignmentMemberKey,
  encodeConsumerGroupTargetAssignmentMemberKey,
} from "../../protocol/generated/records/group_coordinator/consumer_group_target_assignment_member_key.ts";
import {
  type ConsumerGroupTargetAssignmentMemberValue,
  decodeConsumerGroupTargetAssignmentMemberValue,
  encodeConsumerGroupTargetAssignmentMemberValue,
} from "../../protocol/generated/records/group_coordinator/consumer_group_target_assignment_member_value.ts";
import {
  decodeConsumerGroupTargetAssignmentMetadataKey,
  encodeConsumerGroupTargetAssignmentMetadataKey,
} from "../../protocol/generated/records/group_coordinator/consumer_group_target_assignment_metadata_key.ts";
import {
  type ConsumerGroupTargetAssignmentMetadataValue,
  decodeConsumerGroupTargetAssignmentMetadataValue,
  encodeConsumerGroupTargetAssignmentMetadataValue,
} from "../../protocol/generated/records/group_coordinator/consumer_group_target_assignment_metadata_value.ts";

/** A record of `__consumer_offsets` as bytes: key and value (null for a tombstone). */
export interface CoordinatorRecord {
  key: Uint8Array;
  value: Uint8Array | null;
}

/**
 * Where a coordinator's records go: appends them to the `__consumer_offsets` partition of `groupId` and resolves
 * once they are durable, with a Kafka error code (NONE on success). GroupCoordinator.writeRecords is one.
 */
export interface CoordinatorRecordSink {
  write(groupId: string, records: CoordinatorRecord[]): Promise<number>;
}

/** Kafka's record types (the key version) of the consumer group records. */
export const ConsumerGroupRecordType = {
  GroupMetadata: 3,
  PartitionMetadata: 4,
  MemberMetadata: 5,
  TargetAssignmentMetadata: 6,
  TargetAssignmentMember: 7,
  CurrentMemberAssignment: 8,
} as const;

/** A consumer group record, decoded; `value` null is a tombstone. */
export type ConsumerGroupRecord =
  | { type: "group_metadata"; groupId: string; value: ConsumerGroupMetadataValue | null }
  | { type: "partition_metadata"; groupId: string; value: ConsumerGroupPartitionMetadataValue | null }
  | { type: "member_metadata"; groupId: string; memberId: string; value: ConsumerGroupMemberMetadataValue | null }
  | { type: "target_assignment_metadata"; groupId: string; value: ConsumerGroupTargetAssignmentMetadataValue | null }
  | {
    type: "target_assignment_member";
    groupId: string;
    memberId: string;
    value: ConsumerGroupTargetAssignmentMemberValue | null;
  }
  | {
    type: "current_member_assignment";
    groupId: string;
    memberId: string;
    value: ConsumerGroupCurrentMemberAssignmentValue | null;
  };

function bytes(version: number, write: (w: Writer) => void): Uint8Array {
  const w = new Writer(64);
  w.int16(version);
  write(w);
  return w.finish();
}

/**
 * Encodes a consumer group record as Kafka lays it out in `__consumer_offsets`.
 *
 * @example
 * ```ts
 * import { encodeConsumerGroupRecord } from "./consumer_group_records.ts";
 * const r = encodeConsumerGroupRecord({ type: "group_metadata", groupId: "g", value: { epoch: 1 } });
 * r.key; // Uint8Array [0, 3, 0, 1, 103]
 * ```
 */
export function encodeConsumerGroupRecord(record: ConsumerGroupRecord): CoordinatorRecord {
  const T = ConsumerGroupRecordType;
  switch (record.type) {
    case "group_metadata": {
      const v = record.value;
      return {
        key: bytes(T.GroupMetadata, (w) => encodeConsumerGroupMetadataKey(w, record, T.GroupMetadata)),
        value: v === null ? null : bytes(0, (w) => encodeConsumerGroupMetadataValue(w, v, 0)),
      };
    }
    case "partition_metadata": {
      const v = record.value;
      return {
        key: bytes(T.PartitionMetadata, (w) => encodeConsumerGroupPartitionMetadataKey(w, record, T.PartitionMetadata)),
        value: v === null ? null : bytes(0, (w) => encodeConsumerGroupPartitionMetadataValue(w, v, 0)),
      };
    }
    case "member_metadata": {
      const v = record.value;
      return {
        key: bytes(T.MemberMetadata, (w) => encodeConsumerGroupMemberMetadataKey(w, record, T.MemberMetadata)),
        value: v === null ? null : bytes(0, (w) => encodeConsumerGroupMemberMetadataValue(w, v, 0)),
      };
    }
    case "target_assignment_metadata": {
      const v = record.value;
      return {
        key: bytes(
          T.TargetAssignmentMetadata,
          (w) => encodeConsumerGroupTargetAssignmentMetadataKey(w, record, T.TargetAssignmentMetadata),
        ),
        value: v === null ? null : bytes(0, (w) => encodeConsumerGroupTargetAssignmentMetadataValue(w, v, 0)),
      };
    }
    case "target_assignment_member": {
      const v = record.value;
      return {
        key: bytes(
          T.TargetAssignmentMember,
          (w) => encodeConsumerGroupTargetAssignmentMemberKey(w, record, T.TargetAssignmentMember),
        ),
        value: v === null ? null : bytes(0, (w) => encodeConsumerGroupTargetAssignmentMemberValue(w, v, 0)),
      };
    }
    case "current_member_assignment": {
      const v = record.value;
      return {
        key: bytes(
          T.CurrentMemberAssignment,
          (w) => encodeConsumerGroupCurrentMemberAssignmentKey(w, record, T.CurrentMemberAssignment),
        ),
        value: v === null ? null : bytes(0, (w) => encodeConsumerGroupCurrentMemberAssignmentValue(w, v, 0)),
      };
    }
  }
}

/**
 * Decodes a record of `__consumer_offsets` if it is a consumer group record; undefined for other record types
 * (offset commits, classic groups, share groups), which belong to other coordinators.
 *
 * @example
 * ```ts
 * import { decodeConsumerGroupRecord, encodeConsumerGroupRecord } from "./consumer_group_records.ts";
 * const r = encodeConsumerGroupRecord({ type: "group_metadata", groupId: "g", value: { epoch: 1 } });
 * decodeConsumerGroupRecord(r)?.type; // "group_metadata"
 * ```
 */
export function decodeConsumerGroupRecord(record: CoordinatorRecord): ConsumerGroupRecord | undefined {
  if (record.key.length < 2) return undefined;
  const k = new Reader(record.key);
  const type = k.int16();
  const T = ConsumerGroupRecordType;
  const value = <V>(decode: (r: Reader, version: number) => V): V | null => {
    if (record.value === null) return null;
    const r = new Reader(record.value);
    return decode(r, r.int16());
  };
  switch (type) {
    case T.GroupMetadata:
      return {
        type: "group_metadata",
        ...decodeConsumerGroupMetadataKey(k, type),
        value: value(decodeConsumerGroupMetadataValue),
      };
    case T.PartitionMetadata:
      return {
        type: "partition_metadata",
        ...decodeConsumerGroupPartitionMetadataKey(k, type),
        value: value(decodeConsumerGroupPartitionMetadataValue),
      };
    case T.MemberMetadata:
      return {
        type: "member_metadata",
        ...decodeConsumerGroupMemberMetadataKey(k, type),
        value: value(decodeConsumerGroupMemberMetadataValue),
      };
    case T.TargetAssignmentMetadata:
      return {
        type: "target_assignment_metadata",
        ...decodeConsumerGroupTargetAssignmentMetadataKey(k, type),
        value: value(decodeConsumerGroupTargetAssignmentMetadataValue),
      };
    case T.TargetAssignmentMember:
      return {
        type: "target_assignment_member",
        ...decodeConsumerGroupTargetAssignmentMemberKey(k, type),
        value: value(decodeConsumerGroupTargetAssignmentMemberValue),
      };
    case T.CurrentMemberAssignment:
      return {
        type: "current_member_assignment",
        ...decodeConsumerGroupCurrentMemberAssignmentKey(k, type),
        value: value(decodeConsumerGroupCurrentMemberAssignmentValue),
      };
    default:
      return undefined;
  }
}
