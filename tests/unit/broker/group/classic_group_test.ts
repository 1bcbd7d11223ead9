/**
 * The classic group state machine, driven with a fake clock: join/sync/heartbeat/leave flows, static members,
 * timeouts, and every error Kafka answers.
 */
import assert from "node:assert/strict";
import {
  ClassicGroup,
  type JoinRequest,
  type JoinResult,
  type Reply,
  type SyncResult,
} from "../../../../broker/group/classic_group.ts";
import { ErrorCode } from "../../../../protocol/messages.ts";

const SESSION_MS = 10_000;
const REBALANCE_MS = 30_000;
const bytes = (s: string) => new TextEncoder().encode(s);

let ids = 0;
function joinRequest(overrides: Partial<JoinRequest> = {}): JoinRequest {
  return {
    memberId: "",
    groupInstanceId: null,
    clientId: "client",
    clientHost: "/127.0.0.1",
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: bytes("sub") }],
    requireKnownMemberId: false,
    newMemberId: `member-${++ids}`,
    ...overrides,
  };
}

function newGroup(initialRebalanceDelayMs = 0): ClassicGroup {
  return new ClassicGroup("g", { initialRebalanceDelayMs, newMemberJoinTimeoutMs: 300_000 }, 0);
}

function joinReplies(replies: Reply[]): Map<string, JoinResult> {
  return new Map(replies.filter((r) => r.kind === "join").map((r) => [r.memberId, r.result as JoinResult]));
}

function syncReplies(replies: Reply[]): Map<string, SyncResult> {
  return new Map(replies.filter((r) => r.kind === "sync").map((r) => [r.memberId, r.result as SyncResult]));
}

/** Acts on every deadline due at `now`, as the shell's timer would (a 0 ms delay still goes through it). */
function settle(group: ClassicGroup, now: number): void {
  for (let i = 0; i < 10; i++) {
    const deadline = group.nextDeadlineMs();
    if (deadline === undefined || deadline > now) return;
    group.tick(now);
  }
}

/** Joins `count` dynamic members and completes the join phase (initial delay 0, so one tick). */
function formGroup(group: ClassicGroup, count: number, now = 0): string[] {
  const members: string[] = [];
  for (let i = 0; i < count; i++) {
    const answer = group.join(joinRequest(), now);
    assert.equal(answer.held, true);
    members.push((answer as { memberId: string }).memberId);
  }
  settle(group, now);
  const replies = joinReplies(group.takeReplies());
  assert.deepEqual([...replies.keys()].sort(), [...members].sort());
  return members;
}

/** Syncs every member (the leader first) and stores the assignment. */
function syncAll(group: ClassicGroup, members: string[], now = 0): Map<string, SyncResult> {
  const leader = group.leaderId!;
  const assignments = members.map((m) => ({ memberId: m, assignment: bytes(`for-${m}`) }));
  const order = [leader, ...members.filter((m) => m !== leader)];
  for (const m of order) {
    const answer = group.sync(
      {
        memberId: m,
        groupInstanceId: null,
        generationId: group.generationId,
        protocolType: null,
        protocolName: null,
        assignments: m === leader ? assignments : [],
      },
      now,
    );
    assert.equal(answer.held, true);
  }
  const store = group.takeStoreRequest();
  assert.deepEqual(store, { generationId: group.generationId, assignmentPending: true });
  group.assignmentStored(store!.generationId, ErrorCode.NONE, now);
  return syncReplies(group.takeReplies());
}

Deno.test("a new group starts Empty at generation 0", () => {
  const group = newGroup();
  assert.equal(group.state, "Empty");
  assert.equal(group.generationId, 0);
});

Deno.test("JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED with its member id", () => {
  const group = newGroup();
  const answer = group.join(joinRequest({ requireKnownMemberId: true, newMemberId: "c-1" }), 0);
  assert.equal(answer.held, false);
  const result = (answer as { result: JoinResult }).result;
  assert.equal(result.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.equal(result.memberId, "c-1");
  assert.equal(group.state, "Empty");
  // The second JoinGroup with that id joins.
  const second = group.join(joinRequest({ memberId: "c-1", requireKnownMemberId: true }), 1);
  assert.equal(second.held, true);
  assert.equal(group.state, "PreparingRebalance");
});

Deno.test("a member id handed out and never used expires after the session timeout", () => {
  const group = newGroup();
  group.join(joinRequest({ requireKnownMemberId: true, newMemberId: "c-1" }), 0);
  assert.equal(group.nextDeadlineMs(), SESSION_MS);
  group.tick(SESSION_MS);
  assert.equal(group.pendingMembers.size, 0);
  const late = group.join(joinRequest({ memberId: "c-1" }), SESSION_MS + 1);
  assert.equal((late as { result: JoinResult }).result.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

Deno.test("join then sync: the leader gets every member's metadata, each member gets its own assignment", () => {
  const group = newGroup();
  const a = group.join(joinRequest({ newMemberId: "a" }), 0);
  const b = group.join(joinRequest({ newMemberId: "b", protocols: [{ name: "range", metadata: bytes("b-sub") }] }), 0);
  assert.equal(a.held && b.held, true);
  settle(group, 0);
  const joins = joinReplies(group.takeReplies());
  assert.equal(group.state, "CompletingRebalance");
  assert.equal(group.generationId, 1);
  assert.equal(group.protocolName, "range");
  const leader = joins.get("a")!;
  assert.equal(leader.leader, "a");
  assert.deepEqual(leader.members.map((m) => m.memberId), ["a", "b"]);
  assert.deepEqual(leader.members[1].metadata, bytes("b-sub"));
  assert.deepEqual(joins.get("b")!.members, []);

  const syncs = syncAll(group, ["a", "b"]);
  assert.equal(group.state, "Stable");
  assert.deepEqual(syncs.get("a")!.assignment, bytes("for-a"));
  assert.deepEqual(syncs.get("b")!.assignment, bytes("for-b"));
  assert.equal(syncs.get("b")!.protocolName, "range");
});

Deno.test("the initial rebalance waits group.initial.rebalance.delay.ms, extended while members join", () => {
  const group = newGroup(3000);
  group.join(joinRequest({ newMemberId: "a" }), 0);
  assert.equal(group.nextDeadlineMs(), 3000);
  group.join(joinRequest({ newMemberId: "b" }), 2000);
  group.tick(3000); // b joined during the delay: wait another delay
  assert.equal(group.state, "PreparingRebalance");
  assert.equal(group.nextDeadlineMs(), 6000);
  group.tick(6000);
  assert.equal(group.state, "CompletingRebalance");
  assert.equal(joinReplies(group.takeReplies()).size, 2);
});

Deno.test("the initial delay is capped by the rebalance timeout", () => {
  const group = newGroup(3000);
  let now = 0;
  group.join(joinRequest({ newMemberId: "m0", rebalanceTimeoutMs: 7000 }), now);
  for (let i = 1; i < 10 && group.state === "PreparingRebalance"; i++) {
    group.join(joinRequest({ newMemberId: `m${i}`, rebalanceTimeoutMs: 7000 }), now + 1);
    now = group.nextDeadlineMs()!;
    group.tick(now);
  }
  assert.equal(group.state, "CompletingRebalance");
  assert.ok(now <= 7000, `completed at ${now}`);
});

Deno.test("a rebalance completes as soon as every member has rejoined", () => {
  const group = newGroup();
  const members = formGroup(group, 2);
  syncAll(group, members);
  group.join(joinRequest({ newMemberId: "c" }), 100);
  assert.equal(group.state, "PreparingRebalance");
  assert.equal(group.heartbeat(members[0], null, 1, 200), ErrorCode.REBALANCE_IN_PROGRESS);
  group.join(joinRequest({ memberId: members[0] }), 300);
  assert.equal(group.state, "PreparingRebalance");
  group.join(joinRequest({ memberId: members[1] }), 400);
  assert.equal(group.state, "CompletingRebalance");
  assert.equal(group.generationId, 2);
  assert.equal(joinReplies(group.takeReplies()).size, 3);
});

Deno.test("members that do not rejoin within the rebalance timeout are removed when the join phase ends", () => {
  const group = newGroup();
  const [a, b] = formGroup(group, 2);
  syncAll(group, [a, b]);
  group.join(joinRequest({ memberId: a }), 1000); // a's subscription is unchanged, but a is the leader: rebalance
  assert.equal(group.state, "PreparingRebalance");
  group.heartbeat(b, null, 1, 1000);
  group.tick(1000 + REBALANCE_MS);
  assert.equal(group.state, "CompletingRebalance");
  assert.deepEqual([...group.members.keys()], [a]);
  assert.equal(group.generationId, 2);
});

Deno.test("a member without heartbeats is removed after its session timeout and the group rebalances", () => {
  const group = newGroup();
  const [a, b] = formGroup(group, 2);
  syncAll(group, [a, b]);
  group.heartbeat(a, null, 1, 8000);
  assert.equal(group.nextDeadlineMs(), SESSION_MS); // b's
  group.tick(SESSION_MS);
  assert.deepEqual([...group.members.keys()], [a]);
  assert.equal(group.state, "PreparingRebalance");
  assert.equal(group.heartbeat(a, null, 1, SESSION_MS + 1), ErrorCode.REBALANCE_IN_PROGRESS);
});

Deno.test("the last member timing out leaves the group Empty with a new generation to store", () => {
  const group = newGroup();
  const [a] = formGroup(group, 1);
  syncAll(group, [a]);
  group.tick(SESSION_MS);
  assert.equal(group.state, "Empty");
  assert.equal(group.generationId, 2);
  assert.deepEqual(group.takeStoreRequest(), { generationId: 2, assignmentPending: false });
  assert.deepEqual(group.toRecord().members, []);
});

Deno.test("members that never send SyncGroup are removed after the rebalance timeout", () => {
  const group = newGroup();
  const [a, b] = formGroup(group, 2);
  group.sync(
    { memberId: a, groupInstanceId: null, generationId: 1, protocolType: null, protocolName: null, assignments: [] },
    10,
  );
  group.assignmentStored(group.takeStoreRequest()!.generationId, ErrorCode.NONE, 10);
  assert.equal(group.state, "Stable");
  group.heartbeat(b, null, 1, 25_000); // alive, but never syncs
  group.heartbeat(a, null, 1, 25_000);
  group.tick(REBALANCE_MS);
  assert.equal(group.members.has(b), false);
  assert.equal(group.state, "PreparingRebalance");
});

Deno.test("Heartbeat errors: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, none when Stable", () => {
  const group = newGroup();
  const [a] = formGroup(group, 1);
  assert.equal(group.heartbeat(a, null, 1, 1), ErrorCode.NONE); // CompletingRebalance
  syncAll(group, [a]);
  assert.equal(group.heartbeat("nobody", null, 1, 2), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(group.heartbeat(a, null, 0, 2), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(group.heartbeat(a, null, 1, 2), ErrorCode.NONE);
});

Deno.test("SyncGroup errors: wrong generation, unknown member, inconsistent protocol, rebalance in progress", () => {
  const group = newGroup();
  const [a] = formGroup(group, 1);
  const sync = (o: Record<string, unknown>) =>
    (group.sync({
      memberId: a,
      groupInstanceId: null,
      generationId: 1,
      protocolType: null,
      protocolName: null,
      assignments: [],
      ...o,
    }, 1) as { result: SyncResult }).result?.errorCode;
  assert.equal(sync({ generationId: 7 }), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(sync({ memberId: "x" }), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(sync({ protocolName: "roundrobin" }), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(sync({ protocolType: "connect" }), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  group.join(joinRequest({ newMemberId: "b" }), 2);
  assert.equal(group.state, "PreparingRebalance");
  assert.equal(sync({}), ErrorCode.REBALANCE_IN_PROGRESS);
});

Deno.test("a rebalance during CompletingRebalance answers held SyncGroups with REBALANCE_IN_PROGRESS", () => {
  const group = newGroup();
  const [a, b] = formGroup(group, 2);
  const follower = a === group.leaderId ? b : a;
  const answer = group.sync({
    memberId: follower,
    groupInstanceId: null,
    generationId: 1,
    protocolType: null,
    protocolName: null,
    assignments: [],
  }, 1);
  assert.equal(answer.held, true);
  group.join(joinRequest({ newMemberId: "c" }), 2);
  const syncs = syncReplies(group.takeReplies());
  assert.equal(syncs.get(follower)!.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
});

Deno.test("JoinGroup with a protocol type or protocols the group does not share: INCONSISTENT_GROUP_PROTOCOL", () => {
  const group = newGroup();
  formGroup(group, 1);
  const otherType = group.join(joinRequest({ protocolType: "connect" }), 1);
  assert.equal((otherType as { result: JoinResult }).result.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const otherProtocol = group.join(joinRequest({ protocols: [{ name: "sticky", metadata: bytes("") }] }), 1);
  assert.equal((otherProtocol as { result: JoinResult }).result.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const empty = newGroup().join(joinRequest({ protocols: [] }), 0);
  assert.equal((empty as { result: JoinResult }).result.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
});

Deno.test("the protocol chosen is the one most members prefer among those all support", () => {
  const group = newGroup();
  const p = (...names: string[]) => names.map((name) => ({ name, metadata: bytes(name) }));
  group.join(joinRequest({ protocols: p("range", "roundrobin") }), 0);
  group.join(joinRequest({ protocols: p("roundrobin", "range") }), 0);
  group.join(joinRequest({ protocols: p("roundrobin", "range", "sticky") }), 0);
  settle(group, 0);
  assert.equal(group.protocolName, "roundrobin");
});

Deno.test("a known member rejoining Stable with the same protocols gets its generation back without rebalance", () => {
  const group = newGroup();
  const [a, b] = formGroup(group, 2);
  syncAll(group, [a, b]);
  const follower = a === group.leaderId ? b : a;
  const answer = group.join(joinRequest({ memberId: follower }), 5);
  assert.equal(answer.held, false);
  const result = (answer as { result: JoinResult }).result;
  assert.equal(result.errorCode, ErrorCode.NONE);
  assert.equal(result.generationId, 1);
  assert.equal(group.state, "Stable");
});

Deno.test("LeaveGroup removes members and rebalances; unknown members get UNKNOWN_MEMBER_ID", () => {
  const group = newGroup();
  const [a, b] = formGroup(group, 2);
  syncAll(group, [a, b]);
  assert.deepEqual(group.leave([{ memberId: b, groupInstanceId: null }, { memberId: "x", groupInstanceId: null }], 1), [
    ErrorCode.NONE,
    ErrorCode.UNKNOWN_MEMBER_ID,
  ]);
  assert.equal(group.state, "PreparingRebalance");
  group.join(joinRequest({ memberId: a }), 2);
  assert.equal(group.state, "CompletingRebalance");
  assert.deepEqual(group.leave([{ memberId: a, groupInstanceId: null }], 3), [ErrorCode.NONE]);
  group.tick(3);
  assert.equal(group.state, "Empty");
});

Deno.test("the leader leaving hands leadership to another member", () => {
  const group = newGroup();
  const [a, b] = formGroup(group, 2);
  syncAll(group, [a, b]);
  const leader = group.leaderId!;
  const other = leader === a ? b : a;
  group.leave([{ memberId: leader, groupInstanceId: null }], 1);
  assert.equal(group.leaderId, other);
});

Deno.test("static member: rejoining with its instance id replaces the old member id, which is then fenced", () => {
  const group = newGroup();
  group.join(joinRequest({ groupInstanceId: "i-1", newMemberId: "old" }), 0);
  group.join(joinRequest({ newMemberId: "dyn" }), 0);
  settle(group, 0);
  group.takeReplies();
  syncAll(group, ["old", "dyn"]);
  // "dyn" is the follower? make sure "old" is not the leader for the no-rebalance path.
  const oldIsLeader = group.leaderId === "old";
  const answer = group.join(joinRequest({ groupInstanceId: "i-1", newMemberId: "new" }), 10);
  assert.equal(group.staticMembers.get("i-1"), "new");
  assert.equal(group.members.has("old"), false);
  if (!oldIsLeader) {
    assert.equal(answer.held, false);
    assert.equal((answer as { result: JoinResult }).result.generationId, 1);
    assert.equal(group.state, "Stable");
    assert.deepEqual(group.members.get("new")!.assignment, bytes("for-old"));
  }
  assert.equal(group.heartbeat("old", "i-1", 1, 11), ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(group.heartbeat("old", null, 1, 11), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(group.validateOffsetCommit("old", "i-1", 1), ErrorCode.FENCED_INSTANCE_ID);
  assert.deepEqual(group.leave([{ memberId: "old", groupInstanceId: "i-1" }], 12), [ErrorCode.FENCED_INSTANCE_ID]);
});

Deno.test("static member: a held JoinGroup of the old member id is answered FENCED_INSTANCE_ID", () => {
  const group = newGroup(1000);
  group.join(joinRequest({ groupInstanceId: "i-1", newMemberId: "old" }), 0);
  group.join(joinRequest({ groupInstanceId: "i-1", newMemberId: "new" }), 1);
  const joins = joinReplies(group.takeReplies());
  assert.equal(joins.get("old")!.errorCode, ErrorCode.FENCED_INSTANCE_ID);
});

Deno.test("static members that do not rejoin keep their place when the join phase ends", () => {
  const group = newGroup();
  group.join(joinRequest({ groupInstanceId: "i-1", newMemberId: "s" }), 0);
  group.join(joinRequest({ newMemberId: "d" }), 0);
  settle(group, 0);
  group.takeReplies();
  syncAll(group, ["s", "d"]);
  group.join(joinRequest({ newMemberId: "e" }), 10);
  group.join(joinRequest({ memberId: "d" }), 10);
  group.heartbeat("s", "i-1", 1, 25_000); // alive, but does not rejoin
  group.tick(10 + REBALANCE_MS);
  assert.equal(group.state, "CompletingRebalance");
  assert.deepEqual([...group.members.keys()].sort(), ["d", "e", "s"]);
});

Deno.test("LeaveGroup by group instance id alone removes the static member", () => {
  const group = newGroup();
  group.join(joinRequest({ groupInstanceId: "i-1", newMemberId: "s" }), 0);
  settle(group, 0);
  assert.deepEqual(group.leave([{ memberId: "", groupInstanceId: "i-1" }], 1), [ErrorCode.NONE]);
  assert.equal(group.staticMembers.size, 0);
  assert.deepEqual(group.leave([{ memberId: "", groupInstanceId: "i-2" }], 1), [ErrorCode.UNKNOWN_MEMBER_ID]);
});

Deno.test("OffsetCommit checks: simple commits only while Empty, members by generation", () => {
  const group = newGroup();
  assert.equal(group.validateOffsetCommit("", null, -1), ErrorCode.NONE);
  const [a] = formGroup(group, 1);
  assert.equal(group.validateOffsetCommit(a, null, 1), ErrorCode.REBALANCE_IN_PROGRESS);
  syncAll(group, [a]);
  assert.equal(group.validateOffsetCommit(a, null, 1), ErrorCode.NONE);
  assert.equal(group.validateOffsetCommit(a, null, 0), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(group.validateOffsetCommit("x", null, 1), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(group.validateOffsetCommit("", null, -1), ErrorCode.UNKNOWN_MEMBER_ID);
});

Deno.test("a group is rebuilt from its stored record as Stable with its members", () => {
  const group = newGroup();
  const [a, b] = formGroup(group, 2);
  syncAll(group, [a, b]);
  const loaded = ClassicGroup.fromRecord("g", group.toRecord(), group.settings, 1000);
  assert.equal(loaded.state, "Stable");
  assert.equal(loaded.generationId, 1);
  assert.equal(loaded.leaderId, group.leaderId);
  assert.deepEqual(loaded.members.get(a)!.assignment, bytes(`for-${a}`));
  assert.equal(loaded.heartbeat(a, null, 1, 1500), ErrorCode.NONE);
  loaded.tick(1000 + SESSION_MS); // b never heartbeats after the load
  assert.equal(loaded.members.has(b), false);
});

Deno.test("an offset commit of a member counts as a heartbeat while Stable", () => {
  const group = newGroup();
  const [a] = formGroup(group, 1);
  syncAll(group, [a]);
  group.offsetCommitted(a, 9000);
  group.tick(SESSION_MS);
  assert.equal(group.members.has(a), true);
  group.tick(9000 + SESSION_MS);
  assert.equal(group.members.has(a), false);
});

Deno.test("group.classic.max.size: new members beyond it get GROUP_MAX_SIZE_REACHED, members in stay", () => {
  const group = new ClassicGroup("g", { initialRebalanceDelayMs: 0, newMemberJoinTimeoutMs: 300_000, maxSize: 2 }, 0);
  const [a, b] = formGroup(group, 2);
  syncAll(group, [a, b]);
  const third = group.join(joinRequest(), 1);
  assert.equal(third.held, false);
  assert.equal((third as { result: JoinResult }).result.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  const rejoin = group.join(joinRequest({ memberId: a, protocols: [{ name: "range", metadata: bytes("new") }] }), 2);
  assert.equal(rejoin.held, true);
});
