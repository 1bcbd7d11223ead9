/**
 * A metadata snapshot as KIP-630 has it: the image written out as the records that rebuild it (brokers,
 * topics, configs, partitions, producer-id block, features), in the same framing as the log. Pure.
 *
 * @module
 */
import { buildRecordBatch, decodeRecordBatch, iterateBatches } from "../../protocol/record_batch.ts";
import { TOPIC_RESOURCE } from "../metadata_image.ts";
import type { MetadataImage, MetadataRecord } from "../metadata_image.ts";
import { decodeMetadataRecord, encodeMetadataRecord } from "../metadata_log.ts";

/**
 * The records that rebuild `image` from nothing.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "../metadata_image.ts";
 * import { imageRecords } from "./image_snapshot.ts";
 * imageRecords(new MetadataImage()).length; // 0
 * ```
 */
export function imageRecords(image: MetadataImage): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (const [name, featureLevel] of image.features()) {
    out.push({ type: "feature_level", record: { name, featureLevel } });
  }
  for (const b of image.brokers()) {
    out.push({
      type: "register_broker",
      record: {
        brokerId: b.id,
        incarnationId: b.incarnationId,
        brokerEpoch: b.epoch,
        endPoints: b.endpoints,
        rack: b.rack,
        fenced: b.fenced,
        inControlledShutdown: b.inControlledShutdown,
      },
    });
  }
  for (const t of image.topics()) {
    out.push({ type: "topic", record: { name: t.name, topicId: t.topicId } });
    for (const [name, value] of t.configs) {
      out.push({ type: "config", record: { resourceType: TOPIC_RESOURCE, resourceName: t.name, name, value } });
    }
    for (const p of t.partitions) {
      if (!p) continue;
      out.push({
        type: "partition",
        record: {
          topicId: t.topicId,
          partitionId: p.partition,
          replicas: p.replicas,
          isr: p.isr,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
          ...(p.addingReplicas?.length || p.removingReplicas?.length
            ? { addingReplicas: p.addingReplicas ?? [], removingReplicas: p.removingReplicas ?? [] }
            : {}),
        },
      });
    }
  }
  if (image.nextProducerId > 0n) {
    out.push({
      type: "producer_ids",
      record: { brokerId: -1, brokerEpoch: -1n, nextProducerId: image.nextProducerId },
    });
  }
  return out;
}

/** The records as one record batch (the payload of a Raft entry or a snapshot). */
export function encodeMetadataBatch(records: readonly MetadataRecord[], timestamp: number): Uint8Array {
  if (records.length === 0) return new Uint8Array(0);
  return buildRecordBatch(records.map((r) => ({ timestamp, key: null, value: encodeMetadataRecord(r) })));
}

/** The metadata records of the batches in `bytes`; record types the image does not use are skipped. */
export function decodeMetadataBatches(bytes: Uint8Array): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (const slot of iterateBatches(bytes)) {
    const batch = decodeRecordBatch(bytes.subarray(slot.pos, slot.pos + slot.size));
    for (const record of batch.records) {
      const entry = record.value && decodeMetadataRecord(record.value);
      if (entry) out.push(entry);
    }
  }
  return out;
}
