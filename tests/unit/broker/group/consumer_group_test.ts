/**
 * The consumer group protocol of KIP-848 as Kafka's group coordinator runs it: joining, group and assignment
 * epochs, reconciliation with revocation before reassignment, leaving, static members, session and rebalance
 * timeouts on a fake clock, fencing errors, persistence as records and their replay, and the two handlers.
 */
import assert from "node:assert/strict";
import type { BrokerContext, HandlerRequest } from "../../../../broker/broker_context.ts";
import type { ConnectionInfo } from "../../../../broker/connection.ts";
import {
  type ConsumerGroupConfig,
  consumerGroupConfigFrom,
  ConsumerGroupCoordinator,
  DEFAULT_CONSUMER_GROUP_CONFIG,
  MemberState,
} from "../../../../broker/group/consumer_group.ts";
import { ConsumerGroupManager } from "../../../../broker/group/consumer_group_manager.ts";
import {
  type CoordinatorRecord,
  decodeConsumerGroupRecord,
  encodeConsumerGroupRecord,
} from "../../../../broker/group/consumer_group_records.ts";
import { handleConsumerGroupDescribe } from "../../../../broker/handlers/consumer_group_describe.ts";
import { handleConsumerGroupHeartbeat } from "../../../../broker/handlers/consumer_group_heartbeat.ts";
import { MetadataImage } from "../../../../broker/metadata_image.ts";
import type { ConsumerGroupHeartbeatRequest } from "../../../../protocol/generated/messages/consumer_group_heartbeat_request.ts";
import type { ConsumerGroupHeartbeatResponse } from "../../../../protocol/generated/messages/consumer_group_heartbeat_response.ts";
import { ApiKey, decodeResponse, encodeResponse, ErrorCode } from "../../../../protocol/messages.ts";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const ORDERS = "00000000-0000-0000-0000-00000000000a";
const PAYMENTS = "00000000-0000-0000-0000-00000000000b";
const CLIENT = { clientId: "app", clientHost: "/127.0.0.1", apiVersion: 1 };

function image(topics: Record<string, [string, number]> = { orders: [ORDERS, 4] }): MetadataImage {
  const img = new MetadataImage();
  for (const [name, [topicId, partitions]] of Object.entries(topics)) addTopic(img, name, topicId, partitions);
  return img;
}

function addTopic(img: MetadataImage, name: string, topicId: string, partitions: number, from = 0): void {
  if (!img.topic(name)) img.apply({ type: "topic", record: { name, topicId } });
  for (let p = from; p < partitions; p++) {
    img.apply({
      type: "partition",
      record: { partitionId: p, topicId, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
    });
  }
}

function join(memberId: string, more: Partial<ConsumerGroupHeartbeatRequest> = {}): ConsumerGroupHeartbeatRequest {
  return {
    groupId: "g",
    memberId,
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30000,
    subscribedTopicNames: ["orders"],
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: [],
    ...more,
  };
}

/** A steady-state heartbeat: only the epoch and what the member owns. */
function beat(memberId: string, memberEpoch: number, owned: number[] | null, topicId = ORDERS) {
  return join(memberId, {
    memberEpoch,
    rebalanceTimeoutMs: -1,
    subscribedTopicNames: null,
    topicPartitions: owned === null ? null : owned.length ? [{ topicId, partitions: owned }] : [],
  });
}

function assigned(response: ConsumerGroupHeartbeatResponse, topicId = ORDERS): number[] | null {
  if (response.assignment === null) return null;
  return response.assignment.topicPartitions.find((t) => t.topicId === topicId)?.partitions ?? [];
}

function ok(response: ConsumerGroupHeartbeatResponse): ConsumerGroupHeartbeatResponse {
  assert.equal(response.errorCode, ErrorCode.NONE, response.errorMessage ?? "");
  return response;
}

function setup(config: Partial<ConsumerGroupConfig> = {}, topics = image()) {
  const coordinator = new ConsumerGroupCoordinator({ ...DEFAULT_CONSUMER_GROUP_CONFIG, ...config }, {
    generateMemberId: () => "generated-1",
  });
  const hb = (req: ConsumerGroupHeartbeatRequest, now = 0) => coordinator.heartbeat(req, CLIENT, now, topics);
  return { coordinator, topics, hb };
}

// ---------------------------------------------------------------------------------------------------------------
// Joining

Deno.test("a first member joins with epoch 0 and gets epoch 1 and every partition of its topics", () => {
  const { coordinator, hb } = setup();
  const { response, records } = hb(join("m1"));
  ok(response);
  assert.equal(response.memberId, "m1");
  assert.equal(response.memberEpoch, 1);
  assert.equal(response.heartbeatIntervalMs, 5000);
  assert.deepEqual(assigned(response), [0, 1, 2, 3]);
  assert.deepEqual(records.map((r) => r.type), [
    "member_metadata",
    "partition_metadata",
    "group_metadata",
    "target_assignment_member",
    "target_assignment_metadata",
    "current_member_assignment",
  ]);
  const group = coordinator.group("g")!;
  assert.equal(group.groupEpoch, 1);
  assert.equal(group.assignmentEpoch, 1);
  assert.equal(group.state(), "Stable");
});

Deno.test("a v0 member joining without a member id gets one; from v1 the member id is required", () => {
  const { coordinator, topics } = setup();
  const v0 = coordinator.heartbeat(join(""), { ...CLIENT, apiVersion: 0 }, 0, topics).response;
  assert.equal(ok(v0).memberId, "generated-1");
  const v1 = coordinator.heartbeat(join(""), { ...CLIENT, apiVersion: 1 }, 0, topics).response;
  assert.equal(v1.errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(v1.errorMessage, "MemberId can't be empty.");
});

Deno.test("a steady heartbeat changes nothing, writes nothing and carries no assignment", () => {
  const { hb } = setup();
  hb(join("m1"));
  const { response, records } = hb(beat("m1", 1, [0, 1, 2, 3]));
  ok(response);
  assert.equal(response.memberEpoch, 1);
  assert.equal(response.assignment, null);
  assert.deepEqual(records, []);
});

Deno.test("a join missing required fields is INVALID_REQUEST", () => {
  const { hb, coordinator } = setup();
  const cases: Partial<ConsumerGroupHeartbeatRequest>[] = [
    { groupId: "" },
    { rebalanceTimeoutMs: -1 },
    { topicPartitions: null },
    { topicPartitions: [{ topicId: ORDERS, partitions: [0] }] },
    { subscribedTopicNames: null },
    { instanceId: "" },
    { memberEpoch: -3 },
  ];
  for (const more of cases) {
    const { response, records } = hb(join("m1", more));
    assert.equal(response.errorCode, ErrorCode.INVALID_REQUEST, JSON.stringify(more));
    assert.ok(response.errorMessage);
    assert.deepEqual(records, []);
  }
  assert.equal(coordinator.group("g"), undefined, "a rejected join creates no group");
});

Deno.test("an assignor the broker does not have is UNSUPPORTED_ASSIGNOR; a known one is used", () => {
  const { hb, coordinator, topics } = setup();
  assert.equal(hb(join("m1", { serverAssignor: "sticky" })).response.errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
  ok(hb(join("m1", { serverAssignor: "range" })).response);
  assert.equal(coordinator.describe(["g"], topics)[0].assignorName, "range");
});

Deno.test("the group reaches group.consumer.max.size: GROUP_MAX_SIZE_REACHED for a new member", () => {
  const { hb } = setup({ maxSize: 1 });
  ok(hb(join("m1")).response);
  assert.equal(hb(join("m2")).response.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  assert.equal(hb(join("m3")).response.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  ok(hb(beat("m1", 1, [0, 1, 2, 3])).response);
});

// ---------------------------------------------------------------------------------------------------------------
// Rebalancing

Deno.test("a second member: partitions are revoked from the first before the second gets them", () => {
  const { hb, coordinator, topics } = setup();
  ok(hb(join("a")).response);
  assert.deepEqual(assigned(ok(hb(beat("a", 1, [0, 1, 2, 3])).response)), null);

  // b joins: the group epoch moves to 2, the target gives b half, but a still holds them.
  const b1 = ok(hb(join("b")).response);
  assert.equal(b1.memberEpoch, 2);
  assert.deepEqual(assigned(b1), []);
  assert.equal(coordinator.group("g")!.members.get("b")!.state, MemberState.UNRELEASED_PARTITIONS);
  assert.equal(coordinator.describe(["g"], topics)[0].groupState, "Reconciling");

  // a is asked to revoke 2 and 3, staying in epoch 1.
  const a1 = ok(hb(beat("a", 1, [0, 1, 2, 3])).response);
  assert.equal(a1.memberEpoch, 1);
  assert.deepEqual(assigned(a1), [0, 1]);
  assert.equal(coordinator.group("g")!.members.get("a")!.state, MemberState.UNREVOKED_PARTITIONS);

  // Until a stops reporting them, nothing moves: b still waits.
  assert.equal(ok(hb(beat("a", 1, [0, 1, 2, 3])).response).memberEpoch, 1);
  assert.deepEqual(assigned(ok(hb(beat("b", 2, [])).response)), null);

  // a acknowledges the revocation: it moves to epoch 2.
  const a2 = ok(hb(beat("a", 1, [0, 1])).response);
  assert.equal(a2.memberEpoch, 2);
  assert.equal(coordinator.group("g")!.members.get("a")!.state, MemberState.STABLE);

  // Now b gets the released partitions.
  const b2 = ok(hb(beat("b", 2, [])).response);
  assert.deepEqual(assigned(b2), [2, 3]);
  assert.equal(b2.memberEpoch, 2);
  assert.equal(coordinator.describe(["g"], topics)[0].groupState, "Stable");
});

Deno.test("a member that no longer reports a revoked partition skips the revocation round trip", () => {
  const { hb } = setup();
  hb(join("a"));
  hb(join("b"));
  // a already reports only what it keeps (it revoked on its own, e.g. after an error): straight to epoch 2.
  const a = ok(hb(beat("a", 1, [0, 1])).response);
  assert.equal(a.memberEpoch, 2);
  assert.deepEqual(assigned(a), [0, 1]);
});

Deno.test("a subscription change bumps the group epoch and reassigns", () => {
  const { hb, coordinator } = setup({}, image({ orders: [ORDERS, 2], payments: [PAYMENTS, 2] }));
  hb(join("a"));
  const r = ok(hb(join("a", { memberEpoch: 1, subscribedTopicNames: ["orders", "payments"] })).response);
  assert.equal(coordinator.group("g")!.groupEpoch, 2);
  assert.equal(r.memberEpoch, 2);
  assert.deepEqual(assigned(r, PAYMENTS), [0, 1]);
});

Deno.test("new partitions of a subscribed topic bump the group epoch on the next heartbeat", () => {
  const topics = image({ orders: [ORDERS, 2] });
  const { hb, coordinator } = setup({}, topics);
  hb(join("a"));
  addTopic(topics, "orders", ORDERS, 3, 2);
  const r = ok(hb(beat("a", 1, [0, 1])).response);
  assert.equal(coordinator.group("g")!.groupEpoch, 2);
  assert.deepEqual(assigned(r), [0, 1, 2]);
});

Deno.test("a regex subscription gets the matching topics, whole names only, internal ones included as in Kafka", () => {
  const topics = image({ "orders-eu": [ORDERS, 1], "payments": [PAYMENTS, 1] });
  addTopic(topics, "__consumer_offsets", "00000000-0000-0000-0000-0000000000cc", 1);
  const { hb } = setup({}, topics);
  const r = ok(hb(join("a", { subscribedTopicNames: null, subscribedTopicRegex: "orders-.*|.*offsets" })).response);
  assert.deepEqual(r.assignment?.topicPartitions, [
    { topicId: ORDERS, partitions: [0] },
    { topicId: "00000000-0000-0000-0000-0000000000cc", partitions: [0] },
  ]);
  const whole = ok(hb(join("c", { subscribedTopicNames: null, subscribedTopicRegex: "orders" })).response);
  assert.deepEqual(whole.assignment?.topicPartitions, [], "a regex matches whole names only");
  assert.equal(
    hb(join("b", { subscribedTopicNames: null, subscribedTopicRegex: "orders-(" })).response.errorCode,
    ErrorCode.INVALID_REGULAR_EXPRESSION,
  );
});

// ---------------------------------------------------------------------------------------------------------------
// Leaving and timeouts

Deno.test("a member leaving with epoch -1 is removed; the other one gets its partitions", () => {
  const { hb, coordinator, topics } = setup();
  hb(join("a"));
  hb(join("b"));
  hb(beat("a", 1, [0, 1]));
  hb(beat("b", 2, []));
  const leave = hb(beat("b", -1, null));
  ok(leave.response);
  assert.equal(leave.response.memberEpoch, -1);
  assert.deepEqual(leave.records.map((r) => r.type), [
    "current_member_assignment",
    "target_assignment_member",
    "member_metadata",
    "group_metadata",
  ]);
  assert.equal(coordinator.group("g")!.members.has("b"), false);
  const a = ok(hb(beat("a", 2, [0, 1])).response);
  assert.equal(a.memberEpoch, 3);
  assert.deepEqual(assigned(a), [0, 1, 2, 3]);
  ok(hb(beat("a", -1, null)).response);
  assert.equal(coordinator.describe(["g"], topics)[0].groupState, "Empty");
});

Deno.test("a member silent for group.consumer.session.timeout.ms is removed (fake clock)", () => {
  const { hb, coordinator, topics } = setup();
  hb(join("a"), 0);
  hb(join("b"), 1000);
  assert.equal(coordinator.nextDeadlineMs(), 45000);
  hb(beat("a", 1, [0, 1, 2, 3]), 40000); // a keeps its session alive; b never heartbeats again
  assert.deepEqual(coordinator.expire(45999, topics).expired, []);
  const { expired, records } = coordinator.expire(46000, topics);
  assert.deepEqual(expired, [{ groupId: "g", memberId: "b", reason: "session_timeout" }]);
  assert.ok(records.some((r) => r.type === "member_metadata" && r.value === null));
  // Next: a's rebalance timeout (30 s), since it was asked at t=40000 to revoke b's share.
  assert.equal(coordinator.nextDeadlineMs(), 70000);
  assert.equal(hb(beat("b", 2, []), 46001).response.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

Deno.test("a member that does not revoke within its rebalance timeout is removed", () => {
  const { hb, coordinator, topics } = setup();
  hb(join("a", { rebalanceTimeoutMs: 10000 }), 0);
  hb(join("b"), 0);
  hb(beat("a", 1, [0, 1, 2, 3]), 1000); // asked to revoke at t=1000
  hb(beat("a", 1, [0, 1, 2, 3]), 5000); // still holding on
  assert.deepEqual(coordinator.expire(10999, topics).expired, []);
  assert.deepEqual(coordinator.expire(11000, topics).expired, [
    { groupId: "g", memberId: "a", reason: "rebalance_timeout" },
  ]);
  const b = ok(hb(beat("b", 2, []), 11001).response);
  assert.deepEqual(assigned(b), [0, 1, 2, 3]);
});

// ---------------------------------------------------------------------------------------------------------------
// Fencing

Deno.test("epochs ahead of or behind the coordinator's are FENCED_MEMBER_EPOCH; unknown members UNKNOWN_MEMBER_ID", () => {
  const { hb } = setup();
  assert.equal(hb(beat("a", 1, [])).response.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  hb(join("a"));
  hb(join("b"));
  hb(beat("a", 1, [0, 1]));
  // a is at epoch 2 now, having been at 1.
  assert.equal(hb(beat("a", 3, [0, 1])).response.errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.equal(hb(beat("a", 0 + 1, [0, 1, 2])).response.errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.equal(hb(beat("x", 1, [])).response.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(hb(beat("x", -1, null)).response.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

Deno.test("the previous epoch is accepted when the member owns only what it was given (a lost response)", () => {
  const { hb } = setup();
  hb(join("a"));
  hb(join("b"));
  hb(beat("a", 1, [0, 1]));
  const r = ok(hb(beat("a", 1, [0, 1])).response);
  assert.equal(r.memberEpoch, 2);
  assert.equal(hb(beat("a", 1, null)).response.errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
});

Deno.test("a known member sending epoch 0 again is accepted only if its first response was lost", () => {
  const { hb } = setup();
  hb(join("a"));
  // a is at epoch 1 with previous epoch 0: the join's answer may not have arrived.
  const again = ok(hb(join("a")).response);
  assert.equal(again.memberEpoch, 1);
  assert.deepEqual(assigned(again), [0, 1, 2, 3]);
  hb(join("b"));
  hb(beat("a", 1, [0, 1])); // a moves to epoch 2
  assert.equal(hb(join("a")).response.errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
});

// ---------------------------------------------------------------------------------------------------------------
// Static members

Deno.test("a static member leaving with -2 keeps its place; its new incarnation takes over epoch and partitions", () => {
  const { hb, coordinator } = setup();
  ok(hb(join("a", { instanceId: "i-1" })).response);
  ok(hb(join("b", { instanceId: "i-2" })).response);
  hb(beat("a", 1, [0, 1]));
  hb(beat("b", 2, []));
  const leave = ok(hb(join("b", { memberEpoch: -2, instanceId: "i-2", topicPartitions: null })).response);
  assert.equal(leave.memberEpoch, -2);
  assert.equal(coordinator.group("g")!.groupEpoch, 2, "a temporary leave does not rebalance");

  const back = ok(hb(join("b2", { instanceId: "i-2" })).response);
  assert.equal(back.memberEpoch, 2);
  assert.deepEqual(assigned(back), [2, 3]);
  assert.equal(coordinator.group("g")!.groupEpoch, 2);
  assert.deepEqual([...coordinator.group("g")!.members.keys()].sort(), ["a", "b2"]);
});

Deno.test("an instance id held by an active member is UNRELEASED_INSTANCE_ID; a wrong member id FENCED_INSTANCE_ID", () => {
  const { hb } = setup();
  hb(join("a", { instanceId: "i-1" }));
  assert.equal(hb(join("a2", { instanceId: "i-1" })).response.errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
  // Even under its own member id: the instance id is taken until released with -2.
  assert.equal(hb(join("a", { instanceId: "i-1" })).response.errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
  assert.equal(
    hb(join("a2", { memberEpoch: 1, instanceId: "i-1" })).response.errorCode,
    ErrorCode.FENCED_INSTANCE_ID,
  );
  assert.equal(
    hb(join("a", { memberEpoch: 1, instanceId: "i-9" })).response.errorCode,
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
});

// ---------------------------------------------------------------------------------------------------------------
// Describe, records, replay

Deno.test("ConsumerGroupDescribe shows epochs, state, members with current and target assignments by name", () => {
  const { hb, coordinator, topics } = setup();
  hb(join("a"));
  hb(join("b"));
  const [g, missing] = coordinator.describe(["g", "nope"], topics, true);
  assert.equal(g.errorCode, ErrorCode.NONE);
  assert.equal(g.groupEpoch, 2);
  assert.equal(g.assignmentEpoch, 2);
  assert.equal(g.groupState, "Reconciling");
  assert.equal(g.assignorName, "uniform");
  const a = g.members.find((m) => m.memberId === "a")!;
  assert.deepEqual(a.assignment.topicPartitions, [{ topicId: ORDERS, topicName: "orders", partitions: [0, 1, 2, 3] }]);
  assert.deepEqual(a.targetAssignment.topicPartitions, [{ topicId: ORDERS, topicName: "orders", partitions: [0, 1] }]);
  assert.equal(a.clientId, "app");
  assert.equal(missing.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

Deno.test("records survive encoding, and replaying them rebuilds the same groups", () => {
  const { hb, coordinator, topics } = setup();
  const log: CoordinatorRecord[] = [];
  const run = (req: ConsumerGroupHeartbeatRequest) => {
    const { records } = hb(req);
    log.push(...records.map(encodeConsumerGroupRecord));
  };
  run(join("a", { instanceId: "i-1" }));
  run(join("b"));
  run(beat("a", 1, [0, 1, 2, 3]));
  run(join("c"));
  run(beat("b", -1, null));
  for (const r of log) {
    const decoded = decodeConsumerGroupRecord(r)!;
    assert.deepEqual(encodeConsumerGroupRecord(decoded), r);
  }
  const copy = new ConsumerGroupCoordinator();
  for (const r of log) copy.replay(decodeConsumerGroupRecord(r)!);
  assert.deepEqual(copy.describe(["g"], topics), coordinator.describe(["g"], topics));
  assert.deepEqual(copy.group("g")!.partitionEpochs, coordinator.group("g")!.partitionEpochs);
});

Deno.test("records of other kinds are not consumer group records", () => {
  // An OffsetCommit key (type 1): group "g", topic "t", partition 0.
  const key = new Uint8Array([0, 1, 0, 1, 103, 0, 1, 116, 0, 0, 0, 0]);
  assert.equal(decodeConsumerGroupRecord({ key, value: null }), undefined);
});

Deno.test("deleting a consumer group: NON_EMPTY_GROUP with members, tombstones when empty", () => {
  const { hb, coordinator } = setup();
  hb(join("a"));
  assert.equal(coordinator.deleteGroup("g")!.errorCode, ErrorCode.NON_EMPTY_GROUP);
  hb(beat("a", -1, null));
  const result = coordinator.deleteGroup("g")!;
  assert.equal(result.errorCode, ErrorCode.NONE);
  assert.ok(result.records.every((r) => r.value === null));
  assert.equal(coordinator.group("g"), undefined);
  assert.equal(coordinator.deleteGroup("g"), undefined);
});

Deno.test("offset commits of a consumer group check member and epoch (STALE_MEMBER_EPOCH)", () => {
  const { hb, coordinator } = setup();
  assert.equal(coordinator.validateOffsetCommit("g", "a", 1), undefined, "not a consumer group");
  hb(join("a"));
  assert.equal(coordinator.validateOffsetCommit("g", "a", 1), ErrorCode.NONE);
  assert.equal(coordinator.validateOffsetCommit("g", "a", 0), ErrorCode.STALE_MEMBER_EPOCH);
  assert.equal(coordinator.validateOffsetCommit("g", "zz", 1), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(coordinator.validateOffsetCommit("g", "", -1), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(coordinator.validateOffsetFetch("g", null, -1), ErrorCode.NONE);
});

// ---------------------------------------------------------------------------------------------------------------
// Manager and handlers

const okSink = { write: () => Promise.resolve(ErrorCode.NONE as number) };

function fakeContext(groups?: ConsumerGroupManager): BrokerContext {
  return { now: () => 1000, consumerGroups: groups } as unknown as BrokerContext;
}

const conn = { remoteAddr: { hostname: "10.0.0.7", port: 5555, transport: "tcp" } } as unknown as ConnectionInfo;

function request<K extends 68 | 69>(key: K, apiVersion: number, body: HandlerRequest<K>["body"]): HandlerRequest<K> {
  return {
    apiVersion,
    header: { requestApiKey: key, requestApiVersion: apiVersion, correlationId: 1, clientId: "java-app" },
    body,
  } as HandlerRequest<K>;
}

Deno.test("the manager writes a heartbeat's records before answering, and they replay into a new manager", async () => {
  const written: CoordinatorRecord[] = [];
  const topics = image();
  const sink = {
    write: (groupId: string, records: CoordinatorRecord[]) => {
      assert.equal(groupId, "g");
      written.push(...records);
      return Promise.resolve(ErrorCode.NONE as number);
    },
  };
  const groups = new ConsumerGroupManager({ sink, topics });
  const response = await groups.heartbeat(join("a"), CLIENT, 0);
  ok(response);
  assert.equal(written.length, 6);
  const again = new ConsumerGroupManager({ sink: okSink, topics });
  for (const r of written) assert.equal(again.replay(r), true);
  again.startSessions(0);
  assert.equal(again.nextDeadlineMs(), 45000);
  assert.deepEqual(again.describe(["g"]), groups.describe(["g"]));
});

Deno.test("a failed write is answered with the sink's error, COORDINATOR_NOT_AVAILABLE when it throws", async () => {
  const failing = new ConsumerGroupManager({
    sink: { write: () => Promise.reject(new Error("disk")) },
    topics: image(),
  });
  assert.equal((await failing.heartbeat(join("a"), CLIENT, 0)).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const moved = new ConsumerGroupManager({
    sink: { write: () => Promise.resolve(ErrorCode.NOT_COORDINATOR as number) },
    topics: image(),
  });
  assert.equal((await moved.heartbeat(join("a"), CLIENT, 0)).errorCode, ErrorCode.NOT_COORDINATOR);
});

Deno.test("the classic coordinator's extension hooks: has, replay, list, offset commit check, delete", async () => {
  const topics = image();
  const log: CoordinatorRecord[] = [];
  const sink = {
    write: (_groupId: string, records: CoordinatorRecord[]) => {
      log.push(...records);
      return Promise.resolve(ErrorCode.NONE as number);
    },
  };
  const groups = new ConsumerGroupManager({ sink, topics });
  await groups.heartbeat(join("a"), CLIENT, 0);
  const ext = groups.groupExtension();
  assert.equal(ext.has("g"), true);
  assert.equal(ext.has("other"), false);
  assert.deepEqual(ext.list(), [{
    groupId: "g",
    protocolType: "consumer",
    groupState: "Stable",
    groupType: "consumer",
  }]);
  assert.equal(ext.validateOffsetCommit("g", "a", 1), ErrorCode.NONE);
  assert.equal(ext.validateOffsetCommit("g", "a", 7), ErrorCode.STALE_MEMBER_EPOCH);
  assert.equal(ext.deleteGroup("g").errorCode, ErrorCode.NON_EMPTY_GROUP);

  const loaded = new ConsumerGroupManager({ sink: okSink, topics });
  const loadedExt = loaded.groupExtension();
  for (const r of log) loadedExt.replay({ keyVersion: r.key[1], key: r.key, value: r.value });
  assert.equal(loadedExt.has("g"), true);

  await groups.heartbeat(beat("a", -1, null), CLIENT, 1);
  const deleted = ext.deleteGroup("g");
  assert.equal(deleted.errorCode, ErrorCode.NONE);
  assert.ok(deleted.records.length > 0 && deleted.records.every((r) => r.value === null));
  assert.equal(ext.has("g"), false);
});

Deno.test("the handlers answer through the context's consumerGroups, in bytes Kafka's codec accepts", async () => {
  const groups = new ConsumerGroupManager({ sink: okSink, topics: image() });
  const ctx = fakeContext(groups);
  for (const version of [0, 1]) {
    const hb = await handleConsumerGroupHeartbeat(
      ctx,
      request(ApiKey.ConsumerGroupHeartbeat, version, join(`m${version}`)),
      conn,
    );
    ok(hb!);
    const bytes = encodeResponse(ApiKey.ConsumerGroupHeartbeat, version, 1, hb!);
    assert.equal(decodeResponse(ApiKey.ConsumerGroupHeartbeat, version, bytes).body.memberId, `m${version}`);
  }
  const described = await handleConsumerGroupDescribe(
    ctx,
    request(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ["g", ""], includeAuthorizedOperations: false }),
    conn,
  );
  const [g, empty] = described!.groups;
  assert.equal(g.members.length, 2);
  assert.equal(g.members[0].clientId, "java-app");
  assert.equal(g.members[0].clientHost, "/10.0.0.7");
  assert.equal(empty.errorCode, ErrorCode.INVALID_GROUP_ID);
  const bytes = encodeResponse(ApiKey.ConsumerGroupDescribe, 0, 1, described!);
  assert.equal(decodeResponse(ApiKey.ConsumerGroupDescribe, 0, bytes).body.groups[0].groupState, "Reconciling");
});

Deno.test("without a consumer group manager the handlers answer COORDINATOR_NOT_AVAILABLE", async () => {
  const ctx = fakeContext();
  const hb = await handleConsumerGroupHeartbeat(ctx, request(ApiKey.ConsumerGroupHeartbeat, 1, join("a")), conn);
  assert.equal(hb!.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const d = await handleConsumerGroupDescribe(
    ctx,
    request(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ["g"], includeAuthorizedOperations: false }),
    conn,
  );
  assert.equal(d!.groups[0].errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
});

Deno.test("settings come from Kafka's property names, with Kafka's defaults", () => {
  const settings = new Map([
    ["group.consumer.heartbeat.interval.ms", "1000"],
    ["group.consumer.assignors", "range,uniform"],
    ["group.consumer.session.timeout.ms", "not a number"],
  ]);
  assert.deepEqual(consumerGroupConfigFrom({ get: (name) => settings.get(name) }), {
    heartbeatIntervalMs: 1000,
    sessionTimeoutMs: 45000,
    assignors: ["range", "uniform"],
    maxSize: 2147483647,
  });
  assert.throws(() => new ConsumerGroupCoordinator({ ...DEFAULT_CONSUMER_GROUP_CONFIG, assignors: ["sticky"] }));
});

// ---------------------------------------------------------------------------------------------------------------
// A simulation: random joins, leaves, slow revocations and expiries

/** A deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("simulation: no partition is ever consumed by two members at once, and the group always converges", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rand = prng(seed);
    const topics = image({ orders: [ORDERS, 7] });
    const coordinator = new ConsumerGroupCoordinator({ ...DEFAULT_CONSUMER_GROUP_CONFIG, sessionTimeoutMs: 1000 });
    // What each client consumes, its epoch, and an assignment it has not applied yet (a slow revocation).
    const clients = new Map<string, { owned: Set<number>; epoch: number; pending: number[] | null }>();
    let now = 0;
    let next = 0;
    const heartbeat = (id: string, lazy: boolean) => {
      const c = clients.get(id)!;
      if (c.pending !== null && !lazy) {
        c.owned = new Set(c.pending);
        c.pending = null;
      }
      const req = c.epoch === 0 ? join(id) : beat(id, c.epoch, [...c.owned].sort((a, b) => a - b));
      const { response } = coordinator.heartbeat(req, CLIENT, now, topics);
      if (response.errorCode !== ErrorCode.NONE) {
        // Fenced or removed: the client drops everything and rejoins under a new id, as a real one would.
        clients.delete(id);
        clients.set(`m${next++}`, { owned: new Set(), epoch: 0, pending: null });
        return;
      }
      c.epoch = response.memberEpoch;
      const given = assigned(response);
      if (given !== null) {
        // A slow client is still revoking: it keeps consuming what it had and applies the assignment later.
        if (lazy) c.pending = given;
        else {
          c.owned = new Set(given);
          c.pending = null;
        }
      }
    };
    const assertDisjoint = () => {
      const seen = new Map<number, string>();
      for (const [id, c] of clients) {
        for (const p of c.owned) {
          assert.equal(seen.get(p), undefined, `seed ${seed}: partition ${p} consumed by ${seen.get(p)} and ${id}`);
          seen.set(p, id);
        }
      }
    };
    for (let step = 0; step < 150; step++) {
      now += 100;
      const ids = [...clients.keys()];
      const roll = rand();
      if (roll < 0.15 || ids.length === 0) clients.set(`m${next++}`, { owned: new Set(), epoch: 0, pending: null });
      else if (roll < 0.2) {
        const id = ids[Math.floor(rand() * ids.length)];
        coordinator.heartbeat(beat(id, -1, null), CLIENT, now, topics);
        clients.delete(id);
      } else if (roll < 0.23) {
        // A client dies silently; its session expires later.
        clients.delete(ids[Math.floor(rand() * ids.length)]);
      } else {
        heartbeat(ids[Math.floor(rand() * ids.length)], rand() < 0.3);
      }
      // Members removed by expiry are gone for their clients too (their next heartbeat fails and they rejoin).
      for (const { memberId } of coordinator.expire(now, topics).expired) clients.get(memberId)?.owned.clear();
      assertDisjoint();
    }
    // Everyone heartbeats promptly for a while: the group must settle with every partition consumed once.
    for (let round = 0; round < 10; round++) {
      now += 100;
      for (const id of [...clients.keys()]) heartbeat(id, false);
      coordinator.expire(now, topics);
      assertDisjoint();
    }
    const group = coordinator.group("g")!;
    assert.equal(group.state(), clients.size === 0 ? "Empty" : "Stable", `seed ${seed}`);
    const consumed = [...clients.values()].flatMap((c) => [...c.owned]).sort((a, b) => a - b);
    if (clients.size > 0) assert.deepEqual(consumed, [0, 1, 2, 3, 4, 5, 6], `seed ${seed}`);
  }
});
