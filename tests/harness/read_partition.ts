/**
 * Reads a whole partition with Samsa's own codec, independently of the client under test: what a test then
 * asserts is what the broker holds, not what a client believes it wrote.
 *
 * @module
 */
import { ApiKey, defaultFetchRequest, defaultFetchRequestFetchPartition } from "../../protocol/generated/mod.ts";
import { ZERO_UUID } from "../../protocol/messages.ts";
import { decodeRecordBatch, iterateBatches } from "../../protocol/record_batch.ts";
import { RawClient } from "../diff/raw_client.ts";

/** One record as stored, key and value as UTF-8 text. */
export interface StoredRecord {
  offset: bigint;
  key: string | null;
  value: string | null;
  producerId: bigint;
  producerEpoch: number;
  /** The record's sequence number: its batch's base sequence plus its offset delta (-1 without idempotence). */
  sequence: number;
}

const FETCH_VERSION = 12; // the last version that names topics; Samsa and Kafka both serve it

/**
 * Every record of `topic`/`partition` from the log start to the high watermark, in offset order.
 *
 * @example
 * ```ts ignore
 * const records = await readPartition(broker.bootstrap, "orders");
 * records.map((r) => r.value); // ["v-0", "v-1", ...]
 * ```
 */
export async function readPartition(bootstrap: string, topic: string, partition = 0): Promise<StoredRecord[]> {
  const client = await RawClient.connect(bootstrap, "samsa-test-reader");
  const decoder = new TextDecoder();
  const text = (bytes: Uint8Array | null) => bytes === null ? null : decoder.decode(bytes);
  const records: StoredRecord[] = [];
  try {
    let offset = 0n;
    for (let round = 0; round < 10_000; round++) {
      const answer = await client.request(ApiKey.Fetch, FETCH_VERSION, {
        ...defaultFetchRequest(),
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 8 * 1024 * 1024,
        topics: [{
          topic,
          topicId: ZERO_UUID,
          partitions: [{ ...defaultFetchRequestFetchPartition(), partition, fetchOffset: offset }],
        }],
      });
      const p = answer.responses[0]?.partitions[0];
      if (p === undefined) throw new Error(`Fetch ${topic}/${partition}: no partition in the answer`);
      if (p.errorCode !== 0) throw new Error(`Fetch ${topic}/${partition} at ${offset}: error ${p.errorCode}`);
      const bytes = p.records ?? new Uint8Array(0);
      for (const slot of iterateBatches(bytes)) {
        const batch = decodeRecordBatch(bytes.subarray(slot.pos, slot.pos + slot.size));
        const { header } = batch;
        for (const r of batch.records) {
          const recordOffset = header.baseOffset + BigInt(r.offsetDelta);
          if (recordOffset < offset) continue; // a batch served whole from before the fetch offset
          records.push({
            offset: recordOffset,
            key: text(r.key),
            value: text(r.value),
            producerId: header.producerId,
            producerEpoch: header.producerEpoch,
            sequence: header.baseSequence < 0 ? -1 : header.baseSequence + r.offsetDelta,
          });
        }
        offset = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
      }
      if (offset >= p.highWatermark) return records;
    }
    throw new Error(`Fetch ${topic}/${partition}: did not reach the high watermark`);
  } finally {
    await client.close();
  }
}
