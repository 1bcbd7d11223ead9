/**
 * Per-partition state of idempotent producers: the pure decision of whether an incoming batch is new, a
 * duplicate of one of the last five batches (answered with its original offsets), or out of order.
 *
 * Mirrors Kafka's ProducerStateManager rules: a higher epoch must start at sequence 0 (unless the producer has
 * no known epoch); an older epoch is fenced; sequences wrap from Int32.MAX to 0; a producer whose state was lost
 * (retention, a new partition) may resume at any sequence (KIP-360).
 *
 * @module
 */
import type { BatchHeader } from "../protocol/record_batch_header.ts";

/** Kafka keeps this many batches per producer for duplicate detection (max.in.flight.requests = 5). */
export const RETAINED_BATCHES = 5;
/** The "no epoch yet" marker, RecordBatch.NO_PRODUCER_EPOCH. */
export const NO_PRODUCER_EPOCH = -1;

/** What is remembered of one appended batch of a producer. */
export interface ProducerBatchMetadata {
  firstSequence: number;
  lastSequence: number;
  firstOffset: number;
  lastOffset: number;
  timestampMs: number;
}

/** The state of one producer id in one partition. */
export interface ProducerEntry {
  producerEpoch: number;
  /** Oldest first, at most RETAINED_BATCHES. */
  batches: ProducerBatchMetadata[];
}

/** The identity and sequence range of an incoming batch (from its header). */
export interface IncomingBatch {
  producerId: bigint;
  producerEpoch: number;
  firstSequence: number;
  /** firstSequence + lastOffsetDelta, wrapped at Int32.MAX. */
  lastSequence: number;
}

/** The verdict for an incoming idempotent batch. */
export type SequenceCheck =
  | { kind: "append" }
  | { kind: "duplicate"; original: ProducerBatchMetadata }
  | { kind: "out_of_order"; message: string }
  | { kind: "fenced_epoch"; message: string };

const INT32_MAX = 0x7fffffff;

/** The last sequence of a batch whose first sequence is `first` and that holds `count` records. */
export function lastSequenceOf(first: number, lastOffsetDelta: number): number {
  const last = first + lastOffsetDelta;
  return last > INT32_MAX ? last - INT32_MAX - 1 : last;
}

function inSequence(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === lastSequence + 1 || (nextSequence === 0 && lastSequence === INT32_MAX);
}

/**
 * The producer states of one partition.
 *
 * @example
 * ```ts
 * import { ProducerStateTable } from "./producer_state.ts";
 * const table = new ProducerStateTable();
 * const batch = { producerId: 7n, producerEpoch: 0, firstSequence: 0, lastSequence: 9 };
 * table.check(batch).kind; // "append"
 * table.record(batch, 0, 9, 0);
 * table.check(batch).kind; // "duplicate"
 * ```
 */
export class ProducerStateTable {
  readonly #entries = new Map<bigint, ProducerEntry>();

  /** The entry of a producer, if any. */
  get(producerId: bigint): ProducerEntry | undefined {
    return this.#entries.get(producerId);
  }

  /** Every producer id and its entry. */
  entries(): IterableIterator<[bigint, ProducerEntry]> {
    return this.#entries.entries();
  }

  /** Decides what to do with an incoming batch, without changing any state. */
  check(batch: IncomingBatch): SequenceCheck {
    const entry = this.#entries.get(batch.producerId);
    if (entry === undefined) return { kind: "append" };
    if (batch.producerEpoch < entry.producerEpoch) {
      return {
        kind: "fenced_epoch",
        message: `Producer epoch ${batch.producerEpoch} is older than the current epoch ${entry.producerEpoch}`,
      };
    }
    if (batch.producerEpoch === entry.producerEpoch) {
      const original = entry.batches.find((b) =>
        b.firstSequence === batch.firstSequence && b.lastSequence === batch.lastSequence
      );
      if (original) return { kind: "duplicate", original };
      const last = entry.batches.at(-1);
      if (last && !inSequence(last.lastSequence, batch.firstSequence)) {
        return {
          kind: "out_of_order",
          message: `Out of order sequence number for producer ${batch.producerId}: expected ${
            last.lastSequence === INT32_MAX ? 0 : last.lastSequence + 1
          }, received ${batch.firstSequence}`,
        };
      }
      return { kind: "append" };
    }
    // A newer epoch starts its sequences at 0, unless this producer never had an epoch here.
    if (batch.firstSequence !== 0 && entry.producerEpoch !== NO_PRODUCER_EPOCH) {
      return {
        kind: "out_of_order",
        message: `Invalid sequence number for new epoch ${batch.producerEpoch} of producer ${batch.producerId}: ` +
          `${batch.firstSequence} (expected 0)`,
      };
    }
    return { kind: "append" };
  }

  /** Records an appended batch (after `check` said "append", or while rebuilding from the log). */
  record(batch: IncomingBatch, firstOffset: number, lastOffset: number, timestampMs: number): void {
    let entry = this.#entries.get(batch.producerId);
    if (entry === undefined || entry.producerEpoch !== batch.producerEpoch) {
      entry = { producerEpoch: batch.producerEpoch, batches: [] };
      this.#entries.set(batch.producerId, entry);
    }
    entry.batches.push({
      firstSequence: batch.firstSequence,
      lastSequence: batch.lastSequence,
      firstOffset,
      lastOffset,
      timestampMs,
    });
    if (entry.batches.length > RETAINED_BATCHES) entry.batches.shift();
  }

  /**
   * Records a batch written to the log, from its header alone: a follower replicating it, or a replay of the log
   * at startup. Batches without a producer id (or without a sequence) are not tracked.
   */
  recordBatch(header: BatchHeader): void {
    if (header.producerId < 0n || header.baseSequence < 0) return;
    const base = Number(header.baseOffset);
    this.record(
      {
        producerId: header.producerId,
        producerEpoch: header.producerEpoch,
        firstSequence: header.baseSequence,
        lastSequence: lastSequenceOf(header.baseSequence, header.lastOffsetDelta),
      },
      base,
      base + header.lastOffsetDelta,
      Number(header.maxTimestamp),
    );
  }

  /** Replaces this table's content with `other`'s (a follower installing its leader's snapshot). */
  replaceWith(other: ProducerStateTable): void {
    this.#entries.clear();
    for (const [id, entry] of other.#entries) {
      this.#entries.set(id, { producerEpoch: entry.producerEpoch, batches: entry.batches.map((b) => ({ ...b })) });
    }
  }

  /** A copy holding only the batches below `offset` (the producer state as of a log start, for a snapshot). */
  before(offset: number): ProducerStateTable {
    const copy = new ProducerStateTable();
    copy.replaceWith(this);
    copy.truncateFrom(offset);
    return copy;
  }

  /** Forgets every batch at or after `offset` (the log was truncated there). */
  truncateFrom(offset: number): void {
    for (const [id, entry] of this.#entries) {
      entry.batches = entry.batches.filter((b) => b.lastOffset < offset);
      if (entry.batches.length === 0) this.#entries.delete(id);
    }
  }

  /** Serializes the table for a snapshot file: JSON with producer ids as strings. */
  toJSON(): unknown {
    return [...this.#entries].map(([id, e]) => ({ producerId: id.toString(), ...e }));
  }

  /** Restores a table written by `toJSON`. Throws on malformed input. */
  static fromJSON(json: unknown): ProducerStateTable {
    const table = new ProducerStateTable();
    if (!Array.isArray(json)) throw new Error("producer state snapshot: not an array");
    for (const item of json as Array<{ producerId: string } & ProducerEntry>) {
      table.#entries.set(BigInt(item.producerId), { producerEpoch: item.producerEpoch, batches: item.batches });
    }
    return table;
  }
}
