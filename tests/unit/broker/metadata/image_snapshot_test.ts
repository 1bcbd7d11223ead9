import assert from "node:assert/strict";
import { MetadataImage } from "../../../../broker/metadata_image.ts";
import {
  decodeMetadataBatches,
  encodeMetadataBatch,
  imageRecords,
} from "../../../../broker/metadata/image_snapshot.ts";
import { encodeMetadataRecord, LEADER_EPOCH_TAG } from "../../../../broker/metadata_log.ts";
import { decodePartitionChangeRecord } from "../../../../protocol/generated/mod.ts";
import { Reader } from "../../../../protocol/wire/reader.ts";

const TOPIC_ID = "3f0b8a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

Deno.test("cluster records round-trip in Kafka's framing and a snapshot rebuilds the same image", () => {
  const image = new MetadataImage();
  const records = [
    { type: "feature_level" as const, record: { name: "metadata.version", featureLevel: 7 } },
    {
      type: "register_broker" as const,
      record: {
        brokerId: 2,
        incarnationId: "7d1c1a52-0d7e-4c4e-9f55-4a6f0c2b8e11",
        brokerEpoch: 5n,
        endPoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9093, securityProtocol: 0 }],
        rack: "r1",
        fenced: true,
        inControlledShutdown: false,
      },
    },
    {
      type: "broker_change" as const,
      record: { brokerId: 2, brokerEpoch: 5n, fenced: -1, inControlledShutdown: 0 },
    },
    { type: "topic" as const, record: { name: "orders", topicId: TOPIC_ID } },
    { type: "config" as const, record: { resourceType: 2, resourceName: "orders", name: "retention.ms", value: "1" } },
    {
      type: "partition" as const,
      record: {
        topicId: TOPIC_ID,
        partitionId: 0,
        replicas: [2],
        isr: [2],
        leader: 2,
        leaderEpoch: 0,
        partitionEpoch: 0,
      },
    },
    { type: "producer_ids" as const, record: { brokerId: 2, brokerEpoch: 5n, nextProducerId: 2000n } },
  ];
  const decoded = decodeMetadataBatches(encodeMetadataBatch(records, 0));
  assert.equal(decoded.length, records.length);
  for (const r of decoded) image.apply(r);
  assert.deepEqual(image.brokers().map((b) => [b.id, b.epoch, b.rack, b.fenced]), [[2, 5n, "r1", false]]);
  assert.equal(image.nextProducerId, 2000n);
  assert.equal(image.topic("orders")?.configs.get("retention.ms"), "1");

  const rebuilt = new MetadataImage();
  for (const r of decodeMetadataBatches(encodeMetadataBatch(imageRecords(image), 0))) rebuilt.apply(r);
  assert.deepEqual(rebuilt.brokers(), image.brokers());
  assert.deepEqual(rebuilt.topics(), image.topics());
  assert.equal(rebuilt.nextProducerId, 2000n);
  assert.deepEqual([...rebuilt.features()], [["metadata.version", 7]]);
});

Deno.test("a registration change for an older broker epoch is ignored", () => {
  const image = new MetadataImage();
  image.apply({
    type: "register_broker",
    record: {
      brokerId: 1,
      incarnationId: "",
      brokerEpoch: 9n,
      endPoints: [],
      rack: null,
      fenced: true,
      inControlledShutdown: false,
    },
  });
  image.apply({ type: "broker_change", record: { brokerId: 1, brokerEpoch: 3n, fenced: -1, inControlledShutdown: 0 } });
  assert.equal(image.broker(1)?.fenced, true);
});

Deno.test("a PartitionChangeRecord's exact leader epoch survives the log's framing and a snapshot", () => {
  const image = new MetadataImage();
  const changes = [
    { type: "topic" as const, record: { name: "orders", topicId: TOPIC_ID } },
    {
      type: "partition" as const,
      record: {
        topicId: TOPIC_ID,
        partitionId: 0,
        replicas: [1, 2, 3],
        isr: [1, 2, 3],
        leader: 1,
        leaderEpoch: 0,
        partitionEpoch: 0,
      },
    },
    // Broker 2 elected in term 7 (several elections went by), with a smaller ISR.
    {
      type: "partition_change" as const,
      record: { topicId: TOPIC_ID, partitionId: 0, leader: 2, isr: [2, 3], leaderEpoch: 7 },
    },
    // Without the Samsa field, Kafka's rule: a new leader is one epoch more.
    { type: "partition_change" as const, record: { topicId: TOPIC_ID, partitionId: 0, leader: 3, isr: null } },
  ];
  const decoded = decodeMetadataBatches(encodeMetadataBatch(changes, 0));
  assert.deepEqual(decoded.slice(2), changes.slice(2));
  for (const r of decoded.slice(0, 3)) image.apply(r);
  const p = () => image.topic("orders")!.partitions[0];
  assert.deepEqual([p().leader, p().leaderEpoch, p().partitionEpoch, p().isr], [2, 7, 1, [2, 3]]);

  const rebuilt = new MetadataImage();
  for (const r of decodeMetadataBatches(encodeMetadataBatch(imageRecords(image), 0))) rebuilt.apply(r);
  assert.deepEqual(rebuilt.topics(), image.topics());

  image.apply(decoded[3]);
  assert.deepEqual([p().leader, p().leaderEpoch, p().partitionEpoch], [3, 8, 2]);
});

Deno.test("the leader epoch travels as a tagged field Kafka's PartitionChangeRecord reader skips", () => {
  const bytes = encodeMetadataRecord({
    type: "partition_change",
    record: { topicId: TOPIC_ID, partitionId: 4, leader: 2, isr: [2], leaderEpoch: 300 },
  });
  const r = new Reader(bytes);
  assert.deepEqual([r.uvarint(), r.uvarint(), r.uvarint()], [1, 5, 0]); // frame version, record type 5, version 0
  // Kafka's schema of the record, as generated: the Samsa field is a tag it does not know, kept aside.
  const kafka = decodePartitionChangeRecord(r, 0);
  assert.deepEqual([kafka.partitionId, kafka.leader, kafka.isr], [4, 2, [2]]);
  assert.deepEqual(kafka.unknownTaggedFields?.map((f) => f.tag), [LEADER_EPOCH_TAG]);
  assert.ok(LEADER_EPOCH_TAG > 8, "far from Kafka's tags of this record (0-8)");
});
