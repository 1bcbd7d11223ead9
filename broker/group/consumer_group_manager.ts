/**
 * The thin shell around {@link ConsumerGroupCoordinator}: writes the records each change produces through the
 * sink (to `__consumer_offsets`) before the answer goes out, rebuilds the groups from those records on start,
 * and runs the session/rebalance expiry on a timer. Everything with a decision in it is in consumer_group.ts.
 *
 * @module
 */
import type { ConsumerGroupHeartbeatRequest } from "../../protocol/generated/messages/consumer_group_heartbeat_request.ts";
import type { ConsumerGroupHeartbeatResponse } from "../../protocol/generated/messages/consumer_group_heartbeat_response.ts";
import type { ConsumerGroupDescribeResponseDescribedGroup } from "../../protocol/generated/messages/consumer_group_describe_response.ts";
import { ErrorCode } from "../../protocol/messages.ts";
import {
  type ClientInfo,
  type ConsumerGroupConfig,
  ConsumerGroupCoordinator,
  type ConsumerGroupState,
  DEFAULT_CONSUMER_GROUP_CONFIG,
  type ExpiredMember,
  type TopicsView,
} from "./consumer_group.ts";
import {
  type ConsumerGroupRecord,
  type CoordinatorRecord,
  type CoordinatorRecordSink,
  decodeConsumerGroupRecord,
  encodeConsumerGroupRecord,
} from "./consumer_group_records.ts";

/** What {@link ConsumerGroupManager} needs from the broker. */
export interface ConsumerGroupManagerOptions {
  config?: ConsumerGroupConfig;
  /** Where records go: resolves once they are durable in `__consumer_offsets`. */
  sink: CoordinatorRecordSink;
  /** The current topics (the broker's MetadataImage satisfies this). */
  topics: TopicsView;
  /** See ConsumerGroupCoordinatorOptions.isGroupIdInUseElsewhere. */
  isGroupIdInUseElsewhere?: (groupId: string) => boolean;
  /** Makes member ids for members that join without one. */
  generateMemberId?: () => string;
  /** Told about members removed by expiry, for the broker's log. */
  onExpired?: (member: ExpiredMember) => void;
}

/**
 * The consumer groups (KIP-848) of the broker: what the ConsumerGroupHeartbeat and ConsumerGroupDescribe
 * handlers call.
 *
 * @example
 * ```ts ignore
 * const groups = new ConsumerGroupManager({ sink, topics: ctx.metadata });
 * const response = await groups.heartbeat(request.body, { clientId, clientHost, apiVersion }, Date.now());
 * ```
 */
export class ConsumerGroupManager {
  readonly coordinator: ConsumerGroupCoordinator;
  readonly #sink: CoordinatorRecordSink;
  readonly #topics: TopicsView;
  readonly #onExpired: (member: ExpiredMember) => void;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: ConsumerGroupManagerOptions) {
    this.coordinator = new ConsumerGroupCoordinator(options.config ?? DEFAULT_CONSUMER_GROUP_CONFIG, {
      generateMemberId: options.generateMemberId,
      isGroupIdInUseElsewhere: options.isGroupIdInUseElsewhere,
    });
    this.#sink = options.sink;
    this.#topics = options.topics;
    this.#onExpired = options.onExpired ?? (() => {});
  }

  async #write(records: ConsumerGroupRecord[]): Promise<void> {
    if (records.length > 0) await this.#sink.write(records.map(encodeConsumerGroupRecord));
  }

  /**
   * Answers a ConsumerGroupHeartbeat once its records are durable. If they cannot be written the member is told
   * COORDINATOR_NOT_AVAILABLE (retriable) and retries; the in-memory state already moved, as after a write that
   * succeeded without its answer arriving, which the protocol tolerates (previous-epoch acceptance, full
   * requests after errors).
   */
  async heartbeat(
    request: ConsumerGroupHeartbeatRequest,
    client: ClientInfo,
    nowMs: number,
  ): Promise<ConsumerGroupHeartbeatResponse> {
    const { response, records } = this.coordinator.heartbeat(request, client, nowMs, this.#topics);
    try {
      await this.#write(records);
    } catch (e) {
      return {
        ...response,
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: `The group records could not be written: ${(e as Error).message}`,
        memberId: null,
        memberEpoch: 0,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
    }
    return response;
  }

  /** ConsumerGroupDescribe's groups. */
  describe(groupIds: readonly string[], includeAuthorizedOperations = false): ConsumerGroupDescribeResponseDescribedGroup[] {
    return this.coordinator.describe(groupIds, this.#topics, includeAuthorizedOperations);
  }

  /** Removes members whose session or rebalance timeout passed; writes the records. */
  async expire(nowMs: number): Promise<ExpiredMember[]> {
    const { records, expired } = this.coordinator.expire(nowMs, this.#topics);
    for (const member of expired) this.#onExpired(member);
    await this.#write(records);
    return expired;
  }

  /** The earliest deadline (ms since the epoch), if any. */
  nextDeadlineMs(): number | undefined {
    return this.coordinator.nextDeadlineMs();
  }

  /**
   * Checks the deadlines every `periodMs` with `now()` until {@link close}. Expiry is at most `periodMs` late,
   * which Kafka's timer wheel also allows for.
   */
  startExpiryTimer(now: () => number, periodMs = 1000): void {
    if (this.#timer !== undefined) return;
    let running = false;
    const timer = setInterval(() => {
      const next = this.nextDeadlineMs();
      if (running || next === undefined || next > now()) return;
      running = true;
      this.expire(now()).catch(() => {}).finally(() => running = false);
    }, periodMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Stops the expiry timer. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Applies one record read back from `__consumer_offsets` on start. Returns false (and ignores it) when it is
   * not a consumer group record. Call {@link startSessions} when all are applied.
   */
  replay(record: CoordinatorRecord): boolean {
    const decoded = decodeConsumerGroupRecord(record);
    if (!decoded) return false;
    this.coordinator.replay(decoded);
    return true;
  }

  /** Gives every recovered member a full session from `nowMs`. */
  startSessions(nowMs: number): void {
    this.coordinator.startSessions(nowMs);
  }

  /** True when `groupId` is a consumer group (a group of the new protocol). */
  has(groupId: string): boolean {
    return this.coordinator.group(groupId) !== undefined;
  }

  /** ListGroups entries of the consumer groups. */
  listGroups(): { groupId: string; groupState: ConsumerGroupState; groupType: "consumer" }[] {
    return this.coordinator.listGroups();
  }

  /**
   * DeleteGroups for a consumer group: NONE (records written) or NON_EMPTY_GROUP; undefined when `groupId` is
   * not a consumer group. The caller also tombstones the group's committed offsets.
   */
  async deleteGroup(groupId: string): Promise<number | undefined> {
    const result = this.coordinator.deleteGroup(groupId);
    if (!result) return undefined;
    await this.#write(result.records);
    return result.errorCode;
  }

  /** See ConsumerGroupCoordinator.validateOffsetCommit. */
  validateOffsetCommit(groupId: string, memberId: string, memberEpoch: number): number | undefined {
    return this.coordinator.validateOffsetCommit(groupId, memberId, memberEpoch);
  }

  /** See ConsumerGroupCoordinator.validateOffsetFetch. */
  validateOffsetFetch(groupId: string, memberId: string | null, memberEpoch: number): number | undefined {
    return this.coordinator.validateOffsetFetch(groupId, memberId, memberEpoch);
  }
}

/**
 * The broker's ConsumerGroupManager, read from the handler context's `consumerGroups` member (undefined until
 * the broker wires one; the handlers then answer COORDINATOR_NOT_AVAILABLE).
 *
 * @example
 * ```ts ignore
 * const groups = consumerGroupsOf(ctx);
 * ```
 */
export function consumerGroupsOf(ctx: object): ConsumerGroupManager | undefined {
  const groups = (ctx as { consumerGroups?: unknown }).consumerGroups;
  return groups instanceof ConsumerGroupManager ? groups : undefined;
}
