/**
 * Which segments retention deletes (a pure decision; `PartitionLog.applyRetention` does the deleting).
 *
 * Kafka's three rules, each deleting a prefix of the oldest segments and never the active (last) one:
 * - `retention.ms`: a segment whose largest timestamp is more than `retention.ms` before now;
 * - `retention.bytes`: the oldest segments while the partition stays at or above `retention.bytes` without them;
 * - log start: a segment wholly below the log start offset (after DeleteRecords).
 * A value of -1 disables the time or size rule.
 *
 * @module
 */

/** What retention needs to know of a segment. */
export interface SegmentMeta {
  /** First offset of the segment. */
  baseOffset: number;
  /** The offset after its last batch (the next segment's base offset). */
  nextOffset: number;
  /** Size of its log file in bytes. */
  sizeBytes: number;
  /** Largest batch max timestamp in it (ms), or the file's mtime when it holds no timestamps. */
  largestTimestampMs: number;
}

/** Retention limits, by Kafka's property names. */
export interface RetentionLimits {
  /** Keep data at most this long (ms); -1 keeps it forever. */
  "retention.ms": number;
  /** Keep at most this many bytes per partition; -1 for no limit. */
  "retention.bytes": number;
}

/** Why a segment is deleted. */
export type RetentionReason = "retention.ms" | "retention.bytes" | "log_start_offset";

/** A segment to delete and the rule that chose it. */
export interface RetentionDecision {
  /** Base offset of the segment. */
  baseOffset: number;
  /** The rule that chose it. */
  reason: RetentionReason;
}

/**
 * Chooses the segments to delete, oldest first. `segments` are in offset order, the last one active.
 *
 * @example
 * ```ts
 * import { segmentsToDelete } from "./retention.ts";
 * const segments = [
 *   { baseOffset: 0, nextOffset: 10, sizeBytes: 100, largestTimestampMs: 1_000 },
 *   { baseOffset: 10, nextOffset: 20, sizeBytes: 100, largestTimestampMs: 9_000 },
 * ];
 * segmentsToDelete(segments, 10_000, 0, { "retention.ms": 5_000, "retention.bytes": -1 });
 * // [{ baseOffset: 0, reason: "retention.ms" }]: the second is active, so kept
 * ```
 */
export function segmentsToDelete(
  segments: readonly SegmentMeta[],
  nowMs: number,
  logStartOffset: number,
  limits: RetentionLimits,
): RetentionDecision[] {
  const deletable = segments.length - 1; // never the active segment
  const decisions: RetentionDecision[] = [];
  let i = 0;
  let remainingBytes = segments.reduce((sum, s) => sum + s.sizeBytes, 0);
  const take = (reason: RetentionReason) => {
    decisions.push({ baseOffset: segments[i].baseOffset, reason });
    remainingBytes -= segments[i].sizeBytes;
    i++;
  };
  while (i < deletable && segments[i].nextOffset <= logStartOffset) take("log_start_offset");
  const retentionMs = limits["retention.ms"];
  if (retentionMs >= 0) {
    while (i < deletable && nowMs - segments[i].largestTimestampMs > retentionMs) take("retention.ms");
  }
  const retentionBytes = limits["retention.bytes"];
  if (retentionBytes >= 0) {
    while (i < deletable && remainingBytes - segments[i].sizeBytes >= retentionBytes) take("retention.bytes");
  }
  return decisions;
}
