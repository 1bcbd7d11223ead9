/**
 * The chaos checker: from the recorded history of a run (what the producer was told, what a consumer read, and
 * what each broker holds on disk) it finds the anomalies Jepsen's Kafka checker names, and the figures of the
 * run. Pure: the history in, a verdict out; the scenarios (`scenario.ts`) gather the history.
 *
 * The workload sends the values 0, 1, 2, ... (as decimal text), each exactly once, so a value names one send.
 * What Samsa promises, and so what is checked:
 *
 * - **lost**: every acknowledged record is read (the consumer reads every partition to its high watermark);
 * - **duplicate**: no value is read at two offsets (idempotence across retries and failovers);
 * - **offset mismatch**: an acknowledged record is read at the offset (and in the partition) it was
 *   acknowledged with: a new leader never moves what the old one acknowledged;
 * - **reordered**: within a partition, acknowledged records are read in the order they were acknowledged;
 * - **conflicting offset**: two reads of one offset give one value, and no two acknowledgements name one offset
 *   (two leaders acknowledging in one epoch would);
 * - **unexpected value**: nothing is read that was never sent;
 * - **replicas**: every replica holds the same batches (byte for byte, compared by digest) at the same offsets up to
 *   the high watermark; a replica without the partition, or ending before the high watermark, is reported too;
 * - **unavailable**: after a fault a majority survives, a record is acknowledged within the bound the fault
 *   names (the issue's "a new leader is acknowledged within seconds"; a generous bound, not a speed test).
 *
 * A send that failed (the client gave up on it) may or may not have been written, as in Kafka: reading it is not
 * an anomaly, reading it twice is.
 *
 * @module
 */

/** The producer's acknowledgement of one value. */
export interface Ack {
  value: number;
  partition: number;
  offset: number;
  /** Wall-clock time of the acknowledgement (ms since the epoch), as the client saw it. */
  atMs: number;
}

/** A send the client gave up on (its delivery report was an error). */
export interface SendFailure {
  value: number;
  error: string;
  atMs: number;
}

/** One record a consumer read. */
export interface Read {
  partition: number;
  offset: number;
  /** The record's value as text: a value the workload sent is a decimal integer. */
  value: string;
}

/** One batch of a replica's log, as its segment files hold it. */
export interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  /** A digest of the batch's bytes: equal digests, equal batches. */
  digest: string;
}

/** One broker's copy of a partition; `batches` null when the broker holds no log for it. */
export interface ReplicaLog {
  nodeId: number;
  batches: StoredBatch[] | null;
}

/** The replicas of one partition and the high watermark they must agree up to. */
export interface PartitionReplicas {
  partition: number;
  highWatermark: number;
  replicas: ReplicaLog[];
}

/** A fault the nemesis injected: when, and when it was healed (the node restarted or resumed). */
export interface Fault {
  name: string;
  atMs: number;
  /** The partition whose leader or follower it hit; its acknowledgements are what the fault's figures count. */
  partition?: number;
  healedAtMs?: number;
  /**
   * The cluster must acknowledge a record within this many ms of the fault, before it heals (a surviving
   * majority elects a new leader); unset for faults no cluster survives (all nodes down).
   */
  availableWithinMs?: number;
}

/** Everything a run recorded. */
export interface History {
  /** Values 0..sent-1 were handed to the producer. */
  sent: number;
  /** Acknowledgements in the order the client reported them. */
  acks: Ack[];
  failures: SendFailure[];
  reads: Read[];
  replicas: PartitionReplicas[];
  faults: Fault[];
}

/** The kinds of anomaly the checker finds. */
export type AnomalyKind =
  | "lost"
  | "duplicate"
  | "offset-mismatch"
  | "reordered"
  | "conflicting-offset"
  | "unexpected-value"
  | "replica-missing"
  | "replica-short"
  | "replica-divergent"
  | "unavailable";

/** One anomaly, with a sentence a reader can act on. */
export interface Anomaly {
  kind: AnomalyKind;
  message: string;
}

/** What one fault cost: from the fault (and from its healing) to the next acknowledgement. */
export interface FaultFigures {
  name: string;
  /** ms from the fault to the next acknowledgement, null if none followed. */
  toNextAckMs: number | null;
  /** ms from the healing to the next acknowledgement, null if not healed or none followed. */
  healedToNextAckMs: number | null;
}

/** The figures of a run (printed, never asserted). */
export interface Figures {
  sent: number;
  acked: number;
  failed: number;
  /** Distinct values read. */
  read: number;
  /** Failed sends that were read all the same (written, but the client did not learn it). */
  failedButRead: number;
  faults: FaultFigures[];
  /** The longest time between two consecutive acknowledgements (ms), 0 with fewer than two. */
  longestAckGapMs: number;
}

/** The checker's verdict. */
export interface CheckResult {
  valid: boolean;
  anomalies: Anomaly[];
  figures: Figures;
}

/**
 * Checks a history.
 *
 * @example
 * ```ts
 * import { check } from "./checker.ts";
 * const result = check({
 *   sent: 2,
 *   acks: [{ value: 0, partition: 0, offset: 0, atMs: 1 }, { value: 1, partition: 0, offset: 1, atMs: 2 }],
 *   failures: [],
 *   reads: [{ partition: 0, offset: 0, value: "0" }],
 *   replicas: [],
 *   faults: [],
 * });
 * result.anomalies[0].message; // "acknowledged record 1 missing (partition 0, offset 1)"
 * ```
 */
export function check(history: History): CheckResult {
  const anomalies: Anomaly[] = [
    ...checkAcks(history.acks),
    ...checkReads(history),
    ...history.replicas.flatMap(checkReplicas),
    ...checkAvailability(history),
  ];
  return { valid: anomalies.length === 0, anomalies, figures: figures(history) };
}

/** Two acknowledgements naming one offset: two leaders acknowledged different records there. */
function checkAcks(acks: readonly Ack[]): Anomaly[] {
  const out: Anomaly[] = [];
  const byOffset = new Map<string, number>();
  for (const a of acks) {
    const key = `${a.partition}/${a.offset}`;
    const other = byOffset.get(key);
    if (other !== undefined && other !== a.value) {
      out.push({
        kind: "conflicting-offset",
        message:
          `records ${other} and ${a.value} were both acknowledged at offset ${a.offset} of partition ${a.partition}`,
      });
    } else byOffset.set(key, a.value);
  }
  return out;
}

/** Where each value was read: its distinct (partition, offset) places, in read order. */
function readPlaces(history: History, out: Anomaly[]): Map<number, { partition: number; offset: number }[]> {
  const places = new Map<number, { partition: number; offset: number }[]>();
  const valueAt = new Map<string, string>();
  for (const r of history.reads) {
    const key = `${r.partition}/${r.offset}`;
    const seen = valueAt.get(key);
    if (seen !== undefined) {
      if (seen !== r.value) {
        out.push({
          kind: "conflicting-offset",
          message: `offset ${r.offset} of partition ${r.partition} was read as ${seen} and as ${r.value}`,
        });
      }
      continue; // the same offset read again (a second reader, or a re-read)
    }
    valueAt.set(key, r.value);
    const value = sentValue(r.value, history.sent);
    if (value === null) {
      out.push({
        kind: "unexpected-value",
        message: `offset ${r.offset} of partition ${r.partition} holds ${JSON.stringify(r.value)}, never sent`,
      });
      continue;
    }
    const list = places.get(value) ?? [];
    list.push({ partition: r.partition, offset: r.offset });
    places.set(value, list);
  }
  return places;
}

/** The value a record's text names, or null if the workload never sent it. */
function sentValue(text: string, sent: number): number | null {
  if (!/^(0|[1-9]\d*)$/.test(text)) return null;
  const value = Number(text);
  return value < sent ? value : null;
}

function checkReads(history: History): Anomaly[] {
  const out: Anomaly[] = [];
  const places = readPlaces(history, out);
  for (const [value, where] of places) {
    if (where.length > 1) {
      const list = where.map((p) => `offset ${p.offset} of partition ${p.partition}`).join(", ");
      out.push({ kind: "duplicate", message: `record ${value} read ${where.length} times: at ${list}` });
    }
  }
  const lastByPartition = new Map<number, { value: number; offset: number }>();
  for (const a of history.acks) {
    const where = places.get(a.value);
    if (where === undefined) {
      out.push({
        kind: "lost",
        message: `acknowledged record ${a.value} missing (partition ${a.partition}, offset ${a.offset})`,
      });
      continue;
    }
    const read = where[0];
    if (read.partition !== a.partition || read.offset !== a.offset) {
      out.push({
        kind: "offset-mismatch",
        message: `acknowledged record ${a.value} at offset ${a.offset} of partition ${a.partition} was read at ` +
          `offset ${read.offset} of partition ${read.partition}`,
      });
    }
    const previous = lastByPartition.get(read.partition);
    if (previous !== undefined && read.offset <= previous.offset) {
      out.push({
        kind: "reordered",
        message: `partition ${read.partition}: record ${a.value}, acknowledged after record ${previous.value}, was ` +
          `read at offset ${read.offset}, before it (offset ${previous.offset})`,
      });
    }
    lastByPartition.set(read.partition, { value: a.value, offset: read.offset });
  }
  return out;
}

/** The acknowledgements a fault's figures and bound count: of its partition, or all. */
function acksOf(acks: readonly Ack[], fault: Fault): readonly Ack[] {
  return fault.partition === undefined ? acks : acks.filter((a) => a.partition === fault.partition);
}

function checkAvailability(history: History): Anomaly[] {
  const out: Anomaly[] = [];
  for (const f of history.faults) {
    if (f.availableWithinMs === undefined) continue;
    const until = f.atMs + f.availableWithinMs;
    if (acksOf(history.acks, f).some((a) => a.atMs >= f.atMs && a.atMs <= until)) continue;
    out.push({
      kind: "unavailable",
      message: `no record acknowledged within ${f.availableWithinMs} ms of ${f.name}` +
        (f.healedAtMs === undefined ? "" : ` (healed after ${f.healedAtMs - f.atMs} ms)`),
    });
  }
  return out;
}

/** The batches of a replica that begin below the high watermark. */
function belowHighWatermark(batches: readonly StoredBatch[], highWatermark: number): StoredBatch[] {
  return batches.filter((b) => b.baseOffset < highWatermark);
}

/** The last offset a replica holds below the high watermark, or -1. */
function coveredTo(batches: readonly StoredBatch[]): number {
  return batches.length === 0 ? -1 : batches[batches.length - 1].lastOffset;
}

function describeBatch(b: StoredBatch | undefined): string {
  return b === undefined ? "nothing" : `batch ${b.baseOffset}..${b.lastOffset} (digest ${b.digest.slice(0, 12)})`;
}

function checkReplicas(p: PartitionReplicas): Anomaly[] {
  const out: Anomaly[] = [];
  const hw = p.highWatermark;
  const held: { nodeId: number; batches: StoredBatch[] }[] = [];
  for (const r of p.replicas) {
    if (r.batches === null) {
      out.push({
        kind: "replica-missing",
        message: `partition ${p.partition}: broker ${r.nodeId} holds no log for it (high watermark ${hw})`,
      });
      continue;
    }
    const batches = belowHighWatermark(r.batches, hw);
    if (hw > 0 && coveredTo(batches) < hw - 1) {
      out.push({
        kind: "replica-short",
        message: `partition ${p.partition}: broker ${r.nodeId}'s log ends at offset ${coveredTo(batches)}, before ` +
          `the high watermark ${hw}`,
      });
    }
    held.push({ nodeId: r.nodeId, batches });
  }
  // The reference is the first replica that reaches the high watermark (the others are compared with it where
  // both hold data), else the longest.
  const reference = held.find((h) => coveredTo(h.batches) >= hw - 1) ??
    held.reduce<typeof held[number] | undefined>(
      (a, b) => (a === undefined || coveredTo(b.batches) > coveredTo(a.batches) ? b : a),
      undefined,
    );
  if (reference === undefined) return out;
  for (const other of held) {
    if (other === reference) continue;
    const divergence = firstDivergence(reference.batches, other.batches);
    if (divergence === null) continue;
    out.push({
      kind: "replica-divergent",
      message: `partition ${p.partition}: broker ${other.nodeId} differs from broker ${reference.nodeId} at offset ` +
        `${divergence.offset}: ${describeBatch(divergence.theirs)} against ${describeBatch(divergence.ours)}`,
    });
  }
  return out;
}

/**
 * Where two replicas' batches first differ, compared from the later of their first offsets (a replica whose log
 * start moved on by retention holds less at the start) to the end of the shorter one.
 */
function firstDivergence(
  ours: readonly StoredBatch[],
  theirs: readonly StoredBatch[],
): { offset: number; ours?: StoredBatch; theirs?: StoredBatch } | null {
  if (ours.length === 0 || theirs.length === 0) return null;
  const start = Math.max(ours[0].baseOffset, theirs[0].baseOffset);
  const end = Math.min(coveredTo(ours), coveredTo(theirs));
  const a = ours.filter((b) => b.baseOffset >= start && b.baseOffset <= end);
  const b = theirs.filter((x) => x.baseOffset >= start && x.baseOffset <= end);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x && y && x.baseOffset === y.baseOffset && x.lastOffset === y.lastOffset && x.digest === y.digest) continue;
    return { offset: Math.min(x?.baseOffset ?? Infinity, y?.baseOffset ?? Infinity), ours: x, theirs: y };
  }
  return null;
}

function figures(history: History): Figures {
  const readValues = new Set<number>();
  for (const r of history.reads) {
    const v = sentValue(r.value, history.sent);
    if (v !== null) readValues.add(v);
  }
  const ackTimes = history.acks.map((a) => a.atMs).sort((a, b) => a - b);
  let longestAckGapMs = 0;
  for (let i = 1; i < ackTimes.length; i++) longestAckGapMs = Math.max(longestAckGapMs, ackTimes[i] - ackTimes[i - 1]);
  const nextAckAfter = (f: Fault, t: number) => {
    let next = Infinity;
    for (const a of acksOf(history.acks, f)) if (a.atMs >= t && a.atMs < next) next = a.atMs;
    return next === Infinity ? null : next - t;
  };
  return {
    sent: history.sent,
    acked: history.acks.length,
    failed: history.failures.length,
    read: readValues.size,
    failedButRead: history.failures.filter((f) => readValues.has(f.value)).length,
    faults: history.faults.map((f) => ({
      name: f.name,
      toNextAckMs: nextAckAfter(f, f.atMs),
      healedToNextAckMs: f.healedAtMs === undefined ? null : nextAckAfter(f, f.healedAtMs),
    })),
    longestAckGapMs,
  };
}

/**
 * The verdict as text: the figures on one line and one line per fault, then up to `limit` anomalies of each kind (with the count of
 * the rest), for a test's failure message and the chaos run's summary.
 *
 * @example
 * ```ts ignore
 * assert.ok(result.valid, describeResult(result));
 * ```
 */
export function describeResult(result: CheckResult, limit = 5): string {
  const f = result.figures;
  const lines = [
    `sent ${f.sent}, acknowledged ${f.acked}, failed ${f.failed} (${f.failedButRead} of them read), read ${f.read}; ` +
    `longest wait between acknowledgements ${f.longestAckGapMs} ms`,
    ...f.faults.map((x) =>
      `  ${x.name}: next ack ${x.toNextAckMs === null ? "never" : `${x.toNextAckMs} ms`} after the fault` +
      (x.healedToNextAckMs === null ? "" : `, ${x.healedToNextAckMs} ms after healing`)
    ),
  ];
  if (result.valid) {
    lines.push("no anomalies");
    return lines.join("\n");
  }
  lines.push(`${result.anomalies.length} anomalies:`);
  const byKind = new Map<AnomalyKind, Anomaly[]>();
  for (const a of result.anomalies) byKind.set(a.kind, [...(byKind.get(a.kind) ?? []), a]);
  for (const [kind, list] of byKind) {
    lines.push(`  ${kind} (${list.length}):`);
    for (const a of list.slice(0, limit)) lines.push(`    ${a.message}`);
    if (list.length > limit) lines.push(`    ... and ${list.length - limit} more`);
  }
  return lines.join("\n");
}
