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

/**
 * The hooks a classic group coordinator calls for consumer groups; structurally the `GroupExtension` of
 * group_coordinator.ts (kept here as a type so this file does not depend on the classic coordinator).
 */
export interface ConsumerGroupExtension {
  has(groupId: string): boolean;
  replay(record: { keyVersion: number; key: Uint8Array; value: Uint8Array | null }): void;
  list(): { groupId: string; protocolType: string; groupState: string; groupType: string }[];
  validateOffsetCommit(groupId: string, memberId: string, memberEpoch: number): number;
  deleteGroup(groupId: string): { errorCode: number; records: CoordinatorRecord[] };
  unload(belongs: (groupId: string) => boolean): void;
  loaded(nowMs: number): void;
}

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

  /** Writes records, one append per group; resolves with the first error code, NONE when all are durable. */
  async #write(records: readonly ConsumerGroupRecord[]): Promise<number> {
    const byGroup = new Map<string, CoordinatorRecord[]>();
    for (const record of records) {
      let list = byGroup.get(record.groupId);
      if (!list) byGroup.set(record.groupId, list = []);
      list.push(encodeConsumerGroupRecord(record));
    }
    let result: number = ErrorCode.NONE;
    for (const [groupId, list] of byGroup) {
      let code: number;
      try {
        code = await this.#sink.write(groupId, list);
      } catch {
        code = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
      if (result === ErrorCode.NONE) result = code;
    }
    return result;
  }

  /**
   * Answers a ConsumerGroupHeartbeat once its records are durable. If they cannot be written the member gets the
   * sink's error (COORDINATOR_NOT_AVAILABLE when it threw) and retries; the in-memory state already moved, as
   * after a write that succeeded without its answer arriving, which the protocol tolerates (previous-epoch
   * acceptance, full requests after errors).
   */
  async heartbeat(
    request: ConsumerGroupHeartbeatRequest,
    client: ClientInfo,
    nowMs: number,
  ): Promise<ConsumerGroupHeartbeatResponse> {
    const { response, records } = this.coordinator.heartbeat(request, client, nowMs, this.#topics);
    const errorCode = await this.#write(records);
    if (errorCode !== ErrorCode.NONE) {
      return {
        ...response,
        errorCode,
        errorMessage: null,
        memberId: null,
        memberEpoch: 0,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
    }
    return response;
  }

  /** ConsumerGroupDescribe's groups. */
  describe(
    groupIds: readonly string[],
    includeAuthorizedOperations = false,
  ): ConsumerGroupDescribeResponseDescribedGroup[] {
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
   * which Kafka's timer wheel also allows for. Starts the sessions of recovered members first, so call it once
   * the records of `__consumer_offsets` are replayed.
   */
  startExpiryTimer(now: () => number, periodMs = 1000): void {
    if (this.#timer !== undefined) return;
    this.startSessions(now());
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
    if (result.errorCode !== ErrorCode.NONE) return result.errorCode;
    return await this.#write(result.records);
  }

  /** See ConsumerGroupCoordinator.validateOffsetCommit. */
  validateOffsetCommit(groupId: string, memberId: string, memberEpoch: number): number | undefined {
    return this.coordinator.validateOffsetCommit(groupId, memberId, memberEpoch);
  }

  /**
   * The hooks the classic GroupCoordinator calls for consumer groups (its `GroupExtension`): `has`, `replay` of
   * key versions 3+ at load, ListGroups entries, OffsetCommit validation, DeleteGroups, and the load and unload
   * of an offsets partition's groups when this broker gains or loses its leadership.
   */
  groupExtension(): ConsumerGroupExtension {
    return {
      has: (groupId) => this.has(groupId),
      replay: (record) => {
        this.replay({ key: record.key, value: record.value });
      },
      list: () =>
        this.listGroups().map((g) => ({
          groupId: g.groupId,
          protocolType: "consumer",
          groupState: g.groupState,
          groupType: "consumer",
        })),
      validateOffsetCommit: (groupId, memberId, memberEpoch) =>
        this.validateOffsetCommit(groupId, memberId, memberEpoch) ?? ErrorCode.NONE,
      deleteGroup: (groupId) => {
        const result = this.coordinator.deleteGroup(groupId);
        if (!result) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, records: [] };
        return { errorCode: result.errorCode, records: result.records.map(encodeConsumerGroupRecord) };
      },
      unload: (belongs) => {
        this.coordinator.unload(belongs);
      },
      loaded: (nowMs) => this.startSessions(nowMs),
    };
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
