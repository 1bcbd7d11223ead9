/**
 * The classic consumer group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) as a pure state machine,
 * after Kafka's ClassicGroup and the classic half of its GroupMetadataManager.
 *
 * Nothing here touches a socket, a timer or a clock: time arrives as `now` arguments, deadlines leave as data
 * (`nextDeadlineMs()`, which the shell schedules and answers with `tick(now)`), and answers to requests the group
 * holds back (a JoinGroup waiting for the rebalance to complete, a SyncGroup waiting for the leader's
 * assignment) leave as `Reply` values the shell collects with `takeReplies()` and hands to the waiting callers.
 * When the group's metadata must be written to `__consumer_offsets` (`takeStoreRequest()`), the shell writes it and
 * reports back with `assignmentStored()`.
 *
 * States (Kafka's names): Empty → PreparingRebalance → CompletingRebalance → Stable, and Dead once deleted.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/messages.ts";
import type { GroupMetadataValue } from "../../protocol/generated/records/group_coordinator/group_metadata_value.ts";

/** A classic group's state, spelled as Kafka spells it in DescribeGroups and ListGroups. */
export type ClassicGroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

/** One protocol a member supports (for consumers: an assignor name and its subscription bytes). */
export interface MemberProtocol {
  name: string;
  metadata: Uint8Array;
}

/** A member of a classic group. */
export interface ClassicMember {
  memberId: string;
  /** Static membership (KIP-345): the member's stable identity across restarts, or null. */
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The member's protocols in order of preference. */
  protocols: MemberProtocol[];
  /** The member's assignment of the current generation (empty until the leader syncs). */
  assignment: Uint8Array;
  /** A JoinGroup of this member is held until the join phase completes. */
  awaitingJoin: boolean;
  /** A SyncGroup of this member is held until the leader's assignment is stored. */
  awaitingSync: boolean;
  /** Joined in the current rebalance and has not completed one yet. */
  isNew: boolean;
  /** The member is removed when this passes without a heartbeat (or other sign of life). */
  heartbeatDeadlineMs: number;
}

/** The JoinGroup answer, as the handler encodes it. */
export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Uint8Array }[];
}

/** The SyncGroup answer, as the handler encodes it. */
/** A JoinGroup answer that carries only an error. */
export function joinError(memberId: string, errorCode: number): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: "",
    skipAssignment: false,
    memberId,
    members: [],
  };
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Uint8Array;
}

/** An answer to a held request, for the member that sent it. */
export type Reply =
  | { kind: "join"; memberId: string; result: JoinResult }
  | { kind: "sync"; memberId: string; result: SyncResult };

/** What a JoinGroup asks. */
export interface JoinRequest {
  /** "" for a member that does not know its id yet. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: MemberProtocol[];
  /** JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED with its id (KIP-394). */
  requireKnownMemberId: boolean;
  /** The id to give a new member (the shell makes it: `clientId-uuid`, as Kafka does). */
  newMemberId: string;
}

/** What a SyncGroup asks. */
export interface SyncRequest {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Uint8Array }[];
}

/** Either an answer now, or `held`: the answer comes later as a `Reply` for the member. */
export type Answer<T> = { held: false; result: T } | { held: true; memberId: string };

/** Settings of the classic protocol. */
export interface ClassicGroupSettings {
  /** `group.initial.rebalance.delay.ms`. */
  initialRebalanceDelayMs: number;
  /** How long a new member's held JoinGroup keeps it alive without heartbeats (Kafka: 5 minutes). */
  newMemberJoinTimeoutMs: number;
  /** `group.classic.max.size`: new members beyond it get GROUP_MAX_SIZE_REACHED (default: no limit). */
  maxSize?: number;
}

/** Kafka's `classic.group.new.member.join.timeout.ms`. */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

const EMPTY_BYTES = new Uint8Array(0);

function sameProtocols(a: readonly MemberProtocol[], b: readonly MemberProtocol[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].name !== b[i].name || a[i].metadata.length !== b[i].metadata.length) return false;
    for (let j = 0; j < a[i].metadata.length; j++) if (a[i].metadata[j] !== b[i].metadata[j]) return false;
  }
  return true;
}

/**
 * One classic group.
 *
 * @example
 * ```ts
 * import { ClassicGroup } from "./classic_group.ts";
 * const group = new ClassicGroup("g", { initialRebalanceDelayMs: 0, newMemberJoinTimeoutMs: 300000 }, 0);
 * group.state; // "Empty"
 * ```
 */
export class ClassicGroup {
  state: ClassicGroupState = "Empty";
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** When the group last changed state (GroupMetadataValue.currentStateTimestamp; offsets expire from it). */
  currentStateTimestampMs: number;
  /** Members in the order they joined (the first is the default leader). */
  readonly members = new Map<string, ClassicMember>();
  /** Static members: group instance id → member id. */
  readonly staticMembers = new Map<string, string>();
  /** Ids handed out with MEMBER_ID_REQUIRED, not joined yet, with the deadline of their second JoinGroup. */
  readonly pendingMembers = new Map<string, number>();
  /** Members of the current generation that have not sent their SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** When the join phase ends at the latest (PreparingRebalance). */
  joinDeadlineMs: number | undefined;
  /** When members still missing from `pendingSyncMembers` are removed. */
  syncDeadlineMs: number | undefined;
  #initialDelay: { delayMs: number; remainingMs: number; newMemberAdded: boolean } | undefined;
  #replies: Reply[] = [];
  /** A group metadata record to write; `generationId` says which generation's assignment it carries. */
  #storeRequest: { generationId: number; assignmentPending: boolean } | undefined;
  /** The leader's assignment waiting to be stored. */
  #pendingAssignment: Map<string, Uint8Array> | undefined;

  constructor(readonly groupId: string, readonly settings: ClassicGroupSettings, nowMs: number) {
    this.currentStateTimestampMs = nowMs;
  }

  // --- queries -------------------------------------------------------------------------------------------

  /** True when the group has no members. */
  get isEmpty(): boolean {
    return this.members.size === 0;
  }

  /** The largest rebalance timeout of the members: how long a rebalance may take. */
  get rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /** The metadata of `member` for the group's selected protocol. */
  metadataOf(member: ClassicMember): Uint8Array {
    return member.protocols.find((p) => p.name === this.protocolName)?.metadata ?? EMPTY_BYTES;
  }

  /** The earliest time `tick` has something to do, if any. */
  nextDeadlineMs(): number | undefined {
    let next = Infinity;
    if (this.joinDeadlineMs !== undefined) next = Math.min(next, this.joinDeadlineMs);
    if (this.syncDeadlineMs !== undefined) next = Math.min(next, this.syncDeadlineMs);
    for (const deadline of this.pendingMembers.values()) next = Math.min(next, deadline);
    for (const m of this.members.values()) {
      if (!this.#keptAlive(m)) next = Math.min(next, m.heartbeatDeadlineMs);
    }
    return next === Infinity ? undefined : next;
  }

  /** Answers held back since the last call, to hand to the waiting callers. */
  takeReplies(): Reply[] {
    const replies = this.#replies;
    this.#replies = [];
    return replies;
  }

  /** The group metadata to write now, if any. */
  takeStoreRequest(): { generationId: number; assignmentPending: boolean } | undefined {
    const request = this.#storeRequest;
    this.#storeRequest = undefined;
    return request;
  }

  /** True when a group metadata record is waiting to be taken (the request stays in place). */
  hasStoreRequest(): boolean {
    return this.#storeRequest !== undefined;
  }

  /** True when a member with `protocolType` and `protocols` may join (Kafka's `supportsProtocols`). */
  supportsProtocols(protocolType: string, protocols: readonly MemberProtocol[]): boolean {
    if (this.isEmpty) return protocolType !== "" && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    return protocols.some((p) => this.#supportCount(p.name) === this.members.size);
  }

  /** Kafka's `validateMember`: the member is known and (when static) not fenced by a newer instance. */
  validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const existing = this.staticMembers.get(groupInstanceId);
      if (existing === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (existing !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      return ErrorCode.NONE;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /**
   * Kafka's `ClassicGroup.validateOffsetCommit`: whether a member (or a group-less "simple" committer: generation
   * -1, no member id) may commit offsets now.
   */
  validateOffsetCommit(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // Generation -1 comes from the admin client or a consumer without group management: fine while Empty.
    if (generationId < 0 && this.state === "Empty") return ErrorCode.NONE;
    if (generationId >= 0 || memberId !== "" || groupInstanceId !== null) {
      const memberError = this.validateMember(memberId, groupInstanceId);
      if (memberError !== ErrorCode.NONE) return memberError;
      if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (this.state !== "Empty") {
      // A simple commit to a group that has members would race with them.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (this.state === "CompletingRebalance") return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  // --- JoinGroup -----------------------------------------------------------------------------------------

  /** Handles a JoinGroup (after the shell checked the group id and the session timeout bounds). */
  join(req: JoinRequest, nowMs: number): Answer<JoinResult> {
    if (this.state === "Dead") return this.#joinError(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!this.#acceptsJoiningMember(req.memberId)) {
      return this.#joinError(req.memberId, ErrorCode.GROUP_MAX_SIZE_REACHED);
    }
    if (!this.supportsProtocols(req.protocolType, req.protocols)) {
      return this.#joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    return req.memberId === "" ? this.#joinUnknownMember(req, nowMs) : this.#joinKnownMember(req, nowMs);
  }

  /** Kafka's `acceptJoiningMember`: members already in are accepted; new ones up to the maximum group size. */
  #acceptsJoiningMember(memberId: string): boolean {
    const maxSize = this.settings.maxSize ?? Infinity;
    switch (this.state) {
      case "PreparingRebalance": {
        if (this.members.get(memberId)?.awaitingJoin) return true;
        let awaiting = 0;
        for (const m of this.members.values()) if (m.awaitingJoin) awaiting++;
        return awaiting < maxSize;
      }
      case "CompletingRebalance":
      case "Stable":
        return this.members.has(memberId) || this.members.size < maxSize;
      default:
        return true;
    }
  }

  #joinUnknownMember(req: JoinRequest, nowMs: number): Answer<JoinResult> {
    const memberId = req.newMemberId;
    if (req.groupInstanceId !== null) {
      const oldMemberId = this.staticMembers.get(req.groupInstanceId);
      if (oldMemberId !== undefined) return this.#replaceStaticMember(req, oldMemberId, nowMs);
      return this.#addMemberAndRebalance(req, memberId, nowMs);
    }
    if (req.requireKnownMemberId) {
      // KIP-394: hand out the id first, so that a client retrying after a lost response does not leave a ghost.
      this.pendingMembers.set(memberId, nowMs + req.sessionTimeoutMs);
      return this.#joinError(memberId, ErrorCode.MEMBER_ID_REQUIRED);
    }
    return this.#addMemberAndRebalance(req, memberId, nowMs);
  }

  #joinKnownMember(req: JoinRequest, nowMs: number): Answer<JoinResult> {
    if (this.pendingMembers.has(req.memberId)) {
      this.pendingMembers.delete(req.memberId);
      return this.#addMemberAndRebalance(req, req.memberId, nowMs);
    }
    const memberError = this.validateMember(req.memberId, req.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return this.#joinError(req.memberId, memberError);
    const member = this.members.get(req.memberId)!;
    switch (this.state) {
      case "PreparingRebalance":
        return this.#updateMemberAndRebalance(member, req, nowMs);
      case "CompletingRebalance":
        if (sameProtocols(member.protocols, req.protocols)) {
          // The member lost its JoinGroup response: send it again.
          return { held: false, result: this.#joinResultFor(member.memberId) };
        }
        return this.#updateMemberAndRebalance(member, req, nowMs);
      case "Stable":
        if (this.leaderId === member.memberId || !sameProtocols(member.protocols, req.protocols)) {
          // The leader rejoining, or a member changing its subscription, starts a rebalance.
          return this.#updateMemberAndRebalance(member, req, nowMs);
        }
        return { held: false, result: this.#joinResultFor(member.memberId, false) };
      default:
        return this.#joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  #addMemberAndRebalance(req: JoinRequest, memberId: string, nowMs: number): Answer<JoinResult> {
    const member: ClassicMember = {
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocols: req.protocols,
      assignment: EMPTY_BYTES,
      awaitingJoin: true,
      awaitingSync: false,
      isNew: true,
      heartbeatDeadlineMs: nowMs + this.settings.newMemberJoinTimeoutMs,
    };
    if (this.isEmpty) this.protocolType = req.protocolType;
    this.members.set(memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, memberId);
    if (this.leaderId === null) this.leaderId = memberId;
    if (this.#initialDelay !== undefined) this.#initialDelay.newMemberAdded = true;
    this.#maybePrepareRebalanceOrCompleteJoin(nowMs);
    return { held: true, memberId };
  }

  #updateMemberAndRebalance(member: ClassicMember, req: JoinRequest, nowMs: number): Answer<JoinResult> {
    if (member.awaitingJoin) {
      // A second JoinGroup replaces the first: answer the first so its connection is not left waiting.
      this.#replies.push({
        kind: "join",
        memberId: member.memberId,
        result: this.#errorResult(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS),
      });
    }
    member.protocols = req.protocols;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.awaitingJoin = true;
    this.#maybePrepareRebalanceOrCompleteJoin(nowMs);
    return { held: true, memberId: member.memberId };
  }

  /** A static member rejoined without its member id (a restart): it takes a new id and fences the old one. */
  #replaceStaticMember(req: JoinRequest, oldMemberId: string, nowMs: number): Answer<JoinResult> {
    const old = this.members.get(oldMemberId)!;
    const newMemberId = req.newMemberId;
    if (old.awaitingJoin) {
      this.#replies.push({
        kind: "join",
        memberId: oldMemberId,
        result: this.#errorResult(oldMemberId, ErrorCode.FENCED_INSTANCE_ID),
      });
    }
    if (old.awaitingSync) {
      this.#replies.push({
        kind: "sync",
        memberId: oldMemberId,
        result: this.#syncError(ErrorCode.FENCED_INSTANCE_ID),
      });
    }
    const member: ClassicMember = {
      ...old,
      memberId: newMemberId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocols: req.protocols,
      awaitingJoin: false,
      awaitingSync: false,
      heartbeatDeadlineMs: nowMs + req.sessionTimeoutMs,
    };
    // Keep the member's place (and so the leader order) in the group.
    const entries = [...this.members.entries()].map(([id, m]) =>
      id === oldMemberId ? [newMemberId, member] as const : [id, m] as const
    );
    this.members.clear();
    for (const [id, m] of entries) this.members.set(id, m);
    this.staticMembers.set(req.groupInstanceId!, newMemberId);
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    const wasLeader = this.leaderId === oldMemberId;
    if (wasLeader) this.leaderId = newMemberId;

    if (this.state === "Stable" && this.#selectProtocol() === this.protocolName) {
      // The group's protocol stays: no rebalance; the member gets its generation back and keeps its assignment.
      // A leader gets the members but is told to skip the assignment (KIP-814, JoinGroup v9).
      this.#storeRequest = { generationId: this.generationId, assignmentPending: false };
      return { held: false, result: { ...this.#joinResultFor(newMemberId), skipAssignment: wasLeader } };
    }
    member.awaitingJoin = true;
    this.#maybePrepareRebalanceOrCompleteJoin(nowMs);
    return { held: true, memberId: newMemberId };
  }

  #maybePrepareRebalanceOrCompleteJoin(nowMs: number): void {
    if (this.state === "Stable" || this.state === "CompletingRebalance" || this.state === "Empty") {
      this.#prepareRebalance(nowMs);
    } else if (this.state === "PreparingRebalance") {
      this.#maybeCompleteJoin(nowMs);
    }
  }

  #prepareRebalance(nowMs: number): void {
    if (this.state === "CompletingRebalance") this.#resetAssignmentWithError(ErrorCode.REBALANCE_IN_PROGRESS);
    this.syncDeadlineMs = undefined;
    this.pendingSyncMembers.clear();
    const initial = this.state === "Empty";
    this.#transition("PreparingRebalance", nowMs);
    if (initial) {
      // A new group waits for more members before it assigns (group.initial.rebalance.delay.ms); every new
      // member extends the wait by the delay again, within the rebalance timeout.
      const delayMs = this.settings.initialRebalanceDelayMs;
      this.#initialDelay = {
        delayMs,
        remainingMs: Math.max(this.rebalanceTimeoutMs - delayMs, 0),
        newMemberAdded: false,
      };
      this.joinDeadlineMs = nowMs + delayMs;
    } else {
      this.#initialDelay = undefined;
      this.joinDeadlineMs = nowMs + this.rebalanceTimeoutMs;
      this.#maybeCompleteJoin(nowMs);
    }
  }

  /** True when every member has rejoined and no member id handed out is still to come. */
  #hasAllMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const m of this.members.values()) if (!m.awaitingJoin) return false;
    return true;
  }

  #maybeCompleteJoin(nowMs: number): void {
    if (this.state !== "PreparingRebalance" || this.#initialDelay !== undefined) return;
    if (this.#hasAllMembersJoined()) this.#completeJoin(nowMs);
  }

  #completeJoin(nowMs: number): void {
    this.joinDeadlineMs = undefined;
    this.#initialDelay = undefined;
    // Dynamic members that did not rejoin in time are gone; static members keep their place (KIP-345).
    for (const m of [...this.members.values()]) {
      if (!m.awaitingJoin && m.groupInstanceId === null) this.#removeMember(m.memberId);
    }
    if (this.leaderId !== null && !this.members.get(this.leaderId)?.awaitingJoin) {
      const joined = [...this.members.values()].find((m) => m.awaitingJoin);
      if (joined) this.leaderId = joined.memberId;
    }
    this.generationId++;
    if (this.isEmpty) {
      this.protocolName = null;
      this.#transition("Empty", nowMs);
      this.#storeRequest = { generationId: this.generationId, assignmentPending: false };
      return;
    }
    this.protocolName = this.#selectProtocol();
    this.#transition("CompletingRebalance", nowMs);
    for (const m of this.members.values()) {
      m.assignment = EMPTY_BYTES;
      if (!m.awaitingJoin) continue;
      m.awaitingJoin = false;
      m.isNew = false;
      m.heartbeatDeadlineMs = nowMs + m.sessionTimeoutMs;
      this.#replies.push({ kind: "join", memberId: m.memberId, result: this.#joinResultFor(m.memberId) });
    }
    // Members must send SyncGroup within the rebalance timeout, or they are removed and the group rebalances.
    for (const id of this.members.keys()) this.pendingSyncMembers.add(id);
    this.syncDeadlineMs = nowMs + this.rebalanceTimeoutMs;
  }

  /** Kafka's `selectProtocol`: every member votes for its most preferred protocol all members support. */
  #selectProtocol(): string {
    const candidates = new Set<string>();
    const first = this.members.values().next().value!;
    for (const p of first.protocols) if (this.#supportCount(p.name) === this.members.size) candidates.add(p.name);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const vote = m.protocols.find((p) => candidates.has(p.name))!.name;
      votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    let best = "";
    let bestVotes = -1;
    for (const name of candidates) {
      const n = votes.get(name) ?? 0;
      if (n > bestVotes) [best, bestVotes] = [name, n];
    }
    return best;
  }

  #supportCount(name: string): number {
    let n = 0;
    for (const m of this.members.values()) if (m.protocols.some((p) => p.name === name)) n++;
    return n;
  }

  #joinResultFor(memberId: string, leaderGetsMembers = true): JoinResult {
    const isLeader = this.leaderId === memberId;
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? "",
      skipAssignment: false,
      memberId,
      members: isLeader && leaderGetsMembers
        ? [...this.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          metadata: this.metadataOf(m),
        }))
        : [],
    };
  }

  #errorResult(memberId: string, errorCode: number): JoinResult {
    return joinError(memberId, errorCode);
  }

  #joinError(memberId: string, errorCode: number): Answer<JoinResult> {
    return { held: false, result: this.#errorResult(memberId, errorCode) };
  }

  // --- SyncGroup -----------------------------------------------------------------------------------------

  /** Handles a SyncGroup. */
  sync(req: SyncRequest, nowMs: number): Answer<SyncResult> {
    if (this.state === "Dead") return { held: false, result: this.#syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE) };
    const memberError = this.validateMember(req.memberId, req.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return { held: false, result: this.#syncError(memberError) };
    if (req.generationId !== this.generationId) {
      return { held: false, result: this.#syncError(ErrorCode.ILLEGAL_GENERATION) };
    }
    if (
      (req.protocolType !== null && req.protocolType !== this.protocolType) ||
      (req.protocolName !== null && req.protocolName !== this.protocolName)
    ) {
      return { held: false, result: this.#syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL) };
    }
    const member = this.members.get(req.memberId)!;
    switch (this.state) {
      case "PreparingRebalance":
        return { held: false, result: this.#syncError(ErrorCode.REBALANCE_IN_PROGRESS) };
      case "CompletingRebalance": {
        this.#heartbeatFrom(member, nowMs);
        this.pendingSyncMembers.delete(member.memberId);
        if (member.awaitingSync) {
          this.#replies.push({
            kind: "sync",
            memberId: member.memberId,
            result: this.#syncError(ErrorCode.REBALANCE_IN_PROGRESS),
          });
        }
        member.awaitingSync = true;
        if (member.memberId === this.leaderId && this.#pendingAssignment === undefined) {
          const assignment = new Map<string, Uint8Array>();
          for (const a of req.assignments) if (this.members.has(a.memberId)) assignment.set(a.memberId, a.assignment);
          this.#pendingAssignment = assignment;
          this.#storeRequest = { generationId: this.generationId, assignmentPending: true };
        }
        return { held: true, memberId: member.memberId };
      }
      case "Stable":
        this.#heartbeatFrom(member, nowMs);
        this.pendingSyncMembers.delete(member.memberId);
        if (this.pendingSyncMembers.size === 0) this.syncDeadlineMs = undefined;
        return { held: false, result: this.#syncResult(member) };
      default:
        return { held: false, result: this.#syncError(ErrorCode.UNKNOWN_MEMBER_ID) };
    }
  }

  /** The leader's assignment, for the group metadata record being written (Stable members' otherwise). */
  assignmentOf(memberId: string): Uint8Array {
    return this.#pendingAssignment?.get(memberId) ?? this.members.get(memberId)?.assignment ?? EMPTY_BYTES;
  }

  /**
   * The shell reports that the group metadata of `generationId` was written (`errorCode` NONE) or failed to be
   * (the error as the coordinator maps a failed write). A stored assignment makes the group Stable and answers
   * every held SyncGroup; a failed one answers them the error and starts a new rebalance.
   */
  assignmentStored(generationId: number, errorCode: number, nowMs: number): void {
    if (generationId !== this.generationId || this.state !== "CompletingRebalance") return;
    const assignment = this.#pendingAssignment;
    this.#pendingAssignment = undefined;
    if (assignment === undefined) return;
    if (errorCode !== ErrorCode.NONE) {
      // Kafka answers the members the write's error as its coordinator maps it (a storage error: NOT_COORDINATOR).
      this.#resetAssignmentWithError(errorCode);
      this.#prepareRebalance(nowMs);
      return;
    }
    for (const m of this.members.values()) m.assignment = assignment.get(m.memberId) ?? EMPTY_BYTES;
    this.#transition("Stable", nowMs);
    for (const m of this.members.values()) {
      if (!m.awaitingSync) continue;
      m.awaitingSync = false;
      this.#replies.push({ kind: "sync", memberId: m.memberId, result: this.#syncResult(m) });
    }
    if (this.pendingSyncMembers.size === 0) this.syncDeadlineMs = undefined;
  }

  #syncResult(member: ClassicMember): SyncResult {
    return {
      errorCode: ErrorCode.NONE,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      assignment: member.assignment,
    };
  }

  #syncError(errorCode: number): SyncResult {
    return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
  }

  /** Answers every held SyncGroup with `errorCode` and forgets the assignment (Kafka's resetAndPropagate...). */
  #resetAssignmentWithError(errorCode: number): void {
    this.#pendingAssignment = undefined;
    for (const m of this.members.values()) {
      m.assignment = EMPTY_BYTES;
      if (!m.awaitingSync) continue;
      m.awaitingSync = false;
      this.#replies.push({ kind: "sync", memberId: m.memberId, result: this.#syncError(errorCode) });
    }
  }

  // --- Heartbeat and LeaveGroup --------------------------------------------------------------------------

  /** Handles a Heartbeat; returns its error code. */
  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number, nowMs: number): number {
    if (this.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const memberError = this.validateMember(memberId, groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = this.members.get(memberId)!;
    switch (this.state) {
      case "PreparingRebalance":
        this.#heartbeatFrom(member, nowMs);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case "CompletingRebalance":
      case "Stable":
        this.#heartbeatFrom(member, nowMs);
        return ErrorCode.NONE;
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID;
    }
  }

  /**
   * Handles the members of one LeaveGroup; returns each one's error code, in order. A member named by its group
   * instance id alone (memberId "") is found through the static members.
   */
  leave(members: readonly { memberId: string; groupInstanceId: string | null }[], nowMs: number): number[] {
    return members.map(({ memberId, groupInstanceId }) => {
      if (this.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      if (groupInstanceId !== null) {
        const existing = this.staticMembers.get(groupInstanceId);
        if (existing === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
        if (memberId !== "" && existing !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
        memberId = existing;
      } else if (this.pendingMembers.delete(memberId)) {
        this.#maybeCompleteJoin(nowMs);
        return ErrorCode.NONE;
      } else if (!this.members.has(memberId)) {
        return ErrorCode.UNKNOWN_MEMBER_ID;
      }
      this.#removeMemberAndRebalance(memberId, nowMs);
      return ErrorCode.NONE;
    });
  }

  /**
   * An offset commit of a member keeps its session alive while the group is Stable or PreparingRebalance, as in
   * Kafka (the classic protocol's commits count as heartbeats).
   */
  offsetCommitted(memberId: string, nowMs: number): void {
    const member = this.members.get(memberId);
    if (member && (this.state === "Stable" || this.state === "PreparingRebalance")) this.#heartbeatFrom(member, nowMs);
  }

  #heartbeatFrom(member: ClassicMember, nowMs: number): void {
    member.heartbeatDeadlineMs = nowMs + member.sessionTimeoutMs;
  }

  /** Members whose request the coordinator holds are alive by definition (Kafka's `shouldKeepAlive`). */
  #keptAlive(member: ClassicMember): boolean {
    return member.awaitingSync || (member.awaitingJoin && !member.isNew);
  }

  #removeMember(memberId: string): void {
    const member = this.members.get(memberId);
    if (!member) return;
    if (member.awaitingJoin) {
      this.#replies.push({ kind: "join", memberId, result: this.#errorResult(memberId, ErrorCode.UNKNOWN_MEMBER_ID) });
    }
    if (member.awaitingSync) {
      this.#replies.push({ kind: "sync", memberId, result: this.#syncError(ErrorCode.UNKNOWN_MEMBER_ID) });
    }
    this.members.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
  }

  #removeMemberAndRebalance(memberId: string, nowMs: number): void {
    this.#removeMember(memberId);
    if (this.state === "Stable" || this.state === "CompletingRebalance") this.#prepareRebalance(nowMs);
    else if (this.state === "PreparingRebalance") this.#maybeCompleteJoin(nowMs);
  }

  // --- time ----------------------------------------------------------------------------------------------

  /** Acts on every deadline that has passed: session expiry, join and sync phase ends, unclaimed member ids. */
  tick(nowMs: number): void {
    for (const [memberId, deadline] of [...this.pendingMembers]) {
      if (deadline <= nowMs) {
        this.pendingMembers.delete(memberId);
        this.#maybeCompleteJoin(nowMs);
      }
    }
    for (const m of [...this.members.values()]) {
      if (this.members.get(m.memberId) !== m || this.#keptAlive(m) || m.heartbeatDeadlineMs > nowMs) continue;
      this.#removeMemberAndRebalance(m.memberId, nowMs);
    }
    if (this.joinDeadlineMs !== undefined && this.joinDeadlineMs <= nowMs && this.state === "PreparingRebalance") {
      const delay = this.#initialDelay;
      if (delay && delay.newMemberAdded && delay.remainingMs > 0) {
        const nextDelay = Math.min(delay.delayMs, delay.remainingMs);
        this.#initialDelay = {
          delayMs: delay.delayMs,
          remainingMs: Math.max(delay.remainingMs - nextDelay, 0),
          newMemberAdded: false,
        };
        this.joinDeadlineMs = nowMs + nextDelay;
      } else {
        this.#completeJoin(nowMs);
      }
    }
    if (this.syncDeadlineMs !== undefined && this.syncDeadlineMs <= nowMs) {
      this.syncDeadlineMs = undefined;
      if ((this.state === "CompletingRebalance" || this.state === "Stable") && this.pendingSyncMembers.size > 0) {
        for (const id of [...this.pendingSyncMembers]) this.#removeMember(id);
        this.pendingSyncMembers.clear();
        this.#prepareRebalance(nowMs);
      }
    }
  }

  // --- lifecycle and records -----------------------------------------------------------------------------

  /** Marks the group deleted (DeleteGroups, or expiry of an empty group without offsets). */
  markDead(nowMs: number): void {
    this.#transition("Dead", nowMs);
  }

  #transition(state: ClassicGroupState, nowMs: number): void {
    this.state = state;
    this.currentStateTimestampMs = nowMs;
  }

  /** The group as Kafka stores it (GroupMetadataValue), with the assignment being stored when there is one. */
  toRecord(): GroupMetadataValue {
    return {
      protocolType: this.protocolType ?? "",
      generation: this.generationId,
      protocol: this.protocolName,
      leader: this.leaderId,
      currentStateTimestamp: BigInt(this.currentStateTimestampMs),
      members: this.state === "Empty" ? [] : [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeout: m.rebalanceTimeoutMs,
        sessionTimeout: m.sessionTimeoutMs,
        subscription: this.metadataOf(m),
        assignment: this.assignmentOf(m.memberId),
      })),
    };
  }

  /**
   * Rebuilds a group from its stored record (at load). A group stored with members comes back Stable with them,
   * each given a full session timeout from `nowMs` to show it is still there, as Kafka does.
   */
  static fromRecord(
    groupId: string,
    value: GroupMetadataValue,
    settings: ClassicGroupSettings,
    nowMs: number,
  ): ClassicGroup {
    const group = new ClassicGroup(groupId, settings, nowMs);
    group.generationId = value.generation;
    group.protocolType = value.protocolType === "" ? null : value.protocolType;
    group.protocolName = value.protocol;
    group.leaderId = value.members.length > 0 ? value.leader : null;
    if (value.currentStateTimestamp >= 0n) group.currentStateTimestampMs = Number(value.currentStateTimestamp);
    for (const m of value.members) {
      group.members.set(m.memberId, {
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeout,
        sessionTimeoutMs: m.sessionTimeout,
        protocols: [{ name: value.protocol ?? "", metadata: m.subscription }],
        assignment: m.assignment,
        awaitingJoin: false,
        awaitingSync: false,
        isNew: false,
        heartbeatDeadlineMs: nowMs + m.sessionTimeout,
      });
      if (m.groupInstanceId !== null) group.staticMembers.set(m.groupInstanceId, m.memberId);
    }
    group.state = group.members.size > 0 ? "Stable" : "Empty";
    return group;
  }
}
