/**
 * Server-side partition assignors of the consumer group protocol (KIP-848): `uniform` (Kafka's default) and
 * `range`. Pure functions: members with their subscriptions and current target assignments, and the partition
 * counts of the subscribed topics, in; the new target assignment out.
 *
 * Both are sticky: a member keeps the partitions it already has as long as that does not break the balance, so
 * a rebalance moves as few partitions as it can (every moved partition costs a revocation round trip).
 *
 * @module
 */

/** Partitions by topic id. */
export type TopicPartitions = Map<string, Set<number>>;

/** One member as an assignor sees it. */
export interface AssignorMember {
  memberId: string;
  /** Topic ids the member subscribes to (resolved from names and regex by the group). */
  subscribedTopicIds: ReadonlySet<string>;
  /** The member's current target assignment: what it should keep if balance allows. */
  assignment: ReadonlyMap<string, ReadonlySet<number>>;
}

/** What an assignor is asked: the members, and the partition count of every subscribed topic that exists. */
export interface AssignmentSpec {
  members: readonly AssignorMember[];
  /** Partition counts by topic id; a subscribed topic missing here does not exist (yet) and gets no assignment. */
  partitionCounts: ReadonlyMap<string, number>;
}

/** A server-side assignor, named as clients name it in `serverAssignor` (`group.remote.assignor`). */
export interface ConsumerGroupAssignor {
  readonly name: string;
  /** The target assignment of every member (members with nothing get an empty map). */
  assign(spec: AssignmentSpec): Map<string, TopicPartitions>;
}

interface Slot {
  topicId: string;
  partition: number;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function emptyResult(members: readonly AssignorMember[]): Map<string, TopicPartitions> {
  return new Map(members.map((m) => [m.memberId, new Map<string, Set<number>>()]));
}

function add(target: TopicPartitions, topicId: string, partition: number): void {
  let set = target.get(topicId);
  if (!set) target.set(topicId, set = new Set());
  set.add(partition);
}

function remove(target: TopicPartitions, topicId: string, partition: number): void {
  const set = target.get(topicId);
  if (!set) return;
  set.delete(partition);
  if (set.size === 0) target.delete(topicId);
}

/** Sorts each topic's partitions ascending (assignors build sets in arbitrary order). */
function normalized(result: Map<string, TopicPartitions>): Map<string, TopicPartitions> {
  for (const [memberId, topics] of result) {
    const sorted: TopicPartitions = new Map();
    for (const topicId of [...topics.keys()].sort(compareStrings)) {
      sorted.set(topicId, new Set([...topics.get(topicId)!].sort((a, b) => a - b)));
    }
    result.set(memberId, sorted);
  }
  return result;
}

/**
 * The uniform assignor: spreads all subscribed partitions over the members subscribed to them so that member
 * loads differ by at most one whenever subscriptions allow it, keeping current assignments where it can.
 *
 * It works for identical and for differing subscriptions alike: (1) every member keeps the partitions it has
 * that it still subscribes to; (2) each remaining partition goes to the least loaded subscribed member, topics
 * with the fewest subscribers first; (3) while some partition's owner has two or more partitions more than
 * another subscriber of that topic, the partition moves to that subscriber. Each move lowers the sum of squared
 * loads, so (3) ends; with identical subscriptions it ends with loads within one of each other.
 *
 * @example
 * ```ts
 * import { uniformAssignor } from "./assignors.ts";
 * const t = "00000000-0000-0000-0000-000000000001";
 * const result = uniformAssignor.assign({
 *   members: [
 *     { memberId: "a", subscribedTopicIds: new Set([t]), assignment: new Map() },
 *     { memberId: "b", subscribedTopicIds: new Set([t]), assignment: new Map() },
 *   ],
 *   partitionCounts: new Map([[t, 4]]),
 * });
 * result.get("a")?.get(t)?.size; // 2
 * ```
 */
export const uniformAssignor: ConsumerGroupAssignor = {
  name: "uniform",
  assign(spec: AssignmentSpec): Map<string, TopicPartitions> {
    const members = [...spec.members].sort((a, b) => compareStrings(a.memberId, b.memberId));
    const result = emptyResult(members);
    const load = new Map<string, number>(members.map((m) => [m.memberId, 0]));
    const subscribers = new Map<string, string[]>();
    for (const m of members) {
      for (const topicId of m.subscribedTopicIds) {
        if (!spec.partitionCounts.has(topicId)) continue;
        let list = subscribers.get(topicId);
        if (!list) subscribers.set(topicId, list = []);
        list.push(m.memberId);
      }
    }
    const owner = new Map<string, string>(); // "topicId:partition" -> memberId
    const key = (topicId: string, partition: number) => `${topicId}:${partition}`;

    // (1) Stickiness: keep what is still valid.
    for (const m of members) {
      for (const [topicId, partitions] of m.assignment) {
        if (!m.subscribedTopicIds.has(topicId)) continue;
        const count = spec.partitionCounts.get(topicId);
        if (count === undefined) continue;
        for (const p of partitions) {
          if (p < 0 || p >= count || owner.has(key(topicId, p))) continue;
          owner.set(key(topicId, p), m.memberId);
          add(result.get(m.memberId)!, topicId, p);
          load.set(m.memberId, load.get(m.memberId)! + 1);
        }
      }
    }

    const leastLoaded = (candidates: string[]): string => {
      let best = candidates[0];
      for (const c of candidates) if (load.get(c)! < load.get(best)!) best = c;
      return best;
    };

    // (2) Place the unowned partitions, the most constrained topics first.
    const topics = [...subscribers.keys()].sort((a, b) =>
      subscribers.get(a)!.length - subscribers.get(b)!.length || compareStrings(a, b)
    );
    for (const topicId of topics) {
      const candidates = subscribers.get(topicId)!;
      const count = spec.partitionCounts.get(topicId)!;
      for (let p = 0; p < count; p++) {
        if (owner.has(key(topicId, p))) continue;
        const chosen = leastLoaded(candidates);
        owner.set(key(topicId, p), chosen);
        add(result.get(chosen)!, topicId, p);
        load.set(chosen, load.get(chosen)! + 1);
      }
    }

    // (3) Balance: move partitions from overloaded owners to the least loaded eligible member.
    const slots: Slot[] = [];
    for (const topicId of topics) {
      const count = spec.partitionCounts.get(topicId)!;
      // Highest partitions first, so the lowest ones tend to stay put.
      for (let p = count - 1; p >= 0; p--) slots.push({ topicId, partition: p });
    }
    for (let moved = true; moved;) {
      moved = false;
      for (const { topicId, partition } of slots) {
        const from = owner.get(key(topicId, partition))!;
        const to = leastLoaded(subscribers.get(topicId)!);
        if (load.get(from)! > load.get(to)! + 1) {
          owner.set(key(topicId, partition), to);
          remove(result.get(from)!, topicId, partition);
          add(result.get(to)!, topicId, partition);
          load.set(from, load.get(from)! - 1);
          load.set(to, load.get(to)! + 1);
          moved = true;
        }
      }
    }
    return normalized(result);
  },
};

/**
 * The range assignor: per topic, the members subscribed to it (by member id) get contiguous ranges of
 * partitions, the first `partitions % members` one more, as the client-side RangeAssignor does, so topics with
 * equal partition counts and subscribers are co-partitioned. Like Kafka's server-side RangeAssignor it is
 * sticky: a member first keeps its current partitions of the topic up to its quota, and only the rest is
 * handed out in ranges.
 *
 * @example
 * ```ts
 * import { rangeAssignor } from "./assignors.ts";
 * const t = "00000000-0000-0000-0000-000000000001";
 * const result = rangeAssignor.assign({
 *   members: [
 *     { memberId: "a", subscribedTopicIds: new Set([t]), assignment: new Map() },
 *     { memberId: "b", subscribedTopicIds: new Set([t]), assignment: new Map() },
 *   ],
 *   partitionCounts: new Map([[t, 3]]),
 * });
 * [...result.get("a")!.get(t)!]; // [0, 1]
 * ```
 */
export const rangeAssignor: ConsumerGroupAssignor = {
  name: "range",
  assign(spec: AssignmentSpec): Map<string, TopicPartitions> {
    const members = [...spec.members].sort((a, b) => compareStrings(a.memberId, b.memberId));
    const result = emptyResult(members);
    const topicIds = [...spec.partitionCounts.keys()].sort(compareStrings);
    for (const topicId of topicIds) {
      const subscribed = members.filter((m) => m.subscribedTopicIds.has(topicId));
      if (subscribed.length === 0) continue;
      const count = spec.partitionCounts.get(topicId)!;
      const minQuota = Math.floor(count / subscribed.length);
      let extras = count % subscribed.length;
      const taken = new Set<number>();
      const quota = new Map<string, number>();
      const kept = new Map<string, number[]>();
      // Keep current partitions up to the quota; a member holding more than the minimum claims an extra slot.
      for (const m of subscribed) {
        const current = [...(m.assignment.get(topicId) ?? [])].filter((p) => p >= 0 && p < count && !taken.has(p))
          .sort((a, b) => a - b);
        let q = minQuota;
        if (current.length > minQuota && extras > 0) {
          q++;
          extras--;
        }
        quota.set(m.memberId, q);
        const keep = current.slice(0, q);
        for (const p of keep) taken.add(p);
        kept.set(m.memberId, keep);
      }
      // Members that did not claim an extra slot get the remaining ones in member order, like the client assignor.
      for (const m of subscribed) {
        if (extras === 0) break;
        if (quota.get(m.memberId) === minQuota) {
          quota.set(m.memberId, minQuota + 1);
          extras--;
        }
      }
      const free: number[] = [];
      for (let p = 0; p < count; p++) if (!taken.has(p)) free.push(p);
      let next = 0;
      for (const m of subscribed) {
        const mine = kept.get(m.memberId)!;
        while (mine.length < quota.get(m.memberId)! && next < free.length) mine.push(free[next++]);
        const target = result.get(m.memberId)!;
        for (const p of mine) add(target, topicId, p);
      }
    }
    return normalized(result);
  },
};

/** The assignors this broker knows, by name. */
export const CONSUMER_GROUP_ASSIGNORS: ReadonlyMap<string, ConsumerGroupAssignor> = new Map([
  [uniformAssignor.name, uniformAssignor],
  [rangeAssignor.name, rangeAssignor],
]);
