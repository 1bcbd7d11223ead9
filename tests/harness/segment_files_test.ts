/**
 * `readSegmentBatches` reads what a data folder holds: batches across segments in offset order, a torn tail left
 * out, equal bytes giving equal digests, and no log at all told apart from an empty one.
 */
import assert from "node:assert/strict";
import { buildRecordBatch } from "../../protocol/record_batch.ts";
import { stampBaseOffset, writeBatchCrc } from "../../protocol/record_batch_header.ts";
import { segmentFileName } from "../../log/segment.ts";
import { readSegmentBatches } from "./segment_files.ts";

function batchAt(baseOffset: number, values: string[]): Uint8Array {
  const bytes = buildRecordBatch(values.map((v) => ({ timestamp: 0, key: null, value: new TextEncoder().encode(v) })));
  stampBaseOffset(bytes, BigInt(baseOffset));
  writeBatchCrc(bytes);
  return bytes;
}

Deno.test("segment batches are read in offset order across segments, without a torn tail", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "samsa-segment-files-" });
  try {
    await Deno.mkdir(`${dataDir}/orders-0`);
    await Deno.mkdir(`${dataDir}/empty-0`);
    const [a, b, c] = [batchAt(0, ["0", "1"]), batchAt(2, ["2"]), batchAt(3, ["3", "4", "5"])];
    await Deno.writeFile(
      `${dataDir}/orders-0/${segmentFileName(3, "log")}`,
      new Uint8Array([...c, ...c.subarray(0, 20)]),
    );
    await Deno.writeFile(`${dataDir}/orders-0/${segmentFileName(0, "log")}`, new Uint8Array([...a, ...b]));
    await Deno.writeFile(`${dataDir}/orders-0/${segmentFileName(0, "index")}`, new Uint8Array(8));

    const batches = readSegmentBatches(dataDir, "orders", 0)!;
    assert.deepEqual(batches.map((x) => [x.baseOffset, x.lastOffset]), [[0, 1], [2, 2], [3, 5]]);
    assert.equal(new Set(batches.map((x) => x.digest)).size, 3);
    assert.equal(readSegmentBatches(dataDir, "orders", 0)![2].digest, batches[2].digest);
    assert.deepEqual(readSegmentBatches(dataDir, "empty", 0), []);
    assert.equal(readSegmentBatches(dataDir, "orders", 1), null);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
