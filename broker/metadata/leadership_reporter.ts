/**
 * The broker side of partition leadership: the leader of a partition's Raft group tells the active controller its
 * leader epoch (the Raft term) and in-sync replicas, so the metadata sends clients to the real leader with the
 * real epoch (`planLeadershipReports` in `broker/metadata/partition_leadership.ts` is the controller side).
 *
 * Reports go out when a replica's leadership changes (`ReplicaManager.onLeadership`), coalesced over a few
 * milliseconds so an election wave is one request, and are tried again with backoff while no controller answers.
 * The image is the reference: after every applied metadata batch that touches partitions or brokers, and on a
 * slow timer, every replica this broker leads whose image entry disagrees (leader, epoch, ISR) is reported again.
 * A report lost with a controller, or ignored in a race, is so sent again until the metadata agrees.
 *
 * @module
 */
import type { Logger } from "../logger.ts";
import type { MetadataImage, MetadataRecord } from "../metadata_image.ts";
import type { LeadershipReport } from "./partition_leadership.ts";
import { hasReassignmentProgress, isReassigning } from "./partition_reassignment.ts";

/** What the reporter reads of a partition replica (`PartitionReplica`). */
export interface ReportedReplica {
  readonly topic: string;
  readonly partition: number;
  readonly isLeader: boolean;
  readonly leaderEpoch: number;
  inSyncReplicas(): number[];
  /** The committed voters and learners of the replica's Raft group (reported while it is being reassigned). */
  readonly raft?: { readonly voters: readonly number[]; readonly learners: readonly number[] };
}

/** Where the replicas are, and their leadership changes (`ReplicaManager`). */
export interface ReplicaLeadership {
  all(): Iterable<ReportedReplica>;
  onLeadership(listener: (replica: ReportedReplica) => void): () => void;
}

/** Options of a {@link LeadershipReporter}. */
export interface LeadershipReporterOptions {
  nodeId: number;
  image: MetadataImage;
  replicas: ReplicaLeadership;
  /** Sends reports to the active controller; resolves once the answer is applied here, rejects if none answered. */
  send(reports: LeadershipReport[]): Promise<unknown>;
  logger: Logger;
  /** How long leadership changes are gathered before they are sent. */
  coalesceMs?: number;
  /** How often every replica this broker leads is checked against the image regardless. */
  reconcileIntervalMs?: number;
  /** The first wait before sending again after a failure; it doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** Reports per request: an election wave over thousands of partitions goes in several batches. */
const REPORTS_PER_REQUEST = 1000;
const DEFAULT_COALESCE_MS = 20;
const DEFAULT_RECONCILE_INTERVAL_MS = 10_000;
const DEFAULT_BACKOFF_MS = 100;
/** At most one retry a second: a new controller is elected within about a second, clients wait on the report. */
const DEFAULT_MAX_BACKOFF_MS = 1000;

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

/**
 * The report `replica` calls for on broker `nodeId`, or undefined when the image already agrees with it or the
 * controller would not take it: the replica does not lead, it led in an epoch older than the image's (its group
 * has moved on), its topic is gone, or the partition has one replica and the image gives it to no one or another
 * broker (the controller leads those). Pure.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "../metadata_image.ts";
 * import { reportFor } from "./leadership_reporter.ts";
 * const replica = { topic: "orders", partition: 0, isLeader: true, leaderEpoch: 3, inSyncReplicas: () => [1] };
 * reportFor(new MetadataImage(), 1, replica); // undefined: no such topic in the image
 * ```
 */
export function reportFor(
  image: MetadataImage,
  nodeId: number,
  replica: ReportedReplica,
): LeadershipReport | undefined {
  if (!replica.isLeader) return undefined;
  const topic = image.topic(replica.topic);
  const p = topic?.partitions[replica.partition];
  if (!topic || !p) return undefined;
  if (replica.leaderEpoch < p.leaderEpoch) return undefined;
  if (p.replicas.length <= 1 && p.leader !== nodeId) return undefined;
  const isr = replica.inSyncReplicas();
  const report: LeadershipReport = {
    topicId: topic.topicId,
    partition: p.partition,
    leader: nodeId,
    leaderEpoch: replica.leaderEpoch,
    isr,
  };
  // A group being reassigned also reports its committed membership: the controller follows it.
  const group = replica.raft;
  if (group && isReassigning(p)) {
    report.voters = [...group.voters];
    report.learners = [...group.learners];
    if (hasReassignmentProgress(p, group.voters, group.learners)) return report;
  }
  if (p.leader === nodeId && p.leaderEpoch === replica.leaderEpoch && sameMembers(p.isr, isr)) return undefined;
  return report;
}

/** True when applying `records` may have changed what the image says about this broker's leadership. */
function touchesLeadership(records: readonly MetadataRecord[]): boolean {
  return records.some((r) =>
    r.type === "topic" || r.type === "partition" || r.type === "partition_change" || r.type === "register_broker" ||
    r.type === "broker_change"
  );
}

/**
 * Reports the leadership of the partitions this broker leads to the active controller.
 *
 * @example
 * ```ts ignore
 * const reporter = new LeadershipReporter({ nodeId, image, replicas, logger,
 *   send: (reports) => controller.reportLeadership(reports, 5000) });
 * reporter.start();
 * reporter.afterApplied(records); // after each applied metadata batch
 * reporter.close();
 * ```
 */
export class LeadershipReporter {
  /** Replicas whose leadership changed since the last send, by topic and partition. */
  readonly #changed = new Map<string, ReportedReplica>();
  /** Every replica is to be checked against the image at the next send. */
  #checkAll = false;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #reconcileTimer: ReturnType<typeof setInterval> | undefined;
  #unsubscribe: (() => void) | undefined;
  #sending = false;
  #failures = 0;
  #closed = false;

  constructor(private readonly options: LeadershipReporterOptions) {}

  /** Starts listening to leadership changes and the slow reconciliation, and checks every replica once. */
  start(): void {
    this.#unsubscribe = this.options.replicas.onLeadership((replica) => {
      this.#changed.set(`${replica.topic}\u0000${replica.partition}`, replica);
      this.#schedule(this.options.coalesceMs ?? DEFAULT_COALESCE_MS);
    });
    this.#reconcileTimer = setInterval(
      () => this.reconcile(),
      this.options.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS,
    );
    this.reconcile();
  }

  /** Checks every replica this broker leads against the image soon (after a metadata batch, or on the timer). */
  reconcile(): void {
    this.#checkAll = true;
    this.#schedule(this.options.coalesceMs ?? DEFAULT_COALESCE_MS);
  }

  /** To call after each applied metadata batch: reconciles when the batch may have changed leadership. */
  afterApplied(records: readonly MetadataRecord[]): void {
    if (touchesLeadership(records)) this.reconcile();
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#flushTimer !== undefined || this.#sending) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#flush();
    }, delayMs);
  }

  /** The reports due now: the changed replicas, or all of them when a check of all is due. */
  #dueReports(): LeadershipReport[] {
    const { image, nodeId } = this.options;
    const candidates = this.#checkAll ? this.options.replicas.all() : this.#changed.values();
    const reports: LeadershipReport[] = [];
    for (const replica of candidates) {
      const report = reportFor(image, nodeId, replica);
      if (report) reports.push(report);
    }
    this.#checkAll = false;
    this.#changed.clear();
    return reports;
  }

  async #flush(): Promise<void> {
    if (this.#closed || this.#sending) return;
    const reports = this.#dueReports();
    if (reports.length === 0) return;
    this.#sending = true;
    let failed = false;
    try {
      for (let i = 0; i < reports.length && !this.#closed; i += REPORTS_PER_REQUEST) {
        await this.options.send(reports.slice(i, i + REPORTS_PER_REQUEST));
      }
      this.#failures = 0;
    } catch (e) {
      failed = true;
      this.#failures++;
      const log = this.#failures === 1 ? "warn" : "debug";
      this.options.logger.log(log, "leadership report not answered: trying again", {
        partitions: reports.length,
        attempt: this.#failures,
        error: String((e as Error)?.message ?? e),
      });
      // What is still unreported is found again from the image at the next check.
      this.#checkAll = true;
    } finally {
      this.#sending = false;
    }
    if (this.#closed) return;
    if (failed) {
      const base = this.options.backoffMs ?? DEFAULT_BACKOFF_MS;
      const max = this.options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
      this.#schedule(Math.min(max, base * 2 ** Math.min(this.#failures - 1, 16)));
    } else if (this.#checkAll || this.#changed.size > 0) {
      this.#schedule(this.options.coalesceMs ?? DEFAULT_COALESCE_MS);
    }
  }

  /** Stops reporting (a send in flight finishes, its outcome unused). */
  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    clearTimeout(this.#flushTimer);
    clearInterval(this.#reconcileTimer);
    this.#flushTimer = undefined;
  }
}
