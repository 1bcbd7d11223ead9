/**
 * Where partition leaderships go when the cluster asks, on top of the Raft groups that elect them:
 *
 * - a controlled shutdown first hands every leadership of this broker to an in-sync follower and waits until
 *   the metadata names the new leaders ({@linkcode LeadershipBalancer.handOverLeaderships});
 * - a preferred-leader election (ElectLeaders) asks the partition's current leader, here or on another broker,
 *   for a Raft leadership transfer to the preferred replica, and answers once the metadata names it
 *   ({@linkcode LeadershipBalancer.electPreferred});
 * - with `auto.leader.rebalance.enable`, every `leader.imbalance.check.interval.seconds` each broker hands the
 *   partitions it leads back to their preferred replicas when Kafka's imbalance rule says so
 *   (`imbalancedLeaderships` in `broker/replication/preferred_leaders.ts`). Each leader moves only its own leaderships, so
 *   the rebalance needs no messages between brokers.
 *
 * A transfer for a partition led by another broker travels as a node-protocol request (`transferLeadership`) on
 * that broker's inter-broker listener, the connections the replication network already accepts there: the
 * leader is the only replica whose Raft core can start a transfer, and the request needs no metadata change. A
 * stopping broker first tells the others (`shuttingDown`), so that none hands it a leadership (several brokers
 * stopping at once do not pass leaderships around, and the rebalance does not move one back to it).
 *
 * @module
 */
import type { Logger } from "../logger.ts";
import type { MetadataImage } from "../metadata_image.ts";
import { imbalancedLeaderships } from "../replication/preferred_leaders.ts";
import type { ReplicaManager } from "../replication/replica_manager.ts";
import { ErrorCode } from "../../protocol/messages.ts";

/** The node-protocol operation that asks a leader for a leadership transfer. */
export const TRANSFER_LEADERSHIP_OP = "transferLeadership";
/** The node-protocol operation by which a stopping broker tells the others to give it no leadership. */
export const SHUTTING_DOWN_OP = "shuttingDown";
/** How long a stopping broker waits for the others to hear that it is stopping. */
const SHUTDOWN_NOTICE_TIMEOUT_MS = 500;

/** How often a wait re-reads the metadata image. */
const IMAGE_POLL_MS = 20;
/**
 * How long a stopping broker waits, after its hand-over, for the metadata to name the new leaders: ~50 ms when
 * the quorum works; when the whole cluster is stopping it cannot commit, and waiting longer would only delay exit.
 */
const HANDOVER_METADATA_WAIT_MS = 1000;

/** How often a waiting election asks the leaders again (a transfer lasts at most an election timeout). */
const TRANSFER_RETRY_MS = 500;

/** The outcome of one partition's election. */
export interface ElectionAnswer {
  errorCode: number;
  errorMessage: string | null;
}

/** One transfer of a `transferLeadership` request (whose arguments are `{ transfers }`). */
interface TransferRequest {
  topic: string;
  partition: number;
  target: number;
}

/** What a `LeadershipBalancer` needs. */
export interface LeadershipBalancerOptions {
  nodeId: number;
  image: MetadataImage;
  replicas: Pick<ReplicaManager, "get" | "all" | "transferLeadershipAway">;
  logger: Logger;
  /** Sends a node-protocol request to broker `brokerId` (its inter-broker listener); rejects on failure. */
  request(brokerId: number, op: string, args: unknown, timeoutMs: number): Promise<unknown>;
  /** `auto.leader.rebalance.enable`. */
  autoRebalance: boolean;
  /** `leader.imbalance.check.interval.seconds`, in ms. */
  imbalanceCheckIntervalMs: number;
  /** `leader.imbalance.per.broker.percentage`. */
  imbalancePercentage: number;
}

/**
 * Leadership hand-overs of one broker.
 *
 * @example
 * ```ts ignore
 * const balancer = new LeadershipBalancer({ nodeId: 1, image, replicas, logger, request, autoRebalance: true,
 *   imbalanceCheckIntervalMs: 300_000, imbalancePercentage: 10 });
 * balancer.start();
 * await balancer.electPreferred([{ topic: "orders", partition: 0 }], 30_000); // [{ errorCode: 0, ... }] once moved
 * ```
 */
export class LeadershipBalancer {
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /**
   * Brokers that said they are stopping, with the broker epoch they had: given no leadership until they register
   * again (a new epoch). The metadata says so only once they are fenced, after their hand-over.
   */
  readonly #stopping = new Map<number, bigint>();

  constructor(private readonly options: LeadershipBalancerOptions) {}

  /** A broker is live when registered, unfenced and not shutting down (nor said it is stopping). */
  readonly isLive = (brokerId: number): boolean => {
    const b = this.options.image.broker(brokerId);
    return b !== undefined && !b.fenced && !b.inControlledShutdown && this.#stopping.get(brokerId) !== b.epoch;
  };

  /** Starts the periodic imbalance check (when `auto.leader.rebalance.enable`). */
  start(): void {
    if (!this.options.autoRebalance || this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => this.rebalanceOnce(), this.options.imbalanceCheckIntervalMs);
  }

  /** Stops the imbalance check; later elections and requests are refused. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  /**
   * One imbalance check: starts a transfer for every leadership of this broker the rule moves back to its
   * preferred replica. Returns how many transfers started.
   */
  rebalanceOnce(): number {
    if (this.#closed) return 0;
    let started = 0;
    const moves = imbalancedLeaderships(this.options.image.topics(), this.isLive, this.options.imbalancePercentage);
    for (const move of moves) {
      if (move.leader !== this.options.nodeId) continue;
      if (this.transferLocally(move.topic, move.partition, move.preferred)) {
        started++;
        this.options.logger.info("moving leadership back to the preferred replica", {
          topic: move.topic,
          partition: move.partition,
          preferred: move.preferred,
        });
      }
    }
    return started;
  }

  /**
   * Starts a Raft leadership transfer of a partition led here to `target`, if `target` is one of its in-sync
   * replicas. False when this broker does not lead it or `target` is not in sync.
   */
  transferLocally(topic: string, partition: number, target: number): boolean {
    const replica = this.options.replicas.get(topic, partition);
    if (!replica?.replicated || !replica.isLeader || !replica.inSyncReplicas().includes(target)) return false;
    return replica.raft.transferLeadership(target);
  }

  /** Serves a node-protocol request of broker `from` (the replication network's `onRequest`). */
  handleRequest(op: string, args: unknown, from: number): Promise<unknown> {
    if (op === SHUTTING_DOWN_OP) {
      const b = this.options.image.broker(from);
      if (b) {
        this.#stopping.set(from, b.epoch);
        this.options.logger.info("broker stopping: no leadership is handed to it", { broker: from });
      }
      return Promise.resolve({});
    }
    if (op !== TRANSFER_LEADERSHIP_OP) return Promise.reject(new Error(`unknown request ${op}`));
    if (this.#closed) return Promise.reject(new Error("broker shutting down"));
    const transfers = (args as { transfers?: unknown })?.transfers;
    const wellFormed = Array.isArray(transfers) &&
      transfers.every((t: Partial<TransferRequest>) =>
        typeof t?.topic === "string" && Number.isInteger(t.partition) && Number.isInteger(t.target)
      );
    if (!wellFormed) return Promise.reject(new Error("malformed transferLeadership request"));
    let started = 0;
    for (const t of transfers as TransferRequest[]) if (this.transferLocally(t.topic, t.partition, t.target)) started++;
    return Promise.resolve({ started });
  }

  /**
   * Moves the leadership of each of `partitions` to its preferred replica, and waits until the metadata names
   * every one of them leader or `timeoutMs` passed; answers in the order asked (REQUEST_TIMED_OUT for a partition
   * still led elsewhere by then). The transfers are asked of the current leaders, one request per leader broker,
   * and asked again every 500 ms while waiting: a transfer the Raft core abandons (the target did not catch up
   * within an election timeout), or one asked of a broker that just lost the leadership, is asked again.
   */
  async electPreferred(
    partitions: readonly { topic: string; partition: number }[],
    timeoutMs: number,
  ): Promise<ElectionAnswer[]> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    const answers: (ElectionAnswer | undefined)[] = partitions.map(() => undefined);
    let lastAskMs = -Infinity;
    while (!this.#closed) {
      const ask = Date.now() - lastAskMs >= TRANSFER_RETRY_MS;
      const byLeader = new Map<number, TransferRequest[]>();
      for (const [i, { topic, partition }] of partitions.entries()) {
        if (answers[i]) continue;
        const p = this.options.image.topic(topic)?.partitions[partition];
        if (!p) answers[i] = { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null };
        else if (p.leader === p.replicas[0]) answers[i] = { errorCode: ErrorCode.NONE, errorMessage: null };
        else if (ask && p.leader >= 0) {
          let list = byLeader.get(p.leader);
          if (!list) byLeader.set(p.leader, list = []);
          list.push({ topic, partition, target: p.replicas[0] });
        }
      }
      if (answers.every((a) => a !== undefined) || Date.now() >= deadline) break;
      if (ask) {
        lastAskMs = Date.now();
        for (const [leader, transfers] of byLeader) this.#askTransfers(leader, transfers, deadline - Date.now());
      }
      await new Promise((r) => setTimeout(r, Math.min(IMAGE_POLL_MS, Math.max(1, deadline - Date.now()))));
    }
    return answers.map((a, i) =>
      a ?? {
        errorCode: ErrorCode.REQUEST_TIMED_OUT,
        errorMessage: `The preferred replica did not become leader of partition ${partitions[i].partition} ` +
          `within ${timeoutMs} ms`,
      }
    );
  }

  /** Asks `leader` (this broker or another) for leadership transfers; failures are only logged. */
  #askTransfers(leader: number, transfers: TransferRequest[], timeoutMs: number): void {
    if (leader === this.options.nodeId) {
      for (const t of transfers) this.transferLocally(t.topic, t.partition, t.target);
      return;
    }
    this.options.request(leader, TRANSFER_LEADERSHIP_OP, { transfers }, Math.max(1, timeoutMs)).catch((e) =>
      this.options.logger.debug("leadership transfer request failed", {
        leader,
        partitions: transfers.length,
        error: String((e as Error)?.message ?? e),
      })
    );
  }

  /**
   * Before a controlled shutdown: hands every leadership of a replicated partition here to an in-sync follower
   * (refusing produces from then on: a follower answers NOT_LEADER_OR_FOLLOWER with the new leader), then waits
   * until the metadata names other leaders (at most a second more), so clients asking any broker find them.
   * Only live brokers (registered, unfenced, not shutting down) are given leaderships. Bounded by `timeoutMs`;
   * true when nothing replicated is led here any more. Stops the imbalance check first, so this broker does not
   * pull leaderships back while it leaves.
   */
  async handOverLeaderships(timeoutMs: number): Promise<boolean> {
    clearInterval(this.#timer);
    const started = Date.now();
    // Brokers stopping at once would otherwise hand leaderships to each other until the bound.
    await this.#announceStopping();
    const moved = await this.options.replicas.transferLeadershipAway(timeoutMs, this.isLive);
    const deadline = Math.min(started + timeoutMs, Date.now() + HANDOVER_METADATA_WAIT_MS);
    while (Date.now() < deadline && this.#namedLeaderHere()) {
      await new Promise((r) => setTimeout(r, IMAGE_POLL_MS));
    }
    const named = !this.#namedLeaderHere();
    this.options.logger.info("leaderships handed over before shutdown", {
      moved,
      metadata_updated: named,
      ms: Date.now() - started,
    });
    return moved && named;
  }

  /** Tells every other live broker that this one is stopping (a bounded wait; a broker not reached is not told). */
  async #announceStopping(): Promise<void> {
    const others = this.options.image.brokers().filter((b) => b.id !== this.options.nodeId && !b.fenced);
    await Promise.allSettled(
      others.map((b) => this.options.request(b.id, SHUTTING_DOWN_OP, {}, SHUTDOWN_NOTICE_TIMEOUT_MS)),
    );
  }

  /** True while the metadata names this broker leader of a partition it hosts as a follower now. */
  #namedLeaderHere(): boolean {
    for (const replica of this.options.replicas.all()) {
      if (!replica.replicated || replica.isLeader) continue;
      const p = this.options.image.topic(replica.topic)?.partitions[replica.partition];
      if (p?.leader === this.options.nodeId) return true;
    }
    return false;
  }
}
