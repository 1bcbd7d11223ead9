/**
 * Gap fillers: how a replicated partition's Raft log stays contiguous once the log cleaner has removed whole
 * batches below the high watermark.
 *
 * Raft needs every index to belong to an entry (`index + count` is the next one), but a compacted Kafka log has
 * offset gaps where the cleaner dropped batches that lost every record. A gap's offsets are committed and their
 * terms are still known: the leader epoch cache is not rewritten by the cleaner, so `epochForOffset(i)` is the term
 * of the entry that held `i`. The leader therefore serves each gap as *filler* entries: entry [from, to) in the term
 * of the removed entries, cut wherever a new epoch started (so a filler never spans two terms, and the follower's
 * epoch cache learns the same epoch starts). A follower stores a filler as one control batch (see
 * `gapFillerBatch`): consumers skip control batches, so a reader sees the same records at the same offsets on every
 * replica; only the bytes differ (the leader holds nothing there, the follower a small control batch).
 *
 * Raft's log matching property survives because what it needs is that equal (index, term) means equal history: a
 * filler carries the term the original entry had at every offset it covers, and it replaces only records the leader
 * has removed for good (committed, superseded by a later record of the same key). A filler has no boundaries of its
 * own: it may start at any offset of a gap. The storage starts one exactly at the offset asked for (the leader sends
 * from a follower's next index, which is a boundary of the follower's log) and ends it at the asked end, so the core
 * never receives an entry that overlaps the follower's log end. A stored filler read back (the follower became
 * leader) is again a removed range, merged with any gap next to it.
 *
 * @module
 */
import { buildRecordBatch } from "../../protocol/record_batch.ts";
import { BatchOffsets, writeBatchCrc } from "../../protocol/record_batch_header.ts";
import { isControlBatch } from "../../protocol/control_records.ts";

/**
 * The control record type of a gap filler. Not one of Kafka's (0-6 as of Kafka 4.4): clients skip every control
 * batch whatever its type, and the broker recognizes its own fillers by it.
 */
export const GAP_FILLER_CONTROL_TYPE = 0x5367;

/** Offsets one filler covers at most (a batch's `lastOffsetDelta` is an int32; kept well inside a segment's range). */
export const MAX_GAP_FILLER_OFFSETS = 1 << 30;

/** A filler entry: offsets [index, index + count) in `term`. */
export interface GapFiller {
  index: number;
  count: number;
  term: number;
}

/**
 * The fillers covering the removed offsets [from, to): one per epoch the range crosses (and per
 * `MAX_GAP_FILLER_OFFSETS`), each in the epoch of its offsets. `epochAt(offset)` gives the epoch holding `offset`
 * (-1 when unknown, taken as 0) and where that epoch ends (the next epoch's start).
 *
 * @example
 * ```ts
 * import { gapFillers } from "./compacted_gap.ts";
 * // epoch 3 holds offsets below 10, epoch 4 the rest
 * const epochAt = (o: number) => o < 10 ? { epoch: 3, end: 10 } : { epoch: 4, end: Infinity };
 * gapFillers(5, 15, epochAt); // [{ index: 5, count: 5, term: 3 }, { index: 10, count: 5, term: 4 }]
 * ```
 */
export function gapFillers(
  from: number,
  to: number,
  epochAt: (offset: number) => { epoch: number; end: number },
): GapFiller[] {
  const out: GapFiller[] = [];
  let offset = from;
  while (offset < to) {
    const { epoch, end } = epochAt(offset);
    // An epoch that ends at or before `offset` (an inconsistent cache) must still make progress.
    const stop = Math.min(to, end > offset ? end : to, offset + MAX_GAP_FILLER_OFFSETS);
    out.push({ index: offset, count: stop - offset, term: Math.max(epoch, 0) });
    offset = stop;
  }
  return out;
}

/**
 * The control batch a follower stores for a filler: one control record (key `{version 0, type
 * GAP_FILLER_CONTROL_TYPE}`, empty value) at the base offset, `lastOffsetDelta` spanning the whole filler, no
 * timestamp and no producer. Built from the filler alone, so every replica given the same filler writes the same
 * bytes.
 *
 * @example
 * ```ts
 * import { gapFillerBatch, isGapFillerBatch } from "./compacted_gap.ts";
 * const batch = gapFillerBatch({ index: 100, count: 40, term: 2 });
 * isGapFillerBatch(batch); // true
 * ```
 */
export function gapFillerBatch(filler: GapFiller): Uint8Array {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setInt16(2, GAP_FILLER_CONTROL_TYPE);
  const batch = buildRecordBatch([{ timestamp: -1, key, value: new Uint8Array(0) }], {
    baseOffset: BigInt(filler.index),
    partitionLeaderEpoch: filler.term,
    control: true,
  });
  // Kafka's rule for compacted batches (KAFKA-5443): a batch's last offset may lie past its last record, and
  // clients continue at lastOffset + 1.
  new DataView(batch.buffer, batch.byteOffset, batch.byteLength).setInt32(
    BatchOffsets.lastOffsetDelta,
    filler.count - 1,
  );
  writeBatchCrc(batch);
  return batch;
}

/** Where a filler's control type sits: the batch header, then the record's length, attributes, two deltas, key length. */
const FILLER_KEY_TYPE_POSITION = 61 + 1 + 1 + 1 + 1 + 1 + 2;

/**
 * True when `batch` (one whole batch) is a gap filler `gapFillerBatch` built. Reads the header and the first
 * record's key in place, without decoding the batch.
 *
 * @example
 * ```ts
 * import { gapFillerBatch, isGapFillerBatch } from "./compacted_gap.ts";
 * isGapFillerBatch(gapFillerBatch({ index: 0, count: 1, term: 0 })); // true
 * ```
 */
export function isGapFillerBatch(batch: Uint8Array): boolean {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  if (batch.byteLength < FILLER_KEY_TYPE_POSITION + 2) return false;
  if (!isControlBatch(view.getInt16(BatchOffsets.attributes))) return false;
  if (view.getInt32(BatchOffsets.recordsCount) !== 1) return false;
  return view.getInt16(FILLER_KEY_TYPE_POSITION) === GAP_FILLER_CONTROL_TYPE;
}
