/**
 * The server-side assignors of KIP-848 (uniform and range): every subscribed partition goes to exactly one
 * subscribed member, uniform balances within one, range hands out contiguous co-partitioned ranges, and both keep
 * members' current partitions where balance allows.
 */
import assert from "node:assert/strict";
import {
  type AssignorMember,
  type ConsumerGroupAssignor,
  rangeAssignor,
  type TopicPartitions,
  uniformAssignor,
} from "../../../../broker/group/assignors.ts";

const T1 = "00000000-0000-0000-0000-000000000001";
const T2 = "00000000-0000-0000-0000-000000000002";
const T3 = "00000000-0000-0000-0000-000000000003";

function member(memberId: string, topics: string[], assignment: Record<string, number[]> = {}): AssignorMember {
  return {
    memberId,
    subscribedTopicIds: new Set(topics),
    assignment: new Map(Object.entries(assignment).map(([t, ps]) => [t, new Set(ps)])),
  };
}

function plain(result: Map<string, TopicPartitions>): Record<string, Record<string, number[]>> {
  const out: Record<string, Record<string, number[]>> = {};
  for (const [m, topics] of result) {
    out[m] = {};
    for (const [t, ps] of topics) out[m][t] = [...ps];
  }
  return out;
}

function total(a: TopicPartitions): number {
  let n = 0;
  for (const ps of a.values()) n += ps.size;
  return n;
}

/** A small deterministic PRNG (mulberry32), so property failures reproduce. */
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

/** Every subscribed partition assigned to exactly one member that subscribes to its topic; nothing else. */
function assertValid(
  members: AssignorMember[],
  counts: Map<string, number>,
  result: Map<string, TopicPartitions>,
): void {
  const seen = new Map<string, string>();
  for (const m of members) {
    const a = result.get(m.memberId);
    assert.ok(a, `member ${m.memberId} has an entry`);
    for (const [t, ps] of a) {
      assert.ok(m.subscribedTopicIds.has(t), `${m.memberId} got unsubscribed topic ${t}`);
      for (const p of ps) {
        assert.ok(p >= 0 && p < counts.get(t)!, `partition ${t}:${p} exists`);
        const key = `${t}:${p}`;
        assert.equal(seen.get(key), undefined, `${key} assigned twice`);
        seen.set(key, m.memberId);
      }
    }
  }
  for (const [t, n] of counts) {
    if (!members.some((m) => m.subscribedTopicIds.has(t))) continue;
    for (let p = 0; p < n; p++) assert.ok(seen.has(`${t}:${p}`), `${t}:${p} is assigned`);
  }
}

function randomCase(rand: () => number, homogeneous: boolean) {
  const topics = [T1, T2, T3].slice(0, 1 + Math.floor(rand() * 3));
  const counts = new Map(topics.map((t) => [t, Math.floor(rand() * 12)]));
  const n = 1 + Math.floor(rand() * 7);
  const members: AssignorMember[] = [];
  for (let i = 0; i < n; i++) {
    const subs = homogeneous ? topics : topics.filter(() => rand() < 0.6);
    const assignment: Record<string, number[]> = {};
    for (const t of [T1, T2, T3]) {
      // Current assignments may be stale: partitions of unsubscribed topics or beyond the count.
      const ps = [...Array(14).keys()].filter(() => rand() < 0.15);
      if (ps.length) assignment[t] = ps;
    }
    members.push(member(`m${i}`, subs, assignment));
  }
  return { members, counts };
}

for (const assignor of [uniformAssignor, rangeAssignor] as ConsumerGroupAssignor[]) {
  Deno.test(`${assignor.name}: every subscribed partition goes to exactly one subscribed member (property)`, () => {
    const rand = prng(42);
    for (let i = 0; i < 300; i++) {
      const { members, counts } = randomCase(rand, i % 2 === 0);
      assertValid(members, counts, assignor.assign({ members, partitionCounts: counts }));
    }
  });

  Deno.test(`${assignor.name}: a topic that does not exist and members with no subscription get nothing`, () => {
    const result = assignor.assign({
      members: [member("a", [T1, T2]), member("b", [])],
      partitionCounts: new Map([[T1, 2]]),
    });
    assert.deepEqual(plain(result), { a: { [T1]: [0, 1] }, b: {} });
  });

  Deno.test(`${assignor.name}: the same input gives the same output whatever the member order`, () => {
    const members = [member("b", [T1]), member("a", [T1]), member("c", [T1])];
    const counts = new Map([[T1, 7]]);
    assert.deepEqual(
      plain(assignor.assign({ members, partitionCounts: counts })),
      plain(assignor.assign({ members: [...members].reverse(), partitionCounts: counts })),
    );
  });
}

Deno.test("uniform: identical subscriptions balance within one (property)", () => {
  const rand = prng(7);
  for (let i = 0; i < 300; i++) {
    const { members, counts } = randomCase(rand, true);
    const result = uniformAssignor.assign({ members, partitionCounts: counts });
    const loads = members.map((m) => total(result.get(m.memberId)!));
    assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, `loads ${loads}`);
  }
});

Deno.test("uniform: differing subscriptions still balance among the members that can take a topic", () => {
  // a and b subscribe to T1 (4 partitions); c to T1 and T2 (2 partitions): each ends with two.
  const result = uniformAssignor.assign({
    members: [member("a", [T1]), member("b", [T1]), member("c", [T1, T2])],
    partitionCounts: new Map([[T1, 4], [T2, 2]]),
  });
  assert.deepEqual(result.get("c")?.get(T2), new Set([0, 1]));
  assert.deepEqual([..."abc"].map((m) => total(result.get(m)!)), [2, 2, 2]);
});

Deno.test("uniform: a joining member takes only its share; the others keep the rest of what they had", () => {
  const before = uniformAssignor.assign({
    members: [member("a", [T1]), member("b", [T1])],
    partitionCounts: new Map([[T1, 6]]),
  });
  const a = before.get("a")!;
  const b = before.get("b")!;
  const after = uniformAssignor.assign({
    members: [
      { memberId: "a", subscribedTopicIds: new Set([T1]), assignment: a },
      { memberId: "b", subscribedTopicIds: new Set([T1]), assignment: b },
      member("c", [T1]),
    ],
    partitionCounts: new Map([[T1, 6]]),
  });
  assert.equal(total(after.get("c")!), 2);
  for (const [id, old] of [["a", a], ["b", b]] as const) {
    const now = after.get(id)!.get(T1)!;
    assert.equal(now.size, 2);
    for (const p of now) assert.ok(old.get(T1)!.has(p), `${id} kept ${p}`);
  }
});

Deno.test("uniform: a leaving member's partitions are spread without moving anyone else's (property)", () => {
  const rand = prng(99);
  for (let i = 0; i < 100; i++) {
    const { members, counts } = randomCase(rand, true);
    const first = uniformAssignor.assign({ members, partitionCounts: counts });
    const stayed = members.slice(1).map((m) => ({ ...m, assignment: first.get(m.memberId)! }));
    if (stayed.length === 0) continue;
    const second = uniformAssignor.assign({ members: stayed, partitionCounts: counts });
    for (const m of stayed) {
      for (const [t, ps] of m.assignment) {
        for (const p of ps) assert.ok(second.get(m.memberId)!.get(t)?.has(p), `${m.memberId} kept ${t}:${p}`);
      }
    }
  }
});

Deno.test("range: contiguous ranges, the first members one more, co-partitioned across topics", () => {
  const result = rangeAssignor.assign({
    members: [member("a", [T1, T2]), member("b", [T1, T2]), member("c", [T1, T2])],
    partitionCounts: new Map([[T1, 7], [T2, 7]]),
  });
  assert.deepEqual(plain(result), {
    a: { [T1]: [0, 1, 2], [T2]: [0, 1, 2] },
    b: { [T1]: [3, 4], [T2]: [3, 4] },
    c: { [T1]: [5, 6], [T2]: [5, 6] },
  });
});

Deno.test("range: only the members subscribed to a topic share it", () => {
  const result = rangeAssignor.assign({
    members: [member("a", [T1]), member("b", [T1, T2])],
    partitionCounts: new Map([[T1, 2], [T2, 3]]),
  });
  assert.deepEqual(plain(result), { a: { [T1]: [0] }, b: { [T1]: [1], [T2]: [0, 1, 2] } });
});

Deno.test("range: sticky — a joining member takes partitions without reshuffling the kept ones", () => {
  const result = rangeAssignor.assign({
    members: [member("a", [T1], { [T1]: [0, 1, 2] }), member("b", [T1], { [T1]: [3, 4, 5] }), member("c", [T1])],
    partitionCounts: new Map([[T1, 6]]),
  });
  assert.deepEqual(plain(result), { a: { [T1]: [0, 1] }, b: { [T1]: [3, 4] }, c: { [T1]: [2, 5] } });
});

Deno.test("range: balance within one per topic (property)", () => {
  const rand = prng(3);
  for (let i = 0; i < 200; i++) {
    const { members, counts } = randomCase(rand, false);
    const result = rangeAssignor.assign({ members, partitionCounts: counts });
    for (const t of counts.keys()) {
      const loads = members.filter((m) => m.subscribedTopicIds.has(t)).map((m) =>
        result.get(m.memberId)!.get(t)?.size ?? 0
      );
      if (loads.length) assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, `loads ${loads}`);
    }
  }
});
