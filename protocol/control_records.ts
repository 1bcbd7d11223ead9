/**
 * Control records: the transaction markers (COMMIT / ABORT) a transaction coordinator writes into each
 * partition a transaction touched. A control batch (attributes: control + transactional) holds exactly one
 * control record, whose key is `{version: int16, type: int16}` and whose value, for markers, is the
 * `EndTxnMarker` `{version: int16, coordinatorEpoch: int32}` (Kafka's docs/implementation.html, 5.3.1.1).
 * Consumers use markers to drop aborted records and never hand control records to applications.
 *
 * @module
 */
import { ProtocolError } from "./protocol_error.ts";
import { buildRecordBatch, type DecodeOptions, decodeRecordBatch } from "./record_batch.ts";
import { Attributes } from "./record_batch_header.ts";

/** The type field of a control record key. Kafka defines more (KRaft's), this module builds only markers. */
export enum ControlRecordType {
  /** The transaction was aborted: consumers reading committed data drop its records. */
  Abort = 0,
  /** The transaction was committed. */
  Commit = 1,
}

/** A decoded control record key. `type` is left as a number: unknown types are not errors here. */
export interface ControlRecordKey {
  /** Key schema version (0 today). */
  version: number;
  /** A `ControlRecordType`, or a type this module does not know. */
  type: number;
}

/** A decoded EndTxnMarker value. */
export interface EndTxnMarker {
  /** Value schema version (0 today). */
  version: number;
  /** The epoch of the transaction coordinator that wrote the marker, to fence stale coordinators. */
  coordinatorEpoch: number;
}

/** Everything needed to write a transaction marker batch. */
export interface MarkerBatchFields {
  /** COMMIT or ABORT. */
  type: ControlRecordType;
  /** The transactional producer whose transaction ends. */
  producerId: bigint;
  /** That producer's epoch. */
  producerEpoch: number;
  /** The epoch of the coordinator writing the marker. */
  coordinatorEpoch: number;
  /** When the coordinator wrote the marker, in milliseconds. */
  timestamp: number;
  /** Default 0n; the broker stamps the real one on append. */
  baseOffset?: bigint;
  /** Default -1. */
  partitionLeaderEpoch?: number;
}

/** A transaction marker read back from a control batch. */
export interface TransactionMarker {
  /** `ControlRecordType.Commit` or `ControlRecordType.Abort`. */
  type: number;
  /** The epoch of the coordinator that wrote the marker. */
  coordinatorEpoch: number;
  /** From the batch header: the producer whose transaction ended. */
  producerId: bigint;
  /** From the batch header. */
  producerEpoch: number;
}

const CONTROL_KEY_VERSION = 0;
const END_TXN_MARKER_VERSION = 0;

/**
 * Encodes a control record key (version 0).
 *
 * @example
 * ```ts
 * import { ControlRecordType, encodeControlRecordKey } from "./control_records.ts";
 * encodeControlRecordKey(ControlRecordType.Commit); // Uint8Array [0, 0, 0, 1]
 * ```
 */
export function encodeControlRecordKey(type: number): Uint8Array {
  const out = new Uint8Array(4);
  const view = new DataView(out.buffer);
  view.setInt16(0, CONTROL_KEY_VERSION);
  view.setInt16(2, type);
  return out;
}

/**
 * Decodes a control record key. Like Kafka, it reads `version` and `type` from any key version, since later
 * versions may only append fields.
 *
 * @example
 * ```ts
 * import { decodeControlRecordKey } from "./control_records.ts";
 * decodeControlRecordKey(new Uint8Array([0, 0, 0, 0])).type; // 0 (ABORT)
 * ```
 */
export function decodeControlRecordKey(bytes: Uint8Array): ControlRecordKey {
  if (bytes.length < 4) throw new ProtocolError("truncated", `a control record key needs 4 bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getInt16(0);
  if (version < 0) throw new ProtocolError("invalid_value", `control record key version ${version} is negative`);
  return { version, type: view.getInt16(2) };
}

/**
 * Encodes an EndTxnMarker value (version 0).
 *
 * @example
 * ```ts
 * import { encodeEndTxnMarker } from "./control_records.ts";
 * encodeEndTxnMarker(5); // Uint8Array [0, 0, 0, 0, 0, 5]
 * ```
 */
export function encodeEndTxnMarker(coordinatorEpoch: number): Uint8Array {
  const out = new Uint8Array(6);
  const view = new DataView(out.buffer);
  view.setInt16(0, END_TXN_MARKER_VERSION);
  view.setInt32(2, coordinatorEpoch);
  return out;
}

/**
 * Decodes an EndTxnMarker value, reading the version-0 fields of any version.
 *
 * @example
 * ```ts
 * import { decodeEndTxnMarker } from "./control_records.ts";
 * decodeEndTxnMarker(new Uint8Array([0, 0, 0, 0, 0, 5])).coordinatorEpoch; // 5
 * ```
 */
export function decodeEndTxnMarker(bytes: Uint8Array): EndTxnMarker {
  if (bytes.length < 6) throw new ProtocolError("truncated", `an EndTxnMarker needs 6 bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getInt16(0);
  if (version < 0) throw new ProtocolError("invalid_value", `EndTxnMarker version ${version} is negative`);
  return { version, coordinatorEpoch: view.getInt32(2) };
}

/**
 * Builds the control batch holding one COMMIT or ABORT marker for a producer's transaction.
 *
 * @example
 * ```ts
 * import { buildMarkerBatch, ControlRecordType, readTransactionMarker } from "./control_records.ts";
 * const batch = buildMarkerBatch({
 *   type: ControlRecordType.Commit, producerId: 7n, producerEpoch: 0, coordinatorEpoch: 1, timestamp: 0,
 * });
 * readTransactionMarker(batch)?.type; // 1 (COMMIT)
 * ```
 */
export function buildMarkerBatch(fields: MarkerBatchFields): Uint8Array {
  if (fields.type !== ControlRecordType.Abort && fields.type !== ControlRecordType.Commit) {
    throw new ProtocolError("invalid_value", `control record type ${fields.type} is not a transaction marker`);
  }
  return buildRecordBatch(
    [{
      timestamp: fields.timestamp,
      key: encodeControlRecordKey(fields.type),
      value: encodeEndTxnMarker(fields.coordinatorEpoch),
    }],
    {
      baseOffset: fields.baseOffset,
      partitionLeaderEpoch: fields.partitionLeaderEpoch,
      producerId: fields.producerId,
      producerEpoch: fields.producerEpoch,
      baseSequence: -1,
      transactional: true,
      control: true,
    },
  );
}

/**
 * True when a batch's attributes mark it as a control batch.
 *
 * @example
 * ```ts
 * import { isControlBatch } from "./control_records.ts";
 * isControlBatch(0x30); // true: control (0x20) + transactional (0x10)
 * ```
 */
export function isControlBatch(attributes: number): boolean {
  return (attributes & Attributes.control) !== 0;
}

/**
 * Reads the transaction marker of a control batch; returns null for a batch that is not a control batch or
 * whose control record is not a COMMIT/ABORT marker (or that compaction emptied). Throws `ProtocolError` for a malformed batch.
 *
 * @example
 * ```ts
 * import { buildRecordBatch } from "./record_batch.ts";
 * import { readTransactionMarker } from "./control_records.ts";
 * readTransactionMarker(buildRecordBatch([{ timestamp: 0, key: null, value: null }])); // null
 * ```
 */
export function readTransactionMarker(batch: Uint8Array, options: DecodeOptions = {}): TransactionMarker | null {
  const decoded = decodeRecordBatch(batch, options);
  // Compaction can leave a control batch empty (kept for the producer's sequence state): no marker then.
  if (!decoded.attributes.control || decoded.records.length === 0) return null;
  if (decoded.records.length !== 1) {
    throw new ProtocolError("invalid_value", `a control batch holds ${decoded.records.length} records, not 1`);
  }
  const record = decoded.records[0];
  if (record.key === null) throw new ProtocolError("invalid_value", "control record has a null key");
  const key = decodeControlRecordKey(record.key);
  if (key.type !== ControlRecordType.Abort && key.type !== ControlRecordType.Commit) return null;
  if (record.value === null) throw new ProtocolError("invalid_value", "transaction marker has a null value");
  return {
    type: key.type,
    coordinatorEpoch: decodeEndTxnMarker(record.value).coordinatorEpoch,
    producerId: decoded.header.producerId,
    producerEpoch: decoded.header.producerEpoch,
  };
}
