/**
 * Reads a partition's batches straight from a stopped broker's segment files, without the broker: what the
 * chaos checker compares across replicas is what each disk holds, not what a broker chooses to serve.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { iterateBatches } from "../../protocol/record_batch.ts";
import { parseSegmentLogName } from "../../log/segment.ts";

/** One batch as a segment file holds it. */
export interface SegmentBatch {
  baseOffset: number;
  lastOffset: number;
  /** The leader epoch stamped in the batch. */
  leaderEpoch: number;
  /** SHA-256 of the batch's bytes, in hex. */
  digest: string;
}

/**
 * Every complete batch of `topic`/`partition` in the broker data folder `dataDir` (its `log.dirs`), in segment
 * order; null when the folder holds no log for the partition. A torn tail (a batch cut short by a crash) is
 * left out, as recovery would cut it.
 *
 * @example
 * ```ts ignore
 * await cluster.stop({ keepData: true });
 * const batches = readSegmentBatches(cluster.specs.get(2)!.dataDir, "orders", 0);
 * batches?.map((b) => b.baseOffset); // [0, 10, 25, ...]
 * ```
 */
export function readSegmentBatches(dataDir: string, topic: string, partition: number): SegmentBatch[] | null {
  const dir = `${dataDir}/${topic}-${partition}`;
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const segments = names.map((name) => ({ name, base: parseSegmentLogName(name) }))
    .filter((s): s is { name: string; base: number } => s.base !== null)
    .sort((a, b) => a.base - b.base);
  const out: SegmentBatch[] = [];
  for (const segment of segments) {
    const bytes = Deno.readFileSync(`${dir}/${segment.name}`);
    for (const slot of iterateBatches(bytes)) {
      const baseOffset = Number(slot.header.baseOffset);
      out.push({
        baseOffset,
        lastOffset: baseOffset + slot.header.lastOffsetDelta,
        leaderEpoch: slot.header.partitionLeaderEpoch,
        digest: createHash("sha256").update(bytes.subarray(slot.pos, slot.pos + slot.size)).digest("hex"),
      });
    }
  }
  return out;
}
