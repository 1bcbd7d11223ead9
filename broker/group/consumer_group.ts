/**
 * The consumer group protocol of KIP-848 as a pure state machine: ConsumerGroupHeartbeat requests, the time and
 * the topics in; responses, the records to persist and deadlines out. No timers, no sockets, no clock: the
 * caller (consumer_group_manager.ts) writes the records and calls {@link ConsumerGroupCoordinator.expire} when
 * {@link ConsumerGroupCoordinator.nextDeadlineMs} has passed.
 *
 * Every change goes through records: a heartbeat computes the records Kafka would write (group epoch, member
 * metadata, subscribed topic metadata, target assignment, current member assignment), then applies them with
 * {@link ConsumerGroupCoordinator.replay}, the same function that rebuilds the state from `__consumer_offsets`.
 * So what is recovered is exactly what was served. All validation happens before the first record is applied,
 * so a rejected heartbeat changes nothing.
 *
 * How a rebalance runs (Kafka's GroupMetadataManager and CurrentAssignmentBuilder):
 * - A change of membership, subscriptions or subscribed topics' partition counts bumps the group epoch.
 * - The next heartbeat of any member computes a new target assignment with the group's assignor; the
 *   assignment epoch becomes the group epoch.
 * - Each member then reconciles, on its own heartbeats, from its current assignment toward its target:
 *   partitions it must give up are first revoked (state UNREVOKED_PARTITIONS, the member keeps its epoch) and
 *   only count as released once the member heartbeats without them; then it moves to the assignment epoch,
 *   gets the partitions that are free, and waits (UNRELEASED_PARTITIONS) for the ones other members still hold.
 *   A partition is therefore never owned by two members at once.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/messages.ts";
import type { ConsumerGroupHeartbeatRequest } from "../../protocol/generated/messages/consumer_group_heartbeat_request.ts";
import type {
  ConsumerGroupHeartbeatResponse,
  ConsumerGroupHeartbeatResponseTopicPartitions,
} from "../../protocol/generated/messages/consumer_group_heartbeat_response.ts";
import type {
  ConsumerGroupDescribeResponseAssignment,
  ConsumerGroupDescribeResponseDescribedGroup,
} from "../../protocol/generated/messages/consumer_group_describe_response.ts";
import { CONSUMER_GROUP_ASSIGNORS, type ConsumerGroupAssignor, type TopicPartitions } from "./assignors.ts";
import type { ConsumerGroupRecord } from "./consumer_group_records.ts";

export type { TopicPartitions } from "./assignors.ts";

/** A member's reconciliation state, with Kafka's byte values (MemberState). */
export const MemberState = { STABLE: 0, UNREVOKED_PARTITIONS: 1, UNRELEASED_PARTITIONS: 2 } as const;
/** See {@link MemberState}. */
export type MemberState = typeof MemberState[keyof typeof MemberState];

/** The state of a consumer group as ConsumerGroupDescribe and ListGroups name it. */
export type ConsumerGroupState = "Empty" | "Assigning" | "Reconciling" | "Stable" | "Dead";

/** The member epoch a member sends to leave the group. */
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
/** The member epoch a static member sends to leave for now, keeping its place for a rejoin under its instance id. */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

/** Settings, by Kafka's property names. */
export interface ConsumerGroupConfig {
  /** `group.consumer.heartbeat.interval.ms`. */
  heartbeatIntervalMs: number;
  /** `group.consumer.session.timeout.ms`. */
  sessionTimeoutMs: number;
  /** `group.consumer.assignors`: the first is the default. Names of {@link CONSUMER_GROUP_ASSIGNORS}. */
  assignors: readonly string[];
  /** `group.consumer.max.size`. */
  maxSize: number;
}

/** Kafka's defaults. */
export const DEFAULT_CONSUMER_GROUP_CONFIG: ConsumerGroupConfig = {
  heartbeatIntervalMs: 5000,
  sessionTimeoutMs: 45000,
  assignors: ["uniform", "range"],
  maxSize: 2147483647,
};

/**
 * The settings from a broker configuration (BrokerConfig has `get`): Kafka's property names, Kafka's defaults
 * for what is not set or not a number.
 *
 * @example
 * ```ts
 * import { consumerGroupConfigFrom } from "./consumer_group.ts";
 * const settings = new Map([["group.consumer.assignors", "range, uniform"]]);
 * consumerGroupConfigFrom({ get: (name) => settings.get(name) }).assignors; // ["range", "uniform"]
 * ```
 */
export function consumerGroupConfigFrom(config: { get(name: string): string | undefined }): ConsumerGroupConfig {
  const int = (name: string, fallback: number) => {
    const n = Number(config.get(name));
    return config.get(name) !== undefined && Number.isInteger(n) && n > 0 ? n : fallback;
  };
  const assignors = (config.get("group.consumer.assignors") ?? "").split(",").map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");
  const d = DEFAULT_CONSUMER_GROUP_CONFIG;
  return {
    heartbeatIntervalMs: int("group.consumer.heartbeat.interval.ms", d.heartbeatIntervalMs),
    sessionTimeoutMs: int("group.consumer.session.timeout.ms", d.sessionTimeoutMs),
    assignors: assignors.length > 0 ? assignors : d.assignors,
    maxSize: int("group.consumer.max.size", d.maxSize),
  };
}

/** The topics as the coordinator sees them: a subset of MetadataImage. */
export interface TopicsView {
  topic(name: string): { name: string; topicId: string; partitions: readonly unknown[] } | undefined;
  topicById(topicId: string): { name: string; topicId: string; partitions: readonly unknown[] } | undefined;
  topics(): readonly { name: string; topicId: string; partitions: readonly unknown[] }[];
}

/** Who sent a heartbeat. */
export interface ClientInfo {
  clientId: string;
  clientHost: string;
  /** The request's API version. */
  apiVersion: number;
}

/** One member of a consumer group. */
export interface ConsumerGroupMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  /** Sorted. */
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  memberEpoch: number;
  previousMemberEpoch: number;
  state: MemberState;
  /** The partitions the member owns and may consume. */
  assignedPartitions: TopicPartitions;
  /** The partitions the member must give up before moving to the next epoch. */
  partitionsPendingRevocation: TopicPartitions;
}

/** A subscribed topic as the group last saw it (ConsumerGroupPartitionMetadata). */
export interface SubscribedTopic {
  topicName: string;
  numPartitions: number;
}

/** One consumer group. */
export class ConsumerGroup {
  readonly groupId: string;
  groupEpoch = 0;
  /** The group epoch the target assignment was computed at. */
  assignmentEpoch = 0;
  readonly members = new Map<string, ConsumerGroupMember>();
  /** Target assignment by member id. */
  readonly targetAssignment = new Map<string, TopicPartitions>();
  /** Subscribed topics by topic id. */
  subscriptionMetadata = new Map<string, SubscribedTopic>();
  /** Epoch of the member owning each partition (assigned or pending revocation); absent means free. */
  readonly partitionEpochs = new Map<string, Map<number, number>>();
  /** When each member's session expires (ms); not persisted. */
  readonly sessionDeadlines = new Map<string, number>();
  /** When a member still revoking at `memberEpoch` is fenced (ms); not persisted. */
  readonly rebalanceDeadlines = new Map<string, { memberEpoch: number; deadlineMs: number }>();

  constructor(groupId: string) {
    this.groupId = groupId;
  }

  /** The member holding `instanceId`, if any. */
  staticMember(instanceId: string): ConsumerGroupMember | undefined {
    for (const m of this.members.values()) if (m.instanceId === instanceId) return m;
    return undefined;
  }

  /** The epoch of the member owning a partition, or -1 when it is free. */
  partitionEpoch(topicId: string, partition: number): number {
    return this.partitionEpochs.get(topicId)?.get(partition) ?? -1;
  }

  /** Kafka's ConsumerGroup state. */
  state(): ConsumerGroupState {
    if (this.members.size === 0) return "Empty";
    if (this.groupEpoch > this.assignmentEpoch) return "Assigning";
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== MemberState.STABLE) return "Reconciling";
    }
    return "Stable";
  }
}

/** A Kafka error a request is answered with. */
export class ConsumerGroupError extends Error {
  readonly errorCode: number;
  constructor(errorCode: number, message: string) {
    super(message);
    this.name = "ConsumerGroupError";
    this.errorCode = errorCode;
  }
}

/** What a heartbeat produced: the answer, and the records that must be durable before it is sent. */
export interface HeartbeatResult {
  response: ConsumerGroupHeartbeatResponse;
  records: ConsumerGroupRecord[];
}

/** A member removed by {@link ConsumerGroupCoordinator.expire}. */
export interface ExpiredMember {
  groupId: string;
  memberId: string;
  reason: "session_timeout" | "rebalance_timeout";
}

/** Options of {@link ConsumerGroupCoordinator}. */
export interface ConsumerGroupCoordinatorOptions {
  /** Makes member ids for members that join without one (clients before KIP-1082). */
  generateMemberId?: () => string;
  /**
   * True when `groupId` is in use by another kind of group (a classic group with members): the consumer group
   * protocol then answers GROUP_ID_NOT_FOUND, as Kafka does. Group ids are one namespace.
   */
  isGroupIdInUseElsewhere?: (groupId: string) => boolean;
}

/** `authorizedOperations` of a group with no authorizer: READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS. */
export const GROUP_OPERATIONS_ALL = (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11);
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

// ---- partition-set helpers

/** A ConsumerGroupDescribe entry that carries only an error. */
export function describedGroupError(
  groupId: string,
  errorCode: number,
  errorMessage: string | null,
): ConsumerGroupDescribeResponseDescribedGroup {
  return {
    errorCode,
    errorMessage,
    groupId,
    groupState: "",
    groupEpoch: 0,
    assignmentEpoch: 0,
    assignorName: "",
    members: [],
    authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function copyPartitions(a: ReadonlyMap<string, ReadonlySet<number>>): TopicPartitions {
  return new Map([...a].map(([t, ps]) => [t, new Set(ps)]));
}

function samePartitions(a: ReadonlyMap<string, ReadonlySet<number>>, b: ReadonlyMap<string, ReadonlySet<number>>) {
  let sizeA = 0;
  for (const [t, ps] of a) {
    if (ps.size === 0) continue;
    sizeA++;
    const other = b.get(t);
    if (!other || other.size !== ps.size) return false;
    for (const p of ps) if (!other.has(p)) return false;
  }
  let sizeB = 0;
  for (const ps of b.values()) if (ps.size > 0) sizeB++;
  return sizeA === sizeB;
}

function fromWire(list: readonly { topicId: string; partitions: readonly number[] }[]): TopicPartitions {
  const out: TopicPartitions = new Map();
  for (const { topicId, partitions } of list) {
    if (partitions.length === 0) continue;
    let set = out.get(topicId);
    if (!set) out.set(topicId, set = new Set());
    for (const p of partitions) set.add(p);
  }
  return out;
}

function toWire(a: ReadonlyMap<string, ReadonlySet<number>>): { topicId: string; partitions: number[] }[] {
  return [...a].filter(([, ps]) => ps.size > 0).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map((
    [topicId, ps],
  ) => ({ topicId, partitions: [...ps].sort((x, y) => x - y) }));
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

// ---- regular expressions

/**
 * Compiles a `subscribedTopicRegex` (RE2/J syntax in Kafka) to a JavaScript RegExp matching whole topic names.
 * Limits: a leading `(?i)` becomes the `i` flag; other inline flags, `\Q...\E`, `\p{..}` classes beyond what
 * JavaScript's `u` mode knows, and possessive quantifiers are rejected as invalid. Throws ConsumerGroupError
 * INVALID_REGULAR_EXPRESSION.
 *
 * @example
 * ```ts
 * import { compileTopicRegex } from "./consumer_group.ts";
 * compileTopicRegex("orders-.*").test("orders-eu"); // true
 * compileTopicRegex("orders").test("orders-eu"); // false: Kafka matches the whole name
 * ```
 */
export function compileTopicRegex(regex: string): RegExp {
  let body = regex;
  let flags = "u";
  if (body.startsWith("(?i)")) {
    body = body.slice(4);
    flags += "i";
  }
  try {
    return new RegExp(`^(?:${body})$`, flags);
  } catch (e) {
    throw new ConsumerGroupError(
      ErrorCode.INVALID_REGULAR_EXPRESSION,
      `SubscribedTopicRegex \`${regex}\` is not a valid regular expression: ${(e as Error).message}.`,
    );
  }
}

/**
 * The consumer groups of this coordinator.
 *
 * @example
 * ```ts
 * import { ConsumerGroupCoordinator, DEFAULT_CONSUMER_GROUP_CONFIG } from "./consumer_group.ts";
 * import { MetadataImage } from "../metadata_image.ts";
 * const coordinator = new ConsumerGroupCoordinator(DEFAULT_CONSUMER_GROUP_CONFIG);
 * const { response } = coordinator.heartbeat(
 *   {
 *     groupId: "g", memberId: "m1", memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30000,
 *     subscribedTopicNames: [], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [],
 *   },
 *   { clientId: "c", clientHost: "/127.0.0.1", apiVersion: 1 },
 *   0,
 *   new MetadataImage(),
 * );
 * response.memberEpoch; // 1
 * ```
 */
export class ConsumerGroupCoordinator {
  readonly config: ConsumerGroupConfig;
  readonly #groups = new Map<string, ConsumerGroup>();
  readonly #generateMemberId: () => string;
  readonly #inUseElsewhere: (groupId: string) => boolean;

  constructor(
    config: ConsumerGroupConfig = DEFAULT_CONSUMER_GROUP_CONFIG,
    options: ConsumerGroupCoordinatorOptions = {},
  ) {
    for (const name of config.assignors) {
      if (!CONSUMER_GROUP_ASSIGNORS.has(name)) throw new Error(`unknown consumer group assignor ${name}`);
    }
    if (config.assignors.length === 0) throw new Error("group.consumer.assignors is empty");
    this.config = config;
    this.#generateMemberId = options.generateMemberId ?? (() => crypto.randomUUID());
    this.#inUseElsewhere = options.isGroupIdInUseElsewhere ?? (() => false);
  }

  /** The group `groupId`, if it exists. */
  group(groupId: string): ConsumerGroup | undefined {
    return this.#groups.get(groupId);
  }

  /** Every group. */
  groups(): ConsumerGroup[] {
    return [...this.#groups.values()];
  }

  /**
   * Forgets the groups `belongs` selects (their `__consumer_offsets` partition is led by another broker now):
   * their members' deadlines go with them, and their next heartbeat is answered by the coordinator's shell.
   * Returns how many were dropped.
   */
  unload(belongs: (groupId: string) => boolean): number {
    let dropped = 0;
    for (const groupId of [...this.#groups.keys()]) {
      if (!belongs(groupId)) continue;
      this.#groups.delete(groupId);
      dropped++;
    }
    return dropped;
  }

  // ---- ConsumerGroupHeartbeat

  /** Answers one ConsumerGroupHeartbeat at time `nowMs`. */
  heartbeat(
    request: ConsumerGroupHeartbeatRequest,
    client: ClientInfo,
    nowMs: number,
    topics: TopicsView,
  ): HeartbeatResult {
    try {
      this.#validate(request, client.apiVersion);
      if (
        request.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || request.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH
      ) {
        return this.#leave(request, topics);
      }
      return this.#joinOrHeartbeat(request, client, nowMs, topics);
    } catch (e) {
      if (!(e instanceof ConsumerGroupError)) throw e;
      return {
        response: {
          throttleTimeMs: 0,
          errorCode: e.errorCode,
          errorMessage: e.message,
          memberId: null,
          memberEpoch: 0,
          heartbeatIntervalMs: 0,
          assignment: null,
        },
        records: [],
      };
    }
  }

  #validate(r: ConsumerGroupHeartbeatRequest, apiVersion: number): void {
    const invalid = (message: string) => new ConsumerGroupError(ErrorCode.INVALID_REQUEST, message);
    if (r.groupId === "") throw invalid("GroupId can't be empty.");
    // From v1 the client makes its own member id (KIP-1082); v0 clients join without one and are given one.
    if (apiVersion >= 1 && r.memberId === "") throw invalid("MemberId can't be empty.");
    if (r.instanceId === "") throw invalid("InstanceId can't be empty.");
    if (r.rackId === "") throw invalid("RackId can't be empty.");
    if (r.memberEpoch > 0 || r.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) {
      if (r.memberId === "") throw invalid("MemberId can't be empty.");
    } else if (r.memberEpoch === 0) {
      if (r.rebalanceTimeoutMs === -1) throw invalid("RebalanceTimeoutMs must be provided in first request.");
      if (r.topicPartitions === null || r.topicPartitions.length > 0) {
        throw invalid("TopicPartitions must be empty when (re-)joining.");
      }
      if (r.subscribedTopicNames === null && r.subscribedTopicRegex === null) {
        throw invalid("Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.");
      }
    } else if (r.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      if (r.memberId === "") throw invalid("MemberId can't be empty.");
      if (r.instanceId === null) throw invalid("InstanceId can't be null.");
    } else {
      throw invalid(`MemberEpoch is invalid.`);
    }
    if (r.subscribedTopicRegex !== null && r.subscribedTopicRegex !== "") compileTopicRegex(r.subscribedTopicRegex);
    if (r.serverAssignor !== null && !this.config.assignors.includes(r.serverAssignor)) {
      throw new ConsumerGroupError(
        ErrorCode.UNSUPPORTED_ASSIGNOR,
        `ServerAssignor ${r.serverAssignor} is not supported. Supported assignors: ${
          this.config.assignors.join(", ")
        }.`,
      );
    }
  }

  #leave(r: ConsumerGroupHeartbeatRequest, topics: TopicsView): HeartbeatResult {
    const group = this.#groups.get(r.groupId);
    if (!group) throw new ConsumerGroupError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${r.groupId} not found.`);
    let member: ConsumerGroupMember | undefined;
    if (r.instanceId === null) {
      member = group.members.get(r.memberId);
      if (!member) throw unknownMember(r.memberId, r.groupId);
    } else {
      member = group.staticMember(r.instanceId);
      if (!member) throw unknownStaticMember(r.instanceId, r.groupId);
      if (member.memberId !== r.memberId) throw fencedInstance(r.instanceId, r.memberId, member.memberId);
    }
    let records: ConsumerGroupRecord[];
    if (r.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      // The static member keeps its assignment for its next incarnation; its session keeps running.
      records = [
        currentAssignmentRecord(group.groupId, { ...member, ...epochs(member, LEAVE_GROUP_STATIC_MEMBER_EPOCH) }),
      ];
    } else {
      records = this.#removalRecords(group, member.memberId, topics);
    }
    this.#applyAll(records);
    if (r.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) {
      group.sessionDeadlines.delete(member.memberId);
      group.rebalanceDeadlines.delete(member.memberId);
    }
    return {
      response: {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        memberId: r.memberId,
        memberEpoch: r.memberEpoch,
        heartbeatIntervalMs: 0,
        assignment: null,
      },
      records,
    };
  }

  #joinOrHeartbeat(
    r: ConsumerGroupHeartbeatRequest,
    client: ClientInfo,
    nowMs: number,
    topics: TopicsView,
  ): HeartbeatResult {
    const existing = this.#groups.get(r.groupId);
    if (!existing && r.memberEpoch !== 0) {
      throw new ConsumerGroupError(ErrorCode.GROUP_ID_NOT_FOUND, `Consumer group ${r.groupId} not found.`);
    }
    if (!existing && this.#inUseElsewhere(r.groupId)) {
      throw new ConsumerGroupError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${r.groupId} is not a consumer group.`);
    }
    const group = existing ?? new ConsumerGroup(r.groupId);
    const memberId = r.memberId !== "" ? r.memberId : this.#generateMemberId();

    // Kafka checks the size first: a full group takes no one it does not already know.
    if (group.members.size >= this.config.maxSize && (r.memberId === "" || !group.members.has(r.memberId))) {
      throw new ConsumerGroupError(
        ErrorCode.GROUP_MAX_SIZE_REACHED,
        `The consumer group has reached its maximum capacity of ${this.config.maxSize} members.`,
      );
    }

    // Who is this member? A known member's epoch is checked even when it sends 0: only a member whose first
    // response was lost (previous epoch 0) may join again under its id; any other is fenced.
    let member: ConsumerGroupMember | undefined;
    let replaced: ConsumerGroupMember | undefined; // a static member that left with -2, taken over now
    if (r.instanceId === null) {
      member = group.members.get(memberId);
      if (!member && r.memberEpoch !== 0) throw unknownMember(memberId, r.groupId);
      if (member) checkMemberEpoch(member, r.memberEpoch, r.topicPartitions);
    } else {
      const holder = group.staticMember(r.instanceId);
      if (r.memberEpoch === 0) {
        if (!holder) {
          member = group.members.get(memberId);
          if (member) checkMemberEpoch(member, r.memberEpoch, r.topicPartitions);
        } else if (holder.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) replaced = holder;
        else {
          throw new ConsumerGroupError(
            ErrorCode.UNRELEASED_INSTANCE_ID,
            `Static member ${memberId} with instance id ${r.instanceId} cannot join the group because the instance ` +
              `id is owned by ${holder.memberId} member.`,
          );
        }
      } else {
        if (!holder) throw unknownStaticMember(r.instanceId, r.groupId);
        if (holder.memberId !== memberId) throw fencedInstance(r.instanceId, memberId, holder.memberId);
        member = holder;
        checkMemberEpoch(member, r.memberEpoch, r.topicPartitions);
      }
    }

    const records: ConsumerGroupRecord[] = [];
    // A replacing static member takes over its predecessor's epoch (from before it left) and assignment.
    const before: ConsumerGroupMember = member ??
      (replaced ? { ...replaced, memberId, memberEpoch: replaced.previousMemberEpoch } : newMember(memberId));
    const updated: ConsumerGroupMember = {
      ...before,
      instanceId: r.instanceId ?? before.instanceId,
      rackId: r.rackId ?? before.rackId,
      rebalanceTimeoutMs: r.rebalanceTimeoutMs !== -1 ? r.rebalanceTimeoutMs : before.rebalanceTimeoutMs,
      subscribedTopicNames: r.subscribedTopicNames !== null
        ? [...new Set(r.subscribedTopicNames)].sort()
        : before.subscribedTopicNames,
      subscribedTopicRegex: r.subscribedTopicRegex !== null
        ? (r.subscribedTopicRegex === "" ? null : r.subscribedTopicRegex)
        : before.subscribedTopicRegex,
      serverAssignor: r.serverAssignor ?? before.serverAssignor,
      clientId: client.clientId,
      clientHost: client.clientHost,
    };

    if (replaced) {
      records.push(...memberTombstones(group.groupId, replaced.memberId));
      records.push(memberMetadataRecord(group.groupId, updated));
      records.push(targetAssignmentRecord(group.groupId, memberId, group.targetAssignment.get(replaced.memberId)));
    } else if (!member || memberMetadataChanged(member, updated)) {
      records.push(memberMetadataRecord(group.groupId, updated));
    }

    // The members as they will be, for subscriptions and the target assignment.
    const members = new Map(group.members);
    if (replaced) members.delete(replaced.memberId);
    members.set(memberId, updated);

    const prior = member ?? replaced;
    const subscriptionChanged = !prior ||
      !sameStrings(prior.subscribedTopicNames, updated.subscribedTopicNames) ||
      prior.subscribedTopicRegex !== updated.subscribedTopicRegex;
    const metadata = subscribedTopics(members.values(), topics);
    const metadataChanged = !sameSubscriptionMetadata(metadata, group.subscriptionMetadata);
    if (metadataChanged) records.push(partitionMetadataRecord(group.groupId, metadata));

    let groupEpoch = group.groupEpoch;
    if (subscriptionChanged || metadataChanged) {
      groupEpoch++;
      records.push({ type: "group_metadata", groupId: group.groupId, value: { epoch: groupEpoch } });
    }

    // A new target assignment when the group epoch moved past it.
    let assignmentEpoch = group.assignmentEpoch;
    let target: TopicPartitions = copyPartitions(
      group.targetAssignment.get(replaced ? replaced.memberId : memberId) ?? new Map(),
    );
    if (groupEpoch > group.assignmentEpoch) {
      const assignor = this.#assignorFor(members.values());
      const currentTargets = new Map(group.targetAssignment);
      if (replaced) {
        currentTargets.set(memberId, currentTargets.get(replaced.memberId) ?? new Map());
        currentTargets.delete(replaced.memberId);
      }
      const newTargets = assignor.assign({
        members: [...members.values()].map((m) => ({
          memberId: m.memberId,
          subscribedTopicIds: subscribedTopicIds(m, metadata, topics),
          assignment: currentTargets.get(m.memberId) ?? new Map(),
        })),
        partitionCounts: new Map([...metadata].map(([id, t]) => [id, t.numPartitions])),
      });
      for (const [id, assignment] of newTargets) {
        const old = currentTargets.get(id);
        if (!old || !samePartitions(old, assignment) || (id === memberId && !member && !replaced)) {
          records.push(targetAssignmentRecord(group.groupId, id, assignment));
        }
      }
      assignmentEpoch = groupEpoch;
      records.push({ type: "target_assignment_metadata", groupId: group.groupId, value: { assignmentEpoch } });
      target = newTargets.get(memberId) ?? new Map();
    }

    // Reconcile this member toward its target.
    const reconciled = reconcile(updated, assignmentEpoch, target, r.topicPartitions, (t, p) => {
      const epoch = group.partitionEpoch(t, p);
      // A partition this member is still revoking does not wait on anyone else.
      return updated.partitionsPendingRevocation.get(t)?.has(p) || updated.assignedPartitions.get(t)?.has(p)
        ? -1
        : epoch;
    });
    const assignmentChanged = !member || replaced !== undefined || reconciled.memberEpoch !== before.memberEpoch ||
      reconciled.previousMemberEpoch !== before.previousMemberEpoch || reconciled.state !== before.state ||
      !samePartitions(reconciled.assignedPartitions, before.assignedPartitions) ||
      !samePartitions(reconciled.partitionsPendingRevocation, before.partitionsPendingRevocation);
    if (assignmentChanged) records.push(currentAssignmentRecord(group.groupId, reconciled));

    // Apply, then the timers.
    if (!existing) this.#groups.set(group.groupId, group);
    this.#applyAll(records);
    if (replaced) {
      group.sessionDeadlines.delete(replaced.memberId);
      group.rebalanceDeadlines.delete(replaced.memberId);
    }
    group.sessionDeadlines.set(memberId, nowMs + this.config.sessionTimeoutMs);
    if (reconciled.state === MemberState.UNREVOKED_PARTITIONS) {
      const pending = group.rebalanceDeadlines.get(memberId);
      if (!pending || pending.memberEpoch !== reconciled.memberEpoch) {
        group.rebalanceDeadlines.set(memberId, {
          memberEpoch: reconciled.memberEpoch,
          deadlineMs: nowMs + Math.max(0, reconciled.rebalanceTimeoutMs),
        });
      }
    } else {
      group.rebalanceDeadlines.delete(memberId);
    }

    // The assignment goes out when it changed, or when the member may have lost track of it.
    const fullRequest = r.rebalanceTimeoutMs !== -1 &&
      (r.subscribedTopicNames !== null || r.subscribedTopicRegex !== null) && r.topicPartitions !== null;
    const sendAssignment = r.memberEpoch === 0 || fullRequest || !member ||
      !samePartitions(reconciled.assignedPartitions, before.assignedPartitions);
    return {
      response: {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        memberId,
        memberEpoch: reconciled.memberEpoch,
        heartbeatIntervalMs: this.config.heartbeatIntervalMs,
        assignment: sendAssignment
          ? {
            topicPartitions: toWire(reconciled.assignedPartitions) as ConsumerGroupHeartbeatResponseTopicPartitions[],
          }
          : null,
      },
      records,
    };
  }

  /** The group's assignor: the one most members asked for, else the first configured (Kafka's preference). */
  #assignorFor(members: Iterable<ConsumerGroupMember>): ConsumerGroupAssignor {
    return CONSUMER_GROUP_ASSIGNORS.get(this.#preferredAssignorName(members))!;
  }

  #preferredAssignorName(members: Iterable<ConsumerGroupMember>): string {
    const counts = new Map<string, number>();
    for (const m of members) {
      if (m.serverAssignor !== null) counts.set(m.serverAssignor, (counts.get(m.serverAssignor) ?? 0) + 1);
    }
    let best: string | undefined;
    for (const [name, n] of counts) {
      if (best === undefined || n > counts.get(best)! || (n === counts.get(best)! && name < best)) best = name;
    }
    return best ?? this.config.assignors[0];
  }

  /** Records removing a member (tombstones, subscription metadata, group epoch bump), as Kafka's fencing writes. */
  #removalRecords(group: ConsumerGroup, memberId: string, topics: TopicsView): ConsumerGroupRecord[] {
    const records = memberTombstones(group.groupId, memberId);
    const remaining = [...group.members.values()].filter((m) => m.memberId !== memberId);
    const metadata = subscribedTopics(remaining, topics);
    if (!sameSubscriptionMetadata(metadata, group.subscriptionMetadata)) {
      records.push(partitionMetadataRecord(group.groupId, metadata));
    }
    records.push({ type: "group_metadata", groupId: group.groupId, value: { epoch: group.groupEpoch + 1 } });
    return records;
  }

  #applyAll(records: readonly ConsumerGroupRecord[]): void {
    for (const record of records) this.replay(record);
  }

  // ---- timers

  /** The earliest session or rebalance deadline of any member (ms), or undefined when there is none. */
  nextDeadlineMs(): number | undefined {
    let next: number | undefined;
    for (const group of this.#groups.values()) {
      for (const d of group.sessionDeadlines.values()) if (next === undefined || d < next) next = d;
      for (const { deadlineMs } of group.rebalanceDeadlines.values()) {
        if (next === undefined || deadlineMs < next) next = deadlineMs;
      }
    }
    return next;
  }

  /**
   * Starts the session timers of members that have none (after {@link replay} rebuilt the groups): each gets a
   * full session from `nowMs` to heartbeat again, as Kafka does when a coordinator loads its groups.
   */
  startSessions(nowMs: number): void {
    for (const group of this.#groups.values()) {
      for (const memberId of group.members.keys()) {
        if (!group.sessionDeadlines.has(memberId)) {
          group.sessionDeadlines.set(memberId, nowMs + this.config.sessionTimeoutMs);
        }
      }
    }
  }

  /**
   * Removes the members whose session expired (no heartbeat for `group.consumer.session.timeout.ms`) or that did
   * not revoke partitions within their rebalance timeout; their partitions become free for the others.
   */
  expire(nowMs: number, topics: TopicsView): { records: ConsumerGroupRecord[]; expired: ExpiredMember[] } {
    const records: ConsumerGroupRecord[] = [];
    const expired: ExpiredMember[] = [];
    for (const group of this.#groups.values()) {
      for (const member of [...group.members.values()]) {
        let reason: ExpiredMember["reason"] | undefined;
        const session = group.sessionDeadlines.get(member.memberId);
        const rebalance = group.rebalanceDeadlines.get(member.memberId);
        if (session !== undefined && session <= nowMs) reason = "session_timeout";
        else if (
          rebalance !== undefined && rebalance.deadlineMs <= nowMs &&
          member.state === MemberState.UNREVOKED_PARTITIONS && member.memberEpoch === rebalance.memberEpoch
        ) reason = "rebalance_timeout";
        if (rebalance !== undefined && reason === undefined && rebalance.deadlineMs <= nowMs) {
          group.rebalanceDeadlines.delete(member.memberId); // stale: the member moved on
        }
        if (reason === undefined) continue;
        const removal = this.#removalRecords(group, member.memberId, topics);
        this.#applyAll(removal);
        records.push(...removal);
        group.sessionDeadlines.delete(member.memberId);
        group.rebalanceDeadlines.delete(member.memberId);
        expired.push({ groupId: group.groupId, memberId: member.memberId, reason });
      }
    }
    return { records, expired };
  }

  // ---- other APIs

  /** ConsumerGroupDescribe's answer for each group id, in order. */
  describe(
    groupIds: readonly string[],
    topics: TopicsView,
    includeAuthorizedOperations = false,
  ): ConsumerGroupDescribeResponseDescribedGroup[] {
    const operations = includeAuthorizedOperations ? GROUP_OPERATIONS_ALL : AUTHORIZED_OPERATIONS_OMITTED;
    return groupIds.map((groupId) => {
      const group = this.#groups.get(groupId);
      if (!group) {
        const elsewhere = this.#inUseElsewhere(groupId);
        return describedGroupError(
          groupId,
          ErrorCode.GROUP_ID_NOT_FOUND,
          elsewhere ? `Group ${groupId} is not a consumer group.` : `Group ${groupId} not found.`,
        );
      }
      const described = (a: ReadonlyMap<string, ReadonlySet<number>>): ConsumerGroupDescribeResponseAssignment => ({
        topicPartitions: toWire(a).map(({ topicId, partitions }) => ({
          topicId,
          topicName: topics.topicById(topicId)?.name ?? group.subscriptionMetadata.get(topicId)?.topicName ?? "",
          partitions,
        })),
      });
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        groupId,
        groupState: group.state(),
        groupEpoch: group.groupEpoch,
        assignmentEpoch: group.assignmentEpoch,
        assignorName: this.#preferredAssignorName(group.members.values()),
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: [...m.subscribedTopicNames],
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: described(m.assignedPartitions),
          targetAssignment: described(group.targetAssignment.get(m.memberId) ?? new Map()),
        })),
        authorizedOperations: operations,
      };
    });
  }

  /** ListGroups' view: every consumer group and its state. */
  listGroups(): { groupId: string; groupState: ConsumerGroupState; groupType: "consumer" }[] {
    return [...this.#groups.values()].map((g) => ({
      groupId: g.groupId,
      groupState: g.state(),
      groupType: "consumer",
    }));
  }

  /**
   * DeleteGroups for a consumer group: NON_EMPTY_GROUP while it has members, else the tombstones that delete it
   * (applied here; the caller writes them, with the group's offset tombstones). Undefined when `groupId` is not
   * a consumer group.
   */
  deleteGroup(groupId: string): { errorCode: number; records: ConsumerGroupRecord[] } | undefined {
    const group = this.#groups.get(groupId);
    if (!group) return undefined;
    if (group.members.size > 0) return { errorCode: ErrorCode.NON_EMPTY_GROUP, records: [] };
    const records: ConsumerGroupRecord[] = [];
    for (const memberId of group.targetAssignment.keys()) {
      records.push({ type: "target_assignment_member", groupId, memberId, value: null });
    }
    records.push({ type: "target_assignment_metadata", groupId, value: null });
    records.push({ type: "partition_metadata", groupId, value: null });
    records.push({ type: "group_metadata", groupId, value: null });
    this.#applyAll(records);
    return { errorCode: ErrorCode.NONE, records };
  }

  /**
   * Checks an OffsetCommit (v9+: member id and member epoch) against a consumer group, as Kafka's
   * ConsumerGroup.validateOffsetCommit: an admin commit (epoch < 0) only to an empty group, else the member must
   * exist (UNKNOWN_MEMBER_ID) with exactly this epoch (STALE_MEMBER_EPOCH). Returns the error code (NONE when the
   * commit may proceed), or undefined when `groupId` is not a consumer group (the classic coordinator decides).
   */
  validateOffsetCommit(groupId: string, memberId: string, memberEpoch: number): number | undefined {
    const group = this.#groups.get(groupId);
    if (!group) return undefined;
    if (memberEpoch < 0 && group.members.size === 0) return ErrorCode.NONE;
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /**
   * Checks an OffsetFetch (v9+) naming a member: none (null member id, or epoch < 0) is an admin read and always
   * allowed; otherwise as {@link validateOffsetCommit}. Undefined when `groupId` is not a consumer group.
   */
  validateOffsetFetch(groupId: string, memberId: string | null, memberEpoch: number): number | undefined {
    const group = this.#groups.get(groupId);
    if (!group) return undefined;
    if (memberId === null || memberEpoch < 0) return ErrorCode.NONE;
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  // ---- records

  /**
   * Applies one consumer group record: used for every change this coordinator makes, and to rebuild the groups
   * from `__consumer_offsets` on start (then call {@link startSessions}).
   */
  replay(record: ConsumerGroupRecord): void {
    let group = this.#groups.get(record.groupId);
    if (!group) {
      if (record.value === null) return;
      group = new ConsumerGroup(record.groupId);
      this.#groups.set(record.groupId, group);
    }
    switch (record.type) {
      case "group_metadata":
        if (record.value === null) this.#groups.delete(record.groupId);
        else group.groupEpoch = record.value.epoch;
        return;
      case "partition_metadata":
        group.subscriptionMetadata = new Map(
          (record.value?.topics ?? []).map((
            t,
          ) => [t.topicId, { topicName: t.topicName, numPartitions: t.numPartitions }]),
        );
        return;
      case "member_metadata": {
        if (record.value === null) {
          const old = group.members.get(record.memberId);
          if (old) setPartitionEpochs(group, old, false);
          group.members.delete(record.memberId);
          return;
        }
        const v = record.value;
        const member = group.members.get(record.memberId) ?? newMember(record.memberId);
        group.members.set(record.memberId, {
          ...member,
          instanceId: v.instanceId,
          rackId: v.rackId,
          clientId: v.clientId,
          clientHost: v.clientHost,
          subscribedTopicNames: [...v.subscribedTopicNames].sort(),
          subscribedTopicRegex: v.subscribedTopicRegex,
          rebalanceTimeoutMs: v.rebalanceTimeoutMs,
          serverAssignor: v.serverAssignor,
        });
        return;
      }
      case "target_assignment_metadata":
        group.assignmentEpoch = record.value?.assignmentEpoch ?? 0;
        return;
      case "target_assignment_member":
        if (record.value === null) group.targetAssignment.delete(record.memberId);
        else group.targetAssignment.set(record.memberId, fromWire(record.value.topicPartitions));
        return;
      case "current_member_assignment": {
        const member = group.members.get(record.memberId) ?? newMember(record.memberId);
        setPartitionEpochs(group, member, false);
        if (record.value === null) {
          // The member is on its way out (its metadata tombstone follows): it owns nothing any more.
          group.members.set(record.memberId, {
            ...member,
            memberEpoch: 0,
            previousMemberEpoch: 0,
            state: MemberState.STABLE,
            assignedPartitions: new Map(),
            partitionsPendingRevocation: new Map(),
          });
          return;
        }
        const v = record.value;
        const updated: ConsumerGroupMember = {
          ...member,
          memberEpoch: v.memberEpoch,
          previousMemberEpoch: v.previousMemberEpoch,
          state:
            (v.state === MemberState.UNREVOKED_PARTITIONS || v.state === MemberState.UNRELEASED_PARTITIONS
              ? v.state
              : MemberState.STABLE) as MemberState,
          assignedPartitions: fromWire(v.assignedPartitions),
          partitionsPendingRevocation: fromWire(v.partitionsPendingRevocation),
        };
        group.members.set(record.memberId, updated);
        setPartitionEpochs(group, updated, true);
        return;
      }
    }
  }
}

// ---- reconciliation (Kafka's CurrentAssignmentBuilder)

/**
 * Moves `member` one step toward `target` (computed at `targetEpoch`). `owned` is what the member reported
 * owning (null: not reported). `partitionEpoch(t, p)` is the epoch of another member still owning a partition,
 * or -1 when it is free.
 *
 * @example
 * ```ts ignore
 * reconcile(member, 3, target, request.topicPartitions, (t, p) => group.partitionEpoch(t, p));
 * ```
 */
export function reconcile(
  member: ConsumerGroupMember,
  targetEpoch: number,
  target: ReadonlyMap<string, ReadonlySet<number>>,
  owned: readonly { topicId: string; partitions: readonly number[] }[] | null,
  partitionEpoch: (topicId: string, partition: number) => number,
): ConsumerGroupMember {
  const ownsAnyOf = (partitions: ReadonlyMap<string, ReadonlySet<number>>): boolean => {
    if (owned === null) return true; // not reported: assume it still owns them
    for (const { topicId, partitions: ps } of owned) {
      const pending = partitions.get(topicId);
      if (pending && ps.some((p) => pending.has(p))) return true;
    }
    return false;
  };
  switch (member.state) {
    case MemberState.STABLE:
      if (member.memberEpoch === targetEpoch) return member;
      return nextAssignment(member, member.memberEpoch, targetEpoch, target, ownsAnyOf, partitionEpoch);
    case MemberState.UNREVOKED_PARTITIONS:
      // Progress only once the member no longer reports any partition it was asked to revoke.
      if (ownsAnyOf(member.partitionsPendingRevocation)) return member;
      return nextAssignment(member, member.memberEpoch, targetEpoch, target, ownsAnyOf, partitionEpoch);
    case MemberState.UNRELEASED_PARTITIONS:
      return nextAssignment(member, member.memberEpoch, targetEpoch, target, ownsAnyOf, partitionEpoch);
  }
}

function nextAssignment(
  member: ConsumerGroupMember,
  memberEpoch: number,
  targetEpoch: number,
  target: ReadonlyMap<string, ReadonlySet<number>>,
  ownsAnyOf: (partitions: ReadonlyMap<string, ReadonlySet<number>>) => boolean,
  partitionEpoch: (topicId: string, partition: number) => number,
): ConsumerGroupMember {
  const assigned: TopicPartitions = new Map();
  const pendingRevocation: TopicPartitions = new Map();
  const pendingAssignment: TopicPartitions = new Map();
  let unreleased = false;
  const topicIds = new Set([...target.keys(), ...member.assignedPartitions.keys()]);
  for (const topicId of topicIds) {
    const want = target.get(topicId) ?? new Set<number>();
    const have = member.assignedPartitions.get(topicId) ?? new Set<number>();
    const keep = new Set([...have].filter((p) => want.has(p)));
    const revoke = new Set([...have].filter((p) => !want.has(p)));
    const add = new Set<number>();
    for (const p of want) {
      if (keep.has(p)) continue;
      if (partitionEpoch(topicId, p) === -1) add.add(p);
      else unreleased = true;
    }
    if (keep.size) assigned.set(topicId, keep);
    if (revoke.size) pendingRevocation.set(topicId, revoke);
    if (add.size) pendingAssignment.set(topicId, add);
  }
  if (pendingRevocation.size > 0 && ownsAnyOf(pendingRevocation)) {
    // Revoke first, in the current epoch; nothing new is handed out until the member confirms.
    return {
      ...member,
      state: MemberState.UNREVOKED_PARTITIONS,
      ...epochs(member, memberEpoch),
      assignedPartitions: assigned,
      partitionsPendingRevocation: pendingRevocation,
    };
  }
  for (const [topicId, ps] of pendingAssignment) {
    const set = assigned.get(topicId) ?? new Set<number>();
    for (const p of ps) set.add(p);
    assigned.set(topicId, set);
  }
  return {
    ...member,
    state: unreleased ? MemberState.UNRELEASED_PARTITIONS : MemberState.STABLE,
    ...epochs(member, targetEpoch),
    assignedPartitions: assigned,
    partitionsPendingRevocation: new Map(),
  };
}

/** Kafka's updateMemberEpoch: the previous epoch only moves when the epoch does. */
function epochs(member: ConsumerGroupMember, memberEpoch: number) {
  return {
    memberEpoch,
    previousMemberEpoch: memberEpoch === member.memberEpoch ? member.previousMemberEpoch : member.memberEpoch,
  };
}

// ---- helpers

function newMember(memberId: string): ConsumerGroupMember {
  return {
    memberId,
    instanceId: null,
    rackId: null,
    clientId: "",
    clientHost: "",
    rebalanceTimeoutMs: -1,
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    serverAssignor: null,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: MemberState.STABLE,
    assignedPartitions: new Map(),
    partitionsPendingRevocation: new Map(),
  };
}

function setPartitionEpochs(group: ConsumerGroup, member: ConsumerGroupMember, owned: boolean): void {
  for (const partitions of [member.assignedPartitions, member.partitionsPendingRevocation]) {
    for (const [topicId, ps] of partitions) {
      let epochs = group.partitionEpochs.get(topicId);
      if (!epochs) {
        if (!owned) continue;
        group.partitionEpochs.set(topicId, epochs = new Map());
      }
      for (const p of ps) {
        if (owned) epochs.set(p, member.memberEpoch);
        else epochs.delete(p);
      }
      if (epochs.size === 0) group.partitionEpochs.delete(topicId);
    }
  }
}

function checkMemberEpoch(
  member: ConsumerGroupMember,
  received: number,
  owned: readonly { topicId: string; partitions: readonly number[] }[] | null,
): void {
  if (received > member.memberEpoch) {
    throw new ConsumerGroupError(
      ErrorCode.FENCED_MEMBER_EPOCH,
      `The consumer group member has a greater member epoch (${received}) than the one known by the group ` +
        `coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
    );
  }
  if (received < member.memberEpoch) {
    // The response carrying the bumped epoch may have been lost: the previous epoch is accepted as long as the
    // member owns nothing it was not given.
    if (received === member.previousMemberEpoch && owned !== null && isSubset(owned, member.assignedPartitions)) {
      return;
    }
    throw new ConsumerGroupError(
      ErrorCode.FENCED_MEMBER_EPOCH,
      `The consumer group member has a smaller member epoch (${received}) than the one known by the group ` +
        `coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
    );
  }
}

function isSubset(
  owned: readonly { topicId: string; partitions: readonly number[] }[],
  assigned: ReadonlyMap<string, ReadonlySet<number>>,
): boolean {
  return owned.every(({ topicId, partitions }) => partitions.every((p) => assigned.get(topicId)?.has(p) ?? false));
}

function unknownMember(memberId: string, groupId: string): ConsumerGroupError {
  return new ConsumerGroupError(
    ErrorCode.UNKNOWN_MEMBER_ID,
    `Member ${memberId} is not a member of group ${groupId}.`,
  );
}

function unknownStaticMember(instanceId: string, groupId: string): ConsumerGroupError {
  return new ConsumerGroupError(
    ErrorCode.UNKNOWN_MEMBER_ID,
    `Instance id ${instanceId} is unknown in group ${groupId}.`,
  );
}

function fencedInstance(instanceId: string, memberId: string, holder: string): ConsumerGroupError {
  return new ConsumerGroupError(
    ErrorCode.FENCED_INSTANCE_ID,
    `Static member ${memberId} with instance id ${instanceId} was fenced by member ${holder}.`,
  );
}

function memberMetadataChanged(a: ConsumerGroupMember, b: ConsumerGroupMember): boolean {
  return a.instanceId !== b.instanceId || a.rackId !== b.rackId || a.clientId !== b.clientId ||
    a.clientHost !== b.clientHost || a.rebalanceTimeoutMs !== b.rebalanceTimeoutMs ||
    !sameStrings(a.subscribedTopicNames, b.subscribedTopicNames) ||
    a.subscribedTopicRegex !== b.subscribedTopicRegex || a.serverAssignor !== b.serverAssignor;
}

/** The topics any member subscribes to (by name or regex) that exist, with their partition counts. */
function subscribedTopics(members: Iterable<ConsumerGroupMember>, topics: TopicsView): Map<string, SubscribedTopic> {
  const out = new Map<string, SubscribedTopic>();
  const addTopic = (t: { name: string; topicId: string; partitions: readonly unknown[] }) =>
    out.set(t.topicId, { topicName: t.name, numPartitions: t.partitions.length });
  const regexes = new Set<string>();
  for (const m of members) {
    for (const name of m.subscribedTopicNames) {
      const t = topics.topic(name);
      if (t) addTopic(t);
    }
    if (m.subscribedTopicRegex !== null) regexes.add(m.subscribedTopicRegex);
  }
  if (regexes.size > 0) {
    const compiled = [...regexes].map((r) => compileTopicRegex(r));
    for (const t of topics.topics()) {
      // Kafka resolves a subscription regex over every topic, internal ones included (franz-go's
      // Test848RegexBrokerResolves subscribes to __consumer_offsets this way).
      if (compiled.some((re) => re.test(t.name))) addTopic(t);
    }
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function subscribedTopicIds(
  member: ConsumerGroupMember,
  metadata: ReadonlyMap<string, SubscribedTopic>,
  topics: TopicsView,
): Set<string> {
  const ids = new Set<string>();
  for (const name of member.subscribedTopicNames) {
    const t = topics.topic(name);
    if (t && metadata.has(t.topicId)) ids.add(t.topicId);
  }
  if (member.subscribedTopicRegex !== null) {
    const re = compileTopicRegex(member.subscribedTopicRegex);
    for (const [id, t] of metadata) if (re.test(t.topicName)) ids.add(id);
  }
  return ids;
}

function sameSubscriptionMetadata(a: ReadonlyMap<string, SubscribedTopic>, b: ReadonlyMap<string, SubscribedTopic>) {
  if (a.size !== b.size) return false;
  for (const [id, t] of a) {
    const o = b.get(id);
    if (!o || o.topicName !== t.topicName || o.numPartitions !== t.numPartitions) return false;
  }
  return true;
}

function memberTombstones(groupId: string, memberId: string): ConsumerGroupRecord[] {
  return [
    { type: "current_member_assignment", groupId, memberId, value: null },
    { type: "target_assignment_member", groupId, memberId, value: null },
    { type: "member_metadata", groupId, memberId, value: null },
  ];
}

function memberMetadataRecord(groupId: string, m: ConsumerGroupMember): ConsumerGroupRecord {
  return {
    type: "member_metadata",
    groupId,
    memberId: m.memberId,
    value: {
      instanceId: m.instanceId,
      rackId: m.rackId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscribedTopicNames: [...m.subscribedTopicNames],
      subscribedTopicRegex: m.subscribedTopicRegex,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      serverAssignor: m.serverAssignor,
      classicMemberMetadata: null,
    },
  };
}

function partitionMetadataRecord(groupId: string, metadata: ReadonlyMap<string, SubscribedTopic>): ConsumerGroupRecord {
  return {
    type: "partition_metadata",
    groupId,
    value: {
      topics: [...metadata].map(([topicId, t]) => ({
        topicId,
        topicName: t.topicName,
        numPartitions: t.numPartitions,
        partitionMetadata: [],
      })),
    },
  };
}

function targetAssignmentRecord(
  groupId: string,
  memberId: string,
  assignment: ReadonlyMap<string, ReadonlySet<number>> | undefined,
): ConsumerGroupRecord {
  return {
    type: "target_assignment_member",
    groupId,
    memberId,
    value: { topicPartitions: toWire(assignment ?? new Map()) },
  };
}

function currentAssignmentRecord(groupId: string, m: ConsumerGroupMember): ConsumerGroupRecord {
  return {
    type: "current_member_assignment",
    groupId,
    memberId: m.memberId,
    value: {
      memberEpoch: m.memberEpoch,
      previousMemberEpoch: m.previousMemberEpoch,
      state: m.state,
      assignedPartitions: toWire(m.assignedPartitions),
      partitionsPendingRevocation: toWire(m.partitionsPendingRevocation),
    },
  };
}
