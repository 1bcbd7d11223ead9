import assert from "node:assert/strict";
import { MetadataImage } from "../../../../broker/metadata_image.ts";
import {
  decodeMetadataBatches,
  encodeMetadataBatch,
  imageRecords,
} from "../../../../broker/metadata/image_snapshot.ts";

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
